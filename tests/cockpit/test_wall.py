"""The wall's callbacks over HTTP: a refresh answers from the release cache, and its pieces follow the data."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from cockpit.components import wall
from cockpit.components.wall import BOARDS
from cockpit.data import current_warehouse
from tests.cockpit.dash_client import DashClient, id_string
from tests.cockpit.serving import serving


@pytest.fixture(scope="module")
def client(app) -> DashClient:
    return DashClient(app)


def refresh_outputs() -> list:
    """The outputs of the wall's refresh callback, as the browser names them."""
    kpis = [{"id": {"board": b.id, "type": "wall-kpis"}, "property": "children"} for b in BOARDS]
    return [
        kpis,
        {"id": "wall-ticker", "property": "children"},
        {"id": "wall-points", "property": "children"},
        {"id": "wall-banner", "property": "children"},
        {"id": "wall-banner", "property": "className"},
        {"id": "wall-release", "property": "data"},
        {"id": "wall-alarm", "property": "data"},
    ]


def refresh(client: DashClient, release=None, seen=(), level="high", hours=24) -> dict:
    from cockpit.pages.wall import config

    settings = {**config({}, "zh"), "alarm_level": level, "alarm_hours": hours}
    return client.update(
        "wall-ticker.children",
        refresh_outputs(),
        [{"id": "wall-refresh", "property": "n_intervals", "value": 3}],
        state=[
            {"id": "wall-config", "property": "data", "value": settings},
            {"id": "wall-seen", "property": "data", "value": list(seen)},
            {"id": "wall-release", "property": "data", "value": release},
            {"id": "wall-alarm", "property": "data", "value": None},
        ],
    )


def test_a_refresh_after_the_first_answers_entirely_from_the_cache(client, monkeypatch):
    warehouse = current_warehouse()
    first = refresh(client)
    assert first["wall-release"]["data"] == warehouse.info.run_id
    opened = []
    original = warehouse.open
    monkeypatch.setattr(warehouse, "open", lambda: opened.append(1) or original())
    again = refresh(client, release=warehouse.info.run_id)
    assert opened == []  # no query ran: numbers change only with a new release
    assert "wall-release" not in again  # same release: the charts are not redrawn
    for board in BOARDS:  # the same six tiles, with the same numbers
        key = id_string({"board": board.id, "type": "wall-kpis"})
        assert len(first[key]["children"]) == len(board.groups[0].kpis)
        assert first[key] == again[key]


def test_stale_banner_only_past_the_threshold_and_says_since_when():
    warehouse = current_warehouse()
    as_of = warehouse.info.as_of
    assert wall.stale_banner(warehouse, "zh", now=as_of + timedelta(hours=20)) == ("", "wall-banner hidden")
    text, css = wall.stale_banner(warehouse, "zh", now=as_of + timedelta(hours=30))
    assert css == "wall-banner late"  # amber past the allowance (26 h), as the top bar's badge
    assert wall.stale_banner(warehouse, "zh", now=as_of + timedelta(hours=60))[1] == "wall-banner stale"
    built = f"{warehouse.info.built_at:%m-%d %H:%M}"
    assert text == f"数据已超过30小时未更新：自 {as_of:%Y-%m-%d %H:%M} 起无新数据（最近装载 {built}）"


def _alarms_at_the_end(home) -> tuple[list[str], list[str], list[str]]:
    """(live, cleared, live high-level) alarm ids of the release's last 744 hours, newest first, re-stated over
    the raw mart: live is raised before the data's end and not cleared by then."""
    import duckdb

    from warehouse.releases import current_release

    as_of = current_warehouse().info.as_of
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        rows = con.execute(
            "SELECT alarm_id, cleared_at IS NULL OR cleared_at >= ?, level FROM fct_alarm "
            "WHERE raised_at < ? AND raised_at >= ? ORDER BY raised_at DESC",
            [as_of, as_of, as_of - timedelta(hours=744)],
        ).fetchall()
    live = [alarm for alarm, is_live, _ in rows if is_live]
    high = [alarm for alarm, is_live, level in rows if is_live and level == "high"]
    return live, [alarm for alarm, is_live, _ in rows if not is_live], high


def test_an_alarm_shown_once_is_not_shown_again_and_levels_filter(app, live_alarm_street):
    with serving(live_alarm_street):
        warehouse = current_warehouse()
        live, _, high = _alarms_at_the_end(live_alarm_street)
        assert live
        pending = wall.pending_alarm(warehouse, 744, [], level="low")
        assert pending["id"] == live[0]
        assert wall.pending_alarm(warehouse, 744, [live[0]], level="low") != pending
        assert (wall.pending_alarm(warehouse, 744, []) or {}).get("id") == (high[0] if high else None)


def test_an_alarm_already_cleared_never_takes_the_screen(app, live_alarm_street):
    """Every alarm of the window at every level: once the live ones are seen, nothing is pending."""
    with serving(live_alarm_street):
        warehouse = current_warehouse()
        live, cleared, _ = _alarms_at_the_end(live_alarm_street)
        assert live and cleared  # the window holds both
        seen: list[str] = []
        while (pending := wall.pending_alarm(warehouse, 744, seen, level="low")) is not None:
            assert pending["id"] in live and pending["cleared_at"] is None, pending
            seen.append(pending["id"])
        assert seen == live  # newest first, each once


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"layout": "4k"}, (3840, 2160)),
        ({"layout": "triple"}, (5760, 1080)),
        ({"canvas": "6656x1792"}, (6656, 1792)),
        ({"canvas": "6656×1792"}, (6656, 1792)),
        ({"canvas": "99999x1"}, None),
        ({"canvas": "big"}, None),
        ({}, None),
    ],
)
def test_canvas_from_the_url(app, query, expected):
    from cockpit.pages.wall import canvas

    assert canvas(query) == expected


