"""The same lake built twice gives the same marts, whatever DuckDB's thread count: the digest that an
incremental build will be checked against (warehouse/digest.py) sees no difference, and sees one when a
single value changes."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.mapping import added_codes, load_mappings
from warehouse.build import build_release
from warehouse.digest import differences, table_digests
from warehouse.releases import current_release


@pytest.fixture(scope="module")
def builds(loaded_demo, tmp_path_factory):
    """Two releases of the loaded demo's lake: one thread, then two (the pipeline's own run is a third)."""
    home = loaded_demo.home
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        through = con.execute("SELECT data_through FROM meta_release").fetchone()[0]
    folder = tmp_path_factory.mktemp("digests")
    paths = []
    for threads in (1, 2):
        target = folder / f"threads{threads}.duckdb"
        build_release(
            home.lake,
            target,
            run_id="digest",
            data_through=through,
            is_demo=True,
            code_rows=added_codes(load_mappings()),  # as the pipeline passes them
            threads=threads,
        )
        paths.append(target)
    return paths


def _digests(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        return table_digests(con)


def test_two_builds_of_one_lake_hold_the_same_marts(builds, loaded_demo):
    one, two = (_digests(path) for path in builds)
    assert differences(one, two) == []
    assert {"fct_ticket", "fct_sensor_hourly", "fct_ticket_term", "fct_ticket_group", "stg_ticket_event"} <= set(one)
    assert not {name for name in one if name.startswith("ops_") or name == "meta_release"}
    assert sum(rows for rows, _ in one.values()) > 10_000
    # the pipeline's own release (with its ledger copies, which are not digested) holds the same marts too
    assert differences(one, _digests(current_release(loaded_demo.home))) == []


def test_a_single_changed_value_is_a_difference(builds, tmp_path):
    copy = tmp_path / "changed.duckdb"
    copy.write_bytes(builds[0].read_bytes())
    with duckdb.connect(str(copy)) as con:
        before = table_digests(con)
        con.execute(
            "UPDATE fct_ticket SET title = title || '。' "
            "WHERE ticket_id = (SELECT min(ticket_id) FROM fct_ticket WHERE title IS NOT NULL)"
        )
        con.execute("DELETE FROM fct_alarm WHERE alarm_id = (SELECT min(alarm_id) FROM fct_alarm)")
        after = table_digests(con)
    rows = before["fct_alarm"][0]
    assert differences(before, after) == [
        f"fct_alarm: {rows} rows vs {rows - 1} rows",
        f"fct_ticket: {before['fct_ticket'][0]} rows each, other content",
    ]
