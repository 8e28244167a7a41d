"""fct_ticket and fct_ticket_event: deadlines on the official calendar, duplicates, event arrival."""

from datetime import date, datetime

import pytest

from tests.fixtures.lake import EXPECTED_TICKETS
from tests.warehouse.conftest import one, rows


@pytest.mark.parametrize("ticket_id", sorted(EXPECTED_TICKETS))
def test_ticket_matches_the_fixture_story(release, ticket_id):
    ticket = one(release, "SELECT * FROM fct_ticket WHERE ticket_id = ?", ticket_id)
    expected = EXPECTED_TICKETS[ticket_id]
    assert {column: ticket[column] for column in expected} == expected


def test_every_channel_ticket_is_one_row(release):
    assert [r["ticket_id"] for r in rows(release, "SELECT ticket_id FROM fct_ticket ORDER BY 1")] == [
        "city_mgmt:C001",
        "city_mgmt:C002",
        "forum:F001",
        "grid_report:R001",
        "hotline_12345:H001",
        "hotline_12345:H002",
        "hotline_12345:H003",
        "hotline_12345:H004",
        "hotline_12345:H005",
        "hotline_12345:H006",
        "hotline_12345:H007",
    ]


def test_a_deadline_before_national_day_skips_the_holiday_and_lands_on_the_makeup_saturday(release):
    # received Wed 2026-09-30, 3 working days: Thu 10-08, Fri 10-09, Sat 10-10 (调休上班)
    ticket = one(release, "SELECT * FROM fct_ticket WHERE ticket_id = 'hotline_12345:H001'")
    assert ticket["sla_working_days"] == 3
    assert ticket["deadline_date"] == date(2026, 10, 10)
    assert ticket["deadline_at"] == datetime(2026, 10, 10, 23, 59, 59)


def test_a_ticket_received_on_a_holiday_counts_from_the_next_working_day(release):
    # received Sun 2026-10-04 (National Day), 2 working days: Thu 10-08, Fri 10-09
    ticket = one(release, "SELECT * FROM fct_ticket WHERE ticket_id = 'grid_report:R001'")
    assert (ticket["sla_working_days"], ticket["deadline_date"]) == (2, date(2026, 10, 9))


def test_extension_days_move_the_deadline_in_working_days(release):
    # received Sat 10-03, SLA 2 + 3 extension days = 5: 10-08, 10-09, 10-10, 10-12, 10-13
    ticket = one(release, "SELECT * FROM fct_ticket WHERE ticket_id = 'hotline_12345:H003'")
    assert (ticket["extension_days"], ticket["is_extended"], ticket["deadline_date"]) == (3, True, date(2026, 10, 13))


def test_overdue_and_due_soon_are_evaluated_at_as_of_not_the_wall_clock(release):
    state = {
        r["ticket_id"]: (r["status"], r["is_open_overdue"], r["is_due_soon"])
        for r in rows(release, "SELECT * FROM fct_ticket WHERE NOT is_duplicate")
    }
    # as_of = 2026-10-13 00:00: H002 was due at the end of 10-12, H003 is due at the end of 10-13
    assert state["hotline_12345:H002"] == ("open", True, False)
    assert state["hotline_12345:H003"] == ("open", False, True)
    assert state["hotline_12345:H001"] == ("closed", False, False)


def test_cross_channel_duplicates_point_at_the_first_ticket_and_repeats_are_flagged(release):
    found = rows(
        release,
        "SELECT ticket_id, duplicate_of, is_duplicate, is_repeat_complaint FROM fct_ticket "
        "WHERE category = 'sanitation' ORDER BY received_at",
    )
    assert found == [
        {"ticket_id": "hotline_12345:H001", "duplicate_of": None, "is_duplicate": False, "is_repeat_complaint": False},
        {
            "ticket_id": "city_mgmt:C001",
            "duplicate_of": "hotline_12345:H001",
            "is_duplicate": True,
            "is_repeat_complaint": False,
        },
        {
            "ticket_id": "forum:F001",
            "duplicate_of": "hotline_12345:H001",
            "is_duplicate": True,
            "is_repeat_complaint": False,
        },
        # same channel, 8 days later: not a duplicate but a repeat complaint
        {"ticket_id": "hotline_12345:H002", "duplicate_of": None, "is_duplicate": False, "is_repeat_complaint": True},
    ]


def test_the_first_load_of_a_resent_ticket_wins(release):
    assert one(release, "SELECT title FROM fct_ticket WHERE ticket_id = 'hotline_12345:H001'")["title"] == "垃圾堆放"


