"""Household visits (走访) from the grid platform: two full rounds a year, each household once per round.

Round 1 runs January to June, round 2 July to December. When a round starts,
every household of the district is given the day it will be visited (weekdays
mostly, a little at weekends); about 1.5% are never reached. A day's export
lists the visits of that day, so coverage grows through the round.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from pipelines.demo.clock import HOURS, day_range, fmt_dt, impossible_time_text, rng_for
from pipelines.demo.context import Context
from pipelines.demo.writers import jsonl_bytes

ROUND_LABELS = {1: "第一轮", 2: "第二轮"}
REACHED = 0.985
VISIT_MODES = ["入户走访", "入户走访", "入户走访", "门口走访", "电话走访"]


def round_of(day: date) -> int:
    return 1 if day.month <= 6 else 2


class VisitRounds:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        d = ctx.district
        self.household_micro = np.repeat(np.arange(len(d.micro_id)), d.micro_households)
        starts = np.cumsum(d.micro_households) - d.micro_households
        self.household_no = np.arange(len(self.household_micro)) - np.repeat(starts, d.micro_households) + 1
        self.rounds: dict[tuple[int, int], dict] = {}

    def _plan_round(self, year: int, number: int) -> dict:
        """Every household's visit day in one round, sorted by day."""
        first = date(year, 1 if number == 1 else 7, 1)
        last = date(year, 6, 30) if number == 1 else date(year, 12, 31)
        days = day_range(first, last)
        rng = rng_for(self.ctx.seed, "visit-round", year, number)
        weekday = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.3, 0.12])[[d.weekday() for d in days]]
        # a campaign starts slowly, peaks in its middle months and tails off when most doors are done
        pos = np.linspace(0, 1, len(days))
        shape = 0.5 + np.minimum(pos * 6, 1) * 0.7 - np.maximum(pos - 0.75, 0) * 2
        p = weekday * shape
        n = len(self.household_micro)
        reached = np.flatnonzero(rng.random(n) < REACHED)
        day_of = rng.choice(len(days), size=len(reached), p=p / p.sum())
        order = np.argsort(day_of, kind="stable")
        return {
            "first": first,
            "day_of": day_of[order],
            "household": reached[order],
            "second": rng.choice(24, size=len(reached), p=HOURS["visit"]) * 3600 + rng.integers(0, 3600, len(reached)),
            "by_leader": rng.random(len(reached)) < 0.7,
            "needs": rng.poisson(0.15, len(reached)),
            "mode": rng.integers(0, len(VISIT_MODES), len(reached)),
        }

    def write_day(self, day: date, index: int) -> None:
        ctx, d = self.ctx, self.ctx.district
        number = round_of(day)
        key = (day.year, number)
        if key not in self.rounds:
            self.rounds = {key: self._plan_round(*key)}  # one round in memory at a time
        plan = self.rounds[key]
        offset = (day - plan["first"]).days
        lo, hi = np.searchsorted(plan["day_of"], [offset, offset + 1])
        if hi == lo:
            return
        sl = slice(lo, hi)
        seconds = np.sort(plan["second"][sl])  # the export lists visits in time order
        households = plan["household"][sl]
        base = datetime.combine(day, time())
        fmt = "%Y-%m-%d %H:%M"
        records = []
        for k, (h, s, leader, needs, mode) in enumerate(
            zip(
                households.tolist(),
                seconds.tolist(),
                plan["by_leader"][sl].tolist(),
                plan["needs"][sl].tolist(),
                plan["mode"][sl].tolist(),
                strict=True,
            ),
            start=1,
        ):
            m = self.household_micro[h]
            worker = d.micro_worker[m] if leader else d.comp_worker[d.micro_comp[m]]
            records.append(
                {
                    "visitId": f"ZF{day:%Y%m%d}{k:06d}",
                    "microGridCode": d.micro_id[m],
                    "householdCode": f"{d.micro_id[m]}-{self.household_no[h]:03d}",
                    "worker": {"id": d.worker_id[worker]},
                    "visitTime": fmt_dt(base + timedelta(seconds=s), fmt),
                    "round": ROUND_LABELS[number],
                    "visitMode": VISIT_MODES[mode],
                    "needsCount": needs,
                }
            )
        faults = {
            "missing_required": ("microGridCode", ""),
            "impossible_date": ("visitTime", impossible_time_text(day, fmt)),
        }
        records = ctx.spoil_rows(records, "grid_reports", "visit", index, faults, key="visitId")
        ctx.write("grid_reports", day, f"visits_{day:%Y%m%d}.jsonl", jsonl_bytes(records), {"visit": len(records)})
