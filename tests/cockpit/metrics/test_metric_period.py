"""Reporting periods: presets, parsing, and the 环比 / 同比 bases every KPI is compared with."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cockpit.metrics.period import PRESETS, Period


def p(start: str, end: str) -> Period:
    return Period(date.fromisoformat(start), date.fromisoformat(end))


def test_period_is_inclusive_and_counts_days():
    period = p("2026-11-01", "2026-11-30")
    assert period.days == 30
    assert period.start_at == datetime(2026, 11, 1)
    assert period.end_before == datetime(2026, 12, 1)  # filters use < end + 1 day 00:00


def test_period_rejects_reversed_range_and_datetimes():
    with pytest.raises(ValueError, match="before its start"):
        p("2026-11-02", "2026-11-01")
    with pytest.raises(TypeError):
        Period(datetime(2026, 11, 1, 8), date(2026, 11, 2))


@pytest.mark.parametrize(
    ("period", "previous"),
    [
        (p("2026-11-01", "2026-11-30"), p("2026-10-01", "2026-10-31")),  # month → previous month
        (p("2026-03-01", "2026-03-31"), p("2026-02-01", "2026-02-28")),  # … incl. February
        (p("2028-03-01", "2028-03-31"), p("2028-02-01", "2028-02-29")),  # … in a leap year
        (p("2026-01-01", "2026-01-31"), p("2025-12-01", "2025-12-31")),  # … across the year
        (p("2026-10-01", "2026-12-31"), p("2026-07-01", "2026-09-30")),  # quarter
        (p("2026-01-01", "2026-12-31"), p("2025-01-01", "2025-12-31")),  # year
        (p("2026-11-16", "2026-11-22"), p("2026-11-09", "2026-11-15")),  # ISO week
        (p("2026-11-10", "2026-11-16"), p("2026-11-03", "2026-11-09")),  # 7 custom days → 7 days before
        (p("2026-11-01", "2026-11-20"), p("2026-10-12", "2026-10-31")),  # month to date → same length before
        (p("2026-11-20", "2026-11-20"), p("2026-11-19", "2026-11-19")),  # a day → the day before
    ],
)
def test_previous_period_is_the_calendar_unit_or_the_days_before(period, previous):
    assert period.previous() == previous


@pytest.mark.parametrize(
    ("period", "year_ago"),
    [
        (p("2026-11-01", "2026-11-30"), p("2025-11-01", "2025-11-30")),
        (p("2028-02-29", "2028-02-29"), p("2027-02-28", "2027-02-28")),  # leap day → 28 Feb
        (p("2028-02-20", "2028-02-29"), p("2027-02-20", "2027-02-28")),
        (p("2028-02-01", "2028-02-29"), p("2027-02-01", "2027-02-28")),  # a whole month stays whole
        (p("2029-02-01", "2029-02-28"), p("2028-02-01", "2028-02-29")),
        (p("2026-11-10", "2026-11-16"), p("2025-11-10", "2025-11-16")),  # same dates, not same weekdays
        (p("2026-10-01", "2026-12-31"), p("2025-10-01", "2025-12-31")),
    ],
)
def test_year_ago_is_the_same_dates_one_year_earlier(period, year_ago):
    assert period.year_ago() == year_ago


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("today", p("2026-11-20", "2026-11-20")),
        ("this_week", p("2026-11-16", "2026-11-20")),  # 2026-11-20 is a Friday
        ("this_month", p("2026-11-01", "2026-11-20")),
        ("last_30_days", p("2026-10-22", "2026-11-20")),
        ("this_quarter", p("2026-10-01", "2026-11-20")),
        ("this_year", p("2026-01-01", "2026-11-20")),
        ("last_week", p("2026-11-09", "2026-11-15")),
        ("last_month", p("2026-10-01", "2026-10-31")),
    ],
)
def test_presets_are_relative_to_as_of(name, expected):
    assert Period.preset(name, date(2026, 11, 20)) == expected


def test_every_preset_is_tested_and_unknown_preset_is_refused():
    assert set(PRESETS) == {
        "today",
        "this_week",
        "this_month",
        "last_30_days",
        "this_quarter",
        "this_year",
        "last_week",
        "last_month",
    }
    with pytest.raises(ValueError, match="unknown period preset"):
        Period.preset("fortnight", date(2026, 11, 20))


@pytest.mark.parametrize(
    ("text", "as_of", "expected"),
    [
        ("2026-11-01:2026-11-20", date(2026, 11, 20), p("2026-11-01", "2026-11-20")),
        ("2026-11-01..2026-11-20", date(2026, 11, 20), p("2026-11-01", "2026-11-20")),
        ("2026-11-05", date(2026, 11, 20), p("2026-11-05", "2026-11-05")),
        ("week", date(2026, 11, 20), p("2026-11-09", "2026-11-15")),  # Friday: last complete week
        ("week", date(2026, 11, 22), p("2026-11-16", "2026-11-22")),  # Sunday with data: that week is complete
        ("month", date(2026, 11, 20), p("2026-10-01", "2026-10-31")),
        ("month", date(2026, 11, 30), p("2026-11-01", "2026-11-30")),
        ("quarter", date(2026, 11, 20), p("2026-07-01", "2026-09-30")),
        ("quarter", date(2026, 1, 5), p("2025-10-01", "2025-12-31")),
        ("this_month", date(2026, 11, 20), p("2026-11-01", "2026-11-20")),
    ],
)
def test_parse_reads_the_cli_forms(text, as_of, expected):
    assert Period.parse(text, as_of=as_of) == expected


@pytest.mark.parametrize("text", ["2026-11-20:2026-11-01", "2026-02-30", "november", "2026-11-01:"])
def test_parse_refuses_bad_text_with_a_message(text):
    with pytest.raises(ValueError, match="period"):
        Period.parse(text, as_of=date(2026, 11, 20))


@pytest.mark.parametrize(
    ("period", "label"),
    [
        (p("2026-11-01", "2026-11-30"), "2026年11月"),
        (p("2026-10-01", "2026-12-31"), "2026年第4季度"),
        (p("2026-01-01", "2026-12-31"), "2026年"),
        (p("2026-11-02", "2026-11-08"), "2026年第45周（11月2日—11月8日）"),
        (p("2026-11-20", "2026-11-20"), "2026年11月20日"),
        (p("2026-11-10", "2026-11-16"), "2026年11月10日—11月16日"),
        (p("2025-12-20", "2026-01-05"), "2025年12月20日—2026年1月5日"),
    ],
)
def test_label_zh(period, label):
    assert period.label_zh() == label


@pytest.mark.parametrize(
    ("period", "through", "cut", "previous"),
    [
        # 近30天 of a monthly source delivered on 11-01: six days, compared with the six before
        (p("2026-10-27", "2026-11-25"), "2026-11-01", p("2026-10-27", "2026-11-01"), p("2026-10-21", "2026-10-26")),
        # a month delivered through the 15th: half a month against the half month before, not all of October
        (p("2026-11-01", "2026-11-30"), "2026-11-15", p("2026-11-01", "2026-11-15"), p("2026-10-17", "2026-10-31")),
        # a quarter cut at a month's end is a whole month: compared with the month before
        (p("2026-10-01", "2026-12-31"), "2026-10-31", p("2026-10-01", "2026-10-31"), p("2026-09-01", "2026-09-30")),
        # complete through the first day only
        (p("2026-11-01", "2026-11-30"), "2026-11-01", p("2026-11-01", "2026-11-01"), p("2026-10-31", "2026-10-31")),
    ],
)
def test_a_cut_period_is_compared_with_a_window_of_its_own_length(period, through, cut, previous):
    assert period.cut(date.fromisoformat(through)) == cut
    assert cut.previous() == previous
    assert cut.year_ago() == Period(cut.start.replace(year=cut.start.year - 1), cut.end.replace(year=cut.end.year - 1))


def test_a_period_complete_to_its_end_is_not_cut_and_one_with_no_complete_day_has_nothing_left():
    november = p("2026-11-01", "2026-11-30")
    assert november.cut(date(2026, 11, 30)) is november
    assert november.cut(date(2026, 12, 5)) is november
    assert november.cut(date(2026, 10, 31)) is None
    with pytest.raises(TypeError):
        november.cut(datetime(2026, 11, 15, 12))
