"""A small real warehouse release for the metric-catalog tests.

Every mart of `warehouse/MARTS.md` is created with its listed columns (typed as
the contract implies: `*_at`/`hour` TIMESTAMP, `*_on`/`*_date` DATE) in a DuckDB
file, filled with a few deterministic rows per table. Rows fall in November
2026 (the main test period), October 2026 (its 环比 base), November 2025 (its
同比 base) and around 29 February 2028 (the leap-day case). Community `c09`
holds only hand-placed edge rows whose expected counts are worked out by hand
in the tests; the seeded rows use `c01`–`c03`.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]
SEEDS = ROOT / "warehouse" / "seeds"

COMMUNITIES = {
    "c01": ("星湖社区", "commodity"),
    "c02": ("金湖社区", "relocation"),
    "c03": ("湖滨社区", "talent"),
    "c09": ("边界社区", "commodity"),
}
# community → comprehensive grid → micro grids (households per micro grid)
GRIDS = {
    "c01": {"g01a": {"m01a1": 60, "m01a2": 45}, "g01b": {"m01b1": 80}},
    "c02": {"g02a": {"m02a1": 70, "m02a2": 30}},
    "c03": {"g03a": {"m03a1": 90}},
    "c09": {"g09a": {"m09a1": 20}},
}
SEEDED_COMMUNITIES = ("c01", "c02", "c03")

# A two-level taxonomy over some seed categories (level 1, level 2), as a source's code list
# would give it; every other category is flat, its own group at both levels.
TAXONOMY = {
    "noise": ("城市管理", "噪声扰民"),
    "ac_noise": ("城市管理", "噪声扰民"),
    "sanitation": ("城市管理", "市容环卫"),
    "garbage_sorting": ("城市管理", "市容环卫"),
    "street_vendor": ("城市管理", "市容环卫"),
    "road": ("公共设施", "道路设施"),
    "drainage": ("公共设施", "排水供水"),
    "water_supply": ("公共设施", "排水供水"),
}

# Seeded rows fall in these windows (weights favour the main period and its bases).
WINDOWS = [
    (datetime(2025, 10, 20), datetime(2025, 12, 10), 3),
    (datetime(2026, 9, 25), datetime(2026, 12, 5), 6),
    (datetime(2027, 2, 20), datetime(2027, 3, 5), 1),
    (datetime(2028, 2, 20), datetime(2028, 3, 5), 1),
]

# A hand-kept calendar is fine for a fixture: Mon–Fri plus the 2026 National Day
# holiday and its make-up Saturday, so "next working day" has a real exception.
HOLIDAYS = {date(2026, 10, 1) + timedelta(days=i) for i in range(7)}
MAKEUP_WORKDAYS = {date(2026, 10, 10)}

DDL = """
CREATE TABLE dim_community (community_id VARCHAR, name VARCHAR, community_type VARCHAR, households INTEGER,
    residents INTEGER, registered_residents INTEGER, micro_grids INTEGER, comprehensive_grids INTEGER,
    dedicated_grids INTEGER, geometry VARCHAR);
CREATE TABLE dim_grid (unit_id VARCHAR, level VARCHAR, parent_id VARCHAR, community_id VARCHAR, name VARCHAR,
    households INTEGER, residents INTEGER, worker_id VARCHAR, geometry VARCHAR);
CREATE TABLE dim_grid_worker (worker_id VARCHAR, name VARCHAR, grid_name VARCHAR, community_id VARCHAR,
    grid_count BIGINT);
CREATE TABLE dim_department (department_id VARCHAR, name_zh VARCHAR, name_en VARCHAR);
CREATE TABLE dim_channel (channel VARCHAR, name_zh VARCHAR, name_en VARCHAR);
CREATE TABLE dim_category (category VARCHAR, name_zh VARCHAR, name_en VARCHAR, sla_working_days INTEGER,
    default_department VARCHAR, group_1 VARCHAR, group_2 VARCHAR);
CREATE TABLE dim_service_item (service_item_id VARCHAR, name VARCHAR, department_id VARCHAR, legal_days INTEGER,
    promised_days INTEGER);
CREATE TABLE dim_device (device_id VARCHAR, kind VARCHAR, owner VARCHAR, name VARCHAR, grid_id VARCHAR,
    community_id VARCHAR, lon DOUBLE, lat DOUBLE, installed_on DATE);
CREATE TABLE dim_party_org (org_id VARCHAR, name VARCHAR, level VARCHAR, parent_id VARCHAR, community_id VARCHAR,
    area_id VARCHAR, members INTEGER);
CREATE TABLE dim_partner_unit (partner_id VARCHAR, name VARCHAR, kind VARCHAR, community_id VARCHAR, joined_on DATE);
CREATE TABLE dim_domain (domain VARCHAR, name_zh VARCHAR, name_en VARCHAR);
CREATE TABLE seed_device_kind (code VARCHAR, name_zh VARCHAR, name_en VARCHAR);
CREATE TABLE dim_calendar (day DATE, is_workday BOOLEAN, workday_index INTEGER, holiday_name VARCHAR,
    calendar_source VARCHAR);
CREATE TABLE meta_release (run_id VARCHAR, built_at TIMESTAMP, as_of TIMESTAMP, data_through DATE,
    is_demo BOOLEAN, lake_path VARCHAR);
