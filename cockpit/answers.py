"""Board answers kept beside each release: computed once by any worker, read by every worker, kept over restarts.

A board's answer for a view (its KPI strips, lists and charts, rendered) depends only on the release, the
view, the reader's scope and permissions, the language and theme, the settings and this code. The release
never changes, so an answer computed once holds for the release's whole life. In memory (the warehouse's
cache) it served one worker until it restarted; at scale 10 a board costs 1–3 s to compute, and each
worker paid that for each view. Kept here, one computation serves every worker, and a worker that restarts
reads what was kept instead of recomputing.

- **Where:** `$COCKPIT_HOME/cache/answers/<run id>-<stamp>/`, a diskcache store (SQLite, safe for several
  processes). The stamp digests this code's files and the settings: an upgrade, or a changed setting
  (the map's tiles, the street's centre), starts a new store rather than serving what the old one drew.
  When a store is opened, those whose release is gone, or of another stamp and idle for a day, are deleted.
- **What:** the JSON the callback sends, as bytes: never a pickle, so a file in the home is read as data,
  never run as code. A kept answer is read back as plain JSON (dicts and lists); Dash sends that as it is.
- **Once:** a computation holds a lock file per answer (`flock`), so a second thread or worker asking for the
  same answer waits for the first and reads it, instead of computing it too. A crashed worker's lock is
  released by the system. A server's warming does not wait (`keep`): it passes over an answer being computed
  and comes back to it, so the workers warming at once share their list.
- **Never in the way:** a store that cannot be read or written (a full disk, a damaged file) is logged and
  the answer computed as if nothing were kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from pathlib import Path
from typing import Any

import diskcache
import orjson
from plotly.io.json import to_json_plotly

from warehouse.releases import RELEASE_SUFFIX

log = logging.getLogger(__name__)

ANSWERS_FOLDER = "answers"
# One release's store: far more than its warmed views need (36 views took 15 MB at scale 10); past it, diskcache
# drops the answers stored first.
STORE_BYTES = 2**30
# What a store's folder name holds besides the run id (run ids contain dashes themselves).
STAMP_LENGTH = 12
# The code whose output a kept answer is: the app (pages, components, metric catalog) and the warehouse's.
CODE_PACKAGES = ("cockpit", "warehouse")
CODE_ROOT = Path(__file__).resolve().parent.parent
# A store of other code or settings is deleted once nothing was written to it for this long (forget_unused).
OTHER_STAMP_IDLE_S = 24 * 3600
# What `_answer` gives back, without waiting, for an answer another thread or worker is computing.
_BUSY = object()
# The views readers asked for (AskedViews): kept a week, at most ASKED_MAX of them warmed for a release, each
# noted by a worker at most once an hour; a view's description longer than ASKED_CHARS is not noted at all.
ASKED_FOLDER = "asked"
ASKED_FOR_S = 7 * 24 * 3600
ASKED_MAX = 200
ASKED_NOTE_EVERY_S = 3600
ASKED_CHARS = 2000
ASKED_NOTED_MAX = 10_000  # the views a worker remembers noting (to note each at most hourly)


def encoded(value: Any) -> bytes:
    """`value` as the JSON its callback would send (Dash components and Plotly figures included)."""
    return to_json_plotly(value).encode()


def code_stamp(root: Path = CODE_ROOT) -> str:
    """A digest of the files of the packages under `root` (this code's, by default): name, size and modification
    time, so it changes with any upgrade or edit."""
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in {".py", ".yaml", ".sql", ".json", ".toml"} and path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def stamp_for(*parts: object) -> str:
    """The store's stamp: this code and whatever else an answer depends on (the settings' repr)."""
    return hashlib.sha256("\0".join([code_stamp(), *map(repr, parts)]).encode()).hexdigest()[:STAMP_LENGTH]


def key_name(key: tuple[Hashable, ...]) -> str:
    """A key's name in the store: the same in every process (Python's own hash is salted per process)."""
    return hashlib.sha256(json.dumps(key, default=str, ensure_ascii=False).encode()).hexdigest()


class KeptAnswers:
    """The answers kept for each release under `root`, for code and settings stamped `stamp`."""

    def __init__(self, root: Path, stamp: str, releases: Path):
        self.root, self.stamp, self.releases = root, stamp, releases
        self.asked = AskedViews(root / ASKED_FOLDER)  # what readers asked for, whatever the release or stamp
        self._stores: dict[str, diskcache.Cache] = {}
        self._lock = threading.Lock()

    def folder(self, run_id: str) -> Path:
        return self.root / f"{run_id}-{self.stamp}"

    def _store(self, run_id: str) -> diskcache.Cache:
        store = self._stores.get(run_id)
        if store is not None:
            return store
        with self._lock:
            if run_id not in self._stores:
                self.forget_unused()
                folder = self.folder(run_id)
                (folder / "locks").mkdir(parents=True, exist_ok=True, mode=0o700)
                self._stores[run_id] = diskcache.Cache(str(folder), size_limit=STORE_BYTES)
            return self._stores[run_id]

    def get(self, run_id: str, key: tuple[Hashable, ...]) -> Any | None:
        """The answer kept for `key` on release `run_id`, or None when none is (or the store cannot be read)."""
        try:
            return self._read(self._store(run_id), key_name(key))
        except (OSError, sqlite3.Error) as error:
            log.warning("kept answers of %s unreadable (%s); computing instead", run_id, error)
            return None

    def answer(self, run_id: str, key: tuple[Hashable, ...], compute: Callable[[], Any]) -> Any:
        """The answer for `key` on release `run_id`: read if kept, else computed once (here or by another
        worker that holds its lock) and kept. Always plain JSON values, read back from the bytes kept.

        `compute` runs at most once per call, and its own errors are the caller's: only the store's are
        logged and worked around (the answer then computed, or not kept).
        """
        return self._answer(run_id, key, compute, wait=True)

    def keep(self, run_id: str, key: tuple[Hashable, ...], compute: Callable[[], Any]) -> bool:
        """Make sure the answer for `key` is kept, without reading it or waiting for it (a server's warming):
        True once it is (kept already, or computed now); False, at once, while another thread or worker is
        computing it. Warming moves on to the next answer instead of waiting, so two workers warming the same
        list share it between them rather than one waiting on the other's every answer."""
        if self.has(run_id, key):
            return True
        return self._answer(run_id, key, compute, wait=False) is not _BUSY

    def has(self, run_id: str, key: tuple[Hashable, ...]) -> bool:
        """Whether an answer is kept for `key` on release `run_id`, without reading it (False when the store
        cannot be read: asking for the answer then logs why and computes it)."""
        try:
            return key_name(key) in self._store(run_id)
        except (OSError, sqlite3.Error):
            return False

    def _answer(self, run_id: str, key: tuple[Hashable, ...], compute: Callable[[], Any], *, wait: bool) -> Any:
        name = key_name(key)
        with contextlib.ExitStack() as held:
            store = None
            try:
                store = self._store(run_id)
                kept = self._read(store, name)
                if kept is None:
                    if not held.enter_context(self._computing(run_id, name, wait=wait)):
                        return _BUSY
                    kept = self._read(store, name)  # computed by whoever held the lock before us
            except (OSError, sqlite3.Error) as error:
                log.warning("kept answers of %s unusable (%s); computing without them", run_id, error)
                store, kept = None, None
            if kept is not None:
                return kept
            blob = encoded(compute())  # under the lock: a second asker waits for this
            if store is not None:
                try:
                    store.set(name, blob)
                except (OSError, sqlite3.Error) as error:
                    log.warning("kept answers of %s unusable (%s); this answer not kept", run_id, error)
            return orjson.loads(blob)

    @staticmethod
    def _read(store: diskcache.Cache, name: str) -> Any | None:
        blob = store.get(name)
        if blob is None:
            return None
        try:
            return orjson.loads(blob)
        except (orjson.JSONDecodeError, TypeError):  # damaged, or not ours: computed again and replaced
            log.warning("a kept answer was not JSON; computing it again")
            return None

    @contextlib.contextmanager
    def _computing(self, run_id: str, name: str, *, wait: bool = True) -> Iterator[bool]:
        """Hold the answer's lock; without `wait`, only if no one else holds it (yields whether it is held)."""
        fd = os.open(self.folder(run_id) / "locks" / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def forget_unused(self, now: float | None = None) -> list[Path]:
        """Delete the stores no worker will read again; the folders deleted.

        A store goes with its release (deleted as kept releases rotate). A store of other code or settings (an
        upgrade, a changed setting) goes once nothing has been written to it for OTHER_STAMP_IDLE_S: the
        workers of a rolling restart are done with it by then, and one still reading it computes instead.
        """
        if not self.root.is_dir():
            return []
        now = time.time() if now is None else now
        gone = []
        for folder in self.root.iterdir():
            run_id, dash, stamp = folder.name.rpartition("-")
            if not (dash and len(stamp) == STAMP_LENGTH and folder.is_dir()):
                continue  # not a store
            released = (self.releases / f"{run_id}{RELEASE_SUFFIX}").exists()
            idle = stamp != self.stamp and _last_written(folder) < now - OTHER_STAMP_IDLE_S
            if not released or idle:
                if stamp == self.stamp and (store := self._stores.pop(run_id, None)) is not None:
                    store.close()
                shutil.rmtree(folder, ignore_errors=True)
                gone.append(folder)
        return gone


def _last_written(folder: Path) -> float:
    """When anything in a store's folder was last written (its database, its large values, the folder)."""
    return max((path.stat().st_mtime for path in [folder, *folder.iterdir()]), default=0.0)


class AskedViews:
    """The board views readers asked for lately, noted by every worker: what the next release's warming
    computes first (`warm_views`), since readers open tomorrow what they opened today (a leader's period, an
    analyst's filter, the dark theme, a community secretary's board).

    Each is a description a warming can ask again (the board, the view's URL query, language, theme and the
    reader's way of reading: scope, and whether they may see personal data), kept under `root` for
    ASKED_FOR_S after it was last asked for. It holds no answer and no name, and outlives releases and
    upgrades: it says what was read, not what it showed.
    """

    def __init__(self, root: Path):
        self.root = root
        self._store: diskcache.Cache | None = None
        self._noted: dict[str, float] = {}  # description → when this worker last noted it
        self._lock = threading.Lock()

    def _open(self) -> diskcache.Cache:
        with self._lock:
            if self._store is None:
                self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._store = diskcache.Cache(str(self.root), size_limit=2**24)
            return self._store

    def note(self, asked: Mapping[str, Any], now: float | None = None) -> None:
        """Note that a reader asked for the view `asked` describes (JSON values); never raises."""
        text = json.dumps(asked, sort_keys=True, ensure_ascii=False)
        now = time.time() if now is None else now
        if len(text) > ASKED_CHARS or now - self._noted.get(text, -ASKED_NOTE_EVERY_S) < ASKED_NOTE_EVERY_S:
            return
        if len(self._noted) >= ASKED_NOTED_MAX:  # a reader asking for view after view: this memory stays small
            self._noted.clear()
        self._noted[text] = now
        try:
            self._open().set(text, now, expire=ASKED_FOR_S)
        except (OSError, sqlite3.Error) as error:
            log.warning("the views asked for cannot be noted (%s)", error)

    def recent(self, limit: int | None = None, now: float | None = None) -> list[dict[str, Any]]:
        """The views asked for within ASKED_FOR_S, the most recently asked first (at most `limit`)."""
        since = (time.time() if now is None else now) - ASKED_FOR_S
        try:
            store = self._open()
            asked = [(store.get(text), text) for text in store.iterkeys()]
        except (OSError, sqlite3.Error) as error:
            log.warning("the views asked for cannot be read (%s)", error)
            return []
        found = []
        recent = (pair for pair in asked if isinstance(pair[0], int | float) and pair[0] >= since)
        for _when, text in sorted(recent, reverse=True):
            try:
                view = json.loads(text)
            except ValueError:
                continue
            if isinstance(view, dict):
                found.append(view)
            if len(found) == limit:
                break
        return found
