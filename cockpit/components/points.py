"""本期要点: the sentences a leader reads first, the same on the overview's panel, the wall's rotating line and
the brief's summary: one sentence per module (its summary KPIs: value, 环比, target, attention), then the
period's surges (and, when the period reaches the last day loaded, the 7-day forecast), its rising topics
and the last complete month's scorecard first and last.

Every number comes through the data layer (the screens' cache), so the sentence on the wall and in the PDF
is the tile's number. Chinese and English read the same judgement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from cockpit.components.format import count_change, format_value, is_missing, metric_name, shown_change
from cockpit.components.warning import forecast_words, month_text, surge_sentence, warning_names
from cockpit.data import ScopedWarehouse, Warehouse, side_by_side
from cockpit.i18n import t
from cockpit.metrics import Metric, Period, get_metric
from cockpit.metrics.scorecards import (
    last_complete_month,
    load_scorecards,
    month_period,
    points_text,
    standings,
    warehouse_source,
)
from cockpit.metrics.warning import TICKETS_KPI
from cockpit.modules import MODULES

# The modules' sentences in this order: the brief's sections and the key points.
MODULE_ORDER = ("dispatch", "grid", "approvals", "enforcement", "party")
PERIOD_WORDS = {
    "zh": {"day": "当日", "week": "本周", "month": "本月", "quarter": "本季度", "year": "本年度"},
    "en": {
        "day": "On the day",
        "week": "This week",
        "month": "This month",
        "quarter": "This quarter",
        "year": "This year",
    },
}
IN_PERIOD = {"zh": "统计期内", "en": "In the period"}
AT_END = {"zh": "截至期末", "en": "At the period's end"}
RISING_SHOWN = 3  # rising topics named in a point


@dataclass(frozen=True)
class KpiLine:
    metric: Metric
    value: float | None
    change: float | None
    status: str
    previous: float | None = None  # the 环比 base: a small count's change is shown as a difference
    partial: bool = False  # a window past its sources' last delivery: not compared

    @property
    def value_text(self) -> str:
        return format_value(self.value, self.metric.unit)

    @property
    def change_text(self) -> str:
        return self.shown_change("zh")

    def shown_change(self, lang: str) -> str:
        return shown_change(self.metric, self.value, self.previous, self.change, partial=self.partial, lang=lang)[0]


def kpi_line(warehouse: Warehouse | ScopedWarehouse, kpi: str, period: Period, filters: Mapping[str, str]) -> KpiLine:
    metric = get_metric(kpi)
    frame = warehouse.metric(kpi, period, filters=filters)
    if frame.empty:
        return KpiLine(metric, None, None, "grey")
    row = frame.iloc[0]

    def number(column: str) -> float | None:
        return None if is_missing(row.get(column)) else float(row[column])

    partial = isinstance(row.get("status_reason"), str)
    return KpiLine(metric, number("value"), number("change_mom"), str(row["status"]), number("previous"), partial)


def _change_words(line: KpiLine, lang: str) -> str:
    text = line.shown_change(lang)
    if text == "—":
        return ""
    if text == t("flat", lang):
        return "环比持平" if lang == "zh" else "flat on the previous period"
    rising = text.startswith("↑")
    if lang == "en":
        return f"{'up' if rising else 'down'} {text[1:].strip()} on the previous period"
    return f"环比{'上升' if rising else '下降'}{text[1:]}"


def _target_words(line: KpiLine, lang: str) -> str:
    metric = line.metric
    if metric.target is None or line.value is None:
        return ""
    target = format_value(metric.target, metric.unit, lang)
    met = line.value >= metric.target if metric.good == "up" else line.value <= metric.target
    if lang == "en":
        if metric.good == "up":
            return f"meeting the {target} target" if met else f"below the {target} target"
        return f"within the {target} target" if met else f"above the {target} target"
    if metric.good == "up":
        return f"达到目标{target}" if met else f"低于目标{target}"
    return f"控制在目标{target}以内" if met else f"高于目标{target}"


def _lowered(name: str) -> str:
    """A KPI's English name inside a sentence: 'On-time rate' → 'on-time rate'; 'AI alarms' stays."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def sentence(lines: list[KpiLine], period: Period, lang: str = "zh") -> str:
    """'本周受理工单数1,234件，环比上升5.2%；按期办结率96.1%，低于目标95.0%。' (or in English)."""
    word = PERIOD_WORDS[lang].get(period.kind(), IN_PERIOD[lang])
    clauses = []
    for index, line in enumerate(lines):
        prefix = word if index == 0 and line.metric.period_column else (AT_END[lang] if index == 0 else "")
        value = format_value(line.value, line.metric.unit, lang)
        if lang == "en":
            head = f"{prefix + ': ' if prefix else ''}{_lowered(metric_name(line.metric, 'en'))} {value}"
        else:
            head = f"{prefix}{line.metric.name_zh}{value}"
        words = [head, *(w for w in (_change_words(line, lang), _target_words(line, lang)) if w)]
        if line.status == "red":
            words.append("需重点关注" if lang == "zh" else "needs attention")
        clauses.append(("，" if lang == "zh" else ", ").join(words))
    return ("；" if lang == "zh" else "; ").join(clauses) + ("。" if lang == "zh" else ".")


