"""Daily rollups: a KPI read from its rollup gives the numbers its fact gives, and is read from it only when the
query needs nothing the rollup lacks (cockpit/metrics/catalog.py `answered_by`, warehouse/MARTS.md "Rollups").

The oracle is the KPI computed over its fact's rows by the catalog's own definition (`rollup=False`), on a
release the real pipeline built from the demo street; the rollups were made by the warehouse from those rows.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from cockpit.metrics.catalog import (
    CATALOG_PATH,
    TIME_DIMENSIONS,
    RowScope,
    answered_by,
    compute,
    compute_sql,
    default_catalog,
    load_catalog,
)
from cockpit.metrics.period import Period
from tests.conftest import DEMO_DAYS, DEMO_START

ROLLED_UP = sorted(metric.id for metric in default_catalog().values() if metric.rollup is not None)
PERIODS = [
    Period(DEMO_START, DEMO_START),  # the first day
    Period(DEMO_START + timedelta(days=2), DEMO_START + timedelta(days=DEMO_DAYS - 1)),  # across the month's end
    Period(date(2026, 9, 1), date(2026, 10, 31)),  # the whole street's data and empty days around it
    Period(date(2025, 1, 1), date(2025, 1, 31)),  # no data at all
]


@pytest.fixture(scope="module")
def release(loaded_demo):
    con = duckdb.connect(str(loaded_demo.release), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def places(release):
    """A community with devices, one of its grids, and a device kind that reports."""
    community, grid, kind = release.execute(
        "SELECT community_id, grid_id, kind FROM fct_device_status WHERE grid_id IS NOT NULL "
        "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
    ).fetchall()[0]
    return {"community": community, "grid": grid, "device_kind": kind}


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True), check_exact=True)


def test_the_demo_has_rows_to_roll_up(release):
    # Without device days, sensor slots and video statuses the comparisons below would compare nothing.
    for table in ("fct_video_status", "fct_device_status", "fct_sensor_hourly"):
        assert release.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] > 100, table


@pytest.mark.parametrize("metric_id", ROLLED_UP)
def test_a_rolled_up_kpi_equals_its_fact(release, places, metric_id):
    metric = default_catalog()[metric_id]
    scopes = [None, [places["community"]], [], RowScope((places["community"],), (places["grid"],))]
    groupings = [None, *metric.dimensions]
    compared = 0
    for period, scope, group_by in itertools.product(PERIODS, scopes, groupings):
        options = dict(scope=scope, group_by=group_by)
        rolled, sql = compute(release, metric_id, period, **options), compute_sql(metric, period, **options)[0]
        assert metric.rollup.fact in sql, (period, scope, group_by)  # read from the rollup …
        _same(rolled, compute(release, metric_id, period, rollup=False, **options))  # … with the fact's numbers
        compared += 1
    for dimension in ("grid", "device_kind"):
        if metric.supports(dimension):
            filters = {dimension: places[dimension]}
            for period in PERIODS:
                rolled = compute(release, metric_id, period, filters=filters)
                _same(rolled, compute(release, metric_id, period, filters=filters, rollup=False))
                compared += 1
    assert compared >= len(PERIODS) * 4 * 2


def test_the_rolled_up_kpis_are_not_all_empty(release):
    # Equal NULLs prove little: over the demo's days each rolled-up KPI has a value.
    for metric_id in ROLLED_UP:
        value = compute(release, metric_id, PERIODS[2], compare=False)["value"].iloc[0]
        assert value is not None and not pd.isna(value), metric_id


def test_a_query_needing_what_the_rollup_lacks_reads_the_fact(tmp_path):
    """A rollup without a grid column serves the street, a community and a device kind, never a grid: a grid
    grouping, a grid filter or a grid worker's scope go to the fact."""
    source = CATALOG_PATH.read_text(encoding="utf-8")
    narrow = "  agg_sensor_day: {community: community_id, grid: grid_id, device_kind: kind}\n"
    assert narrow in source
    path = tmp_path / "catalog.yaml"
    path.write_text(source.replace(narrow, "  agg_sensor_day: {community: community_id, device_kind: kind}\n"))
    metric = load_catalog(path)["sensor_data_quality_rate"]
    chosen = {
        "street": answered_by(metric),
        "community": answered_by(metric, scope=["c1"]),
        "kind": answered_by(metric, group_by="device_kind", filters=("device_kind",)),
        "by day": answered_by(metric, group_by="day"),
        "grid grouping": answered_by(metric, group_by="grid"),
        "grid filter": answered_by(metric, filters=("grid",)),
        "grid worker": answered_by(metric, scope=RowScope(("c1",), ("g1",))),
        "asked for the fact": answered_by(metric, rollup=False),
    }
    assert {name: each.fact for name, each in chosen.items()} == {
        "street": "agg_sensor_day",
        "community": "agg_sensor_day",
        "kind": "agg_sensor_day",
        "by day": "agg_sensor_day",
        "grid grouping": "fct_sensor_hourly",
        "grid filter": "fct_sensor_hourly",
        "grid worker": "fct_sensor_hourly",
        "asked for the fact": "fct_sensor_hourly",
    }
    assert chosen["by day"].period_column == "slot_date" and chosen["grid filter"].period_column == "hour"
    assert all(dimension in TIME_DIMENSIONS or dimension in metric.columns for dimension in metric.dimensions)


@pytest.mark.parametrize(
    ("rollup", "message"),
    [
        ("{fact: agg_nowhere, period_column: slot_date, value: sum(slots)}", "unknown fact 'agg_nowhere'"),
        ("{fact: agg_sensor_day, value: sum(slots)}", "rollup.period_column must be given"),
        ("{fact: agg_sensor_day, period_column: slot_date}", "rollup must be a mapping"),
        ("{fact: agg_sensor_day, period_column: slot_date, value: sum(slots), having: x}", "rollup must be a mapping"),
    ],
)
def test_a_bad_rollup_is_refused_with_its_kpi(tmp_path, rollup, message):
    source = CATALOG_PATH.read_text(encoding="utf-8")
    declared = (
        "    rollup:\n      fact: agg_sensor_day\n      period_column: slot_date\n"
        "      value: sum(ok_slots) / nullif(sum(slots), 0)\n"
    )
    assert declared in source
    path = tmp_path / "catalog.yaml"
    path.write_text(source.replace(declared, f"    rollup: {rollup}\n"))
    with pytest.raises(ValueError, match=rf"catalog KPI 'sensor_data_quality_rate': {message}"):
        load_catalog(path)
