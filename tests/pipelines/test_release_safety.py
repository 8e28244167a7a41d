"""The run and the release pointer: a run never reports success without a release that opens, a failed build
leaves no file behind, and a rollback sticks through the next nightly runs until the day is accepted."""

from __future__ import annotations

import errno
import shutil
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import run as run_module
from pipelines.run import EXIT_FAILED, EXIT_NOTHING_LOADED, run_pipeline
from tests.conftest import DEMO_DAYS, DEMO_START, SALT
from warehouse.ledger import rejected_days
from warehouse.releases import (
    ReleaseError,
    accept_day,
    current_release,
    list_releases,
    open_release,
    rollback,
    verify_release,
)

BAD_DAY = DEMO_START + timedelta(days=DEMO_DAYS - 1)


def tickets_received_on(release, day) -> int:
    con = open_release(release)
    try:
        return con.execute("SELECT count(*) FROM fct_ticket WHERE received_date = ?", [day]).fetchone()[0]
    finally:
        con.close()


def test_garbage_in_current_makes_the_next_run_rebuild_rather_than_report_data_through_none(fresh_home):
    first = run_pipeline(fresh_home, salt=SALT)
    assert first.status == "published"
    fresh_home.current_pointer.write_text("garbage\n", encoding="utf-8")
    again = run_pipeline(fresh_home, salt=SALT)
    assert (again.status, again.exit_code) == ("published", 0), again.message
    assert again.data_through == first.data_through
    verify_release(current_release(fresh_home))
    assert current_release(fresh_home).name == again.release
    assert any("CURRENT does not name a release file" in w for w in again.warnings)


def test_a_deleted_current_release_is_rebuilt_by_the_next_run(fresh_home):
    first = run_pipeline(fresh_home, salt=SALT)
    current_release(fresh_home).unlink()
    again = run_pipeline(fresh_home, salt=SALT)
    assert again.status == "published" and again.release != first.release
    verify_release(current_release(fresh_home))


def test_a_run_that_cannot_rebuild_a_broken_current_release_fails_with_one_line(fresh_home, monkeypatch):
    run_pipeline(fresh_home, salt=SALT)
    fresh_home.current_pointer.unlink()
    monkeypatch.setattr(run_module, "run_checks", lambda con, **_: ["dim_community.name: 1 null value"])
    again = run_pipeline(fresh_home, salt=SALT)
    assert (again.status, again.exit_code) == ("failed", EXIT_FAILED)
    assert "\n" not in again.message and again.message


def test_a_build_failing_mid_way_leaves_no_file_and_prunes_all_the_same(fresh_home):
    published = run_pipeline(fresh_home, salt=SALT, keep_releases=1)
    kept = current_release(fresh_home)
    # Leftovers of an earlier killed build and an old release beyond `keep`: a failing run removes them too.
    (fresh_home.releases / "20200101T000000-dead.duckdb.building.wal").write_bytes(b"\0" * 4096)
    shutil.copy(kept, fresh_home.releases / "20200101T000000-0ld0.duckdb")
    # A lake file whose receive time no model can read: the build stops at the first model that casts it.
    intake = next(fresh_home.lake.glob("ticket_intake/day=*/hotline_12345.parquet"))
    rows = pq.read_table(intake)
    bad = rows.set_column(
        rows.schema.get_field_index("received_at"), "received_at", pa.array(["不是时间"] * rows.num_rows)
    )
    pq.write_table(bad, intake.with_name("zz_broken.parquet"))

    failed = run_pipeline(fresh_home, salt=SALT, rebuild_all=True, keep_releases=1)
    assert (failed.status, failed.exit_code) == ("failed", EXIT_FAILED), failed.message
    assert "failed" in failed.message
    assert sorted(p.name for p in fresh_home.releases.iterdir()) == [kept.name]
    assert current_release(fresh_home) == kept and published.release == kept.name


def _redeliver(home, source: str = "hotline_12345") -> None:
    for path in (home.landing / source / BAD_DAY.isoformat()).iterdir():
        path.write_bytes(path.read_bytes())  # the same day delivered again: a night with one day to load


def test_the_base_is_copied_while_the_night_loads(fresh_home, monkeypatch):
    first = run_pipeline(fresh_home, salt=SALT)
    _redeliver(fresh_home)
    seen_while_loading = []
    load = run_module._Run.load_source

    def watched(run, mapping, pending):
        seen_while_loading.append(sorted(p.name for p in fresh_home.releases.iterdir()))
        return load(run, mapping, pending)

    monkeypatch.setattr(run_module._Run, "load_source", watched)
    night = run_pipeline(fresh_home, salt=SALT)
    assert night.status == "published" and night.build.startswith(f"built on release {first.run_id}"), night.build
    # The night's build file is there from the first load on: the copy of the base is under way beside the load.
    assert seen_while_loading == [sorted([first.release, f"{night.run_id}.duckdb.building"])]
    assert sorted(p.name for p in fresh_home.releases.iterdir()) == sorted([first.release, night.release])


def test_a_night_that_loads_nothing_usable_leaves_no_copy_behind(fresh_home):
    first = run_pipeline(fresh_home, salt=SALT)
    for path in (fresh_home.landing / "hotline_12345" / BAD_DAY.isoformat()).iterdir():
        path.write_bytes(b"\x00\xff not a spreadsheet \x00" * 64)  # delivered again, unreadable
    night = run_pipeline(fresh_home, salt=SALT)
    assert (night.status, night.exit_code) == ("no_usable_data", EXIT_NOTHING_LOADED), night.message
    assert [p.name for p in fresh_home.releases.iterdir()] == [first.release]
    assert current_release(fresh_home).name == first.release


