"""预测预警 on series built here: the surge test, its weekday-aware baseline and minimum count, alarms over
consecutive days, the forecast against the seasonal naive, and 未诉先办 (every expected number is worked
out below from the stated rules, with its own arithmetic, not the module's)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from cockpit.metrics.period import Period
from cockpit.metrics.warning import backtest, flag_surges, predict, proactive, runs, seasonal_naive, surges
from tests.fixtures.messages import daily_messages

# The stated rule (cockpit/metrics/warning.py's docstring), restated: eight weeks of baseline, half a ticket
# for an empty cell, at least 5 tickets, twice the expected count, Poisson tail below 0.001.
WEEKS, EMPTY, LEAST, TIMES, LEVEL = 8, 0.5, 5, 2.0, 0.001
START = date(2026, 8, 3)  # a Monday
TESTED = START + timedelta(days=7 * WEEKS)  # the first day with eight weeks before it: also a Monday


def poisson_tail(observed: int, mean: float) -> float:
    """P(X >= observed) for X ~ Poisson(mean), summed by hand."""
    below = sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(observed))
    return 1 - below


def _counts(cells: dict[tuple[str, str], list[int]], street_extra: list[int] | None = None) -> pd.DataFrame:
    """daily_cells' frame from per-cell daily counts starting START; street_extra adds unplaced tickets."""
    rows = []
    for (category, community), counts in cells.items():
        rows += [(START + timedelta(days=i), category, community, n) for i, n in enumerate(counts) if n]
    for i, n in enumerate(street_extra or []):
        if n:
            rows.append((START + timedelta(days=i), "noise", None, n))
    return pd.DataFrame(rows, columns=["day", "category", "community_id", "tickets"])


def test_a_cell_far_above_its_weekday_expectation_is_a_surge_with_its_expected_count():
    days = 7 * WEEKS + 1
    # One ticket a day in C1; on Sundays the street gets 3 unplaced tickets more (a weekly pattern the
    # cell is too sparse to show), then 7 on the tested Monday.
    cell = [1] * (days - 1) + [7]
    sundays = [3 if (START + timedelta(days=i)).weekday() == 6 else 0 for i in range(days)]
    flags = flag_surges(_counts({("noise", "C1"): cell}, sundays), TESTED, TESTED, first_day=START)
    assert len(flags) == 1
    row = flags.iloc[0]
    # the street in the 56 days: 8 tickets on Mondays, 56 + 8·3 = 80 in all; the cell's mean is 1 a day
    expected = 1 * (8 + EMPTY) / (80 / 7 + EMPTY)
    assert row["expected"] == pytest.approx(expected)
    assert row["observed"] == 7
    assert row["p_value"] == pytest.approx(poisson_tail(7, expected), rel=1e-6)
    assert (row["day"], row["category"], row["community_id"]) == (TESTED, "noise", "C1")


def test_the_same_count_on_the_busy_weekday_is_no_surge():
    days = 7 * WEEKS + 7
    # C1 has 3 on Sundays and none otherwise: 5 on a Sunday is under twice what a Sunday brings (about 2.7:
    # the cell's 29 tickets in the 56 days before it, times a Sunday factor of 24.5 / (29/7 + 0.5)), while 5
    # on a Monday, which has none, is a surge.
    pattern = [3 if (START + timedelta(days=i)).weekday() == 6 else 0 for i in range(days)]
    sunday = TESTED + timedelta(days=6)
    pattern[(sunday - START).days] = 5
    pattern[(TESTED - START).days] = 5
    flags = flag_surges(_counts({("noise", "C1"): pattern}), TESTED, sunday, first_day=START)
    assert list(flags["day"]) == [TESTED]


