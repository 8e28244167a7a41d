"""The demo's accounts: one per role on a demo home after its first release, printed once, kept owner-only;
never on a home that did not come from the demo; every one of them signs in with the password kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from cockpit.access.accounts import ROLES, Accounts, LoginResult, accounts
from cockpit.access.state import connect
from cockpit.settings import Settings
from warehouse.paths import Home


def _cockpit(home: Home, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COCKPIT_HOME": str(home.root), "COCKPIT_PII_SALT": "test-salt"}
    return subprocess.run([sys.executable, "-m", "cockpit.cli", *args], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory, demo_landing) -> Home:
    root = tmp_path_factory.mktemp("demo-accounts")
    shutil.copytree(demo_landing, root / "landing")
    return Home(root).ensure()


def test_the_first_pipeline_run_on_a_demo_home_makes_one_account_per_role_and_prints_them_once(demo_home):
    first = _cockpit(demo_home, "pipeline", "run")
    assert first.returncode == 0, first.stderr
    path = demo_home.secret / "demo-accounts.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    kept = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert sorted(role for _, role, _, _ in kept) == sorted(ROLES)
    for *_, password in kept:
        assert password in first.stdout  # printed once, on the console that made them …
    again = _cockpit(demo_home, "pipeline", "run")
    assert again.returncode == 0
    assert not any(password in again.stdout for *_, password in kept)  # … and never again
    assert str(path) in again.stdout
    conn = connect(demo_home)
    made = {account.name: account for account in accounts(conn)}
    assert set(made) == {name for name, *_ in kept}
    manager = Accounts(conn, Settings(home=demo_home.root))
    for name, role, scope, password in kept:
        assert made[name].role.name == role and str(made[name].scope) == scope
        assert manager.authenticate(name, password).result is LoginResult.OK  # no forced change for a demo
    community = next(account for account in made.values() if account.role.name == "community")
    assert community.scope.unit_ids and community.scope.kind.value == "community"


def test_a_home_that_did_not_come_from_the_demo_never_gets_an_account(tmp_path, demo_landing):
    shutil.copytree(demo_landing, tmp_path / "landing")
    (tmp_path / "landing" / "_demo_manifest.json").unlink()  # the same files, delivered by someone else
    home = Home(tmp_path).ensure()
    done = _cockpit(home, "pipeline", "run")
    assert done.returncode == 0, done.stderr
    assert accounts(connect(home)) == []
    assert not (home.secret / "demo-accounts.txt").exists()
    assert "demo" not in done.stdout.lower()
