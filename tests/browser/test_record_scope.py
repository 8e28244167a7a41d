"""The record panel as a principal without personal records or exports sees it, in headless Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import signed_in_context
from tests.cockpit.test_record_scope import ACCOUNTS, PERSONAL_NOTE


def test_party_members_records_are_a_note_and_other_records_still_a_table(watched):
    # `watched` is signed in as an analyst: records and exports, but no grant of personal records
    page = watched.page
    page.goto(f"{watched.base_url}/party?period=this_year&kpi=party_members")
    watched.settle()
    expect(page.locator("#party-records-note")).to_have_text(PERSONAL_NOTE)
    expect(page.locator(".records-grid")).to_have_count(0)
    expect(page.get_by_role("button", name="后台导出 Excel")).to_have_count(0)

    page.goto(f"{watched.base_url}/party?period=this_year")
    watched.settle()
    page.locator(".records").scroll_into_view_if_needed()
    expect(page.locator(".records-grid .ag-row").first).to_be_visible()
    expect(page.get_by_role("button", name="后台导出 Excel")).to_be_visible()
    assert watched.errors == []


def test_a_principal_without_export_sees_the_table_without_export_buttons(app, browser, base_url):
    context = signed_in_context(browser, base_url, app, **ACCOUNTS["reader"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base_url}/dispatch?period=this_year")
        page.locator(".records").scroll_into_view_if_needed()
        expect(page.locator(".records-grid .ag-row").first).to_be_visible()
        expect(page.locator("#dispatch-export-csv")).to_have_count(0)
        expect(page.get_by_role("button", name="后台导出 Excel")).to_have_count(0)
    finally:
        context.close()
    assert errors == []
