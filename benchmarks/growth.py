"""Growth benchmark: how the pipeline's time and memory grow with the street's size, on both engines.

Run: python -m benchmarks.growth [--scales 1 3 10] [--days 365] [--nights 3] [--spark]

For each scale (1 = one street; 10 ≈ a district), in a home of its own: the demo generated with one more
day held back; the full year loaded (`pipeline run --all`, DuckDB), its time and peak memory; the held-back
night loaded on the release (`pipeline run`, the median of `--nights` runs from the same home); with --spark,
the same lake's marts built by Spark in local mode (`build_release(engine="spark")`, the SQL models only, in a
child process). The floor is the time
DuckDB needs just to read the same landing files into memory (CSV and JSON Lines with DuckDB's readers,
Excel workbooks with calamine, the pipeline's own reader): the pipeline's full-year time is printed as a
multiple of it (target ≤ 3). Then each figure's growth against the first scale, and a straight-line
extrapolation to a city of 100 streets from the last two scales.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.pipeline import _deliver, _hold_back, _nights, _stage
from pipelines.run import time_text

END = date(2026, 11, 19)
CITY_STREETS = 100


def landing_floor(landing: Path) -> float:
    """Seconds for DuckDB to read every landing CSV and JSON Lines file into memory, plus calamine for the
    workbooks (DuckDB reads no Excel without an extension download). GeoJSON boundaries are left out."""
    import io

    import duckdb
    import pyarrow.csv
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    con = duckdb.connect()
    for number, path in enumerate(sorted(landing.rglob("*"))):
        if path.suffix == ".csv":
            try:
                reader = f"read_csv('{path}', all_varchar = true, ignore_errors = true)"
                con.execute(f"CREATE TABLE t{number} AS SELECT * FROM {reader}")
            except duckdb.Error:  # GB18030: DuckDB reads it only with its encodings extension (a download)
                text = path.read_bytes().decode("gb18030", errors="replace").encode()
                skip = pyarrow.csv.ParseOptions(invalid_row_handler=lambda row: "skip")
                con.register(f"t{number}", pyarrow.csv.read_csv(io.BytesIO(text), parse_options=skip))
        elif path.suffix == ".jsonl":
            con.execute(f"CREATE TABLE t{number} AS SELECT * FROM read_json('{path}', format = 'newline_delimited')")
        elif path.suffix == ".xlsx":
            book = CalamineWorkbook.from_path(str(path))
            for name in book.sheet_names:
                book.get_sheet_by_name(name).to_python()
    con.close()
    return time.perf_counter() - started


def spark_build(home: Path) -> tuple[float, float]:
    """Seconds and peak GiB of a Spark build of the home's lake (in a child process, its JVM included)."""
    script = (
        "import sys, duckdb; from pathlib import Path; "
        "from pipelines.mapping import added_codes, load_mappings; "
        "from warehouse.build import build_release; from warehouse.releases import current_release; "
        "from warehouse.paths import Home; home = Home(Path(sys.argv[1])); "
        "con = duckdb.connect(str(current_release(home)), read_only=True); "
        "through = con.execute('SELECT data_through FROM meta_release').fetchall()[0][0]; con.close(); "
        "build_release(home.lake, Path(sys.argv[2]), run_id='spark', data_through=through, is_demo=True, "
        "code_rows=added_codes(load_mappings()), engine='spark')"
    )
    target = home / "spark-growth.duckdb"
    wrapper = (
        "import resource, subprocess, sys, json;"
        "r = subprocess.run(sys.argv[1:]);"
        "print(json.dumps({'rc': r.returncode, 'kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
    )
    started = time.perf_counter()
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-c", script, str(home), str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    result = json.loads(done.stdout.strip().splitlines()[-1])
    target.unlink(missing_ok=True)
    if result["rc"]:
        raise SystemExit(f"Spark build failed: {done.stderr.strip()[-400:]}")
    # The JVM is a grandchild: its peak is not in RUSAGE_CHILDREN of the Python child, so this is Python's.
    return seconds, result["kb"] / 2**20


