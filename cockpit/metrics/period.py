"""Reporting periods: the date ranges every KPI is computed for, and the ranges it is compared with.

A `Period` is a closed range of calendar days (both ends included). Queries
turn it into the half-open range `[start 00:00, end + 1 day 00:00)`, so the
same period filters TIMESTAMP and DATE columns alike.

Comparisons follow the habits of Chinese briefings:
- 环比 (`previous`): the previous calendar month / quarter / year / ISO week
  when the period is exactly one of those, else the same number of days
  immediately before the period;
- 同比 (`year_ago`): the same dates one year earlier (the same calendar month /
  quarter / year when the period is exactly one); 29 February maps to 28 February.

`as_of` in the presets is the reference day, normally the warehouse's
`meta_release.data_through` (the last day with data): "today" is that day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

PRESETS = (
    "today",
    "this_week",
    "this_month",
    "last_30_days",
    "this_quarter",
    "this_year",
    "last_week",
    "last_month",
)

# Shorthands for scheduled briefings: the last *complete* week / month / quarter.
COMPLETE_UNITS = ("week", "month", "quarter", "year")

# The days a period read from outside (a URL, the CLI, a browser's store) may cover. Beyond them a
# comparison period (环比 moves back by the period's own length) would leave the calendar.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)

_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?::|\.\.|/)\s*(\d{4}-\d{2}-\d{2})\s*$")
_DAY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*$")


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(day: date) -> date:
    return _add_months(_month_start(day), 1) - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    """`day` moved by whole months; the day of month must exist (callers pass the 1st)."""
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def one_year_earlier(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


@dataclass(frozen=True)
class Period:
    """An inclusive range of days, e.g. `Period(date(2026, 11, 1), date(2026, 11, 30))`."""

    start: date
    end: date

    def __post_init__(self) -> None:
        # datetime is a subclass of date: accepting it would silently keep a time of day.
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, datetime) or not isinstance(value, date):
                raise TypeError(f"Period.{name} must be a datetime.date, got {value!r}")
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before its start {self.start}")

    # ---- shape -------------------------------------------------------------------------

    @property
    def days(self) -> int:
        """Number of days in the period, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (start 00:00)."""
        return datetime.combine(self.start, datetime.min.time())

    @property
    def end_before(self) -> datetime:
        """The first instant after the period (end + 1 day 00:00): filters use `< end_before`."""
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time())

    def kind(self) -> str:
        """'day' | 'week' (ISO, Mon–Sun) | 'month' | 'quarter' | 'year' | 'custom'."""
        if self.days == 1:
            return "day"
        if self.start.isoweekday() == 1 and self.days == 7:
            return "week"
        if self.start.day == 1 and self.end == _month_end(self.start):
            return "month"
        if self.start == _quarter_start(self.start) and self.end == _month_end(_add_months(self.start, 2)):
            return "quarter"
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) and (
            self.start.year == self.end.year
        ):
            return "year"
        return "custom"

    # ---- comparisons -------------------------------------------------------------------

    def previous(self) -> Period:
        """环比 base: the previous calendar unit when the period is exactly one, else the days before."""
        kind = self.kind()
        if kind == "month":
            start = _add_months(self.start, -1)
            return Period(start, _month_end(start))
        if kind == "quarter":
            start = _add_months(self.start, -3)
            return Period(start, _month_end(_add_months(start, 2)))
        if kind == "year":
            return Period(date(self.start.year - 1, 1, 1), date(self.start.year - 1, 12, 31))
        # A day, an ISO week and a custom range are all "the same number of days right before".
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def year_ago(self) -> Period:
        """同比 base: the same dates one year earlier (29 Feb → 28 Feb; a whole month stays whole)."""
        kind = self.kind()
        if kind in ("month", "quarter", "year"):
            start = self.start.replace(year=self.start.year - 1)
            end = _month_end(self.end.replace(day=1, year=self.end.year - 1))
            return Period(start, end)
        return Period(one_year_earlier(self.start), one_year_earlier(self.end))

    def cut(self, through: date) -> Period | None:
        """The part of the period up to `through` (the last day its data is complete), or None if none is.

        The cut period is an ordinary period: its 环比 and 同比 follow the rules above, so a
        cut window is compared with a window of its own length (a cut month that is no longer a
        whole month is compared with the same number of days right before it).
        """
        if isinstance(through, datetime) or not isinstance(through, date):
            raise TypeError(f"through must be a datetime.date, got {through!r}")
        if through >= self.end:
            return self
        if through < self.start:
            return None
        return Period(self.start, through)

    # ---- text --------------------------------------------------------------------------

    def label_zh(self) -> str:
        """The period as a Chinese briefing writes it, e.g. '2026年11月', '2026年第45周（11月2日—11月8日）'."""
        kind = self.kind()
        s, e = self.start, self.end
        if kind == "day":
            return f"{s.year}年{s.month}月{s.day}日"
        if kind == "month":
            return f"{s.year}年{s.month}月"
        if kind == "quarter":
            return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
        if kind == "year":
            return f"{s.year}年"
        if kind == "week":
            iso_year, iso_week, _ = s.isocalendar()
            return f"{iso_year}年第{iso_week}周（{s.month}月{s.day}日—{e.month}月{e.day}日）"
        if s.year == e.year:
            return f"{s.year}年{s.month}月{s.day}日—{e.month}月{e.day}日"
        return f"{s.year}年{s.month}月{s.day}日—{e.year}年{e.month}月{e.day}日"

    def __str__(self) -> str:
        return f"{self.start.isoformat()}:{self.end.isoformat()}"

    def checked(self) -> Period:
        """This period, if it lies within EARLIEST…LATEST; else a ValueError naming the bounds."""
        if self.start < EARLIEST or self.end > LATEST:
            raise ValueError(f"period {self} is outside {EARLIEST}:{LATEST}")
        return self

    # ---- constructors ------------------------------------------------------------------

    @classmethod
    def preset(cls, name: str, as_of: date) -> Period:
        """A named period relative to `as_of` (the last day with data). Names: see `PRESETS`."""
        if isinstance(as_of, datetime):
            as_of = as_of.date()
        if name == "today":
            return cls(as_of, as_of)
        if name == "this_week":
            return cls(as_of - timedelta(days=as_of.isoweekday() - 1), as_of)
        if name == "this_month":
            return cls(_month_start(as_of), as_of)
        if name == "last_30_days":
            return cls(as_of - timedelta(days=29), as_of)
        if name == "this_quarter":
            return cls(_quarter_start(as_of), as_of)
        if name == "this_year":
            return cls(date(as_of.year, 1, 1), as_of)
        if name == "last_week":
            monday = as_of - timedelta(days=as_of.isoweekday() - 1)
            return cls(monday - timedelta(days=7), monday - timedelta(days=1))
        if name == "last_month":
            start = _add_months(_month_start(as_of), -1)
            return cls(start, _month_end(start))
        raise ValueError(f"unknown period preset {name!r}; expected one of {', '.join(PRESETS)}")

    @classmethod
    def last_complete(cls, unit: str, as_of: date) -> Period:
        """The latest whole ISO week / month / quarter / year that ends on or before `as_of`.

        `as_of` is the last day with data, so a week ending on `as_of` (a Sunday) is complete.
        """
        if isinstance(as_of, datetime):
            as_of = as_of.date()
        after = as_of + timedelta(days=1)  # the first day without data
        if unit == "week":
            monday = after - timedelta(days=after.isoweekday() - 1)
            return cls(monday - timedelta(days=7), monday - timedelta(days=1))
        if unit == "month":
            start = _add_months(_month_start(after), -1)
            return cls(start, _month_end(start))
        if unit == "quarter":
            start = _add_months(_quarter_start(after), -3)
            return cls(start, _month_end(_add_months(start, 2)))
        if unit == "year":
            return cls(date(after.year - 1, 1, 1), date(after.year - 1, 12, 31))
        raise ValueError(f"unknown period unit {unit!r}; expected one of {', '.join(COMPLETE_UNITS)}")

    @classmethod
    def parse(cls, text: str, as_of: date | None = None) -> Period:
        """Read a period from the CLI or a URL.

        Accepts 'YYYY-MM-DD:YYYY-MM-DD' (also '..' or '/' as separator), a single
        'YYYY-MM-DD', 'week' / 'month' / 'quarter' / 'year' (the last complete one
        ending on or before `as_of`), or a preset name. `as_of` defaults to today.
        Dates outside EARLIEST…LATEST are refused.
        """
        if as_of is None:
            as_of = date.today()
        raw = text.strip().lower()
        try:
            if match := _RANGE.match(raw):
                return cls(date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))).checked()
            if match := _DAY.match(raw):
                day = date.fromisoformat(match.group(1))
                return cls(day, day).checked()
        except ValueError as error:
            raise ValueError(f"cannot read period {text!r}: {error}") from None
        if raw in COMPLETE_UNITS:
            return cls.last_complete(raw, as_of)
        if raw in PRESETS:
            return cls.preset(raw, as_of)
        raise ValueError(
            f"cannot read period {text!r}: use YYYY-MM-DD:YYYY-MM-DD, YYYY-MM-DD, "
            f"{' | '.join(COMPLETE_UNITS)} or a preset ({', '.join(PRESETS)})"
        )
