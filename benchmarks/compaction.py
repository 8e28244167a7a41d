"""Lake compaction benchmark: the same lake as day partitions and with its closed months compacted
(warehouse/compaction.py), read and built from scratch.

Run: python -m benchmarks.compaction [--home DIR] [--scale 1] [--days 365] [--repeat 2]

Without --home a demo street is generated and loaded into a temporary home first. The home's lake is copied
twice: every month opened back into day partitions, and every closed month compacted. For each copy it prints
the number of files, the time DuckDB takes to read each lake table whole into memory (the floor a build
cannot beat), and the time of a release built from scratch (`build_release`, best of --repeat, the two
layouts taking turns); then the ratios, and whether the two releases hold the same rows (their digests).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path


def _prepare_home(args) -> Path:
    if args.home:
        return Path(args.home).resolve()
    from pipelines.demo import generate
    from pipelines.run import run_pipeline
    from warehouse.paths import Home

    root = Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    home = Home(root).ensure()
    end = date(2026, 11, 19)
    print(f"generating scale {args.scale} × {args.days} days into {root} …", flush=True)
    generate(home.landing, days=args.days, start=end - timedelta(days=args.days - 1), scale=args.scale, seed=7)
    print(run_pipeline(home, salt="bench").build, flush=True)
    return root


def _layouts(lake: Path, work: Path, through: date) -> dict[str, Path]:
    """Two copies of `lake`: day partitions only, and closed months compacted."""
    from warehouse import compaction

    days, months = work / "days", work / "months"
    for target in (days, months):
        shutil.copytree(lake, target)
    for path in compaction.month_files(days):
        compaction.open_month(days, path.stem, compaction.month_start(path), table=path.parent.parent.name)
    compaction.compact(months, through)
    return {"day partitions": days, "month files": months}


def _read_floor(lake: Path) -> float:
    """Seconds DuckDB takes to read every lake table whole into memory, as the build's views read it."""
    import duckdb

    from warehouse import compaction

    con = duckdb.connect()
    started = time.perf_counter()
    for table in sorted(path for path in lake.iterdir() if path.is_dir()):
        if compaction.has_files(table):
            con.execute(f"CREATE OR REPLACE TEMP TABLE t AS {compaction.lake_relation(table)}")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def _build(lake: Path, target: Path, through: date) -> float:
    from pipelines.mapping import added_codes, load_mappings
    from warehouse.build import build_release

    target.unlink(missing_ok=True)
    started = time.perf_counter()
    build_release(
        lake, target, run_id="bench", data_through=through, is_demo=True, code_rows=added_codes(load_mappings())
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an already loaded COCKPIT_HOME (default: generate one)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    import duckdb

    from warehouse import compaction
    from warehouse.digest import differences, table_digests
    from warehouse.paths import Home
    from warehouse.releases import current_release

    home = Home(_prepare_home(args))
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        through = con.execute("SELECT data_through FROM meta_release").fetchall()[0][0]
    work = Path(tempfile.mkdtemp(prefix="cockpit-compaction-"))
    try:
        layouts = _layouts(home.lake, work, through)
        times: dict[str, list[float]] = {name: [] for name in layouts}
        for _ in range(args.repeat):
            for name, lake in layouts.items():
                times[name].append(_build(lake, work / f"{name.split()[0]}.duckdb", through))
        print(f"\nlake of {home.root}, data through {through}: a release built from scratch (best of {args.repeat})")
        print(f"{'layout':<16}{'files':>8}{'read floor s':>14}{'build s':>10}")
        figures = {}
        for name, lake in layouts.items():
            files = len(list(lake.glob("*/*/*.parquet")))
            figures[name] = (_read_floor(lake), min(times[name]))
            print(f"{name:<16}{files:>8}{figures[name][0]:>14.2f}{figures[name][1]:>10.2f}")
        (days_read, days_build), (months_read, months_build) = figures.values()
        print(
            f"month files / day partitions: read {months_read / days_read:.2f}, build {months_build / days_build:.2f}"
            f" ({len(compaction.month_files(layouts['month files']))} month files)"
        )
        digests = []
        for name in layouts:
            with duckdb.connect(str(work / f"{name.split()[0]}.duckdb"), read_only=True) as con:
                digests.append(
                    {k: v for k, v in table_digests(con).items() if k not in ("meta_lake_file", "meta_release")}
                )
        print(f"same rows in both releases: {differences(*digests) == []}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.home:
            shutil.rmtree(home.root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
