"""Records with no place (未定位) on screen: counted in KPIs, a bucket apart in rankings, a note on the map.

The release is the hand-made fixture lake plus six tickets with no grid (message-board
posts, a hotline export without grids, one post resolved late), served by the session's
app for these tests.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from cockpit.briefing.content import BriefSpec, collect
from cockpit.components.board import board_layout
from cockpit.components.charts import bar, worst_first
from cockpit.components.filters import dimension_options, option_label
from cockpit.data import current_warehouse
from cockpit.metrics import Period, default_catalog
from tests.cockpit.dash_client import DashClient
from tests.cockpit.serving import publish_lake, serving
from tests.fixtures.accounts import signed_context
from tests.fixtures.lake import DATA_THROUGH, make_fixture_lake, write_partition
from warehouse.paths import Home

LAST_30_DAYS = Period(date(2026, 9, 13), DATA_THROUGH)  # the default view on DATA_THROUGH

# fmt: off
UNPLACED_TICKETS = [
    {"channel": "forum", "source_ticket_id": f"F10{n}", "received_at": datetime(2026, 10, 10, 8 + n),
     "category": category, "title": "留言", "reporter_kind": "citizen"}
    for n, category in enumerate(("noise", "noise", "sanitation", "pet"), start=1)
]
NO_GRID = [
    {"channel": "hotline_12345", "source_ticket_id": "H101", "received_at": datetime(2026, 10, 10, 14),
     "category": "road", "title": "路灯不亮", "address": "无名路1号", "reporter_kind": "citizen"},
]
# Received Monday 09-14, SLA 5 working days (deadline 09-21), resolved 10-11: late.
RESOLVED_LATE = [
    {"channel": "forum", "source_ticket_id": "F105", "received_at": datetime(2026, 9, 14, 9),
     "category": "noise", "title": "留言", "reporter_kind": "citizen"},
]
# fmt: on


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("unplaced")).ensure()
    make_fixture_lake(home.lake)
    write_partition(home.lake, "ticket_intake", date(2026, 10, 10), "forum", UNPLACED_TICKETS)
    write_partition(home.lake, "ticket_intake", date(2026, 10, 10), "hotline_12345", NO_GRID)
    write_partition(home.lake, "ticket_intake", date(2026, 9, 14), "forum", RESOLVED_LATE)
    resolved = {"event_id": "E1051", "channel": "forum", "source_ticket_id": "F105", "event_type": "resolved"}
    write_partition(
        home.lake,
        "ticket_event",
        date(2026, 10, 11),
        "ticket_events",
        [{**resolved, "event_at": datetime(2026, 10, 11, 10)}],
    )
    publish_lake(home, "unplaced", DATA_THROUGH)
    return home


def overview_figures(app, query: dict, language: str | None = None) -> dict[str, dict]:
    """{chart id: figure} of the overview page, each callback run over HTTP as the browser does."""
    from cockpit.pages.overview import BOARD  # a page module registers itself: only once the app exists

    client = DashClient(app, language)
    with signed_context(app, f"cockpit_lang={language}" if language else ""):
        layout = board_layout(BOARD, query)
    figures = {}
    for output, outputs, inputs in client.page_updates(layout, BOARD.id):
        for key, props in client.update(output, outputs, inputs).items():
            if key.startswith("{"):
                figures[json.loads(key)["chart"]] = props["figure"]
    return figures


def numbers(values) -> list[float]:
    """A figure's numbers as sent: a list, or Plotly's typed array ({"dtype", "bdata": base64})."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def ranking_rows(figure: dict) -> list[tuple[str, float, str]]:
    """(label, value, key) of a horizontal ranking, top to bottom as it is drawn."""
    (trace,) = figure["data"]
    rows = list(zip(trace["y"], numbers(trace["x"]), trace["customdata"], strict=True))
    return rows[::-1]  # Plotly draws the first bar of a horizontal chart at the bottom


def test_tickets_without_a_place_are_counted_in_the_street_kpi(app, home):
    with serving(home):
        street = current_warehouse().metric("tickets_received", LAST_30_DAYS)["value"][0]
        by_community = current_warehouse().metric("tickets_received", LAST_30_DAYS, group_by="community")
    # tests/fixtures/lake.py: C1 received H001, H002, H003, H005 and C2 H004, R001, H006, H007, C002
    # (C001 and F001 are duplicates of H001); the six tickets above have no grid.
    assert dict(zip(by_community["community"], by_community["value"], strict=True)) == {"C1": 4, "C2": 5, "unknown": 6}
    assert street == 15


