"""Month files in the lake: the day partitions of a closed month compacted into one file per table and source.

A day partition is `lake/<table>/day=YYYY-MM-DD/<source>[.<part>].parquet`, its landing day in the folder's
name. A year of them is thousands of small files (a table a source delivers daily: 365 a year, more where
a source writes parts), and reading a file costs a footer and a task each whatever its size: a build reads a
year of a street's ticket receipts 12 times faster from month files (benchmarks/pipeline.py prints it).

A **month file** `lake/<table>/month=YYYY-MM/<source>[.<part>].parquet` holds the rows of that name's day
files of one month, with the landing day as a column of its own (`day`), so readers see the same rows and
the same `day` whichever way a day is stored (`lake_globs`).

The lake stays replace-a-day: whatever touches one landing day of a source (a reload, a late file, a rollback
setting it aside, a landing day pruned) first writes the source's month back as day partitions
(`open_month`), then works on the day as before. So a source-day's rows are in a day partition or in its month
file, never both, and nothing but compaction writes a month file. Compaction (`compact`) takes the months
that ended `CLOSED_AFTER_DAYS` or more before the data's last day; the pipeline runs it before a build from
scratch, which reads every file anyway (a build on the current release would take the new files for a change
of every table).

Crash safety: a month file is written whole under a temporary name and renamed; the day files it replaces are
deleted after. Opening a month writes its day files first and deletes the month file after. A run killed in
between leaves day files whose rows the month file also holds: `repair` (run before compaction and before a
month is opened) deletes the day files of the days a month file holds, which is exactly the state before.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DAY_PREFIX = "day="
MONTH_PREFIX = "month="
DAY_COLUMN = "day"
# A month is closed, and may be compacted, once the data runs this many days past its last day: late files
# of its days are rare by then (one still comes in by opening the month again).
CLOSED_AFTER_DAYS = 7


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_path(table_dir: Path, month: str, stem: str) -> Path:
    return table_dir / f"{MONTH_PREFIX}{month}" / f"{stem}.parquet"


def lake_globs(table_dir: Path) -> tuple[str, str]:
    """The table's day partitions and month files, as two glob patterns (read day files with hive
    partitioning, month files without: their `day` is a column)."""
    return str(table_dir / f"{DAY_PREFIX}*" / "*.parquet"), str(table_dir / f"{MONTH_PREFIX}*" / "*.parquet")


def lake_relation(table_dir: Path) -> str:
    """SQL reading a lake table's day partitions and month files as one relation, `day` a DATE either way.

    One scan of both kinds of file: a day file's `day` is read from its path, a month file's from its column.
    (A UNION of two scans, one per kind, cost a year's sensor aggregation at scale 10 half as much memory
    again: 5.0 GB against 3.4 GB.) Without month files, the day partitions read as hive partitions."""
    days, months = (path.replace("'", "''") for path in lake_globs(table_dir))
    if not any(table_dir.glob(f"{MONTH_PREFIX}*/*.parquet")):
        return (
            f"SELECT * FROM read_parquet('{days}', hive_partitioning = true, union_by_name = true, "
            f"hive_types = {{'{DAY_COLUMN}': DATE}})"
        )
    listed = f"'{months}'" + (f", '{days}'" if any(table_dir.glob(f"{DAY_PREFIX}*/*.parquet")) else "")
    from_path = f"TRY_CAST(regexp_extract(filename, '/{DAY_PREFIX}([0-9-]+)/[^/]*$', 1) AS DATE)"
    return (
        f"SELECT * EXCLUDE (filename) REPLACE (coalesce({from_path}, {DAY_COLUMN}) AS {DAY_COLUMN}) "
        f"FROM read_parquet([{listed}], hive_partitioning = false, union_by_name = true, filename = true)"
    )


def has_files(table_dir: Path) -> bool:
    return any(table_dir.glob(f"{DAY_PREFIX}*/*.parquet")) or any(table_dir.glob(f"{MONTH_PREFIX}*/*.parquet"))


def source_of(path: Path) -> str:
    """The source of a lake file: <source>.parquet or <source>.<part>.parquet."""
    return path.name.split(".", 1)[0]


def _stem(path: Path) -> str:
    """A lake file's name without .parquet: the source and its part, which a month file keeps."""
    return path.name.removesuffix(".parquet")


def month_files(lake: Path) -> list[Path]:
    return sorted(Path(lake).glob(f"*/{MONTH_PREFIX}*/*.parquet"))


def month_days(path: Path) -> list[date]:
    """The landing days a month file holds (its `day` column alone is read)."""
    days = pq.read_table(path, columns=[DAY_COLUMN]).column(DAY_COLUMN)
    return sorted(pc.unique(days).to_pylist())


def month_start(path: Path) -> date:
    """The first day of a month file's month (from its folder's name)."""
    return date.fromisoformat(path.parent.name.removeprefix(MONTH_PREFIX) + "-01")


def day_range(path: Path) -> tuple[date, date] | None:
    """The first and last landing day a month file holds: from its row groups' footer statistics of `day`, else
    read from the column; None for a file without rows."""
    metadata = pq.ParquetFile(path).metadata
    if DAY_COLUMN in metadata.schema.names:
        column = metadata.schema.names.index(DAY_COLUMN)
        groups = [metadata.row_group(i).column(column).statistics for i in range(metadata.num_row_groups)]
        if groups and all(stats is not None and stats.has_min_max for stats in groups):
            return min(stats.min for stats in groups), max(stats.max for stats in groups)
    days = month_days(path)
    return (days[0], days[-1]) if days else None


def first_day(path: Path) -> date | None:
    """The first landing day a month file holds."""
    span = day_range(path)
    return span[0] if span else None


