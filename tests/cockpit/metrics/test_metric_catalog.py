"""The metric catalog against a small real warehouse file.

The expected numbers are computed independently with pandas from the same rows:
`EXPECTED` restates every KPI as a pandas filter and aggregate (not derived from
the catalog's SQL), and `expected_frame` applies the period, 环比/同比 bases,
scope and grouping the way the catalog promises to.
"""

from __future__ import annotations

import math
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml

from cockpit.metrics import (
    CATALOG_PATH,
    MODULES,
    TIME_DIMENSIONS,
    Period,
    compute,
    default_catalog,
    explain,
    get_metric,
    load_catalog,
    status_for,
)

MARTS_MD = Path(__file__).resolve().parents[3] / "warehouse" / "MARTS.md"
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
WEEK_OF_DAYS = Period(date(2026, 11, 10), date(2026, 11, 16))  # 7 custom days, Tuesday to Monday
NAN = float("nan")
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# ---------------------------------------------------------------------------------------
# The pandas oracle
# ---------------------------------------------------------------------------------------

Rows = pd.DataFrame
Mask = Callable[[Rows, pd.Timestamp, pd.Timestamp], Any]
Aggregate = Callable[[Rows, pd.Timestamp], float]


def flag(rows: Rows, column: str) -> pd.Series:
    return rows[column].fillna(False).astype(bool)


def count(rows: Rows, end: pd.Timestamp) -> float:
    return float(len(rows))


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else NAN


def share(column: str) -> Aggregate:
    return lambda rows, end: ratio(int(flag(rows, column).sum()), len(rows))


def mean(column: str, scale: float = 1.0) -> Aggregate:
    return lambda rows, end: float(rows[column].mean()) / scale if rows[column].notna().any() else NAN


def hours_quantile(start: str, end_column: str, q: float) -> Aggregate:
    """The q-quantile of the hours from `start` to `end_column`, linearly interpolated (pandas' default)."""

    def aggregate(rows, end):
        hours = ((rows[end_column] - rows[start]).dt.total_seconds() / 3600).dropna()
        return float(hours.quantile(q)) if len(hours) else NAN

    return aggregate


def total(column: str) -> Aggregate:
    return lambda rows, end: float(rows[column].sum())


def open_at(received: str, resolved: str) -> Mask:
    return lambda d, s, e: (d[received] < e) & (d[resolved].isna() | (d[resolved] >= e))


def joined_by(column: str) -> Mask:
    return lambda d, s, e: d[column].isna() | (d[column] < e)


def every_row(d, s, e):
    return pd.Series(True, index=d.index)


def not_duplicate(d, s, e):
    return d["duplicate_of"].isna()


def citizen(d, s, e):
    return d["reporter_kind"] == "citizen"


def city_case(d, s, e):
    return d["channel"] == "city_mgmt"


def due_case(d, s, e):
    """A 数字城管 case due in the period (应结案 / 应处置): not a duplicate, not on hold."""
    return not_duplicate(d, s, e) & city_case(d, s, e) & ~flag(d, "is_suspended")


def part(test: Callable[[Rows], pd.Series]) -> Aggregate:
    """The share of the rows passing `test`."""
    return lambda rows, end: ratio(int(test(rows).sum()), len(rows))


def known_share(column: str) -> Aggregate:
    """The share of true among the rows where the flag is known (NULL: not asked, or not yet due)."""

    def aggregate(rows, end):
        known = rows[column].dropna().astype(bool)
        return ratio(int(known.sum()), len(known))

    return aggregate


def not_fixed_on_the_spot(d, s, e):
    return ~flag(d, "self_resolved")


def both(*masks: Mask) -> Mask:
    def combined(d, s, e):
        result = pd.Series(True, index=d.index)
        for mask in masks:
            result &= mask(d, s, e)
        return result

    return combined


@dataclass(frozen=True)
class Expect:
    table: str
    period_column: str | None
    rows: Mask
    aggregate: Aggregate
    groups: dict[str, str] | None = None  # dimension → column, when it differs from the table's


TICKET = {
    "community": "community_id",
    "grid": "grid_id",
    "micro_grid": "micro_grid_id",
    "department": "department_id",
    "channel": "channel",
    "category": "category",
    "satisfaction": "satisfaction",
}
# Dimensions of a ticket read through its category: dim_category's column for each.
CATEGORY_GROUPS = {"category_group_1": "group_1", "category_group_2": "group_2"}
PLACE = {"community": "community_id", "grid": "grid_id"}
GROUP_COLUMNS = {
    "fct_ticket": TICKET,
    "fct_alarm": {**PLACE, "device_kind": "device_kind", "alarm_kind": "alarm_kind"},
    "fct_video_status": PLACE,
    "fct_device_status": {**PLACE, "device_kind": "kind"},
    "fct_sensor_hourly": {**PLACE, "device_kind": "kind"},
    "fct_approval": {
        "community": "community_id",
        "department": "department_id",
        "channel": "channel",
        "service_item": "service_item_id",
    },
    "fct_inspection": {**PLACE, "domain": "domain", "subject": "subject_name"},
    "fct_hazard": {**PLACE, "domain": "domain"},
    "fct_enforcement_case": {**PLACE, "domain": "domain", "subject": "subject_name"},
    "fct_visit": {**PLACE, "micro_grid": "micro_grid_id", "round": "round"},
    "fct_party_member": {"community": "community_id"},
    "fct_pledge": {"community": "community_id", "category": "category"},
    "fct_project": {"community": "community_id", "batch": "batch"},
    "fct_meeting": {"community": "community_id"},
    "fct_volunteer_activity": {"community": "community_id"},
    "dim_community": {"community": "community_id"},
    "dim_grid": {"community": "community_id"},
    "dim_party_org": {"community": "community_id", "org_level": "level"},
    "dim_partner_unit": {"community": "community_id", "partner_kind": "kind"},
}


