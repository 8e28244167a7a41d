"""`cockpit serve`: gunicorn with several workers serves the pages from the current release."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import SALT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answer(port: int, path: str, seconds: float = 60) -> str | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.3)
    return None


@contextmanager
def serving(home, workers: int) -> Iterator[tuple[int, list[str]]]:
    """`cockpit serve` on a free port over `home`; yields the port and, once stopped, its output."""
    port = _free_port()
    env = {**os.environ, "COCKPIT_HOME": str(home), "COCKPIT_PII_SALT": SALT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        yield port, output
    finally:
        proc.terminate()
        output.append(proc.communicate(timeout=30)[0])


def test_serve_runs_workers_that_answer_on_localhost(loaded_demo):
    with serving(loaded_demo.home.root, workers=2) as (port, output):
        body = _answer(port, "/pipeline")
        assert body is not None, "the server did not answer within 60 s"
        assert "<title>" in body and "_dash-config" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=5) as response:
            assert response.status == 200
    assert "Booting worker" in output[0] and output[0].count("Booting worker") >= 2


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
    with serving(tmp_path, workers=1) as (port, output):
        layout = _answer(port, "/_dash-layout")
        assert layout is not None, "the server did not answer within 60 s"
        assert "CURRENT does not name a release file" in layout  # the red banner names the problem
    assert "warning: CURRENT does not name a release file" in output[0]
