"""Slow-client benchmark: a cheap callback's latency while slowloris sockets and large exports hold the server.

    python -m benchmarks.serving [--home DIR | --scale 1 --days 30] [--slowloris 10] [--exports 4] [--calls 200]

Serves the cockpit with `cockpit serve` (as deployed; set-up in cockpit/serving.py) on localhost, then:
1. idle: times a cheap page callback (the top bar's freshness badge) `--calls` times: the floor;
2. loaded: opens `--slowloris` connections that send a request's headers byte by byte and never
   finish, and `--exports` downloads of the biggest KPI's records as .xlsx (or `--format csv`) over the whole data range
   (half never read a byte, half read 16 KiB a second), then times the same callback again, going
   on until the reading exports are sending (or --max-seconds).
Prints p50/p95 idle and loaded, their ratio, what the exports got, and worker kills/restarts
counted in gunicorn's log. Exits 1 when the loaded p95 is over 1 s or a worker was killed.
The exports are only opened and read slowly, never checked, so a streamed export, or an answer
that sends a big export elsewhere, is measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.callbacks import _free_port, _percentile, _prepare_home, sign_in_requests

TARGET_P95_S = 1.0
CALL_TIMEOUT_S = 60.0
# gunicorn's log lines for a worker that was killed or died, up to the end of the loaded run (the
# shutdown after it is not counted); a restart also shows as one more "Booting worker".
KILL_LINES = re.compile(r"WORKER TIMEOUT|Worker \(pid:\d+\) (?:was sent SIG|exited with code)")


def _wait_listening(port: int, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-dependencies", timeout=10):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"error: the server did not answer within {seconds:.0f} s; its log: {log}")


def _cheap_call(base: str) -> tuple[bytes, dict]:
    """The freshness-badge callback's request body (one small catalog read), as the browser sends it."""
    with urllib.request.urlopen(base + "/_dash-dependencies", timeout=30) as response:
        dependencies = json.load(response)
    dependency = next(d for d in dependencies if "freshness-badge.children" in d["output"])
    outputs = [
        dict(zip(("id", "property"), o.split(".", 1), strict=True))
        for o in dependency["output"].strip(".").split("...")
    ]
    body = {
        "output": dependency["output"],
        "outputs": outputs,
        "inputs": [{"id": i["id"], "property": i["property"], "value": "/dispatch"} for i in dependency["inputs"]],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in dependency["inputs"]],
    }
    return json.dumps(body).encode(), {"Content-Type": "application/json"}


def _time_calls(base: str, call: tuple[bytes, dict], calls: int) -> list[float]:
    body, headers = call
    seconds = []
    for _ in range(calls):
        request = urllib.request.Request(base + "/_dash-update-component", data=body, headers=headers)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=CALL_TIMEOUT_S) as response:
                response.read()
        except OSError as error:  # a timeout or a reset counts, as the wait it was, not as a crash
            print(f"  call failed after {time.perf_counter() - started:.1f} s: {error}", flush=True)
        seconds.append(time.perf_counter() - started)
        time.sleep(0.02)
    return seconds


def _biggest_export(home: Path) -> tuple[str, str, int]:
    """(KPI id, period, rows) of the catalog KPI with the most records over the whole data range."""
    from cockpit.data import Warehouse, use_warehouse
    from cockpit.metrics import Period, default_catalog
    from warehouse.paths import Home

    warehouse = Warehouse(Home(home))
    use_warehouse(warehouse)
    period = Period.preset("this_year", warehouse.info.data_through)
    # Reach back a year from the last day: the whole demo range (whatever its length) for the biggest KPI.
    period = Period(period.end.replace(year=period.end.year - 1), period.end)
    best = ("", 0)
    for metric_id in default_catalog():
        try:
            _rows, total = warehouse.records(metric_id, period, limit=1)
        except Exception:  # noqa: BLE001 - a KPI without record rows is simply not a candidate
            continue
        if (total or 0) > best[1]:
            best = (metric_id, total)
    return best[0], str(period), best[1]


