"""考核通报 · the monthly bulletin: every scorecard's ranking, sentences on who leads and who fell behind,
the overdue tickets by department, and the definitions.

The rankings are `standings()` over the author's scoped warehouse, the same call the /scorecards page makes,
so a bulletin and the page show the same numbers for the same month and reader. `collect()` (content.py)
hands a spec of kind "bulletin" here; the PDF is printed by the brief's template and printer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cockpit.components.format import format_value
from cockpit.metrics import Period, get_metric
from cockpit.metrics.scorecards import (
    Scorecard,
    default_scorecards,
    marks,
    points_column,
    points_text,
    rank_change_text,
    scores,
    standings,
    warehouse_source,
)

# What the sentences call each kind of assessed object.
OBJECT_WORDS = {"department": "承办部门", "community": "社区", "grid": "网格", "grid_worker": "网格员"}
# Rows of each ranking printed in full; a longer one prints its top and bottom HIGHLIGHTED rows … like the page marks.
FULL_RANKING_ROWS = 20
EDGE_ROWS = 8


@dataclass(frozen=True)
class RankingRow:
    rank: str
    change: str
    name: str
    composite: str
    cells: tuple[str, ...]  # per component: value (points)
    deducted: str
    mark: str | None  # top | bottom | None


@dataclass(frozen=True)
class RankingTable:
    card: Scorecard
    headers: tuple[str, ...]  # the components' names with their weights
    rows: tuple[RankingRow, ...]
    omitted: int  # ranked rows left out between the top and the bottom of a long ranking


def _cell(record: dict, kpi: str) -> str:
    """'93.5%（17.3）': the value and its points; '—' when there is no value to score."""
    points = record[points_column(kpi)]
    if points is None or points != points:
        return "—"
    return f"{format_value(record[kpi], get_metric(kpi).unit)}（{points_text(points)}）"


def ranking_table(card: Scorecard, frame: pd.DataFrame) -> RankingTable:
    headers = tuple(f"{get_metric(c.kpi).name_zh}（{c.weight:g}分）" for c in card.components)
    rows = []
    for record, mark in zip(frame.to_dict("records"), marks(frame), strict=True):
        cells = tuple(_cell(record, c.kpi) for c in card.components)
        rank = record["rank"]
        rows.append(
            RankingRow(
                "—" if rank != rank else str(int(rank)),
                rank_change_text(record["rank_change"], rank),
                str(record["label"]),
                points_text(record["composite"]),
                cells,
                points_text(record["deducted"]) if record["deducted"] else "—",
                mark,
            )
        )
    ranked = [row for row in rows if row.rank != "—"]
    omitted = 0
    if len(ranked) > FULL_RANKING_ROWS:  # a long ranking (grids): its head and its tail
        omitted = len(ranked) - 2 * EDGE_ROWS
        ranked = ranked[:EDGE_ROWS] + ranked[-EDGE_ROWS:]
    return RankingTable(card, headers, tuple(ranked), omitted)


def _kpi_rank(frame: pd.DataFrame, kpi: str) -> pd.Series:
    """Each object's place by one KPI's value, best first (objects without a value are not placed)."""
    ascending = get_metric(kpi).good == "down"
    return frame.set_index("label")[kpi].rank(ascending=ascending, method="min")


def card_sentences(card: Scorecard, current: pd.DataFrame, previous: pd.DataFrame) -> list[str]:
    """The bulletin's sentences on one card: first and last by the composite, the biggest moves, and who is last
    on the card's heaviest KPI and how that object moved on it since last month."""
    word = OBJECT_WORDS[card.object]
    ranked = current[current["rank"].notna()]
    if ranked.empty:
        return [f"{card.name_zh}：本月无可考核的数据。"]
    first, last = ranked.iloc[0], ranked.iloc[-1]
    text = (
        f"{card.name_zh}：综合指标值排名首位的{word}为{first['label']}（{points_text(first['composite'])}分），"
        f"末位为{last['label']}（{points_text(last['composite'])}分）"
    )
    moved = ranked[ranked["rank_change"].notna() & (ranked["rank_change"] != 0)]
    if not moved.empty:
        up, down = moved.loc[moved["rank_change"].idxmax()], moved.loc[moved["rank_change"].idxmin()]
        if up["rank_change"] > 0:
            text += f"；较上月上升最多的是{up['label']}（上升{int(up['rank_change'])}位）"
        if down["rank_change"] < 0:
            text += f"，下降最多的是{down['label']}（下降{int(-down['rank_change'])}位）"
    sentences = [text + "。"]
    heaviest = max(card.components, key=lambda c: c.weight)
    metric = get_metric(heaviest.kpi)
    now = _kpi_rank(ranked, heaviest.kpi).dropna()  # among the objects ranked: enough to judge
    if not now.empty:
        worst = now.idxmax()
        value = format_value(current.set_index("label").loc[worst, heaviest.kpi], metric.unit)
        ranked_before = previous[previous["rank"].notna()]
        before = _kpi_rank(ranked_before, heaviest.kpi).dropna() if not ranked_before.empty else pd.Series()
        if worst in before.index:
            change = int(now[worst] - before[worst])
            moved_words = "与上月持平" if change == 0 else f"较上月{'下降' if change > 0 else '上升'}{abs(change)}位"
        else:
            moved_words = "上月无可比数据"
        sentences.append(f"本月{metric.name_zh}排名末位的{word}为{worst}（{value}），{moved_words}。")
    return sentences


@dataclass(frozen=True)
class BulletinContent:
    rankings: tuple[RankingTable, ...]
    sentences: tuple[str, ...]
    overdue_by_department: tuple[tuple[str, str], ...]  # department, open overdue tickets at the month's end
    kpis: tuple[str, ...]  # every KPI the cards use, for the definitions


def collect_bulletin(warehouse, month: Period) -> BulletinContent:
    """Everything the bulletin prints for one month, from the (scoped) warehouse."""

    source = warehouse_source(warehouse)
    rankings, sentences, kpis = [], [], {}
    for card in default_scorecards().values():
        previous = scores(card, source, month.previous())  # scored once: for the rank change and the sentences
        current = standings(card, source, month, previous)
        rankings.append(ranking_table(card, current))
        sentences += card_sentences(card, current, previous)
        kpis.update(dict.fromkeys(card.kpis))
    overdue = warehouse.metric("open_overdue_tickets", month, group_by="department", compare=False)
    overdue = overdue[overdue["value"] > 0].sort_values(["value", "label"], ascending=[False, True])
    by_department = tuple(
        (str(label), format_value(value, "件")) for label, value in zip(overdue["label"], overdue["value"], strict=True)
    )
    return BulletinContent(tuple(rankings), tuple(sentences), by_department, tuple(kpis))
