"""Wall load test: many walls refreshing while an analyst works, and a long run of one wall in Chromium.

    python -m benchmarks.wall --home DIR [--walls 100] [--interval 30] [--seconds 120] [--soak 600]

Serves the cockpit with `cockpit serve` (gunicorn, as deployed) and drives it over HTTP on localhost:
1. baseline: one analyst client calls every callback of the dispatch page for a series of views
   (one community after another, so most answers are not cached yet) and records each latency;
2. under load: the same analyst on other communities while `--walls` wall clients each load the
   wall (refresh + charts callbacks) and then refresh every `--interval` seconds (with jitter).
Prints the analyst's p50/p95 in both runs and their ratio, and the walls' refresh latency.
With --soak, one wall runs in headless Chromium at 1 s rotation and refresh, and the JS heap
(after a forced GC) and DOM node count are printed every 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks.callbacks import _free_port, _percentile, _prepare_home, sign_in_requests

ANALYST_PAGE = "dispatch"


def _post(base: str, payload: dict) -> float:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        base + "/_dash-update-component", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def _wall_payloads(dependencies: list[dict], settings: dict) -> tuple[dict, dict]:
    """(refresh, charts) request bodies, as the wall page sends them."""
    from cockpit.components.wall import BOARDS

    refresh = next(d for d in dependencies if "wall-ticker.children" in d["output"])
    charts = next(d for d in dependencies if '"wall-chart"' in d["output"])
    kpis = [{"id": {"board": b.id, "type": "wall-kpis"}, "property": "children"} for b in BOARDS]
    rest = [{"id": i, "property": p} for i, p in (("wall-ticker", "children"), ("wall-banner", "children"))]
    rest += [{"id": i, "property": p} for i, p in (("wall-banner", "className"), ("wall-release", "data"))]
    rest.append({"id": "wall-alarm", "property": "data"})
    state = [
        {"id": "wall-config", "property": "data", "value": settings},
        {"id": "wall-seen", "property": "data", "value": []},
        {"id": "wall-release", "property": "data", "value": None},
        {"id": "wall-alarm", "property": "data", "value": None},
    ]
    refresh_body = {
        "output": refresh["output"],
        "outputs": [kpis, *rest],
        "inputs": [{"id": "wall-refresh", "property": "n_intervals", "value": 1}],
        "state": state,
        "changedPropIds": ["wall-refresh.n_intervals"],
    }
    figures = [
        {"id": {"board": b.id, "index": i, "type": "wall-chart"}, "property": "figure"}
        for b in BOARDS
        for i in range(len(b.charts))
    ]
    charts_body = {
        "output": charts["output"],
        "outputs": figures,
        "inputs": [{"id": "wall-release", "property": "data", "value": "x"}],
        "state": [{"id": "wall-config", "property": "data", "value": settings}],
        "changedPropIds": ["wall-release.data"],
    }
    return refresh_body, charts_body


def _analyst_payloads(app, client, communities: list[str]) -> list[dict]:
    import importlib

    from cockpit.components.board import board_layout

    board = importlib.import_module(f"cockpit.pages.{ANALYST_PAGE}").BOARD
    bodies = []
    for community in communities:
        with app.server.test_request_context():
            layout = board_layout(board, {"community": community})
        for output, outputs, inputs in client.page_updates(layout, ANALYST_PAGE):
            flat = [i for each in inputs for i in (each if isinstance(each, list) else [each])]
            changed = [f"{json.dumps(i['id'], sort_keys=True, separators=(',', ':'))}.{i['property']}" for i in flat]
            bodies.append({"output": output, "outputs": outputs, "inputs": inputs, "changedPropIds": changed})
    return bodies


def _analyst(base: str, bodies: list[dict]) -> list[float]:
    return [_post(base, body) for body in bodies]


def _serve(home: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "COCKPIT_HOME": str(home)}
    server = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/wall", timeout=2).read()
            return server, base
        except OSError:
            time.sleep(0.25)
    server.kill()
    raise SystemExit("error: `cockpit serve` did not come up")


def _load_test(app, client, base: str, args) -> None:
    from cockpit.pages.wall import config

    communities = list(client_communities())
    half = len(communities) // 2
    baseline_bodies = _analyst_payloads(app, client, communities[:half][: args.views])
    loaded_bodies = _analyst_payloads(app, client, communities[half:][: args.views])
    refresh_body, charts_body = _wall_payloads(client.dependencies, config({}, "zh"))
    _post(base, refresh_body)  # warm each path once (as the first wall of the morning would)
    _post(base, charts_body)

    # Both runs loop over their own communities for the same time: a first pass mostly uncached,
    # then cached answers, as an analyst coming back to views would see.
    baseline: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        baseline += _analyst(base, baseline_bodies)
    stop = threading.Event()
    wall_times: list[float] = []
    loads: list[float] = []
    errors: list[str] = []

    def one_wall(seed: int) -> None:
        rng = random.Random(seed)
        time.sleep(rng.uniform(0, 5))
        try:
            loads.append(_post(base, refresh_body) + _post(base, charts_body))
            while not stop.is_set():
                if stop.wait(args.interval * rng.uniform(0.9, 1.1)):
                    break
                wall_times.append(_post(base, refresh_body))
        except OSError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=one_wall, args=(i,), daemon=True) for i in range(args.walls)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    loaded: list[float] = []
    while time.perf_counter() - started < args.seconds:
        loaded += _analyst(base, loaded_bodies)
    stop.set()
    for thread in threads:
        thread.join(timeout=130)
    elapsed = time.perf_counter() - started

    b95, l95 = _percentile(baseline, 0.95), _percentile(loaded, 0.95)
    print(f"\nanalyst: every {ANALYST_PAGE} callback, {len(baseline_bodies)} per pass, one community per view,")
    print(f"passes repeated for {args.seconds:g} s (other communities in each run)")
    print(f"{'run':<34}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'alone':<34}{len(baseline):>7}{statistics.median(baseline):>9.1f}{b95:>9.1f}")
    label = f"with {args.walls} walls every {args.interval:g} s"
    print(f"{label:<34}{len(loaded):>7}{statistics.median(loaded):>9.1f}{l95:>9.1f}")
    print(f"analyst p95 under load ÷ alone: {l95 / b95:.2f}")
    print(
        f"walls: {len(loads)} full loads (p95 {_percentile(loads, 0.95):.0f} ms), {len(wall_times)} refreshes "
        f"(p50 {statistics.median(wall_times) if wall_times else float('nan'):.1f} ms, "
        f"p95 {_percentile(wall_times, 0.95) if wall_times else float('nan'):.1f} ms) in {elapsed:.0f} s; "
        f"errors {len(errors)}"
    )


def client_communities() -> list[str]:
    from cockpit.data import current_warehouse

    return current_warehouse().dataset("communities")["community_id"].tolist()


def _soak(base: str, seconds: int, cookie: dict) -> None:
    from playwright.sync_api import sync_playwright

    from cockpit.briefing.pdf import CHROMIUM_FLAGS, find_chromium

    print(f"\none wall in headless Chromium, rotation and refresh every 1 s, for {seconds} s")
    print(f"{'elapsed s':>10}{'JS heap MiB':>13}{'DOM nodes':>11}{'listeners':>11}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(base + "/wall?rotate=1&refresh=1&alarm_hours=1")
        page.wait_for_function("document.querySelectorAll('.wall-kpi').length === 36", timeout=60_000)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        started = time.perf_counter()
        first = None  # the sample after the first 30 s, when every board has been drawn
        while True:
            cdp.send("HeapProfiler.collectGarbage")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            row = (metrics["JSHeapUsedSize"] / 2**20, metrics["Nodes"], metrics["JSEventListeners"])
            elapsed = time.perf_counter() - started
            print(f"{elapsed:>10.0f}{row[0]:>13.1f}{row[1]:>11.0f}{row[2]:>11.0f}", flush=True)
            if first is None and elapsed >= 25:
                first = row
            if elapsed >= seconds:
                break
            time.sleep(30)
        if first:
            print(f"last ÷ the 30 s sample: heap {row[0] / first[0]:.2f}, DOM nodes {row[1] / first[1]:.2f}")
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an already loaded COCKPIT_HOME (default: generate one)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--walls", type=int, default=100)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between a wall's refreshes")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the loaded run")
    parser.add_argument("--views", type=int, default=8, help="communities the analyst goes through per pass")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (`cockpit serve` default)")
    parser.add_argument("--soak", type=int, default=0, help="also run one wall in Chromium for this many seconds")
    args = parser.parse_args(argv)

    root = _prepare_home(args)
    os.environ["COCKPIT_HOME"] = str(root)
    from cockpit.app import create_app
    from cockpit.settings import Settings
    from tests.cockpit.dash_client import DashClient

    app = create_app(Settings.load())
    client = DashClient(app)
    cookie = sign_in_requests(root)
    server, base = _serve(root, args.workers)
    try:
        print(f"`cockpit serve` with {args.workers} workers at {base}")
        _load_test(app, client, base, args)
        if args.soak:
            _soak(base, args.soak, {**cookie, "url": base})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
