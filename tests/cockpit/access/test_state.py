"""The app-state database: migrations, refusal of a newer schema, private files, and writers in several processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from cockpit.access import accounts as accounts_module
from cockpit.access import audit
from cockpit.access.accounts import Accounts, Permission
from cockpit.access.state import StateError, connect, open_state
from cockpit.access.tokens import ScreenTokens
from cockpit.settings import Settings
from warehouse.paths import Home

TABLES_V1 = {"users", "user_scope", "login_failures", "audit"}
TABLES_V2 = TABLES_V1 | {"sessions", "screen_tokens", "screen_token_scope", "alarm_acks", "audit_anchor"}
TABLES_V3 = TABLES_V2 | {"user_grants", "screen_token_retired"}


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _version(path) -> int:
    with sqlite3.connect(path) as con:
        return con.execute("PRAGMA user_version").fetchone()[0]


def test_an_empty_home_gets_the_whole_schema_and_opening_again_changes_nothing(home):
    open_state(home.state_db).close()
    assert _tables(home.state_db) == TABLES_V3
    assert _version(home.state_db) == 3
    open_state(home.state_db).close()
    assert _version(home.state_db) == 3


def test_a_version_1_database_is_migrated_and_keeps_its_rows(home):
    v1 = open_state(home.state_db, upto=1)
    v1.execute(
        "INSERT INTO users (name, role, scope_kind, password_hash, created_at, updated_at) "
        "VALUES ('li', 'leader', 'street', 'x', '2026-01-01', '2026-01-01')"
    )
    v1.close()
    assert _tables(home.state_db) == TABLES_V1 and _version(home.state_db) == 1

    conn = open_state(home.state_db)
    assert _tables(home.state_db) == TABLES_V3 and _version(home.state_db) == 3
    assert conn.execute("SELECT name FROM users").fetchall()[0][0] == "li"
    # the new tables work with the old rows: a session row references the migrated user
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, session_epoch, created_at, last_seen_at) VALUES ('h', 1, 0, 'a', 'a')"
    )
    with pytest.raises(sqlite3.IntegrityError):  # foreign keys are on
        conn.execute(
            "INSERT INTO sessions (id_hash, user_id, session_epoch, created_at, last_seen_at) "
            "VALUES ('h2', 99, 0, 'a', 'a')"
        )


def test_a_version_2_database_keeps_its_users_and_tokens_and_takes_grants(home):
    v2 = open_state(home.state_db, upto=2)
    v2.execute(
        "INSERT INTO users (name, display_name, role, scope_kind, password_hash, created_at, updated_at) "
        "VALUES ('wang', '王芳', 'community', 'community', 'x', '2026-01-01', '2026-01-01')"
    )
    v2.execute("INSERT INTO user_scope (user_id, unit_id) VALUES (1, 'C03')")
    v2.execute(
        "INSERT INTO screen_tokens (name, token_hash, scope_kind, created_by, created_at) "
        f"VALUES ('hall', '{'ab' * 32}', 'street', 'cli:ops', '2026-01-01')"
    )
    v2.close()
    assert _tables(home.state_db) == TABLES_V2 and _version(home.state_db) == 2

    conn = open_state(home.state_db)
    assert _version(home.state_db) == 3
    accounts = Accounts(conn, Settings(home=home.root))
    wang = accounts_module.get(conn, "wang")
    assert (wang.display_name, wang.role.name, str(wang.scope), wang.grants) == (
        "王芳",
        "community",
        "community:C03",
        frozenset(),
    )
    assert ScreenTokens(conn, accounts.settings).get("hall").active
    assert accounts.grant("wang", "personal", actor="cli:ops").grants == {Permission.PERSONAL}


def test_a_database_from_a_newer_cockpit_is_refused_in_one_line(home):
    open_state(home.state_db).close()
    with sqlite3.connect(home.state_db) as con:
        con.execute("PRAGMA user_version = 7")
    with pytest.raises(StateError) as caught:
        open_state(home.state_db)
    message = str(caught.value)
    assert "version 7" in message and "upgrade" in message and "\n" not in message


def test_a_file_that_is_not_a_database_is_one_line(home):
    home.state.mkdir(exist_ok=True)
    home.state_db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError) as caught:
        open_state(home.state_db)
    assert "\n" not in str(caught.value)


def test_connections_are_wal_durable_with_foreign_keys(home):
    conn = connect(home)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_state_folder_and_files_are_owner_only_whatever_the_umask(tmp_path):
    import os

    old = os.umask(0o022)  # a permissive umask: the files must still be private
    try:
        home = Home(tmp_path / "h").ensure()
        conn = connect(home)
        audit.append(conn, "cli:test", audit.Action.USER_CHANGE)  # the -wal and -shm files exist while open
        files = [home.state_db, *home.state.glob("cockpit.sqlite-*")]
        assert len(files) == 3
        assert stat.S_IMODE(home.state.stat().st_mode) == 0o700
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        os.umask(old)


def test_each_thread_has_its_own_connection(home):
    seen = []
    thread = threading.Thread(target=lambda: seen.append(connect(home)))
    thread.start()
    thread.join()
    assert connect(home) is connect(home)
    assert seen[0] is not connect(home)


PROCESSES, THREADS, APPENDS = 4, 2, 25


def _append_many(root: str, worker: int, errors) -> None:
    """One 'gunicorn worker': a few threads appending audit entries at once, each on its own connection."""

    def run(thread: int) -> None:
        try:
            conn = connect(Home(Path(root)))
            for i in range(APPENDS):
                audit.append(conn, f"w{worker}", audit.Action.EXPORT, target=f"{worker}-{thread}-{i}")
        except Exception as exc:  # reported to the test, which fails on any
            errors.put(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_processes_writing_at_once_lose_nothing_and_never_see_a_locked_database(home):
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    workers = [ctx.Process(target=_append_many, args=(str(home.root), w, errors)) for w in range(PROCESSES)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []

    conn = open_state(home.state_db)
    targets = {r[0] for r in conn.execute("SELECT target FROM audit")}
    expected = {f"{w}-{t}-{i}" for w in range(PROCESSES) for t in range(THREADS) for i in range(APPENDS)}
    assert targets == expected
    seqs = [r[0] for r in conn.execute("SELECT seq FROM audit ORDER BY seq")]
    assert seqs == list(range(1, len(expected) + 1))
    assert audit.verify(conn).ok


def _open_once(path: str, errors) -> None:
    try:
        open_state(Path(path)).close()
    except Exception as exc:  # reported to the test, which fails on any
        errors.put(f"{type(exc).__name__}: {exc}")


def test_workers_opening_a_new_database_at_once_all_get_it(tmp_path):
    # The first workers to start race to switch a new database to WAL; SQLite answers that race with
    # "database is locked" at once (no busy wait), which failed 2 of 30 rounds of 8 before the retry.
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    for round_ in range(15):
        path = tmp_path / f"home{round_}" / "state" / "cockpit.sqlite"
        workers = [ctx.Process(target=_open_once, args=(str(path), errors)) for _ in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        assert [w.exitcode for w in workers] == [0] * 8
        assert open_state(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []


def test_a_state_file_replaced_under_a_kept_connection_is_opened_again(tmp_path):
    """A restore of the state folder (another file at the same path) is what the next request reads and writes."""
    home, backup = Home(tmp_path / "home").ensure(), Home(tmp_path / "backup").ensure()
    Accounts(connect(backup), Settings(home=backup.root)).create("restored", "leader", actor="tests")
    before = connect(home)
    Accounts(before, Settings(home=home.root)).create("lost", "leader", actor="tests")
    assert connect(home) is before  # kept while the file stays the same
    staged = home.state / "restore.sqlite"
    copy = sqlite3.connect(staged)
    connect(backup).backup(copy)  # a consistent copy of the backup's database, as a restore would bring it
    copy.close()
    staged.replace(home.state_db)
    for leftover in home.state.glob("cockpit.sqlite-*"):
        leftover.unlink()
    names = {row[0] for row in connect(home).execute("SELECT name FROM users")}
    assert names == {"restored"}