def next_workday_end(calendar: Rows) -> Callable[[pd.Timestamp], pd.Timestamp]:
    workdays = sorted(calendar.loc[flag(calendar, "is_workday"), "day"])

    def end_of_next_workday(at: pd.Timestamp) -> pd.Timestamp:
        return next(day for day in workdays if day >= at.normalize()) + pd.Timedelta(days=1)

    return end_of_next_workday


def overdue_open(d, s, e):
    return open_at("received_at", "resolved_at")(d, s, e) & (d["deadline_at"] < e)


def live(d, s, e):
    return open_at("raised_at", "cleared_at")(d, s, e)


def open_application(d, s, e):
    return ~d["status"].isin(["rejected", "withdrawn"]) & open_at("received_at", "completed_at")(d, s, e)


def open_hazard(d, s, e):
    return open_at("found_on", "rectified_on")(d, s, e)


def grid_report(d, s, e):
    return d["channel"] == "grid_report"


def completed_share(flag_column: str) -> Aggregate:
    def aggregate(rows, end):
        completed = flag(rows, "is_completed")
        return ratio(int((completed & flag(rows, flag_column)).sum()), int(completed.sum()))

    return aggregate


def resolved_share(rows, end):
    resolved = flag(rows, "is_resolved")
    return ratio(int((resolved & flag(rows, "is_on_time")).sum()), int(resolved.sum()))


def received_resolved_by_deadline(rows, end):
    return ratio(int((rows["resolved_at"] <= rows["deadline_at"]).sum()), len(rows))


def of_resolved(aggregate: Aggregate) -> Aggregate:
    return lambda rows, end: aggregate(rows[flag(rows, "is_resolved")], end)


