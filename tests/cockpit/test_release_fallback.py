"""A broken release: the app serves the newest kept release that opens, under a red banner naming the problem.

Each case breaks a home of two real releases (the older one good) the way an operator or a full disk
would, then drives the real app over HTTP: the layout (banner), an overview callback (numbers from the
fallback release) and the wall (banner, no error).
"""

from __future__ import annotations

import logging
import shutil

import pytest

from cockpit.data import current_warehouse
from tests.cockpit.dash_client import DashClient
from tests.cockpit.serving import publish_lake, serving
from tests.cockpit.test_wall import refresh
from tests.fixtures.accounts import signed_context
from tests.fixtures.lake import DATA_THROUGH, make_fixture_lake
from warehouse.paths import Home

OLDER, NEWER = "20261012T230000-aaaa", "20261013T230000-bbbb"


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("two-releases")).ensure()
    make_fixture_lake(home.lake)
    publish_lake(home, OLDER, DATA_THROUGH)
    publish_lake(home, NEWER, DATA_THROUGH)
    return home


def delete_current(home: Home) -> str:
    (home.releases / f"{NEWER}.duckdb").unlink()
    return f"CURRENT points at {NEWER}.duckdb, which is gone", OLDER


def garbage_in_pointer(home: Home) -> str:
    home.current_pointer.write_bytes(b"\x00\xff rm -rf / \n")
    return "CURRENT does not name a release file", NEWER  # both files are fine: the newest is served


def truncate_current(home: Home) -> str:
    path = home.releases / f"{NEWER}.duckdb"
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 3)
    return f"{NEWER}.duckdb is not a readable release", OLDER


def no_pointer(home: Home) -> str:
    home.current_pointer.unlink()
    return "CURRENT is missing", NEWER


@pytest.fixture
def broken(request, two_releases, tmp_path) -> tuple[Home, str, str]:
    """A copy of the two releases, broken by request.param: (home, the problem as said, the run id served)."""
    shutil.copytree(two_releases.root, tmp_path / "home")
    home = Home(tmp_path / "home")
    return home, *request.param(home)


def layout_text(client: DashClient) -> str:
    response = client.client.get("/_dash-layout")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    "broken",
    [delete_current, garbage_in_pointer, truncate_current, no_pointer],
    indirect=True,
    ids=["deleted", "garbage", "truncated", "no-pointer"],
)
def test_a_broken_current_release_is_served_from_the_newest_one_that_opens(app, broken, caplog):
    home, problem, served = broken
    with serving(home), caplog.at_level(logging.ERROR, logger="cockpit.data"):
        client = DashClient(app)
        assert current_warehouse().info.run_id == served
        text = layout_text(client)
        assert "release-banner" in text and problem in text and served in text
        assert any(problem in record.getMessage() for record in caplog.records), "the fallback is logged"

        from cockpit.pages import wall

        with signed_context(app):
            assert "wall-empty" not in str(wall.layout())
        answer = refresh(client)  # the wall's own refresh callback, over HTTP
        assert problem in answer["wall-banner"]["children"] and "hidden" not in answer["wall-banner"]["className"]
        assert answer["wall-release"]["data"] == served

        tickets = current_warehouse().metric("residents", _period())
        assert int(tickets["value"].iloc[0]) > 0, "numbers come from the fallback release"


def _period():
    from cockpit.metrics import Period

    return Period.parse("2026-10-01:2026-10-12", DATA_THROUGH)


def test_a_healthy_home_shows_no_banner(app, two_releases):
    with serving(two_releases):
        assert current_warehouse().info.run_id == NEWER
        assert "release-banner" not in layout_text(DashClient(app))


def test_with_no_release_that_opens_pages_say_so_in_one_line(app, two_releases, tmp_path):
    shutil.copytree(two_releases.root, tmp_path / "home")
    home = Home(tmp_path / "home")
    for release in home.releases.glob("*.duckdb"):
        release.write_bytes(b"not a database")
    with serving(home):
        client = DashClient(app)
        text = layout_text(client)
        assert "no usable warehouse release" in text and "cockpit warehouse doctor" in text
        from cockpit.pages import pipeline, wall

        with signed_context(app):
            assert "wall-empty" in str(wall.layout())
            assert "no usable warehouse release" in str(pipeline.layout())
