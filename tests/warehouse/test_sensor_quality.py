"""Sensor quality rules (fct_sensor_hourly) on a real hourly air-quality station, and their code-row defaults.

The station is Beijing Changping, March 2013 - February 2017 (shared realdata, UCI Beijing Multi-Site Air
Quality): pollutants are heavy-tailed and exported as integers, so a rule that flags normal smog episodes or
normal repeats at the detection floor shows up here at once. Each metric's rule parameters come from its row
in warehouse/seeds/sensor_metric.csv; the oracles below read that row and recompute with pandas.
"""

from __future__ import annotations

import csv
from datetime import date

import duckdb
import pandas as pd
import pytest

from tests.fixtures.lake import write_partition
from tests.warehouse.conftest import rows
from warehouse.build import SEEDS_DIR, build_release

STATION = "CP-CHANGPING"
SPIKED = "CP-SPIKED"  # a two-week copy of the station with one reading per metric multiplied by 20
COLUMNS = {"PM2.5": "pm25", "PM10": "pm10", "SO2": "so2", "NO2": "no2", "CO": "co", "O3": "o3", "TEMP": "temp_c"}
METRICS = list(COLUMNS.values())
# A metric a source mapping adds with only its names and unit: every rule cell empty.
BARE_METRIC = {"code": "pm1", "name_zh": "PM1", "name_en": "PM1", "unit": "μg/m³", "device_kind": "air_quality"}
# The share of a metric's observed hours flagged spike or stuck. The station's published series is already
# screened, so nearly everything flagged is a false alarm, except O3's genuinely stuck spring 2013 (daily runs
# of one value for ~24 h, about 0.9 % of its hours). An operator can chase ~1 % of hours; 20 % (the old
# series-wide rule on SO2) buries the real faults.
MAX_FLAGGED_SHARE = 0.015


def seed_row(metric: str) -> dict[str, str]:
    path = SEEDS_DIR / "sensor_metric.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row["code"] == metric)


def stuck_parameters(metric: str) -> tuple[int, float]:
    """stuck_slots and stuck_ignore_max as the code row declares them, with the documented defaults (6, 0)."""
    row = seed_row(metric)
    return int(row["stuck_slots"] or 6), float(row["stuck_ignore_max"] or 0)


@pytest.fixture(scope="module")
def station(realdata) -> pd.DataFrame:
    """Long readings (metric, measured_at, value) of the real station; an NA cell is simply no reading."""
    path = realdata / "air_quality" / "changping_hourly.csv"
    assert path.is_file(), f"real export missing: {path}"
    wide = pd.read_csv(path, na_values=["NA"])
    wide["measured_at"] = pd.to_datetime(wide[["year", "month", "day", "hour"]])
    frames = []
    for column, metric in COLUMNS.items():
        present = wide.dropna(subset=[column])
        frames.append(pd.DataFrame({"metric": metric, "measured_at": present["measured_at"], "value": present[column]}))
    return pd.concat(frames, ignore_index=True)


def spiked_copy(station: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Timestamp]]:
    """Two weeks of the station in which, per metric, the reading nearest the metric's median is multiplied by 20."""
    window = station[(station["measured_at"] >= "2015-10-01") & (station["measured_at"] < "2015-10-15")].copy()
    injected = {}
    for metric, readings in window.groupby("metric"):
        middle = readings.iloc[24:-24]  # with neighbours on both sides
        target = (middle["value"] - readings["value"].median()).abs().idxmin()
        window.loc[target, "value"] *= 20
        injected[metric] = window.loc[target, "measured_at"]
    return window, injected


@pytest.fixture(scope="module")
def release(station, tmp_path_factory):
    """A release built from a lake holding the station (one backfill delivery) and its spiked copy,
    with BARE_METRIC added to the metric code table as a source mapping adds one."""
    root = tmp_path_factory.mktemp("station")
    spiked, injected = spiked_copy(station)
    readings = [
        {"device_id": device, "metric": r.metric, "measured_at": r.measured_at.to_pydatetime(), "value": r.value}
        for device, frame in ((STATION, station), (SPIKED, spiked))
        for r in frame.itertuples(index=False)
    ]
    write_partition(root / "lake", "sensor_reading", date(2017, 3, 1), "air_station", readings)
    target = root / "station.duckdb"
    build_release(
        root / "lake",
        target,
        run_id="station",
        data_through=date(2017, 3, 1),
        is_demo=False,
        code_rows={"sensor_metric": (BARE_METRIC,)},
    )
    con = duckdb.connect(str(target), read_only=True)
    yield con, injected
    con.close()


def slots(con, device: str, metric: str) -> pd.DataFrame:
    return pd.DataFrame(
        rows(con, "SELECT * FROM fct_sensor_hourly WHERE device_id = ? AND metric = ? ORDER BY hour", device, metric)
    )


