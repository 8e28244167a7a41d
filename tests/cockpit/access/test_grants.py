"""Per-user grants: a permission beyond the role's, given and taken back, audited, ending the user's sessions."""

from __future__ import annotations

import pytest

from cockpit.access import accounts as accounts_module
from cockpit.access import audit
from cockpit.access.accounts import AccessError, Permission
from cockpit.access.principal import Principal

from .conftest import T0, accounts_for

ADMIN = "cli:ops"


def test_an_admin_sees_records_only_once_granted_and_no_longer_once_revoked(home):
    accounts = accounts_for(home)
    accounts.create("root1", "admin", actor=ADMIN)
    before = accounts_module.get(accounts.conn, "root1")
    assert not Principal.for_account(before, before.grants).may(Permission.RECORDS)

    granted = accounts.grant("root1", Permission.RECORDS, actor=ADMIN, now=T0)
    assert granted.grants == {Permission.RECORDS}
    assert granted.may(Permission.RECORDS) and granted.may(Permission.AUDIT)  # the role's stay
    assert Principal.for_account(granted, granted.grants).may(Permission.RECORDS)
    # another worker reads the same grant
    assert accounts_module.get(accounts_for(home).conn, "ROOT1").grants == {Permission.RECORDS}

    taken = accounts.revoke_grant("root1", "records", actor=ADMIN, now=T0)
    assert taken.grants == frozenset() and not Principal.for_account(taken, taken.grants).may(Permission.RECORDS)


def test_grants_are_audited_and_end_the_users_sessions(home):
    accounts = accounts_for(home)
    accounts.create("dang", "analyst", actor=ADMIN)
    epoch = accounts_module.get(accounts.conn, "dang").session_epoch
    after_grant = accounts.grant("dang", "personal", actor=ADMIN).session_epoch
    after_revoke = accounts.revoke_grant("dang", "personal", actor="cli:other").session_epoch
    assert epoch < after_grant < after_revoke

    changes = [
        (e.actor, e.target, e.details)
        for e in reversed(audit.entries(accounts.conn, action=audit.Action.USER_CHANGE))
        if e.details["change"] != "add"
    ]
    assert changes == [
        (ADMIN, "dang", {"change": "grant", "permission": "personal"}),
        ("cli:other", "dang", {"change": "revoke_grant", "permission": "personal"}),
    ]
    assert audit.verify(accounts.conn).ok


def test_several_grants_add_up_and_are_listed(home):
    accounts = accounts_for(home)
    accounts.create("li", "leader", actor=ADMIN)
    accounts.grant("li", "export", actor=ADMIN)
    accounts.grant("li", "personal", actor=ADMIN)
    (li,) = accounts_module.accounts(accounts.conn)
    assert li.grants == {Permission.EXPORT, Permission.PERSONAL}
    assert {p.value for p in li.permissions} == {"view", "briefs", "export", "personal"}


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda a: a.grant("li", "view", actor=ADMIN), "includes view already"),
        (lambda a: a.grant("li", "export", actor=ADMIN), "granted export already"),
        (lambda a: a.grant("li", "superuser", actor=ADMIN), "unknown permission 'superuser'"),
        (lambda a: a.grant("nobody", "export", actor=ADMIN), "no user named 'nobody'"),
        (lambda a: a.revoke_grant("li", "personal", actor=ADMIN), "has no grant of personal"),
        (lambda a: a.revoke_grant("li", "briefs", actor=ADMIN), "change the role instead"),
    ],
)
def test_grant_mistakes_are_one_line_and_change_nothing(home, call, reason):
    accounts = accounts_for(home)
    accounts.create("li", "leader", actor=ADMIN)
    accounts.grant("li", "export", actor=ADMIN)
    entries = len(audit.entries(accounts.conn))
    with pytest.raises(AccessError) as caught:
        call(accounts)
    assert reason in str(caught.value) and "\n" not in str(caught.value)
    assert accounts_module.get(accounts.conn, "li").grants == {Permission.EXPORT}
    assert len(audit.entries(accounts.conn)) == entries


def test_a_grant_this_version_does_not_know_grants_nothing(home):
    accounts = accounts_for(home)
    account, _ = accounts.create("li", "leader", actor=ADMIN)
    accounts.conn.execute(
        "INSERT INTO user_grants (user_id, permission, granted_by, granted_at) VALUES (?, 'fly', 'x', 'x')",
        (account.id,),
    )
    assert accounts_module.get(accounts.conn, "li").grants == frozenset()
