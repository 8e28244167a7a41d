"""How much dirt to inject, where and when: small, deterministic, and present even in short runs.

Each target (fault kind, source, table) has a rate per eligible row. In a run
of three days or more every target is also forced to occur at least once: it
is due from a day chosen by its name among the first three (events that must
arrive days later are due from the first day), and carried to the next day
while a day offers nothing to spoil; generators make sure a day with faults
due has at least that many rows. Victims are chosen with a generator of their
own, so adding a fault never shifts the clean data.
"""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np

from pipelines.demo.clock import rng_for

# (kind, source, table) → expected faults per eligible row (per day for the sensor flags).
RATES: dict[tuple[str, str, str], float] = {
    ("undecodable_row", "hotline_12345", "ticket_intake"): 0.002,
    ("missing_required", "hotline_12345", "ticket_intake"): 0.001,
    ("unknown_code", "hotline_12345", "ticket_intake"): 0.001,
    ("impossible_date", "hotline_12345", "ticket_intake"): 0.001,
    ("duplicate_row", "hotline_12345", "ticket_intake"): 0.002,
    ("missing_required", "city_mgmt", "ticket_intake"): 0.001,
    ("unknown_code", "city_mgmt", "ticket_intake"): 0.001,
    ("impossible_date", "city_mgmt", "ticket_intake"): 0.0005,
    ("duplicate_row", "city_mgmt", "ticket_intake"): 0.002,
    ("impossible_date", "forum", "ticket_intake"): 0.003,
    ("duplicate_row", "forum", "ticket_intake"): 0.003,
    ("changed_header_file", "forum", "ticket_intake"): 0.0,  # exactly one file per run
    ("missing_required", "grid_reports", "ticket_intake"): 0.001,
    ("impossible_date", "grid_reports", "ticket_intake"): 0.001,
    ("duplicate_row", "grid_reports", "ticket_intake"): 0.001,
    ("missing_required", "grid_reports", "visit"): 0.0002,
    ("impossible_date", "grid_reports", "visit"): 0.0002,
    ("duplicate_row", "grid_reports", "visit"): 0.0003,
    ("cross_channel_duplicate", "city_mgmt", "ticket_intake"): 0.005,  # per 12345 ticket
    ("cross_channel_duplicate", "forum", "ticket_intake"): 0.005,
    ("late_event", "ticket_events", "ticket_event"): 0.0015,  # per ticket with events in range
    ("out_of_order_event", "ticket_events", "ticket_event"): 0.0015,
    ("missing_required", "approvals", "approval"): 0.0003,
    ("unknown_code", "approvals", "approval"): 0.0003,
    ("impossible_date", "approvals", "approval"): 0.0003,
    ("duplicate_row", "approvals", "approval"): 0.0005,
    ("missing_required", "enforcement", "inspection"): 0.002,
    ("impossible_date", "enforcement", "inspection"): 0.002,
    ("duplicate_row", "enforcement", "inspection"): 0.002,
    ("unknown_code", "enforcement", "hazard"): 0.003,
    ("missing_required", "iot", "sensor_reading"): 0.00003,
    ("unknown_code", "iot", "sensor_reading"): 0.00003,
    ("impossible_date", "iot", "sensor_reading"): 0.00003,
    ("duplicate_row", "iot", "sensor_reading"): 0.00005,
    ("negative_reading", "iot", "sensor_reading"): 0.00005,
    ("sensor_spike", "iot", "sensor_reading"): 0.0075,  # per hourly device and day
    ("stuck_value", "iot", "sensor_reading"): 0.002,
    ("reading_gap", "iot", "sensor_reading"): 0.003,
}

FORCE_FROM_DAYS = 3  # runs at least this long get every target at least once


class DirtPlan:
    def __init__(self, seed: int, days: list[date]):
        self.seed = seed
        self.days = days
        force = len(days) >= FORCE_FROM_DAYS
        spread = len(days) - FORCE_FROM_DAYS + 1  # leave at least three days to find a victim
        # target → the first day index it is due (None: not forced, or already injected)
        self.due: dict[tuple[str, str, str], int | None] = {
            target: (zlib.crc32("/".join(target).encode()) % min(3, spread) if force else None) for target in RATES
        }
        if force:
            # a late event needs days after it, an out-of-order one the next day
            self.due[("late_event", "ticket_events", "ticket_event")] = 0
            self.due[("out_of_order_event", "ticket_events", "ticket_event")] = 0
            # one renamed header, never on the first day: the first day's file shows the good header
            self.due[("changed_header_file", "forum", "ticket_intake")] = 1

    def pending(self, source: str, table: str, day_index: int, kinds: tuple[str, ...] | None = None) -> int:
        """How many forced faults on (source, table) are due and not yet injected: a day needs that many rows."""
        return sum(
            1
            for (kind, s, t), due in self.due.items()
            if s == source and t == table and due is not None and due <= day_index and (kinds is None or kind in kinds)
        )

    def rng(self, target: tuple[str, ...], day: date) -> np.random.Generator:
        return rng_for(self.seed, "dirt/" + "/".join(target), day.toordinal())

    def count(self, kind: str, source: str, table: str, day_index: int, eligible: int) -> int:
        """How many faults of this target to inject today, among `eligible` candidates."""
        target = (kind, source, table)
        if eligible <= 0:
            return 0
        n = int(self.rng(target, self.days[day_index]).poisson(RATES[target] * eligible))
        due = self.due[target]
        if due is not None and day_index >= due:
            n = max(n, 1)
        return min(n, eligible)

    def done(self, kind: str, source: str, table: str, n: int) -> None:
        if n > 0:
            self.due[(kind, source, table)] = None

    def pick(
        self,
        kind: str,
        source: str,
        table: str,
        day_index: int,
        candidates: list | np.ndarray,
        eligible_count: int | None = None,
    ) -> list:
        """Choose today's victims among `candidates` (and mark the target done when any are chosen)."""
        n = self.count(kind, source, table, day_index, len(candidates) if eligible_count is None else eligible_count)
        n = min(n, len(candidates))
        if n == 0:
            return []
        rng = self.rng((kind, source, table, "victims"), self.days[day_index])
        chosen = rng.choice(len(candidates), size=n, replace=False)
        self.done(kind, source, table, n)
        return [candidates[i] for i in sorted(chosen.tolist())]