class SlowClients:
    """Slowloris sockets and slow export downloads, each in its own thread, until `stop()`."""

    def __init__(self, port: int, cookie: str = ""):
        self.cookie = cookie  # a signed-in session: an export is served only to one
        self.port = port
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.export_results: list[str] = []
        self.reading = 0  # exports that read, and so will say when their first bytes arrived
        self.answered = threading.Semaphore(0)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        # A small receive window, so a client that does not read pushes back on the server early.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        return sock

    def slowloris(self) -> None:
        sock = self._connect()
        request = b"GET /dispatch HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\n" + b"X-Slow: 1\r\n" * 10_000
        try:
            for byte in request:
                if self.stopping.wait(0.5):
                    break
                sock.sendall(bytes([byte]))
        except OSError:
            pass  # the server closed it (a request limit): counts as held until then
        finally:
            sock.close()

    def export(self, path: str, read: bool) -> None:
        sock = self._connect()
        cookie = f"Cookie: {self.cookie}\r\n" if self.cookie else ""
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}Connection: close\r\n\r\n".encode())
        received, first = 0, b""
        try:
            while not self.stopping.wait(1.0):
                if not read:
                    continue
                sock.settimeout(0.5)
                try:
                    chunk = sock.recv(16 * 1024)
                except TimeoutError:
                    continue
                if not chunk:
                    break
                if not first:
                    first = chunk[:15]
                    self.answered.release()
                received += len(chunk)
        finally:
            sock.close()
        status = first.decode("latin-1").strip() if first else "(not read)"
        self.export_results.append(f"{'read slowly' if read else 'never read'}: {status} · {received / 2**10:.0f} KiB")

    def start(self, slowloris: int, exports: int, export_path: str) -> None:
        targets = [(self.slowloris, ()) for _ in range(slowloris)]
        targets += [(self.export, (export_path, index % 2 == 1)) for index in range(exports)]
        self.reading = exports // 2
        for target, args in targets:
            thread = threading.Thread(target=target, args=args, daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def _report(name: str, seconds: list[float]) -> tuple[float, float]:
    p50, p95 = _percentile(seconds, 0.5), _percentile(seconds, 0.95)
    print(f"{name:<8} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   max {max(seconds) * 1000:7.1f} ms")
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an already loaded COCKPIT_HOME (default: generate one)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--slowloris", type=int, default=10)
    parser.add_argument("--exports", type=int, default=4)
    parser.add_argument("--calls", type=int, default=200, help="cheap callbacks timed idle and again under load")
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="longest wait for the exports to start sending"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (`cockpit serve` default)")
    parser.add_argument(
        "--format", choices=("xlsx", "csv"), default="xlsx", help="export format (CSV streams its first rows at once)"
    )
    args = parser.parse_args()

    home = _prepare_home(args)
    cookie = sign_in_requests(home)
    kpi, period, rows = _biggest_export(home)
    export_path = f"/export/records.{args.format}?" + urlencode({"kpi": kpi, "period": period})
    print(f"biggest export: {kpi} over {period}: {rows:,} rows", flush=True)

    port = _free_port()
    log = Path(home) / f"bench-serving-{port}.log"
    env = {**os.environ, "COCKPIT_HOME": str(home), "COCKPIT_PII_SALT": os.environ.get("COCKPIT_PII_SALT", "bench")}
    command = [sys.executable, "-m", "cockpit.cli", "serve", "--port", str(port), "--workers", str(args.workers)]
    with log.open("w") as log_file:
        server = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    clients = SlowClients(port, f"{cookie['name']}={cookie['value']}")
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_listening(port, log)
        call = _cheap_call(base)  # read once, idle: a loaded server may not answer it in time
        _time_calls(base, call, 10)  # both workers' first calls, cache filled: the floor is the warm callback
        idle = _time_calls(base, call, args.calls)
        clients.start(args.slowloris, args.exports, export_path)
        time.sleep(3)  # every slow socket connected and every export under way before timing
        loaded = _time_calls(base, call, args.calls)
        # Go on until every reading export is sending (a slow reader then holds a thread on its
        # writes, not only on the export's build), or `--max-seconds` have passed.
        deadline = time.monotonic() + args.max_seconds
        answered = 0
        while answered < clients.reading and time.monotonic() < deadline:
            loaded += _time_calls(base, call, 10)
            while answered < clients.reading and clients.answered.acquire(blocking=False):
                answered += 1
        loaded += _time_calls(base, call, args.calls // 2 if answered else 0)
        held = sum(thread.is_alive() for thread in clients.threads)
        text = log.read_text(encoding="utf-8", errors="replace")
    finally:
        clients.stop()
        server.terminate()
        server.wait(timeout=90)
    kills = len(KILL_LINES.findall(text))
    boots = text.count("Booting worker")

    print(f"\n{args.slowloris} slowloris + {args.exports} exports, {args.workers} workers, {args.calls} calls each")
    _, idle_p95 = _report("idle", idle)
    _, loaded_p95 = _report("loaded", loaded)
    print(f"loaded/idle p95: {loaded_p95 / idle_p95:.1f}×   target: loaded p95 ≤ {TARGET_P95_S:.0f} s")
    print(f"loaded run: {len(loaded)} calls; slow clients held at its end: {held} of {args.slowloris + args.exports}")
    for line in sorted(clients.export_results):
        print(f"  export {line}")
    print(f"workers booted: {boots} (of {args.workers} at start) · killed/died: {kills} · log: {log}")
    if loaded_p95 > TARGET_P95_S or kills or boots > args.workers:
        sys.exit(1)


if __name__ == "__main__":
    main()
