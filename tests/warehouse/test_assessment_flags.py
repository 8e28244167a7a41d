"""The official 口径's ticket flags on a demo street, against the raw event exports read with pandas.

Six weeks of a small street (tests/conftest.py month_street), so that the rarer events (缓办, 重办) happen. The expected
sets are worked out from the landed JSON lines alone (the platform's Chinese action
names, read here, not through the source mapping), then compared with fct_ticket.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from warehouse.releases import current_release

CITY_CHANNEL_ZH = "数字城管"


@pytest.fixture(scope="module")
def street(month_street) -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = [
        json.loads(line)
        for path in sorted((month_street.landing / "ticket_events").rglob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    events = pd.DataFrame(lines).drop_duplicates("eventId")
    events["at"] = pd.to_datetime(events["actionTime"])
    with duckdb.connect(str(current_release(month_street)), read_only=True) as con:
        tickets = con.execute("SELECT * FROM fct_ticket WHERE NOT is_duplicate").df()
    return events, tickets


def _first(events: pd.DataFrame, action: str) -> pd.Series:
    return events[events["action"] == action].groupby("ticketNo")["at"].min()


def _flagged(tickets: pd.DataFrame, column: str) -> set[str]:
    return set(tickets.loc[tickets[column].fillna(False).astype(bool), "source_ticket_id"])


def test_a_call_within_24_hours_of_the_first_dispatch_is_a_response(street):
    events, tickets = street
    known = set(tickets["source_ticket_id"])
    dispatched, called = _first(events, "派发"), _first(events, "联系诉求人")
    delay = (called - dispatched.reindex(called.index)).dropna()
    expected = {no for no, gap in delay.items() if gap <= pd.Timedelta(hours=24)} & known
    assert len(expected) > 100 and 0 < len(set(delay.index) & known) - len(expected)  # some calls came late
    assert _flagged(tickets, "is_responded") == expected


def test_holds_belong_to_city_cases_and_reopening_follows_a_closing(street):
    events, tickets = street
    known = set(tickets["source_ticket_id"])
    held = set(events.loc[events["action"] == "缓办", "ticketNo"]) & known
    assert held and set(events.loc[events["action"] == "缓办", "channel"]) == {CITY_CHANNEL_ZH}
    assert _flagged(tickets, "is_suspended") == held

    closed = _first(events, "归档")
    dispatches = events[events["action"] == "派发"]
    reopened = {
        no for no, at in zip(dispatches["ticketNo"], dispatches["at"], strict=True) if no in closed and at > closed[no]
    }
    assert reopened & known
    assert _flagged(tickets, "is_reopened") == reopened & known
    assert _flagged(tickets, "is_urged") == set(events.loc[events["action"] == "催办", "ticketNo"]) & known


def test_the_last_follow_up_gives_five_levels_and_whether_it_was_solved(street):
    events, tickets = street
    known = set(tickets["source_ticket_id"])
    follow_ups = events[(events["action"] == "回访") & events["ticketNo"].isin(known)].sort_values(["at", "eventId"])
    last = follow_ups.groupby("ticketNo").last()
    assert set(last["visitResult"]) == {"非常满意", "满意", "基本满意", "不满意", "非常不满意"}
    levels = {"非常满意": "very_satisfied", "满意": "satisfied", "基本满意": "basically_satisfied"}
    levels |= {"不满意": "dissatisfied", "非常不满意": "very_dissatisfied"}
    mart = tickets.set_index("source_ticket_id")
    assert mart.loc[last.index, "satisfaction"].to_dict() == last["visitResult"].map(levels).to_dict()
    assert mart.loc[last.index, "is_solved"].to_dict() == (last["visitSolved"] == "已解决").to_dict()
