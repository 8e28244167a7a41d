"""A count's 环比 and 同比 against a handful: from 1 to 0 is "↓1件" in no colour, not a red "↓100%".

A percentage of one or two tickets says nothing and, in red on a wall, reads as an alarm. The rule is asked of
the formatter, of a KPI tile, of the wall's tile and of the brief's sentence; expected texts are written out.
"""

from __future__ import annotations

import pytest
from dash import html

from cockpit.components.format import row_change, shown_change
from cockpit.components.kpi import kpi_tile
from cockpit.components.points import KpiLine, sentence
from cockpit.components.theme import TONE_COLOURS
from cockpit.components.wall import wall_tile
from cockpit.metrics import Period, get_metric

OVERDUE = get_metric("open_overdue_tickets")  # a count where fewer is better
RESOLVED = get_metric("tickets_resolved")  # a count where more is better
ON_TIME = get_metric("on_time_rate")  # a rate


@pytest.mark.parametrize(
    ("metric", "value", "base", "change", "text", "tone"),
    [
        (OVERDUE, 0, 1, -1.0, "↓1件", "neutral"),  # was a green "↓100.0%"
        (OVERDUE, 1, 0, None, "↑1件", "neutral"),  # was "—": a first overdue ticket is worth saying
        (RESOLVED, 7, 4, 0.75, "↑3件", "neutral"),
        (RESOLVED, 4, 4, 0.0, "持平", "neutral"),
        (RESOLVED, 0, 5, -1.0, "↓100.0%", "bad"),  # five or more: a percentage, coloured
        (OVERDUE, 10, 5, 1.0, "↑100.0%", "bad"),
        (ON_TIME, 0.5, 1.0, -0.5, "↓50.0个百分点", "bad"),  # a rate keeps its points
    ],
)
def test_a_small_count_base_is_a_difference_in_no_colour(metric, value, base, change, text, tone):
    assert shown_change(metric, value, base, change) == (text, tone)


def test_no_comparison_for_a_partial_window_or_a_base_before_the_data():
    assert shown_change(OVERDUE, 0, 1, None, partial=True) == ("—", "neutral")
    assert row_change(OVERDUE, {"value": 3.0, "previous": None, "change_mom": None}, "mom") == ("—", "neutral")
    partial = {"value": 0.0, "previous": 1.0, "change_mom": None, "status_reason": "partial"}
    assert row_change(OVERDUE, partial, "mom")[0] == "—"


def test_row_change_reads_the_base_of_each_comparison():
    row = {"value": 2.0, "previous": 1.0, "year_ago": 40.0, "change_mom": 1.0, "change_yoy": -0.95}
    assert row_change(OVERDUE, row, "mom") == ("↑1件", "neutral")
    assert row_change(OVERDUE, row, "yoy") == ("↓95.0%", "good")
    assert row_change(OVERDUE, row, "mom", "en") == ("↑1", "neutral")


def _spans_with(component, text: str) -> list:
    spans = []

    def walk(node):
        if isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif isinstance(node, html.Span | html.Div):
            if isinstance(node.children, str) and text in node.children:
                spans.append(node)
            walk(node.children)

    walk(component)
    return spans


def test_the_tile_and_the_wall_show_the_difference_uncoloured():
    row = {"value": 0.0, "previous": 1.0, "year_ago": 0.0, "change_mom": -1.0, "change_yoy": None, "status": "green"}
    tile = kpi_tile(OVERDUE, row, lang="zh", loaded="")
    (mom,) = _spans_with(tile, "环比")
    assert mom.children == "环比 ↓1件" and mom.style["color"] == TONE_COLOURS["neutral"]
    (yoy,) = _spans_with(tile, "同比")
    assert yoy.children == "同比 持平"  # 0 against 0
    wall = wall_tile(OVERDUE, row, "zh")
    (change,) = _spans_with(wall, "环比")
    assert change.children == "环比 ↓1件" and change.style["color"] == TONE_COLOURS["neutral"]


def test_the_briefs_sentence_says_the_difference():
    from datetime import date

    month = Period(date(2026, 11, 1), date(2026, 11, 30))
    small = KpiLine(OVERDUE, 0.0, -1.0, "green", previous=1.0)
    large = KpiLine(RESOLVED, 30.0, 0.5, "green", previous=20.0)
    text = sentence([large, small], month)
    assert "环比上升50.0%" in text and "环比下降1件" in text and "100" not in text
    assert "down 1 on the previous period" in sentence([large, small], month, "en")
    assert small.change_text == "↓1件"


def test_a_topics_change_follows_the_same_rule():
    """A hot topic's tickets are a count too: 2 → 5 is "↑3件", 40 → 50 is "↑25.0%" (table, cloud, brief)."""
    from datetime import date

    from cockpit.components.charts import as_dict, cloud
    from cockpit.components.topics import topic_table
    from cockpit.metrics.topics import Topic
    from cockpit.view import View

    small = Topic("停车位", (), count=5, previous=2, baseline=8, tickets=100, baseline_tickets=400, z=2.0)
    large = Topic("噪音扰民", (), count=50, previous=40, baseline=160, tickets=100, baseline_tickets=400, z=0.5)
    view = View.from_query({}, date(2026, 11, 30))
    table = str(topic_table([small, large], view, "/dispatch", "热点话题", "zh"))
    assert "↑3件" in table and "↑150.0%" not in table and "↑25.0%" in table
    hover = as_dict(cloud([small, large], title="热点", lang="zh"))["data"][0]["hovertext"]
    assert any("↑3件" in text for text in hover) and any("↑25.0%" in text for text in hover)
