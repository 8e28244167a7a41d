"""A release built on the current one equals a release built from scratch, table by table.

Seeded random sequences of what happens to a real home drive the real pipeline: nightly deliveries, a
source's file arriving days late, a day delivered again with a record fewer, the same day reloaded,
a rollback (its days set aside and held back), an accept, a reload of everything, a run whose checks
fail and a run killed after it wrote the lake. After every published run, the current release's digest
(warehouse/digest.py) must equal that of a build from scratch of the same lake; the builds on a base
must be most of them, or the sequence proved nothing.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines import run as run_module
from pipelines.demo import generate
from pipelines.demo.profile import write_street_config
from pipelines.mapping import added_codes, load_mappings
from pipelines.run import run_pipeline
from tests.conftest import SALT
from tests.fixtures.lake import write_partition
from warehouse import incremental
from warehouse.build import base_problem, build_release, build_signature, mart_names
from warehouse.checks import run_checks
from warehouse.digest import differences, table_digests
from warehouse.ledger import rejected_days
from warehouse.paths import Home
from warehouse.releases import accept_day, current_release, list_releases, rollback

FIRST_DAY = date(2026, 11, 1)
DAYS = 9
FIRST_DELIVERED = 3  # days in the lake before the sequence starts


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """Nine days of a small street's exports, delivered to homes day by day by the tests."""
    root = tmp_path_factory.mktemp("incremental-landing")
    generate(root, days=DAYS, start=FIRST_DAY, scale=0.05, seed=3)
    return root


