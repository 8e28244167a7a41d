"""`cockpit user …` and `cockpit audit …` through click's CliRunner on real homes."""

from __future__ import annotations

import getpass
import re
import sqlite3

from click.testing import CliRunner

from cockpit.access.accounts import LoginResult
from cockpit.access.state import open_state
from cockpit.access.tokens import ScreenTokens
from cockpit.cli import main
from cockpit.settings import Settings
from warehouse.paths import Home

from .conftest import accounts_for

PRINTED_PASSWORD = re.compile(r"password for \S+ \(shown once[^)]*\): (\S+)")


def cockpit(home: Home, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), env={"COCKPIT_HOME": str(home.root)}, input=stdin)


def _db_bytes(home: Home) -> bytes:
    return b"".join(p.read_bytes() for p in home.state.glob("cockpit.sqlite*"))


def test_the_first_admin_is_made_from_the_command_line_and_its_password_shown_once(home):
    assert not home.state_db.exists()
    done = cockpit(home, "user", "add", "admin", "--role", "admin")
    assert done.exit_code == 0, done.output
    passwords = PRINTED_PASSWORD.findall(done.stdout)
    assert len(passwords) == 1
    password = passwords[0]
    assert done.stdout.count(password) == 1
    assert password.encode() not in _db_bytes(home)
    assert accounts_for(home).authenticate("admin", password).result is LoginResult.MUST_CHANGE


def test_user_list_shows_roles_and_scopes_and_no_hashes(home):
    cockpit(home, "user", "add", "li", "--role", "leader", "--display-name", "李明")
    cockpit(home, "user", "add", "wang", "--role", "community", "--scope", "community:C01,C02")
    done = cockpit(home, "user", "list")
    assert done.exit_code == 0
    assert "李明" in done.stdout and "community:C01,C02" in done.stdout and "社区" in done.stdout
    assert "argon2" not in done.stdout and "$" not in done.stdout


