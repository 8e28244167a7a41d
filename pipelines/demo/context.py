"""What every source generator shares in one run: the district, pools, range, dirt plan, manifest and the writer."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipelines.demo.dirt import DirtPlan
from pipelines.demo.manifest import Manifest
from pipelines.demo.pools import Pools
from pipelines.demo.street import District
from pipelines.demo.writers import write_bytes


@dataclass
class Context:
    landing: Path
    seed: int
    scale: float
    start: date
    end: date
    days: list[date]
    district: District
    pools: Pools
    dirt: DirtPlan
    manifest: Manifest

    def write(self, source: str, day: date, filename: str, data: bytes, rows: dict[str, int]) -> Path:
        """Write one landing file and count its data rows per contract table."""
        path = self.landing / source / day.isoformat() / filename
        write_bytes(path, data)
        self.manifest.wrote_file(source)
        for table, n in rows.items():
            self.manifest.wrote_rows(source, table, n)
        return path

    def spoil_rows(
        self,
        rows: list,
        source: str,
        table: str,
        day_index: int,
        faults: dict[str, tuple[object, object]],
        key: object,
    ) -> list:
        """Give each chosen row one fault (kind → (field, bad value)), then repeat some rows (duplicate_row).

        Rows are dicts or lists: `field` and `key` are a dict key or a list index. A row gets at most
        one fault, so the reason the pipeline must give for it is unambiguous.
        """
        free = list(range(len(rows)))
        for kind, (field, value) in faults.items():
            for i in self.dirt.pick(kind, source, table, day_index, free):
                free.remove(i)
                spoiled = copy.copy(rows[i])
                spoiled[field] = value
                rows[i] = spoiled
                self.manifest.injected(kind, source, table, rows[i][key])
        for i in reversed(self.dirt.pick("duplicate_row", source, table, day_index, free)):
            rows.insert(i + 1, copy.copy(rows[i]))
            self.manifest.injected("duplicate_row", source, table, rows[i][key])
        return rows
