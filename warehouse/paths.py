"""The layout of $COCKPIT_HOME: where landing, lake, quarantine, releases and the ledger live, and who may read them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The home holds personal data (exports before masking, quarantined rows, sessions): owner only.
# Entry points (the CLI, the WSGI app) set the umask once, so every file and folder any part writes
# later — lake, quarantine, releases, ledger, state, briefs — is 0600 / 0700 without each writer knowing.
PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700


def keep_private() -> None:
    """Make what this process creates from now on readable by its owner only (call once, at entry)."""
    os.umask(PRIVATE_UMASK)


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
    def state(self) -> Path:
        """App state that changes while the app serves (users, sessions, audit): never in a read-only release."""
        return self.root / "state"

    @property
    def state_db(self) -> Path:
        return self.state / "cockpit.sqlite"

    @property
    def secret(self) -> Path:
        """Keys and one-time secrets (the PII salt, the demo's printed passwords): owner only."""
        return self.root / "secret"

    @property
    def cache(self) -> Path:
        """What builds keep to go faster next time and may lose at any moment (the terms of texts already cut)."""
        return self.root / "cache"

    @property
    def demo_manifest(self) -> Path:
        return self.landing / "_demo_manifest.json"

    def ensure(self) -> Home:
        """Create the home's folders; the ones created here are owner-only whatever the umask."""
        folders = (
            *(self.root, self.landing, self.lake, self.quarantine, self.warehouse, self.releases, self.ledger),
            self.cache,
        )
        for path in (*folders, self.state):
            if not path.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                path.chmod(PRIVATE_DIR_MODE)
        return self
