"""Pipeline-status queries over the run ledger copied into the current release (its ops_* tables).

The ledger: ops_run, ops_source_load, ops_quarantine, ops_unmapped (values loaded as 未映射), ops_flagged.

Rejected days are read from the ledger itself, not the release: a rollback's decision is newer than
the release it points CURRENT back at.

Small aggregates for the 数据管道 page; every one is a bounded query, never a table dump.
Besides the ledger, the page shows data faults the marts flag per source (tickets dated
after the landing day that delivered them).

A release keeps the ledger as it was when the release was built: one built before a
ledger table or column existed (kept for rollback) lacks it, and the queries answer
without it (an empty table, or NULL for the column) rather than failing the page.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from pipelines.freshness import is_stale, stale_after_days
from warehouse import ledger
from warehouse.paths import Home

# The landing days loaded by the runs that published a release (a failed run's loads never reached one).
_PUBLISHED_LOADS = "SELECT l.* FROM ops_source_load AS l JOIN ops_run AS r USING (run_id) WHERE r.status = 'published'"
# Unmapped values and flagged fields are listed over this many of the latest published runs.
RECENT_RUNS = 10


def has_table(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the release has `table` (older releases lack the newer ledger tables)."""
    return bool(table_columns(cur, table))


def table_columns(cur: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = cur.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_name = ?",
        [table],
    ).fetchall()
    return {name for (name,) in rows}


def recent_runs(cur: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    return cur.execute(
        """SELECT run_id, status, mode, started_at, duration_s, rows_loaded, rows_quarantined, files_rejected,
                  data_through, message
           FROM ops_run ORDER BY started_at DESC LIMIT ?""",
        [limit],
    ).df()


def source_freshness(cur: duckdb.DuckDBPyConnection, stale_after_hours: int = 26) -> pd.DataFrame:
    """Per source: last landing day loaded, days behind the release, and ok / stale.

    The counts are those of the last landing day as last loaded: rows loaded, rows a
    mapping's `when:` left out (filtered) and rows loaded with an optional value set to
    NULL (flagged); the last two are NULL in a release built before they were counted.
    """
    present = table_columns(cur, "ops_source_load")
    counts = {
        column: f"arg_max({column}, (day, loaded_at))" if column in present else "CAST(NULL AS BIGINT)"
        for column in ("rows_filtered", "rows_flagged")
    }
    frame = cur.execute(
        f"""WITH loads AS ({_PUBLISHED_LOADS})
           SELECT source,
                  max(day) AS last_day,
                  arg_max(cadence, loaded_at) AS cadence,
                  arg_max(rows_loaded, (day, loaded_at)) AS rows_last_day,
                  {counts["rows_filtered"]} AS filtered_last_day,
                  {counts["rows_flagged"]} AS flagged_last_day,
                  max(loaded_at) AS loaded_at,
                  (SELECT data_through FROM meta_release) - max(day) AS days_behind
           FROM loads GROUP BY source ORDER BY source"""
    ).df()
    through = cur.execute("SELECT data_through FROM meta_release").fetchone()[0]
    stale_days = stale_after_days(stale_after_hours)
    frame["status"] = [
        "stale" if is_stale(_day(last), through, cadence, stale_days) else "ok"
        for last, cadence in zip(frame["last_day"], frame["cadence"], strict=True)
    ]
    return frame


def _day(value) -> date:
    """A DATE read back through pandas (a Timestamp) as a date."""
    return value.date() if isinstance(value, pd.Timestamp) else value


def sources_complete_through(cur: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """Per source, the last landing day a published run loaded: what the source's data is complete through.

    Empty for a release without a run ledger (its KPIs are then taken as complete).
    """
    if not has_table(cur, "ops_source_load") or not has_table(cur, "ops_run"):
        return {}
    rows = cur.execute(f"SELECT source, max(day) FROM ({_PUBLISHED_LOADS}) GROUP BY source").fetchall()
    return {source: _day(day) for source, day in rows if day is not None}


def quarantine_by_reason(cur: duckdb.DuckDBPyConnection, days: int = 30) -> pd.DataFrame:
    """Quarantined rows per source and reason over the last `days` landing days (latest load of each day)."""
    return cur.execute(
        """WITH latest AS (
               SELECT q.*, row_number() OVER (PARTITION BY source, day, "table", reason ORDER BY r.started_at DESC) AS n
               FROM ops_quarantine AS q JOIN ops_run AS r USING (run_id)
               WHERE q.day > (SELECT data_through FROM meta_release) - ?
           )
           SELECT source, "table", reason, sum(rows) AS rows, max(day) AS last_day
           FROM latest WHERE n = 1 GROUP BY ALL ORDER BY rows DESC""",
        [days],
    ).df()


def _recent_ledger(cur: duckdb.DuckDBPyConnection, table: str, detail: str, runs: int) -> pd.DataFrame:
    """Rows of a per-run ledger table summed over the latest `runs` published runs, per source, table, field, `detail`.

    `runs` says in how many of those runs the row appeared, `last_run` the latest of them.
    """
    columns = ["source", "table", "field", detail, "rows", "runs", "last_run"]
    if not has_table(cur, table):
        return pd.DataFrame(columns=columns)
    return cur.execute(
        f"""WITH recent AS (
               SELECT run_id, started_at FROM ops_run WHERE status = 'published' ORDER BY started_at DESC LIMIT ?
           )
           SELECT x.source, x."table", x.field, x.{detail}, sum(x.rows) AS rows,
                  count(DISTINCT x.run_id) AS runs, arg_max(x.run_id, r.started_at) AS last_run
           FROM {table} AS x JOIN recent AS r USING (run_id)
           GROUP BY ALL ORDER BY rows DESC, x.source, x."table", x.field, x.{detail}""",
        [runs],
    ).df()[columns]


def unmapped_values(cur: duckdb.DuckDBPyConnection, runs: int = RECENT_RUNS) -> pd.DataFrame:
    """Export values no code list translated (loaded as the list's default, 未映射), over the latest published runs."""
    return _recent_ledger(cur, "ops_unmapped", "value", runs)


def flagged_fields(cur: duckdb.DuckDBPyConnection, runs: int = RECENT_RUNS) -> pd.DataFrame:
    """Optional fields whose values failed a check and loaded as NULL, per reason, over the latest published runs."""
    return _recent_ledger(cur, "ops_flagged", "reason", runs)


def tickets_received_after_delivery(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per ticket source: tickets, and those received on a later day than the landing day that delivered them.

    Such a ticket points at a clock error or a future-dated export in the source system;
    duplicates count too, since the fault is in the delivered row, not in the complaint.
    """
    return cur.execute(
        """SELECT source,
                  count(*) AS tickets,
                  count(*) FILTER (WHERE is_received_after_delivery) AS received_after_delivery,
                  max(received_at) FILTER (WHERE is_received_after_delivery) AS latest_received_at
           FROM fct_ticket GROUP BY source ORDER BY received_after_delivery DESC, source"""
    ).df()


def rejected_days(home: Home) -> pd.DataFrame:
    """Landing days a rollback rejected and nothing has taken back: not loaded until accepted or delivered again."""
    return pd.DataFrame(
        [
            {"source": r.source, "day": r.day, "undone_run": r.undone_run, "decided_at": r.decided_at}
            for r in ledger.rejected_days(home)
        ],
        columns=["source", "day", "undone_run", "decided_at"],
    )