def test_wall_settings_fall_back_or_clamp(app):
    from cockpit.pages.wall import config

    settings = config({"rotate": "0", "refresh": "soon", "board": "grid", "alarm_level": "urgent"}, "zh")
    picked = (settings["rotate"], settings["refresh"], settings["pinned"], settings["alarm_level"])
    assert picked == (1, 30, "grid", "high")
    assert config({"board": "nowhere"}, "zh")["pinned"] is None


@pytest.mark.parametrize("hours", [8, 26, 27, 30, 52, 53, 60, 500])
def test_the_top_bar_and_the_wall_colour_the_data_age_alike(hours):
    from cockpit.app import freshness

    warehouse = current_warehouse()
    now = warehouse.info.as_of + timedelta(hours=hours)
    badge = freshness(warehouse, "zh", now=now)[1]
    banner = wall.stale_banner(warehouse, "zh", now=now)[1]
    # green / amber / red: the badge's Bootstrap colour and the banner's class say the same
    expected = "green" if hours <= 26 else "amber" if hours <= 52 else "red"
    assert badge == {"green": "success", "amber": "warning", "red": "danger"}[expected]
    assert banner == {"green": "wall-banner hidden", "amber": "wall-banner late", "red": "wall-banner stale"}[expected]


def test_a_tile_of_a_source_that_lags_says_how_far_its_data_goes(client):
    # The demo's party ledger and grid base data are monthly snapshots, last delivered on 10-01;
    # the daily sources run to the release's data_through, 10-02.
    warehouse = current_warehouse()
    assert warehouse.sources_complete_through()["party"] == date(2026, 10, 1)
    assert warehouse.info.data_through == date(2026, 10, 2)
    answers = refresh(client)
    party = json.dumps(answers[id_string({"board": "party", "type": "wall-kpis"})], ensure_ascii=False)
    assert party.count("数据截至 10-01") == len(next(b for b in BOARDS if b.id == "party").groups[0].kpis)
    dispatch = json.dumps(answers[id_string({"board": "dispatch", "type": "wall-kpis"})], ensure_ascii=False)
    assert "数据截至" not in dispatch


def test_the_walls_lists_are_what_the_counts_beside_them_count(loaded_demo):
    """Live alarms and newly overdue tickets: the catalog's rule, re-stated here over the raw marts."""
    import duckdb

    warehouse = current_warehouse()
    as_of = warehouse.info.as_of
    alarms = wall.recent_alarms(warehouse, 744)
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        live = {
            alarm_id
            for (alarm_id,) in con.execute(
                "SELECT alarm_id FROM fct_alarm WHERE raised_at < ? AND (cleared_at IS NULL OR cleared_at >= ?)",
                [as_of, as_of],
            ).fetchall()
        }
        since = as_of - timedelta(hours=24 * 40)
        overdue = {
            ticket_id
            for (ticket_id,) in con.execute(
                "SELECT ticket_id FROM fct_ticket WHERE duplicate_of IS NULL AND received_at < ? "
                "AND (resolved_at IS NULL OR resolved_at >= ?) AND deadline_at < ? AND deadline_at >= ?",
                [as_of, as_of, as_of, since],
            ).fetchall()
        }
    assert set(alarms.loc[alarms["is_live"], "alarm_id"]) == live
    listed = wall.newly_overdue(warehouse, 24 * 40)
    assert set(listed["ticket_id"]) <= overdue and len(listed) == min(len(overdue), wall.TICKER_OVERDUE)


def test_an_english_wall_ticker_names_alarms_and_places_in_english(app):
    from cockpit.pages.wall import config

    settings = {**config({}, "en"), "alarm_level": "low", "alarm_hours": 744}
    answer = DashClient(app, language="en").update(
        "wall-ticker.children",
        refresh_outputs(),
        [{"id": "wall-refresh", "property": "n_intervals", "value": 3}],
        state=[
            {"id": "wall-config", "property": "data", "value": settings},
            {"id": "wall-seen", "property": "data", "value": []},
            {"id": "wall-release", "property": "data", "value": None},
            {"id": "wall-alarm", "property": "data", "value": None},
        ],
    )
    alarms = [span["props"]["children"] for span in _spans(answer["wall-ticker"]) if "level-" in _class(span)]
    assert alarms, "no alarm on the ticker"
    # alarm kinds, places and states in English: no Chinese character left
    assert not [item for item in alarms if re.search(r"[\u4e00-\u9fff]", item)], alarms[:3]


def _class(node: dict) -> str:
    return str(node.get("props", {}).get("className", ""))


def _spans(node) -> list[dict]:
    """Every html.Span in a serialized component tree."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "Span":
            found.append(node)
        for value in node.values():
            found += _spans(value)
    elif isinstance(node, list):
        for each in node:
            found += _spans(each)
    return found
