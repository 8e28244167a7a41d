"""A board's answer is kept with the release; the default views are computed ahead of the first reader.

Counted by wrapping the function that renders a board (a cache hit never calls it); what a warmed or cached
answer holds is compared with a rendering made with the cache empty.
"""

from __future__ import annotations

import threading
import time

from cockpit.access.principal import SYSTEM
from cockpit.components.board import REGISTERED, keep_warm, warm_views
from cockpit.data import current_warehouse
from tests.cockpit.dash_client import DashClient, by_type, find
from tests.cockpit.test_pages import BOARDS, render, run_page


def period_choices(app) -> list[str]:
    """The periods a reader can pick from a page's own period menu (a custom range aside)."""
    (menu,) = find(render(app, "dispatch"), by_type("filter", key="period"))
    return [option["value"] for option in menu.options if option["value"] != "custom"]


def test_a_boards_answer_is_rendered_once_per_view_and_release(app, renders):
    current_warehouse()._cache.clear()
    client = DashClient(app)
    first = run_page(client, app, "dispatch", {"period": "this_month"})
    again = run_page(client, app, "dispatch", {"period": "this_month"})
    assert renders == ["dispatch"] and again == first
    run_page(client, app, "dispatch", {"period": "this_year"})  # another view: another answer
    run_page(DashClient(app, language="en"), app, "dispatch", {"period": "this_month"})  # another language
    assert renders == ["dispatch"] * 3


def test_the_first_views_are_warmed_for_the_whole_street_and_answer_as_a_fresh_render(app, renders):
    assert sorted(REGISTERED) == sorted(BOARDS)  # every board page registered itself
    client = DashClient(app)
    periods = period_choices(app)
    current_warehouse()._cache.clear()
    fresh = {(name, period): run_page(client, app, name, {"period": period}) for name in BOARDS for period in periods}
    current_warehouse()._cache.clear()
    renders.clear()

    assert warm_views(list(REGISTERED.values()), [SYSTEM]) == len(BOARDS) * len(periods)
    assert sorted(renders) == sorted(BOARDS * len(periods))
    renders.clear()
    warmed = {(name, period): run_page(client, app, name, {"period": period}) for name in BOARDS for period in periods}
    assert renders == []  # every board's every period came from the cache
    assert warmed == fresh

    # A community reader's default view is theirs, never the street's warmed one.
    community = current_warehouse().dataset("communities")["community_id"].iloc[0]
    run_page(DashClient(app, name="cache_community", role="community", scope=f"community:{community}"), app, "grid")
    assert renders == ["grid"]


def test_keep_warm_warms_each_release_once_in_the_background(app, renders):
    current_warehouse()._cache.clear()
    stop = threading.Event()
    views = len(BOARDS) * len(period_choices(app))
    thread = keep_warm(app, every=0.05, stop=stop, readers=lambda home: [SYSTEM])
    try:
        deadline = time.monotonic() + 240
        while len(renders) < views and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # several more looks at the same release
        assert sorted(renders) == sorted(BOARDS * (views // len(BOARDS)))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    renders.clear()
    run_page(DashClient(app), app, "overview")
    assert renders == []
