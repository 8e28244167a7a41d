"""预测预警 · early warning of ticket surges, the 7-day forecast and the 未诉先办 list.

Everything here counts the tickets `tickets_received` counts (received, not a duplicate of another
channel's ticket), with the reader's scope and the view's filters, per day of receipt; so an alarm's count
is a part of the number on the tile beside it. Tickets with no community (未定位) are in the street's
series but in no community's cell.

**Surges** (`surges`, `flag_surges`). For a day d and a cell (category × community):
- the *expected* count is E = m × w: m the cell's mean daily count over the BASELINE_DAYS days before d
  (eight whole weeks), w the weekday factor of d, the street's mean count on d's weekday over those days
  divided by its mean count over all of them: (S_d + ½) / (S / 7 + ½), S_d the street's tickets on d's
  weekday in the window and S all of them. A cell is too sparse to show a week of its own; it borrows the
  street's. A cell with no ticket in the baseline, and a weekday with none, count PRIOR_TICKETS (½), so that
  E is never zero;
- the cell-day is a surge when its observed count O is at least MIN_COUNT, at least MIN_RATIO × E, and the
  one-sided Poisson test rejects "O came from E": P(X ≥ O | X ~ Poisson(E)) < ALPHA;
- days without BASELINE_DAYS of data before them are not tested. Consecutive surge days of a cell are one
  alarm, with the observed and expected counts of its days summed.

**Forecast** (`forecast`). The next HORIZON days of the street's (or one category's) daily counts, by
exponential smoothing with an additive weekly season (statsmodels' ETSModel, ETS(A,N,A) with period 7)
fitted to the last HISTORY_DAYS days, with its LEVEL prediction interval (cut at zero); beside it the
seasonal-naive forecast (each day as the same weekday a week before) that it must beat (`backtest`). The
level and the seven seasonal states start from the classical decomposition of the first weeks (statsmodels'
"heuristic" initialisation, Hyndman et al. 2008, §2.6) and only the two smoothing weights are fitted: a
fit of 9 free parameters took 35–110 ms, one of 2 takes 3–9 ms, and a board forecasts up to 11 series
(the street's and its top categories') on a reader's first look. Backtested on a year of the demo street
(12 weeks, the street and its top 10 categories), the error against the seasonal naive's went from 0.755 to
0.764 and the interval's coverage from 0.763 to 0.781 (nominal 0.8).

**未诉先办** (`proactive`). For a coming month, the cells (category × community) that were high in the same
month of past years: their mean count in that month is at least PROACTIVE_RATIO times their mean count in
every complete month loaded, and at least PROACTIVE_MIN. Needs one complete same month in the data.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import poisson
from threadpoolctl import threadpool_limits

from cockpit.metrics.catalog import RowScope, default_catalog
from cockpit.metrics.period import Period
from cockpit.metrics.records import row_conditions

# One BLAS thread for the process. A forecast's state is 8 numbers: threads gain nothing on it, and on a
# server's two cores OpenBLAS's idle threads spin against DuckDB's for the same cores. With two DuckDB queries
# running beside it, one ETS fit took 9.1 ms with numpy's and scipy's default of a thread per core and 5.3 ms
# with one; 71 ms and 13 ms while the machine was busy with more. Alone, 3.1 ms either way. Set here, where the
# fits are, once the libraries are loaded (scipy.stats loads scipy's).
threadpool_limits(limits=1, user_api="blas")

# The catalog KPI whose tickets are counted (as hot topics count).
TICKETS_KPI = "tickets_received"

BASELINE_DAYS = 56  # eight whole weeks: every weekday the same number of times
PRIOR_TICKETS = 0.5  # a cell with no ticket in the baseline is taken to have had half of one
MIN_COUNT = 5
MIN_RATIO = 2.0
ALPHA = 0.001

HORIZON = 7
HISTORY_DAYS = 16 * 7
LEVEL = 0.8  # the forecast's interval: 80 % of days should fall inside it
SEASON = 7

PROACTIVE_RATIO = 1.5
PROACTIVE_MIN = 5


@dataclass(frozen=True)
class Surge:
    """One alarm: a cell's run of consecutive surge days."""

    start: date
    end: date
    category: str
    community_id: str
    observed: int
    expected: float
    p_value: float  # the smallest of its days

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else float("inf")


