"""Tickets with no place, or a place the register no longer knows, count under the unknown place (未定位)."""

from datetime import date

import duckdb

from tests.fixtures.lake import make_fixture_lake, ts, write_partition
from warehouse.build import build_release


def test_tickets_without_a_known_grid_resolve_to_the_unknown_place(tmp_path):
    lake = tmp_path / "lake"
    facts = make_fixture_lake(lake)
    write_partition(
        lake,
        "ticket_intake",
        date(2026, 10, 9),
        "message_board",
        [
            {"channel": "forum", "source_ticket_id": "N1", "received_at": ts("2026-10-09 08:00"), "category": "noise"},
            # a grid that was in no register snapshot of the release (or was dropped from the latest)
            {
                "channel": "forum",
                "source_ticket_id": "N2",
                "received_at": ts("2026-10-09 09:00"),
                "category": "noise",
                "grid_id": "GONE",
            },
        ],
    )
    target = tmp_path / "release.duckdb"
    build_release(lake, target, run_id="r", data_through=facts["data_through"], is_demo=True)
    con = duckdb.connect(str(target), read_only=True)
    places = con.execute(
        """SELECT source_ticket_id, community_id, grid_id, micro_grid_id FROM fct_ticket
           WHERE source_ticket_id IN ('N1', 'N2') ORDER BY 1"""
    ).fetchall()
    assert places == [("N1", "unknown", "unknown", None), ("N2", "unknown", "unknown", None)]
    assert con.execute("SELECT name FROM dim_community WHERE community_id = 'unknown'").fetchone() == ("未定位",)
    # every other ticket keeps a real community
    assert con.execute(
        "SELECT count(*) FROM fct_ticket WHERE community_id = 'unknown' OR community_id IS NULL"
    ).fetchone() == (2,)
