"""Bringing a base release's marts up to date for lake files added since it was built, without building them
again whole (warehouse/build.py decides when; this module does it).

A patch applies only where the change it sees is exact: files *added* to a lake table (a night's delivery, a
late file). A file rewritten or removed (a reload, a rollback) takes what it held with it, so the models that
read it are built again whole. Two kinds of patch, each checked against a build from scratch by
tests/warehouse/test_incremental.py:

- **By key.** A model whose header says `-- patch: <column>[, <column>…]` promises that its rows of one
  value of that key depend only on its inputs' rows of the same value (stg_video_status and fct_video_status:
  one status_date; stg_ticket_event: one event_id; stg_ticket_intake: one channel and source_ticket_id).
  When each of its changed inputs carries the set of values that changed (a lake table read from its added
  files, or a model patched before it by the same key), the model's rows of those values are deleted and
  computed again by its own SQL, its inputs shadowed by temporary views of the same names that hold only
  those values; its changed values are passed on. Where meta_release's day moved forward or dim_calendar
  gained days at its ends, a model whose header says `-- moves: <condition>` (`patch_moves`) computes its
  rows meeting the condition again too (fct_approval: the open applications); another is built again whole.
  A row of an added file with no key value (NULL) cannot be placed, so its table is built again whole. An
  input patched by another key that holds the model's key columns passes on the values of those columns in
  the rows it patched, before and after (`rekey`): fct_ticket_event, keyed by ticket, reads
  stg_ticket_event, keyed by event.
- **From a day.** A model whose header says `-- patch: from <date column>` promises that its rows of one day
  depend only on its inputs' rows of that day (each input dated by its column in DAY_COLUMNS) and on
  meta_release's data_through. When every input it reads changed was patched no earlier than some day (the
  sensor slots, the video statuses, the device days), or is meta_release (the day after the earlier
  data_through), its rows from the earliest such day are computed again: fct_device_status (a row per device
  and day up to data_through) and the daily rollups over it and over the sensor slots. A header that says
  `-- patch: from status_date, per device_id` promises more: a device's rows of a day depend only on its
  inputs' rows of that device and day. An input whose patch knows each device's first changed day (the sensor
  slots: SENSOR_CHANGED) then moves only that device's rows back: a feed silent for weeks computes its own
  weeks again, and every other device only from the others' earliest day.
- **Tickets.** A ticket's row of fct_ticket reads its intake, its events, meta_release's as_of, and the
  tickets of its address and category (address_key: duplicates within 24 h, repeats within 30 days). When
  the intake and the events were patched by ticket and, besides, only as_of moved forward and dim_calendar
  gained days at its ends (working days counted from a day it held end on the same day), the rows computed
  again are those of: the tickets patched, the tickets whose as-of columns may still move (its `-- moves:`),
  and every ticket sharing an address and category with one of these or with an intake row the patch
  replaced. The model's SQL runs over the intake and events of those tickets alone: each ticket's address
  and category come whole, so its duplicates and repeats are found as in a full build (`patch_tickets`).
- **Sensor slots.** fct_sensor_hourly reaches across slots: a slot's neighbours (3 slots either side), stuck
  runs (`stuck_slots` or more) and the gap rows up to the next observed slot. For each series (device,
  metric) with added readings, the slots from `lo` (the last observed slot at least `reach` before the first
  added reading) to `hi` (the first observed slot at least `reach` after the last; for a night's readings,
  none: the end of the series) are computed again from the readings `reach` beyond both ends, and replace
  the base's rows of that stretch. `reach` is a run of stuck_slots + 4 slots of the slowest metric, so a
  slot outside the stretch sees the same neighbours and the same runs it saw in the base: a run that could
  change is shorter than stuck_slots and lies inside it. The readings of the series whose `lo` lay beyond
  SENSOR_LOOKBACK (a long silence, a new device) are read apart, by device, so that one silent feed does not
  make every series' readings of its weeks read (FAR_DEVICES_NAMED).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

_PATCH_HEADER = re.compile(r"^\s*--\s*patch:\s*([a-z_][a-z0-9_]*(?:\s*,\s*[a-z_][a-z0-9_]*)*)\s*$", re.MULTILINE)
SENSOR_MODEL = "fct_sensor_hourly"
SENSOR_LOOKBACK = timedelta(days=7)  # how far before a night's readings a series' last slot is looked for first
# The devices whose series' last slot lay beyond the lookback are named in the readings' filter up to this many;
# more (a reload of a month, say) are read with the others, from the earliest start.
FAR_DEVICES_NAMED = 1000
TICKET_MODEL = "fct_ticket"
TICKET_INPUTS = ("stg_ticket_intake", "fct_ticket_event")  # patched by ticket: TICKET_KEY
TICKET_KEY = ("channel", "source_ticket_id")
SENSOR_INPUT = "stg_sensor_reading"  # the view over lake_sensor_reading that the sensor model reads
SENSOR_LAKE_TABLE = "sensor_reading"
_PATCH_FROM_HEADER = re.compile(
    r"^\s*--\s*patch:\s*from\s+([a-z_][a-z0-9_]*)(?:\s*,\s*per\s+([a-z_][a-z0-9_]*))?\s*$", re.MULTILINE
)
_MOVES_HEADER = re.compile(r"^\s*--\s*moves:\s*(\S.*?)\s*$", re.MULTILINE)
# The column that dates the rows of each table a model patched from a day may read (its rows of a day are
# those whose column falls on that day).
DAY_COLUMNS = {"fct_sensor_hourly": "hour", "fct_video_status": "status_date", "fct_device_status": "status_date"}
# Each device's first day whose sensor slots came out different in the last patch_sensor_hourly: device_id, since.
SENSOR_CHANGED = "_sensor_changed"


def patch_key(sql: str) -> tuple[str, ...] | None:
    """The key a model's header says it may be patched by (`-- patch: status_date`), or None."""
    match = _PATCH_HEADER.search(sql)
    return tuple(column.strip() for column in match.group(1).split(",")) if match else None


