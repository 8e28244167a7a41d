"""The demo street's accounts: one per role, so that `make demo` opens with nothing to set up.

Only a home that `cockpit demo` / `cockpit up` filled with demo data gets them,
and only while it has no account at all: a real deployment never gets an account
it was not given. The passwords are random, printed once on the console and kept
in $COCKPIT_HOME/secret/demo-accounts.txt (owner-only) for the next login.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cockpit.access.accounts import Accounts, Permission, Scope, accounts
from cockpit.access.state import connect, transaction
from cockpit.settings import Settings

DEMO_ACTOR = "cockpit-demo"


@dataclass(frozen=True)
class DemoAccount:
    name: str
    role: str
    scope: str
    password: str


def demo_accounts_file(settings: Settings) -> Path:
    return settings.paths.secret / "demo-accounts.txt"


def _first_community(settings: Settings) -> str | None:
    from warehouse.releases import current_release, open_release

    release = current_release(settings.paths)
    if release is None:
        return None
    con = open_release(release)
    try:
        row = con.execute(
            "SELECT community_id FROM dim_community WHERE community_id <> 'unknown' ORDER BY community_id LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def ensure_demo_accounts(settings: Settings) -> list[DemoAccount] | None:
    """Make the demo accounts on a demo home that has none yet (and a release); None when nothing was made."""
    home = settings.paths
    if not home.demo_manifest.exists():
        return None
    conn = connect(home)
    if accounts(conn):
        return None
    community = _first_community(settings)
    if community is None:
        return None  # made after the first release, when a community can be named
    plan = [
        ("leader", "leader", "street", "街道领导（演示）", ()),
        ("analyst", "analyst", "street", "指挥中心（演示）", (Permission.PERSONAL,)),
        ("community", "community", f"community:{community}", "社区工作人员（演示）", ()),
        ("operator", "operator", "street", "运维（演示）", ()),
        ("admin", "admin", "street", "管理员（演示）", ()),
    ]
    made: list[DemoAccount] = []
    manager = Accounts(conn, settings)
    for name, role, scope, display_name, grants in plan:
        _, password = manager.create(name, role, actor=DEMO_ACTOR, scope=Scope.parse(scope), display_name=display_name)
        for permission in grants:
            manager.grant(name, permission, actor=DEMO_ACTOR)
        made.append(DemoAccount(name, role, scope, password))
    # Demo passwords are random and kept owner-only; asking to change them would only add typing to a demo.
    with transaction(conn):
        conn.execute(
            f"UPDATE users SET must_change_password = 0 WHERE name IN ({', '.join('?' * len(made))})",
            [each.name for each in made],
        )
    _write(demo_accounts_file(settings), made)
    return made


def _write(path: Path, made: list[DemoAccount]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Demo accounts of this demo street (random passwords; this file is readable by its owner only).",
        "# 演示账户：用户名 角色 范围 密码",
        *(f"{each.name}\t{each.role}\t{each.scope}\t{each.password}" for each in made),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    path.chmod(0o600)


def read_demo_accounts(settings: Settings) -> list[DemoAccount]:
    """The accounts demo-accounts.txt lists (for the smoke test and `cockpit up`'s reminder)."""
    path = demo_accounts_file(settings)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, role, scope, password = line.split("\t")
            out.append(DemoAccount(name, role, scope, password))
    return out