CREATE TABLE fct_ticket (ticket_id VARCHAR, channel VARCHAR, category VARCHAR, title VARCHAR, content VARCHAR,
    grid_id VARCHAR, micro_grid_id VARCHAR, community_id VARCHAR, lon DOUBLE, lat DOUBLE, reporter_kind VARCHAR,
    received_at TIMESTAMP, received_date DATE, dispatched_at TIMESTAMP, accepted_at TIMESTAMP,
    first_reply_at TIMESTAMP, resolved_at TIMESTAMP, closed_at TIMESTAMP, first_closed_at TIMESTAMP,
    first_contact_at TIMESTAMP, department_id VARCHAR,
    deadline_at TIMESTAMP, status VARCHAR,
    is_resolved BOOLEAN, is_on_time BOOLEAN, is_overdue BOOLEAN, is_open_overdue BOOLEAN, is_due_soon BOOLEAN,
    accept_hours DOUBLE, resolve_hours DOUBLE, first_reply_hours DOUBLE, is_accepted_timely BOOLEAN,
    is_responded BOOLEAN, urge_count INTEGER, is_urged BOOLEAN, is_suspended BOOLEAN, is_reopened BOOLEAN,
    returned_count INTEGER, extension_count INTEGER, is_extended BOOLEAN, is_supervised BOOLEAN, is_reworked BOOLEAN,
    has_follow_up BOOLEAN, satisfaction VARCHAR, is_satisfied BOOLEAN, is_solved BOOLEAN,
    is_one_time_resolved BOOLEAN, self_resolved BOOLEAN,
    duplicate_of VARCHAR, is_duplicate BOOLEAN, is_repeat_complaint BOOLEAN, late_event_count INTEGER,
    out_of_order_event_count INTEGER, is_received_after_delivery BOOLEAN);
CREATE TABLE fct_ticket_event (event_id VARCHAR, ticket_id VARCHAR, event_type VARCHAR, event_at TIMESTAMP,
    department_id VARCHAR, satisfaction VARCHAR, solved BOOLEAN, extension_days INTEGER, loaded_day DATE,
    is_late BOOLEAN, is_out_of_order BOOLEAN, is_orphan BOOLEAN);
CREATE TABLE fct_sensor_hourly (device_id VARCHAR, kind VARCHAR, metric VARCHAR, hour TIMESTAMP, grid_id VARCHAR,
    community_id VARCHAR, readings INTEGER, value_avg DOUBLE, value_min DOUBLE, value_max DOUBLE,
    is_spike BOOLEAN, is_stuck BOOLEAN, is_gap BOOLEAN, quality VARCHAR);
CREATE TABLE fct_alarm (alarm_id VARCHAR, device_id VARCHAR, device_kind VARCHAR, alarm_kind VARCHAR,
    level VARCHAR, grid_id VARCHAR, community_id VARCHAR, lon DOUBLE, lat DOUBLE, raised_at TIMESTAMP,
    acknowledged_at TIMESTAMP, cleared_at TIMESTAMP, is_live BOOLEAN, minutes_to_clear DOUBLE);
CREATE TABLE fct_video_status (device_id VARCHAR, status_date DATE, online_minutes INTEGER, is_online BOOLEAN,
    grid_id VARCHAR, community_id VARCHAR, owner VARCHAR);
CREATE TABLE fct_device_status (device_id VARCHAR, kind VARCHAR, status_date DATE, is_online BOOLEAN,
    community_id VARCHAR, grid_id VARCHAR);
CREATE TABLE fct_approval (application_id VARCHAR, service_item_id VARCHAR, department_id VARCHAR,
    community_id VARCHAR, channel VARCHAR, status VARCHAR, received_at TIMESTAMP, received_date DATE,
    completed_at TIMESTAMP, completed_date DATE, legal_deadline DATE, working_days_taken INTEGER,
    is_completed BOOLEAN, is_on_time BOOLEAN, is_overdue_open BOOLEAN, rating INTEGER, is_good_rating BOOLEAN);
CREATE TABLE fct_inspection (inspection_id VARCHAR, inspected_on DATE, domain VARCHAR, subject_name VARCHAR,
    grid_id VARCHAR, community_id VARCHAR, hazards_found INTEGER);
CREATE TABLE fct_hazard (hazard_id VARCHAR, inspection_id VARCHAR, domain VARCHAR, level VARCHAR, grid_id VARCHAR,
    community_id VARCHAR, found_on DATE, due_on DATE, rectified_on DATE, is_rectified BOOLEAN,
    is_rectified_on_time BOOLEAN, is_open BOOLEAN, open_days INTEGER);
CREATE TABLE fct_enforcement_case (case_id VARCHAR, domain VARCHAR, subject_name VARCHAR, violation VARCHAR,
    grid_id VARCHAR, community_id VARCHAR, opened_on DATE, closed_on DATE, is_closed BOOLEAN, penalty_yuan DOUBLE,
    days_to_close INTEGER);
CREATE TABLE fct_visit (visit_id VARCHAR, micro_grid_id VARCHAR, grid_id VARCHAR, community_id VARCHAR,
    household_id VARCHAR, worker_id VARCHAR, visited_at TIMESTAMP, visited_date DATE, round INTEGER);
CREATE TABLE fct_party_member (member_id VARCHAR, org_id VARCHAR, community_id VARCHAR, gender VARCHAR,
    birth_year INTEGER, joined_on DATE, is_volunteer BOOLEAN);
