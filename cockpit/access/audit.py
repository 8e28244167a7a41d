"""The audit trail: append-only, hash-chained entries of who did what, verified and pruned by `cockpit audit`.

Each entry's hash is sha256 over a canonical serialization of the entry and the hash of the entry before it, so an
edited, deleted or reordered entry breaks the chain at that point. Retention removes only the oldest entries, only
when asked (`cockpit audit prune`), never younger than the configured days, and keeps the last removed entry's hash
as the anchor the chain goes on from.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from cockpit.access.state import transaction
from cockpit.settings import AUDIT_MIN_RETENTION_DAYS

# The prev_hash of the very first entry.
GENESIS = "0" * 64


class Action(StrEnum):
    """Everything the audit trail records; nothing else is accepted."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    TIMEOUT = "timeout"
    EXPORT = "export"
    BRIEF = "brief"
    ROLLBACK = "rollback"
    PIPELINE_RUN = "pipeline_run"
    USER_CHANGE = "user_change"
    TOKEN_CHANGE = "token_change"
    TOKEN_USE = "token_use"
    DENIED = "denied"
    AUDIT_PRUNE = "audit_prune"


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    DENIED = "denied"


class AuditError(ValueError):
    """An audit request that cannot be carried out; the message is one line."""


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: str  # canonical JSON
    outcome: str
    prev_hash: str
    hash: str

    @property
    def details(self) -> dict:
        return json.loads(self.detail)


@dataclass(frozen=True)
class Verified:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    def line(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.checked} entries verified"
        return f"audit trail broken at seq {self.broken_seq}: {self.reason}"


def timestamp(now: datetime | None = None) -> str:
    """A UTC time as the audit stores it: ISO 8601 with microseconds, so text order is time order."""
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(seq: int, at: str, actor: str, action: str, target: str, detail: str, outcome: str, prev: str) -> str:
    canonical = json.dumps([seq, at, actor, action, target, detail, outcome, prev], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, actor: str, action: Action | str, **fields) -> Entry:
    """Append one entry in its own write transaction (`fields`: those of `append_in_transaction`)."""
    with transaction(conn):
        return append_in_transaction(conn, actor, action, **fields)


def append_in_transaction(
    conn: sqlite3.Connection,
    actor: str,
    action: Action | str,
    *,
    target: str = "",
    detail: dict | None = None,
    outcome: Outcome | str = Outcome.OK,
    now: datetime | None = None,
) -> Entry:
    """Append one entry inside the caller's write transaction (a change and its entry commit together)."""
    action, outcome = Action(action), Outcome(outcome)
    detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone() or _anchor(conn)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = timestamp(now)
    digest = entry_hash(seq, at, actor, action.value, target, detail_json, outcome.value, prev)
    conn.execute(
        "INSERT INTO audit (seq, at, actor, action, target, detail, outcome, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, actor, action.value, target, detail_json, outcome.value, prev, digest),
    )
    return Entry(seq, at, actor, action.value, target, detail_json, outcome.value, prev, digest)


def _anchor(conn: sqlite3.Connection) -> tuple[int, str] | None:
    row = conn.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else None


