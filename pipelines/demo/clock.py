"""Time for the demo generator: the date range, daily and hourly rhythms, working days, and formatting.

All times are Asia/Shanghai wall-clock, kept naive. The generator approximates
working days by skipping weekends (the warehouse uses the official calendar);
that is close enough for deadlines of synthetic tickets.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import numpy as np

# China has had no daylight saving time since 1991: a fixed offset is exact.
SHANGHAI = timezone(timedelta(hours=8))


def resolve_range(days: int, start: date | None, end: date | None) -> tuple[date, date]:
    """The inclusive range: `start`..`end`, or `days` days ending at `end` (default yesterday in Shanghai)."""
    if start is not None and end is not None:
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        return start, end
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if start is not None:
        return start, start + timedelta(days=days - 1)
    end = end or (datetime.now(SHANGHAI).date() - timedelta(days=1))
    return end - timedelta(days=days - 1), end


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def rng_for(seed: int, stream: str, *parts: int) -> np.random.Generator:
    """An independent generator per (seed, stream, parts): a day's data never depends on another day's draws."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode("utf-8")), *parts])


# Relative volume by weekday (Mon..Sun) for citizen channels and office work.
CITIZEN_WEEK = np.array([1.12, 1.08, 1.06, 1.05, 1.04, 0.85, 0.80])
OFFICE_WEEK = np.array([1.25, 1.22, 1.2, 1.2, 1.13, 0.55, 0.45])


