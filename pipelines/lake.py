"""The lake: Hive-partitioned Parquet, one file per table, landing day and source.

`lake/<table>/day=YYYY-MM-DD/<source>.parquet`. Each file is written under a
temp name in the same folder and renamed into place, so a reader (or a killed
run) never sees half a file. Re-running a day replaces exactly that day's file
of that source and leaves every other partition alone. A closed month may be
compacted into one file per table and source (warehouse/compaction.py); a day
of it written again opens that month back into day files first.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from warehouse import compaction
from warehouse.compaction import partition_path, write_atomic

__all__ = ["known_keys", "partition_path", "replace_day_partitions", "split_by_day", "write_atomic"]


def split_by_day(table: pa.Table, column: str = "_day") -> dict[date, pa.Table]:
    """Slices of a table sorted by `column`, one per day, without the column."""
    if table.num_rows == 0:
        return {}
    days = table.column(column).to_numpy(zero_copy_only=False)
    uniques, starts = np.unique(days, return_index=True)
    order = np.argsort(starts)
    uniques, starts = uniques[order], starts[order]
    ends = [*starts[1:], table.num_rows]
    body = table.drop_columns([column])
    return {_as_date(d): body.slice(int(s), int(e - s)) for d, s, e in zip(uniques, starts, ends, strict=True)}


def _as_date(value) -> date:
    return value if isinstance(value, date) else np.datetime64(value, "D").astype(object)


def replace_day_partitions(directory: Path, source: str, days: list[date], rows: pa.Table) -> int:
    """Write the rows of each day in `days` (sorted by _day), deleting the files of days now empty."""
    by_day = split_by_day(rows)
    for month in sorted({compaction.month_of(day): day for day in days}.values()):
        compaction.open_month(directory.parent, source, month, table=directory.name)
    for day in days:
        path = partition_path(directory, day, source)
        if day in by_day:
            write_atomic(by_day[day], path)
        elif path.exists():
            path.unlink()
    return rows.num_rows


def known_keys(root: Path, table: str, field: str) -> pa.Table:
    """Every value of table.field in the lake with the first landing day it appeared: (k, first_day)."""
    if not compaction.has_files(root / table):
        return pa.table({"k": pa.array([], pa.string()), "first_day": pa.array([], pa.date32())})
    con = duckdb.connect()
    try:
        return (
            con.sql(
                f"""SELECT CAST("{field}" AS VARCHAR) AS k, min(day) AS first_day
                FROM ({compaction.lake_relation(root / table)})
                WHERE "{field}" IS NOT NULL GROUP BY 1"""
            )
            .to_arrow_table()
            .cast(pa.schema([("k", pa.string()), ("first_day", pa.date32())]))
        )
    finally:
        con.close()
