"""Signing in and out in headless Chromium: the login form, the watermark, a scoped user's map, logout."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from datetime import date

import duckdb
from playwright.sync_api import expect

from tests.fixtures.accounts import TEST_PASSWORD, ensure_user

COMMUNITY_USER = "probe_browser"


def svg_text(css_url: str) -> str:
    """The text of an SVG given as a CSS url("data:image/svg+xml;base64,…")."""
    encoded = re.search(r"base64,([A-Za-z0-9+/=]+)", css_url).group(1)
    root = ET.fromstring(base64.b64decode(encoded))
    return "".join(root.find("{http://www.w3.org/2000/svg}text").itertext())


def community_ids(loaded_demo) -> tuple[str, set[str]]:
    """The community with the most tickets, and every community id, read from the release file."""
    con = duckdb.connect(str(loaded_demo.release), read_only=True)
    try:
        (busiest,) = con.execute(
            "SELECT community_id FROM fct_ticket WHERE community_id IN (SELECT community_id FROM dim_community) "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
        everyone = {row[0] for row in con.execute("SELECT community_id FROM dim_community").fetchall()}
    finally:
        con.close()
    return busiest, everyone


def test_sign_in_see_the_watermark_and_only_ones_own_map_then_sign_out(app, browser, base_url, loaded_demo):
    mine, everyone = community_ids(loaded_demo)
    home = app.server.config["COCKPIT_GATE"].home
    ensure_user(home, COMMUNITY_USER, "community", f"community:{mine}")
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # Without a cookie: the login form, remembering where we were going.
        page.goto(f"{base_url}/grid")
        expect(page).to_have_url(re.compile(r"/login\?next=/grid"))
        expect(page.locator("#login-submit")).to_be_visible()

        # A wrong password keeps us there, with the one message for every failure.
        page.fill("#username", COMMUNITY_USER)
        page.fill("#password", "Not-the-password-1")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_be_visible()

        page.fill("#username", COMMUNITY_USER)
        page.fill("#password", TEST_PASSWORD)
        page.click("#login-submit")
        expect(page).to_have_url(re.compile(r"/grid$"))

        # The watermark names the reader and today's date.
        watermark = page.locator("#watermark")
        expected = f"{COMMUNITY_USER} {date.today():%Y-%m-%d}"
        expect(watermark).to_have_attribute("data-text", expected)
        # What the screen shows is the mask's SVG tile: read it back from the computed style and parse it.
        mask = watermark.evaluate("e => getComputedStyle(e).webkitMaskImage || getComputedStyle(e).maskImage")
        assert svg_text(mask) == expected
        box = watermark.bounding_box()
        assert box["width"] >= 1600 and box["height"] >= 1000, box  # it covers the whole viewport
        expect(page.locator("#user-name")).to_contain_text(COMMUNITY_USER)

        # The map draws the reader's community and no other.
        page.wait_for_function(
            """() => {
                const graph = document.querySelector('[id*="grid-chart-0"] .js-plotly-plot');
                return graph && graph.data && graph.data.length > 0 && graph._fullLayout;
            }"""
        )
        drawn = page.evaluate(
            """() => {
                const graph = document.querySelector('[id*="grid-chart-0"] .js-plotly-plot');
                const ids = [];
                for (const trace of graph.data) {
                    for (const feature of (trace.geojson || {}).features || []) ids.push(String(feature.id));
                    for (const location of trace.locations || []) ids.push(String(location));
                }
                return ids;
            }"""
        )
        communities = {each for each in drawn if each in everyone}
        assert communities == {mine}, f"the map drew {sorted(communities)}"
        assert len(everyone) > 2  # other communities exist and were left out

        # Sign out: back to the login page, and the cockpit asks again.
        page.click("#logout")
        expect(page).to_have_url(re.compile(r"/login$"))
        page.goto(f"{base_url}/")
        expect(page).to_have_url(re.compile(r"/login\?next=/"))
        expect(page.locator("#login-submit")).to_be_visible()
    finally:
        context.close()
    assert errors == []
