"""How `cockpit serve` runs gunicorn in production, and why: a gunicorn config module plus the command line.

The set-up is chosen for slow and hostile clients on an intranet with no proxy in front:

- **Threaded workers (gthread), THREADS threads each.** A sync worker holds one connection at a
  time, so two clients that send headers byte by byte (slowloris) or never read an export stall
  every other user and, past `timeout`, get the worker killed. A gthread worker parks idle and
  kept-alive connections in its main loop and gives a thread only to a connection that is
  sending; its heartbeat comes from that loop, so a thread busy for minutes on a large export
  never gets the worker killed. Idle threads cost almost nothing, so there are plenty: a few
  stuck clients take a few threads, not the service. Async workers (gevent) were not chosen:
  DuckDB and pandas work in C without yielding to the event loop, so one long query would
  freeze every connection of the worker.
- **No --preload.** Preloading would import the app once and fork it, but building the app
  opens the DuckDB release (Dash validates the layout, which reads the freshness badge), and a
  DuckDB connection with its thread pool must not cross a fork. Each worker builds its own app.
- **Warmed before the first request** (cockpit/wsgi.py): Dash registers its JS bundles and the
  pages router on a worker's first request, behind a flag that is set before the work is done,
  so concurrent first requests in a threaded worker raced it (500s on the bundles). The worker
  renders the index once while loading, before it accepts a connection; no request sees the
  half-set-up app.
- **Timeouts.** `timeout` only bounds a worker's main loop (threads report through it);
  `graceful_timeout` lets exports in flight finish on a restart; `keepalive` is short, so
  parked connections do not pile up; a connection that opens and sends nothing is closed after
  it.
- **Request limits.** Request line, header count and header size are capped (gunicorn answers
  400), so a client cannot make a thread buffer without end.
- **Own control socket.** gunicorn 23+ opens a control socket, by default one per user
  (~/.gunicorn/gunicorn.ctl): a second instance on the host would unlink and take over the
  first one's. Each instance gets one named after its home and port (`control_socket_path`).

Many hostile clients (hundreds of slowloris sockets) are a job for a buffering reverse proxy
(nginx) in front; `benchmarks/serving.py` measures this set-up with 10 slowloris connections and
4 large exports in flight.

Used as `gunicorn -c python:cockpit.serving …`; the module-level names below are gunicorn settings.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

WORKER_CLASS = "gthread"
THREADS = 32
TIMEOUT_S = 60
GRACEFUL_TIMEOUT_S = 30
KEEPALIVE_S = 5
# Dash's URLs are short (state travels in POST bodies); 8 KiB leaves room for a long shared link.
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 50
LIMIT_REQUEST_FIELD_SIZE = 8190
# AF_UNIX paths are limited to 108 bytes on Linux (104 on macOS).
_SOCKET_PATH_MAX = 100

# ---- gunicorn settings (read by `-c python:cockpit.serving`) ----------------------------
worker_class = WORKER_CLASS
threads = THREADS
timeout = TIMEOUT_S
graceful_timeout = GRACEFUL_TIMEOUT_S
keepalive = KEEPALIVE_S
limit_request_line = LIMIT_REQUEST_LINE
limit_request_fields = LIMIT_REQUEST_FIELDS
limit_request_field_size = LIMIT_REQUEST_FIELD_SIZE
accesslog = "-"


def control_socket_path(home: Path, port: int) -> Path:
    """This instance's gunicorn control socket: under the home's run/ folder, or the temp dir when that path is long."""
    path = home / "run" / f"gunicorn-{port}.ctl"
    if len(str(path)) <= _SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"cockpit-{digest}-{port}.ctl"


def gunicorn_command(home: Path, host: str, port: int, workers: int) -> list[str]:
    """The command line `cockpit serve` replaces itself with."""
    socket_path = control_socket_path(home, port)
    socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        f"python:{__name__}",
        "--workers",
        str(workers),
        "--bind",
        f"{host}:{port}",
        "--control-socket",
        str(socket_path),
        "cockpit.wsgi:server",
    ]