def make_expectations(tables: dict[str, Rows]) -> dict[str, Expect]:
    due_window_end = next_workday_end(tables["dim_calendar"])

    def due_soon(d, s, e):
        return (
            open_at("received_at", "resolved_at")(d, s, e)
            & (d["deadline_at"] >= e)
            & (d["deadline_at"] < due_window_end(e))
        )

    return {
        # overview
        "residents": Expect("dim_community", None, every_row, total("residents")),
        "households": Expect("dim_community", None, every_row, total("households")),
        "communities": Expect("dim_community", None, every_row, count),
        "open_overdue_tickets": Expect("fct_ticket", None, both(not_duplicate, overdue_open), count),
        "live_alarms": Expect("fct_alarm", None, live, count),
        "live_high_alarms": Expect("fct_alarm", None, both(live, lambda d, s, e: d["level"] == "high"), count),
        # dispatch
        "tickets_received": Expect("fct_ticket", "received_at", not_duplicate, count),
        **{
            f"tickets_{step}": Expect(
                "fct_ticket", "received_at", both(not_duplicate, lambda d, s, e, c=column: d[c].notna()), count
            )
            for step, column in (
                ("dispatched", "dispatched_at"),
                ("accepted", "accepted_at"),
                ("received_resolved", "resolved_at"),
                ("closed", "closed_at"),
            )
        },
        "tickets_followed_up": Expect(
            "fct_ticket", "received_at", both(not_duplicate, lambda d, s, e: flag(d, "has_follow_up")), count
        ),
        "tickets_resolved": Expect(
            "fct_ticket", "resolved_at", not_duplicate, lambda r, e: float(flag(r, "is_resolved").sum())
        ),
        "open_tickets": Expect("fct_ticket", None, both(not_duplicate, open_at("received_at", "resolved_at")), count),
        "on_time_rate": Expect("fct_ticket", "resolved_at", not_duplicate, resolved_share),
        "received_on_time_rate": Expect("fct_ticket", "received_at", not_duplicate, received_resolved_by_deadline),
        "timely_accept_rate": Expect("fct_ticket", "dispatched_at", not_duplicate, share("is_accepted_timely")),
        "return_rate": Expect(
            "fct_ticket",
            "dispatched_at",
            not_duplicate,
            lambda r, e: ratio(int((r["returned_count"] > 0).sum()), len(r)),
        ),
        "extension_rate": Expect("fct_ticket", "received_at", not_duplicate, share("is_extended")),
        "rework_rate": Expect("fct_ticket", "resolved_at", not_duplicate, share("is_reworked")),
        "satisfaction_rate": Expect(
            "fct_ticket",
            "resolved_at",
            both(not_duplicate, lambda d, s, e: flag(d, "has_follow_up")),
            share("is_satisfied"),
        ),
        # the official 口径: each ratio restated from the row flags the warehouse tests check event by event
        "response_rate": Expect(
            "fct_ticket", "dispatched_at", both(not_duplicate, citizen), known_share("is_responded")
        ),
        "solve_rate": Expect("fct_ticket", "resolved_at", not_duplicate, known_share("is_solved")),
        "one_time_resolution_rate": Expect(
            "fct_ticket",
            "resolved_at",
            not_duplicate,
            lambda r, e: ratio(
                int((flag(r, "is_resolved") & (r["returned_count"] == 0) & ~flag(r, "is_reworked")).sum()),
                int(flag(r, "is_resolved").sum()),
            ),
        ),
        "urge_rate": Expect(
            "fct_ticket",
            "received_at",
            both(not_duplicate, citizen),
            lambda r, e: ratio(int((r["urge_count"] > 0).sum()), len(r)),
        ),
        "reopen_rate": Expect("fct_ticket", "first_closed_at", not_duplicate, share("is_reopened")),
        "merge_rate": Expect("fct_ticket", "received_at", every_row, part(lambda r: r["duplicate_of"].notna())),
        "city_cases_registered": Expect("fct_ticket", "received_at", both(not_duplicate, city_case), count),
        "city_case_close_rate": Expect("fct_ticket", "deadline_at", due_case, part(lambda r: r["closed_at"].notna())),
        "city_case_on_time_close_rate": Expect(
            "fct_ticket", "deadline_at", due_case, part(lambda r: r["closed_at"] <= r["deadline_at"])
        ),
        "city_case_disposal_rate": Expect(
            "fct_ticket", "deadline_at", due_case, part(lambda r: r["resolved_at"].notna())
        ),
        "city_case_rework_rate": Expect("fct_ticket", "deadline_at", due_case, share("is_reworked")),
        "city_case_extension_rate": Expect(
            "fct_ticket", "deadline_at", due_case, part(lambda r: r["extension_count"] > 0)
        ),
        "due_soon_tickets": Expect("fct_ticket", None, both(not_duplicate, due_soon), count),
        "avg_accept_hours": Expect("fct_ticket", "accepted_at", not_duplicate, mean("accept_hours")),
        "avg_resolve_hours": Expect(
            "fct_ticket", "resolved_at", not_duplicate, lambda r, e: mean("resolve_hours")(r[flag(r, "is_resolved")], e)
        ),
        "median_resolve_hours": Expect(
            "fct_ticket", "resolved_at", not_duplicate, of_resolved(hours_quantile("received_at", "resolved_at", 0.5))
        ),
        "p90_resolve_hours": Expect(
            "fct_ticket", "resolved_at", not_duplicate, of_resolved(hours_quantile("received_at", "resolved_at", 0.9))
        ),
        "median_first_reply_hours": Expect(
            "fct_ticket",
            "first_reply_at",
            both(not_duplicate, not_fixed_on_the_spot),
            hours_quantile("received_at", "first_reply_at", 0.5),
        ),
        "p90_first_reply_hours": Expect(
            "fct_ticket",
            "first_reply_at",
            both(not_duplicate, not_fixed_on_the_spot),
            hours_quantile("received_at", "first_reply_at", 0.9),
        ),
        "repeat_complaint_rate": Expect("fct_ticket", "received_at", not_duplicate, share("is_repeat_complaint")),
        "duplicates_merged": Expect("fct_ticket", "received_at", lambda d, s, e: d["duplicate_of"].notna(), count),
        "supervised_tickets": Expect(
            "fct_ticket", "received_at", not_duplicate, lambda r, e: float(flag(r, "is_supervised").sum())
        ),
        "alarms_raised": Expect("fct_alarm", "raised_at", every_row, count),
        "avg_minutes_to_clear": Expect("fct_alarm", "cleared_at", every_row, mean("minutes_to_clear")),
        "video_online_rate": Expect("fct_video_status", "status_date", every_row, share("is_online")),
        "sensor_online_rate": Expect(
            "fct_device_status", "status_date", lambda d, s, e: d["kind"] != "video", share("is_online")
        ),
        "devices_offline": Expect(
            "fct_device_status",
            None,
            lambda d, s, e: d["status_date"] == (pd.Timestamp(e) - pd.Timedelta(days=1)).normalize(),
            lambda r, e: float((~r["is_online"].astype(bool)).sum()),
        ),
        "sensor_data_quality_rate": Expect(
            "fct_sensor_hourly", "hour", every_row, lambda r, e: ratio(int((r["quality"] == "ok").sum()), len(r))
        ),
        # grid (visit_coverage has a denominator: see expected_visit_coverage)
        "visits": Expect("fct_visit", "visited_at", every_row, count),
        "households_visited": Expect(
            "fct_visit", "visited_at", every_row, lambda r, e: float(r["household_id"].nunique())
        ),
        "grid_events_reported": Expect("fct_ticket", "received_at", grid_report, count),
        "grid_self_resolution_rate": Expect("fct_ticket", "received_at", grid_report, share("self_resolved")),
        "grids": Expect("dim_grid", None, lambda d, s, e: d["level"].isin(["comprehensive", "dedicated"]), count),
        "micro_grids": Expect(
            "dim_grid",
            None,
            lambda d, s, e: d["level"] == "micro",
            count,
            groups={"community": "community_id", "grid": "parent_id"},
        ),
        "grid_workers": Expect(
            "dim_grid",
            None,
            lambda d, s, e: d["level"].isin(["comprehensive", "dedicated", "micro"]),
            lambda r, e: float(r["worker_id"].nunique()),
        ),
        # approvals
        "approvals_received": Expect("fct_approval", "received_at", every_row, count),
        "approvals_completed": Expect(
            "fct_approval", "completed_at", every_row, lambda r, e: float(flag(r, "is_completed").sum())
        ),
        "approval_on_time_rate": Expect("fct_approval", "completed_at", every_row, completed_share("is_on_time")),
        "avg_approval_working_days": Expect(
            "fct_approval",
            "completed_at",
            every_row,
            lambda r, e: mean("working_days_taken")(r[flag(r, "is_completed")], e),
        ),
        "good_rating_rate": Expect(
            "fct_approval", "completed_at", lambda d, s, e: d["rating"].notna(), share("is_good_rating")
        ),
        "open_approvals_past_limit": Expect(
            "fct_approval", None, both(open_application, lambda d, s, e: d["legal_deadline"] < e), count
        ),
        "open_approvals": Expect("fct_approval", None, open_application, count),
        # enforcement
        "inspections": Expect("fct_inspection", "inspected_on", every_row, count),
        "hazards_found": Expect("fct_hazard", "found_on", every_row, count),
        "hazard_rectification_rate": Expect(
            "fct_hazard", "found_on", every_row, lambda r, e: ratio(int((r["rectified_on"] < e).sum()), len(r))
        ),
        "hazards_rectified": Expect("fct_hazard", "rectified_on", every_row, count),
        "open_hazards": Expect("fct_hazard", None, open_hazard, count),
        "open_major_hazards": Expect(
            "fct_hazard", None, both(open_hazard, lambda d, s, e: d["level"] == "major"), count
        ),
        "cases_opened": Expect("fct_enforcement_case", "opened_on", every_row, count),
        "cases_closed": Expect("fct_enforcement_case", "closed_on", every_row, count),
        "penalties_yuan": Expect("fct_enforcement_case", "closed_on", every_row, total("penalty_yuan")),
        "avg_days_to_close": Expect("fct_enforcement_case", "closed_on", every_row, mean("days_to_close")),
        # party
        "party_members": Expect("fct_party_member", None, joined_by("joined_on"), count),
        "party_volunteers": Expect(
            "fct_party_member", None, joined_by("joined_on"), lambda r, e: float(flag(r, "is_volunteer").sum())
        ),
        "party_orgs": Expect("dim_party_org", None, every_row, count),
        "partner_units": Expect("dim_partner_unit", None, joined_by("joined_on"), count),
        "pledges_posted": Expect("fct_pledge", "posted_on", every_row, count),
        "pledges_claimed": Expect("fct_pledge", "claimed_on", every_row, count),
        "pledges_delivered": Expect("fct_pledge", "delivered_on", every_row, count),
        "pledge_claim_rate": Expect(
            "fct_pledge",
            None,
            lambda d, s, e: d["posted_on"] < e,
            lambda r, e: ratio(int((r["claimed_on"] < e).sum()), len(r)),
        ),
        "project_avg_progress": Expect("fct_project", None, joined_by("started_on"), mean("progress_pct", 100)),
        "projects_completed": Expect("fct_project", "completed_on", every_row, count),
        "projects_delayed": Expect(
            "fct_project",
            None,
            lambda d, s, e: (d["due_on"] < e) & (d["completed_on"].isna() | (d["completed_on"] >= e)),
            count,
        ),
        "meetings_held": Expect("fct_meeting", "held_on", every_row, count),
        "volunteer_hours": Expect("fct_volunteer_activity", "held_on", every_row, total("hours")),
        "errands_done": Expect(
            "fct_volunteer_activity",
            "held_on",
            lambda d, s, e: d["kind"].isin(["errand_government", "errand_convenience"]),
            count,
        ),
    }


def bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(period.start), pd.Timestamp(period.end + timedelta(days=1))


def truncate(moments: pd.Series, unit: str) -> pd.Series:
    days = moments.dt.normalize()
    if unit == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    if unit == "month":
        return days - pd.to_timedelta(days.dt.day - 1, unit="D")
    return days


def buckets(period: Period, unit: str) -> list[pd.Timestamp]:
    first = truncate(pd.Series([pd.Timestamp(period.start)]), unit)[0]
    keys, key = [], first
    while key <= pd.Timestamp(period.end):
        keys.append(key)
        key = key + (pd.DateOffset(months=1) if unit == "month" else pd.Timedelta(days=7 if unit == "week" else 1))
    return keys


def normal_key(key: Any) -> Any:
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return None
    if isinstance(key, pd.Timestamp | date):
        return pd.Timestamp(key).date()
    return key


def select_key(rows: Rows, keys: pd.Series, key: Any) -> Rows:
    """The rows of one group; `keys` are already normalised (None for a missing key)."""
    return rows[keys.isna()] if key is None else rows[keys == key]


def expected_frame(
    expect: Expect, tables: dict[str, Rows], period: Period, scope: list[str] | None, group_by: str | None
) -> dict[Any, tuple[float, float, float]]:
    """{group key: (value, previous, year_ago)} computed with pandas."""
    frame = tables[expect.table]
    periods = [period, period.previous(), period.year_ago()]
    slices = []
    for index, each in enumerate(periods):
        start, end = bounds(each)
        mask = pd.Series(expect.rows(frame, start, end), index=frame.index).fillna(False).astype(bool)
        if expect.period_column:
            mask &= (frame[expect.period_column] >= start) & (frame[expect.period_column] < end)
        if scope is not None:
            mask &= frame["community_id"].isin(scope)
        rows = frame[mask]
        if group_by is None:
            keys = pd.Series(None, index=rows.index, dtype=object)
        elif group_by in TIME_DIMENSIONS:
            moments = rows[expect.period_column]
            if index == 1:
                moments = moments + pd.Timedelta(days=(period.start - each.start).days)
            elif index == 2:
                moments = moments + pd.DateOffset(years=1)
            keys = truncate(moments, group_by)
        elif group_by in CATEGORY_GROUPS:
            groups = tables["dim_category"].set_index("category")[CATEGORY_GROUPS[group_by]]
            keys = rows["category"].map(groups)
        elif group_by == "grid_worker":  # the worker who runs the row's grid
            workers = tables["dim_grid"].set_index("unit_id")["worker_id"]
            keys = rows["grid_id"].map(workers)
        else:
            keys = rows[(expect.groups or GROUP_COLUMNS[expect.table])[group_by]]
        slices.append((rows, keys.map(normal_key).astype(object), end))

    if group_by is None:
        return {None: tuple(expect.aggregate(rows, end) for rows, _, end in slices)}
    if group_by in TIME_DIMENSIONS:
        all_keys = [key.date() for key in buckets(period, group_by)]
    else:
        all_keys = {normal_key(key) for _, keys, _ in slices for key in keys}
    return {
        key: tuple(expect.aggregate(select_key(rows, keys, key), end) for rows, keys, end in slices) for key in all_keys
    }


