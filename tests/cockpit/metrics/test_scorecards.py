"""考核 scorecards: the file's checks, and the ranking worked out from the KPIs by the stated formula.

The expected composites are recomputed here from the card's numbers as written in each test (a straight
line from the zero value to the full value, points over the weights assessed, less capped deductions),
on KPI values the catalog tests already check against pandas.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cockpit.metrics import Period, compute
from cockpit.metrics.scorecards import (
    SCORECARDS_PATH,
    ScorecardError,
    default_scorecards,
    load_scorecards,
    month_period,
    points_column,
    standings,
)

NOVEMBER = month_period("2026-11")

CARD = """
scorecards:
  - id: test_card
    name_zh: 测试考核
    name_en: Test card
    object: community
    components:
      - {kpi: on_time_rate, weight: 60, full: 1.0, zero: 0.5}
      - {kpi: return_rate, weight: 40, full: 0.0, zero: 0.5}
    deductions:
      - {kpi: open_overdue_tickets, per: 1, cap: 3}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scorecards.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_packaged_scorecards_load_and_cover_departments_communities_grids_and_grid_workers():
    cards = default_scorecards()
    assert {card.object for card in cards.values()} == {"department", "community", "grid", "grid_worker"}
    packaged = yaml.safe_load(Path(str(SCORECARDS_PATH)).read_text(encoding="utf-8"))["scorecards"]
    for entry in packaged:  # the file's own numbers, summed here
        assert sum(component["weight"] for component in entry["components"]) == 100


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("weight: 40", "weight: 30", "test_card: the weights add up to 90, not 100"),
        ("kpi: return_rate", "kpi: no_such_kpi", "test_card: unknown KPI 'no_such_kpi'"),
        ("kpi: return_rate", "kpi: tickets_received", "test_card: tickets_received: a KPI that is neither"),
        ("full: 1.0, zero: 0.5", "full: 0.5, zero: 1.0", "higher is better, so full (0.5) must be above zero (1)"),
        ("full: 0.0, zero: 0.5", "full: 0.5, zero: 0.0", "lower is better, so full (0.5) must be below zero (0)"),
        ("weight: 60", "weight: sixty", "test_card: on_time_rate: 'weight' must be a number"),
        ("object: community", "object: street", "test_card: object 'street' is not one of"),
        ("per: 1", "per: 0", "test_card: deduction open_overdue_tickets: per and cap must be above 0"),
        ("    object: community\n", "    object: community\n    min_weight: 120\n", "test_card: min_weight must be"),
        (
            "kpi: return_rate, weight: 40, full: 0.0, zero: 0.5",
            "kpi: on_time_rate, weight: 40, full: 1.0, zero: 0.5",
            "test_card: on_time_rate listed twice",
        ),
        ("    name_en: Test card\n", "", "test_card: 'name_en' is missing"),
        ("      - {kpi: on_time_rate", "      - {kpi: on_time_rate, bonus: 1", "unknown key(s) bonus"),
        ("components:", "components: [", "scorecards.yaml: not valid YAML at line"),
    ],
)
def test_a_bad_scorecard_file_fails_with_one_line_naming_the_entry(tmp_path, old, new, message):
    assert old in CARD
    with pytest.raises(ScorecardError) as error:
        load_scorecards(write(tmp_path, CARD.replace(old, new, 1)))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_kpi_the_object_cannot_group_is_refused(tmp_path):
    text = CARD.replace("object: community", "object: department").replace(
        "kpi: return_rate, weight: 40, full: 0.0, zero: 0.5", "kpi: video_online_rate, weight: 40, full: 1.0, zero: 0.5"
    )
    with pytest.raises(ScorecardError, match="test_card: video_online_rate cannot be grouped by department"):
        load_scorecards(write(tmp_path, text))


def test_a_card_defined_twice_is_refused(tmp_path):
    body = CARD.split("scorecards:\n", 1)[1]
    with pytest.raises(ScorecardError, match="test_card: defined twice"):
        load_scorecards(write(tmp_path, "scorecards:\n" + body + body))


