"""Wall screen tokens: named, revocable secrets that let a wall PC show the cockpit without a password.

An admin issues a token with its own scope (`cockpit token add`); the secret is shown once and only its sha256 is
stored, so a copy of the state database opens no wall. The web side exchanges the secret (`/wall?token=…`) for a
read-only screen session through `ScreenTokens.verify`, which also records the use, and asks `find(name)` whether
the token is still active on every refresh, so a revoked token blanks its screen.

Names are unique without regard to case. A revoked token keeps its row (its audit entries name it); issuing its name
again makes it active with a new secret and a new scope, the way an admin replaces a wall PC's token, while the old
secret stays dead and is still recognised as the revoked token's when it is tried.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cockpit.access import audit
from cockpit.access.accounts import AccessError, Scope, ScopeKind, check_scope_ids
from cockpit.access.audit import Action, Outcome
from cockpit.access.principal import Principal
from cockpit.access.state import transaction
from cockpit.settings import Settings

# A letter or digit (any script: 指挥大厅-1 is a fine wall name), then letters, digits, '.', '_', '-'.
TOKEN_NAME = re.compile(r"[^\W_][\w.-]{0,39}")
# last_used_at is written at most this often, so a wall refreshing every few seconds does not keep the writer busy.
LAST_USED_EVERY = timedelta(minutes=1)
# Who a refused token is recorded as: nobody is known to be behind it.
ANONYMOUS = "anonymous"


def token_hash(secret: str) -> str:
    # surrogatepass: whatever a URL decodes to is hashed, never raised on
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ScreenToken:
    id: int
    name: str
    scope: Scope
    created_by: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        """Who the wall is while it shows the cockpit: view only, this token's scope."""
        return Principal.for_screen(self.name, self.scope)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _token(conn: sqlite3.Connection, row: sqlite3.Row) -> ScreenToken:
    ids = tuple(
        r[0]
        for r in conn.execute(
            "SELECT unit_id FROM screen_token_scope WHERE token_id = ? ORDER BY unit_id", (row["id"],)
        )
    )
    return ScreenToken(
        id=row["id"],
        name=row["name"],
        scope=Scope(ScopeKind(row["scope_kind"]), ids),
        created_by=row["created_by"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


class ScreenTokens:
    """Screen token changes and checks against one state database; every change and use is audited."""

    def __init__(self, conn: sqlite3.Connection, settings: Settings):
        self.conn, self.settings = conn, settings

    def find(self, name: str) -> ScreenToken | None:
        row = self.conn.execute("SELECT * FROM screen_tokens WHERE name = ?", (name,)).fetchone()
        return _token(self.conn, row) if row else None

    def get(self, name: str) -> ScreenToken:
        token = self.find(name)
        if token is None:
            raise AccessError(f"no screen token named {name!r} (see `cockpit token list`)")
        return token

    def list(self) -> list[ScreenToken]:
        """Every token, revoked ones too, by name."""
        rows = self.conn.execute("SELECT * FROM screen_tokens ORDER BY name COLLATE NOCASE").fetchall()
        return [_token(self.conn, row) for row in rows]

    def issue(self, name: str, scope: Scope, *, actor: str, now: datetime | None = None) -> tuple[ScreenToken, str]:
        """A new token (or a revoked one's name issued again) and its secret, which is returned this once only."""
        if not TOKEN_NAME.fullmatch(name):
            raise AccessError(
                f"a screen token name is 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit, "
                f"not {name!r}"
            )
        check_scope_ids(scope, self.settings.paths)
        secret = secrets.token_urlsafe(32)
        at = audit.timestamp(_now(now))
        with transaction(self.conn):
            old = self.conn.execute("SELECT * FROM screen_tokens WHERE name = ?", (name,)).fetchone()
            if old is not None and old["revoked_at"] is None:
                raise AccessError(
                    f"a screen token named {old['name']!r} is active: revoke it first "
                    f"(`cockpit token revoke {old['name']}`) or pick another name"
                )
            if old is None:
                token_id = self.conn.execute(
                    "INSERT INTO screen_tokens (name, token_hash, scope_kind, created_by, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, token_hash(secret), scope.kind.value, actor, at),
                ).lastrowid
            else:
                token_id = old["id"]
                self.conn.execute(
                    "INSERT INTO screen_token_retired (token_hash, token_id, retired_at) VALUES (?, ?, ?)",
                    (old["token_hash"], token_id, at),
                )
                self.conn.execute(
                    "UPDATE screen_tokens SET name = ?, token_hash = ?, scope_kind = ?, created_by = ?, "
                    "created_at = ?, revoked_at = NULL, last_used_at = NULL WHERE id = ?",
                    (name, token_hash(secret), scope.kind.value, actor, at, token_id),
                )
            self.conn.execute("DELETE FROM screen_token_scope WHERE token_id = ?", (token_id,))
            self.conn.executemany(
                "INSERT INTO screen_token_scope (token_id, unit_id) VALUES (?, ?)",
                [(token_id, i) for i in scope.unit_ids],
            )
            detail = {"change": "issue" if old is None else "reissue", "scope": str(scope)}
            audit.append_in_transaction(self.conn, actor, Action.TOKEN_CHANGE, target=name, detail=detail, now=now)
        return self.get(name), secret

    def revoke(self, name: str, *, actor: str, now: datetime | None = None) -> ScreenToken:
        """Stop the token: verify refuses it from now on; a screen signed in with it ends at its next refresh."""
        at = audit.timestamp(_now(now))
        with transaction(self.conn):
            token = self.get(name)
            if not token.active:
                raise AccessError(f"the screen token {token.name!r} was revoked already ({token.revoked_at[:19]} UTC)")
            self.conn.execute("UPDATE screen_tokens SET revoked_at = ? WHERE id = ?", (at, token.id))
            audit.append_in_transaction(
                self.conn, actor, Action.TOKEN_CHANGE, target=token.name, detail={"change": "revoke"}, now=now
            )
        return self.get(name)

    def verify(
        self, secret: str, *, now: datetime | None = None, client: str = "", record_use: bool = False
    ) -> ScreenToken | None:
        """The active token with this secret, or None (unknown or revoked).

        The lookup is by the secret's hash through a unique index, so nothing compares secrets byte by byte.
        With `record_use` (a wall exchanging its token for a session) the use is audited either way: as the
        screen when it is accepted, as `anonymous`, denied, when not, never with the secret itself.
        """
        now = _now(now)
        digest, used_at = token_hash(secret), audit.timestamp(now)
        row = self._row_by_hash(digest)
        active = row is not None and row["revoked_at"] is None
        if not record_use and not (active and self._stale(row, now)):
            return _token(self.conn, row) if active else None  # a read only: most calls write nothing
        with transaction(self.conn):
            # Decided again under the write lock: a revoke by another worker in between wins.
            row = self._row_by_hash(digest)
            if row is None or row["revoked_at"] is not None:
                if record_use:
                    self._refused(digest, row, client, now)
                return None
            if self._stale(row, now):
                self.conn.execute("UPDATE screen_tokens SET last_used_at = ? WHERE id = ?", (used_at, row["id"]))
            token = _token(self.conn, self._row_by_hash(digest))
            if record_use:
                audit.append_in_transaction(
                    self.conn,
                    token.principal().name,
                    Action.TOKEN_USE,
                    target=token.name,
                    detail={"client": client},
                    now=now,
                )
        return token

    def _row_by_hash(self, digest: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM screen_tokens WHERE token_hash = ?", (digest,)).fetchone()

    @staticmethod
    def _stale(row: sqlite3.Row, now: datetime) -> bool:
        return row["last_used_at"] is None or row["last_used_at"] <= audit.timestamp(now - LAST_USED_EVERY)

    def _refused(self, digest: str, row: sqlite3.Row | None, client: str, now: datetime) -> None:
        """Record a refused token inside the caller's transaction: whose it was if it was revoked, else a hint."""
        if row is None:
            row = self.conn.execute(
                "SELECT t.* FROM screen_token_retired r JOIN screen_tokens t ON t.id = r.token_id "
                "WHERE r.token_hash = ?",
                (digest,),
            ).fetchone()
        if row is None:
            # A few characters of the hash tell repeated tries of one wrong token apart, and reveal nothing.
            target, detail = "", {"client": client, "reason": "unknown", "token_hash_prefix": digest[:6]}
        else:
            target, detail = row["name"], {"client": client, "reason": "revoked"}
        audit.append_in_transaction(
            self.conn, ANONYMOUS, Action.TOKEN_USE, target=target, detail=detail, outcome=Outcome.DENIED, now=now
        )
