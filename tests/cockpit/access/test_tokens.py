"""Wall screen tokens on a real state database: issue, verify, revoke, re-issue, what is stored and what is audited."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from cockpit.access import audit
from cockpit.access.accounts import AccessError, Permission, Scope, ScopeKind
from cockpit.access.state import open_state
from cockpit.access.tokens import ScreenTokens
from cockpit.settings import Settings
from warehouse.paths import Home

from .conftest import T0

ADMIN = "cli:ops"


def tokens_for(home: Home) -> ScreenTokens:
    """Tokens on a fresh connection (its own, like another gunicorn worker's)."""
    return ScreenTokens(open_state(home.state_db), Settings(home=home.root))


def _db_bytes(home: Home) -> bytes:
    return b"".join(p.read_bytes() for p in home.state.glob("cockpit.sqlite*"))


def _trail(home: Home) -> list[audit.Entry]:
    return list(reversed(audit.entries(open_state(home.state_db), limit=1000)))


def test_issue_verify_revoke_round_trip(home):
    tokens = tokens_for(home)
    issued, secret = tokens.issue("Hall-1", Scope.parse("community:C02,C01"), actor=ADMIN, now=T0)
    assert issued.active and issued.created_by == ADMIN and issued.last_used_at is None
    assert issued.scope == Scope(ScopeKind.COMMUNITY, ("C01", "C02"))

    # another worker checks the secret the wall brings
    seen = tokens_for(home).verify(secret, now=T0 + timedelta(minutes=5))
    assert seen is not None and seen.name == "Hall-1" and seen.scope == issued.scope
    assert tokens_for(home).find("hall-1").last_used_at.startswith("2026-10-08T09:05")  # names ignore case

    revoked = tokens_for(home).revoke("HALL-1", actor=ADMIN, now=T0 + timedelta(hours=1))
    assert not revoked.active and revoked.revoked_at.startswith("2026-10-08T10:00")
    assert tokens.verify(secret) is None
    assert [t.name for t in tokens.list()] == ["Hall-1"]  # the revoked row stays, for the trail


def test_unknown_and_malformed_secrets_are_refused_without_error(home):
    tokens = tokens_for(home)
    _, secret = tokens.issue("hall", Scope(ScopeKind.STREET), actor=ADMIN)
    for wrong in ("", secret[:-1], secret + "x", secret.upper(), "\ud800", "x" * 10_000, "' OR 1=1 --"):
        assert tokens.verify(wrong) is None, wrong
    assert tokens.verify(secret) is not None


def test_the_secret_is_stored_nowhere_only_its_sha256(home):
    tokens = tokens_for(home)
    secrets_ = [tokens.issue(f"wall{i}", Scope(ScopeKind.STREET), actor=ADMIN)[1] for i in range(3)]
    tokens.verify(secrets_[0], record_use=True, client="10.0.0.9")
    tokens.revoke("wall1", actor=ADMIN)
    tokens.verify(secrets_[1], record_use=True)  # a refused use is recorded too
    stored = _db_bytes(home)
    for secret in secrets_:
        assert len(secret) >= 43  # 32 random bytes, URL-safe base64
        assert secret.encode() not in stored
        assert hashlib.sha256(secret.encode()).hexdigest().encode() in stored
    assert len(set(secrets_)) == 3


def test_last_used_is_written_at_most_once_a_minute_and_a_plain_check_is_not_audited(home):
    tokens = tokens_for(home)
    _, secret = tokens.issue("hall", Scope(ScopeKind.STREET), actor=ADMIN, now=T0)
    entries_before = len(_trail(home))
    assert tokens.verify(secret, now=T0).last_used_at.startswith("2026-10-08T09:00:00")
    assert tokens.verify(secret, now=T0 + timedelta(seconds=59)).last_used_at.startswith("2026-10-08T09:00:00")
    assert tokens.verify(secret, now=T0 + timedelta(seconds=61)).last_used_at.startswith("2026-10-08T09:01:01")
    assert len(_trail(home)) == entries_before


def test_issue_revoke_and_use_are_audited_and_the_chain_verifies(home):
    tokens = tokens_for(home)
    _, secret = tokens.issue("hall", Scope.parse("grid:G7"), actor=ADMIN, now=T0)
    assert tokens.verify(secret, now=T0, client="10.1.2.3", record_use=True) is not None
    tokens.revoke("hall", actor=ADMIN, now=T0 + timedelta(hours=1))
    assert tokens.verify(secret, client="10.6.6.6", record_use=True) is None
    stranger = "not-a-token-anyone-issued"
    stranger_hash = hashlib.sha256(stranger.encode()).hexdigest()
    assert tokens.verify(stranger, client="10.7.7.7", record_use=True) is None

    got = [(e.actor, e.action, e.target, e.outcome, e.details) for e in _trail(home)]
    assert got == [
        (ADMIN, "token_change", "hall", "ok", {"change": "issue", "scope": "grid:G7"}),
        ("screen:hall", "token_use", "hall", "ok", {"client": "10.1.2.3"}),
        (ADMIN, "token_change", "hall", "ok", {"change": "revoke"}),
        ("anonymous", "token_use", "hall", "denied", {"client": "10.6.6.6", "reason": "revoked"}),
        (
            "anonymous",
            "token_use",
            "",
            "denied",
            {"client": "10.7.7.7", "reason": "unknown", "token_hash_prefix": stranger_hash[:6]},
        ),
    ]
    trail_text = json.dumps([e.detail for e in _trail(home)])
    assert secret not in trail_text and stranger not in trail_text
    assert audit.verify(open_state(home.state_db)).ok


def test_an_active_name_is_refused_and_a_revoked_one_is_issued_again_with_a_new_secret(home):
    tokens = tokens_for(home)
    _, first = tokens.issue("hall", Scope(ScopeKind.STREET), actor=ADMIN)
    with pytest.raises(AccessError) as caught:
        tokens.issue("HALL", Scope(ScopeKind.STREET), actor=ADMIN)
    assert "active" in str(caught.value) and "cockpit token revoke hall" in str(caught.value)

    tokens.revoke("hall", actor=ADMIN)
    again, second = tokens.issue("Hall", Scope.parse("community:C05"), actor="cli:other")
    assert second != first
    assert again.active and again.name == "Hall" and str(again.scope) == "community:C05"
    assert again.created_by == "cli:other" and again.last_used_at is None
    assert tokens.verify(second).name == "Hall"
    # the old secret stays dead, and a wall still using it is recorded under the token's name
    assert tokens.verify(first, client="10.0.0.1", record_use=True) is None
    last = _trail(home)[-1]
    assert (last.actor, last.target, last.outcome, last.details["reason"]) == ("anonymous", "Hall", "denied", "revoked")
    assert [e.details.get("change") for e in _trail(home)][:3] == ["issue", "revoke", "reissue"]
    assert len(tokens.list()) == 1


@pytest.mark.parametrize("name", ["", "a b", "-wall", "_wall", "wall/1", "w" * 41, "大厅?"])
def test_bad_names_are_one_line(home, name):
    with pytest.raises(AccessError) as caught:
        tokens_for(home).issue(name, Scope(ScopeKind.STREET), actor=ADMIN)
    assert "\n" not in str(caught.value)


def test_wall_names_may_be_chinese(home):
    tokens = tokens_for(home)
    issued, secret = tokens.issue("指挥大厅-1", Scope(ScopeKind.STREET), actor=ADMIN)
    assert tokens.verify(secret).name == "指挥大厅-1" == issued.name


def test_revoking_an_unknown_or_revoked_token_is_one_line(home):
    tokens = tokens_for(home)
    with pytest.raises(AccessError, match="no screen token named 'nowhere'"):
        tokens.revoke("nowhere", actor=ADMIN)
    tokens.issue("hall", Scope(ScopeKind.STREET), actor=ADMIN)
    tokens.revoke("hall", actor=ADMIN)
    with pytest.raises(AccessError, match="revoked already"):
        tokens.revoke("hall", actor=ADMIN)
    assert [e.details["change"] for e in _trail(home)] == ["issue", "revoke"]  # the refusals changed nothing


def test_scope_ids_are_checked_against_the_current_release(street_home, street_units):
    tokens = tokens_for(street_home)
    community, grid = street_units["community"][0], street_units["grid"][0]
    with pytest.raises(AccessError) as caught:
        tokens.issue("hall", Scope.parse(f"community:{community},C-404"), actor=ADMIN)
    assert "C-404" in str(caught.value) and "\n" not in str(caught.value)
    assert tokens.find("hall") is None and _trail(street_home) == []
    assert tokens.issue("hall", Scope.parse(f"community:{community}"), actor=ADMIN)[0].scope.unit_ids == (community,)
    assert tokens.issue("corner", Scope.parse(f"grid:{grid}"), actor=ADMIN)[0].scope.kind is ScopeKind.GRID


def test_a_screen_is_view_only_within_its_tokens_scope(home):
    issued, _ = tokens_for(home).issue("hall", Scope.parse("community:C01"), actor=ADMIN)
    principal = issued.principal()
    assert principal.name == "screen:hall" and principal.scope == Scope(ScopeKind.COMMUNITY, ("C01",))
    assert [p for p in Permission if principal.may(p)] == [Permission.VIEW]
