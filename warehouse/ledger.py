"""The run ledger: one Parquet file per run and table, kept beside the releases.

It outlives any single release (a rollback must not forget later runs) and is
copied into every new release as ops_run, ops_source_load and ops_quarantine
for the pipeline-status page.

ops_day_decision records what an operator decided about a landing day: a
rollback rejects the days its undone runs loaded, `cockpit pipeline accept`
takes a rejection back. The latest decision about a (source, day) wins over
every load before it; a load after it (a new delivery) wins over the decision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.calendar import TIME_ZONE
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
    # Landing days rejected by a rollback (not loaded again while their files stay the same) or accepted back.
    "ops_day_decision": pa.schema(
        [
            ("run_id", pa.string()),  # the rollback or accept that decided (names the ledger file)
            ("source", pa.string()),
            ("day", pa.date32()),
            ("decision", pa.string()),  # rejected | accepted
            ("fingerprint", pa.string()),  # of the landing files the rejected load read
            ("undone_run", pa.string()),  # the rolled-back run that had loaded them
            ("decided_at", pa.timestamp("us")),
        ]
    ),
}
REJECTED, ACCEPTED = "rejected", "accepted"
LEDGER_TIME_ZONE = ZoneInfo(TIME_ZONE)  # ledger times are naive local times of the street


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
        try:
            pq.write_table(rows.cast(LEDGER_SCHEMAS[table]), tmp)
            os.replace(tmp, directory / f"{run_id}.parquet")
        finally:
            tmp.unlink(missing_ok=True)  # gone after the rename; left only by a failed write (a full disk)


def _query(home: Home, sql: str, params: list | None = None) -> list[tuple]:
    """`sql` over the ledger tables, each registered under its name."""
    con = duckdb.connect()
    try:
        for table in (t for t in LEDGER_SCHEMAS if t in sql):  # only the tables asked about: each is many files
            con.register(table, read_ledger(home, table))
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# The latest load of each (source, day) by a run that published, and the latest decision about it.
_LATEST = """
    latest_load AS (
        SELECT l.source, l.day, arg_max(l.fingerprint, l.loaded_at) AS fingerprint,
               arg_max(l.rows_loaded, l.loaded_at) AS rows_loaded, max(l.loaded_at) AS loaded_at
        FROM ops_source_load AS l JOIN ops_run AS r USING (run_id) WHERE r.status = 'published'
        GROUP BY l.source, l.day
    ),
    latest_decision AS (
        SELECT source, day, arg_max(decision, decided_at) AS decision, arg_max(fingerprint, decided_at) AS fingerprint,
               arg_max(undone_run, decided_at) AS undone_run, max(decided_at) AS decided_at
        FROM ops_day_decision GROUP BY source, day
    )"""


def loaded_days(home: Home) -> dict[tuple[str, date], tuple[str | None, int]]:
    """(source, day) → (fingerprint, rows loaded) of the latest load by a run that published.

    A load a later decision undid (a rollback rejected it, or an accept asks for it again) is not counted:
    the day is not loaded as far as the next run is concerned.
    """
    rows = _query(
        home,
        f"""WITH {_LATEST}
            SELECT l.source, l.day, l.fingerprint, l.rows_loaded FROM latest_load AS l
            LEFT JOIN latest_decision AS d USING (source, day)
            WHERE d.decided_at IS NULL OR d.decided_at < l.loaded_at""",
    )
    return {(source, day): (fingerprint, rows or 0) for source, day, fingerprint, rows in rows}


def loaded_fingerprints(home: Home) -> dict[tuple[str, date], str | None]:
    """(source, day) → fingerprint of the landing files last loaded by a run that published (see loaded_days)."""
    return {key: fingerprint for key, (fingerprint, _rows) in loaded_days(home).items()}


def written_days(home: Home) -> set[tuple[str, date]]:
    """Every (source, day) any run wrote to the lake, published or not (a failed run has written its lake files)."""
    return {(source, day) for source, day in _query(home, "SELECT DISTINCT source, day FROM ops_source_load")}


@dataclass(frozen=True)
class RejectedDay:
    source: str
    day: date
    fingerprint: str | None  # the delivery that was rejected; another one for the day is loaded as usual
    undone_run: str | None
    decided_at: datetime


def rejected_days(home: Home) -> list[RejectedDay]:
    """Landing days a rollback rejected and no accept or newer load has cleared, oldest day first."""
    rows = _query(
        home,
        f"""WITH {_LATEST}
            SELECT d.source, d.day, d.fingerprint, d.undone_run, d.decided_at FROM latest_decision AS d
            LEFT JOIN latest_load AS l USING (source, day)
            WHERE d.decision = '{REJECTED}' AND (l.loaded_at IS NULL OR l.loaded_at < d.decided_at)
            ORDER BY d.day, d.source""",
    )
    return [RejectedDay(*row) for row in rows]


def loads_undone_by(home: Home, target_run: str) -> list[tuple[str, date, str | None, str]]:
    """(source, day, fingerprint, run) of the loads a rollback to `target_run` undoes.

    Those of published runs after it whose files differ from what the target's data was loaded from
    (an `--all` reload of an unchanged day undoes nothing).
    """
    return _query(
        home,
        """WITH loads AS (
               SELECT l.source, l.day, l.fingerprint, l.run_id, l.loaded_at
               FROM ops_source_load AS l JOIN ops_run AS r USING (run_id) WHERE r.status = 'published'
           ),
           kept AS (
               SELECT source, day, arg_max(fingerprint, loaded_at) AS fingerprint FROM loads
               WHERE run_id <= ? GROUP BY source, day
           )
           SELECT n.source, n.day, arg_max(n.fingerprint, n.loaded_at), arg_max(n.run_id, n.loaded_at)
           FROM loads AS n LEFT JOIN kept AS k USING (source, day)
           WHERE n.run_id > ? AND k.fingerprint IS DISTINCT FROM n.fingerprint
           GROUP BY n.source, n.day ORDER BY n.day, n.source""",
        [target_run, target_run],
    )


def record_decisions(home: Home, decision_id: str, decision: str, days: list[tuple[str, date, str | None, str | None]]):
    """Write one decision (rejected | accepted) about each (source, day, fingerprint, undone run)."""
    now = datetime.now(LEDGER_TIME_ZONE).replace(tzinfo=None)  # as the runs record loaded_at
    rows = pa.Table.from_pylist(
        [
            {
                "run_id": decision_id,
                "source": source,
                "day": day,
                "decision": decision,
                "fingerprint": fingerprint,
                "undone_run": undone,
                "decided_at": now,
            }
            for source, day, fingerprint, undone in days
        ],
        schema=LEDGER_SCHEMAS["ops_day_decision"],
    )
    write_ledger(home, decision_id, {"ops_day_decision": rows})