def expected_composites(con, period: Period) -> dict[str, float]:
    """The card above by hand: 60 × on-time share of the way from 50 % to 100 %, 40 × return rate's share of the
    way from 50 % down to 0 %, over the weights with a value, less one point per open overdue ticket (at most 3)."""

    def by_community(kpi):
        frame = compute(con, kpi, period, group_by="community", compare=False)
        return {k: v for k, v in zip(frame["community"], frame["value"], strict=True) if k != "unknown"}

    on_time, returns, overdue = (
        by_community("on_time_rate"),
        by_community("return_rate"),
        by_community("open_overdue_tickets"),
    )
    result = {}
    for community in set(on_time) | set(returns) | set(overdue):
        earned = weights = 0.0
        a, b = on_time.get(community, math.nan), returns.get(community, math.nan)
        if not math.isnan(a):
            earned, weights = earned + 60 * min(1, max(0, (a - 0.5) / 0.5)), weights + 60
        if not math.isnan(b):
            earned, weights = earned + 40 * min(1, max(0, (0.5 - b) / 0.5)), weights + 40
        off = min(3.0, overdue.get(community, 0.0) or 0.0)
        result[community] = max(0.0, earned / weights * 100 - off) if weights else math.nan
    return result


def test_standings_rank_the_composites_worked_out_by_hand(tmp_path, con):
    card = load_scorecards(write(tmp_path, CARD))["test_card"]
    frame = standings(card, lambda kpi, period, by: compute(con, kpi, period, group_by=by, compare=False), NOVEMBER)
    expected = expected_composites(con, NOVEMBER)
    before = expected_composites(con, NOVEMBER.previous())
    assert set(frame["key"]) == set(expected) and len(expected) >= 3
    for row in frame.itertuples(index=False):
        assert row.composite == pytest.approx(expected[row.key], nan_ok=True)
        better = sum(value > expected[row.key] + 1e-9 for value in expected.values() if not math.isnan(value))
        assert row.rank == better + 1
        previous = before.get(row.key, math.nan)
        if not math.isnan(previous):
            ahead = sum(value > previous + 1e-9 for value in before.values() if not math.isnan(value))
            assert row.previous_rank == ahead + 1 and row.rank_change == row.previous_rank - row.rank
    assert list(frame["composite"].dropna()) == sorted(frame["composite"].dropna(), reverse=True)
    # each component's points are on the frame beside its value
    first = frame.iloc[0]
    assert first[points_column("on_time_rate")] == pytest.approx(
        60 * min(1, max(0, (first["on_time_rate"] - 0.5) / 0.5))
    )


def test_a_component_without_a_value_gives_up_its_weight_and_nobody_is_ranked_for_no_place(tmp_path):
    card = load_scorecards(write(tmp_path, CARD))["test_card"]
    values = {
        # a has both; b has no return rate (nothing dispatched): scored on on-time alone; the unknown place is left out
        "on_time_rate": {"a": 0.75, "b": 0.9, "unknown": 0.1},
        "return_rate": {"a": 0.1},
        "open_overdue_tickets": {"a": 10.0, "b": 1.0},
    }

    def source(kpi, period, by):
        rows = values[kpi] if period == NOVEMBER else {}
        return pd.DataFrame({by: list(rows), "label": [f"社区{k}" for k in rows], "value": list(rows.values())})

    frame = standings(card, source, NOVEMBER).set_index("key")
    assert set(frame.index) == {"a", "b"}
    # a: 60 × 0.5 + 40 × 0.8 = 62 of 100, less 3 (10 tickets, capped); b: 60 × 0.8 of 60 → 80, less 1
    assert frame.loc["a", "composite"] == pytest.approx(59.0)
    assert frame.loc["b", "composite"] == pytest.approx(79.0)
    assert (frame.loc["b", "rank"], frame.loc["a", "rank"]) == (1, 2)
    assert frame["previous_rank"].isna().all()  # nothing the month before: no rank to compare


def test_an_object_assessed_on_less_than_the_minimum_weight_is_listed_but_not_ranked(tmp_path):
    card = load_scorecards(write(tmp_path, CARD.replace("object: community", "object: community\n    min_weight: 61")))
    values = {"on_time_rate": {"a": 0.75, "b": 1.0}, "return_rate": {"a": 0.1}, "open_overdue_tickets": {}}

    def source(kpi, period, by):
        rows = values[kpi] if period == NOVEMBER else {}
        return pd.DataFrame({by: list(rows), "label": list(rows), "value": list(rows.values())})

    frame = standings(card["test_card"], source, NOVEMBER)
    # b is perfect on on-time (60 points of 60) but 60 < 61 weights assessed: not ranked, listed after a
    assert list(frame["key"]) == ["a", "b"]
    assert frame["rank"].tolist()[0] == 1 and math.isnan(frame["rank"].tolist()[1])
    assert math.isnan(frame["composite"].tolist()[1])


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-10", "", "2026-10-01"])
def test_a_month_is_yyyy_mm(month):
    with pytest.raises(ValueError, match="is not YYYY-MM"):
        month_period(month)


def test_a_month_is_the_calendar_month():
    assert month_period("2028-02") == Period(pd.Timestamp("2028-02-01").date(), pd.Timestamp("2028-02-29").date())