def patch_moves(sql: str) -> str | None:
    """The condition of a model's header `-- moves: <condition>`: its rows that may change with nothing of their
    own changing, as meta_release's as_of moves forward or dim_calendar gains days at its ends (an open
    application's overdue flag, a deadline past the calendar's last day). A model patched by key computes these
    rows again besides its changed keys; without the header, an as_of or calendar change rebuilds it whole."""
    match = _MOVES_HEADER.search(sql)
    return match.group(1) if match else None


def patch_from(sql: str) -> str | None:
    """The date column of a model whose header says it may be patched from a day (`-- patch: from
    status_date`), or None."""
    match = _PATCH_FROM_HEADER.search(sql)
    return match.group(1) if match else None


def patch_per(sql: str) -> str | None:
    """The column of a model patched from a day that may be patched from a day of each of its values
    (`-- patch: from status_date, per device_id`: a device's rows of a day depend only on its inputs' rows of
    that device and day), or None."""
    match = _PATCH_FROM_HEADER.search(sql)
    return match.group(2) if match else None


@dataclass(frozen=True)
class Keys:
    """The values of a key whose rows changed in a table: a temporary table `name` with the key's columns."""

    columns: tuple[str, ...]
    name: str

    @property
    def select(self) -> str:
        return ", ".join(f'"{column}"' for column in self.columns)


def _sql_literal(value: object) -> str:
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _sql_list(values: Iterable[object]) -> str:
    """Values as a SQL list of literals (for IN)."""
    return ", ".join(_sql_literal(value) for value in values)


def _files_sql(lake: Path, files: Iterable[str]) -> str:
    paths = ", ".join(_sql_literal(str(lake / file)) for file in files)
    return f"read_parquet([{paths}], union_by_name = true)"


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchall()[0][0]


