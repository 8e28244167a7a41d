"""Bringing a base release's marts up to date for lake files added since it was built, without building them
again whole (warehouse/build.py decides when; this module does it).

A patch applies only where the change it sees is exact: files *added* to a lake table (a night's delivery, a
late file). A file rewritten or removed (a reload, a rollback) takes what it held with it, so the models that
read it are built again whole. Two kinds of patch, each checked against a build from scratch by
tests/warehouse/test_incremental.py:

- **By key.** A model whose header says `-- patch: <column>` promises that its rows of one value of that
  column depend only on its inputs' rows of the same value (stg_video_status and fct_video_status: one
  status_date). When each of its changed inputs carries the set of values that changed (a lake table read
  from its added files, or a model patched before it by the same column), the model's rows of those values
  are deleted and computed again by its own SQL, its inputs shadowed by temporary views of the same names
  that hold only those values; its changed values are passed on.
- **Sensor slots.** fct_sensor_hourly reaches across slots: a slot's neighbours (3 slots either side), stuck
  runs (`stuck_slots` or more) and the gap rows up to the next observed slot. For each series (device,
  metric) with added readings, the slots from `lo` (the last observed slot at least `reach` before the first
  added reading) to `hi` (the first observed slot at least `reach` after the last; for a night's readings,
  none: the end of the series) are computed again from the readings `reach` beyond both ends, and replace
  the base's rows of that stretch. `reach` is a run of stuck_slots + 4 slots of the slowest metric, so a
  slot outside the stretch sees the same neighbours and the same runs it saw in the base: a run that could
  change is shorter than stuck_slots and lies inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

_PATCH_HEADER = re.compile(r"^\s*--\s*patch:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
SENSOR_MODEL = "fct_sensor_hourly"
SENSOR_INPUT = "stg_sensor_reading"  # the view over lake_sensor_reading that the sensor model reads
SENSOR_LAKE_TABLE = "sensor_reading"


def patch_key(sql: str) -> str | None:
    """The column a model's header says it may be patched by (`-- patch: status_date`), or None."""
    match = _PATCH_HEADER.search(sql)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Keys:
    """The values of one column whose rows changed in a table: a temporary table `name` with that column."""

    column: str
    name: str


def _sql_literal(value: object) -> str:
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _files_sql(lake: Path, files: Iterable[str]) -> str:
    paths = ", ".join(_sql_literal(str(lake / file)) for file in files)
    return f"read_parquet([{paths}], union_by_name = true)"


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchall()[0][0]


def lake_keys(
    con: duckdb.DuckDBPyConnection, lake: Path, table: str, files: list[str], column: str, kind: str
) -> Keys | None:
    """The values of `column` in the lake files added to `table`, as Keys (None when the files lack it)."""
    present = {name for (name, *_rest) in con.execute(f"DESCRIBE SELECT * FROM {_files_sql(lake, files)}").fetchall()}
    if column not in present:
        return None
    name = f"_keys_lake_{table}"
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT DISTINCT CAST("{column}" AS {kind}) AS "{column}" '
        f'FROM {_files_sql(lake, files)} WHERE "{column}" IS NOT NULL'
    )
    return Keys(column, name)


def _key_filter(con: duckdb.DuckDBPyConnection, keys: Keys, alias: str = "") -> str:
    """A WHERE condition for rows of the changed values: a literal range (which Parquet statistics prune on)
    and the exact set."""
    low, high = con.execute(f'SELECT min("{keys.column}"), max("{keys.column}") FROM "{keys.name}"').fetchall()[0]
    column = f'{alias}"{keys.column}"'
    if low is None:
        return "false"
    return (
        f"{column} BETWEEN {_sql_literal(low)} AND {_sql_literal(high)} "
        f'AND {column} IN (SELECT "{keys.column}" FROM "{keys.name}")'
    )


