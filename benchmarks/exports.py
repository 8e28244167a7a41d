"""Export benchmark: peak memory and time of one large record export, the old way against the streamed way.

Run: python -m benchmarks.exports [--rows 200000] [--format xlsx|csv|both]

A release file holding a sensor fact of --rows hourly rows (the shape of
fct_sensor_hourly, as a 30-day demo street has about 200k of them) is made in
a temporary home. Each way then exports every row behind the sensor
data-quality KPI in a fresh process, so that its peak resident memory is its own:

- whole: the rows read into one pandas frame and written by pandas (to_excel /
  to_csv) into one in-memory file, as the exports were written before;
- streamed: the rows read in Arrow batches and written as they come (CSV
  chunks; xlsxwriter in constant-memory mode into a temporary file), as
  /export/records.<fmt> and the export jobs write them now.

It prints, per format and way, the seconds and the peak RSS (and the RSS
growth over the process before the export), and the streamed/whole ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import duckdb

KPI = "sensor_data_quality_rate"
DAY = date(2026, 11, 1)


def make_release(root: Path, rows: int) -> None:
    """A minimal published release: meta_release and a sensor fact of `rows` rows within November 2026."""
    from warehouse.paths import Home
    from warehouse.releases import publish

    home = Home(root).ensure()
    release = home.releases / "bench.duckdb"
    with duckdb.connect(str(release)) as con:
        con.execute(
            "CREATE TABLE meta_release AS SELECT 'bench' AS run_id, now()::TIMESTAMP AS built_at, "
            "TIMESTAMP '2026-11-30 23:59:59' AS as_of, DATE '2026-11-30' AS data_through, true AS is_demo, "
            "'' AS lake_path"
        )
        # 1,000 devices × consecutive hours: the grain of fct_sensor_hourly.
        con.execute(
            f"""
            CREATE TABLE fct_sensor_hourly AS
            SELECT printf('EL%07d', i % 1000) AS device_id, 'electricity' AS kind, 'current_a' AS metric,
                   TIMESTAMP '2026-11-01' + INTERVAL (i // 1000) HOUR AS hour,
                   printf('S01C%03dG%02d', i % 57, i % 7) AS grid_id, printf('S01C%03d', i % 57) AS community_id,
                   (i % 4)::INTEGER AS readings, round(10 + (i % 997) / 37.0, 2) AS value_avg,
                   round(9 + (i % 991) / 41.0, 2) AS value_min, round(11 + (i % 983) / 33.0, 2) AS value_max,
                   i % 101 = 0 AS is_spike, i % 211 = 0 AS is_stuck, i % 4 = 0 AS is_gap,
                   CASE WHEN i % 4 = 0 THEN 'gap' WHEN i % 101 = 0 THEN 'spike' ELSE 'ok' END AS quality,
                   round(12 + (i % 89) / 7.0, 2) AS neighbour_median
            FROM range({rows}) AS t(i)
            """
        )
    publish(home, release)


def export_once(root: Path, way: str, fmt: str, rows: int) -> dict:
    """Run in a child process: one export of every row, returning seconds and memory figures."""
    import pandas as pd

    from cockpit.components.records import export_header
    from cockpit.data import Warehouse
    from cockpit.exports import ExportSpec, csv_chunks, write_xlsx
    from cockpit.metrics import Period
    from warehouse.paths import Home

    warehouse = Warehouse(Home(root))
    period = Period(DAY, date(2026, 11, 30))
    spec = ExportSpec(KPI, period, {}, fmt, "zh")
    warehouse.records(KPI, period, limit=10)  # open the release and warm the column cache before measuring
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if way == "whole":
        frame, total = warehouse.records(KPI, period, limit=rows)
        header = export_header(spec, warehouse.info, len(frame), total)
        if fmt == "csv":
            buffer = io.StringIO()
            for key, value in header:
                buffer.write(f"# {key},{value}\n")
            frame.to_csv(buffer, index=False)
            size = len(("\ufeff" + buffer.getvalue()).encode("utf-8"))
        else:
            out = io.BytesIO()
            with pd.ExcelWriter(out, engine="xlsxwriter") as excel:
                pd.DataFrame(header).to_excel(excel, sheet_name="records", index=False, header=False)
                frame.to_excel(excel, sheet_name="records", index=False, startrow=len(header) + 1)
            size = len(out.getvalue())
    else:
        stream = warehouse.record_stream(KPI, period, limit=rows)
        header = export_header(spec, stream.info, stream.total, stream.total)
        with tempfile.TemporaryFile() as out:
            if fmt == "csv":
                for chunk in csv_chunks(header, stream.schema, stream):
                    out.write(chunk)
            else:
                write_xlsx(out, header, stream.schema, stream, "records")
            size = out.seek(0, io.SEEK_END)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mb": peak_kb / 1024, "growth_mb": (peak_kb - before_kb) / 1024, "bytes": size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--format", choices=("xlsx", "csv", "both"), default="xlsx")
    parser.add_argument("--child", nargs=3, metavar=("HOME", "WAY", "FMT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        home, way, fmt = args.child
        print(json.dumps(export_once(Path(home), way, fmt, args.rows)))
        return
    formats = ("xlsx", "csv") if args.format == "both" else (args.format,)
    with tempfile.TemporaryDirectory() as root:
        make_release(Path(root), args.rows)
        print(f"{args.rows:,} sensor rows, {datetime.now():%Y-%m-%d %H:%M}")
        print(f"{'format':6} {'way':9} {'seconds':>8} {'peak MB':>8} {'growth MB':>10} {'file MB':>8}")
        for fmt in formats:
            figures = {}
            for way in ("whole", "streamed"):
                child = [
                    sys.executable,
                    "-m",
                    "benchmarks.exports",
                    "--rows",
                    str(args.rows),
                    "--child",
                    root,
                    way,
                    fmt,
                ]
                figures[way] = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
                f = figures[way]
                print(
                    f"{fmt:6} {way:9} {f['seconds']:8.1f} {f['peak_mb']:8.0f} {f['growth_mb']:10.0f} "
                    f"{f['bytes'] / 2**20:8.1f}"
                )
            whole, streamed = figures["whole"], figures["streamed"]
            print(
                f"{fmt:6} streamed/whole: time ×{streamed['seconds'] / whole['seconds']:.2f}, "
                f"memory growth ×{streamed['growth_mb'] / max(whole['growth_mb'], 1):.2f}"
            )


if __name__ == "__main__":
    main()