def lake_keys(
    con: duckdb.DuckDBPyConnection, lake: Path, table: str, files: list[str], kinds: dict[str, str]
) -> Keys | None:
    """The values of the key (column → type) in the lake files added to `table`, as Keys (None when the files
    lack a column of it). A row with a NULL in the key has no key value to patch: its partition changed too."""
    present = {name for (name, *_rest) in con.execute(f"DESCRIBE SELECT * FROM {_files_sql(lake, files)}").fetchall()}
    if not set(kinds) <= present:
        return None
    keys = Keys(tuple(kinds), f"_keys_lake_{table}")
    typed = ", ".join(f'CAST("{column}" AS {kind}) AS "{column}"' for column, kind in kinds.items())
    nulls = con.execute(
        f"SELECT count(*) FROM {_files_sql(lake, files)} WHERE "
        + " OR ".join(f'"{column}" IS NULL' for column in kinds)
    ).fetchall()[0][0]
    if nulls:
        return None
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{keys.name}" AS SELECT DISTINCT {typed} FROM {_files_sql(lake, files)}')
    return keys


def key_scope(con: duckdb.DuckDBPyConnection, keys: Keys) -> str:
    """A condition holding for every row of the changed values, in literals only (it outlives the build's
    temporary tables, and Parquet statistics and DuckDB's zone maps prune on it): a range per key column."""
    bounds = ", ".join(f'min("{column}"), max("{column}")' for column in keys.columns)
    values = con.execute(f'SELECT {bounds} FROM "{keys.name}"').fetchall()[0]
    if values[0] is None:
        return "false"
    return " AND ".join(
        f'"{column}" BETWEEN {_sql_literal(values[2 * i])} AND {_sql_literal(values[2 * i + 1])}'
        for i, column in enumerate(keys.columns)
    )


def _key_filter(con: duckdb.DuckDBPyConnection, keys: Keys) -> str:
    """A WHERE condition for rows of the changed values: their range (`key_scope`) and the exact set."""
    scope = key_scope(con, keys)
    if scope == "false":
        return scope
    return f'{scope} AND ({keys.select}) IN (SELECT {keys.select} FROM "{keys.name}")'


@contextmanager
def _shadowed(con: duckdb.DuckDBPyConnection, conditions: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, each table's name reads only its rows meeting its condition: a temporary view of that
    name over the release's own table (unqualified names find the temporary view first)."""
    catalog = _catalog(con)
    try:
        for table, condition in conditions.items():
            con.execute(
                f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * FROM "{catalog}".main."{table}" WHERE {condition}'
            )
        yield
    finally:
        for table in conditions:
            con.execute(f'DROP VIEW IF EXISTS temp.main."{table}"')


def replaced_name(name: str) -> str:
    """The temporary table holding the rows of `name` that its last patch replaced (see `rekey`)."""
    return f"_replaced_{name}"


def _replace_rows(con: duckdb.DuckDBPyConnection, name: str, condition: str, rows: str, *, keep: bool = False) -> None:
    """Delete the rows of `name` meeting `condition` and insert those of the relation `rows` meeting it; with
    `keep`, the rows deleted are kept in a temporary table (`replaced_name`) for what reads them after."""
    if keep:
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{replaced_name(name)}" AS SELECT * FROM main."{name}" WHERE {condition}'
        )
    con.execute(f'DELETE FROM main."{name}" WHERE {condition}')
    con.execute(f'INSERT INTO main."{name}" BY NAME SELECT * FROM {rows} WHERE {condition}')


def _recompute(
    con: duckdb.DuckDBPyConnection, name: str, sql: str, shadows: Mapping[str, str], condition: str, *, keep: bool
) -> None:
    """Replace the rows of `name` meeting `condition` with those the model's `sql` makes of them, its inputs
    shadowed (`shadows`: input → the condition its rows read meet). Only the rows meeting `condition` are
    kept from the model's result: it may make rows its shadowed inputs do not hold (a device's every day
    since installation), which would be computed and thrown away."""
    with _shadowed(con, shadows):
        con.execute(f'CREATE OR REPLACE TEMP TABLE "_patch_{name}" AS SELECT * FROM ({sql}) WHERE {condition}')
    _replace_rows(con, name, condition, f'"_patch_{name}"', keep=keep)
    con.execute(f'DROP TABLE "_patch_{name}"')