CREATE TABLE fct_pledge (pledge_id VARCHAR, community_id VARCHAR, category VARCHAR, title VARCHAR, posted_on DATE,
    claimed_by VARCHAR, claimed_on DATE, delivered_on DATE, is_claimed BOOLEAN, is_delivered BOOLEAN,
    stage VARCHAR);
CREATE TABLE fct_project (project_id VARCHAR, name VARCHAR, kind VARCHAR, batch INTEGER, community_id VARCHAR,
    budget_wan DOUBLE, progress_pct DOUBLE, started_on DATE, due_on DATE, completed_on DATE, is_completed BOOLEAN,
    is_delayed BOOLEAN);
CREATE TABLE fct_meeting (meeting_id VARCHAR, area_id VARCHAR, community_id VARCHAR, held_on DATE, topic VARCHAR,
    attendees INTEGER);
CREATE TABLE fct_volunteer_activity (activity_id VARCHAR, community_id VARCHAR, team VARCHAR, held_on DATE,
    kind VARCHAR, volunteers INTEGER, hours DOUBLE);
"""

AS_OF = datetime(2026, 12, 6)  # meta_release.as_of: data through 2026-12-05


def _seed_rows(name: str) -> list[dict[str, str]]:
    with open(SEEDS / f"{name}.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class _Maker:
    """Deterministic random values placed in the test windows."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def moment(self) -> datetime:
        start, end, _ = self.rng.choices(WINDOWS, weights=[w for *_, w in WINDOWS])[0]
        return start + timedelta(seconds=self.rng.randrange(int((end - start).total_seconds())))

    def day(self) -> date:
        return self.moment().date()

    def maybe(self, probability: float) -> bool:
        return self.rng.random() < probability

    def place(self) -> dict[str, str]:
        """community_id, grid_id and micro_grid_id of a seeded community."""
        community = self.rng.choice(SEEDED_COMMUNITIES)
        grid = self.rng.choice(sorted(GRIDS[community]))
        return {
            "community_id": community,
            "grid_id": grid,
            "micro_grid_id": self.rng.choice(sorted(GRIDS[community][grid])),
        }

    def choice(self, values):
        return self.rng.choice(list(values))


def _hours(later: datetime | None, earlier: datetime | None) -> float | None:
    return None if later is None or earlier is None else (later - earlier).total_seconds() / 3600


def _ticket(
    ticket_id: str,
    received_at: datetime,
    deadline_at: datetime,
    *,
    place: dict[str, str | None],
    category: str = "noise",
    department_id: str = "urban_mgmt",
    dispatched_at: datetime | None = None,
    accepted_at: datetime | None = None,
    resolved_at: datetime | None = None,
    returned_count: int = 0,
    extension_count: int = 0,
    is_supervised: bool = False,
    is_reworked: bool = False,
    satisfaction: str | None = None,
    solved: bool | None = None,
    self_resolved: bool | None = None,
    duplicate_of: str | None = None,
    is_repeat_complaint: bool = False,
    reporter_kind: str = "citizen",
    contacted_at: datetime | None = None,
    urge_count: int = 0,
    is_suspended: bool = False,
    first_closed_at: datetime | None = None,
) -> dict:
    """A fct_ticket row; the derived flags follow MARTS.md from the times given."""
    channel = ticket_id.split(":")[0]
    resolved = resolved_at is not None
    on_time = None if not resolved else resolved_at <= deadline_at
    open_overdue = not resolved and deadline_at < AS_OF
    accept_hours = _hours(accepted_at, dispatched_at)
    # the first reply is the earliest acceptance or resolution (a grid report fixed on the spot replies at once)
    first_reply_at = min((at for at in (accepted_at, resolved_at) if at is not None), default=None)
    # 响应: called within 24 h of dispatch; unknown while the 24 h still run at as_of
    responded = None
    if dispatched_at is not None:
        if contacted_at is not None and contacted_at <= dispatched_at + timedelta(hours=24):
            responded = True
        elif AS_OF > dispatched_at + timedelta(hours=24):
            responded = False
    # closed once before the closing that stands (or before it was opened again): reopened
    reopened = first_closed_at is not None and first_closed_at != resolved_at
    return {
        **place,
        "ticket_id": ticket_id,
        "channel": channel,
        "category": category,
        "title": f"诉求 {ticket_id}",
        "content": "内容（已脱敏）",
        "lon": 120.7,
        "lat": 31.3,
        "reporter_kind": "grid_worker" if channel == "grid_report" else reporter_kind,
        "received_at": received_at,
        "received_date": received_at.date(),
        "dispatched_at": dispatched_at,
        "accepted_at": accepted_at,
        "first_reply_at": first_reply_at,
        "resolved_at": resolved_at,
        "closed_at": resolved_at,
        "first_closed_at": first_closed_at if first_closed_at is not None else resolved_at,
        "first_contact_at": contacted_at,
        "department_id": department_id,
        "deadline_at": deadline_at,
        "status": "closed" if resolved else "open",
        "is_resolved": resolved,
        "is_on_time": on_time,
        "is_overdue": open_overdue or (resolved and not on_time),
        "is_open_overdue": open_overdue,
        "is_due_soon": False,
        "accept_hours": accept_hours,
        "resolve_hours": _hours(resolved_at, received_at),
        "first_reply_hours": _hours(first_reply_at, received_at),
        "is_accepted_timely": None if dispatched_at is None else accept_hours is not None and accept_hours <= 24,
        "is_responded": responded,
        "urge_count": urge_count,
        "is_urged": urge_count > 0,
        "is_suspended": is_suspended,
        "is_reopened": reopened,
        "returned_count": returned_count,
        "extension_count": extension_count,
        "is_extended": extension_count > 0,
        "is_supervised": is_supervised,
        "is_reworked": is_reworked or reopened,
        "has_follow_up": satisfaction is not None,
        "satisfaction": satisfaction,
        "is_satisfied": None if satisfaction is None else satisfaction not in ("dissatisfied", "very_dissatisfied"),
        "is_solved": solved,
        "is_one_time_resolved": resolved and returned_count == 0 and not (is_reworked or reopened),
        "self_resolved": self_resolved,
        "duplicate_of": duplicate_of,
        "is_duplicate": duplicate_of is not None,
        "is_repeat_complaint": is_repeat_complaint,
        "late_event_count": 0,
        "out_of_order_event_count": 0,
        "is_received_after_delivery": False,
    }


