"""Local accounts: roles and their permissions, scopes, the password policy, lockout and account changes.

Roles are declared once here as data (ROLES); the app asks `role.may(Permission.EXPORT)` rather than naming roles.
A user may also be granted single permissions beyond their role's (`Accounts.grant`), e.g. PERSONAL for the few who
see party members' personal records, or RECORDS to an admin.
A scope is the whole street, a list of community ids or a list of grid ids, checked against the current release.
Every change is written to the audit trail in the same transaction as the change itself.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cockpit.access import audit
from cockpit.access.audit import Action, Outcome
from cockpit.access.state import transaction
from cockpit.settings import Settings
from warehouse.paths import Home


class AccessError(ValueError):
    """An account request that cannot be carried out; the message is one line."""


class Permission(StrEnum):
    VIEW = "view"  # the street's pages and the wall
    RECORDS = "records"  # drill from a number to its citizen records
    EXPORT = "export"  # download records as CSV / Excel
    BRIEFS = "briefs"  # generate and download briefing PDFs
    PIPELINE = "pipeline"  # run the pipeline and roll back from the 数据管道 page
    MANAGE_USERS = "manage_users"
    MANAGE_TOKENS = "manage_tokens"  # wall screen tokens
    AUDIT = "audit"  # read and export the audit trail
    PERSONAL = "personal"  # party members' personal records (facts schema.yaml marks personal); granted per user


class ScopeKind(StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    permissions: frozenset[Permission]
    scopes: tuple[ScopeKind, ...]  # the kinds of scope this role may be given; the first is the default

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


def _role(name: str, label: str, permissions: set[Permission], scopes: tuple[ScopeKind, ...]) -> Role:
    return Role(name, label, frozenset(permissions), scopes)


P, S = Permission, ScopeKind
# The table of roles: what each sees and may do. The admin sees no citizen records unless also granted.
ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        _role("leader", "街道领导", {P.VIEW, P.BRIEFS}, (S.STREET,)),
        _role("analyst", "指挥中心", {P.VIEW, P.RECORDS, P.EXPORT, P.BRIEFS}, (S.STREET, S.COMMUNITY)),
        _role("community", "社区", {P.VIEW, P.RECORDS, P.EXPORT}, (S.COMMUNITY, S.GRID)),
        _role("operator", "运维", {P.PIPELINE}, (S.STREET,)),
        _role("admin", "管理员", {P.MANAGE_USERS, P.MANAGE_TOKENS, P.AUDIT}, (S.STREET,)),
    )
}
del P, S

# Letters first, then letters, digits, dot, dash, underscore; compared without case.
USER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{1,31}")


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    unit_ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Scope:
        """'street', 'community:C01,C02' or 'grid:G1,G2' → a Scope (ids not yet checked against a release)."""
        kind_text, _, ids_text = text.strip().partition(":")
        try:
            kind = ScopeKind(kind_text.strip().lower())
        except ValueError:
            raise AccessError(f"a scope is street, community:ID,ID… or grid:ID,ID…, not {text!r}") from None
        ids = tuple(dict.fromkeys(i.strip() for i in ids_text.split(",") if i.strip()))
        if kind is ScopeKind.STREET and ids:
            raise AccessError(f"the street scope takes no ids: {text!r}")
        if kind is not ScopeKind.STREET and not ids:
            raise AccessError(f"a {kind.value} scope names at least one id, as in {kind.value}:ID1,ID2")
        return cls(kind, ids)

    def __str__(self) -> str:
        return self.kind.value if self.kind is ScopeKind.STREET else f"{self.kind.value}:{','.join(self.unit_ids)}"


def check_scope_ids(scope: Scope, home: Home) -> None:
    """Refuse ids the current release does not know (no release yet: nothing to check against, accepted)."""
    from warehouse.releases import current_release, open_release

    release = current_release(home)
    if scope.kind is ScopeKind.STREET or release is None:
        return
    sql = {
        ScopeKind.COMMUNITY: "SELECT community_id FROM dim_community",
        ScopeKind.GRID: "SELECT unit_id FROM dim_grid WHERE level NOT IN ('community', 'unknown')",
    }[scope.kind]
    con = open_release(release)
    try:
        known = {row[0] for row in con.execute(sql).fetchall()}
    finally:
        con.close()
    unknown = [i for i in scope.unit_ids if i not in known]
    if unknown:
        raise AccessError(f"unknown {scope.kind.value} id(s) in the current release: {', '.join(unknown)}")


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12
    min_classes: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordPolicy:
        return cls(settings.password_min_length, settings.password_min_classes)

    def problem(self, password: str, user_name: str) -> str | None:
        """Why the password is refused (one line), or None."""
        if len(password) < self.min_length:
            return f"a password needs at least {self.min_length} characters"
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < self.min_classes:
            return (
                f"a password needs at least {self.min_classes} of: lower case, upper case, digits, symbols "
                f"(this one has {sum(classes)})"
            )
        if user_name and user_name.lower() in password.lower():
            return "a password must not contain the user name"
        return None

    def generate(self, user_name: str = "") -> str:
        """A random password this policy accepts (for new accounts and resets, printed once)."""
        alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
        # Every class present, whatever the configured minimum, so it passes any policy a deployment may set.
        strict = PasswordPolicy(max(self.min_length, 16), 4)
        while True:
            candidate = "".join(secrets.choice(alphabet) for _ in range(strict.min_length))
            if strict.problem(candidate, user_name) is None:
                return candidate


# argon2id with the library's current parameters; a stored hash made with older ones is redone on the next login.
hasher = PasswordHasher()


@cache
def dummy_hash() -> str:
    """What an unknown user's password is checked against, so an answer takes as long whether or not they exist."""
    return hasher.hash(secrets.token_urlsafe(24))


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    display_name: str
    role: Role
    scope: Scope
    must_change_password: bool
    disabled: bool
    session_epoch: int
    created_at: str
    grants: frozenset[Permission] = frozenset()  # beyond the role's permissions, granted to this user

    @property
    def permissions(self) -> frozenset[Permission]:
        return self.role.permissions | self.grants

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


