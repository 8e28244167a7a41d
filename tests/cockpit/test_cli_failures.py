"""Operator commands that meet a full disk, a busy home or a rollback: one line and an exit code, no traceback."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cockpit.cli import main
from pipelines.run import run_lock, run_pipeline
from tests.cockpit.test_pipeline_page import by_id, pipeline_page
from tests.conftest import SALT
from warehouse import compaction
from warehouse.ledger import rejected_days
from warehouse.paths import Home
from warehouse.releases import current_release

FILE_SIZE_LIMIT = 8192  # bytes: smaller than the demo's first export, so its first write fails


def cockpit(home: Home, *args: str):
    env = {"COCKPIT_HOME": str(home.root), "COCKPIT_PII_SALT": SALT}
    return CliRunner().invoke(main, list(args), env=env)


def _small_files_only() -> None:
    # A file-size limit: the kernel refuses the write past it, as a full disk refuses it (EFBIG, not a signal:
    # Python ignores SIGXFSZ).
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


@pytest.mark.parametrize("command", [["demo", "--days", "3", "--scale", "0.05"], ["up", "--days", "3", "--no-serve"]])
def test_demo_and_up_on_a_full_disk_end_in_one_line(tmp_path, command):
    env = {**os.environ, "COCKPIT_HOME": str(tmp_path / "home"), "COCKPIT_PII_SALT": SALT}
    done = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_small_files_only,
        timeout=600,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: demo landing not written: File too large") and "free disk space" in line


def test_a_pipeline_run_on_a_full_disk_ends_in_one_line_and_keeps_the_release(fresh_home, monkeypatch):
    run_pipeline(fresh_home, salt=SALT)
    current = current_release(fresh_home)
    (fresh_home.landing / "forum" / "2026-09-30" / "new.jsonl").write_text("{}\n", encoding="utf-8")

    def disk_full(_table, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(compaction.pq, "write_table", disk_full)  # the lake writer (write_atomic)
    result = cockpit(fresh_home, "pipeline", "run")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: pipeline run stopped: No space left on device") and "free disk space" in line
    assert current_release(fresh_home) == current


def test_a_second_run_is_refused_even_when_the_first_ones_lock_file_was_deleted(fresh_home):
    with run_lock(fresh_home):
        for leftover in fresh_home.warehouse.glob(".*lock*"):
            leftover.unlink()  # what a careless clean-up of dot files does
        result = cockpit(fresh_home, "pipeline", "run")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == "error: another pipeline run or rollback holds this COCKPIT_HOME; try again when it ends"
    assert current_release(fresh_home) is None, "nothing ran beside the first run"


def test_rollback_and_accept_from_the_command_line_and_the_pipeline_page_shows_rejected_days(app, fresh_home, tmp_path):
    day = "2026-10-02"
    held = tmp_path / "held"
    held.mkdir()
    for day_dir in fresh_home.landing.glob(f"*/{day}"):
        day_dir.rename(held / day_dir.parent.name)
    assert cockpit(fresh_home, "pipeline", "run").exit_code == 0
    for source_dir in held.iterdir():
        source_dir.rename(fresh_home.landing / source_dir.name / day)
    assert cockpit(fresh_home, "pipeline", "run").exit_code == 0

    rolled = cockpit(fresh_home, "warehouse", "rollback")
    assert rolled.exit_code == 0, rolled.output
    assert f"landing day(s) of the undone run(s): {day};" in rolled.stdout
    assert cockpit(fresh_home, "warehouse", "doctor").stdout.count("note: ") == 1
    rejected = str(by_id(pipeline_page(app, fresh_home), "pipeline-rejected"))
    assert day in rejected and "hotline_12345" in rejected

    wrong = cockpit(fresh_home, "pipeline", "accept", "2026-09-26")
    assert wrong.exit_code == 1 and "2026-09-26 is not rejected" in wrong.stderr
    accepted = cockpit(fresh_home, "pipeline", "accept", day)
    assert accepted.exit_code == 0 and rejected_days(fresh_home) == []
    assert "无 · none" in str(by_id(pipeline_page(app, fresh_home), "pipeline-rejected"))