def test_a_reopened_ticket_is_resolved_again_only_by_a_later_resolution(release):
    ticket = one(release, "SELECT * FROM fct_ticket WHERE ticket_id = 'hotline_12345:H004'")
    assert ticket["dispatched_at"] == datetime(2026, 9, 28, 10)
    assert ticket["resolved_at"] == datetime(2026, 10, 12, 15)
    assert ticket["resolve_hours"] == pytest.approx(
        (datetime(2026, 10, 12, 15) - datetime(2026, 9, 28, 9)).total_seconds() / 3600
    )
    assert (ticket["is_reworked"], ticket["returned_count"], ticket["department_id"]) == (True, 1, "enforcement_bureau")


def test_late_and_out_of_order_events_are_flagged(release):
    events = {
        r["event_id"]: (r["loaded_day"], r["is_late"], r["is_out_of_order"])
        for r in rows(release, "SELECT * FROM fct_ticket_event WHERE ticket_id = 'hotline_12345:H004'")
    }
    # the first resolution happened 09-29 but landed 10-08, after the 09-30 follow-up had landed
    assert events["E703"] == (date(2026, 10, 8), True, True)
    assert events["E704"] == (date(2026, 9, 30), False, False)
    assert events["E705"] == (date(2026, 10, 8), False, False)
    assert sum(late for _, late, _ in events.values()) == 1
    assert sum(out_of_order for _, _, out_of_order in events.values()) == 1


def test_a_resent_event_keeps_its_first_landing_day(release):
    event = one(release, "SELECT * FROM fct_ticket_event WHERE event_id = 'E101'")
    assert (event["loaded_day"], event["is_late"], event["is_out_of_order"]) == (date(2026, 9, 30), False, False)


def test_events_of_unknown_tickets_are_orphans_and_others_carry_the_ticket_place(release):
    assert rows(release, "SELECT event_id, ticket_id FROM fct_ticket_event WHERE is_orphan") == [
        {"event_id": "E901", "ticket_id": "hotline_12345:H999"}
    ]
    event = one(release, "SELECT * FROM fct_ticket_event WHERE event_id = 'E501'")
    assert (event["community_id"], event["grid_id"], event["lifecycle_step"]) == ("C1", "G2", 2)


def test_first_reply_is_the_first_acceptance_or_else_the_first_resolution(release):
    replies = {
        r["ticket_id"]: (r["first_reply_at"], r["first_reply_hours"])
        for r in rows(release, "SELECT * FROM fct_ticket WHERE first_reply_at IS NOT NULL")
    }
    assert replies == {
        # accepted 5 h after receipt
        "hotline_12345:H001": (datetime(2026, 9, 30, 15), 5.0),
        # accepted 10-09 12:00 after a receipt on 10-03 14:00: six days less two hours
        "hotline_12345:H003": (datetime(2026, 10, 9, 12), 142.0),
        # accepted 09-28 11:00, a day before its first (late-arriving) resolution
        "hotline_12345:H004": (datetime(2026, 9, 28, 11), 2.0),
        # resolved 10-09 16:00 with no acceptance at all
        "hotline_12345:H006": (datetime(2026, 10, 9, 16), 7.0),
        # accepted an hour after the dispatch, two after receipt (both received at 08:00 or 10:00)
        "hotline_12345:H007": (datetime(2026, 10, 8, 12), 2.0),
        "city_mgmt:C002": (datetime(2026, 10, 8, 10), 2.0),
    }


def test_a_ticket_dated_after_the_landing_day_that_delivered_it_is_flagged(release):
    # H005 is dated Sunday 10-11 but arrived in the 10-09 landing; F001 (received 10-01, landed
    # 10-08) is late, not future-dated; H001's resend on 10-08 does not replace its 09-30 load.
    assert rows(release, "SELECT ticket_id, received_date FROM fct_ticket WHERE is_received_after_delivery") == [
        {"ticket_id": "hotline_12345:H005", "received_date": date(2026, 10, 11)}
    ]


def test_a_grid_worker_is_named_by_the_grids_they_run_never_by_their_own_name(release):
    grids = rows(
        release,
        "SELECT worker_id, unit_id, name, level FROM dim_grid WHERE level IN ('comprehensive', 'dedicated') "
        "AND worker_id IS NOT NULL ORDER BY worker_id, level = 'dedicated', unit_id",
    )
    expected = {}
    for grid in grids:  # the first comprehensive grid (else dedicated) names them, with how many they run
        first, count = expected.get(grid["worker_id"], (grid["name"], 0))
        expected[grid["worker_id"]] = (first, count + 1)
    workers = {r["worker_id"]: (r["name"], r["grid_count"]) for r in rows(release, "SELECT * FROM dim_grid_worker")}
    assert workers == {
        worker: (f"{first}{'等' + str(count) + '个网格' if count > 1 else ''}网格员", count)
        for worker, (first, count) in expected.items()
    }
    assert workers["W-01"] == ("金湖一网格等2个网格网格员", 2)
    assert not any(person in name for name, _ in workers.values() for person in ("李金湖", "王星湖"))
