"""Pipeline benchmark: demo generation, full load, one nightly day (built on the current release, then built from
scratch), sizes, and KPI query ratios.

Run: python -m benchmarks.pipeline [--scale 1] [--days 365] [--nights 3] [--home DIR]

Each stage runs the real `cockpit` command in a child process, so the peak
memory printed is that stage's own maximum resident set. KPI timings compare
the metric catalog's compute() with the raw DuckDB SQL for the same number
(the floor) and with a naive pandas version that loads the fact table first
(what a typical dashboard tutorial does). Targets (2 cores): a year at scale 1
through the pipeline in ≤ 120 s and ≤ 4 GiB; one nightly day in ≤ 2 s. The nightly
day is loaded twice: built on the current release (what cron does), and the next
day with `--full` (built from scratch, the floor it is measured against). The night on the current release
runs `--nights` times from the same home, its median printed with each run. Both
nights are the generator's own next days, held back from the landing folder until
their night comes, so registers and snapshots arrive on their cadence, not anew.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pipelines.run import time_text

TARGETS = {"pipeline_full_s": 120.0, "pipeline_peak_gib": 4.0, "pipeline_day_s": 2.0}


def _stage(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run one cockpit command in a child; return (seconds, peak RSS GiB, stdout)."""
    wrapper = (
        "import resource, subprocess, sys, json;"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "sys.stderr.write(r.stderr[-2000:]);"
        "print(json.dumps({'rc': r.returncode, 'out': r.stdout,"
        " 'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-m", "cockpit.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    seconds = time.perf_counter() - started
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] not in (0,):
        raise SystemExit(f"cockpit {' '.join(args)} failed ({result['rc']}): {done.stderr.strip()[-500:]}")
    return seconds, result["maxrss_kb"] / 2**20, result["out"]


def _hold_back(landing: Path, day: date) -> list[tuple[Path, Path]]:
    """Move a landing day's folders aside (its night has not come); returns (aside, back) pairs for _deliver."""
    aside = landing.parent / "held-back" / day.isoformat()
    moves = []
    for folder in sorted(landing.glob(f"*/{day.isoformat()}")):
        target = aside / folder.parent.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(folder, target / folder.name)
        moves.append((target / folder.name, folder))
    return moves


def _deliver(moves: list[tuple[Path, Path]]) -> None:
    for aside, back in moves:
        shutil.move(aside, back)


# What a night changes in a home: put back before each repeat of the same night.
NIGHT_STATE = ("lake", "quarantine", "warehouse", "cache")


def _nights(args: list[str], env: dict[str, str], home: Path, runs: int) -> list[tuple[float, float, str]]:
    """The same night `runs` times, each from the home as it was before it: one run's luck with the disk and the
    page cache (the writes of the stage before it still going out, for one) does not stand for the night.
    The last run's release stays."""
    before = home.parent / f"{home.name}.before-night"
    for name in NIGHT_STATE:
        shutil.copytree(home / name, before / name, symlinks=True)
    try:
        results = []
        for run in range(runs):
            if run:
                for name in NIGHT_STATE:
                    shutil.rmtree(home / name)
                    shutil.copytree(before / name, home / name, symlinks=True)
            results.append(_stage(args, env))
        return results
    finally:
        shutil.rmtree(before, ignore_errors=True)