def patch_by_key(con: duckdb.DuckDBPyConnection, name: str, sql: str, inputs: dict[str, Keys]) -> Keys:
    """Replace the rows of `name` whose key is among the changed values of its `inputs` (all keyed by the one
    column), computing them with the model's `sql` over inputs shadowed to those values. Returns its Keys."""
    column = next(iter(inputs.values())).column
    keys = Keys(column, f"_keys_{name}")
    union = " UNION ".join(f'SELECT "{column}" FROM "{k.name}"' for k in inputs.values())
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{keys.name}" AS {union}')
    catalog = _catalog(con)
    try:
        for table in inputs:
            con.execute(
                f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * FROM "{catalog}".main."{table}" '
                f"WHERE {_key_filter(con, keys)}"
            )
        con.execute(f'CREATE OR REPLACE TEMP TABLE "_patch_{name}" AS {sql}')
    finally:
        for table in inputs:
            con.execute(f'DROP VIEW IF EXISTS temp.main."{table}"')
    con.execute(f'DELETE FROM main."{name}" WHERE {_key_filter(con, keys)}')
    con.execute(f'INSERT INTO main."{name}" BY NAME SELECT * FROM "_patch_{name}"')
    con.execute(f'DROP TABLE "_patch_{name}"')
    return keys


def patch_sensor_hourly(con: duckdb.DuckDBPyConnection, sql: str, lake: Path, files: list[str]) -> None:
    """Replace the stretches of fct_sensor_hourly that readings added in `files` can change (module docstring)."""
    catalog = _catalog(con)
    reach = con.execute("SELECT to_hours(max((stuck_slots + 4) * interval_hours)) FROM dim_sensor_metric").fetchall()[
        0
    ][0]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sensor_added AS SELECT device_id, metric, "
        "min(CAST(measured_at AS TIMESTAMP)) AS first_added, max(CAST(measured_at AS TIMESTAMP)) AS last_added "
        f"FROM {_files_sql(lake, files)} GROUP BY ALL"
    )
    # lo and hi are observed slots of the base; `since` is where the series' readings can start at the earliest.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _sensor_window AS
        SELECT
            a.device_id,
            a.metric,
            max(h.hour) FILTER (WHERE h.hour <= a.first_added - $reach) AS lo,
            min(h.hour) FILTER (WHERE h.hour >= a.last_added + $reach) AS hi,
            least(min(h.hour), a.first_added - $reach) AS since
        FROM _sensor_added AS a
        LEFT JOIN "{catalog}".main.{SENSOR_MODEL} AS h
            ON h.device_id = a.device_id AND h.metric = a.metric AND NOT h.is_gap
        GROUP BY a.device_id, a.metric, a.first_added, a.last_added
        """,
        {"reach": reach},
    )
    since = con.execute("SELECT min(coalesce(lo, since) - $reach) FROM _sensor_window", {"reach": reach}).fetchall()
    since = since[0][0]
    if since is None:
        return  # the added files hold no readings
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW {SENSOR_INPUT} AS
            SELECT r.*
            FROM "{catalog}".main.{SENSOR_INPUT} AS r
            JOIN _sensor_window AS w USING (device_id, metric)
            WHERE r.measured_at >= {_sql_literal(since)}
              AND (w.lo IS NULL OR r.measured_at >= w.lo - {_interval(reach)})
              AND (w.hi IS NULL OR r.measured_at < w.hi + {_interval(reach)})
            """
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _patch_sensor AS {sql}")
    finally:
        con.execute(f"DROP VIEW IF EXISTS temp.main.{SENSOR_INPUT}")
    stretch = "(w.lo IS NULL OR {t}.hour >= w.lo) AND (w.hi IS NULL OR {t}.hour <= w.hi)"
    con.execute(
        f"DELETE FROM main.{SENSOR_MODEL} AS h USING _sensor_window AS w "
        f"WHERE h.device_id = w.device_id AND h.metric = w.metric AND {stretch.format(t='h')}"
    )
    con.execute(
        f"INSERT INTO main.{SENSOR_MODEL} BY NAME SELECT p.* FROM _patch_sensor AS p "
        f"JOIN _sensor_window AS w USING (device_id, metric) WHERE {stretch.format(t='p')}"
    )
    con.execute("DROP TABLE _patch_sensor")


def _interval(value) -> str:
    """A Python timedelta as a DuckDB interval literal."""
    return f"INTERVAL '{int(value.total_seconds())} seconds'"
