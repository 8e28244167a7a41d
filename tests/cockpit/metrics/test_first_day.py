"""Like with like at the other end: a 环比 or 同比 base that lies before the data began is blank, not zero.

The release is the metric fixture's (tests/cockpit/metrics/conftest.py): its tickets start in October 2025, so
October 2026's 同比 reaches back before them. Expected values are worked out here with pandas from the raw rows.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pandas as pd
import pytest

from cockpit.data import Warehouse
from cockpit.metrics import Period, compute, data_from, default_catalog, get_metric
from warehouse.paths import Home
from warehouse.releases import publish

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, warehouse_path) -> Warehouse:
    home = Home(tmp_path_factory.mktemp("first-day-home")).ensure()
    release = home.releases / "run-first-day.duckdb"
    shutil.copy(warehouse_path, release)
    publish(home, release)
    return Warehouse(home)


@pytest.fixture(scope="module")
def tickets(con) -> pd.DataFrame:
    return con.execute("SELECT received_at, duplicate_of FROM fct_ticket").df()


@pytest.fixture(scope="module")
def first(tickets) -> date:
    first = tickets["received_at"].min().date()
    assert date(2025, 10, 1) < first < date(2025, 10, 31)  # the case this file is about: inside October 2025
    return first


def test_the_first_day_is_the_facts_first_row_and_a_stock_has_none(con, first):
    assert data_from(con, get_metric("tickets_received")) == first
    stock = next(metric for metric in default_catalog().values() if metric.is_stock)
    assert data_from(con, stock) is None


def test_a_day_whose_year_before_lies_before_the_data_has_no_year_ago(con, tickets, first):
    frame = compute(con, "tickets_received", OCTOBER, group_by="day", first_day=first)
    counted = tickets[tickets["duplicate_of"].isna()]
    per_day = counted["received_at"].dt.date.value_counts()
    for day, year_ago, change in zip(frame["day"], frame["year_ago"], frame["change_yoy"], strict=True):
        day = pd.Timestamp(day).date()
        base = day.replace(year=day.year - 1)
        if base < first:
            assert pd.isna(year_ago) and pd.isna(change), day
        else:
            assert year_ago == per_day.get(base, 0), day
    assert frame["year_ago"].notna().any() and frame["year_ago"].isna().any()
    # without the first day, the days before the data read as zero tickets a year ago
    unknown = compute(con, "tickets_received", OCTOBER, group_by="day")
    assert (unknown["year_ago"] == 0).sum() >= frame["year_ago"].isna().sum()


def test_a_period_whose_base_starts_before_the_data_is_not_compared(con, first):
    (row,) = compute(con, "tickets_received", OCTOBER, first_day=first).itertuples()
    assert pd.isna(row.year_ago) and pd.isna(row.change_yoy)  # October 2025 began before the data
    assert not pd.isna(row.previous) and not pd.isna(row.change_mom)  # September 2026 is all data
    later = Period(first + timedelta(days=365), first + timedelta(days=365 + 29))
    (row,) = compute(con, "tickets_received", later, first_day=first).itertuples()
    assert not pd.isna(row.year_ago)  # a base that starts on the first day is whole


def test_the_warehouse_passes_the_first_day(warehouse, first):
    frame = warehouse.metric("tickets_received", OCTOBER, group_by="day")
    early = [pd.Timestamp(day).date().replace(year=2025) < first for day in frame["day"]]
    assert frame.loc[early, "year_ago"].isna().all() and frame.loc[[not e for e in early], "year_ago"].notna().all()
