"""Pipeline-status queries (cockpit/status.py) on a release built from the hand-made fixture lake."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from cockpit import status
from tests.fixtures.lake import make_fixture_lake
from warehouse.build import build_release


@pytest.fixture(scope="module")
def fixture_release(tmp_path_factory):
    root = tmp_path_factory.mktemp("status")
    facts = make_fixture_lake(root / "lake")
    target = root / "fixture.duckdb"
    build_release(root / "lake", target, run_id="status-run", data_through=facts["data_through"], is_demo=True)
    con = duckdb.connect(str(target), read_only=True)
    yield con
    con.close()


def test_tickets_received_after_their_delivery_day_are_counted_per_source(fixture_release):
    frame = status.tickets_received_after_delivery(fixture_release)
    # tests/fixtures/lake.py: the hotline delivered H001–H007, of which only H005 (dated Sunday
    # 10-11, landed 10-09) is dated after its landing day; the forum's F001 landed a week late,
    # which is a late delivery, not a future date.
    assert frame.to_dict("records") == [
        {
            "source": "hotline_12345",
            "tickets": 7,
            "received_after_delivery": 1,
            "latest_received_at": datetime(2026, 10, 11, 8, 30),
        },
        {"source": "city_mgmt", "tickets": 2, "received_after_delivery": 0, "latest_received_at": pd.NaT},
        {"source": "forum", "tickets": 1, "received_after_delivery": 0, "latest_received_at": pd.NaT},
        {"source": "grid_report", "tickets": 1, "received_after_delivery": 0, "latest_received_at": pd.NaT},
    ]