def measure(scale: float, days: int, spark: bool, nights: int = 3) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"cockpit-growth-{scale}-"))
    env = {**os.environ, "COCKPIT_HOME": str(home), "COCKPIT_PII_SALT": "benchmark"}
    try:
        night = END + timedelta(days=1)
        args = ["demo", "--days", str(days + 1), "--end", night.isoformat(), "--scale", str(scale), "--clean"]
        _stage(args, env)
        held = _hold_back(home / "landing", night)
        floor = landing_floor(home / "landing")
        full_s, full_gib, out = _stage(["pipeline", "run", "--all", "--json"], env)
        full = json.loads(out)
        _deliver(held)
        night_runs = _nights(["pipeline", "run", "--json"], env, home, nights)
        night_s = statistics.median(seconds for seconds, _, _ in night_runs)
        night_gib = max(peak for _, peak, _ in night_runs)
        figures = {
            "scale": scale,
            "rows": full["totals"]["rows_loaded"],
            "floor_s": floor,
            "full_s": full_s,
            "full_gib": full_gib,
            "night_s": night_s,
            "night_gib": night_gib,
            # where each run's time went (RunSummary.stages): the full year's, and the last night's
            "stages": {"full": full["stages"], "night": json.loads(night_runs[-1][2])["stages"]},
        }
        if spark:
            figures["spark_s"], _ = spark_build(home)
        return figures
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 3, 10])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--spark", action="store_true", help="also build each lake with Spark (local mode)")
    parser.add_argument("--nights", type=int, default=3, help="the night's runs, each from the same home (median)")
    args = parser.parse_args()
    print(f"# growth benchmark · {args.days} days · scales {args.scales} · {os.cpu_count()} cores")
    results = []
    header = f"{'scale':>6}{'rows':>13}{'floor s':>9}{'full s':>8}{'full/floor':>11}{'peak GiB':>9}{'night s':>9}"
    print(header + ("  spark s" if args.spark else ""), flush=True)
    for scale in args.scales:
        r = measure(scale, args.days, args.spark, args.nights)
        results.append(r)
        line = (
            f"{r['scale']:>6g}{r['rows']:>13,}{r['floor_s']:>9.1f}{r['full_s']:>8.1f}"
            f"{r['full_s'] / r['floor_s']:>11.2f}{r['full_gib']:>9.2f}{r['night_s']:>9.1f}"
        )
        print(line + (f"{r['spark_s']:>9.1f}" if args.spark else ""), flush=True)
    first = results[0]
    print("\n# growth against the first scale (rows ×, then each figure ×)")
    for r in results[1:]:
        grown = {k: r[k] / first[k] for k in ("rows", "full_s", "full_gib", "night_s") if first[k]}
        print("  ".join(f"{k} ×{v:.1f}" for k, v in grown.items()) + f"  (scale {r['scale']:g})")
    print("\n# where the time goes: each stage's seconds (the full year; the last night)")
    for r in results:
        for run in ("full", "night"):
            print(f"  scale {r['scale']:g} {run:<6}{time_text({'stages': r['stages'][run]})}")
    if len(results) >= 2:
        a, b = results[-2], results[-1]
        for run in ("full", "night"):
            grown = {
                stage: b["stages"][run].get(stage, 0.0)
                + (b["stages"][run].get(stage, 0.0) - a["stages"][run].get(stage, 0.0))
                / (b["scale"] - a["scale"])
                * (CITY_STREETS - b["scale"])
                for stage in b["stages"][run]
            }
            print(
                f"  {CITY_STREETS} streets, straight on, {run}: "
                + " · ".join(f"{stage} {seconds:.0f}" for stage, seconds in grown.items())
            )
        per_scale = {k: (b[k] - a[k]) / (b["scale"] - a["scale"]) for k in ("full_s", "full_gib", "night_s")}
        city = {k: b[k] + per_scale[k] * (CITY_STREETS - b["scale"]) for k in per_scale}
        print(
            f"\n# a city of {CITY_STREETS} streets, straight on from scales {a['scale']:g} and {b['scale']:g}: "
            f"full year {city['full_s'] / 60:.0f} min at {city['full_gib']:.0f} GiB peak, "
            f"a night {city['night_s']:.0f} s"
        )


if __name__ == "__main__":
    main()
