"""Like with like: a KPI of a source that lags the release is cut at the day the source is complete through.

The release is the metric fixture's (tests/cockpit/metrics/conftest.py) with a run ledger
added: the party ledger (a monthly source) was last delivered on 2026-11-15, while the
daily sources run to the release's data_through, 2026-12-05. As in a real delivery, the
party marts hold nothing after the day they were delivered. Expected numbers are worked
out here with pandas from the raw rows.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from cockpit.data import Warehouse
from cockpit.metrics import CATALOG_PATH, Period, Thresholds, compute, get_metric, load_catalog, status_for
from warehouse.paths import Home
from warehouse.releases import publish

PARTY_DELIVERED = date(2026, 11, 15)
CITY_MGMT_DELIVERED = date(2026, 11, 20)  # a daily source that fell behind
DATA_THROUGH = date(2026, 12, 5)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))

LEDGER_SQL = """
CREATE TABLE ops_run (run_id VARCHAR, status VARCHAR, started_at TIMESTAMP);
CREATE TABLE ops_source_load (run_id VARCHAR, source VARCHAR, day DATE, rows_loaded BIGINT, cadence VARCHAR,
    loaded_at TIMESTAMP);
"""


def _ledger_rows() -> tuple[list[tuple], list[tuple]]:
    runs = [("run-oct", "published", datetime(2026, 10, 2, 2)), ("run-test", "published", datetime(2026, 12, 6, 2))]
    # A failed run that got further: what it loaded never reached a release.
    runs.append(("run-failed", "failed", datetime(2026, 12, 6, 3)))
    loads = [("run-oct", "party", date(2026, 10, 1), 40, "monthly", datetime(2026, 10, 2, 2))]
    loads.append(("run-test", "party", PARTY_DELIVERED, 42, "monthly", datetime(2026, 12, 6, 2)))
    loads.append(("run-failed", "party", date(2026, 12, 1), 44, "monthly", datetime(2026, 12, 6, 3)))
    day = date(2026, 9, 25)
    while day <= DATA_THROUGH:
        for source in ("hotline_12345", "city_mgmt", "forum", "grid_reports", "ticket_events", "iot", "approvals"):
            if source != "city_mgmt" or day <= CITY_MGMT_DELIVERED:
                loads.append(("run-test", source, day, 10, "daily", datetime(2026, 12, 6, 2)))
        day += timedelta(days=1)
    loads.append(("run-test", "grid", date(2026, 11, 1), 9, "monthly", datetime(2026, 12, 6, 2)))
    return runs, loads


@pytest.fixture(scope="module")
def home(tmp_path_factory, warehouse_path) -> Home:
    home = Home(tmp_path_factory.mktemp("partial-home")).ensure()
    release = home.releases / "run-partial.duckdb"
    shutil.copy(warehouse_path, release)
    runs, loads = _ledger_rows()
    with duckdb.connect(str(release)) as con:
        con.execute(LEDGER_SQL)
        con.executemany("INSERT INTO ops_run VALUES (?, ?, ?)", runs)
        con.executemany("INSERT INTO ops_source_load VALUES (?, ?, ?, ?, ?, ?)", loads)
        # the ledger was exported on the day it was delivered: nothing after it is in the marts
        con.execute("DELETE FROM fct_volunteer_activity WHERE held_on > ?", [PARTY_DELIVERED])
    publish(home, release)
    return home


@pytest.fixture(scope="module")
def warehouse(home) -> Warehouse:
    return Warehouse(home)


@pytest.fixture(scope="module")
def volunteer_rows(warehouse) -> pd.DataFrame:
    with warehouse.cursor() as cur:
        return cur.execute("SELECT community_id, held_on, hours FROM fct_volunteer_activity").df()


def hours_between(rows: pd.DataFrame, first: date, last: date) -> float:
    """Volunteer hours of the activities held from `first` to `last`, both included (NULL hours count nothing)."""
    held = pd.to_datetime(rows["held_on"]).dt.date
    return float(rows.loc[(held >= first) & (held <= last), "hours"].sum())


def test_each_source_is_complete_through_its_last_published_delivery(warehouse):
    through = warehouse.sources_complete_through()
    assert through["party"] == PARTY_DELIVERED  # not the failed run's 12-01
    assert through["hotline_12345"] == DATA_THROUGH
    assert warehouse.complete_through("volunteer_hours") == PARTY_DELIVERED
    assert warehouse.complete_through("approvals_received") == DATA_THROUGH
    # the tickets of all channels are complete only as far as the one that fell behind
    assert warehouse.complete_through("tickets_received") == CITY_MGMT_DELIVERED
    # visit coverage divides by the households of the monthly base data, which does not date the visits
    assert warehouse.complete_through("visit_coverage") == DATA_THROUGH


def test_a_monthly_source_in_a_half_month_window_is_cut_and_compared_with_windows_of_its_length(
    warehouse, volunteer_rows
):
    row = warehouse.metric("volunteer_hours", NOVEMBER).iloc[0]

    assert row["through"] == PARTY_DELIVERED and row["status_reason"] is None
    value = hours_between(volunteer_rows, date(2026, 11, 1), date(2026, 11, 15))
    previous = hours_between(volunteer_rows, date(2026, 10, 17), date(2026, 10, 31))  # the 15 days before
    year_ago = hours_between(volunteer_rows, date(2025, 11, 1), date(2025, 11, 15))
    assert row["value"] == pytest.approx(value)
    assert row["previous"] == pytest.approx(previous)
    assert row["change_mom"] == pytest.approx((value - previous) / abs(previous))
    # The first volunteer activity of the fixture is later than 2025-11-01: the 同比 base starts before the
    # data and is blank (tests/cockpit/metrics/test_first_day.py). Without that day, it is cut like the period.
    first = min(pd.to_datetime(volunteer_rows["held_on"]).dt.date)
    assert date(2025, 11, 1) < first and pd.isna(row["year_ago"]) and pd.isna(row["change_yoy"])
    with warehouse.cursor() as cur:
        (without_first_day,) = compute(cur, "volunteer_hours", NOVEMBER, complete_through=PARTY_DELIVERED).itertuples()
    assert without_first_day.year_ago == pytest.approx(year_ago)
    assert without_first_day.change_yoy == pytest.approx((value - year_ago) / abs(year_ago))

    # What the screens showed before: half a month against the whole of October, a collapse that did not happen.
    with warehouse.cursor() as cur:
        naive = compute(cur, "volunteer_hours", NOVEMBER).iloc[0]
    october = hours_between(volunteer_rows, date(2026, 10, 1), date(2026, 10, 31))
    assert naive["previous"] == pytest.approx(october)
    assert naive["change_mom"] < row["change_mom"]


def test_a_cut_daily_series_stops_at_the_last_delivery(warehouse):
    days = warehouse.metric("volunteer_hours", NOVEMBER, group_by="day", compare=False)
    assert days["day"].max() == pd.Timestamp(PARTY_DELIVERED)
    assert len(days) == 15


def test_a_source_that_is_not_late_is_not_cut(warehouse):
    frame = warehouse.metric("approvals_received", NOVEMBER)
    assert frame["through"].isna().all() and frame["status_reason"].isna().all()
    with warehouse.cursor() as cur:
        assert frame["value"][0] == compute(cur, "approvals_received", NOVEMBER)["value"][0]


def test_the_records_behind_a_cut_number_add_up_to_it(warehouse):
    value = warehouse.metric("tickets_received", NOVEMBER)["value"][0]
    rows, total = warehouse.records("tickets_received", NOVEMBER, limit=500)
    assert total == value
    assert rows["received_at"].max() < pd.Timestamp(CITY_MGMT_DELIVERED + timedelta(days=1))
    with warehouse.cursor() as cur:  # the fixture has tickets after the cut, which the number leaves out
        assert compute(cur, "tickets_received", NOVEMBER)["value"][0] > value


def _rated_volunteer_hours(october_hours: float):
    """volunteer_hours with bounds a full month reaches and half a month does not (the catalog rates none)."""
    metric = replace(get_metric("volunteer_hours"), thresholds=Thresholds(0.8 * october_hours, 0.6 * october_hours))
    return {metric.id: metric}


def test_a_partial_window_that_is_not_cut_gets_no_colour_and_no_comparison(warehouse, volunteer_rows):
    catalog = _rated_volunteer_hours(hours_between(volunteer_rows, date(2026, 10, 1), date(2026, 10, 31)))
    with warehouse.cursor() as cur:
        naive = compute(cur, "volunteer_hours", NOVEMBER, catalog=catalog).iloc[0]
        partial = compute(
            cur, "volunteer_hours", NOVEMBER, catalog=catalog, complete_through=PARTY_DELIVERED, cut=False
        ).iloc[0]
    assert naive["status"] == "red"  # the false alarm
    assert partial["status"] == "none" and partial["status_reason"] == "partial"
    assert partial["through"] == PARTY_DELIVERED
    assert pd.isna(partial["change_mom"]) and pd.isna(partial["change_yoy"])
    assert partial["value"] == pytest.approx(hours_between(volunteer_rows, date(2026, 11, 1), date(2026, 11, 30)))
    with warehouse.cursor() as cur:
        by_community = compute(
            cur,
            "volunteer_hours",
            NOVEMBER,
            catalog=catalog,
            complete_through=PARTY_DELIVERED,
            cut=False,
            group_by="community",
            compare=False,
        )
    assert set(by_community["status"]) == {"none"} and set(by_community["status_reason"]) == {"partial"}


def test_a_window_with_no_complete_day_shows_no_value_and_no_colour(warehouse, volunteer_rows):
    catalog = _rated_volunteer_hours(hours_between(volunteer_rows, date(2026, 10, 1), date(2026, 10, 31)))
    december = Period(date(2026, 12, 1), DATA_THROUGH)
    with warehouse.cursor() as cur:
        row = compute(cur, "volunteer_hours", december, catalog=catalog, complete_through=PARTY_DELIVERED).iloc[0]
    assert row["status"] == "none" and row["status_reason"] == "no_complete_data"
    assert row["through"] == PARTY_DELIVERED
    assert pd.isna(row["value"]) and pd.isna(row["change_mom"])
    # through the data layer too (the catalog's own KPI, no thresholds): no 0 小时 ↓100 %
    shown = warehouse.metric("volunteer_hours", december).iloc[0]
    assert shown["status_reason"] == "no_complete_data" and pd.isna(shown["change_mom"])


# ---------------------------------------------------------------------------------------
# Pro-rated targets
# ---------------------------------------------------------------------------------------

HALF_YEAR_DAYS = 365 / 2  # visit coverage: one full round each half year, two a year


@pytest.mark.parametrize(
    ("period", "value", "status"),
    [
        # November: 30 days of a half year's round ≈ 16.4 % green, 13.2 % amber (80 % of it)
        (NOVEMBER, 0.17, "green"),
        (NOVEMBER, 0.15, "amber"),
        (NOVEMBER, 0.12, "red"),
        # the fourth quarter, 92 days: ≈ 50.4 % green, 40.3 % amber
        (Period(date(2026, 10, 1), date(2026, 12, 31)), 0.45, "amber"),
        (Period(date(2026, 10, 1), date(2026, 12, 31)), 0.51, "green"),
        # a whole year asks every household (100 %), not 200 %; amber keeps its 80 % of that
        (Period(date(2026, 1, 1), date(2026, 12, 31)), 1.0, "green"),
        (Period(date(2026, 1, 1), date(2026, 12, 31)), 0.85, "amber"),
        (Period(date(2026, 1, 1), date(2026, 12, 31)), 0.7, "red"),
    ],
)
def test_visit_coverage_is_held_to_its_share_of_two_rounds_a_year(period, value, status):
    assert status_for(get_metric("visit_coverage"), value, period) == status


def test_a_prorated_kpi_is_not_rated_without_its_period():
    assert status_for(get_metric("visit_coverage"), 0.5) == "none"


def test_a_month_of_visit_coverage_is_coloured_against_a_month_of_target(con):
    frame = compute(con, "visit_coverage", NOVEMBER, group_by="community", compare=False)
    households = con.execute("SELECT community_id, sum(households) FROM dim_grid WHERE level = 'micro' GROUP BY 1")
    per_community = dict(households.fetchall())
    visits = con.execute(
        "SELECT community_id, household_id, visited_at FROM fct_visit WHERE visited_at IS NOT NULL"
    ).df()
    in_november = visits[(visits["visited_at"] >= "2026-11-01") & (visits["visited_at"] < "2026-12-01")]
    green, amber = 30 / HALF_YEAR_DAYS, 0.8 * 30 / HALF_YEAR_DAYS
    for row in frame.itertuples(index=False):
        coverage = in_november.loc[in_november["community_id"] == row.community, "household_id"].nunique()
        coverage /= per_community[row.community]
        assert row.value == pytest.approx(coverage)
        expected = "green" if coverage >= green else "amber" if coverage >= amber else "red"
        assert row.status == expected, row.community


def _catalog_with(tmp_path: Path, kpi_id: str, **fields) -> Path:
    """The packaged catalog with `fields` set on one KPI's entry."""
    document = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))
    next(entry for entry in document["kpis"] if entry["id"] == kpi_id).update(fields)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("kpi_id", "fields", "message"),
    [
        (
            "visit_coverage",
            {"thresholds": {"green": 1.0, "amber": 0.8, "prorate": "decade"}},
            "prorate must be one of year, half_year, quarter, month",
        ),
        ("visit_coverage", {"thresholds": {"green": 1.0, "amber": 0.8, "per": "year"}}, "thresholds must be"),
        (
            "party_volunteers",
            {"thresholds": {"green": 10, "amber": 5, "prorate": "year"}},
            "prorate needs a period_column",
        ),
        (
            "visits",
            {"thresholds": {"green": 2.0, "amber": 1.5, "prorate": "year"}},
            "prorate cannot have a time dimension",
        ),
        ("visits", {"reference_sources": ["grid"]}, "reference_sources must list some"),
        ("visit_coverage", {"reference_sources": ["grid_reports", "grid"]}, "reference_sources must list some"),
    ],
)
def test_the_loader_refuses_a_bad_prorate_or_reference_source(tmp_path, kpi_id, fields, message):
    with pytest.raises(ValueError, match=rf"'{kpi_id}'.*{message}"):
        load_catalog(_catalog_with(tmp_path, kpi_id, **fields))


def test_the_packaged_catalog_declares_visit_coverage_prorated_and_its_base_data_a_reference():
    metric = get_metric("visit_coverage")
    assert metric.thresholds.prorate == "half_year" and metric.reference_sources == ("grid",)
