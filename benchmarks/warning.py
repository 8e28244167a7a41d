"""Early-warning benchmark: how well surge detection finds the demo's labelled surges, and how the 7-day
forecast does against the seasonal naive on the last 8 weeks.

Run: python -m benchmarks.warning [--home DIR | --scale 1 --days 365]   (a demo home with a loaded release,
     or one generated here; the first BASELINE_DAYS days are not tested, and surges start after them)

Detection (cockpit/metrics/warning.py `flag_surges`) runs over every day loaded, as the page would over a
period that long. The truth is the manifest's `surges` (pipelines/demo/tickets.py): each names a category, a
community and days. Per cell-day, precision is the share of flagged days that are a labelled surge day and
recall the share of labelled surge days flagged; per surge, recall is the share of surges with any day
flagged. The labelled days fall where the detector can look (after the warm-up), by construction.

Forecast: for the street and each category with at least one ticket a day on average, each of the last 8
weeks is forecast from the days before it (`backtest`); the mean absolute error per day of the forecast
and of the seasonal naive, their ratio (below 1: the forecast is better) and the share of days inside
the 80 % interval.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks.callbacks import _prepare_home
from cockpit.metrics.warning import BASELINE_DAYS, HISTORY_DAYS, backtest, daily_cells, daily_series, flag_surges
from pipelines.demo.manifest import MANIFEST_NAME
from warehouse.paths import Home
from warehouse.releases import current_release

WEEKS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    home = Home(_prepare_home(args))
    release = current_release(home)
    if release is None:
        raise SystemExit(f"no current release under {home.root}: run `cockpit pipeline run` first")
    manifest = json.loads((home.landing / MANIFEST_NAME).read_text(encoding="utf-8"))
    truth = {
        (surge["category"], surge["community_id"], date.fromisoformat(surge["start"]) + timedelta(days=offset))
        for surge in manifest["surges"]
        for offset in range(len(surge["extra"]))
    }
    with duckdb.connect(str(release), read_only=True) as con:
        first, through = con.execute("SELECT min(received_date), max(received_date) FROM fct_ticket").fetchone()
        started = time.perf_counter()
        counts = daily_cells(con, first, through)
        flags = flag_surges(counts, first, through, first_day=first)
        seconds = time.perf_counter() - started
        flagged = {(row.category, row.community_id, row.day) for row in flags.itertuples()}
        hits = flagged & truth
        found = sum(
            any((surge["category"], surge["community_id"], day) in flagged for day in _days(surge))
            for surge in manifest["surges"]
        )
        print(f"release {release.name}: tickets {first} … {through}, {len(manifest['surges'])} labelled surges")
        print(f"detection over {(through - first).days + 1 - BASELINE_DAYS} tested days: {seconds:.2f} s")
        print(f"  flagged cell-days {len(flagged):4d}   labelled cell-days {len(truth):4d}   both {len(hits):4d}")
        print(f"  precision {len(hits) / max(len(flagged), 1):6.1%}   recall {len(hits) / max(len(truth), 1):6.1%}")
        labelled = len(manifest["surges"])
        print(f"  surges with a day flagged: {found} of {labelled} ({found / max(labelled, 1):.1%})")
        start = through - timedelta(days=HISTORY_DAYS + WEEKS * 7 - 1)
        series = {"(street)": daily_series(con, max(start, first), through)}
        recent = (
            counts[counts["day"] >= pd.Timestamp(start)]
            .groupby("category")["tickets"]
            .sum()
            .sort_values(ascending=False)
        )
        for category in recent[recent >= HISTORY_DAYS + WEEKS * 7].index:
            series[category] = daily_series(con, max(start, first), through, filters={"category": category})
    print(f"forecast, last {WEEKS} weeks, each forecast from the {HISTORY_DAYS} days before it (per day):")
    print(f"  {'series':22s} {'MAE':>7s} {'naive':>7s} {'ratio':>6s} {'in 80%':>7s}")
    ratios = []
    started = time.perf_counter()
    for name, values in series.items():
        result = backtest(values, WEEKS)
        ratio = result["mae"] / result["naive_mae"] if result["naive_mae"] else float("nan")
        ratios.append(ratio)
        print(f"  {name:22s} {result['mae']:7.2f} {result['naive_mae']:7.2f} {ratio:6.2f} {result['coverage']:7.1%}")
    better = sum(ratio < 1 for ratio in ratios)
    print(
        f"  forecast better than seasonal naive on {better} of {len(ratios)} series "
        f"({time.perf_counter() - started:.1f} s for {len(ratios) * WEEKS} fits)"
    )


def _days(surge: dict) -> list[date]:
    return [date.fromisoformat(surge["start"]) + timedelta(days=offset) for offset in range(len(surge["extra"]))]


if __name__ == "__main__":
    main()
