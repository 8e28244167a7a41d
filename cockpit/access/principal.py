"""Who is asking: the principal behind a request (a signed-in user, a wall screen, or the command line).

Everything that decides what a request may see asks `current_principal()`; it is
decided on the server from the session cookie (or a screen token), never from
what the browser sends. Code run outside a request (the command line, a nightly
job) acts as SYSTEM unless it names a user (`cockpit brief --as USER`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

import flask

from cockpit.access.accounts import Account, Permission, Role, Scope, ScopeKind


class PrincipalKind(StrEnum):
    USER = "user"
    SCREEN = "screen"  # a wall screen signed in by its token: view only, its own scope
    SYSTEM = "system"  # the command line and scheduled jobs


class Unauthenticated(RuntimeError):
    """A request reached code that needs a principal without one (the gate answers 401 before this)."""


@dataclass(frozen=True)
class Principal:
    name: str
    display_name: str
    kind: PrincipalKind
    permissions: frozenset[Permission]
    scope: Scope
    role: Role | None = None
    session: str | None = None  # the session's id hash (users) or the token's name (screens)
    must_change_password: bool = False  # signed in with an initial password: nothing but the change is open

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def label(self) -> str:
        """How the principal is named on watermarks and in the audit trail's prose: 显示名 (name)."""
        if self.display_name and self.display_name != self.name:
            return f"{self.display_name} ({self.name})"
        return self.name

    @property
    def street_wide(self) -> bool:
        return self.scope.kind is ScopeKind.STREET

    @classmethod
    def for_account(cls, account: Account, grants: frozenset[Permission] = frozenset(), session: str | None = None):
        return cls(
            name=account.name,
            display_name=account.display_name,
            kind=PrincipalKind.USER,
            permissions=account.role.permissions | grants,
            scope=account.scope,
            role=account.role,
            session=session,
            must_change_password=account.must_change_password,
        )

    @classmethod
    def for_screen(cls, name: str, scope: Scope) -> Principal:
        return cls(
            name=f"screen:{name}",
            display_name=name,
            kind=PrincipalKind.SCREEN,
            permissions=frozenset({Permission.VIEW}),
            scope=scope,
            session=name,
        )


# The command line and scheduled jobs: the whole street, every permission. Only code the operator runs gets it.
SYSTEM = Principal(
    name="system",
    display_name="system",
    kind=PrincipalKind.SYSTEM,
    permissions=frozenset(Permission),
    scope=Scope(ScopeKind.STREET),
)


# Work done outside a request on someone's behalf (a brief job's thread, `cockpit brief --as USER`) names its
# principal here; a context variable, so it never leaks to another thread (threads start with an empty context).
_acting: ContextVar[Principal | None] = ContextVar("cockpit_acting_principal", default=None)


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Outside a request, run the block as `principal`: `current_principal()` (and so the scope) is theirs."""
    token = _acting.set(principal)
    try:
        yield principal
    finally:
        _acting.reset(token)


def current_principal() -> Principal:
    """The principal of this request (set by the app's sign-in gate), or outside any request the one
    `acting_as` names, else SYSTEM.

    Inside a request with no principal it raises Unauthenticated: the gate answers such requests
    with 401 before any page code runs, so reaching this is a bug, and it fails closed.
    """
    if not flask.has_request_context():
        return _acting.get() or SYSTEM
    principal = flask.g.get("principal")
    if principal is None:
        resolve = flask.current_app.config.get("COCKPIT_RESOLVE_PRINCIPAL")
        principal = resolve() if resolve is not None else None
        if principal is None:
            raise Unauthenticated("no signed-in user for this request")
        flask.g.principal = principal
    return principal
