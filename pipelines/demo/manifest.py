"""The demo manifest: what was written and which faults were injected, so tests can reconcile the pipeline.

For every source and contract table it counts the data rows written (dirty
rows included), the rows the pipeline is expected to quarantine, by reason,
and the files it should reject whole (with their rows, which it never reads):
rows = loaded + quarantined + rows_in_rejected_files. Each injected fault is
listed under its kind with the keys that identify it. A duplicate row counts
once: the repeated copy is the one quarantined.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path

from pipelines.demo.writers import write_bytes

MANIFEST_NAME = "_demo_manifest.json"

# Injected fault → the quarantine reason the pipeline should give (None: not quarantined, flagged in marts).
DIRT_KINDS = {
    "undecodable_row": "undecodable",
    "missing_required": "missing_required",
    "unknown_code": "unknown_code",
    "impossible_date": "invalid_datetime",
    "duplicate_row": "duplicate_key",
    "negative_reading": "out_of_range",
    "changed_header_file": "unknown_header",
    "cross_channel_duplicate": None,
    "late_event": None,
    "out_of_order_event": None,
    "sensor_spike": None,
    "stuck_value": None,
    "reading_gap": None,
}


class Manifest:
    def __init__(self, seed: int, scale: float, start: date, end: date):
        self.seed, self.scale, self.start, self.end = seed, scale, start, end
        self.street: dict = {}
        self.files: dict[str, int] = defaultdict(int)
        self.rows: dict[tuple[str, str], int] = defaultdict(int)
        self.quarantined: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.rejected: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.dirt: dict[str, dict[tuple[str, str], list]] = {kind: defaultdict(list) for kind in DIRT_KINDS}
        self.surges: list[dict] = []

    def surge(self, surge: dict) -> None:
        """Record one labelled surge of 12345 calls (pipelines/demo/tickets.py): the early warning's truth."""
        self.surges.append(surge)

    def wrote_file(self, source: str) -> None:
        self.files[source] += 1

    def wrote_rows(self, source: str, table: str, n: int) -> None:
        self.rows[(source, table)] += n

    def injected(self, kind: str, source: str, table: str, key, rows: int = 1, whole_file: bool = False) -> None:
        """Record one fault: it quarantines `rows` rows, or rejects a whole file holding `rows` rows."""
        self.dirt[kind][(source, table)].append(key)
        reason = DIRT_KINDS[kind]
        if reason is None:
            return
        if whole_file:
            self.rejected[(source, table)][reason].append(rows)
        elif rows:
            self.quarantined[(source, table)][reason] += rows

    def dirt_count(self, kind: str) -> int:
        return sum(len(v) for v in self.dirt[kind].values())

    def to_dict(self) -> dict:
        tables: dict[str, dict] = {}
        for (source, table), n in sorted(self.rows.items()):
            quarantined = dict(sorted(self.quarantined[(source, table)].items()))
            rejected = self.rejected[(source, table)]
            in_rejected = sum(sum(v) for v in rejected.values())
            tables.setdefault(source, {})[table] = {
                "rows": n,
                "quarantined": quarantined,
                "files_rejected": {reason: len(v) for reason, v in sorted(rejected.items())},
                "rows_in_rejected_files": in_rejected,
                "loaded": n - sum(quarantined.values()) - in_rejected,
            }
        dirt: dict[str, dict] = {}
        for kind, by_table in self.dirt.items():
            entry: dict[str, dict] = {}
            for (source, table), keys in sorted(by_table.items()):
                entry.setdefault(source, {})[table] = {"count": len(keys), "keys": keys}
            dirt[kind] = entry
        return {
            "generator": "pipelines.demo",
            "seed": self.seed,
            "scale": self.scale,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": (self.end - self.start).days + 1,
            "street": self.street,
            "files": dict(sorted(self.files.items())),
            "tables": tables,
            "expected_quarantine_reasons": {k: v for k, v in DIRT_KINDS.items() if v},
            "dirt": dirt,
            "surges": self.surges,
        }

    def write(self, landing: Path) -> dict:
        doc = self.to_dict()
        write_bytes(landing / MANIFEST_NAME, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
        return doc