def patch_by_key(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    inputs: dict[str, Keys],
    *,
    columns: tuple[str, ...],
    moving: str | None = None,
) -> Keys:
    """Replace the rows of `name` whose key (`columns`) is among the changed values of its `inputs` or, with
    `moving` (its `-- moves:` condition), of its rows meeting it, computing them with the model's `sql` over
    inputs shadowed to those values. Returns its Keys; the rows it replaced are kept for `rekey`."""
    keys = Keys(columns, f"_keys_{name}")
    selects = [f'SELECT {keys.select} FROM "{k.name}"' for k in inputs.values()]
    if moving is not None:
        selects.append(f'SELECT {keys.select} FROM main."{name}" WHERE {moving}')
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{keys.name}" AS {" UNION ".join(selects)}')
    condition = _key_filter(con, keys)
    _recompute(con, name, sql, dict.fromkeys(inputs, condition), condition, keep=True)
    return keys


def rekey(con: duckdb.DuckDBPyConnection, name: str, keys: Keys, columns: tuple[str, ...]) -> Keys | None:
    """The values of other `columns` that the patch of `name` by `keys` touched: those of its rows now and of
    the rows it replaced (a late file's first-loaded event may belong to another ticket than the one it
    replaced). A model downstream keyed by `columns` patches these (stg_ticket_event, keyed by event_id, and
    fct_ticket_event, by ticket). None when `name` lacks a column, or a touched row has a NULL in one: it
    has no value to patch by."""
    present = {row[0] for row in con.execute(f'DESCRIBE main."{name}"').fetchall()}
    if not set(columns) <= present:
        return None
    rekeyed = Keys(columns, f"_keys_{name}_by_{'_'.join(columns)}")
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{rekeyed.name}" AS '
        f'SELECT {rekeyed.select} FROM main."{name}" WHERE {_key_filter(con, keys)} '
        f'UNION SELECT {rekeyed.select} FROM "{replaced_name(name)}"'
    )
    nulls = con.execute(
        f'SELECT count(*) FROM "{rekeyed.name}" WHERE ' + " OR ".join(f'"{column}" IS NULL' for column in columns)
    ).fetchall()[0][0]
    return None if nulls else rekeyed


def changed_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    base: str,
    key: str,
    columns: tuple[str, ...],
    name: str,
    where: str = "true",
) -> Keys:
    """The keys of `table` whose `columns` differ from the base's copy `base`, added or gone included; with
    `where`, among the rows of `table` meeting it (`base` then holds the base's rows of those keys only: the
    rows a patch replaced)."""
    keys = Keys((key,), f"_keys_{name}")
    projection = ", ".join(f'"{column}"' for column in (key, *columns))
    now = f'SELECT {projection} FROM "{table}" WHERE {where}'
    before = f'SELECT {projection} FROM "{base}"'
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{keys.name}" AS '
        f'SELECT "{key}" FROM ({now} EXCEPT {before}) UNION SELECT "{key}" FROM ({before} EXCEPT {now})'
    )
    return keys


def patch_rows(
    con: duckdb.DuckDBPyConnection, name: str, table: str, keys: Keys, build: Callable[[], pa.Table]
) -> None:
    """Replace the rows of the Python mart `name` for the changed keys of `table`, which `build` makes from
    `table` shadowed to those keys."""
    condition = _key_filter(con, keys)
    with _shadowed(con, {table: condition}):
        rows = build()
    con.register("_patch_rows", rows)
    try:
        _replace_rows(con, name, condition, "_patch_rows")
    finally:
        con.unregister("_patch_rows")


