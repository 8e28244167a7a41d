"""Pipeline-status queries over the ledger tables of the current release (ops_run, ops_source_load, ops_quarantine).

Small aggregates for the 数据管道 page; every one is a bounded query, never a table dump.
Besides the ledger, the page shows data faults the marts flag per source (tickets dated
after the landing day that delivered them).
"""

from __future__ import annotations

import duckdb
import pandas as pd

CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31}


def recent_runs(cur: duckdb.DuckDBPyConnection, limit: int = 20) -> pd.DataFrame:
    return cur.execute(
        """SELECT run_id, status, mode, started_at, duration_s, rows_loaded, rows_quarantined, files_rejected,
                  data_through, message
           FROM ops_run ORDER BY started_at DESC LIMIT ?""",
        [limit],
    ).df()


def source_freshness(cur: duckdb.DuckDBPyConnection, stale_after_hours: int = 26) -> pd.DataFrame:
    """Per source: last landing day loaded, days behind the release, and ok / stale."""
    frame = cur.execute(
        """WITH loads AS (
               SELECT l.* FROM ops_source_load AS l JOIN ops_run AS r USING (run_id) WHERE r.status = 'published'
           )
           SELECT source,
                  max(day) AS last_day,
                  arg_max(cadence, loaded_at) AS cadence,
                  arg_max(rows_loaded, (day, loaded_at)) AS rows_last_day,
                  max(loaded_at) AS loaded_at,
                  (SELECT data_through FROM meta_release) - max(day) AS days_behind
           FROM loads GROUP BY source ORDER BY source"""
    ).df()
    allowed = [max(round(stale_after_hours / 24), CADENCE_DAYS.get(c, 1)) for c in frame["cadence"]]
    frame["status"] = [
        "stale" if behind >= limit else "ok" for behind, limit in zip(frame["days_behind"], allowed, strict=True)
    ]
    return frame


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