def _size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _best_of(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# Raw SQL and naive pandas for the same numbers as the catalog (period bound as [start, end)).
RAW_SQL = {
    "tickets_received": "SELECT count(*) FROM fct_ticket "
    "WHERE received_at >= $s AND received_at < $e AND duplicate_of IS NULL",
    "on_time_rate": "SELECT count(*) FILTER (WHERE is_resolved AND is_on_time) "
    "/ nullif(count(*) FILTER (WHERE is_resolved), 0) "
    "FROM fct_ticket WHERE resolved_at >= $s AND resolved_at < $e AND duplicate_of IS NULL",
    "video_online_rate": "SELECT count(*) FILTER (WHERE is_online) / nullif(count(*), 0) FROM fct_video_status "
    "WHERE status_date >= $s AND status_date < $e",
    "approval_on_time_rate": "SELECT count(*) FILTER (WHERE is_completed AND is_on_time) "
    "/ nullif(count(*) FILTER (WHERE is_completed), 0) "
    "FROM fct_approval WHERE completed_at >= $s AND completed_at < $e",
}


def _rate(rows, flag: str, base: str) -> float:
    return rows[flag].fillna(False).astype(bool).sum() / max(rows[base].fillna(False).astype(bool).sum(), 1)


NAIVE_PANDAS = {
    "tickets_received": (
        "fct_ticket",
        lambda df, s, e: int(((df.received_at >= s) & (df.received_at < e) & df.duplicate_of.isna()).sum()),
    ),
    "on_time_rate": (
        "fct_ticket",
        lambda df, s, e: _rate(
            df[(df.resolved_at >= s) & (df.resolved_at < e) & df.duplicate_of.isna()], "is_on_time", "is_resolved"
        ),
    ),
    "video_online_rate": (
        "fct_video_status",
        lambda df, s, e: df[(df.status_date >= s) & (df.status_date < e)].is_online.mean(),
    ),
    "approval_on_time_rate": (
        "fct_approval",
        lambda df, s, e: _rate(df[(df.completed_at >= s) & (df.completed_at < e)], "is_on_time", "is_completed"),
    ),
}


def kpi_ratios(release: Path) -> list[dict]:
    import pandas as pd

    from cockpit.metrics import Period, compute, load_catalog
    from warehouse.releases import open_release

    catalog = load_catalog()
    con = open_release(release)
    through = con.execute("SELECT data_through FROM meta_release").fetchone()[0]
    period = Period(through - timedelta(days=29), through)
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end + timedelta(days=1))
    rows = []
    for metric_id, sql in RAW_SQL.items():
        if metric_id not in catalog:
            continue
        catalog_value = compute(con, metric_id, period, compare=False)["value"].iloc[0]
        raw_value = con.execute(sql, {"s": start.to_pydatetime(), "e": end.to_pydatetime()}).fetchone()[0]
        t_catalog = _best_of(lambda m=metric_id: compute(con, m, period, compare=False))
        t_compare = _best_of(lambda m=metric_id: compute(con, m, period, compare=True))
        t_raw = _best_of(
            lambda q=sql: con.execute(q, {"s": start.to_pydatetime(), "e": end.to_pydatetime()}).fetchone()
        )
        table, naive = NAIVE_PANDAS[metric_id]
        t_naive = _best_of(lambda t=table, f=naive: f(con.execute(f"SELECT * FROM {t}").df(), start, end), repeat=3)
        rows.append(
            {
                "kpi": metric_id,
                "value": catalog_value,
                "raw_value": raw_value,
                "catalog_ms": t_catalog * 1000,
                "catalog_with_mom_yoy_ms": t_compare * 1000,
                "raw_sql_ms": t_raw * 1000,
                "naive_pandas_ms": t_naive * 1000,
            }
        )
    con.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--home", type=Path, help="COCKPIT_HOME to use (default: a temp folder, deleted after)")
    parser.add_argument(
        "--nights",
        type=int,
        default=3,
        help="run the nightly day this many times, each from the same home, and take the median (default 3)",
    )
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=date(2026, 11, 19),
        help="last demo day (fixed, so runs are comparable)",
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    env = {**os.environ, "COCKPIT_HOME": str(home), "COCKPIT_PII_SALT": "benchmark"}
    try:
        print(f"# pipeline benchmark · scale {args.scale} × {args.days} days · {os.cpu_count()} cores")
        nights = [args.end + timedelta(days=1), args.end + timedelta(days=2)]
        gen_s, gen_gib, _ = _stage(
            [
                "demo",
                "--days",
                str(args.days + 2),
                "--end",
                nights[-1].isoformat(),
                "--scale",
                str(args.scale),
                "--clean",
            ],
            env,
        )
        held = {night: _hold_back(home / "landing", night) for night in nights}
        landing_mib = _size_mib(home / "landing")
        full_s, full_gib, out = _stage(["pipeline", "run", "--all", "--json"], env)
        summary = json.loads(out)
        lake_mib, release = _size_mib(home / "lake"), home / "warehouse" / "releases" / summary["release"]
        _deliver(held[nights[0]])
        night_runs = _nights(["pipeline", "run", "--json"], env, home, args.nights)
        day_s = statistics.median(seconds for seconds, _, _ in night_runs)
        day_gib = max(peak for _, peak, _ in night_runs)
        out_day = night_runs[-1][2]
        day_summary = json.loads(out_day)
        _deliver(held[nights[1]])
        scratch_s, scratch_gib, out_scratch = _stage(["pipeline", "run", "--full", "--json"], env)
        scratch_summary = json.loads(out_scratch)
        release_mib = {
            name: (home / "warehouse" / "releases" / s["release"]).stat().st_size / 2**20
            for name, s in (("night", day_summary), ("scratch", scratch_summary))
        }
        figures = [
            ("demo generation", f"{gen_s:.1f} s", f"peak {gen_gib:.2f} GiB", f"landing {landing_mib:.0f} MiB"),
            (
                "pipeline, full year",
                f"{full_s:.1f} s",
                f"peak {full_gib:.2f} GiB",
                f"{summary['totals']['rows_loaded']:,} rows loaded, "
                f"{summary['totals']['rows_quarantined']:,} quarantined",
            ),
            (
                "pipeline, one nightly day",
                f"{day_s:.1f} s",
                f"peak {day_gib:.2f} GiB",
                f"{day_summary['totals']['rows_loaded']:,} rows loaded; {day_summary['build']}",
            ),
            (
                f"  median of {len(night_runs)} runs",
                "",
                "",
                "each from the same home: " + ", ".join(f"{seconds:.2f} s" for seconds, _, _ in night_runs),
            ),
            (
                "  the next day, --full",
                f"{scratch_s:.1f} s",
                f"peak {scratch_gib:.2f} GiB",
                f"{scratch_summary['totals']['rows_loaded']:,} rows loaded; {scratch_summary['build']}",
            ),
            ("lake size", f"{lake_mib:.0f} MiB", "", ""),
            (
                "release size",
                f"{release.stat().st_size / 2**20:.0f} MiB",
                "",
                f"built on the current one {release_mib['night']:.0f} MiB, "
                f"from scratch {release_mib['scratch']:.0f} MiB",
            ),
        ]
        for row in figures:
            print(f"{row[0]:<28}{row[1]:>10}  {row[2]:<18}{row[3]}")
        # Where each run's time went (RunSummary.stages, the build's slowest steps): the stage that grows first.
        for name, each in (("full year", summary), ("nightly day", day_summary), ("next day, --full", scratch_summary)):
            print(f"  {name:<20} {time_text(each, slowest=5)}")
        print(f"nightly day built on the current release / from scratch: {day_s / scratch_s:.2f}")
        if args.scale == 1 and args.days >= 365:
            print(
                f"target ratios (≤ 1.00 meets the target): full {full_s / TARGETS['pipeline_full_s']:.2f}, "
                f"peak memory {full_gib / TARGETS['pipeline_peak_gib']:.2f}, "
                f"nightly day {day_s / TARGETS['pipeline_day_s']:.2f}"
            )
        print("\n# KPI query time: catalog compute() vs raw DuckDB SQL vs naive pandas (median)")
        print(
            f"{'kpi':<26}{'catalog ms':>11}{'+mom/yoy':>10}{'raw ms':>9}{'pandas ms':>11}"
            f"{'cat/raw':>9}{'pandas/cat':>11}  same value"
        )
        for r in kpi_ratios(home / "warehouse" / "releases" / day_summary["release"]):
            same = r["value"] == r["raw_value"] or abs(float(r["value"]) - float(r["raw_value"])) < 1e-9
            print(
                f"{r['kpi']:<26}{r['catalog_ms']:>11.2f}{r['catalog_with_mom_yoy_ms']:>10.2f}{r['raw_sql_ms']:>9.2f}"
                f"{r['naive_pandas_ms']:>11.1f}{r['catalog_ms'] / r['raw_sql_ms']:>9.2f}"
                f"{r['naive_pandas_ms'] / r['catalog_ms']:>11.1f}  {same}"
            )
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