def patch_tickets(con: duckdb.DuckDBPyConnection, sql: str, inputs: Mapping[str, Keys], moving: str) -> Keys:
    """Replace the rows of fct_ticket that may differ from the base's (module docstring, "Tickets"), computed
    by the model's `sql` over its ticket inputs shadowed to those tickets; `inputs` are the Keys (channel,
    source_ticket_id) of the ticket inputs that changed, `moving` the model's `-- moves:` condition. Returns
    the tickets as Keys of ticket_id; the rows replaced are kept (see `rekey`)."""
    keys = Keys(("ticket_id",), f"_keys_{TICKET_MODEL}")
    key = ", ".join(TICKET_KEY)
    # an event's ticket without an intake row has no row in fct_ticket
    changed = "".join(
        f'SELECT ticket_id FROM main.stg_ticket_intake WHERE ({key}) IN (SELECT {key} FROM "{k.name}") UNION '
        for k in inputs.values()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ticket_seeds AS {changed}"
        f"SELECT ticket_id FROM main.{TICKET_MODEL} WHERE {moving}"
    )
    replaced = replaced_name("stg_ticket_intake") if "stg_ticket_intake" in inputs else None
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE "{keys.name}" AS
        WITH seeded AS (
            SELECT address_key, category FROM main.stg_ticket_intake
            WHERE ticket_id IN (SELECT ticket_id FROM _ticket_seeds)
            {f'UNION ALL SELECT address_key, category FROM "{replaced}"' if replaced else ""}
        ),
        places AS (SELECT DISTINCT address_key, category FROM seeded WHERE address_key IS NOT NULL)
        SELECT ticket_id FROM _ticket_seeds
        UNION
        SELECT i.ticket_id FROM main.stg_ticket_intake AS i JOIN places USING (address_key, category)
        """
    )
    condition = f'ticket_id IN (SELECT ticket_id FROM "{keys.name}")'
    _recompute(con, TICKET_MODEL, sql, dict.fromkeys(TICKET_INPUTS, condition), condition, keep=True)
    return keys


def patch_sensor_hourly(con: duckdb.DuckDBPyConnection, sql: str, lake: Path, files: list[str]) -> datetime | None:
    """Replace the stretches of fct_sensor_hourly that readings added in `files` can change (module docstring).
    Returns the earliest slot that came out different (None: none did, or the files hold no readings)."""
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
    # Looked for first among the slots from SENSOR_LOOKBACK before the added readings: a series that reported
    # then has its lo there (hi is after them anyway); the others (a new device, a long silence) look further.
    window = """
        SELECT
            a.device_id,
            a.metric,
            max(h.hour) FILTER (WHERE h.hour <= a.first_added - $reach) AS lo,
            min(h.hour) FILTER (WHERE h.hour >= a.last_added + $reach) AS hi,
            least(min(h.hour), a.first_added - $reach) AS since
        FROM _sensor_added AS a
        LEFT JOIN "{catalog}".main.{model} AS h
            ON h.device_id = a.device_id AND h.metric = a.metric AND NOT h.is_gap AND {near}
        {which}
        GROUP BY a.device_id, a.metric, a.first_added, a.last_added
    """
    bound = "h.hour >= (SELECT min(first_added) FROM _sensor_added) - $reach - $lookback"
    parts = {"catalog": catalog, "model": SENSOR_MODEL}
    params = {"reach": reach, "lookback": SENSOR_LOOKBACK}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sensor_window AS " + window.format(**parts, near=bound, which=""), params
    )
    far = "WHERE (a.device_id, a.metric) IN (SELECT device_id, metric FROM _sensor_window WHERE lo IS NULL)"
    # The series whose last slot lay beyond the lookback (a long silence, a new device): read apart, below.
    far_devices = [
        row[0] for row in con.execute("SELECT DISTINCT device_id FROM _sensor_window WHERE lo IS NULL").fetchall()
    ]
    if far_devices:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _sensor_far AS " + window.format(**parts, near="true", which=far),
            {"reach": reach},
        )
        con.execute(
            "UPDATE _sensor_window AS w SET lo = f.lo, since = f.since FROM _sensor_far AS f "
            "WHERE w.device_id = f.device_id AND w.metric = f.metric"
        )
    since = con.execute("SELECT min(coalesce(lo, since) - $reach) FROM _sensor_window", {"reach": reach}).fetchall()
    since = since[0][0]
    if since is None:
        return None  # the added files hold no readings
    # Each series' readings from its stretch's start. The readings view groups every reading of a slot across
    # the lake's files, so what it reads from the earliest start costs all series' readings since then: one
    # feed silent for weeks made every series' weeks read. So the series found near (within the lookback) are
    # read from their earliest start, and the far ones apart, from theirs, named: a device filter reaches the
    # files through the view's grouping, a join does not.
    stretch_rows = f"""
        SELECT r.*
        FROM "{catalog}".main.{SENSOR_INPUT} AS r
        JOIN _sensor_window AS w USING (device_id, metric)
        WHERE r.measured_at >= {{start}} AND {{which}}
          AND (w.lo IS NULL OR r.measured_at >= w.lo - {_interval(reach)})
          AND (w.hi IS NULL OR r.measured_at < w.hi + {_interval(reach)})
    """
    if far_devices and len(far_devices) <= FAR_DEVICES_NAMED:
        is_far = "(device_id, metric) IN (SELECT device_id, metric FROM _sensor_far)"
        near_since = con.execute(
            f"SELECT min(lo - $reach) FROM _sensor_window WHERE NOT {is_far}", {"reach": reach}
        ).fetchall()[0][0]
        named = f"r.device_id IN ({_sql_list(far_devices)})"
        parts = [stretch_rows.format(start=_sql_literal(since), which=f"{named} AND {is_far}")]
        if near_since is not None:
            parts.append(stretch_rows.format(start=_sql_literal(near_since), which=f"NOT {is_far}"))
        readings = " UNION ALL ".join(parts)
    else:
        readings = stretch_rows.format(start=_sql_literal(since), which="true")
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {SENSOR_INPUT} AS {readings}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _patch_sensor AS {sql}")
    finally:
        con.execute(f"DROP VIEW IF EXISTS temp.main.{SENSOR_INPUT}")
    # The earliest slot of any stretch (its lo, or a new series' first slot), as a constant: DuckDB skips the row
    # groups before it.
    stretch = f"{{t}}.hour >= {_sql_literal(since + reach)} AND (w.lo IS NULL OR {{t}}.hour >= w.lo) "
    stretch += "AND (w.hi IS NULL OR {t}.hour <= w.hi)"
    columns = ", ".join(f'"{row[0]}"' for row in con.execute(f"DESCRIBE main.{SENSOR_MODEL}").fetchall())
    stretches = {
        table: f"SELECT {columns} FROM {source} AS {alias} JOIN _sensor_window AS w USING (device_id, metric) "
        f"WHERE {stretch.format(t=alias)}"
        for table, source, alias in (("old", f"main.{SENSOR_MODEL}", "h"), ("new", "_patch_sensor", "p"))
    }
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sensor_replaced AS {stretches['old']}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _sensor_new AS {stretches['new']}")
    con.execute(
        f"DELETE FROM main.{SENSOR_MODEL} AS h USING _sensor_window AS w "
        f"WHERE h.device_id = w.device_id AND h.metric = w.metric AND {stretch.format(t='h')}"
    )
    con.execute(f"INSERT INTO main.{SENSOR_MODEL} BY NAME FROM _sensor_new")
    # Each device's first slot that came out different: a silent feed's stretch reaches back to its last slot,
    # weeks perhaps, but its gap slots are the same; what reads the slots by day starts there (patch_from_day),
    # a model patched per device from that device's own day (SENSOR_CHANGED). A row differs when it is not
    # there as many times before as after: a hash aggregate, where EXCEPT ALL both ways numbers every row.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {SENSOR_CHANGED} AS
        SELECT device_id, CAST(min(hour) AS DATE) AS since, min(hour) AS first_slot FROM (
            SELECT COLUMNS(* EXCLUDE (_side)) FROM (
                SELECT *, 1 AS _side FROM _sensor_new UNION ALL SELECT *, -1 AS _side FROM _sensor_replaced
            )
            GROUP BY ALL
            HAVING sum(_side) <> 0
        )
        GROUP BY device_id
        """
    )
    changed = con.execute(f"SELECT min(first_slot) FROM {SENSOR_CHANGED}").fetchall()[0][0]
    for table in ("_patch_sensor", "_sensor_replaced", "_sensor_new"):
        con.execute(f"DROP TABLE {table}")
    return changed