def verify(conn: sqlite3.Connection) -> Verified:
    """Walk the chain from the anchor (or the start); the first entry that does not follow is reported."""
    anchor = _anchor(conn)
    expected_seq, expected_prev = (anchor[0] + 1, anchor[1]) if anchor else (1, GENESIS)
    checked = 0
    for row in conn.execute("SELECT * FROM audit ORDER BY seq"):
        entry = Entry(**dict(row))
        if entry.seq != expected_seq:
            return Verified(False, checked, expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != expected_prev:
            return Verified(False, checked, entry.seq, "it does not follow the entry before (deleted or reordered)")
        fields = (entry.at, entry.actor, entry.action, entry.target, entry.detail, entry.outcome, entry.prev_hash)
        if entry_hash(entry.seq, *fields) != entry.hash:
            return Verified(False, checked, entry.seq, "its content does not match its hash (edited)")
        expected_seq, expected_prev = entry.seq + 1, entry.hash
        checked += 1
    return Verified(True, checked)


def _where(
    actor: str | None,
    action: Action | str | None,
    since: datetime | None,
    until: datetime | None,
    through_seq: int | None,
) -> tuple[str, list]:
    """The WHERE clause (with its leading space, or empty) and parameters of an audit query."""
    where, params = [], []
    if actor is not None:
        # The CLI and the app record users by name; `cli:` actors are the people at the server's console.
        where.append("actor = ? COLLATE NOCASE")
        params.append(actor)
    if action is not None:
        where.append("action = ?")
        params.append(Action(action).value)
    if since is not None:
        where.append("at >= ?")
        params.append(timestamp(since))
    if until is not None:
        where.append("at < ?")
        params.append(timestamp(until))
    if through_seq is not None:
        where.append("seq <= ?")
        params.append(through_seq)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def entries(
    conn: sqlite3.Connection,
    *,
    actor: str | None = None,
    action: Action | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    through_seq: int | None = None,
) -> list[Entry]:
    """The newest entries first, filtered; `since` and `until` bound the time (until excluded).

    `offset` pages through them; `through_seq` (from `last_seq`) holds the pages still while new entries arrive.
    """
    where, params = _where(actor, action, since, until, through_seq)
    sql = f"SELECT * FROM audit{where} ORDER BY seq DESC LIMIT ? OFFSET ?"
    return [Entry(**dict(row)) for row in conn.execute(sql, (*params, limit, offset))]


def count(
    conn: sqlite3.Connection,
    *,
    actor: str | None = None,
    action: Action | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    through_seq: int | None = None,
) -> int:
    """How many entries `entries` would page through with the same filters."""
    where, params = _where(actor, action, since, until, through_seq)
    return conn.execute(f"SELECT COUNT(*) FROM audit{where}", params).fetchone()[0]


def last_seq(conn: sqlite3.Connection) -> int:
    """The newest entry's seq (0 when the trail is empty)."""
    return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0]


def prune(conn: sqlite3.Connection, *, older_than_days: int, actor: str, now: datetime | None = None) -> int:
    """Remove the oldest entries older than `older_than_days` (never fewer than 180); returns how many went.

    Only a run of entries from the start goes, up to the first one young enough to keep, so the chain stays one
    piece; the last removed entry's hash becomes the anchor. The prune itself is recorded.
    """
    if older_than_days < AUDIT_MIN_RETENTION_DAYS:
        raise AuditError(
            f"audit entries are kept at least {AUDIT_MIN_RETENTION_DAYS} days (the Cybersecurity Law asks for "
            f"six months), not {older_than_days}"
        )
    now = now or datetime.now(UTC)
    cutoff = timestamp(now - timedelta(days=older_than_days))
    with transaction(conn):
        first_kept = conn.execute("SELECT MIN(seq) FROM audit WHERE at >= ?", (cutoff,)).fetchone()[0]
        bound = "seq < ?" if first_kept is not None else "1 = 1"
        last = conn.execute(
            f"SELECT seq, hash FROM audit WHERE {bound} ORDER BY seq DESC LIMIT 1",
            (first_kept,) if first_kept is not None else (),
        ).fetchone()
        if last is None:
            removed = 0
        else:
            removed = conn.execute("DELETE FROM audit WHERE seq <= ?", (last[0],)).rowcount
            conn.execute(
                "INSERT INTO audit_anchor (id, seq, hash, pruned_at) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                "pruned_at = excluded.pruned_at",
                (last[0], last[1], timestamp(now)),
            )
        append_in_transaction(
            conn,
            actor,
            Action.AUDIT_PRUNE,
            detail={"older_than_days": older_than_days, "removed": removed, "anchor_seq": last[0] if last else None},
            now=now,
        )
    return removed
