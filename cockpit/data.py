"""The app's one way into the warehouse: the current release, read-only, a cursor per request.

One connection per process is kept to the release CURRENT points at. Every
request asks for a cursor (DuckDB connections must not be shared across
threads); before handing it out the pointer is checked (one small file read),
so a newly published release, or a rollback, is picked up on the next request
without a restart. Release files are versioned, so the new file is never one
DuckDB already has open (see warehouse/releases.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from warehouse.paths import Home
from warehouse.releases import current_release, open_release


class NoRelease(RuntimeError):
    """There is no published release yet; the message says what to run."""


@dataclass(frozen=True)
class ReleaseInfo:
    run_id: str
    path: Path
    built_at: datetime
    as_of: datetime
    data_through: date
    is_demo: bool


class Warehouse:
    def __init__(self, home: Home, stale_after_hours: int = 26):
        self.home = home
        self.stale_after_hours = stale_after_hours
        self._lock = threading.Lock()
        # (release info, connection), replaced as one value so a reader never pairs one release's
        # metadata with another release's tables.
        self._current: tuple[ReleaseInfo, duckdb.DuckDBPyConnection] | None = None
        self._retired: duckdb.DuckDBPyConnection | None = None

    def _refresh(self) -> tuple[ReleaseInfo, duckdb.DuckDBPyConnection]:
        path = current_release(self.home)
        if path is None:
            raise NoRelease(f"no warehouse release under {self.home.warehouse}: run `cockpit pipeline run`")
        current = self._current
        if current is not None and current[0].path == path:
            return current
        with self._lock:
            if self._current is not None and self._current[0].path == path:
                return self._current
            con = open_release(path)
            row = con.execute("SELECT run_id, built_at, as_of, data_through, is_demo FROM meta_release").fetchone()
            # Requests still reading the previous release keep their cursors; that connection is
            # closed one switch later rather than under their feet.
            if self._retired is not None:
                self._retired.close()
            self._retired = self._current[1] if self._current else None
            self._current = (ReleaseInfo(row[0], path, row[1], row[2], row[3], bool(row[4])), con)
            return self._current

    def open(self) -> tuple[ReleaseInfo, duckdb.DuckDBPyConnection]:
        """The current release's metadata and a cursor on it, for one request, from one look at CURRENT."""
        info, con = self._refresh()
        cursor = con.cursor()
        cursor.execute("USE release")  # a cursor starts in the in-memory catalog, not its parent's
        return info, cursor

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the current release for one request (close it, or use it as a context manager)."""
        return self.open()[1]

    @property
    def info(self) -> ReleaseInfo:
        return self._refresh()[0]


_current: Warehouse | None = None


def use_warehouse(warehouse: Warehouse) -> None:
    """Set by create_app(): the warehouse every page of this process reads."""
    global _current
    _current = warehouse


def current_warehouse() -> Warehouse:
    if _current is None:
        raise RuntimeError("create_app() has not set up the warehouse for this process")
    return _current