def expected_visit_coverage(
    tables: dict[str, Rows], period: Period, scope: list[str] | None, group_by: str | None
) -> dict[Any, tuple[float, float, float]]:
    visits, grids = tables["fct_visit"], tables["dim_grid"]
    micro = grids[grids["level"] == "micro"]
    if scope is not None:
        visits, micro = visits[visits["community_id"].isin(scope)], micro[micro["community_id"].isin(scope)]
    visit_column = {"community": "community_id", "grid": "grid_id", "micro_grid": "micro_grid_id"}.get(group_by)
    grid_column = {"community": "community_id", "grid": "parent_id", "micro_grid": "unit_id"}.get(group_by)
    result: dict[Any, list[float]] = {}
    for index, each in enumerate([period, period.previous(), period.year_ago()]):
        start, end = bounds(each)
        seen = visits[(visits["visited_at"] >= start) & (visits["visited_at"] < end)]
        if group_by is None:
            numerators = {None: seen["household_id"].nunique()}
            denominators = {None: micro["households"].sum()}
        else:
            numerators = seen.groupby(visit_column)["household_id"].nunique().to_dict()
            denominators = micro.groupby(grid_column)["households"].sum().to_dict()
        for key in set(numerators) | set(denominators):
            households = denominators.get(key)
            value = numerators.get(key, 0) / households if households else NAN
            result.setdefault(key, [NAN, NAN, NAN])[index] = value
    return {key: tuple(values) for key, values in result.items()}


# ---------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------

CATALOG = default_catalog()


@pytest.fixture(scope="session")
def tables(con) -> dict[str, Rows]:
    names = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    return {name: con.execute(f"SELECT * FROM {name}").df() for name in names}


@pytest.fixture(scope="session")
def expectations(tables) -> dict[str, Expect]:
    return make_expectations(tables)


def same(actual: Any, expected: Any) -> bool:
    actual_nan = actual is None or (isinstance(actual, float) and math.isnan(actual))
    expected_nan = expected is None or (isinstance(expected, float) and math.isnan(expected))
    if actual_nan or expected_nan:
        return actual_nan and expected_nan
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


def as_dict(frame: pd.DataFrame, group_by: str | None) -> dict[Any, tuple[float, float, float]]:
    keys = [None] * len(frame) if group_by is None else [normal_key(key) for key in frame[group_by]]
    return {
        key: (row.value, row.previous, row.year_ago)
        for key, row in zip(keys, frame.itertuples(index=False), strict=True)
    }


def cases_for(metric_id: str) -> list[tuple[str, Period, list[str] | None, str | None]]:
    metric = CATALOG[metric_id]
    place_dimensions = [
        d
        for d in metric.dimensions
        if d not in TIME_DIMENSIONS and d not in ("community", "grid_worker") and d not in CATEGORY_GROUPS
    ]
    cases = [
        ("street", NOVEMBER, None, None),
        ("by-community", NOVEMBER, ["c01", "c03"], "community"),
        ("custom-days", WEEK_OF_DAYS, ["c01", "c02", "c09"], (place_dimensions or ["community"])[-1]),
    ]
    if "week" in metric.dimensions:
        cases.append(("by-week", NOVEMBER, None, "week"))
    if "category_group_1" in metric.dimensions:
        cases.append(("by-category-group-1", NOVEMBER, None, "category_group_1"))
    if "grid_worker" in metric.dimensions:
        cases.append(("by-grid-worker", NOVEMBER, ["c01", "c02"], "grid_worker"))
    if "category_group_2" in metric.dimensions:
        cases.append(("by-category-group-2", WEEK_OF_DAYS, ["c01", "c02"], "category_group_2"))
    return cases


ALL_CASES = [
    pytest.param(metric_id, period, scope, group_by, id=f"{metric_id}-{name}")
    for metric_id in CATALOG
    for name, period, scope, group_by in cases_for(metric_id)
]


# ---------------------------------------------------------------------------------------
# The catalog file
# ---------------------------------------------------------------------------------------


def test_catalog_has_at_least_40_kpis_and_5_per_module():
    per_module = Counter(metric.module for metric in CATALOG.values())
    assert len(CATALOG) >= 40
    assert set(per_module) == set(MODULES)
    assert min(per_module.values()) >= 5, per_module


def test_catalog_covers_the_kpis_the_screens_need():
    required = {
        "tickets_received",
        "on_time_rate",
        "timely_accept_rate",
        "rework_rate",
        "extension_rate",
        "return_rate",
        "satisfaction_rate",
        "open_overdue_tickets",
        "due_soon_tickets",
        "avg_accept_hours",
        "avg_resolve_hours",
        "median_resolve_hours",
        "p90_resolve_hours",
        "repeat_complaint_rate",
        "duplicates_merged",
        "grid_self_resolution_rate",
        "live_alarms",
        "live_high_alarms",
        "alarms_raised",
        "avg_minutes_to_clear",
        "video_online_rate",
        "sensor_online_rate",
        "devices_offline",
        "sensor_data_quality_rate",
        "approvals_received",
        "approvals_completed",
        "approval_on_time_rate",
        "avg_approval_working_days",
        "good_rating_rate",
        "open_approvals_past_limit",
        "inspections",
        "hazards_found",
        "hazard_rectification_rate",
        "open_hazards",
        "cases_opened",
        "cases_closed",
        "penalties_yuan",
        "visit_coverage",
        "visits",
        "party_members",
        "party_orgs",
        "partner_units",
        "pledges_posted",
        "pledges_claimed",
        "pledges_delivered",
        "pledge_claim_rate",
        "project_avg_progress",
        "projects_completed",
        "meetings_held",
        "volunteer_hours",
        "errands_done",
    }
    assert required <= set(CATALOG), sorted(required - set(CATALOG))


