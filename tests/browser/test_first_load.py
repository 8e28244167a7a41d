"""What keeps a first visit light, checked in Chromium: Plotly is one of the cockpit's partial bundles, the charts'
or, on a page that draws a map, the charts' and the SVG maps' (MapLibre's only over configured tiles), run as the
page starts (not a script tag every page waits for) and able to draw every trace its page serves; a page reached
without a reload that needs a map gets the map bundle; Dash's resets of components that have just appeared are
dropped, and only those; AG Grid loads when a grid comes into view."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cockpit.app import (
    PLOTLY_BUNDLE,
    PLOTLY_GEO_BUNDLE,
    PLOTLY_GEO_URL,
    PLOTLY_MAPS_BUNDLE,
    PLOTLY_MAPS_URL,
    PLOTLY_URL,
)
from cockpit.data import current_warehouse
from cockpit.metrics import compute
from cockpit.view import View
from tests.browser.test_formats import ZH_CN_TICKS
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_pages import BOARDS, board, run_page

# Plotly's own list of the trace types it can draw (not the bundle's list of itself).
REGISTERED = "() => Object.keys(Plotly.PlotSchema.get().traces)"
# Map trace types, in plotly.js's documentation: drawn in SVG by d3-geo, and drawn by MapLibre over tiles.
SVG_MAPS = {"choropleth", "scattergeo"}
TILE_MAPS = {"choroplethmap", "scattermap"}
DRAWN_MAPS = "() => document.querySelectorAll('.js-plotly-plot .choroplethlocation').length"


def served_trace_types(app, name: str) -> set[str]:
    """Every trace type in the figures a board page's callbacks answer with (the server's side of the check)."""
    client = DashClient(app)
    types = set()
    for props in run_page(client, app, name).values():
        if isinstance(props, dict) and isinstance(props.get("figure"), dict):
            types |= {trace.get("type", "scatter") for trace in props["figure"].get("data", [])}
    return types


@pytest.mark.parametrize("name", BOARDS)
def test_each_page_loads_the_partial_plotly_that_draws_every_trace_it_serves_and_no_more(watched, app, name):
    page = watched.page
    plotly_requests: list[str] = []
    page.on("request", lambda request: plotly_requests.append(request.url) if "plotly" in request.url else None)
    page.goto(f"{watched.base_url}{board(name).path}")
    watched.settle()
    page.wait_for_function("() => window.Plotly")
    # No script tag: graphs fetch Plotly themselves, once one mounts.
    assert "plotly-cockpit" not in page.content()
    registered = set(page.evaluate(REGISTERED))
    served = served_trace_types(app, name)
    assert served and served <= registered, served - registered
    assert "scatter3d" not in registered and "sankey" not in registered  # partial: not Plotly's full bundle
    fetched = [url for url in plotly_requests if "/plotly" in url and "locale" not in url]
    assert not served & TILE_MAPS and not registered & TILE_MAPS  # no MapLibre: no tiles are configured
    if served & SVG_MAPS:  # the overview's, the enforcement and grid pages' maps
        assert SVG_MAPS <= registered
        assert [url.removeprefix(watched.base_url) for url in fetched] == [PLOTLY_GEO_URL]
        page.wait_for_function(f"() => ({DRAWN_MAPS})() > 0")
    else:
        assert not registered & SVG_MAPS
        assert [url.removeprefix(watched.base_url) for url in fetched] == [PLOTLY_URL]
    assert watched.errors == [] and watched.outside == []  # no world outline from Plotly's CDN either


def test_the_wall_loads_the_map_bundle_for_its_alarm_points(watched):
    page = watched.page
    page.goto(f"{watched.base_url}/wall?board=overview&alarm_hours=1&rotate=600")
    page.wait_for_function("() => window.Plotly")
    assert SVG_MAPS <= set(page.evaluate(REGISTERED))
    assert watched.errors == []


def test_a_map_page_reached_without_a_reload_loads_the_maps_in_chinese(watched, app):
    page = watched.page
    page.goto(f"{watched.base_url}/party")
    watched.settle()
    assert not set(page.evaluate(REGISTERED)) & SVG_MAPS
    page.evaluate("() => { window.notReloaded = true; }")
    page.locator('a[href="/grid"]').first.click()
    page.wait_for_url(re.compile(r"/grid"))
    watched.settle()
    page.wait_for_function(f"() => ({DRAWN_MAPS})() > 0", timeout=60_000)  # the map's polygons
    assert page.evaluate("() => window.notReloaded") is True
    assert SVG_MAPS <= set(page.evaluate(REGISTERED))
    # The bundle loaded over the first one has the zh-CN locale too.
    assert "周一 十一月" in page.evaluate(ZH_CN_TICKS)
    assert watched.errors == []


def test_the_plotly_urls_answer_with_the_bundles_tools_plotly_bundle_built(app):
    client = app.server.test_client()
    bundles = ((PLOTLY_URL, PLOTLY_BUNDLE), (PLOTLY_GEO_URL, PLOTLY_GEO_BUNDLE), (PLOTLY_MAPS_URL, PLOTLY_MAPS_BUNDLE))
    for url, bundle in bundles:
        answer = client.get(url)
        assert answer.status_code == 200 and answer.get_data() == bundle.read_bytes()
    charts, geo, maps = (bundle.stat().st_size for _, bundle in bundles)
    assert charts < geo < maps - geo  # the SVG maps add a little, MapLibre more than the rest together


def test_the_tile_map_bundle_draws_the_svg_maps_and_maplibre_maps(watched):
    page = watched.page
    page.goto(f"{watched.base_url}/party")
    watched.settle()
    page.add_script_tag(url=PLOTLY_MAPS_URL)
    assert SVG_MAPS | TILE_MAPS <= set(page.evaluate(REGISTERED))
    drawn = page.evaluate(
        """async () => {
            const box = document.createElement('div');
            box.style.width = '400px';
            document.body.appendChild(box);
            await Plotly.newPlot(box, [{type: 'scattermap', lon: [120.7], lat: [31.3]}],
                                 {map: {style: 'white-bg', center: {lon: 120.7, lat: 31.3}, zoom: 12}});
            return Boolean(box.querySelector('.maplibregl-canvas'));
        }"""
    )
    assert drawn


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
