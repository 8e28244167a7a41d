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
    def briefs(self) -> Path:
        return self.root / "briefs"

    @property
    def demo_manifest(self) -> Path:
        return self.landing / "_demo_manifest.json"

    def ensure(self) -> Home:
        for path in (self.landing, self.lake, self.quarantine, self.releases, self.ledger):
            path.mkdir(parents=True, exist_ok=True)
        return self
