"""The app-state database: one SQLite file under $COCKPIT_HOME/state/, shared by every worker.

Users, sessions, the audit trail, screen tokens and alarm acknowledgements change while the app serves, so they
never live in a warehouse release (read-only, replaced nightly). SQLite in WAL mode lets readers run beside the one
writer of the moment; several gunicorn workers × threads take turns through `busy_timeout`, and every write goes
through `transaction()` (BEGIN IMMEDIATE), which takes the write lock up front so two writers never deadlock halfway
through upgrading a read lock — the case where SQLite gives up at once with "database is locked".

The schema is an ordered list of migrations; `PRAGMA user_version` records how many have run. Opening migrates.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.paths import PRIVATE_DIR_MODE, Home

# How long a writer waits for another's transaction before giving up; writes here are a few rows, so a wait this
# long only happens when something is badly wrong.
BUSY_TIMEOUT_MS = 30_000


class StateError(RuntimeError):
    """The app-state database cannot be used; the message is one line."""


# Each entry turns version i into i+1. Never edit a released migration: append a new one.
MIGRATIONS: tuple[str, ...] = (
    # 1: accounts and the audit trail.
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL,
        scope_kind TEXT NOT NULL CHECK (scope_kind IN ('street', 'community', 'grid')),
        password_hash TEXT NOT NULL,
        must_change_password INTEGER NOT NULL DEFAULT 1,
        disabled INTEGER NOT NULL DEFAULT 0,
        session_epoch INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    -- the communities or grids a user with a community/grid scope sees (none for the whole street)
    CREATE TABLE user_scope (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        unit_id TEXT NOT NULL,
        PRIMARY KEY (user_id, unit_id)
    );
    -- failed logins per name typed, whether or not such a user exists, so a lockout does not reveal who exists
    CREATE TABLE login_failures (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}',
        outcome TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_at ON audit(at);
    -- a guard against slips, not the proof: the hash chain is what shows an edit
    CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    """,
    # 2: what the app's login, wall screens, alarms and audit retention need.
    """
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,  -- sha256 of the cookie's token: a stolen database opens no session
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        session_epoch INTEGER NOT NULL,  -- ends when users.session_epoch moves on (logout everywhere)
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT,
        client TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE screen_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        token_hash TEXT NOT NULL UNIQUE,
        scope_kind TEXT NOT NULL CHECK (scope_kind IN ('street', 'community', 'grid')),
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
    );
    CREATE TABLE screen_token_scope (
        token_id INTEGER NOT NULL REFERENCES screen_tokens(id) ON DELETE CASCADE,
        unit_id TEXT NOT NULL,
        PRIMARY KEY (token_id, unit_id)
    );
    CREATE TABLE alarm_acks (
        alarm_key TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id),
        at TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (alarm_key, user_id)
    );
    -- the last entry a prune removed: the chain goes on verifying from here
    CREATE TABLE audit_anchor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        pruned_at TEXT NOT NULL
    );
    """,
    # 3: permissions granted to one user beyond their role's, and the secrets of re-issued screen tokens.
    """
    CREATE TABLE user_grants (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        permission TEXT NOT NULL,
        granted_by TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (user_id, permission)
    );
    -- the hash a revoked token had before its name was issued again: that old secret is still known as revoked,
    -- so a wall (or a thief) still using it is recorded under the token's name, not as an unknown token
    CREATE TABLE screen_token_retired (
        token_hash TEXT PRIMARY KEY,
        token_id INTEGER NOT NULL REFERENCES screen_tokens(id) ON DELETE CASCADE,
        retired_at TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_local = threading.local()


def connect(home: Home) -> sqlite3.Connection:
    """This thread's connection to the home's state database, created (private) and migrated on first use.

    sqlite3 connections must not be shared between threads or carried across fork, so each (process, thread)
    keeps its own. A kept connection is dropped when the file at the path is no longer the one it opened (the
    state folder restored from a backup, say): it would go on reading and writing the old file unseen.
    """
    key = (os.getpid(), str(home.state_db))
    cache = getattr(_local, "connections", None)
    if cache is None:
        cache = _local.connections = {}
    kept = cache.get(key)
    if kept is not None and kept[1] != _identity(home.state_db):
        kept[0].close()
        kept = None
    if kept is None:
        conn = open_state(home.state_db)
        kept = cache[key] = (conn, _identity(home.state_db))
    return kept[0]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def open_state(path: Path, *, upto: int = SCHEMA_VERSION) -> sqlite3.Connection:
    """A new connection to the state database at `path`, migrated to version `upto` (tests stop early)."""
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.parent.chmod(PRIVATE_DIR_MODE)
        if not path.exists():
            # Made 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _use_wal(conn)
        # FULL: in WAL mode NORMAL may lose the last commits on a power cut; an audit entry of an export that
        # happened must not vanish, and the writes here are few (logins, exports), so the fsync is cheap.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StateError(f"app-state database {path}: {exc}") from exc
    try:
        migrate(conn, upto=upto)
    except StateError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(f"app-state database {path}: {exc}") from exc
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the database to WAL once; the first workers to open a new database race for it.

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is locked" at once,
    without its busy handler, when another connection holds any lock then: so retry until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("could not switch the state database to WAL mode")
        time.sleep(0.01)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, *, upto: int = SCHEMA_VERSION) -> int:
    """Run the migrations the database has not had, each in its own transaction; returns the version reached."""
    found = schema_version(conn)
    if found > SCHEMA_VERSION:
        raise StateError(
            f"the app-state database is at schema version {found}, newer than this cockpit's {SCHEMA_VERSION}: "
            "upgrade the cockpit (or restore the state/ folder it was made with)"
        )
    for version in range(found, upto):
        with transaction(conn):
            # Re-read under the write lock: another worker may have migrated while this one waited.
            if schema_version(conn) != version:
                continue
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
    return schema_version(conn)


def _statements(script: str) -> Iterator[str]:
    """A migration's statements one by one (executescript would commit the transaction it runs in)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending.strip()
            pending = ""


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that holds the write lock from its first statement (BEGIN IMMEDIATE)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
