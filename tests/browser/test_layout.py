"""Screens at the sizes they are looked at: a 1920×1080 display, a 1366×768 laptop, a 390×844 phone.

Geometry is read from the rendered page (getBoundingClientRect, computed styles);
what counts as "fits" is stated here: no horizontal scroll, no two boxes on top of
each other, the overview's map and lists above the fold, readable type on a phone.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from tests.browser.conftest import Watched, signed_in_context

# The smallest type a phone reader is asked to read, in CSS px.
MIN_PHONE_FONT_PX = 11.5


def _open(browser, base_url: str, path: str, viewport: tuple[int, int]) -> Watched:
    context = signed_in_context(browser, base_url, viewport=viewport)
    page = context.new_page()
    page.goto(f"{base_url}{path}")
    seen = Watched(page, base_url)
    page.locator(".kpi-tile").first.wait_for()
    seen.settle()
    return seen


def _horizontal_overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _boxes(page, selector: str) -> list[dict]:
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter(e => e.offsetParent !== null)
            .map(e => { const r = e.getBoundingClientRect();
                        return {left: r.left, top: r.top + scrollY, right: r.right, bottom: r.bottom + scrollY}; })""",
        selector,
    )


def _overlaps(boxes: list[dict]) -> list[tuple[dict, dict]]:
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            width = min(a["right"], b["right"]) - max(a["left"], b["left"])
            height = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if width > 1 and height > 1:
                found.append((a, b))
    return found


def test_the_overview_shows_its_headline_map_and_lists_on_one_1920_screen(browser, base_url):
    seen = _open(browser, base_url, "/", (1920, 1080))
    page = seen.page
    page.locator('[id*="overview-chart-0"] .js-plotly-plot').wait_for()
    assert _horizontal_overflow(page) <= 0
    # one full-width row per module
    strips = _boxes(page, ".kpi-strip")
    assert len(strips) >= 6
    assert all(strip["right"] - strip["left"] >= 0.8 * 1920 for strip in strips), strips
    assert all(strip["right"] >= 1920 - 60 for strip in strips)
    # the map, the live alarms and the most overdue tickets end above the fold
    panels = [_boxes(page, f'[id*="overview-chart-{i}"]')[0] for i in range(3)]
    assert all(panel["bottom"] <= 1080 for panel in panels), panels
    assert page.locator(".record-list caption").first.is_visible()
    assert not _overlaps(_boxes(page, ".kpi-tile") + _boxes(page, ".card-panel"))
    page.context.close()


@pytest.mark.parametrize("path", ["/", "/dispatch"])
def test_a_1366_laptop_has_nothing_on_top_of_anything_and_no_sideways_scroll(browser, base_url, path):
    seen = _open(browser, base_url, path, (1366, 768))
    page = seen.page
    assert _horizontal_overflow(page) <= 0
    boxes = _boxes(page, ".kpi-tile") + _boxes(page, ".card-panel")
    assert len(boxes) > 6
    assert not _overlaps(boxes)
    page.context.close()


@pytest.mark.parametrize("path", ["/", "/dispatch"])
def test_a_phone_reads_one_column_with_two_tiles_a_row_and_the_menu_folded(browser, base_url, path):
    seen = _open(browser, base_url, path, (390, 844))
    page = seen.page
    assert _horizontal_overflow(page) <= 0
    for strip in page.locator(".kpi-strip").all():
        lefts = {round(box["x"]) for box in (tile.bounding_box() for tile in strip.locator(".kpi-tile").all())}
        assert 1 <= len(lefts) <= 2, lefts
    # charts and lists full width: each panel as wide as the page's column
    panels = _boxes(page, ".card-panel")
    assert panels and all(panel["right"] - panel["left"] >= 390 * 0.85 for panel in panels)
    # tables scroll sideways inside their card, not the page
    assert _horizontal_overflow(page) <= 0
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('.kpi-value, .kpi-name, .kpi-changes, .cockpit-table td')]
              .filter(e => e.offsetParent !== null).map(e => parseFloat(getComputedStyle(e).fontSize))"""
    )
    assert sizes and min(sizes) >= MIN_PHONE_FONT_PX
    # the top bar's links wait behind the menu button
    nav = page.locator(".topbar .main-nav")
    assert not nav.is_visible()
    page.locator(".nav-toggle").click()
    assert nav.is_visible()
    nav.get_by_text("指挥调度").click()
    page.wait_for_url("**/dispatch")
    page.context.close()


# A name a person reads is no snake_case word: `ticket_id`, `labor_dispute`, `video_offline`.
SNAKE_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# A ticket number is `<channel>:<its number in the channel>`: an identifier, read as a whole.
TICKET_NUMBER = re.compile(r"\b[a-z0-9_]+:[A-Za-z0-9-]+")
BOARD_PAGES = ("/", "/party", "/approvals", "/enforcement", "/grid", "/dispatch")


def _codes() -> set[str]:
    """Every code of the seed code tables (warehouse/seeds/*.csv): none of them is for a reader."""
    codes = set()
    for path in Path("warehouse/seeds").glob("*.csv"):
        with path.open(encoding="utf-8") as handle:
            codes |= {row["code"] for row in csv.DictReader(handle)}
    return codes


def _shown_text(page) -> str:
    return TICKET_NUMBER.sub(" ", page.evaluate("() => document.body.innerText"))


@pytest.mark.parametrize(("lang", "theme"), [("zh", "light"), ("en", "dark")])
def test_no_page_shows_a_code_or_a_column_name(browser, base_url, lang, theme):
    codes = {code for code in _codes() if not code.isdigit() and len(code) > 2}
    context = signed_in_context(browser, base_url, viewport=(1920, 1080))
    context.add_cookies(
        [
            {"name": "cockpit_lang", "value": lang, "url": base_url},
            {"name": "cockpit_theme", "value": theme, "url": base_url},
        ]
    )
    page = context.new_page()
    found = {}
    for path in BOARD_PAGES:
        page.goto(f"{base_url}{path}")
        page.locator(".kpi-tile").first.wait_for(state="attached")
        Watched(page, base_url).settle()
        # the record table's rows (or its "no rows" line) are on screen too (AG Grid loads when it comes into view)
        page.locator(".records").scroll_into_view_if_needed()
        page.locator(".ag-row, .ag-overlay-no-rows-center").first.wait_for()
        page.evaluate("() => window.scrollTo(0, 0)")
        text = _shown_text(page)
        words = set(re.findall(r"[A-Za-z0-9_]+", text))
        # In English a name may be a code's word ("Fire safety"); there only snake_case words are codes.
        shown = {word for word in words if SNAKE_WORD.fullmatch(word)} | (words & codes if lang == "zh" else set())
        if shown:
            found[path] = [text[max(0, text.find(word) - 40) : text.find(word) + 30] for word in sorted(shown)[:5]]
    context.close()
    assert not found, found
