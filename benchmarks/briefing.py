"""Briefing render time: `cockpit brief --period month` end to end, as cron or a user runs it.

    python -m benchmarks.briefing --home DIR [--runs 3] [--period month]
    python -m benchmarks.briefing --scale 1 --days 365      (generate and load a street first)

Each run is a fresh process (a cold cache: every number queried, Chromium launched, the PDF
printed and its text layer fixed). Prints seconds per run, pages and size, and the ratio of the
slowest run to the 20 s target for a month at scale 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pypdf import PdfReader

from benchmarks.callbacks import _prepare_home

TARGET_SECONDS = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an already loaded COCKPIT_HOME (default: generate one)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--period", default="month")
    args = parser.parse_args(argv)
    root = _prepare_home(args)
    env = {**os.environ, "COCKPIT_HOME": str(root)}
    print(f"`cockpit brief --period {args.period}` on {root}")
    print(f"{'run':>4}{'seconds':>9}{'pages':>7}{'KiB':>7}")
    times = []
    with tempfile.TemporaryDirectory() as work:
        for run in range(1, args.runs + 1):
            out = Path(work) / f"brief-{run}.pdf"
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "cockpit.cli", "brief", "--period", args.period, "--out", str(out)],
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
            if result.returncode != 0:
                print(result.stderr.strip())
                return 1
            times.append(seconds)
            pages = len(PdfReader(out).pages)
            print(f"{run:>4}{seconds:>9.1f}{pages:>7}{out.stat().st_size / 1024:>7.0f}")
    print(f"slowest {max(times):.1f} s: ratio to the {TARGET_SECONDS:.0f} s target {max(times) / TARGET_SECONDS:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
