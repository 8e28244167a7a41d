"""The working-day calendar (`dim_calendar`) every deadline in the warehouse counts on.

Ticket and approval deadlines count *working* days on the official Chinese
calendar: public holidays are off, and make-up workdays (调休, often a Saturday
or Sunday) are on. The holiday tables come from the maintained
`chinesecalendar` library (module `chinese_calendar`), never from a hand-kept
list. The library only knows the years the State Council has published; outside
them the calendar falls back to Monday–Friday and says so in `calendar_source`,
so a screen can tell a provisional deadline from an official one.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pyarrow as pa

TIME_ZONE = "Asia/Shanghai"  # every time in the warehouse and its ledger is this zone's local time
OFFICIAL_SOURCE = "chinese_calendar"
FALLBACK_SOURCE = "weekday_rule"

# Days of margin around the data: receipts shortly before the first loaded day
# still need an index, and deadlines (SLA + extensions) run well past the last.
DAYS_BEFORE_FIRST_DATA_DAY = 60
DAYS_AFTER_DATA_THROUGH = 400

# The library names holidays in English; the screens speak Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

CALENDAR_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("is_workday", pa.bool_()),
        ("workday_index", pa.int32()),
        ("holiday_name", pa.string()),
        ("calendar_source", pa.string()),
        ("is_makeup_workday", pa.bool_()),
        ("holiday_name_zh", pa.string()),
    ]
)


def supported_years() -> tuple[int, int]:
    """The first and last year the installed `chinesecalendar` has official data for."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def calendar_range(first_data_day: date, data_through: date) -> tuple[date, date]:
    """The first and last day `dim_calendar` covers for a release."""
    return (
        first_data_day - timedelta(days=DAYS_BEFORE_FIRST_DATA_DAY),
        data_through + timedelta(days=DAYS_AFTER_DATA_THROUGH),
    )


def working_day_calendar(start: date, end: date) -> pa.Table:
    """One row per day from `start` to `end` inclusive, in the shape of `dim_calendar`.

    `workday_index` counts working days from `start`: a working day gets the
    next number, a non-working day repeats the previous working day's number
    (0 before the first working day). So "N working days after day D" is the
    first day whose index is index(D) + N, whether or not D itself is a
    working day.
    """
    if end < start:
        raise ValueError(f"calendar end {end} is before its start {start}")
    first_year, last_year = supported_years()
    columns: dict[str, list] = {name: [] for name in CALENDAR_SCHEMA.names}
    index = 0
    day = start
    while day <= end:
        if first_year <= day.year <= last_year:
            is_workday = chinese_calendar.is_workday(day)
            is_holiday_related, name = chinese_calendar.get_holiday_detail(day)
            # On a make-up workday the library returns (False, <holiday it makes up for>).
            is_makeup = is_workday and day.weekday() >= 5
            holiday_name = name if is_holiday_related and not is_workday else None
            source = OFFICIAL_SOURCE
        else:
            is_workday = day.weekday() < 5
            is_makeup = False
            holiday_name = None
            source = FALLBACK_SOURCE
        if is_workday:
            index += 1
        columns["day"].append(day)
        columns["is_workday"].append(is_workday)
        columns["workday_index"].append(index)
        columns["holiday_name"].append(holiday_name)
        columns["calendar_source"].append(source)
        columns["is_makeup_workday"].append(is_makeup)
        columns["holiday_name_zh"].append(HOLIDAY_NAMES_ZH.get(holiday_name) if holiday_name else None)
        day += timedelta(days=1)
    return pa.table(columns, schema=CALENDAR_SCHEMA)
