"""The audit page's reads against a trail of a given size: the chain check, one page, the count, an export.

    python -m benchmarks.audit [--entries 100000 500000]

A trail of N entries (50 users, a mix of actions over 180 days) is written into a fresh state database; then
each read the /audit page and its export make is timed once: `audit.verify` (the chain status, run in a
callback after the page appears), the count and one 50-entry page with and without a user filter, and the
CSV export of one user's entries. Prints seconds and entries verified per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ACTIONS = ("login", "export", "denied", "logout", "brief")


def build(root: Path, entries: int):
    from cockpit.access import audit
    from cockpit.access.state import open_state, transaction
    from warehouse.paths import Home

    home = Home(root).ensure()
    conn = open_state(home.state_db)
    start = datetime.now(UTC) - timedelta(days=180)
    step = timedelta(days=180) / entries
    with transaction(conn):
        for i in range(entries):
            audit.append_in_transaction(
                conn,
                f"user{i % 50}",
                ACTIONS[i % len(ACTIONS)],
                target="records.csv",
                detail={"rows": i, "kpi": "tickets_received", "filters": {"community": "S01C001"}},
                now=start + step * i,
            )
    return conn


def timed(function) -> tuple[float, object]:
    began = time.perf_counter()
    result = function()
    return time.perf_counter() - began, result


def run(entries: int) -> None:
    from cockpit.access import audit
    from cockpit.components.audit_trail import AuditFilter, _batches, export_schema
    from cockpit.exports import csv_chunks

    with tempfile.TemporaryDirectory() as tmp:
        conn = build(Path(tmp) / "home", entries)
        through = audit.last_seq(conn)
        verify_s, verified = timed(lambda: audit.verify(conn))
        page_s, _ = timed(lambda: audit.entries(conn, limit=50, offset=500, through_seq=through))
        count_s, _ = timed(lambda: audit.count(conn, through_seq=through))
        user = AuditFilter(user="user7").bounds()
        user_page_s, _ = timed(lambda: audit.entries(conn, **user, limit=50, offset=500, through_seq=through))
        user_count_s, user_total = timed(lambda: audit.count(conn, **user, through_seq=through))
        wanted = AuditFilter(user="user7")
        export_s, size = timed(
            lambda: sum(
                len(chunk)
                for chunk in csv_chunks([], export_schema(), _batches(conn, wanted, through, user_total, "zh"))
            )
        )
        print(
            f"{entries:>8,} entries | verify {verify_s:6.2f} s ({verified.checked / verify_s:,.0f}/s) | "
            f"page {page_s * 1000:5.1f} ms, count {count_s * 1000:5.1f} ms | "
            f"one user: page {user_page_s * 1000:5.1f} ms, count {user_count_s * 1000:5.1f} ms, "
            f"CSV of {user_total:,} entries {export_s:5.2f} s ({size / 2**20:.1f} MiB)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[100_000])
    args = parser.parse_args(argv)
    for entries in args.entries:
        run(entries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
