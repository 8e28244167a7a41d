"""Accounts: roles as the issue's table, scopes checked against a real release, password policy, lockout, changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from cockpit.access import accounts as accounts_module
from cockpit.access import audit
from cockpit.access.accounts import ROLES, AccessError, LoginResult, PasswordPolicy, Scope

from .conftest import T0, accounts_for

GOOD = "Harbour-Lamp-42"


def test_roles_are_the_issues_table():
    # written out from the issue's table, not read from the code
    expected = {
        "leader": ("街道领导", {"view", "briefs"}),
        "analyst": ("指挥中心", {"view", "records", "export", "briefs"}),
        "community": ("社区", {"view", "records", "export"}),
        "operator": ("运维", {"pipeline"}),
        "admin": ("管理员", {"manage_users", "manage_tokens", "audit"}),
    }
    assert {name: (r.label, {p.value for p in r.permissions}) for name, r in ROLES.items()} == expected
    assert not ROLES["admin"].may(accounts_module.Permission.RECORDS)  # no citizen records unless also granted


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!pw", "at least 12 characters"),
        ("alllowercaseletters", "at least 3 of"),
        ("ALLUPPER12345", "at least 3 of"),  # two classes: upper, digit
        ("wangfang-Spring-2026", "user name"),
        ("WANGFANG2026!!xx", "user name"),  # the name in other case still counts
    ],
)
def test_the_policy_refuses_with_a_reason(password, reason):
    problem = PasswordPolicy().problem(password, "wangfang")
    assert problem is not None and reason in problem and "\n" not in problem


@pytest.mark.parametrize("password", [GOOD, "correct horse 7 battery", "Tall.Trees.Grow", "密码很长的句子Abc123"])
def test_the_policy_accepts(password):
    assert PasswordPolicy().problem(password, "wangfang") is None


def test_the_policy_is_configurable(home):
    strict = accounts_for(home, password_min_length=20, password_min_classes=4).policy
    assert "20 characters" in strict.problem(GOOD, "x")
    assert strict.problem("Harbour-Lamp-42-River", "x") is None
    assert strict.problem("harbour-lamp-42-river", "x") is not None  # no upper case: 3 of 4


def test_generated_passwords_pass_the_policy_and_differ():
    policy = PasswordPolicy()
    made = {policy.generate("li") for _ in range(20)}
    assert len(made) == 20 and all(policy.problem(p, "li") is None for p in made)


def test_hashes_are_salted_argon2_and_never_the_password(home):
    acc = accounts_for(home)
    acc.create("li", "leader", actor="t", password=GOOD)
    acc.create("wang", "leader", actor="t", password=GOOD)
    hashes = [r[0] for r in acc.conn.execute("SELECT password_hash FROM users")]
    assert all(h.startswith("$argon2id$") and GOOD not in h for h in hashes)
    assert hashes[0] != hashes[1]


def test_an_old_hash_is_redone_at_login(home):
    acc = accounts_for(home)
    acc.create("li", "leader", actor="t", password=GOOD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(GOOD)
    acc.conn.execute("UPDATE users SET password_hash = ?, must_change_password = 0", (weak,))
    assert acc.authenticate("li", GOOD, now=T0).result is LoginResult.OK
    stored = acc.conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)


@pytest.mark.parametrize("name", ["a", "1li", "li wang", "li;drop", "x" * 40, "李"])
def test_bad_user_names_are_refused(home, name):
    with pytest.raises(AccessError, match="user name"):
        accounts_for(home).create(name, "leader", actor="t")


def test_names_are_unique_ignoring_case(home):
    acc = accounts_for(home)
    acc.create("Zhang", "leader", actor="t")
    with pytest.raises(AccessError, match="exists already"):
        acc.create("zhang", "analyst", actor="t")
    assert acc.authenticate("ZHANG", "wrong-Password-1", now=T0).result is LoginResult.BAD_CREDENTIALS


def test_a_new_account_must_change_its_password_then_logs_in(home):
    acc = accounts_for(home)
    _, initial = acc.create("li", "analyst", actor="t")
    login = acc.authenticate("li", initial, now=T0)
    assert login.result is LoginResult.MUST_CHANGE and login.account.name == "li"
    with pytest.raises(AccessError, match="12 characters"):
        acc.change_password("li", initial, "short")
    with pytest.raises(AccessError, match="current password"):
        acc.change_password("li", "not-it-Really-9", GOOD)
    acc.change_password("li", initial, GOOD)
    assert acc.authenticate("li", GOOD, now=T0).result is LoginResult.OK
    assert acc.authenticate("li", initial, now=T0).result is LoginResult.BAD_CREDENTIALS


def _ready(acc, name="li", role="analyst"):
    _, initial = acc.create(name, role, actor="t")
    acc.change_password(name, initial, GOOD)


def test_lockout_after_five_failures_then_it_expires(home):
    acc = accounts_for(home)
    _ready(acc)
    for minute in range(5):
        assert acc.authenticate("li", "Wrong-guess-00", now=T0 + timedelta(minutes=minute)).result is (
            LoginResult.BAD_CREDENTIALS
        )
    # now even the right password is turned away, and another worker's connection sees the same lock
    assert acc.authenticate("li", GOOD, now=T0 + timedelta(minutes=5)).result is LoginResult.LOCKED
    other_worker = accounts_for(home)
    assert other_worker.authenticate("li", GOOD, now=T0 + timedelta(minutes=18)).result is LoginResult.LOCKED
    assert other_worker.authenticate("li", GOOD, now=T0 + timedelta(minutes=19, seconds=1)).result is LoginResult.OK
    # a success clears the count: four more failures do not lock
    for _ in range(4):
        acc.authenticate("li", "Wrong-guess-00", now=T0 + timedelta(minutes=20))
    assert acc.authenticate("li", GOOD, now=T0 + timedelta(minutes=20)).result is LoginResult.OK


def test_lockout_is_configurable(home):
    acc = accounts_for(home, lockout_attempts=2, lockout_minutes=60)
    _ready(acc)
    for _ in range(2):
        acc.authenticate("li", "Wrong-guess-00", now=T0)
    assert acc.authenticate("li", GOOD, now=T0 + timedelta(minutes=59)).result is LoginResult.LOCKED
    assert acc.authenticate("li", GOOD, now=T0 + timedelta(minutes=61)).result is LoginResult.OK


def test_an_unknown_user_gets_the_same_answers_as_a_known_one(home):
    acc = accounts_for(home)
    _ready(acc)
    known = [acc.authenticate("li", "Wrong-guess-00", now=T0).result for _ in range(6)]
    unknown = [acc.authenticate("ghost", "Wrong-guess-00", now=T0).result for _ in range(6)]
    assert known == unknown == [LoginResult.BAD_CREDENTIALS] * 5 + [LoginResult.LOCKED]


class RecordingHasher(PasswordHasher):
    """The real hasher, noting which stored hash each verify was against."""

    __slots__ = ("verified",)

    def __init__(self):
        super().__init__()
        self.verified = []

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verified.append(hash)
        return super().verify(hash, password)


def test_unknown_and_locked_users_are_checked_against_a_dummy_hash(home, monkeypatch):
    acc = accounts_for(home, lockout_attempts=1)
    _ready(acc)
    real = acc.conn.execute("SELECT password_hash FROM users").fetchone()[0]
    spy = RecordingHasher()
    monkeypatch.setattr(accounts_module, "hasher", spy)

    acc.authenticate("ghost", GOOD, now=T0)
    assert len(spy.verified) == 1 and spy.verified[0].startswith("$argon2id$") and spy.verified[0] != real

    acc.authenticate("li", "Wrong-guess-00", now=T0)  # locks li (one attempt allowed)
    spy.verified.clear()
    assert acc.authenticate("li", GOOD, now=T0).result is LoginResult.LOCKED
    assert len(spy.verified) == 1 and spy.verified[0] != real  # the real hash is not consulted while locked


def test_a_disabled_user_is_told_only_after_the_right_password(home):
    acc = accounts_for(home)
    _ready(acc)
    acc.disable("li", actor="t")
    assert acc.authenticate("li", "Wrong-guess-00", now=T0).result is LoginResult.BAD_CREDENTIALS
    login = acc.authenticate("li", GOOD, now=T0)
    assert login.result is LoginResult.DISABLED and login.account is None
    acc.enable("li", actor="t")
    assert acc.authenticate("li", GOOD, now=T0).result is LoginResult.OK


def test_reset_password_forces_a_change_and_lifts_a_lock(home):
    acc = accounts_for(home, lockout_attempts=1)
    _ready(acc)
    acc.authenticate("li", "Wrong-guess-00", now=T0)
    new = acc.reset_password("li", actor="cli:admin")
    assert acc.authenticate("li", new, now=T0).result is LoginResult.MUST_CHANGE
    assert acc.authenticate("li", GOOD, now=T0).result is LoginResult.BAD_CREDENTIALS  # the old one is gone


def test_logout_everywhere_role_and_scope_changes_move_the_session_epoch(home):
    acc = accounts_for(home)
    _ready(acc)
    epochs = [accounts_module.get(acc.conn, "li").session_epoch]
    acc.logout_everywhere("li", actor="t")
    epochs.append(accounts_module.get(acc.conn, "li").session_epoch)
    acc.set_role("li", "leader", actor="t")
    epochs.append(accounts_module.get(acc.conn, "li").session_epoch)
    assert epochs == sorted(set(epochs)) and len(epochs) == 3


def test_logins_and_changes_are_audited(home):
    acc = accounts_for(home)
    _ready(acc)
    acc.authenticate("li", GOOD, now=T0, client="10.0.0.8")
    acc.authenticate("li", "Wrong-guess-00", now=T0, client="10.0.0.8")
    acc.set_role("li", "leader", actor="cli:ops")
    kinds = [(e.actor, e.action, e.outcome) for e in reversed(audit.entries(acc.conn))]
    assert kinds == [
        ("t", "user_change", "ok"),  # add
        ("li", "user_change", "ok"),  # the user's own password change
        ("li", "login", "ok"),
        ("li", "login_failed", "failed"),
        ("cli:ops", "user_change", "ok"),
    ]
    assert audit.entries(acc.conn, action="login")[0].details["client"] == "10.0.0.8"
    assert audit.verify(acc.conn).ok


@pytest.mark.parametrize(
    ("role", "scope", "fragment"),
    [
        ("leader", "community:X", "street"),
        ("community", "street", "community or grid"),
        ("admin", "grid:G", "street"),
    ],
)
def test_a_scope_the_role_cannot_have_is_refused(home, role, scope, fragment):
    with pytest.raises(AccessError, match=fragment):
        accounts_for(home).create("li", role, actor="t", scope=Scope.parse(scope))


@pytest.mark.parametrize("text", ["", "district", "street:C01", "community:", "grid: , "])
def test_malformed_scopes_are_one_line(text):
    with pytest.raises(AccessError) as caught:
        Scope.parse(text)
    assert "\n" not in str(caught.value)


def test_scope_ids_are_checked_against_the_current_release(street_home, street_units):
    acc = accounts_for(street_home)
    two = street_units["community"][:2]
    account, _ = acc.create("li", "community", actor="t", scope=Scope.parse(f"community:{','.join(two)}"))
    assert account.scope.unit_ids == tuple(sorted(two))
    with pytest.raises(AccessError, match="NOPE-9") as caught:
        acc.set_scope("li", Scope.parse(f"community:{two[0]},NOPE-9"), actor="t")
    assert two[0] not in str(caught.value)  # names only the unknown id
    assert accounts_module.get(acc.conn, "li").scope.unit_ids == tuple(sorted(two))  # unchanged

    grid = street_units["grid"][0]
    assert acc.set_scope("li", Scope.parse(f"grid:{grid}"), actor="t").scope == Scope.parse(f"grid:{grid}")
    with pytest.raises(AccessError, match="unknown grid"):
        acc.set_scope("li", Scope.parse(f"grid:{two[0]}"), actor="t")  # a community is not a grid


def test_a_long_unknown_name_is_locked_like_any_other(home):
    acc = accounts_for(home)
    name = "x" * 100  # longer than any user name can be: still no different answer
    results = [acc.authenticate(name, "Wrong-guess-00", now=T0).result for _ in range(6)]
    assert results == [LoginResult.BAD_CREDENTIALS] * 5 + [LoginResult.LOCKED]
