"""Sign-in sessions in the app-state database: begun at login, checked on every request, ended by logout or time.

The cookie holds a random token; the database keeps only its sha256, so a copy of
the database opens no session. A session ends when the user logs out, when it
has been idle longer than the idle timeout, when it is older than the absolute
timeout, when the account is disabled, or when the account's session epoch moves
on (logout everywhere, a new role, scope or password). Every worker reads the
same table, so a logout in one is seen by all on their next request.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from cockpit.access import audit
from cockpit.access.accounts import Account, _account
from cockpit.access.audit import Action
from cockpit.access.state import transaction

# How stale last_seen_at may get before a request writes it again: one write a minute per session, not one per request.
TOUCH_EVERY = timedelta(minutes=1)


class Ended(StrEnum):
    LOGOUT = "logout"
    IDLE = "idle_timeout"
    ABSOLUTE = "absolute_timeout"
    DISABLED = "disabled"
    EPOCH = "signed_out_everywhere"  # or the account's role, scope or password changed


@dataclass(frozen=True)
class Session:
    id_hash: str
    account: Account
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Lookup:
    session: Session | None = None
    ended: Ended | None = None  # why a session the cookie named is no longer valid (None: no such session)


def _reason(text: str | None) -> Ended:
    try:
        return Ended(text)
    except ValueError:
        return Ended.LOGOUT


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def begin(conn: sqlite3.Connection, account: Account, *, client: str = "", now: datetime | None = None) -> str:
    """A new session for the account; returns the token for the cookie (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    at = audit.timestamp(_now(now))
    with transaction(conn):
        conn.execute(
            "INSERT INTO sessions (id_hash, user_id, session_epoch, created_at, last_seen_at, client) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash(token), account.id, account.session_epoch, at, at, client[:200]),
        )
    return token


def look_up(
    conn: sqlite3.Connection,
    token: str,
    *,
    idle: timedelta,
    absolute: timedelta,
    now: datetime | None = None,
) -> Lookup:
    """The live session a cookie's token names, or why it is not live (ending it, and auditing a timeout, if so)."""
    if not token or len(token) > 200:
        return Lookup()
    now = _now(now)
    id_hash = token_hash(token)
    row = conn.execute(
        "SELECT s.created_at AS s_created, s.last_seen_at AS s_seen, s.ended_at AS s_ended, "
        "s.end_reason AS s_reason, s.session_epoch AS s_epoch, u.* "
        "FROM sessions AS s JOIN users AS u ON u.id = s.user_id WHERE s.id_hash = ?",
        (id_hash,),
    ).fetchone()
    if row is None:
        return Lookup()
    if row["s_ended"] is not None:
        return Lookup(ended=_reason(row["s_reason"]))
    created, seen = datetime.fromisoformat(row["s_created"]), datetime.fromisoformat(row["s_seen"])
    reason = None
    if row["disabled"]:
        reason = Ended.DISABLED
    elif row["s_epoch"] != row["session_epoch"]:
        reason = Ended.EPOCH
    elif now - created >= absolute:
        reason = Ended.ABSOLUTE
    elif now - seen >= idle:
        reason = Ended.IDLE
    if reason is not None:
        end(conn, id_hash, reason, actor=row["name"], now=now)
        return Lookup(ended=reason)
    if now - seen >= TOUCH_EVERY:
        with transaction(conn):
            conn.execute("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (audit.timestamp(now), id_hash))
        seen = now
    return Lookup(Session(id_hash, _account(conn, row), created, seen))


def end(conn: sqlite3.Connection, id_hash: str, reason: Ended, *, actor: str, now: datetime | None = None) -> bool:
    """End a live session and record it (a logout, or a timeout noticed now); False when it had ended already."""
    at = audit.timestamp(_now(now))
    with transaction(conn):
        ended = conn.execute(
            "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id_hash = ? AND ended_at IS NULL",
            (at, reason.value, id_hash),
        ).rowcount
        if ended:
            action = Action.LOGOUT if reason is Ended.LOGOUT else Action.TIMEOUT
            # The trail names the session by a prefix of its hash: enough to follow it, useless to open it.
            detail = {"session": id_hash[:12], "reason": reason.value}
            audit.append_in_transaction(conn, actor, action, detail=detail, now=now)
    return bool(ended)


def prune(conn: sqlite3.Connection, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Forget sessions that ended (or began) longer ago than `older_than`; the audit trail keeps their story."""
    cutoff = audit.timestamp(_now(now) - older_than)
    with transaction(conn):
        return conn.execute(
            "DELETE FROM sessions WHERE coalesce(ended_at, created_at) < ?",
            (cutoff,),
        ).rowcount
