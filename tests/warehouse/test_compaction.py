"""Month files (warehouse/compaction.py): a lake whose closed months are compacted reads as the same rows and
builds the same release as the day partitions it came from, a day of a compacted month reloaded or rolled back
is replaced as any other day, and a run killed while it compacted leaves nothing counted twice.

The oracle is a second home that never compacts (the pipeline's compaction replaced by nothing), loaded and
changed the same way: its lake is day partitions only, as before month files existed.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines import run as run_module
from pipelines.demo import generate
from pipelines.demo.profile import write_street_config
from pipelines.run import run_pipeline
from tests.conftest import SALT
from warehouse import compaction
from warehouse.digest import differences, table_digests
from warehouse.paths import Home
from warehouse.releases import current_release, rollback

END = date(2026, 11, 10)  # October ended ten days before: closed; November is open
DAYS = 40
OCTOBER = "2026-10"
# What a listing of the lake's files, or the run that wrote them, records: it differs by design.
FILE_TABLES = {"meta_lake_file", "meta_release", "ops_run", "ops_source_load", "ops_quarantine"}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("compaction-landing")
    generate(root, days=DAYS, end=END, scale=0.05, seed=3)
    return root


def _home(root: Path, landing: Path) -> Home:
    home = Home(root).ensure()
    write_street_config(root / "cockpit.toml")
    shutil.rmtree(home.landing)
    shutil.copytree(landing, home.landing)
    return home


def _never_compacting(home: Home, **options):
    """run_pipeline as it ran before month files: the lake stays in day partitions."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module.compaction, "compact", lambda lake, through: compaction.Compacted())
        summary = run_pipeline(home, salt=SALT, **options)
    assert summary.status == "published", summary.message
    return summary


def _loaded(root: Path, landing: Path) -> tuple[Home, Home]:
    """(compacted, never compacted): the same landing loaded into each."""
    compacted, days_only = _home(root / "compacted", landing), _home(root / "days-only", landing)
    summary = run_pipeline(compacted, salt=SALT)
    assert summary.status == "published" and "compacted into" in summary.build, summary.build
    _never_compacting(days_only)
    return compacted, days_only


@pytest.fixture(scope="module")
def homes(tmp_path_factory, landing) -> tuple[Home, Home]:
    return _loaded(tmp_path_factory.mktemp("homes"), landing)


def _digest(home: Home) -> dict:
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        return {name: digest for name, digest in table_digests(con).items() if name not in FILE_TABLES}


def _day_files(home: Home) -> set[tuple[str, str, str]]:
    """(table, landing day, file name) of every source-day, whether in a day partition or a month file."""
    held = {(p.parent.parent.name, p.parent.name.removeprefix("day="), p.name) for p in home.lake.glob("*/day=*/*")}
    for path in compaction.month_files(home.lake):
        held |= {(path.parent.parent.name, day.isoformat(), path.name) for day in compaction.month_days(path)}
    return held


def _rows_per_table(lake: Path) -> dict[str, int]:
    """Rows in each lake table's files, from their footers (independent of any reader of the lake)."""
    counts: dict[str, int] = {}
    for path in lake.glob("*/*/*.parquet"):
        table = path.parent.parent.name
        counts[table] = counts.get(table, 0) + pq.ParquetFile(path).metadata.num_rows
    return counts


def test_closed_months_become_one_file_per_table_and_source_holding_every_row(homes):
    compacted, days_only = homes
    month_files = compaction.month_files(compacted.lake)
    assert month_files and all(path.parent.name == f"month={OCTOBER}" for path in month_files)
    assert not list(compacted.lake.glob(f"*/day={OCTOBER}-*/*.parquet"))  # no October day is left as a day file
    assert list(compacted.lake.glob("*/day=2026-11-*/*.parquet"))  # the open month stays in days
    # one month file for each table and file name that had October day files
    october = {(p.parent.parent.name, p.name) for p in days_only.lake.glob(f"*/day={OCTOBER}-*/*.parquet")}
    assert {(p.parent.parent.name, p.name) for p in month_files} == october
    assert _rows_per_table(compacted.lake) == _rows_per_table(days_only.lake)
    assert _day_files(compacted) == _day_files(days_only)
    days = {day for path in month_files for day in compaction.month_days(path)}
    assert days == {date(2026, 10, 2) + timedelta(days=i) for i in range(30)}


def test_a_compacted_lake_builds_the_release_its_day_partitions_build(homes):
    compacted, days_only = homes
    assert differences(_digest(compacted), _digest(days_only)) == []


