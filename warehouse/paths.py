"""The layout of $COCKPIT_HOME: where landing, lake, quarantine, releases and the ledger live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def releases(self) -> Path:
        return self.warehouse / "releases"

    @property
    def ledger(self) -> Path:
        return self.warehouse / "ledger"

    @property
    def current_pointer(self) -> Path:
        return self.warehouse / "CURRENT"

    @property
    def set_aside(self) -> Path:
        """Lake partitions a rollback took out of the lake, kept (not deleted) per rollback."""
        return self.root / "set_aside"

    def lake_files(self, source: str, day) -> list[Path]:
        """A source's lake files of one landing day, in every table: <table>/day=D/<source>[.<part>].parquet."""
        folder = f"day={day.isoformat()}"
        return sorted(
            [*self.lake.glob(f"*/{folder}/{source}.parquet"), *self.lake.glob(f"*/{folder}/{source}.*.parquet")]
        )

    @property
    def briefs(self) -> Path:
        return self.root / "briefs"

    @property
    def demo_manifest(self) -> Path:
        return self.landing / "_demo_manifest.json"

    def ensure(self) -> Home:
        for path in (self.landing, self.lake, self.quarantine, self.releases, self.ledger):
            path.mkdir(parents=True, exist_ok=True)
        return self