def five_levels(level: str, more: _Maker) -> str:
    """A three-level follow-up result spread over the five levels of 好差评 (GB/T 39734)."""
    extreme = {"satisfied": "very_satisfied", "dissatisfied": "very_dissatisfied"}.get(level)
    return extreme if extreme and more.maybe(0.4) else level


def _seeded_tickets(make: _Maker, categories: list[str], departments: list[str]) -> list[dict]:
    rows: list[dict] = []
    # the official 口径's flags draw from a stream of their own: the other tables' rows stay as they were
    more = _Maker(1966)
    for i in range(160):
        channel = make.choice(["hotline_12345", "city_mgmt", "forum", "grid_report"])
        received = make.moment()
        place = make.place()
        if make.maybe(0.15):
            place["micro_grid_id"] = None
        self_resolved = channel == "grid_report" and make.maybe(0.4)
        dispatched = None if self_resolved else received + timedelta(hours=make.rng.uniform(0.2, 6))
        accepted = None
        if dispatched is not None and make.maybe(0.9):
            accepted = dispatched + timedelta(hours=make.rng.uniform(0.5, 40))
        resolved = None
        if self_resolved:
            resolved = received + timedelta(minutes=30)
        elif accepted is not None and make.maybe(0.8):
            resolved = accepted + timedelta(hours=make.rng.uniform(2, 240))
        earlier = [row["ticket_id"] for row in rows[-15:]]
        follow_up = resolved is not None and make.maybe(0.7)
        contacted = None
        if dispatched is not None and more.maybe(0.85):
            contacted = dispatched + timedelta(hours=more.rng.uniform(0.1, 36))  # a third of them after 24 h
        first_closed = None
        if resolved is not None and more.maybe(0.08):  # closed once before, reopened, resolved again
            first_closed = resolved - timedelta(days=more.rng.randint(1, 20))
        elif dispatched is not None and resolved is None and more.maybe(0.05):  # reopened and still open
            first_closed = dispatched + timedelta(days=1)
        rows.append(
            _ticket(
                f"{channel}:{i:04d}",
                received,
                received + timedelta(days=make.rng.randint(2, 10), hours=make.rng.randint(0, 20)),
                place=place,
                category=make.choice(categories),
                department_id=make.choice(departments),
                dispatched_at=dispatched,
                accepted_at=accepted,
                resolved_at=resolved,
                returned_count=make.choice([0, 0, 0, 1, 2]) if dispatched else 0,
                extension_count=make.choice([0, 0, 0, 0, 1]),
                is_supervised=make.maybe(0.1),
                is_reworked=resolved is not None and make.maybe(0.1),
                satisfaction=five_levels(
                    make.choice(["satisfied", "satisfied", "basically_satisfied", "dissatisfied"]), more
                )
                if follow_up
                else None,
                solved=more.choice([True, True, True, False, None]) if follow_up else None,
                reporter_kind=more.choice(["patrol", "camera", "citizen"]) if channel == "city_mgmt" else "citizen",
                contacted_at=contacted,
                urge_count=more.choice([0, 0, 0, 0, 0, 0, 1, 2]) if dispatched else 0,
                is_suspended=channel == "city_mgmt" and more.maybe(0.15),
                first_closed_at=first_closed,
                self_resolved=self_resolved if channel == "grid_report" else None,
                duplicate_of=make.choice(earlier) if earlier and make.maybe(0.12) else None,
                is_repeat_complaint=make.maybe(0.1),
            )
        )
    return rows