def test_every_kpi_reads_a_mart_named_in_marts_md():
    marts = set(re.findall(r"`((?:fct|dim)_[a-z_]+)`", MARTS_MD.read_text(encoding="utf-8")))
    for metric in CATALOG.values():
        assert metric.fact in marts, metric.id
        if metric.denominator:
            assert metric.denominator.fact in marts, metric.id


def test_every_kpi_is_explained_in_both_languages():
    for metric in CATALOG.values():
        assert re.search(r"[\u4e00-\u9fff]", metric.definition), metric.id
        assert metric.definition_en and metric.sources, metric.id
        assert (metric.unit == "%") == metric.is_ratio


def _write_catalog(tmp_path: Path, mutate: Callable[[dict], None]) -> Path:
    document = yaml.load(CATALOG_PATH.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    mutate(document)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.dump(document, Dumper=SAFE_DUMPER, allow_unicode=True), encoding="utf-8")
    return path


def _kpi(document: dict, kpi_id: str) -> dict:
    return next(entry for entry in document["kpis"] if entry["id"] == kpi_id)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda k: k.update(module="finance"), "unknown module 'finance'"),
        (lambda k: k.update(fact="fct_tickets"), "unknown fact 'fct_tickets'"),
        (lambda k: k.update(dimensions=["community", "street"]), "unknown dimension 'street'"),
        (lambda k: k.update(dimensions=["community", "alarm_kind"]), "'alarm_kind' is not supported by fact"),
        (lambda k: k.update(dimensions=["community", "term"]), "'term' only filters"),
        (lambda k: k.update(period_column=None), "needs a period_column"),
        (lambda k: k.update(thresholds={"green": 0.8, "amber": 0.9}), "green bound must be ≥"),
        (lambda k: k.update(thresholds={"green": 95, "amber": 90}), "fractions 0–1"),
        (lambda k: k.update(where="resolved_at < {as_of}"), "unknown placeholder {as_of}"),
        (lambda k: k.update(sources=["hotline_12345", "wechat"]), "unknown source 'wechat'"),
        (lambda k: k.update(unit="percent"), "unknown unit"),
        (lambda k: k.pop("definition"), "missing field(s) definition"),
        (lambda k: k.update(formula="count(*)"), "unknown field(s) formula"),
    ],
)
def test_load_catalog_rejects_a_bad_kpi_naming_it(tmp_path, mutate, message):
    path = _write_catalog(tmp_path, lambda document: mutate(_kpi(document, "on_time_rate")))
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        load_catalog(path)
    assert "'on_time_rate'" in str(raised.value)


def test_load_catalog_rejects_a_duplicate_id(tmp_path):
    path = _write_catalog(tmp_path, lambda document: document["kpis"].append(dict(_kpi(document, "visits"))))
    with pytest.raises(ValueError, match=r"'visits'.*defined twice"):
        load_catalog(path)


def test_load_catalog_reads_the_packaged_file_by_default():
    assert load_catalog() == load_catalog(CATALOG_PATH)
    assert set(load_catalog()) == set(CATALOG)


# ---------------------------------------------------------------------------------------
# Computing
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric_id", list(CATALOG))
def test_every_kpi_computes_for_every_dimension_it_declares(con, metric_id):
    metric = CATALOG[metric_id]
    whole = compute(con, metric_id, NOVEMBER)
    assert list(whole.columns) == [
        "label",
        "value",
        "previous",
        "year_ago",
        "change_mom",
        "change_yoy",
        "change_kind",
        "status",
    ]
    assert len(whole) == 1 and whole["label"][0] == metric.name_zh
    for dimension in metric.dimensions:
        grouped = compute(con, metric_id, NOVEMBER, scope=["c01", "c02"], group_by=dimension, compare=False)
        assert list(grouped.columns) == [dimension, "label", "value", "status"], dimension
        assert grouped["label"].map(lambda label: isinstance(label, str) and label != "").all(), dimension


@pytest.mark.parametrize(("metric_id", "period", "scope", "group_by"), ALL_CASES)
def test_kpi_equals_an_independent_pandas_computation(con, tables, expectations, metric_id, period, scope, group_by):
    if metric_id == "visit_coverage":
        expected = expected_visit_coverage(tables, period, scope, group_by)
    else:
        expected = expected_frame(expectations[metric_id], tables, period, scope, group_by)
    frame = compute(con, metric_id, period, scope=scope, group_by=group_by)
    actual = as_dict(frame, group_by)

    assert set(actual) == set(expected)
    for key, values in expected.items():
        assert all(same(a, e) for a, e in zip(actual[key], values, strict=True)), (key, actual[key], values)
    metric = CATALOG[metric_id]
    for row in frame.itertuples(index=False):
        if metric.is_ratio:
            assert same(row.change_mom, row.value - row.previous)
        else:
            base = row.previous
            expected_change = NAN if same(base, NAN) or base == 0 else (row.value - base) / abs(base)
            assert same(row.change_mom, expected_change)
        assert row.change_kind == ("points" if metric.is_ratio else "relative")
        assert row.status == status_for(metric, row.value, period)


def test_expectations_cover_the_whole_catalog(expectations):
    assert set(expectations) | {"visit_coverage"} == set(CATALOG)


