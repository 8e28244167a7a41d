"""The audit page in headless Chromium: an admin signs in with a password, lands on /audit and reads the trail,
filters it, issues a screen token a wall then pairs with, and revokes it: the wall leaves for the login page."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.fixtures.accounts import TEST_PASSWORD, ensure_user


def sign_in(page: Page, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", name)
    page.fill("#password", TEST_PASSWORD)
    page.click("#login-submit")


def watch(page: Page, base_url: str) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    outside: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: None if r.url.startswith((base_url, "data:", "blob:")) else outside.append(r.url))
    return errors, outside


def test_an_admin_signs_in_and_reads_and_filters_the_trail(browser, base_url, app):
    name = f"adm{uuid.uuid4().hex[:8]}"
    ensure_user(app.server.config["COCKPIT_GATE"].home, name, "admin")
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    errors, outside = watch(page, base_url)
    try:
        sign_in(page, base_url, name)
        expect(page).to_have_url(re.compile(r"/audit$"))  # an admin's first page
        expect(page.locator("#audit-chain")).to_have_class(re.compile("alert-success"))
        grid = page.locator(".audit-grid")
        expect(grid.locator(".ag-row").first).to_be_visible()
        # The admin's own sign-in is in the trail.
        own = grid.locator(".ag-row", has=page.locator(f'[col-id="actor"]:text-is("{name}")'))
        expect(own.first).to_be_visible()

        page.fill("#audit-user", name)
        page.click("#audit-apply")
        expect(page).to_have_url(re.compile(rf"/audit\?user={name}$"))
        expect(page.locator("#audit-total")).to_have_text(re.compile(r"\b1\b"))
        actors = grid.locator('.ag-row [col-id="actor"]')
        expect(actors).to_have_count(1)
        expect(actors.first).to_have_text(name)
        expect(page.locator("#audit-export-csv")).to_have_attribute("href", f"/audit/export.csv?user={name}")
        # The nav offers the audit page and no street page the admin may not open.
        expect(page.locator("#nav-audit")).to_be_visible()
        expect(page.locator("#nav-overview")).to_have_count(0)
    finally:
        context.close()
    assert errors == [] and outside == []


def test_a_revoked_token_sends_its_wall_to_the_login_page(browser, base_url, app):
    name = f"adm{uuid.uuid4().hex[:8]}"
    ensure_user(app.server.config["COCKPIT_GATE"].home, name, "admin")
    admin_context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    wall_context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    admin, wall = admin_context.new_page(), wall_context.new_page()
    errors, outside = watch(admin, base_url)
    try:
        sign_in(admin, base_url, name)
        wall_name = f"hall-{uuid.uuid4().hex[:6]}"
        admin.fill("#tokens-name", wall_name)
        admin.fill("#tokens-scope", "street")
        admin.click("#tokens-issue")
        address = admin.locator("#tokens-address")
        expect(address).to_contain_text("/wall?token=")
        row = admin.locator(".token-row", has_text=wall_name)
        expect(row.locator("button")).to_be_visible()

        wall.goto(address.inner_text())
        expect(wall).to_have_url(re.compile(r"/wall$"))  # the token left the address bar for a cookie
        wall.goto(f"{base_url}/wall?refresh=5")
        expect(wall.locator(".wall-kpi").first).to_be_visible(timeout=60_000)

        row.locator("button").click()
        expect(admin.locator(".token-row", has_text=wall_name)).to_have_class(re.compile("token-revoked"))
        expect(wall).to_have_url(re.compile(r"/login\?next=%2Fwall"), timeout=60_000)
    finally:
        admin_context.close()
        wall_context.close()
    assert errors == [] and outside == []