class Street:
    """A home that receives the landing folders one (source, day) at a time, as a street's exports arrive."""

    def __init__(self, root: Path, landing: Path, rng: random.Random) -> None:
        self.home = Home(root).ensure()
        write_street_config(root / "cockpit.toml")
        shutil.copy(landing / "_demo_manifest.json", self.home.landing / "_demo_manifest.json")
        self.source = landing
        self.rng = rng
        self.next_day = FIRST_DAY
        self.withheld: list[Path] = []  # (source, day) folders held back by a nightly delivery, delivered late
        self.log: list[str] = []

    def folders(self, day: date) -> list[Path]:
        return sorted(self.source.glob(f"*/{day.isoformat()}"))

    def deliver(self, folder: Path) -> None:
        shutil.copytree(folder, self.home.landing / folder.parent.name / folder.name)

    def nightly(self) -> bool:
        if self.next_day >= FIRST_DAY + timedelta(days=DAYS):
            return False
        folders = self.folders(self.next_day)
        if len(folders) > 2 and self.rng.random() < 0.4:  # one source is late tonight
            self.withheld.append(folders.pop(self.rng.randrange(len(folders))))
        for folder in folders:
            self.deliver(folder)
        self.next_day += timedelta(days=1)
        return True

    def late(self) -> bool:
        if not self.withheld:
            return False
        self.deliver(self.withheld.pop(0))
        return True

    def changed(self) -> bool:
        """A day delivered again by its source with its last record missing (a JSONL or CSV file)."""
        files = [
            path
            for path in sorted(self.home.landing.glob("*/*/*"))
            if path.suffix in (".jsonl", ".csv") and path.read_bytes().count(b"\n") > 2
        ]
        if not files:
            return False
        path = self.rng.choice(files)
        lines = path.read_bytes().rstrip(b"\n").split(b"\n")
        path.write_bytes(b"\n".join(lines[:-1]) + b"\n")
        return True

    def edited(self) -> bool:
        """A day delivered again corrected: in each of its CSV files, two records' values of one column swapped
        (a device moved to another grid, two reports' categories mixed up): as many rows, other content."""
        days = sorted({path.parent for path in self.home.landing.glob("*/*/*.csv")}, key=lambda p: p.name)
        if not days:
            return False
        day = self.rng.choice(sorted({folder.name for folder in days}))
        for path in sorted(self.home.landing.glob(f"*/{day}/*.csv")):
            self._swap_two_values(path)
        return True

    def _swap_two_values(self, path: Path) -> None:
        raw = path.read_bytes()
        for encoding in ("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8", "gb18030", "cp936"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return  # a file the exporter garbled: left as it is
        rows = list(csv.reader(io.StringIO(text, newline="")))
        if len(rows) < 3:
            return
        first, second = self.rng.sample(range(1, len(rows)), 2)
        column = self.rng.randrange(1, len(rows[0]))
        rows[first][column], rows[second][column] = rows[second][column], rows[first][column]
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\r\n" if b"\r\n" in raw else "\n").writerows(rows)
        path.write_bytes(out.getvalue().encode(encoding))

    def delivered_days(self) -> list[date]:
        return sorted({date.fromisoformat(folder.name) for folder in self.home.landing.glob("*/20*")})


def _reference_digest(home: Home, folder: Path) -> dict:
    """The digest of a release built from scratch of the home's lake, up to the current release's day."""
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        through = con.execute("SELECT data_through FROM meta_release").fetchall()[0][0]
    target = folder / f"reference-{len(list(folder.iterdir()))}.duckdb"
    build_release(
        home.lake,
        target,
        run_id="reference",
        data_through=through,
        is_demo=True,
        code_rows=added_codes(load_mappings()),
    )
    with duckdb.connect(str(target), read_only=True) as con:
        digest = table_digests(con)
    target.unlink()
    return digest


def _current_digest(home: Home) -> dict:
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        return table_digests(con)


class Killed(BaseException):
    """The process dying mid-build (what a kill -9 leaves: the lake written, no ledger row, no release)."""


ACTIONS = ["nightly"] * 5 + [
    "late",
    "changed",
    "edited",
    "edited",
    "same",
    "rollback",
    "accept",
    "all",
    "failed",
    "killed",
]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_release_built_on_a_base_equals_one_built_from_scratch(landing, tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    street = Street(tmp_path / "home", landing, rng)
    home = street.home
    references = tmp_path / "references"
    references.mkdir()
    for _ in range(FIRST_DELIVERED):
        street.nightly()
    first = run_pipeline(home, salt=SALT)
    assert first.status == "published" and first.build.startswith("built from scratch"), first.message
    actions = ACTIONS[:]
    rng.shuffle(actions)
    built_on_base = 0
    for step, action in enumerate(actions):
        summary = None
        if (
            action == "nightly"
            or (action == "late" and not street.late())
            or (action == "changed" and not street.changed())
            or (action == "edited" and not street.edited())
        ):
            street.nightly()
        if action in ("nightly", "late", "changed", "edited"):
            summary = run_pipeline(home, salt=SALT)
        elif action == "same":
            summary = run_pipeline(home, salt=SALT, day=rng.choice(street.delivered_days()))
        elif action == "rollback":
            if len(list_releases(home)) > 1:
                rollback(home)
                street.log.append(f"{step} rollback")
                continue
            street.nightly()
            summary = run_pipeline(home, salt=SALT)
        elif action == "accept":
            rejected = rejected_days(home)
            if rejected:
                accept_day(home, rejected[0].day, source=rejected[0].source)
            else:
                street.nightly()
            summary = run_pipeline(home, salt=SALT)
        elif action == "all":
            summary = run_pipeline(home, salt=SALT, rebuild_all=True)
        elif action in ("failed", "killed"):
            street.nightly() or street.changed()
            with monkeypatch.context() as patch:
                if action == "failed":
                    patch.setattr(run_module, "run_checks", lambda con, **_: ["fct_ticket.ticket_id: forced failure"])
                    assert run_pipeline(home, salt=SALT).status == "failed"
                else:

                    def killed(*args, **kwargs):
                        raise Killed

                    patch.setattr(run_module, "build_release", killed)
                    with pytest.raises(Killed):
                        run_pipeline(home, salt=SALT)
            street.log.append(f"{step} {action}")
            continue
        street.log.append(f"{step} {action}: {summary.status} · {summary.build}")
        assert summary.status in ("published", "up_to_date"), (summary.message, street.log)
        if summary.status == "published":
            built_on_base += summary.build.startswith("built on")
            assert differences(_current_digest(home), _reference_digest(home, references)) == [], street.log
    # the last step's lake, whatever came before: one more night, built on the current release
    street.nightly() or street.changed()
    last = run_pipeline(home, salt=SALT)
    assert last.status == "published" and last.build.startswith("built on"), (last.build, street.log)
    assert differences(_current_digest(home), _reference_digest(home, references)) == [], street.log
    assert built_on_base >= 6, street.log


def test_a_night_of_one_source_rebuilds_what_reads_it_and_keeps_the_rest(landing, tmp_path):
    street = Street(tmp_path / "home", landing, random.Random(0))
    for _ in range(FIRST_DELIVERED):
        street.nightly()
    first = run_pipeline(street.home, salt=SALT)
    street.deliver(street.source / "hotline_12345" / street.next_day.isoformat())  # only the 12345 export came
    night = run_pipeline(street.home, salt=SALT)
    assert night.status == "published" and night.build.startswith("built on"), night.build
    with duckdb.connect(str(current_release(street.home)), read_only=True) as con:
        mode, base = con.execute("SELECT build_mode, base_run_id FROM meta_release").fetchall()[0]
        tickets = con.execute(
            "SELECT count(*) FROM fct_ticket WHERE received_at::DATE = ?", [street.next_day]
        ).fetchall()
    assert (mode, base) == ("incremental", first.run_id)
    assert tickets[0][0] > 0
    rebuilt = int(night.build.split(": ")[1].split(" of ")[0])
    assert 0 < rebuilt < len(mart_names()) // 2, night.build
    assert differences(_current_digest(street.home), _reference_digest(street.home, tmp_path)) == []


@pytest.fixture
def published(landing, tmp_path) -> Street:
    street = Street(tmp_path / "home", landing, random.Random(0))
    for _ in range(FIRST_DELIVERED):
        street.nightly()
    assert run_pipeline(street.home, salt=SALT).status == "published"
    return street


def test_a_base_is_refused_for_other_code_another_lake_a_false_record_or_an_old_full_build(published, tmp_path):
    home = published.home
    base = current_release(home)
    signature = build_signature(added_codes(load_mappings()))
    assert base_problem(base, lake=home.lake.resolve(), signature=signature) is None
    assert "other code" in base_problem(base, lake=home.lake.resolve(), signature=signature[::-1])
    assert "another lake" in base_problem(base, lake=tmp_path, signature=signature)
    with duckdb.connect(str(base), read_only=True) as con:
        built = con.execute("SELECT full_built_at FROM meta_release").fetchall()[0][0]
    assert base_problem(base, lake=home.lake.resolve(), signature=signature, full_every_days=7, now=built) is None
    old = base_problem(
        base, lake=home.lake.resolve(), signature=signature, full_every_days=7, now=built + timedelta(days=7)
    )
    assert "7 or more days ago" in old
    tampered = tmp_path / "tampered.duckdb"
    shutil.copy(base, tampered)
    with duckdb.connect(str(tampered)) as con:
        con.execute("DELETE FROM meta_lake_file WHERE file = (SELECT min(file) FROM meta_lake_file)")
    assert "does not match its fingerprint" in base_problem(tampered, lake=home.lake.resolve(), signature=signature)
    # a signature covers the code rows the mappings add, not only the code
    assert build_signature({"category": ({"code": "x", "name": "y"},)}) != signature


def test_full_builds_when_asked_or_when_the_setting_says_always(published):
    home = published.home
    assert run_pipeline(home, salt=SALT).status == "up_to_date"
    again = run_pipeline(home, salt=SALT, full=True)  # nothing new, but asked for: built from scratch all the same
    assert (again.status, again.build) == ("published", "built from scratch: asked for (--full)")
    published.nightly()
    asked = run_pipeline(home, salt=SALT, full=True)
    assert asked.build == "built from scratch: asked for (--full)"
    published.nightly()
    always = run_pipeline(home, salt=SALT, full_build_every_days=0)
    assert always.build.startswith("built from scratch") and "0" in always.build
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        full_at = con.execute("SELECT built_at FROM meta_release").fetchall()[0][0]
    published.nightly()
    weekly = run_pipeline(home, salt=SALT)
    assert weekly.build.startswith("built on")
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        line = con.execute("SELECT build_mode, full_built_at FROM meta_release").fetchall()[0]
    assert line == ("incremental", full_at)  # the line of builds remembers its last build from scratch


def test_a_run_says_where_its_time_went_stage_by_stage_and_step_by_step(published):
    """A night's summary holds each stage's seconds, in the order they ran, within the run's, and each step of
    the build within the build's: waiting for the base's copy first, the tickets and sensor slots patched, the
    checkpoint last; its slowest steps, slowest first. A build from scratch compacts first and builds each model."""
    published.nightly()
    night = run_pipeline(published.home, salt=SALT)
    assert night.build.startswith("built on"), night.build
    summary = night.to_dict()
    assert list(summary["stages"]) == ["load", "build", "checks", "publish"]
    assert all(night.stages[stage] > 0 for stage in ("load", "build", "checks"))
    assert sum(night.stages.values()) <= night.duration_s
    labels = [label for label, _ in night.steps]
    assert labels[0] == "base copy" and labels[-1] == "checkpoint", labels
    assert {"patch fct_ticket", "patch fct_sensor_hourly", "lake_ticket_intake"} <= set(labels), labels
    assert all(seconds > 0 for _, seconds in night.steps)
    assert sum(seconds for _, seconds in night.steps) <= night.stages["build"]
    slowest = summary["slowest_steps"]
    assert 0 < len(slowest) <= 10 and [s for _, s in slowest] == sorted((s for _, s in slowest), reverse=True)
    assert slowest[0][1] == round(max(seconds for _, seconds in night.steps), 2)

    published.nightly()
    scratch = run_pipeline(published.home, salt=SALT, full=True)
    assert list(scratch.to_dict()["stages"]) == ["load", "compact", "build", "checks", "publish"]
    labels = {label for label, _ in scratch.steps}
    assert "base copy" not in labels and {"model fct_ticket", "model fct_sensor_hourly"} <= labels, labels


def _sensor_series(rng: random.Random, start: datetime, days: int) -> dict[date, list[dict]]:
    """Readings by landing day for a few devices whose values repeat often (stuck runs of every length, many
    across midnight), jump now and then (spikes beside a day's edge) and stop for hours or days (gaps)."""
    by_day: dict[date, list[dict]] = {}
    for device, metric, step, levels in (
        ("WQ1", "ph", 1, (7.0, 7.0, 7.0, 7.4, 13.9)),
        ("WQ2", "ph", 1, (6.8, 7.2)),
        ("GAS1", "gas_lel_pct", 4, (5.0, 5.0, 6.0, 40.0)),
    ):
        value, moment = levels[0], start
        while moment < start + timedelta(days=days):
            if rng.random() < 0.03:  # the feed stops: a gap of up to two days
                moment += timedelta(hours=step * rng.randint(1, 48 // step))
                continue
            if rng.random() < 0.25:
                value = rng.choice(levels)
            by_day.setdefault(moment.date(), []).append(
                {"device_id": device, "metric": metric, "measured_at": moment, "value": value}
            )
            moment += timedelta(hours=step)
    return by_day


@pytest.mark.parametrize("seed", range(4))
def test_sensor_slots_patched_night_by_night_equal_slots_built_from_scratch(tmp_path, monkeypatch, seed):
    """fct_sensor_hourly and the device days patched for each night's readings and a camera's statuses, late
    files of both and a device first seen on the last night, against the same lake built from scratch
    (warehouse/incremental.py: `patch_sensor_hourly`, `patch_from_day`, `patch_by_key`). With odd seeds a
    series' last slot is looked for first only 6 hours back, so the feeds' silences send it further."""
    if seed % 2:
        monkeypatch.setattr(incremental, "SENSOR_LOOKBACK", timedelta(hours=6))
    rng = random.Random(seed)
    start = datetime(2026, 11, 1)
    by_day = _sensor_series(rng, start, 8)
    lake, releases = tmp_path / "lake", tmp_path / "releases"
    days = sorted(by_day)
    late_day = days[3]
    late = [row for row in by_day[late_day] if row["device_id"] == "WQ2"]  # WQ2's readings of one day come late
    by_day[late_day] = [row for row in by_day[late_day] if row["device_id"] != "WQ2"]
    by_day[days[-1]].append({"device_id": "WQ9", "metric": "ph", "measured_at": start + timedelta(days=7), "value": 7})
    register = [
        {"device_id": "WQ1", "kind": "water_quality", "installed_on": date(2026, 10, 1)},
        {"device_id": "WQ2", "kind": "water_quality"},
        {"device_id": "GAS1", "kind": "gas", "installed_on": date(2026, 11, 3)},
        {"device_id": "WQ9", "kind": "water_quality", "installed_on": days[-1]},
        {"device_id": "CAM1", "kind": "video"},
    ]
    write_partition(lake, "device", days[0], "iot", register)
    previous = None
    patched = 0
    for number, day in enumerate(days):
        write_partition(lake, "sensor_reading", day, "iot", by_day[day])
        camera = {"device_id": "CAM1", "status_date": day, "online_minutes": rng.choice([0, 1400, 1440])}
        if number != 2:  # the camera's status of the third day comes late
            write_partition(lake, "video_status", day, "iot", [camera])
        if number == 6:
            write_partition(lake, "sensor_reading", late_day, "iot_late", late)
            write_partition(lake, "video_status", days[2], "iot_late", [{**camera, "status_date": days[2]}])
        night = releases / f"night-{number}.duckdb"
        result = build_release(lake, night, run_id=f"n{number}", data_through=day, is_demo=True, base=previous)
        patched += {"fct_sensor_hourly", "fct_device_status", "fct_video_status"} <= set(result.patched)
        scratch = releases / f"scratch-{number}.duckdb"
        build_release(lake, scratch, run_id=f"s{number}", data_through=day, is_demo=True)
        with duckdb.connect(str(night), read_only=True) as a, duckdb.connect(str(scratch), read_only=True) as b:
            assert differences(table_digests(a), table_digests(b)) == [], (seed, day, result.describe())
        scratch.unlink()
        previous = night
    assert patched == len(days) - 2  # all nights but the first (from scratch) and the one without a camera status


def test_a_day_delivered_again_without_a_ticket_takes_its_terms_and_groups_away(published, tmp_path):
    home = published.home
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        ticket_id, source_id, day = con.execute(
            "SELECT t.ticket_id, s.source_ticket_id, s.loaded_day FROM fct_ticket AS t "
            "JOIN stg_ticket_intake AS s ON s.channel || ':' || s.source_ticket_id = t.ticket_id "
            "WHERE s._source = 'hotline_12345' AND t.ticket_id IN (SELECT ticket_id FROM fct_ticket_term) "
            "ORDER BY count(*) OVER (PARTITION BY s.loaded_day) DESC, t.ticket_id LIMIT 1"  # a day with others"
        ).fetchall()[0]
        tickets = con.execute("SELECT count(*) FROM fct_ticket").fetchall()[0][0]
    (day_file,) = home.landing.glob(f"hotline_12345/{day.isoformat()}/*.csv")
    lines = day_file.read_bytes().split(b"\n")
    kept = [line for line in lines if source_id.encode() not in line]
    assert len(kept) < len(lines)  # every line of that call (an export may repeat one)
    day_file.write_bytes(b"\n".join(kept))  # the day delivered again, that call gone
    again = run_pipeline(home, salt=SALT)
    assert again.status == "published" and again.build.startswith("built on"), again.build
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fct_ticket").fetchall()[0][0] == tickets - 1
        for mart in ("fct_ticket", "fct_ticket_term", "fct_ticket_group"):
            assert con.execute(f"SELECT count(*) FROM {mart} WHERE ticket_id = ?", [ticket_id]).fetchall()[0][0] == 0
    assert differences(_current_digest(home), _reference_digest(home, tmp_path)) == []


def _calendar_edge(lake: Path, folder: Path, day: date) -> tuple[Path, date, int, int]:
    """A release of `lake` through `day` (its path), its calendar's last day and that day's working-day index, and
    `day`'s. The crafted deadlines fall on the day after the last, which must be a working day."""
    probe = folder / "probe.duckdb"
    build_release(lake, probe, run_id="probe", data_through=day, is_demo=True)
    with duckdb.connect(str(probe), read_only=True) as con:
        last, last_index = con.execute(
            "SELECT day, workday_index FROM dim_calendar ORDER BY day DESC LIMIT 1"
        ).fetchone()
        index = con.execute("SELECT workday_index FROM dim_calendar WHERE day = ?", [day]).fetchone()[0]
    assert (last + timedelta(days=1)).weekday() < 5  # a working day (December 2027 has no holiday)
    return probe, last, last_index, index


def test_tickets_patched_night_by_night_follow_moved_events_duplicates_repeats_and_resent_intake(tmp_path):
    """fct_ticket_event is patched per ticket from stg_ticket_event, patched per event, and fct_ticket per ticket
    with the tickets of their address and category (warehouse/incremental.py: `rekey`, `patch_tickets`).
    Each night equals a build from scratch of the same lake, and both marts were patched, not built again:

    - a late file on an earlier landing day delivers event E2 again for ticket B (the first load wins): A loses
      it, B gains it; an event that came before its ticket (an orphan) stops being one when the ticket comes;
    - D (another channel, the same address, 11 h after A) is A's duplicate; then a late forum ticket F from an
      hour before A makes A and D duplicates of F;
    - G, fixed on the spot (nothing about it moves with the as-of day), repeats B's complaint; then B is sent
      again with another address and wins (an earlier landing file): G is no repeat any more, though nothing of
      G's changed: it shared the address B's replaced row had;
    - H's deadline lies past the base's calendar, and enters it the next night."""
    lake, releases = tmp_path / "lake", tmp_path / "releases"
    day = [date(2026, 11, 2) + timedelta(days=n) for n in range(4)]

    def intake(channel: str, source_id: str, at: str, address: str, **extra) -> dict:
        return {
            "channel": channel, "source_ticket_id": source_id, "received_at": datetime.fromisoformat(at),
            "category": "noise", "title": "夜间施工噪音", "address": address, "reporter_kind": "citizen", **extra,
        }  # fmt: skip

    def event(event_id: str, source_id: str, kind: str, at: str) -> dict:
        return {
            "event_id": event_id, "channel": "hotline_12345", "source_ticket_id": source_id, "event_type": kind,
            "event_at": datetime.fromisoformat(at),
        }  # fmt: skip

    hotline = "hotline_12345"
    write_partition(lake, "ticket_intake", day[0], hotline, [
        intake(hotline, "A", "2026-11-02 09:00", "星湖街1号"), intake(hotline, "B", "2026-11-02 10:00", "星湖街2号"),
        intake(hotline, "H", "2026-11-02 11:00", "湖西路8号"),
    ])  # fmt: skip
    # H, handled at once, was given so long an extension that its deadline is the first day after the base's
    # calendar: it has one from the night the calendar reaches that day, with nothing of its own changing
    probe, last, last_index, received_index = _calendar_edge(lake, releases, day[0])
    with duckdb.connect(str(probe), read_only=True) as con:
        sla = con.execute("SELECT sla_working_days FROM dim_category WHERE category = 'noise'").fetchone()[0]
    extension = last_index + 1 - received_index - sla
    write_partition(lake, "ticket_event", day[0], "ticket_events", [
        event("E1", "A", "dispatched", "2026-11-02 09:30"),
        event("E11", "H", "dispatched", "2026-11-02 11:10"), event("E12", "H", "accepted", "2026-11-02 11:20"),
        event("E13", "H", "contacted", "2026-11-02 11:30"), event("E15", "H", "resolved", "2026-11-02 15:00"),
        {**event("E14", "H", "extended", "2026-11-02 11:40"), "extension_days": extension},
    ])  # fmt: skip
    nights = [
        [("ticket_event", day[1], "ticket_events", [event("E2", "A", "accepted", "2026-11-03 08:00"),
                                                    event("E9", "C", "dispatched", "2026-11-03 09:00")])],
        [("ticket_intake", day[2], hotline, [
            intake(hotline, "C", "2026-11-03 08:30", "湖东路3号"),
            intake(hotline, "G", "2026-11-04 09:00", "星湖街 2号", self_resolved=True),
        ]),
         ("ticket_intake", day[2], "city_mgmt", [intake("city_mgmt", "D", "2026-11-02 20:00", "星湖街1号")]),
         # lands before day 1's E2 (an earlier landing day): E2 is B's now
         ("ticket_event", day[0], "ticket_events_late", [event("E2", "B", "accepted", "2026-11-03 08:00")])],
        [("ticket_event", day[3], "ticket_events", [event("E3", "B", "resolved", "2026-11-05 16:00")]),
         # a late file of day 0 sorting before the first (its name): F, and B sent again from another address
         ("ticket_intake", day[0], "a_resent", [intake("forum", "F", "2026-11-02 08:00", "星湖街1号"),
                                                intake(hotline, "B", "2026-11-02 10:00", "星湖街1号")])],
    ]  # fmt: skip
    previous = releases / "night-0.duckdb"
    build_release(lake, previous, run_id="n0", data_through=day[0], is_demo=True)
    with duckdb.connect(str(previous), read_only=True) as con:
        on_time = {0: con.execute("SELECT is_on_time FROM fct_ticket WHERE source_ticket_id = 'H'").fetchone()[0]}
    found = {}
    for number, files in enumerate(nights, start=1):
        for table, landed, source, rows in files:
            write_partition(lake, table, landed, source, rows)
        night = releases / f"night-{number}.duckdb"
        result = build_release(lake, night, run_id=f"n{number}", data_through=day[number], is_demo=True, base=previous)
        assert {"fct_ticket_event", "fct_ticket"} <= set(result.patched), result.describe()
        scratch = releases / f"scratch-{number}.duckdb"
        build_release(lake, scratch, run_id=f"s{number}", data_through=day[number], is_demo=True)
        with duckdb.connect(str(night), read_only=True) as a, duckdb.connect(str(scratch), read_only=True) as b:
            assert differences(table_digests(a), table_digests(b)) == [], (number, result.describe())
            found[number] = (
                a.execute(
                    "SELECT event_id, source_ticket_id, is_orphan FROM fct_ticket_event WHERE source_ticket_id <> 'H' "
                    "ORDER BY 1"
                ).fetchall(),
                dict(a.execute("SELECT source_ticket_id, duplicate_of FROM fct_ticket").fetchall()),
                dict(a.execute("SELECT source_ticket_id, is_repeat_complaint FROM fct_ticket").fetchall()),
            )
            on_time[number] = a.execute("SELECT is_on_time FROM fct_ticket WHERE source_ticket_id = 'H'").fetchone()[0]
        previous = night
    events, duplicates, repeats = found[2]
    assert events == [("E1", "A", False), ("E2", "B", False), ("E9", "C", False)]
    assert duplicates["D"] == "hotline_12345:A" and repeats["G"] is True
    events, duplicates, repeats = found[3]
    assert duplicates["A"] == duplicates["D"] == duplicates["B"] == "forum:F"
    assert repeats["G"] is False
    assert on_time == {0: None, 1: True, 2: True, 3: True}


def test_an_application_whose_deadline_enters_the_calendar_is_patched_with_it(tmp_path):
    """fct_approval is patched by application (`-- patch: application_id`). An application completed on its day
    of receipt, under an item whose legal term ends the first working day past the base's calendar, has neither
    a deadline nor an on-time verdict; the night the calendar reaches that day it has both, though nothing of
    its own changed. So has one whose completion lies there, its working days taken (the `-- moves:` clauses).
    Each night equals a build from scratch and patched fct_approval."""
    lake, releases = tmp_path / "lake", tmp_path / "releases"
    day = [date(2026, 11, 2) + timedelta(days=n) for n in range(3)]

    def application(application_id: str, item: str, status: str, received: str, completed: str | None) -> dict:
        at = datetime.fromisoformat(received)
        return {
            "application_id": application_id, "service_item_id": item, "community_id": "C01", "channel": "window",
            "status": status, "received_at": at, "updated_at": datetime.fromisoformat(completed or received),
            "completed_at": datetime.fromisoformat(completed) if completed else None,
        }  # fmt: skip

    write_partition(lake, "approval", day[0], "approvals", [
        application("P1", "LONG", "completed", "2026-11-02 09:00", "2026-11-02 15:00"),
        application("P2", "SHORT", "in_progress", "2026-11-02 10:00", None),
    ])  # fmt: skip
    _, last, last_index, received_index = _calendar_edge(lake, releases, day[0])
    item = {"name": "审批事项", "department_id": "D01"}
    write_partition(lake, "service_item", day[0], "approvals_register", [
        {**item, "service_item_id": "LONG", "legal_days": last_index + 1 - received_index, "promised_days": 5},
        {**item, "service_item_id": "SHORT", "legal_days": 5, "promised_days": 3},
    ])  # fmt: skip
    # P4's completion is dated the first day past the base's calendar (an export's error, or a time zone's): its
    # working days taken are unknown until the calendar reaches it
    completion = f"{last + timedelta(days=1)} 10:00"
    write_partition(lake, "approval", day[0], "approvals_b", [
        application("P4", "SHORT", "completed", "2026-11-02 11:00", completion),
    ])  # fmt: skip
    nights = [[application("P3", "SHORT", "received", "2026-11-03 09:00", None)], []]
    previous = releases / "night-0.duckdb"
    build_release(lake, previous, run_id="n0", data_through=day[0], is_demo=True)
    query = (
        "SELECT legal_deadline, is_on_time, (SELECT working_days_taken FROM fct_approval WHERE application_id = 'P4') "
        "FROM fct_approval WHERE application_id = 'P1'"
    )
    with duckdb.connect(str(previous), read_only=True) as con:
        seen = {0: con.execute(query).fetchone()}
    for number, rows in enumerate(nights, start=1):
        if rows:
            write_partition(lake, "approval", day[number], "approvals", rows)
        night = releases / f"night-{number}.duckdb"
        result = build_release(lake, night, run_id=f"n{number}", data_through=day[number], is_demo=True, base=previous)
        assert "fct_approval" in result.patched, result.describe()
        scratch = releases / f"scratch-{number}.duckdb"
        build_release(lake, scratch, run_id=f"s{number}", data_through=day[number], is_demo=True)
        with duckdb.connect(str(night), read_only=True) as a, duckdb.connect(str(scratch), read_only=True) as b:
            assert differences(table_digests(a), table_digests(b)) == [], (number, result.describe())
            seen[number] = a.execute(query).fetchone()
        previous = night
    deadline, taken = last + timedelta(days=1), last_index + 1 - received_index
    assert seen == {0: (None, None, None), 1: (deadline, True, taken), 2: (deadline, True, taken)}


# A device id as an export may spell it: quotes and braces reach the patch's SQL and its formatted strings.
SILENT = "WQ{2}'x"


def test_a_device_silent_for_weeks_moves_only_its_own_days_back(tmp_path):
    """A night's readings from a feed silent since its third day change its slots from then (its gap rows
    close), so its device days are computed again from then; every other device's only from the night's day
    (`-- patch: from status_date, per device_id`). A row the night must not compute again is marked in the
    base: it comes through marked. The rows it must compute again come out as a build from scratch has them."""
    start = datetime(2026, 11, 1)
    register = [
        {"device_id": "WQ1", "kind": "water_quality", "installed_on": date(2026, 11, 1)},
        {"device_id": SILENT, "kind": "water_quality", "installed_on": date(2026, 11, 1)},
        {"device_id": "CAM1", "kind": "video"},
    ]
    lake, releases = tmp_path / "lake", tmp_path / "releases"
    days = [(start + timedelta(days=n)).date() for n in range(20)]
    write_partition(lake, "device", days[0], "iot", register)
    for number, day in enumerate(days[:-1]):
        readings = [
            {"device_id": device, "metric": "ph", "measured_at": start + timedelta(days=number, hours=h), "value": 7.0}
            for h in range(24)
            for device in (("WQ1", SILENT) if number < 3 else ("WQ1",))
        ]
        write_partition(lake, "sensor_reading", day, "iot", readings)
        write_partition(
            lake, "video_status", day, "iot", [{"device_id": "CAM1", "status_date": day, "online_minutes": 1440}]
        )
    base = releases / "base.duckdb"
    build_release(lake, base, run_id="base", data_through=days[-2], is_demo=True)
    marked_day = days[10]  # after the silent feed fell silent, before the night
    with duckdb.connect(str(base)) as con:
        con.execute(
            "UPDATE fct_device_status SET is_online = NOT is_online WHERE status_date = ? AND device_id IN (?, ?)",
            [marked_day, "WQ1", SILENT],
        )
        marked = dict(
            con.execute(
                "SELECT device_id, is_online FROM fct_device_status WHERE status_date = ?", [marked_day]
            ).fetchall()
        )
    assert marked == {"WQ1": False, SILENT: True, "CAM1": True}  # WQ1 reported that day, the silent feed did not

    night = days[-1]
    write_partition(
        lake,
        "sensor_reading",
        night,
        "iot",
        [
            {"device_id": device, "metric": "ph", "measured_at": start + timedelta(days=19, hours=h), "value": 7.0}
            for h in range(24)
            for device in ("WQ1", SILENT)
        ],
    )
    write_partition(
        lake, "video_status", night, "iot", [{"device_id": "CAM1", "status_date": night, "online_minutes": 0}]
    )
    patched = releases / "night.duckdb"
    result = build_release(lake, patched, run_id="night", data_through=night, is_demo=True, base=base)
    assert "fct_device_status" in result.patched
    scratch = releases / "scratch.duckdb"
    build_release(lake, scratch, run_id="scratch", data_through=night, is_demo=True)
    query = "SELECT device_id, status_date, is_online FROM fct_device_status ORDER BY ALL"
    with duckdb.connect(str(patched), read_only=True) as a, duckdb.connect(str(scratch), read_only=True) as b:
        ours, theirs = a.execute(query).fetchall(), b.execute(query).fetchall()
        slots = "SELECT * FROM fct_sensor_hourly ORDER BY ALL"
        assert a.execute(slots).fetchall() == b.execute(slots).fetchall()
    differ = [(x, y) for x, y in zip(ours, theirs, strict=True) if x != y]
    # WQ1's marked day was not computed again; the silent feed's was (its own days from its silence), as was
    # every device's night (the camera went offline, both feeds reported).
    assert differ == [(("WQ1", marked_day, False), ("WQ1", marked_day, True))]
    assert (SILENT, marked_day, False) in ours and ("CAM1", night, False) in ours and (SILENT, night, True) in ours

    # The checks read what the night wrote (BuildResult.scopes): every row that differs from the base's is in
    # its table's scope; the other feed's marked day, which the night did not compute again, is not.
    with duckdb.connect(str(patched), read_only=True) as con:
        con.execute(f"ATTACH '{base}' AS base (READ_ONLY)")
        for table in ("fct_sensor_hourly", "fct_device_status"):
            scope = result.scopes[table][1]
            new_rows = f"(FROM main.{table} EXCEPT ALL FROM base.main.{table})"
            assert con.execute(f"SELECT count(*) FROM {new_rows} WHERE NOT ({scope})").fetchone()[0] == 0, scope
            day_of = "CAST(hour AS DATE)" if table == "fct_sensor_hourly" else "status_date"
            in_scope = f"SELECT device_id, count(*) FROM main.{table} WHERE {day_of} = ? AND ({scope}) GROUP BY ALL"
            assert dict(con.execute(in_scope, [marked_day]).fetchall()).keys() == {SILENT}, scope
        assert run_checks(con, changed=result.changed, scopes=result.scopes) == []