def sensor_scope(con: duckdb.DuckDBPyConnection) -> str:
    """A scope in literals of the slots the last patch_sensor_hourly changed (SENSOR_CHANGED), for the checks:
    each device's from its first changed slot (`_scope_naming`)."""
    return _scope_naming(con, "hour", "device_id", f"SELECT device_id, first_slot FROM {SENSOR_CHANGED}", None)


def _scope_naming(con: duckdb.DuckDBPyConnection, column: str, key: str, since_of: str, common: object) -> str:
    """A scope in literals of rows written from each value of `key`'s own day (or slot) in `column` on, as the
    query `since_of` lists them (value, since), and every value's from `common` on (None: none). The values whose
    own day lies within SENSOR_LOOKBACK of the latest go together, from the earliest of theirs; those further back
    are named. A feed silent for weeks then makes the checks read its own weeks, not every device's. Past
    FAR_DEVICES_NAMED named values, every value's rows from the earliest day on."""
    pairs = f"({since_of}) AS s(key_value, since)"
    first, latest = con.execute(f"SELECT min(since), max(since) FROM {pairs}").fetchall()[0]
    if first is None:
        return "false" if common is None else f'"{column}" >= {_sql_literal(common)}'
    earliest, near = (first, latest) if common is None else (min(first, common), max(latest, common))
    near -= SENSOR_LOOKBACK
    together, named = con.execute(
        f"SELECT min(since) FILTER (WHERE since >= $near), list(DISTINCT key_value ORDER BY key_value) "
        f"FILTER (WHERE since < $near) FROM {pairs}",
        {"near": near},
    ).fetchall()[0]
    if not named or len(named) > FAR_DEVICES_NAMED:
        return f'"{column}" >= {_sql_literal(earliest)}'
    together = min(each for each in (together, common) if each is not None)  # the values within reach, and common
    values = f'"{key}" IN ({_sql_list(named)})'
    return f'"{column}" >= {_sql_literal(earliest)} AND ("{column}" >= {_sql_literal(together)} OR {values})'