def test_few_tickets_or_no_baseline_are_not_tested():
    days = 7 * WEEKS + 1
    quiet = [0] * (days - 1) + [4]  # 4 out of nothing: under the minimum of 5
    new = [0] * (days - 1) + [5]  # 5 out of nothing: a surge (expected half a ticket over 56 days)
    counts = _counts({("noise", "C1"): quiet, ("pet", "C2"): new}, [1] * days)
    flags = flag_surges(counts, TESTED, TESTED, first_day=START)
    assert list(flags["category"]) == ["pet"]
    # the street (its unplaced ticket every day) gives a factor of 1; the empty cell's mean is 0.5 / 56
    assert flags["expected"].iloc[0] == pytest.approx(EMPTY / (7 * WEEKS))
    # a day with less than eight weeks loaded before it is not tested at all
    assert flag_surges(counts, TESTED, TESTED, first_day=START + timedelta(days=1)).empty


def test_consecutive_surge_days_are_one_alarm_newest_first():
    flags = pd.DataFrame(
        [
            (date(2026, 10, 1), "noise", "C1", 8, 1.0, 1e-5),
            (date(2026, 10, 2), "noise", "C1", 6, 0.5, 1e-6),
            (date(2026, 10, 5), "noise", "C1", 9, 1.0, 1e-7),
            (date(2026, 10, 2), "pet", "C2", 5, 0.1, 1e-8),
        ],
        columns=["day", "category", "community_id", "observed", "expected", "p_value"],
    )
    alarms = runs(flags)
    assert [(a.start, a.end, a.category, a.observed) for a in alarms] == [
        (date(2026, 10, 5), date(2026, 10, 5), "noise", 9),
        (date(2026, 10, 2), date(2026, 10, 2), "pet", 5),
        (date(2026, 10, 1), date(2026, 10, 2), "noise", 14),
    ]
    assert alarms[2].expected == pytest.approx(1.5) and alarms[2].p_value == 1e-6 and alarms[2].days == 2


