"""Hot-topics benchmark: what cutting ticket text costs a build, with and without the term cache, and what a
topics query costs a page.

Run: python -m benchmarks.topics --home DIR   (a home with a loaded release, e.g. scale 1 × 365 days)

The build step (`warehouse.terms.ticket_terms`) runs on a copy of the current release's tickets, first with
an empty cache (a first build, or a new vocabulary) and then with the cache it filled (every nightly build
after). The floor is the time DuckDB takes to read the same titles and texts. Topic queries are timed cold
(a new connection per query) for the last 30, 90 and 365 days: frequent (20, the word cloud), frequent with
a trend (10, the list) and rising (10).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from cockpit.metrics.period import Period
from cockpit.metrics.topics import hot_topics
from warehouse.paths import Home
from warehouse.releases import current_release
from warehouse.terms import ticket_terms


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    release = current_release(Home(args.home))
    if release is None:
        raise SystemExit(f"no current release under {args.home}: run `cockpit pipeline run` first")
    with duckdb.connect(str(release), read_only=True) as con:
        floor, texts = _timed(lambda: con.execute("SELECT ticket_id, title, content FROM fct_ticket").fetchall())
        distinct = con.execute("SELECT count(DISTINCT concat_ws('。', title, content)) FROM fct_ticket").fetchone()[0]
        with tempfile.TemporaryDirectory() as cache:
            cold, table = _timed(lambda: ticket_terms(con, Path(cache)))
            warm, _ = _timed(lambda: ticket_terms(con, Path(cache)))
        through = con.execute("SELECT data_through FROM meta_release").fetchone()[0]
    print(f"release {release.name}: {len(texts):,} tickets, {distinct:,} distinct texts, {table.num_rows:,} terms")
    print(f"reading the texts (floor)        {floor:6.2f} s")
    print(f"cutting, empty cache (first)     {cold:6.2f} s   ratio {cold / floor:7.1f}")
    print(f"cutting, filled cache (nightly)  {warm:6.2f} s   ratio {warm / floor:7.1f}")
    print("topic queries, cold:")
    for days in (30, 90, 365):
        period = Period(through - timedelta(days=days - 1), through)
        bucket = "day" if days <= 62 else "week"
        for label, options in (
            ("cloud (20)", {"limit": 20}),
            ("list (10, trend)", {"limit": 10, "bucket": bucket}),
            ("rising (10)", {"limit": 10, "bucket": bucket, "rising": True}),
        ):
            with duckdb.connect(str(release), read_only=True) as con:
                started = time.perf_counter()
                topics = hot_topics(con, period, **options)
                seconds = time.perf_counter() - started
            print(f"  last {days:3d} days  {label:17s} {seconds * 1000:6.0f} ms  {len(topics):2d} topics")


if __name__ == "__main__":
    main()
