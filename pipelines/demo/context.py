"""What every source generator shares in one run: the district, pools, range, dirt plan, manifest and the writer."""

from __future__ import annotations

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
