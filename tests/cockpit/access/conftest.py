"""Fixtures for accounts and the audit trail: a writable home, with or without a real warehouse release."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from cockpit.access.accounts import Accounts
from cockpit.access.state import open_state
from cockpit.settings import Settings
from warehouse.paths import Home

T0 = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def home(tmp_path) -> Home:
    """An empty private home (no release: scope ids are not checked)."""
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def street_home(tmp_path, loaded_demo) -> Home:
    """A writable home holding a copy of the demo street's published release (the shared one stays read-only)."""
    home = Home(tmp_path / "street").ensure()
    shutil.copytree(loaded_demo.home.warehouse, home.warehouse, dirs_exist_ok=True)
    return home


@pytest.fixture
def street_units(loaded_demo) -> dict[str, list[str]]:
    """Community ids and micro-grid ids read straight from the release file."""
    con = duckdb.connect(str(loaded_demo.release), read_only=True)
    try:
        communities = [r[0] for r in con.execute("SELECT community_id FROM dim_community ORDER BY 1").fetchall()]
        grids = [r[0] for r in con.execute("SELECT unit_id FROM dim_grid WHERE level = 'micro' ORDER BY 1").fetchall()]
    finally:
        con.close()
    return {"community": communities, "grid": grids}


def accounts_for(home: Home, **settings) -> Accounts:
    """Accounts on a fresh connection (its own, like another worker's) with the given settings."""
    return Accounts(open_state(home.state_db), Settings(home=home.root, **settings))