def holds_only(path: Path, days: set[date]) -> bool:
    """Whether every landing day a month file holds is among `days`: from the footer when every day of its
    span is (the usual case, no read), else from its `day` column."""
    span = day_range(path)
    if span is None:
        return True
    first, last = span
    if all(first + timedelta(days=n) in days for n in range((last - first).days + 1)):
        return True
    return set(month_days(path)) <= days


def partition_path(directory: Path, day: date, stem: str) -> Path:
    """A day partition's file: directory is lake/<table> (or the quarantine folder), stem <source>[.<part>]."""
    return directory / f"{DAY_PREFIX}{day.isoformat()}" / f"{stem}.parquet"


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file under a temporary name in its folder and rename it into place: a reader (or a
    killed run) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # an emptied partition folder goes with its last file
    except OSError:
        pass


def repair(lake: Path) -> int:
    """Delete day files whose rows a month file holds (left by a run killed while it compacted or opened a
    month); returns how many."""
    removed = 0
    for path in month_files(lake):
        table_dir, stem = path.parent.parent, _stem(path)
        if not any(table_dir.glob(f"{DAY_PREFIX}{path.parent.name.removeprefix(MONTH_PREFIX)}-*/{stem}.parquet")):
            continue
        for day in month_days(path):
            if (leftover := partition_path(table_dir, day, stem)).exists():
                _remove(leftover)
                removed += 1
    return removed


def open_month(lake: Path, name: str, day: date, table: str = "*") -> list[Path]:
    """Write the month files of `day`'s month of a source (`name` is the source, or a file name <source>.<part>:
    every part of the source goes) in `table`, or in every table, back as day partitions, before anything
    touches one of its days; returns the day files written."""
    source, month = name.split(".", 1)[0], f"{MONTH_PREFIX}{month_of(day)}"
    held_files = [
        path
        for folder in Path(lake).glob(f"{table}/{month}")
        for path in [*folder.glob(f"{source}.parquet"), *folder.glob(f"{source}.*.parquet")]
    ]
    written: list[Path] = []
    for path in sorted(held_files):
        table_dir, stem = path.parent.parent, _stem(path)
        rows = pq.read_table(path)
        for held in month_days(path):
            mask = pc.equal(rows.column(DAY_COLUMN), pa.scalar(held, pa.date32()))
            target = partition_path(table_dir, held, stem)  # a killed earlier run's leftover holds these same rows
            write_atomic(rows.filter(mask).drop_columns([DAY_COLUMN]), target)
            written.append(target)
        _remove(path)
    return written


@dataclass(frozen=True)
class Compacted:
    months: int = 0  # month files written
    files: int = 0  # day files they replaced
    skipped: tuple[str, ...] = ()  # months left as day files, and why

    def describe(self) -> str:
        return f"lake: {self.files} day file(s) compacted into {self.months} month file(s)"


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _write_month(con: duckdb.DuckDBPyConnection, days: list[Path], target: Path) -> None:
    """One month file from day files (their landing day from the folder's name, hive style) and the month
    file already there (a month compacted before, its leftovers repaired), sorted by day: DuckDB reads them
    as a release reads the lake (union by name), in parallel, and writes under a temporary name."""
    listed = ", ".join(_sql_path(path) for path in days)
    rows = (
        f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, union_by_name = true, "
        f"hive_types = {{'{DAY_COLUMN}': DATE}})"
    )
    if target.exists():
        rows += f" UNION ALL BY NAME SELECT * FROM read_parquet({_sql_path(target)}, hive_partitioning = false)"
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        con.execute(f"COPY ({rows} ORDER BY {DAY_COLUMN}) TO {_sql_path(tmp)} (FORMAT parquet, COMPRESSION zstd)")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def closed_before(data_through: date) -> date:
    """The first day of the earliest month still open: a month is closed once `data_through` is
    CLOSED_AFTER_DAYS or more past its last day, so the months before this day's are."""
    after = data_through - timedelta(days=CLOSED_AFTER_DAYS - 1)
    return date(after.year, after.month, 1)


def compact(lake: Path, data_through: date) -> Compacted:
    """Compact the day partitions of every closed month (see the module's docstring) into month files."""
    repair(lake)
    open_from = closed_before(data_through)
    groups: dict[tuple[Path, str, str], list[Path]] = defaultdict(list)
    for path in Path(lake).glob(f"*/{DAY_PREFIX}*/*.parquet"):
        try:
            day = date.fromisoformat(path.parent.name.removeprefix(DAY_PREFIX))
        except ValueError:
            continue
        if day < open_from:
            groups[(path.parent.parent, month_of(day), _stem(path))].append(path)
    months = files = 0
    skipped: list[str] = []
    con = duckdb.connect()
    try:
        for (table_dir, month, stem), paths in sorted(groups.items()):
            target = month_path(table_dir, month, stem)
            inputs = [*paths, *([target] if target.exists() else [])]
            expected = sum(pq.ParquetFile(path).metadata.num_rows for path in inputs)
            try:
                _write_month(con, sorted(paths), target)
            except duckdb.Error as exc:  # a file that does not read with the others: its days stay as they are
                skipped.append(f"{table_dir.name} {month} {stem}: {' '.join(str(exc).split())[:120]}")
                continue
            written = pq.ParquetFile(target).metadata.num_rows
            if written != expected:  # never: every row read is in the month file, or the days stay
                raise RuntimeError(f"{target}: {written} rows written of {expected} read; its day files are kept")
            for path in paths:
                _remove(path)
            months, files = months + 1, files + len(paths)
    finally:
        con.close()
    return Compacted(months, files, tuple(skipped))
