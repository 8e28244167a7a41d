"""Release management: versioned DuckDB files and an atomically switched CURRENT pointer.

Each pipeline run builds `releases/<run_id>.duckdb` from the lake and only then
points CURRENT at it (write a temp file, fsync, rename: atomic on POSIX). A run
that fails or is killed leaves CURRENT on the previous release. Readers open a
release by its versioned path, read-only, so a new release is never the same
file a reader already has open (DuckDB would otherwise hand back its cached
instance of the old file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.paths import Home

RELEASE_SUFFIX = ".duckdb"
BUILDING_SUFFIX = ".duckdb.building"


class ReleaseError(Exception):
    """A release operation that cannot be done; the message is one line."""


@dataclass(frozen=True)
class Release:
    run_id: str
    path: Path
    size_bytes: int
    created: datetime
    is_current: bool


def current_release(home: Home) -> Path | None:
    try:
        name = home.current_pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = home.releases / name
    return path if name and path.exists() else None


def publish(home: Home, release: Path) -> None:
    """Make `release` the current one, atomically."""
    if release.parent != home.releases or release.suffix != RELEASE_SUFFIX or not release.exists():
        raise ReleaseError(f"not a finished release file: {release.name}")
    tmp = home.current_pointer.with_name(f".CURRENT.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(release.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, home.current_pointer)
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
            con.execute("SELECT run_id FROM meta_release").fetchone()
        finally:
            con.close()
    except duckdb.Error as exc:
        raise ReleaseError(f"{path.name} is not a readable release: {str(exc).splitlines()[0]}") from exc


def rollback(home: Home, run_id: str | None = None) -> Release:
    """Point CURRENT at `run_id`, or at the release before the current one."""
    releases = list_releases(home)
    if not releases:
        raise ReleaseError("there are no releases to roll back to")
    if run_id is None:
        positions = [i for i, r in enumerate(releases) if r.is_current]
        if not positions or positions[0] == 0:
            raise ReleaseError("no release older than the current one; name a run id")
        target = releases[positions[0] - 1]
    else:
        matches = [r for r in releases if r.run_id == run_id]
        if not matches:
            raise ReleaseError(f"no release {run_id!r}; see `cockpit warehouse releases`")
        target = matches[0]
    verify_release(target.path)
    publish(home, target.path)
    return target


def prune(home: Home, keep: int) -> list[Path]:
    """Delete the oldest releases beyond `keep`, never the current one, and leftovers of killed builds."""
    removed = []
    for leftover in home.releases.glob(f"*{BUILDING_SUFFIX}*"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    releases = list_releases(home)
    for release in releases[: max(len(releases) - keep, 0)]:
        if not release.is_current:
            release.path.unlink(missing_ok=True)
            removed.append(release.path)
    return removed