def module_point(
    warehouse: Warehouse | ScopedWarehouse, module: str, period: Period, filters: Mapping[str, str], lang: str = "zh"
) -> str:
    """'指挥调度：本周受理工单…。': a module's summary KPIs in one sentence."""
    lines = [kpi_line(warehouse, kpi, period, filters) for kpi in MODULES[module].summary]
    return f"{t(module, lang)}{'：' if lang == 'zh' else ': '}{sentence(lines, period, lang)}"


def warning_point(
    warehouse: Warehouse | ScopedWarehouse, period: Period, filters: Mapping[str, str], lang: str = "zh"
) -> str:
    """The period's surges, and the 7-day forecast when the period reaches the last complete day."""
    names = warning_names(warehouse, lang)
    text = surge_sentence(warehouse.surges(period, filters=filters), names, lang)
    through = warehouse.complete_through(TICKETS_KPI) or warehouse.info.data_through
    if period.end >= through and (fc := warehouse.forecast(filters=filters)) is not None:
        text += ("" if lang == "zh" else " ") + forecast_words(fc, lang) + ("。" if lang == "zh" else ".")
    return f"{t('warning_point', lang)}{'：' if lang == 'zh' else ': '}{text}"


def topics_point(
    warehouse: Warehouse | ScopedWarehouse, period: Period, filters: Mapping[str, str], lang: str = "zh"
) -> str | None:
    """'上升话题：停车位（12件，↑50.0%）、…。'; None when nothing rose (or the release has no terms)."""
    topics = warehouse.topics(period, filters=filters, rising=True, limit=RISING_SHOWN)
    if not topics:
        return None
    parts = []
    for topic in topics:
        count = format_value(topic.count, "件", lang)
        change = count_change(topic.count, topic.previous, topic.change, lang)
        parts.append(f"{topic.term}（{count}，{change}）" if lang == "zh" else f"{topic.term} ({count}, {change})")
    if lang == "en":
        return f"{t('rising_topics', 'en')}: {', '.join(parts)}."
    return f"{t('rising_topics', 'zh')}：{'、'.join(parts)}。"


def scorecard_point(warehouse: Warehouse | ScopedWarehouse, lang: str = "zh") -> str | None:
    """The first scorecard's (承办部门) first and last in the last complete month; None with none ranked."""
    cards = load_scorecards()
    if not cards:
        return None
    card = next(iter(cards.values()))
    month = last_complete_month(warehouse.info.data_through)
    frame = standings(card, warehouse_source(warehouse, lang), month_period(month))
    ranked = frame[frame["rank"].notna()]
    if len(ranked) < 2:
        return None
    first, last = ranked.iloc[0], ranked.iloc[-1]
    when = month_text(month_period(month).start, lang)
    if lang == "en":
        return (
            f"Scorecards ({when}, {card.name('en')}): first {first['label']} ({points_text(first['composite'])}), "
            f"last {last['label']} ({points_text(last['composite'])})."
        )
    return (
        f"考核（{when} · {card.name('zh')}）：综合指标值首位为{first['label']}（{points_text(first['composite'])}分），"
        f"末位为{last['label']}（{points_text(last['composite'])}分）。"
    )


def _extras(
    warehouse: Warehouse | ScopedWarehouse, period: Period, filters: Mapping[str, str], lang: str
) -> list[Callable[[], str | None]]:
    return [
        partial(warning_point, warehouse, period, filters, lang),
        partial(topics_point, warehouse, period, filters, lang),
        partial(scorecard_point, warehouse, lang),
    ]


def extra_points(
    warehouse: Warehouse | ScopedWarehouse, period: Period, filters: Mapping[str, str], lang: str = "zh"
) -> list[str]:
    """What follows the modules' sentences: warnings, rising topics, scorecards."""
    return [point for point in side_by_side(_extras(warehouse, period, filters, lang)) if point]


def key_points(
    warehouse: Warehouse | ScopedWarehouse, period: Period, filters: Mapping[str, str] | None = None, lang: str = "zh"
) -> list[str]:
    """本期要点 of the period, as the overview, the wall and the brief say them."""
    filters = filters or {}
    modules = [partial(module_point, warehouse, module, period, filters, lang) for module in MODULE_ORDER]
    said = side_by_side([*modules, *_extras(warehouse, period, filters, lang)])
    return [point for point in said if point]