def _fct_ticket(rows: list[tuple[str, datetime, str, str | None]]) -> duckdb.DuckDBPyConnection:
    """fct_ticket from (ticket id, received at, category, community)."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE fct_ticket (ticket_id VARCHAR, received_at TIMESTAMP, community_id VARCHAR, grid_id VARCHAR,"
        " micro_grid_id VARCHAR, department_id VARCHAR, channel VARCHAR, category VARCHAR, duplicate_of VARCHAR)"
    )
    con.executemany(
        "INSERT INTO fct_ticket VALUES (?, ?, ?, NULL, NULL, 'd1', 'hotline', ?, NULL)",
        [(ticket, at, community, category) for ticket, at, category, community in rows],
    )
    return con


def _daily(category: str, community: str, counts: dict[date, int]) -> list[tuple]:
    return [
        (
            f"{category}-{community}-{day}-{i}",
            datetime.combine(day, datetime.min.time()) + timedelta(hours=9),
            category,
            community,
        )
        for day, n in counts.items()
        for i in range(n)
    ]


def test_surges_are_counted_over_the_warehouse_with_scope_and_filters():
    days = [START + timedelta(days=i) for i in range(7 * WEEKS + 3)]
    rows = _daily("noise", "C1", {day: 1 for day in days})
    rows += _daily("noise", "C1", {days[-2]: 6, days[-1]: 7})  # two days far above one a day
    rows += _daily("pet", "C2", {days[-1]: 9})
    con = _fct_ticket(rows)
    period = Period(TESTED, days[-1])
    found = surges(con, period, first_day=START)
    assert [(s.category, s.community_id, s.start, s.end) for s in found] == [
        ("pet", "C2", days[-1], days[-1]),
        ("noise", "C1", days[-2], days[-1]),
    ]
    assert found[1].observed == 7 + 8
    assert [s.category for s in surges(con, period, filters={"community": "C1"}, first_day=START)] == ["noise"]


def _weekly(mean: float, days: int, seed: int) -> pd.Series:
    week = np.array([1.3, 1.2, 1.1, 1.0, 1.0, 0.7, 0.6])
    rng = np.random.default_rng(seed)
    values = rng.poisson(mean * week[np.arange(days) % 7]).astype(float)
    return pd.Series(values, index=pd.date_range("2026-01-05", periods=days, freq="D"))


def test_the_forecast_beats_the_seasonal_naive_and_its_interval_holds_most_days():
    series = _weekly(40, 200, seed=3)
    result = backtest(series, weeks=8)
    assert result["mae"] < result["naive_mae"]
    assert 0.6 <= result["coverage"] <= 0.97
    mean, lower, upper = predict(series.iloc[-112:])
    assert len(mean) == 7 and (lower <= mean).all() and (mean <= upper).all() and (lower >= 0).all()
    # the weekly shape is kept: the forecast Monday is above the forecast Sunday
    days = pd.date_range(series.index[-1] + timedelta(days=1), periods=7)
    assert mean[list(days.day_of_week).index(0)] > mean[list(days.day_of_week).index(6)]


def test_on_a_real_boards_days_the_forecast_beats_the_seasonal_naive(realdata):
    """A city's message board over 2019 (counted per day from the raw file): each of the last 12 weeks forecast
    from the 16 weeks before it errs less than the same weekday a week before, and the 80 % interval holds
    most days. A forecast that lost the weekly shape, or an interval that collapsed, fails here."""
    series = daily_messages(realdata, date(2019, 1, 1), date(2019, 12, 31))
    assert series.sum() > 4000  # the board's year: about a dozen messages a day
    result = backtest(series, weeks=12)
    assert result["mae"] < 0.85 * result["naive_mae"]
    assert 0.7 <= result["coverage"] <= 0.97


def test_the_forecasts_use_one_blas_thread():
    """Once the forecasting module is loaded, numpy's and scipy's BLAS run on one thread (its comment says why)."""
    from threadpoolctl import threadpool_info

    blas = [each for each in threadpool_info() if each["user_api"] == "blas"]
    assert blas and all(each["num_threads"] == 1 for each in blas)


def test_the_seasonal_naive_repeats_last_weeks_days():
    series = pd.Series([float(i) for i in range(14)])
    assert list(seasonal_naive(series, 9)) == [7, 8, 9, 10, 11, 12, 13, 7, 8]


def test_proactive_lists_what_was_high_in_the_same_month_of_a_past_year():
    # A year of one ticket a week for heating in C1, except 12 in each week of December 2025; parking in C2
    # steady at 6 a month (never above usual); noise in C3 high in December but under the minimum count.
    first, through = date(2025, 1, 1), date(2026, 10, 31)
    mondays = [
        first + timedelta(days=i)
        for i in range((through - first).days + 1)
        if (first + timedelta(days=i)).weekday() == 0
    ]
    rows = _daily("heating", "C1", {day: (12 if (day.year, day.month) == (2025, 12) else 1) for day in mondays})
    rows += _daily("parking", "C2", {date(d.year, d.month, 3): 6 for d in mondays})
    rows += _daily("noise", "C3", {date(2025, 12, 10): 4})
    con = _fct_ticket(rows)
    found = proactive(con, date(2026, 12, 1), first, through)
    assert [(p.category, p.community_id) for p in found] == [("heating", "C1")]
    decembers = [d for d in mondays if (d.year, d.month) == (2025, 12)]
    months = 22  # January 2025 … October 2026
    assert found[0].same_month == 12 * len(decembers)
    assert found[0].usual == pytest.approx((len(mondays) - len(decembers) + 12 * len(decembers)) / months)
    assert found[0].years == (2025,)
    # without a past year's same month loaded there is nothing to say
    assert proactive(con, date(2026, 12, 1), date(2026, 1, 1), through) is None


def test_a_street_with_days_not_weeks_of_data_is_forecast_at_its_mean():
    # a street that began loading three days ago: no week to repeat, no season to fit
    series = pd.Series([4.0, 6.0, 8.0], index=pd.date_range("2026-09-26", periods=3, freq="D"))
    assert list(seasonal_naive(series)) == [6.0] * 7
    mean, lower, upper = predict(series)
    assert list(mean) == list(lower) == list(upper) == [6.0] * 7
    assert list(seasonal_naive(series.iloc[:0])) == [0.0] * 7