def _edge_tickets() -> list[dict]:
    """Tickets in c09 whose open/overdue/due-soon state at a period end is worked out by hand."""
    t = datetime
    c09 = {"community_id": "c09", "grid_id": "g09a", "micro_grid_id": "m09a1"}
    return [
        # Open past its deadline at the end of November 2026 and of the week ending Fri 2026-11-27.
        _ticket("hotline_12345:edge-overdue", t(2026, 11, 20, 9), t(2026, 11, 26, 18), place=c09),
        # Resolved exactly at 2026-12-01 00:00: still open (and overdue) at the end of November.
        _ticket(
            "hotline_12345:edge-boundary",
            t(2026, 11, 10, 9),
            t(2026, 11, 15, 18),
            place=c09,
            resolved_at=t(2026, 12, 1),
        ),
        # Resolved one second before the end of November: not open at the end of November.
        _ticket(
            "hotline_12345:edge-just-in-time",
            t(2026, 11, 10, 9),
            t(2026, 11, 15, 18),
            place=c09,
            resolved_at=t(2026, 11, 30, 23, 59, 59),
        ),
        # Overdue at the end of October, resolved in November.
        _ticket(
            "hotline_12345:edge-october",
            t(2026, 9, 28, 9),
            t(2026, 10, 12, 18),
            place=c09,
            resolved_at=t(2026, 11, 5, 10),
        ),
        # Received after the end of November: not there at all on 2026-11-30.
        _ticket("hotline_12345:edge-december", t(2026, 12, 1, 8), t(2026, 12, 2, 18), place=c09),
        # Due soon at the end of Fri 2026-11-27 (deadline Monday 11-30, the next working day);
        # overdue at the end of November.
        _ticket("hotline_12345:edge-due-monday", t(2026, 11, 23, 9), t(2026, 11, 30, 18), place=c09),
        # Not due soon at the end of Fri 2026-11-27: deadline on Tuesday 12-01.
        _ticket("hotline_12345:edge-due-tuesday", t(2026, 11, 24, 9), t(2026, 12, 1, 18), place=c09),
        # Due soon at the end of Wed 2026-09-30 only because 10-01…10-07 are holidays: the next
        # working day is Thu 10-08, the deadline's day.
        _ticket(
            "hotline_12345:edge-holiday",
            t(2026, 9, 29, 9),
            t(2026, 10, 8, 18),
            place=c09,
            resolved_at=t(2026, 10, 8, 10),
        ),
        # A cross-channel duplicate of the overdue ticket: never counted as a ticket of its own.
        _ticket(
            "forum:edge-duplicate",
            t(2026, 11, 21, 9),
            t(2026, 11, 26, 18),
            place=c09,
            duplicate_of="hotline_12345:edge-overdue",
        ),
        # One ticket on the leap day, two on its 同比 base day (2027-02-28).
        _ticket("city_mgmt:edge-leap", t(2028, 2, 29, 10), t(2028, 3, 3, 18), place=c09),
        _ticket("city_mgmt:edge-leap-base-1", t(2027, 2, 28, 10), t(2027, 3, 3, 18), place=c09),
        _ticket("city_mgmt:edge-leap-base-2", t(2027, 2, 28, 16), t(2027, 3, 3, 18), place=c09),
    ]


def _calendar() -> list[dict]:
    rows, index, day = [], 0, date(2025, 1, 1)
    while day <= date(2029, 12, 31):
        workday = (day.weekday() < 5 and day not in HOLIDAYS) or day in MAKEUP_WORKDAYS
        index += workday
        holiday = "National Day" if day in HOLIDAYS else None
        rows.append(
            dict(day=day, is_workday=workday, workday_index=index, holiday_name=holiday, calendar_source="fixture")
        )
        day += timedelta(days=1)
    return rows


def _grid_rows() -> tuple[list[dict], list[dict]]:
    communities, units = [], []
    for community, (name, kind) in COMMUNITIES.items():
        micro = {m: h for grids in GRIDS[community].values() for m, h in grids.items()}
        households = sum(micro.values())
        communities.append(
            dict(
                community_id=community,
                name=name,
                community_type=kind,
                households=households,
                residents=households * 3,
                registered_residents=households * 2,
                micro_grids=len(micro),
                comprehensive_grids=len(GRIDS[community]),
                dedicated_grids=int(community == "c01"),
            )
        )
        units.append(
            dict(
                unit_id=community,
                level="community",
                parent_id="street",
                community_id=community,
                name=name,
                households=households,
                residents=households * 3,
            )
        )
        for grid, micros in GRIDS[community].items():
            units.append(
                dict(
                    unit_id=grid,
                    level="comprehensive",
                    parent_id=community,
                    community_id=community,
                    name=f"{name}{grid}网格",
                    households=sum(micros.values()),
                    residents=sum(micros.values()) * 3,
                    worker_id=f"w-{grid}",
                )
            )
            for micro_grid, micro_households in micros.items():
                units.append(
                    dict(
                        unit_id=micro_grid,
                        level="micro",
                        parent_id=grid,
                        community_id=community,
                        name=f"{name}{micro_grid}微网格",
                        households=micro_households,
                        residents=micro_households * 3,
                        worker_id=f"w-{micro_grid}",
                    )
                )
    # A dedicated grid whose worker also runs a comprehensive grid: counted once as a grid worker.
    units.append(
        dict(
            unit_id="d01",
            level="dedicated",
            parent_id="c01",
            community_id="c01",
            name="星湖学校专属网格",
            households=0,
            residents=0,
            worker_id="w-g01a",
        )
    )
    return communities, units