def test_previous_and_year_ago_columns_are_the_right_periods(con):
    for period in (NOVEMBER, WEEK_OF_DAYS, Period(date(2026, 3, 1), date(2026, 3, 31))):
        current = compute(con, "tickets_received", period, group_by="community").set_index("community")
        previous = compute(con, "tickets_received", period.previous(), compare=False, group_by="community")
        year_ago = compute(con, "tickets_received", period.year_ago(), compare=False, group_by="community")
        for community, value in previous.set_index("community")["value"].items():
            assert current.loc[community, "previous"] == value
        for community, value in year_ago.set_index("community")["value"].items():
            assert current.loc[community, "year_ago"] == value
    assert WEEK_OF_DAYS.previous() == Period(date(2026, 11, 3), date(2026, 11, 9))


def test_leap_day_is_compared_with_28_february(con):
    # c09 holds one ticket on 2028-02-29 and two on 2027-02-28 (its 同比 base), one per the day before.
    leap_day = Period(date(2028, 2, 29), date(2028, 2, 29))
    row = compute(con, "tickets_received", leap_day, scope=["c09"]).iloc[0]
    assert (row.value, row.year_ago) == (1, 2)
    assert row.change_yoy == pytest.approx(-0.5)


def test_stock_kpi_is_evaluated_at_the_end_of_each_period(con):
    # Hand-counted from the c09 edge tickets (see conftest._edge_tickets).
    row = compute(con, "open_overdue_tickets", NOVEMBER, scope=["c09"]).iloc[0]
    # At 2026-12-01 00:00: edge-overdue, edge-boundary (resolved exactly at that instant) and
    # edge-due-monday (deadline 11-30 18:00); not edge-just-in-time (resolved 23:59:59) nor the
    # duplicate. At 2026-11-01 00:00: edge-october. At 2025-12-01 00:00: nothing yet.
    assert (row.value, row.previous, row.year_ago) == (3, 1, 0)
    assert row.status == "amber"  # down: green ≤ 0 < amber ≤ 5
    open_now = compute(con, "open_tickets", NOVEMBER, scope=["c09"]).iloc[0]
    assert open_now.value == 4  # overdue, boundary, due-monday, due-tuesday; not the duplicate nor december


def test_due_soon_counts_to_the_end_of_the_next_working_day(con):
    friday = Period(date(2026, 11, 23), date(2026, 11, 27))
    assert compute(con, "due_soon_tickets", friday, scope=["c09"], compare=False)["value"][0] == 1  # due Monday
    # The end of 30 September is followed by the National Day holiday: Thursday 8 October is next.
    september_end = Period(date(2026, 9, 30), date(2026, 9, 30))
    assert compute(con, "due_soon_tickets", september_end, scope=["c09"], compare=False)["value"][0] == 1


def test_resolve_hour_percentiles_interpolate_between_tickets(con):
    # c09 resolved two tickets in November 2026 (conftest._edge_tickets): edge-october, received
    # 09-28 09:00 and resolved 11-05 10:00, and edge-just-in-time, received 11-10 09:00 and resolved
    # 11-30 23:59:59; edge-boundary, resolved at 12-01 00:00, falls in December.
    october = 38 * 24 + 1
    just_in_time = 20 * 24 + 14 + 3599 / 3600
    median = compute(con, "median_resolve_hours", NOVEMBER, scope=["c09"], compare=False).iloc[0]
    p90 = compute(con, "p90_resolve_hours", NOVEMBER, scope=["c09"], compare=False).iloc[0]
    assert median.value == pytest.approx((october + just_in_time) / 2)  # 704.0 h
    assert p90.value == pytest.approx(just_in_time + 0.9 * (october - just_in_time))  # 871.2 h, not nearest rank
    assert (median.status, p90.status) == ("red", "red")  # down: red above 72 h and 360 h


def test_scope_limits_rows_to_the_communities(con, tables):
    tickets = tables["fct_ticket"]
    in_november = (tickets["received_at"] >= "2026-11-01") & (tickets["received_at"] < "2026-12-01")
    originals = tickets["duplicate_of"].isna() & in_november
    street = compute(con, "tickets_received", NOVEMBER)["value"][0]
    c01 = compute(con, "tickets_received", NOVEMBER, scope=["c01"])["value"][0]
    assert c01 == (originals & (tickets["community_id"] == "c01")).sum()
    assert 0 < c01 < street == originals.sum()
    grouped = compute(con, "tickets_received", NOVEMBER, scope=["c01", "c03"], group_by="community")
    assert set(grouped["community"]) == {"c01", "c03"}
    assert compute(con, "tickets_received", NOVEMBER, scope=[])["value"][0] == 0


def test_sql_injection_in_scope_is_only_a_value(warehouse_path, tmp_path):
    copy = tmp_path / "writable.duckdb"
    shutil.copy(warehouse_path, copy)
    with duckdb.connect(str(copy)) as writable:  # writable, so a successful injection would show
        attempts = ["c01' OR '1'='1", "c01'); DROP TABLE fct_ticket; --", "' UNION SELECT 'c01"]
        row = compute(writable, "tickets_received", NOVEMBER, scope=attempts).iloc[0]
        assert row.value == 0
        assert writable.execute("SELECT count(*) FROM fct_ticket").fetchone()[0] > 0
        with pytest.raises(ValueError, match="cannot be grouped"):
            compute(writable, "tickets_received", NOVEMBER, group_by="community_id; DROP TABLE fct_ticket")
        with pytest.raises(ValueError, match="unknown KPI"):
            compute(writable, "count(*) FROM fct_ticket --", NOVEMBER)
        with pytest.raises(TypeError):
            compute(writable, "tickets_received", NOVEMBER, scope="c01")