def _tickets_where(scope: RowScope | None, filters: Mapping[str, str]) -> tuple[str, dict]:
    metric = default_catalog()[TICKETS_KPI]
    return row_conditions(metric, scope=scope, filters=filters)


def _count_sql(
    start: date,
    end: date,
    by: tuple[str, ...],
    every: str,
    scope: RowScope | None,
    filters: Mapping[str, str] | None,
) -> tuple[str, dict]:
    """The SQL counting the tickets per day (or month) and the columns `by`, and its parameters."""
    if every not in ("day", "month"):
        raise ValueError(f"tickets are counted per day or month, not {every!r}")
    where, params = _tickets_where(scope, filters or {})
    params.update(period_start=start, period_end=end + timedelta(days=1))
    bucket = f"CAST(date_trunc('{every}', received_at) AS DATE)"
    columns = ", ".join([f"{bucket} AS day", *by, "count(*) AS tickets"])
    return f"SELECT {columns} FROM fct_ticket WHERE {where} GROUP BY ALL", params


def ticket_counts(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    *,
    by: tuple[str, ...] = ("category", "community_id"),
    every: str = "day",
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Tickets per day (or per month, `every="month"`: `day` is the month's first day) and the columns `by`
    from `start` through `end`: day, *by, tickets; only the combinations that had any. What every analysis
    here counts, at the grain it needs: the database sums, so only the counts travel."""
    sql, params = _count_sql(start, end, by, every, scope, filters)
    return con.execute(f"{sql} ORDER BY ALL", params).df()


def daily_cells(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Tickets per day, category and community (None: 未定位) from `start` through `end`: day, category,
    community_id, tickets; only the combinations that had any."""
    return ticket_counts(con, start, end, scope=scope, filters=filters)


def surge_cells(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    tested_from: date,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """`daily_cells` as `flag_surges` needs it for the days from `tested_from`: only the cells that reach
    MIN_COUNT on one of those days keep rows of their own. The others' tickets are summed per day into one
    row with no category and no community, which keeps the street's daily totals (all flag_surges reads of
    them); a cell below MIN_COUNT on every tested day is never a surge, so the same cell-days are flagged.
    At a district's scale this is a few thousand rows instead of one per ticket."""
    counted, params = _count_sql(start, end, ("category", "community_id"), "day", scope, filters)
    params.update(tested_from=tested_from, least=MIN_COUNT)
    return con.execute(
        f"""
        WITH counted AS ({counted}),
        candidate AS (
            SELECT DISTINCT category, community_id FROM counted
            WHERE day >= $tested_from AND tickets >= $least AND community_id IS NOT NULL
        )
        SELECT n.day, c.category, c.community_id, CAST(sum(n.tickets) AS BIGINT) AS tickets
        FROM counted AS n LEFT JOIN candidate AS c
            ON n.category = c.category AND n.community_id = c.community_id
        GROUP BY ALL ORDER BY ALL
        """,
        params,
    ).df()


def _dense(counts: pd.DataFrame, start: date, end: date) -> tuple[pd.DatetimeIndex, pd.DataFrame, pd.Series]:
    """The cells (placed tickets only) as a days × cells matrix, and the street's daily totals (all tickets)."""
    days = pd.date_range(start, end, freq="D")
    frame = counts.assign(day=pd.to_datetime(counts["day"]))
    street = frame.groupby("day")["tickets"].sum().reindex(days, fill_value=0).astype(float)
    placed = frame.dropna(subset=["community_id"])
    cells = placed.pivot_table(
        index="day", columns=["category", "community_id"], values="tickets", aggfunc="sum", fill_value=0
    )
    return days, cells.reindex(days, fill_value=0).astype(float), street


def flag_surges(counts: pd.DataFrame, start: date, end: date, first_day: date | None = None) -> pd.DataFrame:
    """The surge cell-days among `start`..`end` (see the module's docstring) from `daily_cells` output that
    reaches BASELINE_DAYS before `start` where the data does; `first_day` is the first day loaded (days
    fewer than BASELINE_DAYS after it are not tested). Columns: day, category, community_id, observed,
    expected, p_value."""
    columns = ["day", "category", "community_id", "observed", "expected", "p_value"]
    begin = start - timedelta(days=BASELINE_DAYS)
    if first_day is not None:
        start = max(start, first_day + timedelta(days=BASELINE_DAYS))
    if start > end or counts.empty:
        return pd.DataFrame(columns=columns)
    days, cells, street = _dense(counts, begin, end)
    if cells.empty:
        return pd.DataFrame(columns=columns)
    values = cells.to_numpy()
    totals = street.to_numpy()
    weekday = days.day_of_week.to_numpy()
    first = (start - begin).days  # the index of `start`
    rows = []
    for index in range(first, len(days)):
        window = slice(index - BASELINE_DAYS, index)
        same = weekday[window] == weekday[index]
        # the window holds each weekday BASELINE_DAYS / 7 times: the weekday's total over a week's share
        factor = (totals[window][same].sum() + PRIOR_TICKETS) / (totals[window].sum() / 7 + PRIOR_TICKETS)
        mean = np.maximum(values[window].sum(axis=0), PRIOR_TICKETS) / BASELINE_DAYS
        expected = mean * factor
        observed = values[index]
        candidates = np.flatnonzero((observed >= MIN_COUNT) & (observed >= MIN_RATIO * expected))
        if not len(candidates):
            continue
        p = poisson.sf(observed[candidates] - 1, expected[candidates])
        for cell, p_value in zip(candidates, p, strict=True):
            if p_value < ALPHA:
                category, community = cells.columns[cell]
                rows.append(
                    (days[index].date(), category, community, int(observed[cell]), float(expected[cell]), p_value)
                )
    return pd.DataFrame(rows, columns=columns)


def runs(flags: pd.DataFrame) -> list[Surge]:
    """Consecutive surge days of a cell as one alarm; newest first, then by how far above expected."""
    alarms: list[Surge] = []
    for (category, community), days in flags.sort_values("day").groupby(["category", "community_id"], sort=False):
        run: list = []
        for row in days.itertuples(index=False):
            if run and row.day - run[-1].day > timedelta(days=1):
                alarms.append(_alarm(category, community, run))
                run = []
            run.append(row)
        alarms.append(_alarm(category, community, run))
    return sorted(alarms, key=lambda s: (-s.end.toordinal(), -s.ratio, s.category, s.community_id))


def _alarm(category: str, community: str, run: list) -> Surge:
    return Surge(
        start=run[0].day,
        end=run[-1].day,
        category=category,
        community_id=community,
        observed=sum(row.observed for row in run),
        expected=sum(row.expected for row in run),
        p_value=min(row.p_value for row in run),
    )


def surges(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
    first_day: date | None = None,
) -> list[Surge]:
    """The surge alarms of the period's days, newest first (see the module's docstring)."""
    tested_from = period.start if first_day is None else max(period.start, first_day + timedelta(days=BASELINE_DAYS))
    begin = period.start - timedelta(days=BASELINE_DAYS)
    counts = surge_cells(con, begin, period.end, tested_from, scope=scope, filters=filters)
    return runs(flag_surges(counts, period.start, period.end, first_day))


# ----- forecast ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    """The next HORIZON days after `history`'s last day: mean, interval (LEVEL) and the seasonal naive."""

    history: pd.Series  # daily counts, indexed by day
    mean: pd.Series
    lower: pd.Series
    upper: pd.Series
    naive: pd.Series
    level: float = LEVEL

    @property
    def total(self) -> float:
        return float(self.mean.sum())


def seasonal_naive(history: pd.Series, horizon: int = HORIZON) -> np.ndarray:
    """Each coming day as the same weekday in the last week of `history`; with less than a week loaded, the
    mean of what there is (0 with nothing)."""
    values = history.to_numpy(dtype=float)
    if len(values) < SEASON:
        return np.full(horizon, values.mean() if len(values) else 0.0)
    last_week = values[-SEASON:]
    return np.array([last_week[step % SEASON] for step in range(horizon)], dtype=float)


def predict(history: pd.Series, horizon: int = HORIZON, level: float = LEVEL) -> tuple[np.ndarray, ...]:
    """ETS(A,N,A) with a weekly season fitted to `history` (daily counts): mean, lower, upper for `horizon`
    days; a history shorter than three weeks is forecast seasonal-naive with no interval."""
    values = history.to_numpy(dtype=float)
    if len(values) < 3 * SEASON:
        naive = seasonal_naive(history, horizon)
        return naive, naive, naive
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: PLC0415 (a slow import, used here)

    model = ETSModel(
        pd.Series(values),
        error="add",
        trend=None,
        seasonal="add",
        seasonal_periods=SEASON,
        initialization_method="heuristic",  # start states from a decomposition; fit only the weights
    )
    with warnings.catch_warnings():  # convergence chatter on flat series; the fit is still used
        warnings.simplefilter("ignore")
        fitted = model.fit(disp=False)
        frame = fitted.get_prediction(start=len(values), end=len(values) + horizon - 1).summary_frame(alpha=1 - level)
    mean = np.clip(frame["mean"].to_numpy(), 0, None)
    return mean, np.clip(frame["pi_lower"].to_numpy(), 0, None), np.clip(frame["pi_upper"].to_numpy(), 0, None)


def daily_series(
    con: duckdb.DuckDBPyConnection, start: date, end: date, **where: RowScope | Mapping | None
) -> pd.Series:
    """Tickets per day from `start` through `end`, every day listed; `where` is daily_cells' scope and filters."""
    counts = ticket_counts(con, start, end, by=(), scope=where.get("scope"), filters=where.get("filters"))
    days = pd.date_range(start, end, freq="D")
    if counts.empty:
        return pd.Series(0.0, index=days)
    return counts.groupby(pd.to_datetime(counts["day"]))["tickets"].sum().astype(float).reindex(days, fill_value=0.0)


def forecast(
    con: duckdb.DuckDBPyConnection,
    through: date,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
    first_day: date | None = None,
) -> Forecast:
    """The HORIZON days after `through` (the last complete day), from the HISTORY_DAYS days up to it."""
    start = through - timedelta(days=HISTORY_DAYS - 1)
    if first_day is not None:
        start = max(start, first_day)
    return forecast_of(daily_series(con, start, through, scope=scope, filters=filters))


def forecast_of(history: pd.Series) -> Forecast:
    """The HORIZON days after the last day of `history` (daily counts indexed by day)."""
    mean, lower, upper = predict(history)
    future = pd.date_range(history.index[-1] + timedelta(days=1), periods=HORIZON, freq="D")
    return Forecast(
        history=history,
        mean=pd.Series(mean, index=future),
        lower=pd.Series(lower, index=future),
        upper=pd.Series(upper, index=future),
        naive=pd.Series(seasonal_naive(history), index=future),
    )


@dataclass(frozen=True)
class CategoryForecast:
    """One category's next HORIZON days beside its last HORIZON days."""

    category: str
    last: int  # tickets in the last HORIZON days loaded
    forecast: Forecast

    @property
    def change(self) -> float | None:
        return (self.forecast.total - self.last) / self.last if self.last else None


def category_forecasts(
    con: duckdb.DuckDBPyConnection,
    through: date,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
    first_day: date | None = None,
    limit: int = 10,
) -> list[CategoryForecast]:
    """`forecast` for each of the `limit` categories with the most tickets in the history, most first."""
    start = through - timedelta(days=HISTORY_DAYS - 1)
    if first_day is not None:
        start = max(start, first_day)
    counts = ticket_counts(con, start, through, by=("category",), scope=scope, filters=filters)
    if counts.empty:
        return []
    per_day = counts.groupby(["category", "day"])["tickets"].sum()
    ranked = per_day.groupby("category").sum().sort_values(ascending=False).head(limit).index
    days = pd.date_range(start, through, freq="D")
    found = []
    for category in ranked:
        series = per_day.loc[category]
        history = pd.Series(series.to_numpy(dtype=float), index=pd.to_datetime(series.index)).reindex(
            days, fill_value=0.0
        )
        found.append(CategoryForecast(str(category), int(history.iloc[-HORIZON:].sum()), forecast_of(history)))
    return found


def backtest(history: pd.Series, weeks: int = 8) -> dict[str, float]:
    """Forecast each of the last `weeks` weeks of `history` from the days before it; the mean absolute error
    per day of the forecast and of the seasonal naive, and the share of days inside the interval."""
    errors, naive_errors, inside = [], [], []
    for week in range(weeks, 0, -1):
        cut = len(history) - week * SEASON
        before, actual = history.iloc[:cut], history.to_numpy()[cut : cut + SEASON]
        mean, lower, upper = predict(before.iloc[-HISTORY_DAYS:])
        errors.append(np.abs(mean - actual))
        naive_errors.append(np.abs(seasonal_naive(before) - actual))
        inside.append((actual >= lower) & (actual <= upper))
    return {
        "mae": float(np.concatenate(errors).mean()),
        "naive_mae": float(np.concatenate(naive_errors).mean()),
        "coverage": float(np.concatenate(inside).mean()),
    }


# ----- 未诉先办 ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proactive:
    """A cell that was high in the coming month in past years."""

    category: str
    community_id: str
    same_month: float  # mean tickets in that month of past years
    usual: float  # mean tickets per complete month loaded
    years: tuple[int, ...]  # the past years whose month is counted

    @property
    def ratio(self) -> float:
        return self.same_month / self.usual if self.usual else float("inf")


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def proactive(
    con: duckdb.DuckDBPyConnection,
    month: date,
    first_day: date,
    through: date,
    *,
    scope: RowScope | None = None,
    filters: Mapping[str, str] | None = None,
    limit: int = 10,
) -> list[Proactive] | None:
    """The 未诉先办 list for the month starting `month` (see the module's docstring), most above usual first;
    None when the data from `first_day` through `through` holds no complete same month of a past year."""
    first_month = first_day if first_day.day == 1 else next_month(first_day)
    last_month = next_month(through) if through == next_month(through) - timedelta(days=1) else None
    end = (last_month or date(through.year, through.month, 1)) - timedelta(days=1)  # last complete month's end
    if end < first_month:
        return None
    counts = ticket_counts(con, first_month, end, every="month", scope=scope, filters=filters)
    counts = counts.dropna(subset=["community_id"])
    counts["month"] = pd.to_datetime(counts["day"]).dt.to_period("M")
    months = pd.period_range(first_month, end, freq="M")
    same = [period for period in months if period.month == month.month and period.year < month.year]
    if not same:
        return None
    per_month = counts.groupby(["category", "community_id", "month"])["tickets"].sum()
    usual = per_month.groupby(["category", "community_id"]).sum() / len(months)
    in_same = per_month[per_month.index.get_level_values("month").isin(same)].groupby(
        ["category", "community_id"]
    ).sum() / len(same)
    table = pd.DataFrame({"same_month": in_same, "usual": usual}).dropna()
    table = table[(table["same_month"] >= PROACTIVE_MIN) & (table["same_month"] >= PROACTIVE_RATIO * table["usual"])]
    table = table.assign(excess=table["same_month"] - table["usual"]).sort_values(
        ["excess", "same_month"], ascending=False
    )
    years = tuple(period.year for period in same)
    return [
        Proactive(category, community, float(row.same_month), float(row.usual), years)
        for (category, community), row in table.head(limit).iterrows()
    ]