def _hours(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


# Share of a day's records by clock hour.
HOURS = {
    # calls peak mid-morning and mid-afternoon, few at night
    "hotline": _hours(
        [0.3, 0.15, 0.1, 0.1, 0.1, 0.2, 0.6, 1.6, 4, 6, 6.5, 5.5, 3.4, 4, 5.6, 6, 5.5, 4.4, 3.4, 3.2, 3, 2.4, 1.5, 0.7]
    ),
    # patrols work 7-19; cameras report around the clock
    "city_mgmt": _hours(
        [0.4, 0.3, 0.3, 0.3, 0.3, 0.5, 1.5, 4.5, 6, 6.5, 6.5, 5, 3.5, 4.5, 6, 6, 5.5, 4.5, 2.5, 1.2, 0.9, 0.7, 0.6, 0.5]
    ),
    # forum posts after work
    "forum": _hours(
        [1, 0.6, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2.5, 3.5, 3.5, 3.2, 3, 3, 3, 3, 3, 3, 3.2, 4, 5, 5.5, 4.5, 2.5]
    ),
    # grid workers on shift
    "grid": _hours([0, 0, 0, 0, 0, 0, 0.2, 1.5, 6, 8, 8, 6, 2.5, 4, 7, 7.5, 6.5, 4, 1.5, 0.6, 0.3, 0, 0, 0]),
    # households are visited in the day and early evening
    "visit": _hours([0, 0, 0, 0, 0, 0, 0, 0.3, 2, 5, 6, 4, 1.2, 2, 5, 5.5, 5, 4, 3, 4, 3.5, 1, 0, 0]),
    # service windows 9-12 and 13:30-17; online all day
    "window": _hours([0, 0, 0, 0, 0, 0, 0, 0, 0.3, 6, 7, 6, 1, 3, 7, 7, 5.5, 0.5, 0, 0, 0, 0, 0, 0]),
    "online": _hours(
        [0.8, 0.4, 0.2, 0.2, 0.2, 0.3, 0.8, 2, 4, 6, 6.5, 5.5, 4, 4.5, 5.5, 5.5, 5, 4.5, 4, 4.5, 5, 4.5, 3, 1.5]
    ),
    "self_service": _hours([0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 5, 4, 5, 5.5, 5.5, 5, 4, 3, 3, 2, 1, 0, 0]),
    # inspections and enforcement in office hours
    "office": _hours([0, 0, 0, 0, 0, 0, 0, 0, 2, 6, 7, 5, 1, 3, 7, 7, 5, 1, 0, 0, 0, 0, 0, 0]),
    # alarms can come at any time, a little more when loads peak in the evening
    "alarm": _hours(
        [
            0.7,
            0.6,
            0.6,
            0.6,
            0.6,
            0.7,
            0.9,
            1.1,
            1.1,
            1.1,
            1.1,
            1.1,
            1.1,
            1.1,
            1.1,
            1.1,
            1.1,
            1.2,
            1.4,
            1.5,
            1.5,
            1.3,
            1.0,
            0.8,
        ]
    ),
}


def daily_count(rng: np.random.Generator, mean_per_day: float, day: date, week: np.ndarray) -> int:
    return int(rng.poisson(mean_per_day * week[day.weekday()]))


def draw_times(rng: np.random.Generator, day: date, n: int, hours: np.ndarray) -> list[datetime]:
    """`n` sorted times on `day`, hours following `hours`, to the second."""
    if n == 0:
        return []
    hour = rng.choice(24, size=n, p=hours)
    second = hour * 3600 + rng.integers(0, 3600, size=n)
    second.sort()
    base = datetime.combine(day, time())
    return [base + timedelta(seconds=int(s)) for s in second]


@lru_cache(maxsize=65536)
def add_working_days(day: date, n: int) -> date:
    """The n-th working day after `day` (weekends skipped)."""
    return np.busday_offset(np.datetime64(day, "D"), n, roll="forward").astype(date)


def working_days_between(a: date, b: date) -> int:
    return int(np.busday_count(np.datetime64(a, "D"), np.datetime64(b, "D")))


def in_office_hours(moment: datetime, rng: np.random.Generator, first: int = 8, last: int = 20) -> datetime:
    """Move a moment that falls at night to the next morning, when staff pick work up."""
    if first <= moment.hour < last:
        return moment
    day = moment.date() if moment.hour < first else moment.date() + timedelta(days=1)
    return datetime.combine(day, time(first, 30)) + timedelta(seconds=int(rng.integers(0, 3600)))


def season_of(day: date) -> str:
    if day.month in (6, 7, 8, 9):
        return "summer"
    if day.month in (12, 1, 2):
        return "winter"
    return ""


def is_snapshot_day(day: date, first: date) -> bool:
    """Ledger and base-data snapshots: the first day of the range and the 1st of every month."""
    return day == first or day.day == 1


def month_days(day: date) -> int:
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return (nxt - date(day.year, day.month, 1)).days


def _fill_format(fmt: str, day: date, day_of_month: int, hour: int, minute: int) -> str:
    """Write a strftime layout by hand, so that values strftime would refuse can be written."""
    return (
        fmt.replace("%Y", f"{day.year:04d}")
        .replace("%m", f"{day.month:02d}")
        .replace("%d", f"{day_of_month:02d}")
        .replace("%-H", str(hour))
        .replace("%H", f"{hour:02d}")
        .replace("%M", f"{minute:02d}")
        .replace("%S", "00")
    )


def impossible_date_text(day: date, fmt: str) -> str:
    """A date that cannot exist in `day`'s month (the 30th of February, the 31st of November...)."""
    return _fill_format(fmt, day, month_days(day) + 1, 9, 15)


def impossible_time_text(day: date, fmt: str) -> str:
    """A clock time that cannot exist (25:61)."""
    return _fill_format(fmt, day, day.day, 25, 61)


def fmt_dt(moment: datetime, fmt: str) -> str:
    """strftime with glibc's %-H (hour without leading zero) made portable; ISO layouts take a fast path."""
    if fmt == "%Y-%m-%d %H:%M:%S":
        return moment.isoformat(sep=" ", timespec="seconds")
    if fmt == "%Y-%m-%d %H:%M":
        return moment.isoformat(sep=" ", timespec="minutes")
    if "%-H" in fmt:
        fmt = fmt.replace("%-H", str(moment.hour))
    return moment.strftime(fmt)