def test_labels_come_from_dimension_tables_then_the_catalog(con):
    channels = compute(con, "tickets_received", NOVEMBER, group_by="channel", compare=False)
    assert dict(zip(channels["channel"], channels["label"], strict=True))["hotline_12345"] == "12345热线"
    kinds = compute(con, "alarms_raised", NOVEMBER, group_by="device_kind", compare=False)
    assert dict(zip(kinds["device_kind"], kinds["label"], strict=True))["video"] == "视频监控"
    windows = compute(con, "approvals_received", NOVEMBER, group_by="channel", compare=False)
    assert "窗口办理" in set(windows["label"])
    micro = compute(con, "tickets_received", NOVEMBER, group_by="micro_grid", compare=False)
    assert "未指定" in set(micro.loc[micro["micro_grid"].isna(), "label"])


def test_tickets_group_and_filter_by_the_levels_of_the_category_taxonomy(con, tables):
    # The oracle joins tickets to the taxonomy in pandas (conftest.TAXONOMY: noise and ac_noise
    # are 城市管理 › 噪声扰民; a flat category is its own group at both levels).
    tickets, categories = tables["fct_ticket"], tables["dim_category"]
    in_november = (tickets["received_at"] >= "2026-11-01") & (tickets["received_at"] < "2026-12-01")
    received = tickets[in_november & tickets["duplicate_of"].isna()].merge(categories, on="category", how="left")
    expected = received.groupby("group_1").size().to_dict()
    by_group = compute(con, "tickets_received", NOVEMBER, group_by="category_group_1", compare=False)
    assert dict(zip(by_group["category_group_1"], by_group["value"], strict=True)) == expected
    assert dict(zip(by_group["category_group_1"], by_group["label"], strict=True))["城市管理"] == "城市管理"
    assert expected["城市管理"] > received["category"].isin(["noise", "ac_noise"]).sum() > 0  # a real group
    noise = compute(con, "tickets_received", NOVEMBER, filters={"category_group_2": "噪声扰民"}, compare=False)
    assert noise["value"][0] == received["category"].isin(["noise", "ac_noise"]).sum()
    on_time = compute(con, "on_time_rate", NOVEMBER, filters={"category_group_1": "城市管理"}, compare=False)
    resolved = tickets[
        (tickets["resolved_at"] >= "2026-11-01")
        & (tickets["resolved_at"] < "2026-12-01")
        & tickets["duplicate_of"].isna()
        & tickets["category"].isin(categories.loc[categories["group_1"] == "城市管理", "category"])
    ]
    assert on_time["value"][0] == pytest.approx(resolved["is_on_time"].astype(bool).mean())


def test_time_grouping_gives_every_bucket_of_the_period(con):
    days = compute(con, "tickets_received", NOVEMBER, group_by="day")
    assert len(days) == 30 and days["label"].iloc[0] == "2026-11-01"
    assert days["value"].sum() == compute(con, "tickets_received", NOVEMBER)["value"][0]
    months = compute(con, "tickets_received", Period(date(2026, 10, 1), date(2026, 11, 30)), group_by="month")
    assert list(months["label"]) == ["2026-10", "2026-11"]
    assert months["year_ago"].iloc[1] == compute(con, "tickets_received", NOVEMBER)["year_ago"][0]


def test_ratio_changes_are_points_and_counts_relative(con):
    rate = compute(con, "on_time_rate", NOVEMBER).iloc[0]
    assert rate.change_kind == "points" and rate.change_mom == pytest.approx(rate.value - rate.previous)
    tickets = compute(con, "tickets_received", NOVEMBER).iloc[0]
    assert tickets.change_kind == "relative"
    assert tickets.change_mom == pytest.approx((tickets.value - tickets.previous) / tickets.previous)


# ---------------------------------------------------------------------------------------
# Status colours and tooltips
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric_id", "value", "status"),
    [
        ("on_time_rate", 0.97, "green"),  # up: green ≥ 0.95, amber ≥ 0.90
        ("on_time_rate", 0.95, "green"),
        ("on_time_rate", 0.9499, "amber"),
        ("on_time_rate", 0.90, "amber"),
        ("on_time_rate", 0.8999, "red"),
        ("return_rate", 0.02, "green"),  # down: green ≤ 0.05, amber ≤ 0.10
        ("return_rate", 0.05, "green"),
        ("return_rate", 0.07, "amber"),
        ("return_rate", 0.10, "amber"),
        ("return_rate", 0.1001, "red"),
        ("live_high_alarms", 0, "green"),  # any is red
        ("live_high_alarms", 1, "red"),
        ("on_time_rate", None, "none"),
        ("on_time_rate", NAN, "none"),
        ("tickets_received", 123, "none"),  # neutral
        ("due_soon_tickets", 123, "none"),  # no thresholds
    ],
)
def test_status_follows_thresholds_in_both_directions(metric_id, value, status):
    assert status_for(get_metric(metric_id), value) == status


def test_status_column_uses_the_catalog_thresholds(con):
    metric = get_metric("open_major_hazards")
    frame = compute(con, "open_major_hazards", NOVEMBER, group_by="community")
    assert set(frame["status"]) <= {"green", "red"}
    for row in frame.itertuples(index=False):
        assert row.status == ("green" if row.value == 0 else "red")
    flipped = replace(metric, good="up")  # the same bounds read the other way
    assert status_for(flipped, 1) == "green"


def test_explain_gives_definition_sources_formula_and_thresholds():
    info = explain("on_time_rate")
    assert info["definition"].startswith("统计期内办结的工单中")
    assert info["sources"] == list(get_metric("on_time_rate").sources)
    assert "fct_ticket" in info["formula"] and "resolved_at" in info["formula"]
    assert info["thresholds"] == {"green": 0.95, "amber": 0.90}
    assert explain("visit_coverage")["formula"].count("SELECT") == 2
    assert explain("open_overdue_tickets")["is_stock"] is True
