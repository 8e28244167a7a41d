"""Snapshots take the latest day, updatable entities their latest state; places resolve to community/grid."""

from datetime import date

from tests.warehouse.conftest import one, rows


def test_snapshot_tables_take_only_the_latest_landing_day(release):
    communities = {r["community_id"]: r["name"] for r in rows(release, "SELECT * FROM dim_community")}
    # C9 and C1's old name were in an older snapshot; 'unknown' is the member for records with no place
    assert communities == {"C1": "金湖社区", "C2": "星湖社区", "unknown": "未定位"}
    assert [r["device_id"] for r in rows(release, "SELECT device_id FROM dim_device ORDER BY 1")] == [
        "GAS1",
        "V1",
        "WQ1",
    ]


def test_community_counts_fall_back_to_the_sum_of_their_micro_grids(release):
    c1 = one(release, "SELECT * FROM dim_community WHERE community_id = 'C1'")
    assert (c1["households"], c1["residents"], c1["registered_residents"]) == (100, 1000, 150)
    assert (c1["micro_grids"], c1["comprehensive_grids"], c1["dedicated_grids"]) == (2, 1, 1)
    assert c1["geometry"].startswith('{"type":"Polygon"')
    c2 = one(release, "SELECT * FROM dim_community WHERE community_id = 'C2'")
    assert (c2["households"], c2["geometry"]) == (500, None)


def test_grid_units_resolve_to_grid_and_micro_grid(release):
    places = {
        r["unit_id"]: (r["community_id"], r["grid_id"], r["micro_grid_id"])
        for r in rows(release, "SELECT * FROM int_place")
    }
    assert places["M1"] == ("C1", "G1", "M1")
    assert places["G2"] == ("C1", "G2", None)
    assert places["C1"] == ("C1", None, None)
    assert places["unknown"] == ("unknown", "unknown", None)
    assert one(release, "SELECT households FROM dim_grid WHERE unit_id = 'G1'")["households"] == 100


def test_an_application_keeps_its_newest_state_even_when_an_older_one_lands_later(release):
    approvals = {r["application_id"]: r for r in rows(release, "SELECT * FROM fct_approval")}
    a2 = approvals["A2"]
    assert a2["status"] == "in_progress"
    # received on the Mid-autumn holiday (Fri 09-25): 5 working days 09-28, 09-29, 09-30, 10-08, 10-09
    assert (a2["legal_deadline"], a2["is_overdue_open"], a2["is_on_time"]) == (date(2026, 10, 9), True, None)
    a1 = approvals["A1"]
    # received Tue 09-29: 5 working days 09-30, 10-08, 10-09, 10-10 (调休), 10-12
    assert (a1["status"], a1["legal_deadline"], a1["working_days_taken"]) == ("completed", date(2026, 10, 12), 3)
    assert (a1["is_on_time"], a1["is_good_rating"], a1["department_id"]) == (True, True, "housing")


def test_hazards_and_cases_take_their_latest_state(release):
    hazards = {r["hazard_id"]: r for r in rows(release, "SELECT * FROM fct_hazard")}
    assert (hazards["HZ1"]["is_rectified"], hazards["HZ1"]["is_rectified_on_time"]) == (True, True)
    assert (hazards["HZ1"]["days_to_rectify"], hazards["HZ1"]["open_days"]) == (11, None)
    open_hazard = hazards["HZ2"]
    assert (open_hazard["is_open"], open_hazard["open_days"], open_hazard["is_overdue_open"]) == (True, 13, True)
    assert (open_hazard["grid_id"], open_hazard["micro_grid_id"]) == ("G1", "M1")
    case = one(release, "SELECT * FROM fct_enforcement_case")
    assert (case["is_closed"], case["days_to_close"], case["penalty_yuan"]) == (True, 10, 2000.0)
    assert one(release, "SELECT hazards_found, community_id FROM fct_inspection") == {
        "hazards_found": 2,
        "community_id": "C1",
    }


def test_party_building_facts(release):
    assert {r["org_id"]: r["members"] for r in rows(release, "SELECT * FROM dim_party_org")} == {
        "P0": 0,
        "P1": 1,
        "P2": 2,
    }
    members = {
        r["member_id"]: (r["community_id"], r["is_volunteer"]) for r in rows(release, "SELECT * FROM fct_party_member")
    }
    assert members == {"PM1": ("C1", False), "PM2": ("C1", False), "PM3": ("C1", True)}
    stages = {r["pledge_id"]: r["stage"] for r in rows(release, "SELECT * FROM fct_pledge")}
    assert stages == {"PL1": "posted", "PL2": "claimed", "PL3": "delivered"}
    projects = {
        r["project_id"]: (r["is_completed"], r["is_delayed"]) for r in rows(release, "SELECT * FROM fct_project")
    }
    assert projects == {"PR1": (False, True), "PR2": (True, False)}
    assert one(release, "SELECT community_id, attendees FROM fct_meeting") == {"community_id": "C1", "attendees": 25}


def test_visits_resolve_their_micro_grid(release):
    visit = one(release, "SELECT * FROM fct_visit")
    assert (visit["micro_grid_id"], visit["grid_id"], visit["community_id"]) == ("M2", "G1", "C1")
    assert visit["visited_date"] == date(2026, 10, 9)


def test_seed_dimensions_rename_code_to_the_domain_name(release):
    assert one(release, "SELECT * FROM dim_category WHERE category = 'drainage'") == {
        "category": "drainage",
        "name_zh": "排水防汛",
        "name_en": "Drainage and flooding",
        "sla_working_days": 2,
        "default_department": "water",
        "season": "summer",
        "group_1": "排水防汛",  # a flat category is its own group at both levels
        "group_2": "排水防汛",
    }
    assert one(release, "SELECT count(*) AS n FROM dim_channel")["n"] == 21
    ph = one(release, "SELECT valid_min, valid_max FROM dim_sensor_metric WHERE metric = 'ph'")
    assert (ph["valid_min"], ph["valid_max"]) == (0.0, 14.0)
