"""What keeps a first visit light, checked in Chromium: Plotly is the cockpit's partial bundle, fetched when a
graph mounts (not a script tag every page waits for) and able to draw every trace the pages serve; Dash's resets
of components that have just appeared are dropped, and only those; AG Grid loads when a grid comes into view."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from cockpit.app import PLOTLY_BUNDLE, PLOTLY_URL
from cockpit.data import current_warehouse
from cockpit.metrics import compute
from cockpit.view import View
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_pages import BOARDS, run_page


def served_trace_types(app) -> set[str]:
    """Every trace type in the figures the board pages' callbacks answer with (the server's side of the check)."""
    client = DashClient(app)
    types = set()
    for board in BOARDS:
        for props in run_page(client, app, board).values():
            if isinstance(props, dict) and isinstance(props.get("figure"), dict):
                types |= {trace.get("type", "scatter") for trace in props["figure"].get("data", [])}
    return types


def test_plotly_is_the_partial_bundle_and_it_draws_every_trace_the_pages_serve(watched, app):
    page = watched.page
    page.goto(f"{watched.base_url}/grid")
    watched.settle()
    # No script tag: graphs fetch Plotly themselves, once one mounts.
    assert "plotly-cockpit" not in page.content()
    registered = set(page.evaluate("() => Object.keys(Plotly.PlotSchema.get().traces)"))
    served = served_trace_types(app)
    assert {"bar", "treemap", "choroplethmap"} <= served  # the pages' figures, not a list kept here
    assert served <= registered, served - registered
    assert "scattermap" in registered  # the wall's alarm points (its map is not a board page's)
    assert "scatter3d" not in registered and "sankey" not in registered  # partial: not Plotly's full bundle
    # The URL the graphs fetch Plotly from answers with the bundle tools/plotly-bundle built.
    answer = app.server.test_client().get(PLOTLY_URL)
    assert answer.status_code == 200 and answer.get_data() == PLOTLY_BUNDLE.read_bytes()
    assert watched.errors == []


def test_pages_start_on_the_browsers_own_built_ins_with_the_regenerator_runtime_dash_needs(watched):
    page = watched.page
    page.goto(f"{watched.base_url}/dispatch")
    watched.settle()
    assert page.evaluate("() => typeof regeneratorRuntime.mark") == "function"
    # Dash's @babel/polyfill (core-js 2) marks itself and replaces these with its own in today's Chromium.
    assert page.evaluate("() => window._babelPolyfill") is None
    for builtin in ("String.prototype.trim", "Number", "parseFloat", "Promise"):
        assert page.evaluate(f"() => Function.prototype.toString.call({builtin})").endswith("{ [native code] }")
    assert page.locator(".kpi-tile").count() > 2 and page.locator(".js-plotly-plot").count() > 0
    assert watched.errors == []


def test_only_resets_that_change_nothing_are_dropped(watched):
    page = watched.page
    page.goto(f"{watched.base_url}/dispatch")
    watched.settle()
    # One no-op reset per component that appeared: the page's tiles, lists and panels.
    assert page.evaluate("() => window.store.cockpitQuietResets") > 100
    outcome = page.evaluate(
        """() => {
            const store = window.store;
            const hashes = store.getState().layoutHashes;
            const kept = Object.keys(hashes)[0];  // a component a callback has updated: it has a hash
            const before = store.getState();
            const dropped = store.cockpitQuietResets;
            store.dispatch({type: 'RESET_COMPONENT_STATE', payload: {itempath: ['no', 'such', 'path']}});
            const untouched = store.getState() === before && store.cockpitQuietResets === dropped + 1;
            store.dispatch({type: 'RESET_COMPONENT_STATE', payload: {itempath: kept.split(',')}});
            return {kept, untouched, removed: !(kept in store.getState().layoutHashes)};
        }"""
    )
    assert outcome["kept"] and outcome["untouched"] and outcome["removed"], outcome


def test_the_record_grid_loads_when_it_comes_into_view_and_keeps_what_changed_meanwhile(watched):
    page = watched.page
    grid_requests: list[str] = []
    page.on("request", lambda request: grid_requests.append(request.url) if "dash_ag_grid" in request.url else None)
    page.goto(f"{watched.base_url}/dispatch")
    watched.settle()
    # Below the first screen, the record table is an empty box of the grid's size, and AG Grid is not loaded.
    waiting = page.locator(".records [data-lazy-grid]")
    assert waiting.count() == 1 and page.locator(".ag-root-wrapper").count() == 0
    assert waiting.bounding_box()["height"] >= 400  # the page does not jump when the grid arrives
    assert waiting.bounding_box()["y"] > page.viewport_size["height"]
    assert not any("whole=1" in url or "async-community" in url for url in grid_requests), grid_requests
    # The table's KPI changed before the grid was seen: the grid shows that KPI's rows once it loads.
    page.evaluate("() => window.scrollTo(0, 0)")
    page.locator('[data-kpi="open_tickets"]').click()
    page.wait_for_url(re.compile(r"kpi=open_tickets"))
    expect(page.locator(".records-title")).to_contain_text("在办工单")  # the panel is redrawn for the KPI
    page.locator(".records").scroll_into_view_if_needed()
    expect(page.locator(".records .ag-row").first).to_be_visible()
    assert any("whole=1" in url for url in grid_requests), grid_requests
    expect(page.locator(".records [data-lazy-grid]")).to_have_count(0)
    warehouse = current_warehouse()
    period = View.from_query({}, warehouse.info.data_through).period
    with warehouse.cursor() as cur:
        expected = int(compute(cur, "open_tickets", period)["value"].iloc[0])
    expect(page.locator(".records .ag-paging-row-summary-panel")).to_contain_text(f"of {expected:,}")
    assert watched.errors == []


def test_a_boards_charts_are_drawn_as_they_come_into_view(watched):
    page = watched.page
    page.goto(f"{watched.base_url}/dispatch")
    watched.settle()
    height = page.viewport_size["height"]
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('.lazy-chart')].map(e => ({
            top: e.getBoundingClientRect().top, height: e.getBoundingClientRect().height,
            drawn: Boolean(e.querySelector('.main-svg')), waiting: e.dataset.lazyChart === 'waiting'}))"""
    )
    near = [box for box in boxes if box["top"] < height]
    far = [box for box in boxes if box["top"] > height + 400]
    assert near and far, boxes  # the board has charts on the first screen and well below it
    assert all(box["drawn"] for box in near), near
    assert all(box["waiting"] and not box["drawn"] for box in far), far
    assert all(box["height"] >= 200 for box in far), far  # each keeps its figure's room: nothing jumps
    # Scrolled down a screen at a time to the bottom, every chart is drawn.
    bottom = page.evaluate("() => document.scrollingElement.scrollHeight")
    for top in range(0, bottom + height, height // 2):
        page.evaluate(f"() => window.scrollTo(0, {top})")
        page.wait_for_timeout(100)
    page.wait_for_function("() => !document.querySelector('[data-lazy-chart]')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lazy-chart')].every(e => e.querySelector('.main-svg'))"
    )
    assert watched.errors == []
