"""Cockpit benchmark: p50/p95 of every page's callbacks, their ratio to the raw DuckDB queries, first page load.

Run: python -m benchmarks.callbacks [--home DIR] [--scale 1] [--days 365] [--no-browser]

Without --home a demo street (scale × days, ending yesterday) is generated and
loaded into a temporary home first. Every board page is rendered for a set of
views (default, a community, a page dimension, a month, a year); each callback
is then called through the real app over HTTP (Flask test client, JSON in and
out, as the browser calls it), once with the cache cleared ("cold": what the
first viewer after a release waits) and once warm. Every SQL statement a cold
call runs is recorded and re-run on its own: the sum is the floor the callback
is compared with. The first page load is timed in headless Chromium against `cockpit serve`
(gunicorn, compressed responses) on localhost: navigation start until every
callback has answered, on the first visit after the server started and again.

Targets (2 cores, scale 1 × 365 days): p95 ≤ 300 ms per callback; first page load ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

TARGET_P95_MS = 300.0
TARGET_FIRST_LOAD_S = 2.0
BOARDS = ("overview", "party", "approvals", "enforcement", "grid", "dispatch")


class RecordingCursor:
    """Wraps a DuckDB cursor and keeps every (sql, params) it runs."""

    log: list[tuple[str, object]] = []

    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, sql, params=None):
        RecordingCursor.log.append((sql, params))
        self._cursor.execute(sql, params) if params is not None else self._cursor.execute(sql)
        return self

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._cursor.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _prepare_home(args) -> Path:
    if args.home:
        return Path(args.home).resolve()
    root = Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    from pipelines.demo import generate
    from pipelines.run import run_pipeline
    from warehouse.paths import Home

    home = Home(root).ensure()
    end = date.today() - timedelta(days=1)
    print(f"generating scale {args.scale} × {args.days} days into {root} …", flush=True)
    generate(home.landing, days=args.days, start=end - timedelta(days=args.days - 1), scale=args.scale, seed=7)
    summary = run_pipeline(home, salt="bench")
    print(f"loaded: {summary.run_id}", flush=True)
    return root


def _views(as_of: date, board) -> list[dict]:
    from cockpit.data import current_warehouse

    community = current_warehouse().dataset("communities")["community_id"].iloc[0]
    views = [{}, {"community": community}, {"period": "this_month"}, {"period": "this_year"}]
    for dimension in board.dimensions[:1]:
        from cockpit.components.filters import dimension_options

        options = dimension_options(dimension, "zh", {})
        if options:
            views.append({dimension: options[0]["value"]})
    return views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an already loaded COCKPIT_HOME (default: generate one)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--no-browser", action="store_true", help="skip the first-page-load timing")
    args = parser.parse_args(argv)

    root = _prepare_home(args)
    os.environ["COCKPIT_HOME"] = str(root)
    from cockpit.app import create_app
    from cockpit.components.board import board_layout
    from cockpit.data import current_warehouse
    from cockpit.settings import Settings
    from tests.cockpit.dash_client import DashClient

    app = create_app(Settings.load())
    warehouse = current_warehouse()
    info = warehouse.info
    print(f"release {info.run_id}, data through {info.data_through}")
    client = DashClient(app)

    original_open = warehouse.open

    def recording_open():
        release, cursor = original_open()
        return release, RecordingCursor(cursor)

    import importlib

    rows = []
    for name in BOARDS:
        board = importlib.import_module(f"cockpit.pages.{name}").BOARD
        page = {"cold": [], "warm": [], "raw": []}
        for query in _views(info.data_through, board):
            with app.server.test_request_context():
                layout = board_layout(board, query)
            for output, outputs, view_input in client.page_updates(layout, name):
                warehouse._cache.clear()
                RecordingCursor.log = []
                warehouse.open = recording_open
                started = time.perf_counter()
                client.update(output, outputs, view_input)
                page["cold"].append((time.perf_counter() - started) * 1000)
                warehouse.open = original_open
                statements = list(RecordingCursor.log)
                started = time.perf_counter()
                client.update(output, outputs, view_input)
                page["warm"].append((time.perf_counter() - started) * 1000)
                raw = 0.0
                with warehouse.cursor() as cur:
                    for sql, params in statements:
                        started = time.perf_counter()
                        cur.execute(sql, params).fetchall() if params is not None else cur.execute(sql).fetchall()
                        raw += time.perf_counter() - started
                page["raw"].append(raw * 1000)
        ratio = [c / r for c, r in zip(page["cold"], page["raw"], strict=True) if r > 0]
        rows.append(
            (
                name,
                len(page["cold"]),
                statistics.median(page["cold"]),
                _percentile(page["cold"], 0.95),
                statistics.median(page["warm"]),
                _percentile(page["warm"], 0.95),
                statistics.median(page["raw"]),
                statistics.median(ratio) if ratio else float("nan"),
            )
        )

    print("\ncallbacks per page (ms; cold = cache cleared before the call; raw = its SQL re-run alone)")
    print(
        f"{'page':<12}{'calls':>6}{'cold p50':>10}{'cold p95':>10}{'warm p50':>10}{'warm p95':>10}"
        f"{'raw p50':>10}{'cold/raw':>10}{'p95/target':>12}"
    )
    for name, calls, p50, p95, w50, w95, raw, ratio in rows:
        print(
            f"{name:<12}{calls:>6}{p50:>10.1f}{p95:>10.1f}{w50:>10.1f}{w95:>10.1f}{raw:>10.1f}{ratio:>10.2f}"
            f"{p95 / TARGET_P95_MS:>12.2f}"
        )
    worst = max(row[3] for row in rows)
    print(f"\nworst page p95 {worst:.0f} ms: ratio to the {TARGET_P95_MS:.0f} ms target {worst / TARGET_P95_MS:.2f}")

    if not args.no_browser:
        _first_loads(root)
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _load_seconds(browser, url: str) -> tuple[float, float]:
    """Navigation start until every callback has answered and the charts are drawn; MiB transferred."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    page = context.new_page()
    transferred: list[int] = []
    page.on("response", lambda r: transferred.append(int(r.headers.get("content-length", 0) or 0)))
    page.goto(url)
    page.wait_for_function(
        "() => document.querySelectorAll('.kpi-tile').length > 2"
        " && document.querySelectorAll('.js-plotly-plot').length > 1"
        " && !document.querySelector('[data-dash-is-loading=\"true\"]')",
        polling=50,
        timeout=60_000,
    )
    seconds = page.evaluate("() => performance.now()") / 1000
    context.close()
    return seconds, sum(transferred) / 2**20


def _first_loads(home: Path) -> None:
    """Each page in headless Chromium against `cockpit serve` (gunicorn, gzip), as deployed."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS

    port = _free_port()
    env = {**os.environ, "COCKPIT_HOME": str(home)}
    server = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/_dash-layout", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        print("\nfirst page load in headless Chromium against `cockpit serve` (gunicorn, 2 workers, gzip)")
        print(f"{'page':<14}{'first visit':>12}{'again':>8}{'MiB':>6}{'first/target':>14}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            for path in ("/", "/party", "/approvals", "/enforcement", "/grid", "/dispatch"):
                first, mib = _load_seconds(browser, base + path)
                again, _ = _load_seconds(browser, base + path)
                print(f"{path:<14}{first:>11.2f}s{again:>7.2f}s{mib:>6.1f}{first / TARGET_FIRST_LOAD_S:>14.2f}")
            browser.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
