"""The lake a release was built from: every Parquet file it read (`meta_lake_file`) and one fingerprint of
them all (`meta_release.lake_fingerprint`).

A file is known by its table, landing day, source, path, size and modification time: the lake writes a
partition by replacing its file (a new file, a new mtime), so any load, reload, late file, rollback (files
set aside), accepted day or pruning changes the listing, and the fingerprint with it, even when nobody wrote
it down (a run killed halfway). A build that starts from an earlier release instead of from scratch compares
the lake with that release's listing to learn what changed; a release whose fingerprint no longer matches
the lake it names is not a base to build on. Only partitions up to `data_through` are listed, as the build
reads only those.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from warehouse.compaction import DAY_PREFIX, MONTH_PREFIX, month_files, month_start

MANIFEST_TABLE = "meta_lake_file"
MANIFEST_SCHEMA = pa.schema(
    [
        ("table_name", pa.string()),
        ("day", pa.date32()),
        ("source", pa.string()),
        # relative to the lake: <table>/day=D/<source>[.<part>].parquet, or a month file (warehouse/compaction.py)
        # <table>/month=YYYY-MM/<source>[.<part>].parquet, whose day is its month's first
        ("file", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime_ns", pa.int64()),
    ]
)


def lake_files(lake: Path, data_through: date) -> pa.Table:
    """The lake's Parquet files of landing days up to `data_through`, sorted by path (only `stat`, no reads)."""
    rows = []
    listed = [*Path(lake).glob(f"*/{DAY_PREFIX}*/*.parquet"), *month_files(lake)]
    for path in sorted(listed):
        folder = path.parent.name
        if folder.startswith(MONTH_PREFIX):
            day = month_start(path)
        else:
            day = date.fromisoformat(folder.removeprefix(DAY_PREFIX))
        if day > data_through:
            continue
        stat = path.stat()
        source = path.name.split(".", 1)[0]
        relative = path.relative_to(lake).as_posix()
        rows.append((path.parent.parent.name, day, source, relative, stat.st_size, stat.st_mtime_ns))
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in MANIFEST_SCHEMA]
    return pa.Table.from_arrays(
        [pa.array(list(c), f.type) for c, f in zip(columns, MANIFEST_SCHEMA, strict=True)], schema=MANIFEST_SCHEMA
    )


def fingerprint(files: pa.Table) -> str:
    """sha256 over the listing's path, size and mtime, one file per line in path order."""
    digest = hashlib.sha256()
    listing = files.sort_by("file").select(["file", "size_bytes", "mtime_ns"]).to_pylist()
    for row in listing:
        digest.update(f"{row['file']}\t{row['size_bytes']}\t{row['mtime_ns']}\n".encode())
    return digest.hexdigest()


def lake_fingerprint(lake: Path, data_through: date) -> str:
    """The fingerprint the lake has now, for comparing with a release's."""
    return fingerprint(lake_files(lake, data_through))


@dataclass(frozen=True)
class LakeChanges:
    """How a lake differs from a release's listing of it: files by their path relative to the lake."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    rewritten: tuple[str, ...] = ()  # the same path with another size or time: a partition replaced

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.rewritten)

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(sorted((*self.added, *self.removed, *self.rewritten)))


def changes(before: pa.Table, after: pa.Table) -> LakeChanges:
    """The files added, removed and rewritten between two listings (`lake_files`, or a release's meta_lake_file)."""

    def keyed(table: pa.Table) -> dict[str, tuple[int, int]]:
        rows = table.select(["file", "size_bytes", "mtime_ns"]).to_pylist()
        return {row["file"]: (row["size_bytes"], row["mtime_ns"]) for row in rows}

    old, new = keyed(before), keyed(after)
    return LakeChanges(
        added=tuple(sorted(set(new) - set(old))),
        removed=tuple(sorted(set(old) - set(new))),
        rewritten=tuple(sorted(path for path in set(old) & set(new) if old[path] != new[path])),
    )
