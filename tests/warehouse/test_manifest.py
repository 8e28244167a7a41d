"""The lake a release was built from: meta_lake_file lists every Parquet file up to data_through (checked here
with os.walk), and the fingerprint in meta_release changes with any change to those files and with nothing
else."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from warehouse.manifest import lake_files, lake_fingerprint
from warehouse.releases import current_release


def _walked(lake: Path, through: date) -> dict[str, int]:
    found = {}
    for folder, _, names in os.walk(lake):
        for name in names:
            path = Path(folder) / name
            if name.endswith(".parquet") and date.fromisoformat(path.parent.name[4:]) <= through:
                found[path.relative_to(lake).as_posix()] = path.stat().st_size
    return found


def test_the_release_lists_its_lake_and_carries_its_fingerprint(loaded_demo):
    home = loaded_demo.home
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        through, stored = con.execute("SELECT data_through, lake_fingerprint FROM meta_release").fetchone()
        listed = dict(con.execute("SELECT file, size_bytes FROM meta_lake_file").fetchall())
        tables = {row[0] for row in con.execute("SELECT DISTINCT table_name FROM meta_lake_file").fetchall()}
    assert listed == _walked(home.lake, through)
    assert {"ticket_intake", "ticket_event", "sensor_reading", "video_status"} <= tables
    assert stored == lake_fingerprint(home.lake, through)


@pytest.fixture
def lake(loaded_demo, tmp_path) -> Path:
    copy = tmp_path / "lake"
    shutil.copytree(loaded_demo.home.lake, copy)
    return copy


def test_the_fingerprint_changes_with_any_file_it_covers_and_only_with_those(lake):
    through = max(lake_files(lake, date(2100, 1, 1)).column("day").to_pylist())
    before = lake_fingerprint(lake, through)
    assert lake_fingerprint(lake, through) == before  # listing again changes nothing
    some = sorted(lake.glob("ticket_intake/day=*/*.parquet"))[0]
    stat = some.stat()

    os.utime(some, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # rewritten, same bytes
    touched = lake_fingerprint(lake, through)
    assert touched != before
    os.utime(some, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert lake_fingerprint(lake, through) == before

    moved = some.with_name("set-aside.tmp")  # a rollback takes a partition out
    some.rename(moved)
    assert lake_fingerprint(lake, through) not in (before, touched)
    moved.rename(some)

    later = lake / "ticket_intake" / "day=2100-01-01" / "hotline_12345.parquet"  # after data_through: not read
    later.parent.mkdir(parents=True)
    shutil.copy(some, later)
    assert lake_fingerprint(lake, through) == before
    extra = some.with_name("hotline_12345.1.parquet")  # a second file of one day
    shutil.copy(some, extra)
    assert lake_fingerprint(lake, through) != before
    assert "hotline_12345" in set(lake_files(lake, through).column("source").to_pylist())


def test_the_changes_between_two_listings_name_each_file():
    import pyarrow as pa

    from warehouse.manifest import MANIFEST_SCHEMA, changes

    def listing(*rows):
        columns = list(zip(*rows, strict=True))
        return pa.Table.from_arrays(
            [pa.array(list(c), f.type) for c, f in zip(columns, MANIFEST_SCHEMA, strict=True)], schema=MANIFEST_SCHEMA
        )

    day = date(2026, 10, 1)
    a = ("t", day, "s", "t/day=2026-10-01/s.parquet", 10, 1)
    b = ("t", day, "u", "t/day=2026-10-01/u.parquet", 20, 2)
    c = ("t", day, "v", "t/day=2026-10-01/v.parquet", 30, 3)
    found = changes(listing(a, b), listing(a[:4] + (10, 5), c))
    assert (found.added, found.removed, found.rewritten) == ((c[3],), (b[3],), (a[3],))
    assert not changes(listing(a, b), listing(b, a))


def test_the_doctor_says_whether_the_lake_is_as_the_current_release_found_it(loaded_demo, tmp_path):
    from warehouse.doctor import examine
    from warehouse.paths import Home

    shutil.copytree(loaded_demo.home.root, tmp_path / "home", symlinks=True)
    home = Home(tmp_path / "home")

    def said() -> str:
        return "\n".join(
            f.line() for f in examine(home, min_free_bytes=0) if "lake" in f.what and "ledger" not in f.what
        )

    assert said().startswith("ok: the lake is as ")
    some = sorted(home.lake.glob("video_status/day=*/*.parquet"))[0]
    stat = some.stat()
    os.utime(some, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert "(0 new, 1 rewritten, 0 gone)" in said() and some.relative_to(home.lake).as_posix() in said()
    assert said().startswith("note: the lake changed since ")
    some.unlink()
    assert "(0 new, 0 rewritten, 1 gone)" in said()