def patch_from_day(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    column: str,
    inputs: Iterable[str],
    since: date | None,
    per: tuple[str, list[str]] | None = None,
) -> tuple[date | None, str]:
    """Replace the rows of `name` whose date `column` is `since` or later, computed by its `sql` over `inputs`
    (of DAY_COLUMNS) shadowed to their rows from that day. Its rows of a day must depend only on its inputs'
    rows of that day, and on inputs that did not change.

    With `per` (a key column and tables of its values' own first days: key column, since), the rows of each
    of those values are replaced from its own day too, when that is earlier (or `since` is None): the model's
    rows of a value and day must depend only on its inputs' rows of that value and day. A device silent for
    weeks then moves only its own days back, not every device's. Returns the first day replaced and a scope in
    literals that every row written meets (for the checks)."""
    first = since
    condition = None if since is None else f">= {_sql_literal(since)}"
    if per is not None and per[1]:
        key, tables = per
        table = f"_since_{name}"
        union = " UNION ALL ".join(f'SELECT "{key}" AS key_value, since FROM "{each}"' for each in tables)
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT key_value, min(since) AS since FROM ({union}) '
            "GROUP BY key_value"
        )
        earliest = con.execute(f'SELECT min(since) FROM "{table}"').fetchall()[0][0]
        if earliest is not None and (first is None or earliest < first):
            # A value's own day, when earlier than the day every value is replaced from; key_value is a name the
            # patched tables do not have, so the column in the subquery is the row's own.
            own = f'(SELECT s.since FROM "{table}" AS s WHERE s.key_value = "{key}")'
            own = own if since is None else f"least(coalesce({own}, {_sql_literal(since)}), {_sql_literal(since)})"
            first, condition = earliest, f">= {own}"
    if first is None:
        return None, "false"
    # The constant bound first: DuckDB skips the row groups before it.
    where = f'"{{column}}" >= {_sql_literal(first)} AND "{{column}}" {condition}'
    shadows = {table: where.format(column=DAY_COLUMNS[table]) for table in inputs}
    _recompute(con, name, sql, shadows, where.format(column=column), keep=False)
    if first == since or per is None or not per[1]:
        return first, f'"{column}" >= {_sql_literal(first)}'
    return first, _scope_naming(con, column, per[0], f'SELECT key_value, since FROM "_since_{name}"', since)


def _interval(value) -> str:
    """A Python timedelta as a DuckDB interval literal."""
    return f"INTERVAL '{int(value.total_seconds())} seconds'"
