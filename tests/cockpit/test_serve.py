"""`cockpit serve`: gunicorn with several workers serves the pages from the current release."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

from tests.cockpit.test_serving import _free_port, _served
from tests.fixtures.accounts import cookie_header
from warehouse.paths import Home


def _answer(port: int, path: str, cookie: str = "", seconds: float = 60) -> str | None:
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie})
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.3)
    return None


def test_serve_runs_workers_that_answer_on_localhost(loaded_demo):
    port = _free_port()
    cookie = cookie_header(loaded_demo.home, name="operator", role="operator")
    with _served(loaded_demo.home.root, port, workers=2) as server:
        body = _answer(port, "/pipeline", cookie)
        assert body is not None, "the server did not answer within 60 s"
        assert "<title>" in body and "_dash-config" in body
        layout = urllib.request.Request(f"http://127.0.0.1:{port}/_dash-layout", headers={"Cookie": cookie})
        with urllib.request.urlopen(layout, timeout=5) as response:
            assert response.status == 200
    assert "Booting worker" in server.log and server.log.count("Booting worker") >= 2


def test_serve_without_a_release_fails_with_one_line(tmp_path):
    env = {**os.environ, "COCKPIT_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "cockpit.cli", "serve"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: no warehouse release yet: run `cockpit pipeline run` (or `cockpit up`)"
    ]


def test_serve_starts_on_a_garbage_current_and_serves_the_newest_release_that_opens(loaded_demo, tmp_path):
    shutil.copytree(loaded_demo.home.warehouse, tmp_path / "warehouse")
    (tmp_path / "warehouse" / "CURRENT").write_text("garbage\n", encoding="utf-8")
    port = _free_port()
    cookie = cookie_header(Home(tmp_path).ensure())  # the copied home's own state database
    with _served(tmp_path, port, workers=1) as server:
        layout = _answer(port, "/_dash-layout", cookie)
        assert layout is not None, "the server did not answer within 60 s"
        assert "CURRENT does not name a release file" in layout  # the red banner names the problem
    assert "warning: CURRENT does not name a release file" in server.log
