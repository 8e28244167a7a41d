"""The cockpit works under its own Content-Security-Policy: pages, the wall and the map render in Chromium
with no CSP violation (Dash's inline scripts are allowed by hash, nothing else inline)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

# Recorded from the first script on every page, before Dash's own scripts run.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || ''));
});
"""


@pytest.mark.parametrize(
    ("path", "drawn"),
    [
        ("/", ".js-plotly-plot"),
        ("/dispatch", ".js-plotly-plot"),
        ("/grid", ".js-plotly-plot .choroplethlocation"),
        ("/metrics", ".ag-root-wrapper"),
        ("/wall?rotate=600&refresh=3600&alarm_hours=1&alarm_level=high", ".wall-board .js-plotly-plot"),
    ],
)
def test_pages_render_under_the_csp_with_no_violation(watched_under_csp, path, drawn):
    watched = watched_under_csp
    page = watched.page
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(watched.base_url + path)
    csp = response.headers.get("content-security-policy", "")
    script_src = csp.split("script-src", 1)[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    expect(page.locator(drawn).first).to_be_attached()
    watched.settle()
    violations = page.evaluate("() => window.__cspViolations")
    assert violations == []
    assert [error for error in watched.errors if "Content Security Policy" in error] == []
