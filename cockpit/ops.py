"""The operator's actions from the app: a pipeline run in the background, followed by polling, and a rollback.

A run takes minutes and a lot of memory, so it never runs inside a web worker: it is a child process,
`python -m cockpit.cli pipeline run --json`, of the same COCKPIT_HOME, whose output is kept under
$COCKPIT_HOME/pipeline_runs/ (<job>.json what the run is, <job>.out its JSON summary, <job>.err its
messages, <job>.rc its exit code). One at a time: the worker that starts a run takes an flock on
pipeline_runs/active.lock and hands it to the child, so the lock lasts exactly as long as the run
(the kernel drops it however the run ends) and any worker can tell whether a run is going on.
The exit code is written by a thread of the starting worker that waits for the child; if that
worker is gone (a restart), the code is read from the run's JSON summary instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from warehouse.ledger import LEDGER_TIME_ZONE, loads_undone_by
from warehouse.paths import Home
from warehouse.releases import HomeBusy, ReleaseError, RolledBack, current_release, exclusive, rollback, rollback_target

RUNS_FOLDER = "pipeline_runs"
LOCK_NAME = "active.lock"
# The command a run is: the CLI's own, so a run from the UI is exactly a run from cron. -P: the working
# folder (the home, which has a warehouse/ folder of its own) must not shadow the installed packages.
RUN_COMMAND = ("-P", "-m", "cockpit.cli", "pipeline", "run", "--json")
LINE_CHARS = 300
# A run's name, as start_run makes it: the street's time and a random suffix (what a browser sends is checked).
JOB_NAME = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")


class OperationError(Exception):
    """An operator's action that cannot be done now; the message is one line."""


class RunInProgress(OperationError):
    """A run started from the app is still going on."""


@dataclass(frozen=True)
class RunState:
    """What became of a run started from the app."""

    job: str
    started_at: str
    started_by: str
    running: bool
    exit_code: int | None  # None while it runs, or when nothing says how it ended
    summary: dict | None  # the CLI's JSON summary (run_id, status, message, …) once it printed one
    last_line: str  # the last line it wrote to stderr (a failure's reason)

    @property
    def succeeded(self) -> bool:
        return not self.running and self.exit_code == 0

    @property
    def outcome_line(self) -> str:
        """How it ended, in one line: the summary's message, else the last line of its errors."""
        message = (self.summary or {}).get("message") or ""
        if self.exit_code not in (0, None) and self.last_line:
            return self.last_line
        return message or self.last_line


def runs_folder(home: Home) -> Path:
    return home.root / RUNS_FOLDER


# ---- a pipeline run in the background -----------------------------------------------------------------


def start_run(home: Home, actor: str) -> RunState:
    """Start `cockpit pipeline run` on `home` in a child process; refuse while one runs (here or from cron)."""
    folder = runs_folder(home)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise OperationError(f"cannot start a pipeline run: {one_line_os_error(exc)}") from exc
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunInProgress(_in_progress(latest_run(home))) from exc
        _check_warehouse_free(home)
        now = datetime.now(LEDGER_TIME_ZONE)  # the street's time, as the runs and releases it lists
        job = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        meta = {"job": job, "started_at": f"{now:%Y-%m-%d %H:%M:%S}", "started_by": actor}
        _write_json(folder / f"{job}.json", meta)
        try:
            with open(folder / f"{job}.out", "wb") as out, open(folder / f"{job}.err", "wb") as err:
                child = subprocess.Popen(
                    [sys.executable, *RUN_COMMAND],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=home.root,
                    env={**os.environ, "COCKPIT_HOME": str(home.root)},
                    pass_fds=(lock,),  # the child holds the run lock from here on
                    start_new_session=True,  # a server restart does not kill a run half-way
                )
        except OSError as exc:  # nothing ran: leave no trace of a run
            for suffix in (".json", ".out", ".err"):
                (folder / f"{job}{suffix}").unlink(missing_ok=True)
            raise OperationError(f"cannot start a pipeline run: {one_line_os_error(exc)}") from exc
        _write_json(folder / f"{job}.json", {**meta, "pid": child.pid})
        threading.Thread(target=_record_exit, args=(child, folder / f"{job}.rc"), daemon=True).start()
    finally:
        os.close(lock)
    return run_state(home, job)