def build_warehouse(path: Path) -> None:
    """Create the release-shaped DuckDB file the catalog tests read."""
    make = _Maker(20261120)
    categories = [row["code"] for row in _seed_rows("category")]
    departments = [row["code"] for row in _seed_rows("department")]
    domains = [row["code"] for row in _seed_rows("domain")]
    con = duckdb.connect(str(path))
    con.execute(DDL)

    def insert(table: str, rows: list[dict]) -> None:
        """Rows as {column: value}; columns left out are NULL, unknown ones are a fixture bug."""
        names = [column[0] for column in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
        unknown = {key for row in rows for key in row} - set(names)
        assert not unknown, f"{table} has no column(s) {unknown}"
        # One INSERT … SELECT per table: row-by-row executemany is seconds slower.
        frame = pd.DataFrame([[row.get(name) for name in names] for row in rows], columns=names, dtype=object)
        con.register("fixture_rows", frame)
        con.execute(f"INSERT INTO {table} SELECT * FROM fixture_rows")
        con.unregister("fixture_rows")

    def seed(name: str, key: str) -> list[dict]:
        return [{key: r["code"], "name_zh": r["name_zh"], "name_en": r["name_en"]} for r in _seed_rows(name)]

    # ---- dimensions -------------------------------------------------------------------
    communities, units = _grid_rows()
    insert("dim_community", communities)
    insert("dim_grid", units)
    runs: dict[str, list[dict]] = {}
    for unit in units:
        if unit["level"] in ("comprehensive", "dedicated") and unit.get("worker_id"):
            runs.setdefault(unit["worker_id"], []).append(unit)
    insert(
        "dim_grid_worker",
        [
            {"worker_id": worker, "name": f"{grids[0]['name']}网格员", "grid_name": grids[0]["name"]}
            | {"community_id": grids[0]["community_id"], "grid_count": len(grids)}
            for worker, grids in runs.items()
        ],
    )
    insert("dim_department", seed("department", "department_id"))
    insert("dim_channel", seed("channel", "channel"))
    insert("dim_domain", seed("domain", "domain"))
    insert("seed_device_kind", seed("device_kind", "code"))
    insert(
        "dim_category",
        [
            {
                **row,
                "sla_working_days": int(raw["sla_working_days"]),
                "default_department": raw["default_department"],
                "group_1": TAXONOMY.get(row["category"], (row["name_zh"], row["name_zh"]))[0],
                "group_2": TAXONOMY.get(row["category"], (row["name_zh"], row["name_zh"]))[1],
            }
            for row, raw in zip(seed("category", "category"), _seed_rows("category"), strict=True)
        ],
    )
    insert(
        "dim_service_item",
        [
            dict(
                service_item_id="si-01",
                name="个体工商户登记",
                department_id="market_regulation",
                legal_days=10,
                promised_days=3,
            ),
            dict(service_item_id="si-02", name="居住证办理", department_id="police", legal_days=15, promised_days=5),
            dict(
                service_item_id="si-03",
                name="高龄津贴申领",
                department_id="social_affairs",
                legal_days=20,
                promised_days=10,
            ),
        ],
    )
    devices = []
    for i, kind in enumerate(["water_quality", "gas", "electricity", "video"] * 3):
        where = make.place()
        devices.append(
            dict(
                device_id=f"dev-{i:02d}",
                kind=kind,
                name=f"设备{i}",
                grid_id=where["grid_id"],
                community_id=where["community_id"],
                lon=120.7,
                lat=31.3,
                installed_on=date(2024, 5, 1),
                owner=make.choice(["police", "city_mgmt", "property", "street"]),
            )
        )
    insert("dim_device", devices)
    orgs = [  # (org_id, name, level, parent_id, community_id, members)
        ("org-street", "街道大工委", "street_committee", None, None, 12),
        ("org-area1", "第一区域大党委", "area_committee", "org-street", None, 8),
        ("org-c01", "星湖社区党委", "community_committee", "org-area1", "c01", 40),
        ("org-c02", "金湖社区党委", "community_committee", "org-area1", "c02", 35),
        ("org-c03", "湖滨社区党委", "community_committee", "org-area1", "c03", 30),
        ("org-c01-b1", "星湖一区党支部", "compound_branch", "org-c01", "c01", 15),
        ("org-c01-b2", "星湖二区党支部", "compound_branch", "org-c01", "c01", 12),
        ("org-c02-b1", "金湖一区党支部", "compound_branch", "org-c02", "c02", 11),
        ("org-c01-g1", "星湖一区1幢党小组", "building_group", "org-c01-b1", "c01", 5),
        ("org-c03-g1", "湖滨1幢党小组", "building_group", "org-c03", "c03", 4),
    ]
    insert(
        "dim_party_org",
        [
            dict(
                org_id=o,
                name=n,
                level=lv,
                parent_id=p,
                community_id=c,
                area_id=None if lv == "street_committee" else "area-1",
                members=m,
            )
            for o, n, lv, p, c, m in orgs
        ],
    )
    insert(
        "dim_partner_unit",
        [
            dict(
                partner_id=f"pu-{i:02d}",
                name=f"共建单位{i}",
                community_id=make.choice(SEEDED_COMMUNITIES),
                kind=make.choice(["agency", "school", "property", "bank", "hospital", "enterprise"]),
                joined_on=None if i % 7 == 0 else make.day(),
            )
            for i in range(20)
        ],
    )
    insert("dim_calendar", _calendar())
    insert(
        "meta_release",
        [
            dict(
                run_id="run-test",
                built_at=datetime(2026, 12, 6, 2),
                as_of=AS_OF,
                data_through=date(2026, 12, 5),
                is_demo=True,
                lake_path="lake",
            )
        ],
    )

    # ---- dispatch ---------------------------------------------------------------------
    insert("fct_ticket", _seeded_tickets(make, categories, departments) + _edge_tickets())
    insert(
        "fct_ticket_event",
        [
            dict(
                event_id="ev-1",
                ticket_id="hotline_12345:edge-overdue",
                event_type="received",
                event_at=datetime(2026, 11, 20, 9),
                loaded_day=date(2026, 11, 20),
                is_late=False,
                is_out_of_order=False,
                is_orphan=False,
            ),
        ],
    )
    alarms = []
    for i in range(60):
        device = make.choice(devices)
        raised = make.moment()
        cleared = None if make.maybe(0.25) else raised + timedelta(minutes=make.rng.randint(3, 600))
        alarms.append(
            dict(
                alarm_id=f"al-{i:03d}",
                device_id=device["device_id"],
                device_kind=device["kind"],
                alarm_kind=make.choice(["gas_leak", "water_quality", "overload", "video_offline", "device_offline"]),
                level=make.choice(["high", "medium", "low"]),
                grid_id=device["grid_id"],
                community_id=device["community_id"],
                lon=120.7,
                lat=31.3,
                raised_at=raised,
                acknowledged_at=None if cleared is None else raised + timedelta(minutes=2),
                cleared_at=cleared,
                is_live=raised <= AS_OF and (cleared is None or cleared > AS_OF),
                minutes_to_clear=None if cleared is None else (cleared - raised).total_seconds() / 60,
            )
        )
    insert("fct_alarm", alarms)
    video = [d for d in devices if d["kind"] == "video"]
    sensors = [d for d in devices if d["kind"] != "video"]
    video_days = []
    for _ in range(90):
        device, minutes = make.choice(video), make.choice([1440, 1440, 1400, 1300, 0])
        video_days.append(
            dict(
                device_id=device["device_id"],
                status_date=make.day(),
                online_minutes=minutes,
                is_online=minutes >= 1368,
                grid_id=device["grid_id"],
                community_id=device["community_id"],
                owner=device["owner"],
            )
        )
    insert("fct_video_status", video_days)
    device_days = []
    for _ in range(90):
        device = make.choice(devices)
        device_days.append(
            dict(
                device_id=device["device_id"],
                kind=device["kind"],
                status_date=make.day(),
                is_online=make.maybe(0.85),
                community_id=device["community_id"],
                grid_id=device["grid_id"],
            )
        )
    insert("fct_device_status", device_days)
    hours = []
    for _ in range(150):
        device = make.choice(sensors)
        quality = make.choice(["ok", "ok", "ok", "ok", "spike", "stuck", "gap"])
        hours.append(
            dict(
                device_id=device["device_id"],
                kind=device["kind"],
                metric="ph",
                hour=make.moment().replace(minute=0, second=0),
                grid_id=device["grid_id"],
                community_id=device["community_id"],
                readings=0 if quality == "gap" else 12,
                value_avg=7.1,
                value_min=6.9,
                value_max=7.4,
                is_spike=quality == "spike",
                is_stuck=quality == "stuck",
                is_gap=quality == "gap",
                quality=quality,
            )
        )
    insert("fct_sensor_hourly", hours)

    # ---- approvals --------------------------------------------------------------------
    approvals = []
    for i in range(90):
        item, department, legal = make.choice(
            [("si-01", "market_regulation", 10), ("si-02", "police", 15), ("si-03", "social_affairs", 20)]
        )
        received = make.moment()
        status = make.choice(["completed", "completed", "completed", "in_progress", "rejected", "withdrawn"])
        completed = received + timedelta(days=make.rng.randint(0, 30)) if status == "completed" else None
        taken = None if completed is None else (completed - received).days * 5 // 7
        rating = make.choice([None, 5, 5, 4, 3, 1]) if completed else None
        approvals.append(
            dict(
                application_id=f"ap-{i:03d}",
                service_item_id=item,
                department_id=department,
                community_id=None if make.maybe(0.05) else make.choice(SEEDED_COMMUNITIES),
                channel=make.choice(["window", "online", "self_service", "proxy"]),
                status=status,
                received_at=received,
                received_date=received.date(),
                completed_at=completed,
                completed_date=None if completed is None else completed.date(),
                legal_deadline=received.date() + timedelta(days=legal * 7 // 5),
                working_days_taken=taken,
                is_completed=completed is not None,
                is_on_time=None if taken is None else taken <= legal,
                is_overdue_open=completed is None and status == "in_progress",
                rating=rating,
                is_good_rating=None if rating is None else rating >= 4,
            )
        )
    insert("fct_approval", approvals)

    # ---- enforcement ------------------------------------------------------------------
    inspections = []
    for i in range(40):
        where = make.place()
        inspections.append(
            dict(
                inspection_id=f"in-{i:03d}",
                inspected_on=make.day(),
                domain=make.choice(domains),
                subject_name=f"对象{i}",
                grid_id=where["grid_id"],
                community_id=where["community_id"],
                hazards_found=make.rng.randint(0, 3),
            )
        )
    insert("fct_inspection", inspections)
    hazards = []
    for i in range(70):
        inspection = make.choice(inspections)
        found = inspection["inspected_on"]
        rectified = None if make.maybe(0.3) else found + timedelta(days=make.rng.randint(0, 45))
        due = found + timedelta(days=15)
        hazards.append(
            dict(
                hazard_id=f"hz-{i:03d}",
                inspection_id=inspection["inspection_id"],
                domain=inspection["domain"],
                level=make.choice(["major", "general", "general"]),
                grid_id=inspection["grid_id"],
                community_id=inspection["community_id"],
                found_on=found,
                due_on=due,
                rectified_on=rectified,
                is_rectified=rectified is not None,
                is_rectified_on_time=rectified is not None and rectified <= due,
                is_open=rectified is None,
                open_days=None if rectified else (AS_OF.date() - found).days,
            )
        )
    insert("fct_hazard", hazards)
    cases = []
    for i in range(45):
        where = make.place()
        opened = make.day()
        closed = None if make.maybe(0.3) else opened + timedelta(days=make.rng.randint(1, 60))
        cases.append(
            dict(
                case_id=f"case-{i:03d}",
                domain=make.choice(domains),
                subject_name=f"当事人{i}",
                violation="占道经营",
                grid_id=where["grid_id"],
                community_id=where["community_id"],
                opened_on=opened,
                closed_on=closed,
                is_closed=closed is not None,
                penalty_yuan=None if closed is None else make.choice([None, 0.0, 200.0, 500.0, 2000.0]),
                days_to_close=None if closed is None else (closed - opened).days,
            )
        )
    insert("fct_enforcement_case", cases)

    # ---- grid -------------------------------------------------------------------------
    visits = []
    for i in range(100):
        where, at = make.place(), make.moment()
        micro = where["micro_grid_id"]
        visits.append(
            dict(
                visit_id=f"vi-{i:03d}",
                **where,
                household_id=f"hh-{micro}-{make.rng.randint(1, 6)}",
                worker_id=f"w-{micro}",
                visited_at=at,
                visited_date=at.date(),
                round=make.choice([1, 2]),
            )
        )
    insert("fct_visit", visits)

    # ---- party ------------------------------------------------------------------------
    insert(
        "fct_party_member",
        [
            dict(
                member_id=f"pm-{i:03d}",
                org_id=make.choice(["org-c01", "org-c02", "org-c03"]),
                community_id=make.choice(SEEDED_COMMUNITIES),
                gender=make.choice(["male", "female"]),
                birth_year=make.rng.randint(1950, 2000),
                joined_on=None if i % 9 == 0 else make.day(),
                is_volunteer=make.maybe(0.4),
            )
            for i in range(50)
        ],
    )
    pledges = []
    for i in range(35):
        posted = make.day()
        claimed = None if make.maybe(0.3) else posted + timedelta(days=make.rng.randint(0, 40))
        delivered = None if claimed is None or make.maybe(0.4) else claimed + timedelta(days=make.rng.randint(1, 60))
        pledges.append(
            dict(
                pledge_id=f"pl-{i:03d}",
                community_id=make.choice(SEEDED_COMMUNITIES),
                category=make.choice(["elderly_care", "child_care", "employment", "safety"]),
                title=f"需求{i}",
                posted_on=posted,
                claimed_by=None if claimed is None else "pu-01",
                claimed_on=claimed,
                delivered_on=delivered,
                is_claimed=claimed is not None,
                is_delivered=delivered is not None,
                stage="delivered" if delivered else "claimed" if claimed else "posted",
            )
        )
    insert("fct_pledge", pledges)
    projects = []
    for i in range(20):
        due, completed = make.day(), make.day() if make.maybe(0.4) else None
        projects.append(
            dict(
                project_id=f"pr-{i:03d}",
                name=f"项目{i}",
                kind=make.choice(["livelihood", "tough", "secretary"]),
                batch=make.rng.randint(1, 3),
                community_id=make.choice(SEEDED_COMMUNITIES),
                budget_wan=50.0,
                progress_pct=100.0 if completed else float(make.rng.randint(0, 95)),
                started_on=None if i % 6 == 0 else make.day(),
                due_on=due,
                completed_on=completed,
                is_completed=completed is not None,
                is_delayed=completed is None and due < AS_OF.date(),
            )
        )
    insert("fct_project", projects)
    insert(
        "fct_meeting",
        [
            dict(
                meeting_id=f"mt-{i:03d}",
                area_id="area-1",
                community_id=make.choice(SEEDED_COMMUNITIES),
                held_on=make.day(),
                topic="轮值议事",
                attendees=make.rng.randint(5, 30),
            )
            for i in range(25)
        ],
    )
    insert(
        "fct_volunteer_activity",
        [
            dict(
                activity_id=f"va-{i:03d}",
                community_id=make.choice(SEEDED_COMMUNITIES),
                team="海棠先锋",
                held_on=make.day(),
                volunteers=make.rng.randint(1, 12),
                kind=make.choice(["errand_government", "errand_convenience", "elderly_care", "environment", "culture"]),
                hours=None if i % 11 == 0 else round(make.rng.uniform(1, 20), 1),
            )
            for i in range(50)
        ],
    )
    # The daily rollups are made from the facts above by the warehouse's own models, as a release makes them:
    # the catalog's pandas checks then hold a KPI read from its rollup to the fact's rows.
    for model in sorted((ROOT / "warehouse" / "models").glob("agg_*.sql")):
        con.execute(f"CREATE TABLE {model.stem} AS {model.read_text(encoding='utf-8')}")
    con.close()


@pytest.fixture(scope="session")
def warehouse_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("release") / "run-test.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture(scope="session")
def con(warehouse_path):
    # Read-only, as the app opens a release.
    connection = duckdb.connect(str(warehouse_path), read_only=True)
    yield connection
    connection.close()
