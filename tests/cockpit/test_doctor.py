"""`cockpit warehouse doctor` on a healthy home and on homes broken one way each: one line per finding, exit 1."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from cockpit.cli import main
from warehouse.paths import Home


def doctor(home: Home, *args: str):
    return CliRunner().invoke(main, ["warehouse", "doctor", *args], env={"COCKPIT_HOME": str(home.root)})


@pytest.fixture
def home(loaded_demo, tmp_path) -> Home:
    """A private copy of the loaded demo street, to break.

    Without its app state: copying a live SQLite file opens and closes it in this process, and closing
    any descriptor of it drops the POSIX locks this process's own connections hold on it (SQLite's
    documented hazard), after which the shared home's state database was read as malformed.
    """
    shutil.copytree(loaded_demo.home.root, tmp_path / "home", ignore=shutil.ignore_patterns("state", "secret"))
    return Home(tmp_path / "home")


def problems(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("problem:")]


def test_a_healthy_home_passes_with_a_line_per_check(loaded_demo):
    result = doctor(loaded_demo.home)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(line.startswith("ok: ") for line in lines) and len(lines) == 6
    assert loaded_demo.release.name in result.stdout
    assert f"ok: the lake is as {loaded_demo.release.name} found it" in result.stdout


def test_garbage_in_current_says_which_release_to_roll_back_to(home, loaded_demo):
    home.current_pointer.write_text("??\n", encoding="utf-8")
    result = doctor(home)
    assert result.exit_code == 1
    (line,) = problems(result)
    assert "CURRENT does not name a release file" in line
    assert f"cockpit warehouse rollback {loaded_demo.summary.run_id}" in line


def test_a_truncated_release_is_named_with_what_to_do(home):
    (release,) = home.releases.glob("*.duckdb")
    with release.open("r+b") as handle:
        handle.truncate(4096)
    result = doctor(home)
    assert result.exit_code == 1
    found = problems(result)
    assert any(f"{release.name} is not a readable release" in line and "cockpit pipeline run" in line for line in found)
    assert any(f"delete {release}" in line for line in found)


def test_leftover_build_files_are_listed(home):
    (home.releases / "20261101T000000-dead.duckdb.building.wal").write_bytes(b"\0" * 2048)
    result = doctor(home)
    assert result.exit_code == 1
    (line,) = problems(result)
    assert "1 leftover build file(s)" in line and "20261101T000000-dead.duckdb.building.wal" in line


def test_a_lake_partition_the_ledger_lists_but_is_gone_is_found(home):
    gone = next(home.lake.glob("ticket_intake/day=*/hotline_12345.parquet"))
    day = gone.parent.name.removeprefix("day=")
    for path in home.lake.glob(f"*/day={day}/hotline_12345*.parquet"):
        path.unlink()
    result = doctor(home)
    assert result.exit_code == 1
    (line,) = problems(result)
    assert f"hotline_12345 {day}" in line and f"cockpit pipeline run --day {day}" in line


def test_a_lake_partition_no_run_wrote_is_found(home):
    stray = home.lake / "ticket_intake" / "day=2031-01-01" / "hotline_12345.parquet"
    stray.parent.mkdir(parents=True)
    shutil.copy(next(home.lake.glob("ticket_intake/day=*/hotline_12345.parquet")), stray)
    result = doctor(home)
    assert result.exit_code == 1
    (line,) = problems(result)
    assert "no run of the ledger wrote: hotline_12345 2031-01-01" in line


def test_too_little_free_disk_is_a_problem(home):
    free_gib = shutil.disk_usage(home.root).free / 2**30
    result = doctor(home, "--min-free-gib", str(int(free_gib * 4) + 1))
    assert result.exit_code == 1
    (line,) = problems(result)
    assert "a build needs" in line and "free disk space" in line
