"""Small releases served by the session's app for one test: build from a lake, publish, point the app at it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date

import pyarrow as pa

from cockpit.data import Warehouse, current_warehouse, use_warehouse
from warehouse.build import build_release
from warehouse.paths import Home
from warehouse.releases import publish


def publish_lake(
    home: Home, run_id: str, data_through: date, extra_tables: Mapping[str, pa.Table] | None = None
) -> None:
    """Build a release of `home`'s lake (with `extra_tables`, e.g. a ledger) and make it current."""
    release = home.releases / f"{run_id}.duckdb"
    build_release(home.lake, release, run_id=run_id, data_through=data_through, is_demo=True, extra_tables=extra_tables)
    publish(home, release)


@contextmanager
def serving(home: Home) -> Iterator[None]:
    """The app reads `home`'s release for the duration (there is one app, and so one warehouse, per process)."""
    previous = current_warehouse()
    use_warehouse(Warehouse(home))
    try:
        yield
    finally:
        use_warehouse(previous)
