"""Release management: versioned DuckDB files and an atomically switched CURRENT pointer.

Each pipeline run builds `releases/<run_id>.duckdb` from the lake and only then
points CURRENT at it (write a temp file, fsync, rename: atomic on POSIX). A run
that fails or is killed leaves CURRENT on the previous release. Readers open a
release by its versioned path, read-only, so a new release is never the same
file a reader already has open (DuckDB would otherwise hand back its cached
instance of the old file).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from warehouse import compaction
from warehouse.ledger import (
    ACCEPTED,
    LEDGER_TIME_ZONE,
    REJECTED,
    RejectedDay,
    loads_undone_by,
    record_decisions,
    rejected_days,
)
from warehouse.paths import Home

RELEASE_SUFFIX = ".duckdb"
BUILDING_SUFFIX = ".duckdb.building"
# What a reader needs of a release's meta_release: a release without them is not one.
META_COLUMNS = ("run_id", "built_at", "as_of", "data_through", "is_demo")


class ReleaseError(Exception):
    """A release operation that cannot be done; the message is one line."""


class HomeBusy(ReleaseError):
    """Another pipeline run or rollback holds this home."""


@contextmanager
def exclusive(home: Home) -> Iterator[None]:
    """Hold this home for one pipeline run or rollback at a time (cron overlap, an operator's manual run).

    The lock is taken on the warehouse folder itself, held open, not on a lock file: a lock file
    can be deleted under a running run, and the next run would then lock a new file and start beside it.
    The kernel drops the lock when the process ends, however it ends, so a lock is never stale.
    """
    home.ensure()
    folder = os.open(home.warehouse, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise HomeBusy("another pipeline run or rollback holds this COCKPIT_HOME; try again when it ends") from exc
        yield
    finally:
        os.close(folder)


@dataclass(frozen=True)
class Release:
    run_id: str
    path: Path
    size_bytes: int
    created: datetime
    is_current: bool


def current_release(home: Home) -> Path | None:
    """The file CURRENT names, if it names a release file that exists (whether it opens is not checked)."""
    name = _pointer_name(home)
    path = home.releases / name if name and _is_release_name(name) else None
    return path if path is not None and path.exists() else None


def _pointer_name(home: Home) -> str | None:
    try:
        return home.current_pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return "\ufffd"  # unreadable or not text: garbage, said as such by pointer_problem


def _is_release_name(name: str) -> bool:
    return name.endswith(RELEASE_SUFFIX) and "/" not in name and not name.startswith(".") and name.isprintable()


def pointer_problem(home: Home) -> str | None:
    """What is wrong with CURRENT and the release it names (one line), or None when it opens as a release."""
    name = _pointer_name(home)
    if name is None:
        return "CURRENT is missing"
    if not _is_release_name(name):
        shown = name[:40] if name.isprintable() else "unreadable bytes"
        return f"CURRENT does not name a release file (it holds {shown!r})"
    path = home.releases / name
    if not path.exists():
        return f"CURRENT points at {name}, which is gone"
    try:
        verify_release(path)
    except ReleaseError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Resolved:
    """The release to read: CURRENT's when it opens, else the newest kept release that does; `problem` says why."""

    path: Path | None
    problem: str | None

    @property
    def is_fallback(self) -> bool:
        return self.problem is not None and self.path is not None


def resolve_release(home: Home) -> Resolved:
    """CURRENT's release when it opens; otherwise the newest kept release that opens, with the problem named."""
    problem = pointer_problem(home)
    if problem is None:
        return Resolved(current_release(home), None)
    for release in reversed(list_releases(home)):
        try:
            verify_release(release.path)
        except ReleaseError:
            continue
        return Resolved(release.path, problem)
    return Resolved(None, problem)


def publish(home: Home, release: Path) -> None:
    """Make `release` the current one, atomically."""
    if release.parent != home.releases or release.suffix != RELEASE_SUFFIX or not release.exists():
        raise ReleaseError(f"not a finished release file: {release.name}")
    tmp = home.current_pointer.with_name(f".CURRENT.{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(release.name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, home.current_pointer)
    finally:
        tmp.unlink(missing_ok=True)  # gone after the rename; left only by a failed write (a full disk)
    directory = os.open(home.warehouse, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def list_releases(home: Home) -> list[Release]:
    current = current_release(home)
    releases = []
    for path in sorted(home.releases.glob(f"*{RELEASE_SUFFIX}")):
        stat = path.stat()
        releases.append(
            Release(
                path.name.removesuffix(RELEASE_SUFFIX),
                path,
                stat.st_size,
                datetime.fromtimestamp(stat.st_mtime),
                path == current,
            )
        )
    return releases


def open_release(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to one release file, its tables in the default schema."""
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{path.as_posix()}' AS release (READ_ONLY)")
    con.execute("USE release")
    return con


def verify_release(path: Path) -> None:
    """Open the file read-only and read its metadata; raise ReleaseError when it is not a usable release."""
    try:
        con = open_release(path)
        try:
            row = con.execute(f"SELECT {', '.join(META_COLUMNS)} FROM meta_release").fetchone()
        finally:
            con.close()
    except (duckdb.Error, OSError) as exc:
        raise ReleaseError(f"{path.name} is not a readable release: {str(exc).splitlines()[0]}") from exc
    if row is None:
        raise ReleaseError(f"{path.name} is not a readable release: its meta_release is empty")


@dataclass(frozen=True)
class RolledBack:
    """What a rollback did: the release now current, the landing days it rejected, the lake files it set aside."""

    release: Release
    rejected: list[tuple[str, date]]
    set_aside: list[Path]

    @property
    def run_id(self) -> str:
        return self.release.run_id


def rollback(home: Home, run_id: str | None = None) -> RolledBack:
    """Point CURRENT at `run_id`, or at the release before the current one, and make it stick.

    The landing days the undone runs loaded (runs published after the target, where they read other
    files than the target's data came from) are rejected in the ledger, and their lake partitions are
    moved under set_aside/: the next pipeline run neither rebuilds them into a release nor loads them
    again, until `cockpit pipeline accept` or a new delivery of the day. Rolling forward to a release that
    holds days an earlier rollback rejected accepts them again (the next run reloads them from landing).
    """
    with exclusive(home):
        target = rollback_target(home, run_id)
        verify_release(target.path)
        undone = loads_undone_by(home, target.run_id)
        decision = f"rollback-{_now():%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
        # Rolling forward again: days an earlier rollback rejected are part of this release's data.
        restored = [r for r in rejected_days(home) if r.undone_run is not None and r.undone_run <= target.run_id]
        if restored:
            back = [(r.source, r.day, r.fingerprint, r.undone_run) for r in restored]
            record_decisions(home, f"{decision}-restored", ACCEPTED, back)
        if undone:
            record_decisions(home, decision, REJECTED, undone)
        moved = _set_aside(home, decision, [(source, day) for source, day, _, _ in undone])
        publish(home, target.path)
    return RolledBack(target, [(source, day) for source, day, _, _ in undone], moved)


def rollback_target(home: Home, run_id: str | None) -> Release:
    """The release a rollback to `run_id` (None: the one before the current) goes back to, or a ReleaseError."""
    releases = list_releases(home)
    if not releases:
        raise ReleaseError("there are no releases to roll back to")
    if run_id is None:
        positions = [i for i, r in enumerate(releases) if r.is_current]
        if not positions:
            raise ReleaseError("CURRENT names no kept release; name the run id to roll back to")
        if positions[0] == 0:
            raise ReleaseError("no release older than the current one; name a run id")
        return releases[positions[0] - 1]
    matches = [r for r in releases if r.run_id == run_id]
    if not matches:
        raise ReleaseError(f"no release {run_id!r}; see `cockpit warehouse releases`")
    return matches[0]


def _set_aside(home: Home, decision: str, days: list[tuple[str, date]]) -> list[Path]:
    """Move these source-days' lake files under set_aside/<decision>/, keeping their lake paths."""
    moved = []
    for source, day in days:
        compaction.open_month(home.lake, source, day)  # a compacted month's day back in its own files first
        for path in home.lake_files(source, day):
            target = home.set_aside / decision / path.relative_to(home.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            moved.append(target)
    return moved


def accept_day(home: Home, day: date, source: str | None = None) -> list[RejectedDay]:
    """Take back a rollback's rejection of `day` (of `source`, or of every source): the next run loads it again."""
    with exclusive(home):
        rejected = rejected_days(home)
        chosen = [r for r in rejected if r.day == day and source in (None, r.source)]
        if not chosen:
            listed = ", ".join(f"{r.day} {r.source}" for r in rejected[:10]) or "none"
            what = f"{day.isoformat()}" + (f" of {source}" if source else "")
            raise ReleaseError(f"{what} is not rejected (rejected days: {listed})")
        record_decisions(
            home,
            f"accept-{_now():%Y%m%dT%H%M%S}-{secrets.token_hex(2)}",
            ACCEPTED,
            [(r.source, r.day, r.fingerprint, r.undone_run) for r in chosen],
        )
    return chosen


def _now() -> datetime:
    return datetime.now(LEDGER_TIME_ZONE)


def build_files(building: Path) -> list[Path]:
    """Every file a build at `building` may leave: the file, its WAL and DuckDB's spill folder beside it."""
    return [building, building.with_name(building.name + ".wal"), building.with_name(building.name + ".tmp")]


def discard(paths: list[Path]) -> list[Path]:
    """Remove these files or folders where they exist; say which went."""
    removed = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink(missing_ok=True)
        else:
            continue
        removed.append(path)
    return removed


class BaseCopy:
    """The copy of a base release that a build on it starts from, made in a thread from the moment it starts.

    The pipeline starts it before it loads the night's files, so the copy (a base of 2.5 GB at scale 10 takes
    1–6 s to copy, as much as the page cache lets) runs while the load works, not before the build; the build
    `take`s it (a build given none makes its own and takes it at once). A copy no build takes is `discard`ed,
    with the files a build there would leave.
    """

    def __init__(self, base: Path, target: Path) -> None:
        self.base, self.target = Path(base), Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        try:  # the file is this build's from now on, before the thread writes into it (its mode: the umask's)
            os.close(os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            raise ReleaseError(f"release file already exists: {self.target}") from None
        self._error: OSError | None = None
        self._taken = False
        self._thread = threading.Thread(target=self._copy, name=f"copy {self.base.name}", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        try:
            shutil.copyfile(self.base, self.target)
        except OSError as exc:  # a full disk: the build reports it
            self._error = exc

    def take(self) -> None:
        """Wait until the copy is complete; from then on its file is the build's. Raises OSError if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._taken = True

    def discard(self) -> None:
        """Remove the copy unless a build took it (it may still be copying: this waits for the copy to end)."""
        self._thread.join()
        if not self._taken:
            discard(build_files(self.target))


def stray_build_files(home: Home) -> list[Path]:
    """Leftovers of builds that failed or were killed (a build under the pipeline lock removes its own)."""
    return sorted(home.releases.glob(f"*{BUILDING_SUFFIX}*"))


def prune(home: Home, keep: int) -> list[Path]:
    """Delete the oldest releases beyond `keep`, never the current one, and leftovers of killed builds.

    Call it only under the pipeline lock: a build in progress is a leftover to it.
    """
    removed = discard(stray_build_files(home))
    releases = list_releases(home)
    for release in releases[: max(len(releases) - keep, 0)]:
        if not release.is_current:
            removed += discard([release.path, release.path.with_name(release.path.name + ".wal")])
    return removed
