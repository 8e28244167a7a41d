"""Headless Chromium against the real app served on localhost (Debian's chromium, driven by Playwright).

No browser is downloaded: Playwright launches the system Chromium. `make test`
installs it (and the CJK fonts) when missing, so these tests run, never skip.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import dash
import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect, sync_playwright
from werkzeug.serving import make_server

from cockpit.briefing.pdf import CHROMIUM_FLAGS, find_chromium
from tests.fixtures.accounts import SESSION_COOKIE, session_token

# These tests assert what the page shows, not how fast: speed is the benchmarks' job. Playwright's
# default 5 s wait failed on a 2-core machine busy with other work while a page's strips were still
# on their way; more patience only costs time when something is really missing.
expect.set_options(timeout=30_000)

# One Chromium and one set of flags for the tests and the briefing PDFs.
CHROMIUM = find_chromium()


@pytest.fixture(scope="session")
def base_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page with everything it logged and requested."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        # Dash shows a loading attribute while callbacks run; wait until none is pending (a locator wait,
        # not a polled JS predicate: those are string evals, which the app's CSP forbids).
        self.page.locator('[data-dash-is-loading="true"]').first.wait_for(state="detached")


def signed_in_context(browser, base_url: str, app=None, *, bypass_csp=True, viewport=(1600, 1000), **account):
    """A browser context carrying a real session of `account` (an analyst by default; see tests/fixtures/accounts)."""
    app = app or dash.get_app()  # one Dash app per test process
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=bypass_csp)
    token = session_token(app.server.config["COCKPIT_GATE"].home, **{"name": "analyst", "role": "analyst", **account})
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": base_url}])
    return context


def sign_in_as(context, base_url: str, **account) -> None:
    """Replace a browser context's session with one of another account (see tests/fixtures/accounts)."""
    home = dash.get_app().server.config["COCKPIT_GATE"].home
    context.clear_cookies()
    context.add_cookies([{"name": SESSION_COOKIE, "value": session_token(home, **account), "url": base_url}])


def _watched(browser, base_url: str, app, *, bypass_csp: bool) -> Iterator[Watched]:
    context = signed_in_context(browser, base_url, app, bypass_csp=bypass_csp)
    page = context.new_page()
    seen = Watched(page, base_url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    def on_request(request: Request) -> None:
        if not request.url.startswith((base_url, "data:", "blob:")):
            seen.outside.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("request", on_request)
    yield seen
    context.close()


@pytest.fixture
def watched(browser, base_url, app) -> Iterator[Watched]:
    """A page for tests of what the cockpit shows. It bypasses the app's CSP so that tests may wait on
    polled JS predicates (string evals); tests/browser/test_csp.py checks the CSP itself."""
    yield from _watched(browser, base_url, app, bypass_csp=True)


@pytest.fixture
def watched_under_csp(browser, base_url, app) -> Iterator[Watched]:
    """A page under the app's own Content-Security-Policy, as a user's browser sees it."""
    yield from _watched(browser, base_url, app, bypass_csp=False)
