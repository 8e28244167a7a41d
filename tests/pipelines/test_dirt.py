"""Every kind of dirt the demo injects ends in quarantine with the right reason, or in a flag in the marts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import duckdb
import pytest

from warehouse.releases import open_release


def _quarantine(loaded_demo) -> list[tuple]:
    return duckdb.sql(f"""
        SELECT source, "table", reason, line
        FROM read_parquet('{loaded_demo.home.quarantine.as_posix()}/day=*/*.parquet')""").fetchall()


def _lake_rows(loaded_demo, table: str, source: str) -> int:
    files = list((loaded_demo.home.lake / table).glob(f"day=*/{source}.parquet"))
    if not files:
        return 0
    return duckdb.sql(f"SELECT count(*) FROM read_parquet({[f.as_posix() for f in files]})").fetchall()[0][0]


def test_quarantine_reasons_match_the_manifest_per_source_and_table(loaded_demo):
    rows = Counter((s, t, r) for s, t, r, line in _quarantine(loaded_demo) if line is not None)
    expected = Counter()
    for source, tables in loaded_demo.manifest["tables"].items():
        for table, facts in tables.items():
            for reason, n in facts["quarantined"].items():
                expected[(source, table, reason)] += n
    assert rows == expected


def test_loaded_rows_match_the_manifest_per_source_and_table(loaded_demo):
    for source, tables in loaded_demo.manifest["tables"].items():
        for table, facts in tables.items():
            assert _lake_rows(loaded_demo, table, source) == facts["loaded"], (source, table)


@pytest.mark.parametrize(
    "kind",
    ["undecodable_row", "missing_required", "unknown_code", "impossible_date", "duplicate_row", "negative_reading"],
)
def test_row_level_dirt_is_quarantined_with_its_reason(loaded_demo, kind):
    reason = loaded_demo.manifest["expected_quarantine_reasons"][kind]
    injected = loaded_demo.manifest["dirt"][kind]
    assert injected, f"the demo injected no {kind}"
    found = Counter((s, t) for s, t, r, _ in _quarantine(loaded_demo) if r == reason)
    for source, tables in injected.items():
        for table, facts in tables.items():
            assert found[(source, table)] >= facts["count"], (kind, source, table)


def test_changed_header_files_are_rejected_whole(loaded_demo):
    injected = loaded_demo.manifest["dirt"]["changed_header_file"]
    files = {k["file"] for tables in injected.values() for facts in tables.values() for k in facts["keys"]}
    rejected = duckdb.sql(f"""
        SELECT file FROM read_parquet('{loaded_demo.home.quarantine.as_posix()}/day=*/*.parquet')
        WHERE reason = 'unknown_header' AND line IS NULL""").fetchall()
    assert files and files == {r[0] for r in rejected}


def _keys(loaded_demo, kind: str) -> list:
    injected = loaded_demo.manifest["dirt"][kind]
    keys = [k for tables in injected.values() for facts in tables.values() for k in facts["keys"]]
    assert keys, f"the demo injected no {kind}"
    return keys


def test_cross_channel_duplicates_are_linked_not_counted_twice(loaded_demo):
    con = open_release(loaded_demo.release)
    for pair in _keys(loaded_demo, "cross_channel_duplicate"):
        row = con.execute(
            "SELECT duplicate_of, is_duplicate FROM fct_ticket WHERE ticket_id = ?", [pair["duplicate"]]
        ).fetchone()
        assert row == (pair["original"], True), pair
        original = con.execute("SELECT duplicate_of FROM fct_ticket WHERE ticket_id = ?", [pair["original"]]).fetchone()
        assert original == (None,)
    con.close()


@pytest.mark.parametrize(("kind", "flag"), [("late_event", "is_late"), ("out_of_order_event", "is_out_of_order")])
def test_late_and_out_of_order_events_are_flagged(loaded_demo, kind, flag):
    con = open_release(loaded_demo.release)
    for key in _keys(loaded_demo, kind):
        row = con.execute(f"SELECT {flag} FROM fct_ticket_event WHERE event_id = ?", [key["event_id"]]).fetchone()
        assert row == (True,), key
    con.close()


def _hours(start: str, end: str) -> list[datetime]:
    first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return [first + timedelta(hours=i) for i in range(int((last - first).total_seconds() // 3600) + 1)]


def test_sensor_spikes_stuck_values_and_gaps_are_flagged(loaded_demo):
    con = open_release(loaded_demo.release)
    flag = "SELECT {f} FROM fct_sensor_hourly WHERE device_id = ? AND metric = ? AND hour = ?"
    for key in _keys(loaded_demo, "sensor_spike"):
        hour = datetime.fromisoformat(key["hour"])
        assert con.execute(flag.format(f="is_spike"), [key["device_id"], key["metric"], hour]).fetchone() == (True,)
    for key in _keys(loaded_demo, "stuck_value"):
        for hour in _hours(key["from"], key["to"]):
            assert con.execute(flag.format(f="is_stuck"), [key["device_id"], key["metric"], hour]).fetchone() == (
                True,
            ), (key, hour)
    for key in _keys(loaded_demo, "reading_gap"):
        for metric in key["metrics"]:
            for hour in _hours(key["from"], key["to"]):
                row = con.execute(flag.format(f="is_gap"), [key["device_id"], metric, hour]).fetchone()
                assert row == (True,), (key, metric, hour)
    con.close()