def test_a_day_of_a_compacted_month_reloaded_then_rolled_back_is_replaced_like_any_day(landing, tmp_path):
    compacted, days_only = _loaded(tmp_path, landing)  # homes of their own: a release names its lake
    day = "2026-10-15"
    for home in (compacted, days_only):  # the hotline delivers the day again, its last record missing
        [path] = list(home.landing.glob(f"hotline_12345/{day}/*.csv"))
        lines = path.read_bytes().rstrip(b"\n").split(b"\n")
        path.write_bytes(b"\n".join(lines[:-1]) + b"\n")
    _never_compacting(days_only, day=date.fromisoformat(day))
    reloaded = run_pipeline(compacted, salt=SALT, day=date.fromisoformat(day))
    assert reloaded.status == "published" and reloaded.build.startswith("built on"), reloaded.build
    # the day's October (of every source: a reloaded day is every source's) opened back into day files,
    # under the names the days had
    assert list(compacted.lake.glob(f"*/day={day}/hotline_12345.parquet"))
    assert not list(compacted.lake.glob(f"*/month={OCTOBER}/hotline_12345*.parquet"))
    assert _day_files(compacted) == _day_files(days_only)
    assert _rows_per_table(compacted.lake) == _rows_per_table(days_only.lake)
    assert differences(_digest(compacted), _digest(days_only)) == []

    # Delivered again, a record fewer still, and reloaded by a build from scratch: the month compacted again
    # with the day in it; then that run rolled back: its day set aside out of the month file.
    for home in (compacted, days_only):
        [path] = list(home.landing.glob(f"hotline_12345/{day}/*.csv"))
        lines = path.read_bytes().rstrip(b"\n").split(b"\n")
        path.write_bytes(b"\n".join(lines[:-1]) + b"\n")
    _never_compacting(days_only, day=date.fromisoformat(day), full=True)
    again = run_pipeline(compacted, salt=SALT, day=date.fromisoformat(day), full=True)
    assert again.status == "published" and "compacted into" in again.build, again.build
    assert not list(compacted.lake.glob(f"*/day={day}/*.parquet"))
    for home in (compacted, days_only):
        rollback(home)
    assert list(compacted.set_aside.glob(f"*/lake/*/day={day}/hotline_12345.parquet"))
    assert _day_files(compacted) == _day_files(days_only)
    assert _rows_per_table(compacted.lake) == _rows_per_table(days_only.lake)
    _never_compacting(days_only, full=True)
    assert run_pipeline(compacted, salt=SALT, full=True).status == "published"
    assert _rows_per_table(compacted.lake) == _rows_per_table(days_only.lake)
    assert differences(_digest(compacted), _digest(days_only)) == []


def test_a_run_killed_while_it_compacted_leaves_no_row_counted_twice(homes, tmp_path):
    compacted = _home_copy(homes[0], tmp_path / "compacted")
    before = _rows_per_table(compacted.lake)
    # What a kill between writing a month file and deleting its day files leaves: both.
    month_file = sorted(compacted.lake.glob(f"ticket_event/month={OCTOBER}/*.parquet"))[0]
    rows = pq.read_table(month_file)
    for day in compaction.month_days(month_file)[:3]:
        leftover = compacted.lake / "ticket_event" / f"day={day.isoformat()}" / month_file.name
        leftover.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            rows.filter(pc.equal(rows.column("day"), pa.scalar(day, pa.date32()))).drop_columns(["day"]), leftover
        )
    assert _rows_per_table(compacted.lake) != before
    assert compaction.repair(compacted.lake) == 3
    assert _rows_per_table(compacted.lake) == before


def test_a_month_opened_and_compacted_again_holds_the_same_rows(homes, tmp_path):
    compacted = _home_copy(homes[0], tmp_path / "compacted")
    month_file = sorted(compacted.lake.glob(f"visit/month={OCTOBER}/*.parquet"))[0]
    original = pq.read_table(month_file).sort_by([("day", "ascending"), ("_file", "ascending"), ("_line", "ascending")])
    held = compaction.month_days(month_file)
    written = compaction.open_month(compacted.lake, month_file.stem, date(2026, 10, 20), table="visit")
    assert not month_file.exists() and sorted(path.parent.name for path in written) == [f"day={d}" for d in held]
    assert compaction.compact(compacted.lake, END).months >= 1
    again = pq.read_table(month_file).sort_by([("day", "ascending"), ("_file", "ascending"), ("_line", "ascending")])
    assert again.equals(original)


def test_only_months_a_week_past_their_end_are_closed():
    assert compaction.closed_before(date(2026, 11, 7)) == date(2026, 11, 1)  # October's last day + 7
    assert compaction.closed_before(date(2026, 11, 6)) == date(2026, 10, 1)
    assert compaction.closed_before(date(2027, 1, 6)) == date(2026, 12, 1)


def _home_copy(home: Home, root: Path) -> Home:
    shutil.copytree(home.root, root, symlinks=True)
    return Home(root)