def test_a_base_that_cannot_be_copied_fails_the_night_in_one_line_and_leaves_nothing(fresh_home, monkeypatch):
    first = run_pipeline(fresh_home, salt=SALT)
    _redeliver(fresh_home)

    def disk_full(source, target, **_):
        with open(source, "rb") as whole, open(target, "wb") as half:
            half.write(whole.read(1 << 20))
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    night = run_pipeline(fresh_home, salt=SALT)
    assert (night.status, night.exit_code) == ("failed", EXIT_FAILED)
    assert "No space left on device" in night.message and "\n" not in night.message
    assert [p.name for p in fresh_home.releases.iterdir()] == [first.release]
    assert current_release(fresh_home).name == first.release


def test_a_rollback_sticks_through_the_next_runs_until_the_day_is_accepted(fresh_home, tmp_path):
    held = tmp_path / "held"
    for day_dir in fresh_home.landing.glob(f"*/{BAD_DAY.isoformat()}"):
        shutil.move(day_dir, held / day_dir.parent.name / day_dir.name)
    good = run_pipeline(fresh_home, salt=SALT)
    assert good.status == "published"
    for day_dir in held.glob("*/*"):
        shutil.move(day_dir, fresh_home.landing / day_dir.parent.name / day_dir.name)
    bad = run_pipeline(fresh_home, salt=SALT)
    assert bad.status == "published" and {d for _, d in bad.stats} == {BAD_DAY}
    assert tickets_received_on(current_release(fresh_home), BAD_DAY) > 0

    undone = rollback(fresh_home)
    assert undone.run_id == good.run_id and current_release(fresh_home).name == good.release
    sources = {source for source, day in bad.stats}
    assert {source for source, _ in undone.rejected} == sources and {d for _, d in undone.rejected} == {BAD_DAY}
    assert not list(fresh_home.lake.glob(f"*/day={BAD_DAY.isoformat()}/*.parquet")), "set aside from the lake"
    assert list(fresh_home.set_aside.rglob(f"day={BAD_DAY.isoformat()}/*.parquet")), "moved, not deleted"
    assert {(r.source, r.day) for r in rejected_days(fresh_home)} == {(s, BAD_DAY) for s in sources}

    nightly = run_pipeline(fresh_home, salt=SALT)
    assert nightly.status == "up_to_date" and current_release(fresh_home).name == good.release
    rebuilt = run_pipeline(fresh_home, salt=SALT, rebuild_all=True)
    assert rebuilt.status == "published", rebuilt.message
    assert BAD_DAY not in {d for _, d in rebuilt.stats}
    assert rebuilt.data_through == BAD_DAY - timedelta(days=1)
    assert tickets_received_on(current_release(fresh_home), BAD_DAY) == 0
    assert any("rejected by a rollback" in w for w in rebuilt.warnings)

    accepted = accept_day(fresh_home, BAD_DAY, source="hotline_12345")
    assert [(r.source, r.day) for r in accepted] == [("hotline_12345", BAD_DAY)]
    back = run_pipeline(fresh_home, salt=SALT)
    assert back.status == "published" and {s for s, _ in back.stats} == {"hotline_12345"}
    assert tickets_received_on(current_release(fresh_home), BAD_DAY) > 0
    assert "hotline_12345" not in {r.source for r in rejected_days(fresh_home)}


def test_a_new_delivery_of_a_rejected_day_is_loaded_without_an_accept(fresh_home):
    run_pipeline(fresh_home, salt=SALT)
    day_dir = fresh_home.landing / "hotline_12345" / BAD_DAY.isoformat()
    for path in day_dir.iterdir():
        path.write_bytes(path.read_bytes())  # re-delivered: same name, a new time
    bad = run_pipeline(fresh_home, salt=SALT)
    assert bad.status == "published" and {(s, d) for s, d in bad.stats} == {("hotline_12345", BAD_DAY)}
    rollback(fresh_home)
    assert [(r.source, r.day) for r in rejected_days(fresh_home)] == [("hotline_12345", BAD_DAY)]
    assert run_pipeline(fresh_home, salt=SALT).status == "up_to_date"
    for path in day_dir.iterdir():
        path.write_bytes(path.read_bytes())  # the source system sends the day again
    again = run_pipeline(fresh_home, salt=SALT)
    assert again.status == "published" and {(s, d) for s, d in again.stats} == {("hotline_12345", BAD_DAY)}
    assert rejected_days(fresh_home) == []
    assert len(list_releases(fresh_home)) == 3


def test_rolling_forward_again_takes_the_rejection_back(fresh_home):
    run_pipeline(fresh_home, salt=SALT)
    for path in (fresh_home.landing / "hotline_12345" / BAD_DAY.isoformat()).iterdir():
        path.write_bytes(path.read_bytes())
    second = run_pipeline(fresh_home, salt=SALT)
    assert second.status == "published"
    rollback(fresh_home)
    assert [(r.source, r.day) for r in rejected_days(fresh_home)] == [("hotline_12345", BAD_DAY)]
    forward = rollback(fresh_home, second.run_id)
    assert forward.rejected == [] and current_release(fresh_home).name == second.release
    assert rejected_days(fresh_home) == []
    again = run_pipeline(fresh_home, salt=SALT)
    assert again.status == "published" and {(s, d) for s, d in again.stats} == {("hotline_12345", BAD_DAY)}
    assert tickets_received_on(current_release(fresh_home), BAD_DAY) > 0


def test_rollback_refuses_while_a_run_holds_the_home(fresh_home):
    run_pipeline(fresh_home, salt=SALT)
    run_pipeline(fresh_home, salt=SALT, rebuild_all=True)
    current = current_release(fresh_home)
    with run_module.run_lock(fresh_home), pytest.raises(ReleaseError, match="another pipeline run or rollback"):
        rollback(fresh_home)
    assert current_release(fresh_home) == current
