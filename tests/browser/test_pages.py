"""Every page in headless Chromium: renders without errors, loads nothing from outside, drills, keeps its URL."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from cockpit.components.format import format_value
from cockpit.data import current_warehouse
from cockpit.metrics import compute, default_catalog
from cockpit.view import View
from tests.browser.conftest import sign_in_as

PATHS = ("/", "/party", "/approvals", "/enforcement", "/grid", "/dispatch", "/metrics", "/pipeline", "/briefs")


def tile(watched, kpi: str):
    return watched.page.locator(f'[data-kpi="{kpi}"] .kpi-value').first


def tile_value(watched, kpi: str) -> str:
    expect(tile(watched, kpi)).to_have_text(re.compile(r"\S"))
    return tile(watched, kpi).inner_text()


def dispatch_chart(page, kind: str, by: str):
    """The dispatch page's chart of this kind and grouping (its graph's id holds "dispatch-chart-<index>")."""
    from cockpit.pages.dispatch import BOARD

    index = next(i for i, chart in enumerate(BOARD.charts) if (chart.kind, chart.by) == (kind, by))
    quoted = f'"dispatch-chart-{index}"'
    return page.locator(f"[id*='{quoted}']")


def catalog_value(kpi: str, query: dict) -> str:
    warehouse = current_warehouse()
    view = View.from_query(query, warehouse.info.data_through)
    with warehouse.cursor() as cur:
        value = compute(cur, kpi, view.period, filters=view.filters)["value"].iloc[0]
    return format_value(value, default_catalog()[kpi].unit)


@pytest.mark.parametrize("path", PATHS)
def test_page_renders_with_no_errors_and_no_outside_requests(watched, path):
    if path == "/pipeline":  # the operator's page: an analyst may not open it
        sign_in_as(watched.page.context, watched.base_url, name="operator", role="operator")
    watched.page.goto(watched.base_url + path)
    watched.settle()
    assert watched.page.locator("#freshness-badge").inner_text().startswith("数据截至")
    assert watched.page.locator("#demo-label").inner_text() == "演示数据"
    if path not in ("/metrics", "/pipeline", "/briefs"):
        # On a busy machine the strips may still be on their way when the network first goes idle.
        expect(watched.page.locator(".kpi-tile").nth(3)).to_be_visible()
        expect(watched.page.locator(".js-plotly-plot").nth(1)).to_be_attached()
        watched.page.locator(".records").scroll_into_view_if_needed()  # AG Grid loads when it comes into view
        expect(watched.page.locator(".records .ag-root-wrapper")).to_have_count(1)
        watched.settle()
    assert watched.errors == []
    assert watched.outside == []


def test_a_bar_click_narrows_the_kpis_and_the_records_and_back_undoes_it(watched):
    page = watched.page
    page.goto(watched.base_url + "/dispatch")
    before = catalog_value("tickets_received", {})
    expect(tile(watched, "tickets_received")).to_have_text(before)
    chart = dispatch_chart(page, "bar", "category")
    chart.scroll_into_view_if_needed()
    chart.locator(".bars .point path").first.click(force=True)
    page.wait_for_url(re.compile(r"category="))
    category = re.search(r"category=([a-z_]+)", page.url).group(1)
    after = catalog_value("tickets_received", {"category": category})
    assert after != before
    expect(tile(watched, "tickets_received")).to_have_text(after)
    expect(page.locator(".filter-chip").first).to_have_text(re.compile("^类别："))
    # the records of that category, shown by its name (the seed's, read here from the CSV)
    with open("warehouse/seeds/category.csv", encoding="utf-8") as handle:
        name = {row["code"]: row["name_zh"] for row in csv.DictReader(handle)}[category]
    page.locator(".records").scroll_into_view_if_needed()
    cells = page.locator('.records .ag-row [col-id="category"]')
    expect(cells.first).to_have_text(name)
    expect(cells.filter(has_not_text=name)).to_have_count(0)

    page.go_back()
    page.wait_for_url(re.compile(r"/dispatch$"))
    expect(page.locator('[data-kpi="tickets_received"] .kpi-value')).to_have_text(before)
    expect(page.locator(".filter-chip")).to_have_count(0)
    assert watched.errors == []


def test_a_word_of_the_hot_topics_cloud_narrows_the_page_and_its_records_to_the_tickets_with_it(watched):
    from urllib.parse import parse_qs, urlsplit

    page = watched.page
    page.goto(watched.base_url + "/dispatch")
    watched.settle()
    cloud = dispatch_chart(page, "cloud", "term")
    cloud.scroll_into_view_if_needed()
    words = cloud.locator(".textpoint text")
    expect(words.first).to_be_visible()
    drawn = words.evaluate_all("texts => texts.map(text => text.textContent)")
    assert len(drawn) >= 10
    words.first.click(force=True)
    page.wait_for_url(re.compile(r"term="))
    term = parse_qs(urlsplit(page.url).query)["term"][0]
    assert term == drawn[0]
    expect(tile(watched, "tickets_received")).to_have_text(catalog_value("tickets_received", {"term": term}))
    expect(page.locator(".filter-chip").first).to_contain_text(f"关键词：{term}")
    # Every record shown holds the word in its title or text.
    page.locator(".records").scroll_into_view_if_needed()
    expect(page.locator('.records .ag-row [col-id="content"]').first).to_have_text(re.compile(r"\S"))
    rows = page.locator(".records .ag-row").evaluate_all(
        """rows => {
            const text = {};  // a row's cells may sit in several containers (pinned, centre): joined by row index
            rows.forEach(row => {
                const index = row.getAttribute("row-index");
                text[index] = (text[index] || "") + row.textContent;
            });
            return Object.values(text);
        }"""
    )
    assert rows
    for text in rows:
        assert term in text, (term, text)
    assert watched.errors == []


def test_a_kpi_click_puts_its_records_in_focus(watched):
    page = watched.page
    page.goto(watched.base_url + "/dispatch")
    watched.settle()
    page.locator('[data-kpi="open_tickets"]').click()
    page.wait_for_url(re.compile(r"kpi=open_tickets"))
    expect(page.locator(".records-title")).to_contain_text("在办工单")
    assert "kpi-active" in page.locator('[data-kpi="open_tickets"]').get_attribute("class")
    export = page.locator("#dispatch-export-csv").get_attribute("href")
    assert export.startswith("/export/records.csv?") and "kpi=open_tickets" in export


def test_a_url_with_filters_reproduces_the_view(watched):
    query = {"period": "this_month", "category": "sanitation"}
    page = watched.page
    page.goto(watched.base_url + "/dispatch?period=this_month&category=sanitation")
    watched.settle()
    expect(tile(watched, "tickets_received")).to_have_text(catalog_value("tickets_received", query))
    expect(tile(watched, "on_time_rate")).to_have_text(catalog_value("on_time_rate", query))
    assert page.locator(".filter-chip").first.inner_text().startswith("类别：")
    assert page.locator(".filter-period").inner_text().strip().startswith("本月")


def test_the_help_mark_explains_a_number(watched):
    page = watched.page
    page.goto(watched.base_url + "/approvals")
    watched.settle()
    page.locator('[data-kpi="approval_on_time_rate"] .kpi-help').click()
    popover = page.locator(".popover")
    popover.wait_for()
    text = popover.inner_text()
    assert "kpi=" not in page.url  # opening the explanation is not a click on the KPI
    assert "统计口径" in text and "数据来源" in text and "approvals" in text and "更新时间" in text
    assert popover.locator(".popover-header").inner_text() == tile_name(page, "approval_on_time_rate")
    # Another tile's mark points the one popover at that tile, with that KPI's explanation.
    page.locator('[data-kpi="approvals_received"] .kpi-help').click()
    expect(popover.locator(".popover-header")).to_have_text(tile_name(page, "approvals_received"))
    expect(page.locator(".popover")).to_have_count(1)
    # A click elsewhere closes it: once it is shown at its tile, with no callback pending (a click while it is
    # still being opened, placed or faded in is not the reader's click elsewhere).
    expect(popover).to_have_class(re.compile(r"\bshow\b"))
    watched.settle()
    page.locator(".page-title").click()
    expect(page.locator(".popover")).to_have_count(0)


def tile_name(page, kpi: str) -> str:
    return page.locator(f'[data-kpi="{kpi}"] .kpi-name').inner_text()


def test_language_switch_changes_the_labels(watched):
    page = watched.page
    page.goto(watched.base_url + "/dispatch?category=sanitation")
    watched.settle()
    page.locator("#language-switch").click()
    page.wait_for_url(re.compile(r"/dispatch\?category=sanitation"))
    expect(page.locator("#nav-dispatch")).to_have_text("Dispatch")
    expect(page.locator("#freshness-badge")).to_have_text(re.compile("^Data through"))
    expect(page.locator('[data-kpi="tickets_received"] .kpi-name')).to_have_text("Tickets received")
    page.locator("#language-switch").click()
    expect(page.locator("#nav-dispatch")).to_have_text("指挥调度")


def test_the_map_drills_from_community_to_grid(watched):
    page = watched.page
    page.goto(watched.base_url + "/grid")
    watched.settle()
    page.locator('[id*="grid-chart-0"] .js-plotly-plot').wait_for()
    # The figure is drawn (Dash binds its click handler once the plot exists).
    page.wait_for_function(
        """() => {
            const graph = document.querySelector('[id*="grid-chart-0"] .js-plotly-plot');
            return graph && graph.data && graph.data.length > 0 && graph._fullLayout;
        }"""
    )
    community = current_warehouse().dataset("communities")["community_id"].iloc[0]
    # A point inside the community's polygon, in the window's coordinates: the mouse clicks there, as a reader's.
    x, y = page.evaluate(
        """(community) => {
            const path = [...document.querySelectorAll('[id*="grid-chart-0"] .choroplethlocation')]
                .find(p => p.__data__ && p.__data__.loc === community);
            const box = path.getBBox(), matrix = path.getScreenCTM();
            for (let i = 1; i < 20; i++) {
                for (let j = 1; j < 20; j++) {
                    const inside = new DOMPoint(box.x + box.width * i / 20, box.y + box.height * j / 20);
                    if (path.isPointInFill(inside)) {
                        const shown = inside.matrixTransform(matrix);
                        return [shown.x, shown.y];
                    }
                }
            }
            return null;
        }""",
        community,
    )
    # Dash binds the click handler just after the plot resolves: click again if the first came too soon.
    for attempt in range(5):
        page.mouse.click(x, y)
        try:
            page.wait_for_url(re.compile(f"community={community}"), timeout=4_000)
            break
        except PlaywrightTimeout:
            assert attempt < 4, "the map click never changed the URL"
    expect(page.locator(".filter-chip").first).to_have_text(re.compile("^社区："))
    assert watched.errors == []