def test_a_password_from_stdin_is_checked_and_never_printed(home):
    weak = cockpit(home, "user", "add", "li", "--role", "leader", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 1 and weak.stderr.count("\n") == 1 and "12 characters" in weak.stderr
    good = "Quiet-River-2026"
    done = cockpit(home, "user", "add", "li", "--role", "leader", "--password-stdin", stdin=good + "\n")
    assert done.exit_code == 0 and good not in done.output
    assert good.encode() not in _db_bytes(home)
    assert accounts_for(home).authenticate("li", good).result is LoginResult.MUST_CHANGE


def test_role_scope_disable_enable_and_reset(home):
    cockpit(home, "user", "add", "li", "--role", "analyst")
    assert "leader" in cockpit(home, "user", "set-role", "li", "leader").stdout
    refused = cockpit(home, "user", "set-scope", "li", "community:C01")
    assert refused.exit_code == 1 and "street" in refused.stderr and refused.stderr.count("\n") == 1
    assert cockpit(home, "user", "set-role", "li", "analyst").exit_code == 0
    assert "community:C01" in cockpit(home, "user", "set-scope", "li", "community:C01").stdout

    assert cockpit(home, "user", "disable", "li").exit_code == 0
    assert "disabled" in cockpit(home, "user", "list").stdout
    assert cockpit(home, "user", "enable", "li").exit_code == 0

    reset = cockpit(home, "user", "reset-password", "li")
    (new,) = PRINTED_PASSWORD.findall(reset.stdout)
    assert accounts_for(home).authenticate("li", new).result is LoginResult.MUST_CHANGE


def test_mistakes_are_one_line(home):
    for args in (
        ("user", "set-role", "nobody", "leader"),
        ("user", "add", "bad name", "--role", "leader"),
        ("user", "disable", "nobody"),
    ):
        done = cockpit(home, *args)
        assert done.exit_code == 1 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, args
    cockpit(home, "user", "add", "li", "--role", "leader")
    twice = cockpit(home, "user", "add", "LI", "--role", "leader")
    assert twice.exit_code == 1 and "exists already" in twice.stderr
    assert cockpit(home, "user", "add", "x1", "--role", "boss").exit_code == 2  # click names the choices


def test_unknown_scope_ids_are_refused_against_the_current_release(street_home, street_units):
    known = street_units["community"][0]
    done = cockpit(street_home, "user", "add", "wang", "--role", "community", "--scope", f"community:{known},Z-404")
    assert done.exit_code == 1 and "Z-404" in done.stderr and done.stderr.count("\n") == 1
    ok = cockpit(street_home, "user", "add", "wang", "--role", "community", "--scope", f"community:{known}")
    assert ok.exit_code == 0, ok.output


def test_every_change_is_audited_with_the_os_user_as_actor(home):
    cockpit(home, "user", "add", "li", "--role", "analyst")
    cockpit(home, "user", "set-scope", "li", "community:C07")
    cockpit(home, "user", "disable", "li")
    done = cockpit(home, "audit", "list", "--action", "user_change")
    assert done.exit_code == 0
    assert done.stdout.count(f"cli:{getpass.getuser()}") == 3
    assert "C07" in done.stdout
    only_li = cockpit(home, "audit", "list", "--user", "nobody")
    assert "user_change" not in only_li.stdout


def test_audit_verify_passes_then_fails_on_an_edited_entry(home):
    cockpit(home, "user", "add", "li", "--role", "leader")
    cockpit(home, "user", "add", "wang", "--role", "leader")
    done = cockpit(home, "audit", "verify")
    assert done.exit_code == 0 and "2 entries" in done.stdout

    con = sqlite3.connect(home.state_db)
    con.execute("DROP TRIGGER audit_append_only")
    con.execute("UPDATE audit SET target = 'someone-else' WHERE seq = 1")
    con.commit()
    con.close()
    broken = cockpit(home, "audit", "verify")
    assert broken.exit_code == 1 and "seq 1" in broken.stderr and broken.stderr.count("\n") == 1


def test_audit_prune_refuses_less_than_six_months(home):
    cockpit(home, "user", "add", "li", "--role", "leader")
    done = cockpit(home, "audit", "prune", "--older-than", "30")
    assert done.exit_code == 1 and "180" in done.stderr
    kept = cockpit(home, "audit", "prune")
    assert kept.exit_code == 0 and "removed 0" in kept.stdout
    assert cockpit(home, "audit", "verify").exit_code == 0


def test_a_retention_setting_under_six_months_is_one_line(home):
    done = CliRunner().invoke(
        main, ["audit", "list"], env={"COCKPIT_HOME": str(home.root), "COCKPIT_AUDIT_RETENTION_DAYS": "90"}
    )
    assert done.exit_code == 1 and "six months" in done.stderr and done.stderr.count("\n") == 1


def test_audit_list_filters_by_day(home):
    cockpit(home, "user", "add", "li", "--role", "leader")
    today = cockpit(home, "audit", "list", "--since", "2000-01-01", "--action", "user_change")
    assert today.exit_code == 0 and "li" in today.stdout
    later = cockpit(home, "audit", "list", "--since", "2999-01-01")
    assert later.exit_code == 0 and "user_change" not in later.stdout
    bad = cockpit(home, "audit", "list", "--since", "yesterday")
    assert bad.exit_code == 2 and "yesterday" in bad.stderr


ISSUED = re.compile(r"/wall\?token=([A-Za-z0-9_-]+)")


def test_a_screen_token_is_printed_once_as_a_wall_url_and_works(home):
    done = cockpit(home, "token", "add", "hall", "--scope", "community:C01,C02")
    assert done.exit_code == 0, done.output
    (secret,) = ISSUED.findall(done.stdout)
    assert done.stdout.count(secret) == 1 and "shown once" in done.stdout
    assert secret.encode() not in _db_bytes(home)
    token = ScreenTokens(open_state(home.state_db), Settings(home=home.root)).verify(secret)
    assert token is not None and str(token.scope) == "community:C01,C02"

    listed = cockpit(home, "token", "list")
    assert listed.exit_code == 0 and secret not in listed.stdout
    assert "hall" in listed.stdout and "community:C01,C02" in listed.stdout and "active" in listed.stdout

    assert cockpit(home, "token", "revoke", "hall").exit_code == 0
    assert "revoked" in cockpit(home, "token", "list").stdout
    assert ScreenTokens(open_state(home.state_db), Settings(home=home.root)).verify(secret) is None
    actions = cockpit(home, "audit", "list", "--action", "token_change").stdout
    assert actions.count(f"cli:{getpass.getuser()}") == 2


def test_token_mistakes_are_one_line(home):
    cockpit(home, "token", "add", "hall", "--scope", "street")
    for args in (
        ("token", "revoke", "nowhere"),
        ("token", "add", "hall", "--scope", "street"),
        ("token", "add", "a b", "--scope", "street"),
    ):
        done = cockpit(home, *args)
        assert done.exit_code == 1 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, args
    # a malformed scope is a usage error, named on one line like the user commands' scopes
    for scope in ("town", "community:", "street:C01"):
        bad = cockpit(home, "token", "add", "corner", "--scope", scope)
        assert bad.exit_code == 2 and sum(line.startswith("Error:") for line in bad.stderr.splitlines()) == 1, scope
    missing = cockpit(home, "token", "add", "corner")
    assert missing.exit_code == 2 and "--scope" in missing.stderr
    assert "corner" not in cockpit(home, "token", "list").stdout


def test_unknown_token_scope_ids_are_refused(street_home, street_units):
    known = street_units["grid"][0]
    done = cockpit(street_home, "token", "add", "hall", "--scope", f"grid:{known},G-404")
    assert done.exit_code == 1 and "G-404" in done.stderr and done.stderr.count("\n") == 1
    assert cockpit(street_home, "token", "add", "hall", "--scope", f"grid:{known}").exit_code == 0


def test_user_grant_and_revoke_grant_show_in_user_list(home):
    cockpit(home, "user", "add", "root1", "--role", "admin")
    done = cockpit(home, "user", "grant", "root1", "records")
    assert done.exit_code == 0, done.output
    assert accounts_for(home).conn.execute("SELECT permission FROM user_grants").fetchall()[0][0] == "records"
    assert "records" in cockpit(home, "user", "list").stdout
    assert cockpit(home, "user", "revoke-grant", "root1", "records").exit_code == 0
    assert "records" not in cockpit(home, "user", "list").stdout

    for args in (("user", "grant", "nobody", "records"), ("user", "revoke-grant", "root1", "records")):
        refused = cockpit(home, *args)
        assert refused.exit_code == 1 and refused.stderr.count("\n") == 1, args
    assert cockpit(home, "user", "grant", "root1", "fly").exit_code == 2  # click names the choices