class LoginResult(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"  # unknown user or wrong password: the same answer for both
    LOCKED = "locked"
    DISABLED = "disabled"
    MUST_CHANGE = "must_change_password"


@dataclass(frozen=True)
class Login:
    result: LoginResult
    account: Account | None = None  # set for OK and MUST_CHANGE


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _account(conn: sqlite3.Connection, row: sqlite3.Row) -> Account:
    ids = tuple(
        r[0] for r in conn.execute("SELECT unit_id FROM user_scope WHERE user_id = ? ORDER BY unit_id", (row["id"],))
    )
    granted = {r[0] for r in conn.execute("SELECT permission FROM user_grants WHERE user_id = ?", (row["id"],))}
    return Account(
        id=row["id"],
        name=row["name"],
        display_name=row["display_name"],
        role=ROLES[row["role"]],
        scope=Scope(ScopeKind(row["scope_kind"]), ids),
        must_change_password=bool(row["must_change_password"]),
        disabled=bool(row["disabled"]),
        session_epoch=row["session_epoch"],
        created_at=row["created_at"],
        # A grant of a permission this version no longer declares grants nothing (fails closed).
        grants=frozenset(p for p in Permission if p.value in granted),
    )


def find(conn: sqlite3.Connection, name: str) -> Account | None:
    row = conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
    return _account(conn, row) if row else None


def get(conn: sqlite3.Connection, name: str) -> Account:
    account = find(conn, name)
    if account is None:
        raise AccessError(f"no user named {name!r} (see `cockpit user list`)")
    return account


def accounts(conn: sqlite3.Connection) -> list[Account]:
    return [_account(conn, row) for row in conn.execute("SELECT * FROM users ORDER BY name")]


def locked_until(conn: sqlite3.Connection, name: str, now: datetime | None = None) -> datetime | None:
    row = conn.execute("SELECT locked_until FROM login_failures WHERE name = ?", (name,)).fetchone()
    if row is None or row[0] is None:
        return None
    until = datetime.fromisoformat(row[0])
    return until if until > _now(now) else None


def permission_for(text: str | Permission) -> Permission:
    try:
        return Permission(text)
    except ValueError:
        raise AccessError(f"unknown permission {text!r}: one of {', '.join(p.value for p in Permission)}") from None


def _role_for(role_name: str) -> Role:
    if role_name not in ROLES:
        raise AccessError(f"unknown role {role_name!r}: one of {', '.join(ROLES)}")
    return ROLES[role_name]


def _check_scope_fits(role: Role, scope: Scope) -> None:
    if scope.kind not in role.scopes:
        kinds = " or ".join(k.value for k in role.scopes)
        raise AccessError(f"a {role.name} ({role.label}) has a {kinds} scope, not {scope.kind.value}")


def _write_scope(conn: sqlite3.Connection, user_id: int, scope: Scope) -> None:
    conn.execute("DELETE FROM user_scope WHERE user_id = ?", (user_id,))
    conn.executemany("INSERT INTO user_scope (user_id, unit_id) VALUES (?, ?)", [(user_id, i) for i in scope.unit_ids])


class Accounts:
    """Account changes against one state database, with the home's policy; each change is audited."""

    def __init__(self, conn: sqlite3.Connection, settings: Settings):
        self.conn, self.settings = conn, settings
        self.policy = PasswordPolicy.from_settings(settings)

    def create(
        self,
        name: str,
        role_name: str,
        *,
        actor: str,
        scope: Scope | None = None,
        display_name: str = "",
        password: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Account, str]:
        """A new account and its initial password (random unless given); it must be changed at first login."""
        if not USER_NAME.fullmatch(name):
            raise AccessError(
                f"a user name is 2-32 letters, digits, '.', '_' or '-', starting with a letter, not {name!r}"
            )
        role = _role_for(role_name)
        scope = scope or Scope(role.scopes[0])
        _check_scope_fits(role, scope)
        check_scope_ids(scope, self.settings.paths)
        password = password if password is not None else self.policy.generate(name)
        if problem := self.policy.problem(password, name):
            raise AccessError(problem)
        at = audit.timestamp(_now(now))
        with transaction(self.conn):
            if find(self.conn, name) is not None:
                raise AccessError(f"a user named {name!r} exists already (names ignore case)")
            cursor = self.conn.execute(
                "INSERT INTO users (name, display_name, role, scope_kind, password_hash, must_change_password, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                (name.lower(), display_name, role.name, scope.kind.value, hasher.hash(password), at, at),
            )
            _write_scope(self.conn, cursor.lastrowid, scope)
            detail = {"change": "add", "role": role.name, "scope": str(scope), "display_name": display_name}
            audit.append_in_transaction(
                self.conn, actor, Action.USER_CHANGE, target=name.lower(), detail=detail, now=now
            )
        return get(self.conn, name), password

    def _change(self, name: str, actor: str, detail: dict, sql: str, params: tuple, now: datetime | None) -> Account:
        account = get(self.conn, name)
        with transaction(self.conn):
            self.conn.execute(
                f"UPDATE users SET {sql}, updated_at = ? WHERE id = ?",
                (*params, audit.timestamp(_now(now)), account.id),
            )
            audit.append_in_transaction(
                self.conn, actor, Action.USER_CHANGE, target=account.name, detail=detail, now=now
            )
        return get(self.conn, name)

    def set_role(self, name: str, role_name: str, *, actor: str, now: datetime | None = None) -> Account:
        role, account = _role_for(role_name), get(self.conn, name)
        _check_scope_fits(role, account.scope)
        detail = {"change": "set_role", "from": account.role.name, "to": role.name}
        # A new role means new permissions: sessions made under the old one end.
        return self._change(name, actor, detail, "role = ?, session_epoch = session_epoch + 1", (role.name,), now)

    def set_scope(self, name: str, scope: Scope, *, actor: str, now: datetime | None = None) -> Account:
        account = get(self.conn, name)
        _check_scope_fits(account.role, scope)
        check_scope_ids(scope, self.settings.paths)
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE users SET scope_kind = ?, session_epoch = session_epoch + 1, updated_at = ? WHERE id = ?",
                (scope.kind.value, audit.timestamp(_now(now)), account.id),
            )
            _write_scope(self.conn, account.id, scope)
            detail = {"change": "set_scope", "from": str(account.scope), "to": str(scope)}
            audit.append_in_transaction(
                self.conn, actor, Action.USER_CHANGE, target=account.name, detail=detail, now=now
            )
        return get(self.conn, name)

    def grant(self, name: str, permission: Permission | str, *, actor: str, now: datetime | None = None) -> Account:
        """Let NAME do one thing their role does not (their sessions end, as on any change of what they may do)."""
        permission, account = permission_for(permission), get(self.conn, name)
        if account.role.may(permission):
            raise AccessError(
                f"{account.name}'s role {account.role.name} ({account.role.label}) includes {permission.value} already"
            )
        if permission in account.grants:
            raise AccessError(f"{account.name} was granted {permission.value} already")
        at = audit.timestamp(_now(now))
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO user_grants (user_id, permission, granted_by, granted_at) VALUES (?, ?, ?, ?)",
                (account.id, permission.value, actor, at),
            )
            self._bump_epoch(account, at)
            detail = {"change": "grant", "permission": permission.value}
            audit.append_in_transaction(
                self.conn, actor, Action.USER_CHANGE, target=account.name, detail=detail, now=now
            )
        return get(self.conn, name)

    def revoke_grant(
        self, name: str, permission: Permission | str, *, actor: str, now: datetime | None = None
    ) -> Account:
        """Take back a granted permission; their sessions end, so it is gone from the next request on."""
        permission, account = permission_for(permission), get(self.conn, name)
        if permission not in account.grants:
            how = " (it comes with their role: change the role instead)" if account.role.may(permission) else ""
            raise AccessError(f"{account.name} has no grant of {permission.value}{how}")
        at = audit.timestamp(_now(now))
        with transaction(self.conn):
            self.conn.execute(
                "DELETE FROM user_grants WHERE user_id = ? AND permission = ?", (account.id, permission.value)
            )
            self._bump_epoch(account, at)
            detail = {"change": "revoke_grant", "permission": permission.value}
            audit.append_in_transaction(
                self.conn, actor, Action.USER_CHANGE, target=account.name, detail=detail, now=now
            )
        return get(self.conn, name)

    def _bump_epoch(self, account: Account, at: str) -> None:
        self.conn.execute(
            "UPDATE users SET session_epoch = session_epoch + 1, updated_at = ? WHERE id = ?", (at, account.id)
        )

    def disable(self, name: str, *, actor: str, now: datetime | None = None) -> Account:
        detail = {"change": "disable"}
        return self._change(name, actor, detail, "disabled = 1, session_epoch = session_epoch + 1", (), now)

    def enable(self, name: str, *, actor: str, now: datetime | None = None) -> Account:
        return self._change(name, actor, {"change": "enable"}, "disabled = 0", (), now)

    def logout_everywhere(self, name: str, *, actor: str, now: datetime | None = None) -> Account:
        """End every session of the user: sessions carry the epoch they began in, and it moves on."""
        return self._change(name, actor, {"change": "logout_everywhere"}, "session_epoch = session_epoch + 1", (), now)

    def reset_password(self, name: str, *, actor: str, now: datetime | None = None) -> str:
        """A new random password (returned once), to be changed at the next login; sessions end, lockout lifts."""
        password = self.policy.generate(name)
        self._change(
            name,
            actor,
            {"change": "reset_password"},
            "password_hash = ?, must_change_password = 1, session_epoch = session_epoch + 1",
            (hasher.hash(password),),
            now,
        )
        with transaction(self.conn):
            self.conn.execute("DELETE FROM login_failures WHERE name = ?", (name,))
        return password

    def change_password(self, name: str, old: str, new: str, *, now: datetime | None = None) -> Account:
        """The user's own change: the old password proves it is them; the new one must pass the policy."""
        row = self.conn.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        if row is None or not _verify(row[0], old):
            raise AccessError("the current password is not right")
        if problem := self.policy.problem(new, name):
            raise AccessError(problem)
        if new == old:
            raise AccessError("the new password must differ from the current one")
        return self._change(
            name,
            name,
            {"change": "change_password"},
            # Sessions begun with the old password end (the web form gives its own client a new one).
            "password_hash = ?, must_change_password = 0, session_epoch = session_epoch + 1",
            (hasher.hash(new),),
            now,
        )

    def authenticate(self, name: str, password: str, *, now: datetime | None = None, client: str = "") -> Login:
        """Check a login and record it. Unknown names, wrong passwords and locks answer alike and take alike long.

        Failures are counted per name typed (in the database, so every worker sees them), whether or not the user
        exists; a locked name is checked against the dummy hash, never its real one, until the lock ends.
        """
        now = _now(now)
        # The name as typed (bounded) is the key of the failure count and the actor, whether or not it exists.
        actor = name.lower()[:64]
        detail = {"client": client} if client else {}
        if locked_until(self.conn, actor, now) is not None:
            _verify(dummy_hash(), password)
            return self._record(actor, LoginResult.LOCKED, detail, now)
        row = (
            self.conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
            if USER_NAME.fullmatch(name)
            else None
        )
        if row is None:
            _verify(dummy_hash(), password)
            return self._failed(actor, detail, now)
        if not _verify(row["password_hash"], password):
            return self._failed(actor, detail, now)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM login_failures WHERE name = ?", (name,))
            if hasher.check_needs_rehash(row["password_hash"]):
                self.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (hasher.hash(password), row["id"]))
        account = _account(self.conn, row)
        if account.disabled:
            return self._record(actor, LoginResult.DISABLED, detail, now)
        result = LoginResult.MUST_CHANGE if account.must_change_password else LoginResult.OK
        return self._record(actor, result, detail, now, account)

    def _failed(self, actor: str, detail: dict, now: datetime) -> Login:
        lock_until = audit.timestamp(now + timedelta(minutes=self.settings.lockout_minutes))
        with transaction(self.conn):
            failures = self.conn.execute(
                "INSERT INTO login_failures (name, failures) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET failures = failures + 1 RETURNING failures",
                (actor,),
            ).fetchone()[0]
            if failures >= self.settings.lockout_attempts:
                self.conn.execute(
                    "UPDATE login_failures SET failures = 0, locked_until = ? WHERE name = ?", (lock_until, actor)
                )
                detail = {**detail, "locked_until": lock_until}
            audit.append_in_transaction(
                self.conn,
                actor,
                Action.LOGIN_FAILED,
                detail={**detail, "reason": "bad_credentials"},
                outcome=Outcome.FAILED,
                now=now,
            )
        return Login(LoginResult.BAD_CREDENTIALS)

    def _record(
        self, actor: str, result: LoginResult, detail: dict, now: datetime, account: Account | None = None
    ) -> Login:
        ok = result in (LoginResult.OK, LoginResult.MUST_CHANGE)
        audit.append(
            self.conn,
            actor,
            Action.LOGIN if ok else Action.LOGIN_FAILED,
            detail={**detail, "reason": result.value},
            outcome=Outcome.OK if ok else Outcome.FAILED,
            now=now,
        )
        return Login(result, account if ok else None)
