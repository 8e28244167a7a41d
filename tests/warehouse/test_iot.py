"""Sensors, alarms and device status: hourly buckets with gap/spike/stuck flags, live alarms at as_of."""

from datetime import date, datetime

from tests.warehouse.conftest import one, rows


def hourly(release, device_id: str) -> dict[int, dict]:
    found = rows(release, "SELECT * FROM fct_sensor_hourly WHERE device_id = ? ORDER BY hour", device_id)
    return {row["hour"].hour: row for row in found}


def test_every_hour_between_first_and_last_reading_is_a_row_and_empty_hours_are_gaps(release):
    hours = hourly(release, "WQ1")
    assert sorted(hours) == list(range(12))
    gap = hours[3]
    assert (gap["readings"], gap["value_avg"], gap["is_gap"], gap["quality"]) == (0, None, True, "gap")
    assert [hour for hour, row in hours.items() if row["is_gap"]] == [3]


def test_a_reading_sent_twice_is_counted_once(release):
    assert hourly(release, "WQ1")[0]["readings"] == 2
    assert one(release, "SELECT count(*) AS n FROM raw_sensor_reading WHERE device_id = 'WQ1'")["n"] == 23


def test_a_value_above_the_valid_maximum_is_a_spike(release):
    spike = hourly(release, "WQ1")[5]
    assert (spike["value_max"], spike["is_spike"], spike["quality"]) == (15.0, True, "spike")


def test_a_value_above_three_times_its_neighbours_median_is_a_spike(release):
    hours = hourly(release, "GAS1")
    # the neighbours of 08:00 within 3 slots (12 h) are 00:00 and 04:00: median(1.0, 1.2) = 1.1,
    # and 5.0 is above 3 × 1.1 and more than gas_lel_pct's spike_min_delta (2 %LEL) above it
    assert hours[8]["neighbour_median"] == 1.1
    assert [(hour, row["is_spike"]) for hour, row in hours.items()] == [(0, False), (4, False), (8, True)]


def test_a_gas_detector_reporting_every_four_hours_has_no_gaps(release):
    slots = hourly(release, "GAS1")
    assert sorted(slots) == [0, 4, 8]
    assert not any(row["is_gap"] for row in slots.values())


def test_six_hours_of_the_same_value_are_stuck_and_five_are_not(release):
    hours = hourly(release, "WQ1")
    assert [hour for hour, row in hours.items() if row["is_stuck"]] == [6, 7, 8, 9, 10, 11]
    assert hours[6]["quality"] == "stuck"
    assert [hour for hour, row in hours.items() if row["quality"] == "ok"] == [0, 1, 2, 4]


def test_hourly_rows_carry_the_device_place(release):
    row = hourly(release, "WQ1")[0]
    assert (row["kind"], row["metric"], row["grid_id"], row["community_id"]) == ("water_quality", "ph", "G1", "C1")


def test_alarms_are_one_row_each_and_live_means_not_cleared_by_as_of(release):
    alarms = {r["alarm_id"]: r for r in rows(release, "SELECT * FROM fct_alarm")}
    assert sorted(alarms) == ["AL1", "AL2", "AL3"]
    cleared = alarms["AL1"]
    assert (cleared["is_live"], cleared["minutes_to_clear"]) == (False, 60.0)
    assert cleared["acknowledged_at"] == datetime(2026, 10, 11, 2, 20)
    assert (alarms["AL2"]["is_live"], alarms["AL2"]["cleared_at"]) == (True, None)
    # AL3's clearing landed on 10-13, after data_through: in this release it is still live
    assert (alarms["AL3"]["is_live"], alarms["AL3"]["cleared_at"]) == (True, None)
    assert (alarms["AL2"]["device_kind"], alarms["AL2"]["community_id"]) == ("water_quality", "C1")


def test_device_status_sensors_by_readings_and_video_by_online_minutes(release):
    status = {
        (r["device_id"], r["status_date"]): r["is_online"] for r in rows(release, "SELECT * FROM fct_device_status")
    }
    assert status == {
        ("GAS1", date(2026, 10, 11)): True,
        ("GAS1", date(2026, 10, 12)): False,
        ("WQ1", date(2026, 10, 11)): False,
        ("WQ1", date(2026, 10, 12)): True,
        ("V1", date(2026, 10, 11)): True,  # 1,400 minutes ≥ 1,368
        ("V1", date(2026, 10, 12)): False,  # 1,300 minutes
    }
