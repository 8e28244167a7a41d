"""dim_calendar: the official working-day calendar, with make-up workdays, and its fallback."""

from datetime import date

import pytest

from warehouse.calendar import FALLBACK_SOURCE, OFFICIAL_SOURCE, calendar_range, supported_years, working_day_calendar


def by_day(start: date, end: date) -> dict[date, dict]:
    return {row["day"]: row for row in working_day_calendar(start, end).to_pylist()}


def test_national_day_2026_is_off_and_the_saturday_after_it_is_a_makeup_workday():
    days = by_day(date(2026, 9, 28), date(2026, 10, 12))
    assert [d.day for d in days if not days[d]["is_workday"]] == [1, 2, 3, 4, 5, 6, 7, 11]
    assert days[date(2026, 10, 1)]["holiday_name"] == "National Day"
    assert days[date(2026, 10, 1)]["holiday_name_zh"] == "国庆节"
    saturday = days[date(2026, 10, 10)]
    assert saturday["is_workday"] and saturday["is_makeup_workday"] and saturday["holiday_name"] is None
    assert not days[date(2026, 10, 11)]["is_makeup_workday"]
    assert {row["calendar_source"] for row in days.values()} == {OFFICIAL_SOURCE}


def test_workday_index_repeats_on_days_off_so_deadlines_count_from_the_next_working_day():
    days = by_day(date(2026, 9, 28), date(2026, 10, 12))
    index = {day: row["workday_index"] for day, row in days.items()}
    assert index[date(2026, 9, 28)] == 1  # the first day is a working Monday
    assert index[date(2026, 9, 30)] == 3
    # the whole holiday keeps Wednesday 09-30's number …
    assert {index[date(2026, 10, day)] for day in range(1, 8)} == {3}
    # … so 1 working day after any of those days is Thursday 10-08
    assert index[date(2026, 10, 8)] == 4
    assert index[date(2026, 10, 10)] == 6  # the make-up Saturday counts
    assert index[date(2026, 10, 11)] == 6
    assert index[date(2026, 10, 12)] == 7


def test_the_sunday_makeup_workday_before_mid_autumn_2026_counts():
    days = by_day(date(2026, 9, 19), date(2026, 9, 21))
    assert days[date(2026, 9, 20)]["is_workday"] and days[date(2026, 9, 20)]["is_makeup_workday"]


def test_years_the_library_does_not_know_fall_back_to_monday_to_friday_and_say_so():
    last_year = supported_years()[1]
    start = date(last_year, 12, 30)
    days = by_day(start, date(last_year + 1, 1, 10))
    beyond = {day: row for day, row in days.items() if day.year > last_year}
    assert {row["calendar_source"] for row in beyond.values()} == {FALLBACK_SOURCE}
    assert all(row["is_workday"] == (day.weekday() < 5) for day, row in beyond.items())
    assert all(row["holiday_name"] is None for row in beyond.values())
    assert days[start]["calendar_source"] == OFFICIAL_SOURCE
    # the index keeps counting across the switch
    indexes = [days[day]["workday_index"] for day in sorted(days)]
    assert indexes == sorted(indexes)


def test_range_is_60_days_before_the_first_data_day_to_400_days_after_data_through():
    assert calendar_range(date(2026, 1, 1), date(2026, 10, 12)) == (date(2025, 11, 2), date(2027, 11, 16))


def test_an_inverted_range_is_refused():
    with pytest.raises(ValueError, match="before its start"):
        working_day_calendar(date(2026, 2, 1), date(2026, 1, 1))
