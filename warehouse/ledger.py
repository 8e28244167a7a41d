"""The run ledger: one Parquet file per run and table, kept beside the releases.

It outlives any single release (a rollback must not forget later runs) and is
copied into every new release as ops_run, ops_source_load and ops_quarantine
for the pipeline-status page.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.paths import Home

LEDGER_SCHEMAS = {
    "ops_run": pa.schema(
        [
            ("run_id", pa.string()),
            ("started_at", pa.timestamp("us")),
            ("finished_at", pa.timestamp("us")),
            ("status", pa.string()),
            ("mode", pa.string()),
            ("days", pa.int64()),
            ("sources", pa.int64()),
            ("rows_read", pa.int64()),
            ("rows_loaded", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("files_rejected", pa.int64()),
            ("release", pa.string()),
            ("data_through", pa.date32()),
            ("duration_s", pa.float64()),
            ("peak_rss_mb", pa.float64()),
            ("message", pa.string()),
        ]
    ),
    "ops_source_load": pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),
            ("day", pa.date32()),
            ("files", pa.int64()),
            ("files_rejected", pa.int64()),
            ("rows_read", pa.int64()),
            ("rows_loaded", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("rows_filtered", pa.int64()),  # left out by an entry's `when:` condition
            ("rows_flagged", pa.int64()),  # loaded with an optional value set to NULL
            ("fingerprint", pa.string()),
            ("cadence", pa.string()),
            ("loaded_at", pa.timestamp("us")),
        ]
    ),
    "ops_quarantine": pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),
            ("day", pa.date32()),
            ("table", pa.string()),
            ("reason", pa.string()),
            ("rows", pa.int64()),
        ]
    ),
    # Export values that no code list translated and that loaded as the list's default (未映射).
    "ops_unmapped": pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),
            ("table", pa.string()),
            ("field", pa.string()),
            ("value", pa.string()),
            ("rows", pa.int64()),
        ]
    ),
    # Optional values that failed their check and loaded as NULL, per field and reason.
    "ops_flagged": pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),
            ("table", pa.string()),
            ("field", pa.string()),
            ("reason", pa.string()),
            ("rows", pa.int64()),
        ]
    ),
}


def _dir(home: Home, table: str) -> Path:
    return home.ledger / table


def read_ledger(home: Home, table: str) -> pa.Table:
    files = sorted(_dir(home, table).glob("*.parquet"))
    if not files:
        return LEDGER_SCHEMAS[table].empty_table()
    return pa.concat_tables(_conform(pq.read_table(f), LEDGER_SCHEMAS[table]) for f in files)


def _conform(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """A ledger file written before a column was added reads with that column empty."""
    for name in schema.names:
        if name not in rows.column_names:
            rows = rows.append_column(name, pa.nulls(rows.num_rows, schema.field(name).type))
    return rows.select(schema.names).cast(schema)


def write_ledger(home: Home, run_id: str, tables: dict[str, pa.Table]) -> None:
    for table, rows in tables.items():
        directory = _dir(home, table)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{run_id}.parquet.tmp"
        pq.write_table(rows.cast(LEDGER_SCHEMAS[table]), tmp)
        os.replace(tmp, directory / f"{run_id}.parquet")


def loaded_fingerprints(home: Home) -> dict[tuple[str, object], str]:
    """(source, day) → fingerprint of the landing files last loaded by a run that published."""
    loads, runs = read_ledger(home, "ops_source_load"), read_ledger(home, "ops_run")
    con = duckdb.connect()
    try:
        con.register("loads", loads)
        con.register("runs", runs)
        rows = con.execute(
            """SELECT l.source, l.day, arg_max(l.fingerprint, l.loaded_at)
               FROM loads l JOIN runs r USING (run_id) WHERE r.status = 'published'
               GROUP BY l.source, l.day"""
        ).fetchall()
    finally:
        con.close()
    return {(source, day): fingerprint for source, day, fingerprint in rows}