def equal_runs(readings: pd.DataFrame) -> pd.DataFrame:
    """Runs of one value over consecutive hours: first hour, value and length."""
    readings = readings.sort_values("measured_at")
    hours, values = readings["measured_at"], readings["value"]
    new_run = (values != values.shift()) | (hours - hours.shift() != pd.Timedelta(hours=1))
    run = new_run.cumsum()
    return readings.groupby(run).agg(start=("measured_at", "first"), value=("value", "first"), n=("value", "size"))


def longest_true_run(hours: pd.Series, flags: pd.Series) -> int:
    flagged = hours[flags.to_numpy()]
    if flagged.empty:
        return 0
    return int(flagged.groupby((flagged.diff() != pd.Timedelta(hours=1)).cumsum()).size().max())


@pytest.mark.parametrize("metric", METRICS)
def test_few_real_hours_are_flagged_spike_or_stuck(release, metric):
    con, _ = release
    found = slots(con, STATION, metric)
    observed = found[~found["is_gap"]]
    spike, stuck = observed["is_spike"].mean(), observed["is_stuck"].mean()
    flagged = (observed["is_spike"] | observed["is_stuck"]).mean()
    print(f"{metric}: {len(observed)} hours, spike {spike:.2%}, stuck {stuck:.2%}, flagged {flagged:.2%}")
    assert flagged < MAX_FLAGGED_SHARE


@pytest.mark.parametrize("metric", METRICS)
def test_every_missing_hour_between_the_first_and_last_reading_is_a_gap(release, station, metric):
    con, _ = release
    readings = station[station["metric"] == metric]
    first, last = readings["measured_at"].min(), readings["measured_at"].max()
    missing = int((last - first) / pd.Timedelta(hours=1)) + 1 - readings["measured_at"].nunique()
    found = slots(con, STATION, metric)
    assert (found["hour"].min(), found["hour"].max()) == (first, last)
    assert int(found["is_gap"].sum()) == missing


@pytest.mark.parametrize("metric", METRICS)
def test_stuck_slots_are_the_long_runs_of_one_value_outside_the_ignored_band(release, station, metric):
    con, _ = release
    stuck_slots, ignore_max = stuck_parameters(metric)
    runs = equal_runs(station[station["metric"] == metric])
    stuck_runs = runs[(runs["n"] >= stuck_slots) & (runs["value"].abs() > ignore_max)]
    found = slots(con, STATION, metric)
    longest = longest_true_run(found["hour"], found["is_stuck"])
    print(f"{metric}: longest stuck run {longest} h; runs of {stuck_slots}+ equal hours outside ±{ignore_max}:")
    print(stuck_runs.sort_values("n", ascending=False).head(3).to_string(index=False))
    assert longest == (int(stuck_runs["n"].max()) if len(stuck_runs) else 0)
    assert int(found["is_stuck"].sum()) == int(stuck_runs["n"].sum())


def test_ozone_held_at_one_value_for_a_day_is_found_stuck(release):
    # checked by eye in the export: O3 reads 107 from 2013-03-16 15:00 through 2013-03-17 15:00
    con, _ = release
    found = slots(con, STATION, "o3").set_index("hour")
    run = found.loc["2013-03-16 15:00":"2013-03-17 15:00"]
    assert len(run) == 25
    assert run["value_avg"].eq(107).all() and run["is_stuck"].all()


@pytest.mark.parametrize("metric", METRICS)
def test_a_reading_multiplied_by_twenty_is_a_spike(release, metric):
    con, injected = release
    hour = injected[metric]
    spiked = slots(con, SPIKED, metric).set_index("hour")
    clean = slots(con, STATION, metric).set_index("hour")
    assert (spiked.loc[hour, "is_spike"], spiked.loc[hour, "quality"]) == (True, "spike")
    assert not clean.loc[hour, "is_spike"]
    # nothing else in the fortnight changed its spike flag
    others = spiked.index[spiked.index != hour]
    assert spiked.loc[others, "is_spike"].equals(clean.loc[others, "is_spike"])


def test_empty_rule_cells_take_the_documented_defaults(release):
    con, _ = release
    (row,) = rows(con, "SELECT * FROM dim_sensor_metric WHERE metric = 'pm1'")
    assert row == {
        "metric": "pm1",
        "name_zh": "PM1",
        "name_en": "PM1",
        "unit": "μg/m³",
        "device_kind": "air_quality",
        "interval_hours": 1,
        "valid_min": None,
        "valid_max": None,
        "spike_factor": 3.0,
        "spike_min_delta": 0.0,
        "stuck_slots": 6,
        "stuck_ignore_max": 0.0,
    }