def test_the_ranking_shows_the_unlocated_bucket_last_whatever_its_value(app, home):
    with serving(home):
        figures = overview_figures(app, {"map": "tickets_received"})
        english = overview_figures(app, {"map": "tickets_received"}, language="en")
    # 6 unplaced tickets are more than any community's, yet they do not lead the ranking.
    assert ranking_rows(figures["overview-chart-3"]) == [
        ("星湖社区", 5, "C2"),
        ("金湖社区", 4, "C1"),
        ("未定位", 6, "unknown"),
    ]
    (trace,) = figures["overview-chart-3"]["data"]
    assert trace["marker"]["pattern"]["shape"][0] == "/"  # the bottom bar, hatched apart from the ranked ones
    assert set(trace["marker"]["pattern"]["shape"][1:]) == {""}
    assert [label for label, _, _ in ranking_rows(english["overview-chart-3"])][-1] == "Unlocated"


def test_an_unlocated_bucket_with_the_worst_value_is_not_ranked_worst(app, home):
    with serving(home):
        figures = overview_figures(app, {})  # the map and ranking default to on_time_rate
    # Resolved in the period: C1 H001 on time (100%); C2 R001, H006, H007 on time and H004 late (3/4);
    # the unplaced F105 late (0%) — the lowest, shown after the communities.
    rows = ranking_rows(figures["overview-chart-3"])
    assert [(label, key) for label, _, key in rows] == [("星湖社区", "C2"), ("金湖社区", "C1"), ("未定位", "unknown")]
    assert [value for _, value, _ in rows] == pytest.approx([75, 100, 0])


def test_the_map_notes_how_many_records_it_cannot_place(app, home):
    with serving(home):
        counts = overview_figures(app, {"map": "tickets_received"})["overview-chart-0"]
        english = overview_figures(app, {"map": "tickets_received"}, language="en")["overview-chart-0"]
        rates = overview_figures(app, {})["overview-chart-0"]
        overdue = overview_figures(app, {"map": "open_overdue_tickets"})["overview-chart-0"]

    def note(figure: dict) -> str | None:
        notes = [a["text"] for a in figure["layout"].get("annotations", []) if a.get("name") == "unplaced"]
        return notes[0] if notes else None

    (trace,) = counts["data"]
    assert trace["locations"] == ["C1"]  # only C1 has an outline; 未定位 has none to draw
    assert note(counts) == "另有6件未定位"
    assert all(text.endswith("<i>另有6件未定位</i>") for text in trace["text"])
    assert note(english) == "6 not located"
    assert note(rates) == "未定位记录：按期办结率 0.0%"  # a rate of 0 is still a value worth saying
    assert note(overdue) is None  # no unplaced ticket is overdue: nothing to say


def test_the_community_filter_lists_unlocated_last(app, home):
    with serving(home), signed_context(app):
        options = dimension_options("community", "zh", {})
        english = dimension_options("community", "en", {})
        grids = dimension_options("grid", "zh", {})
        chip = option_label("community", "unknown", "en")
    assert options[-1] == {"label": "未定位", "value": "unknown"}
    assert [o["value"] for o in options[:-1]] == sorted(o["value"] for o in options[:-1])
    assert "unknown" not in [o["value"] for o in options[:-1]]
    assert english[-1] == {"label": "Unlocated", "value": "unknown"}
    assert grids[-1] == {"label": "未定位", "value": "unknown"}
    assert chip == "Unlocated"


def test_the_briefs_ranking_lists_unlocated_after_the_ranked_communities(app, home):
    with serving(home):
        brief = collect(current_warehouse(), BriefSpec(LAST_30_DAYS))
    dispatch = next(section for section in brief.sections if section.section.module == "dispatch")
    assert [(rank, name) for rank, name, *_ in dispatch.ranking] == [(1, "星湖社区"), (2, "金湖社区"), ("—", "未定位")]


def test_a_short_ranking_keeps_the_unlocated_bucket_beyond_its_top():
    metric = default_catalog()["on_time_rate"]
    frame = pd.DataFrame(
        {
            "grid": ["G1", "unknown", "G2", "G3"],
            "label": ["一网格", "未定位", "二网格", "三网格"],
            "value": [0.99, 0.10, 0.80, 0.95],
            "status": ["green", "red", "red", "green"],
        }
    )
    assert list(worst_first(frame, metric, "grid", top=2)["grid"]) == ["G2", "G3", "unknown"]
    (trace,) = bar(frame, metric, "grid", title="t", top=2).to_plotly_json()["data"]
    assert list(trace["y"]) == ["未定位", "三网格", "二网格"]  # drawn bottom-up
    assert trace["marker"]["color"][0] != trace["marker"]["color"][2]  # grey, not the red of a bad status
