"""生成简报 from a page, in headless Chromium: progress, then the PDF for the page's period and community,
made by the signed-in analyst (生成人 on the cover, their name on every page) and listed under their name."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from pypdf import PdfReader

from cockpit.components.format import format_value
from cockpit.data import current_warehouse
from cockpit.metrics import Period
from cockpit.view import View
from tests.conftest import DEMO_START


def test_a_brief_made_from_a_page_follows_its_filters_and_can_be_downloaded(watched, tmp_path):
    warehouse = current_warehouse()
    communities = warehouse.dataset("communities")
    community_id, name = communities["community_id"].iloc[0], communities["name"].iloc[0]
    period = Period(DEMO_START, DEMO_START + timedelta(days=6))
    view = View(preset="custom", period=period, filters={"community": community_id})
    page = watched.page
    page.goto(f"{watched.base_url}/dispatch{view.to_search()}")
    watched.settle()
    page.locator("#brief-open").click()
    scope = page.locator("#brief-scope")
    expect(scope).to_contain_text(period.label_zh())
    expect(scope).to_contain_text(name)
    page.locator("#brief-start").click()
    expect(page.locator("#brief-status")).to_contain_text("正在生成", timeout=20_000)
    download = page.locator("#brief-download")
    expect(download).to_be_visible(timeout=180_000)
    expect(page.locator("#brief-status")).to_have_text("简报已生成")
    href = download.get_attribute("href")
    response = page.request.get(watched.base_url + href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    path = tmp_path / "brief.pdf"
    path.write_bytes(response.body())
    pages = [re.sub(r"\s+", "", p.extract_text()) for p in PdfReader(path).pages]
    text = "".join(pages)
    tickets = warehouse.metric("tickets_received", period, filters={"community": community_id})["value"].iloc[0]
    assert f"金鸡湖街道{name}" in text and f"受理工单{format_value(tickets, '件')}" in text
    # The watched browser is signed in as the account "analyst" (no display name): its name is the label.
    assert "生成人analyst" in pages[0]
    assert all(re.search(r"analyst\d{4}-\d{2}-\d{2}\d{2}:\d{2}", page) for page in pages)

    page.goto(f"{watched.base_url}/briefs")
    watched.settle()
    row = page.locator(".brief-row", has=page.locator(f'a[href="{href}"]'))
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("analyst")
    assert watched.errors == [] and watched.outside == []