def _check_warehouse_free(home: Home) -> None:
    """A nightly run or a rollback holds the warehouse: say so now rather than start a run that fails at once."""
    try:
        with exclusive(home):
            pass
    except HomeBusy as exc:
        raise OperationError(str(exc)) from exc


def _record_exit(child: subprocess.Popen, path: Path) -> None:
    """Write the run's exit code once it has ended, and only then reap it.

    Until it is reaped, the ended run is a zombie that `_alive` still sees, so a poller reads it as running
    until its code is on disk; reaped first, a poller in between found it neither running nor with a code.
    """
    ended = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    code = ended.si_status if ended.si_code == os.CLD_EXITED else -ended.si_status  # as Popen.returncode
    temporary = path.with_suffix(".rc.tmp")
    temporary.write_text(str(code))
    os.replace(temporary, path)
    child.wait()


def _in_progress(state: RunState | None) -> str:
    if state is None:
        return "a pipeline run is already in progress; wait for it to finish"
    return (
        f"a pipeline run is already in progress (started {state.started_at} by {state.started_by}); "
        "wait for it to finish"
    )


def latest_run(home: Home) -> RunState | None:
    """The state of the most recent run started from the app, or None if there was none."""
    jobs = sorted(path.stem for path in runs_folder(home).glob("*.json") if JOB_NAME.match(path.stem))
    return run_state(home, jobs[-1]) if jobs else None


def run_state(home: Home, job: str) -> RunState | None:
    """The state of run `job` (None: no such run)."""
    folder = runs_folder(home)
    if not JOB_NAME.match(job) or not (folder / f"{job}.json").is_file():
        return None
    meta = _read_json(folder / f"{job}.json") or {}
    exit_code = _read_exit_code(folder / f"{job}.rc")
    summary = _read_json(folder / f"{job}.out")
    running = exit_code is None and (_run_lock_held(folder) or _alive(meta.get("pid")))
    if not running and exit_code is None and summary is not None:
        exit_code = summary.get("exit_code")
    return RunState(
        job=job,
        started_at=str(meta.get("started_at", "")),
        started_by=str(meta.get("started_by", "")),
        running=running,
        exit_code=exit_code,
        summary=summary,
        last_line=_last_line(folder / f"{job}.err"),
    )


def claim_finish(home: Home, job: str) -> bool:
    """True once per finished run: for whoever records that it finished (several workers may be polling)."""
    try:
        os.close(os.open(runs_folder(home) / f"{job}.finished", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


def finish_claimed(home: Home, job: str) -> bool:
    return (runs_folder(home) / f"{job}.finished").exists()


def _run_lock_held(folder: Path) -> bool:
    """Whether some process holds the run lock (a shared probe, so two pollers never block each other)."""
    try:
        probe = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(probe)
    return False


def _alive(pid) -> bool:
    """Whether the run's process is still there: it exits a moment before its exit code is written."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_exit_code(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, value: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            lines = [line.strip() for line in f.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return ""
    return lines[-1][:LINE_CHARS] if lines else ""


# ---- rollback ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback would do: from which release to which, and the landing days it would set aside."""

    current: str | None
    target: str
    undone: list[tuple[str, date]]

    @property
    def days(self) -> list[str]:
        return sorted({day.isoformat() for _, day in self.undone})


def rollback_plan(home: Home, run_id: str | None = None) -> RollbackPlan:
    """The rollback to `run_id` (None: the release before the current one), not done yet; OperationError if none."""
    try:
        target = rollback_target(home, run_id)
    except ReleaseError as exc:
        raise OperationError(str(exc)) from exc
    undone = [(source, day) for source, day, _, _ in loads_undone_by(home, target.run_id)]
    return RollbackPlan(current_run_id(home), target.run_id, undone)


def roll_back(home: Home, run_id: str) -> tuple[str | None, RolledBack]:
    """Make `run_id` current (warehouse.releases.rollback): (the run current before, what it did)."""
    before = current_run_id(home)
    try:
        return before, rollback(home, run_id)
    except ReleaseError as exc:
        raise OperationError(str(exc)) from exc
    except OSError as exc:
        raise OperationError(f"rollback stopped: {one_line_os_error(exc)}") from exc


def current_run_id(home: Home) -> str | None:
    path = current_release(home)
    return path.stem if path is not None else None


def one_line_os_error(exc: OSError) -> str:
    from cockpit.cli import _os_reason  # the CLI's wording of an OS error, so both say the same

    return _os_reason(exc)
