"""`cockpit serve` under concurrency: threaded workers set up before their first request, one control socket each."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gunicorn.ctl.client import ControlClient

from tests.conftest import SALT
from tests.fixtures.accounts import cookie_header, signed_client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    # A bare TCP connect: the master accepts it into the backlog, and no HTTP request reaches a worker.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def _served(home: Path, port: int, workers: int = 2) -> Iterator[subprocess.Popen]:
    """`cockpit serve` on `port` until the block ends; the server's output is on `.log` afterwards."""
    env = {**os.environ, "COCKPIT_HOME": str(home), "COCKPIT_PII_SALT": SALT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the server did not listen within 60 s"
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.log = proc.communicate(timeout=60)[0]


def _get(url: str, cookie: str = "") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie}), timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_concurrent_first_requests_on_a_fresh_server_never_fail(app, loaded_demo):
    # The bundle URLs the page loads, as this same code base renders them.
    index = signed_client(app).get("/").get_data(as_text=True)
    bundles = re.findall(r'<script src="(/_dash-component-suites/[^"]+)"', index)
    assert len(bundles) > 3, index
    paths = ["/", "/_dash-layout", "/_dash-dependencies", "/wall", *bundles]
    port = _free_port()
    # An account of its own: what other tests did to shared accounts cannot end this session.
    cookie = cookie_header(loaded_demo.home, name=f"concurrent{port}")
    with _served(loaded_demo.home.root, port):
        base = f"http://127.0.0.1:{port}"
        requests = [base + path for path in paths] * 4
        statuses: list[tuple[str, int]] = []
        start = threading.Barrier(len(requests))

        def fetch(url: str) -> None:
            start.wait()
            statuses.append((url, _get(url, cookie)))

        threads = [threading.Thread(target=fetch, args=(url,)) for url in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        # Asked once more, after the burst: tells a session the server never knew from a race in the burst.
        afterwards = _get(base + "/_dash-layout", cookie)
    failed = [(url, status) for url, status in statuses if status != 200]
    assert afterwards == 200, f"the signed-in session is refused even when asked alone: {afterwards}"
    assert len(statuses) == len(requests)
    assert failed == []


def _bound_to(socket_path: Path) -> str:
    with ControlClient(str(socket_path), timeout=10) as client:
        return str(client.send_command("show config"))


def test_each_instance_keeps_its_own_control_socket(loaded_demo):
    first_port, second_port = _free_port(), _free_port()
    home = loaded_demo.home.root
    with _served(home, first_port):
        with _served(home, second_port):
            # Each port's socket exists and is answered by the instance bound to that port.
            sockets = {}
            for port in (first_port, second_port):
                deadline = time.monotonic() + 30
                found = []
                while not found and time.monotonic() < deadline:
                    found = list((home / "run").glob(f"*-{port}.ctl"))
                    time.sleep(0.1)
                assert len(found) == 1, f"no control socket for port {port}"
                sockets[port] = found[0]
            assert sockets[first_port] != sockets[second_port]
            assert f"127.0.0.1:{first_port}" in _bound_to(sockets[first_port])
            assert f"127.0.0.1:{second_port}" in _bound_to(sockets[second_port])
        # The second instance stopping leaves the first one's socket in place and answering.
        assert f"127.0.0.1:{first_port}" in _bound_to(sockets[first_port])
