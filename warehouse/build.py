"""Build one warehouse release: a new DuckDB file holding the marts, rebuilt from the lake.

A release is built from scratch every run (see DESIGN.md "Warehouse release"):

1. inputs: a `lake_<table>` view per contract table in `pipelines/contracts.yaml`,
   the seeds, `dim_calendar`, `meta_release` and the pipeline's ledger tables;
2. the SQL models in `warehouse/models/`, in dependency order: the order is
   inferred from which model names each file mentions, never kept by hand;
3. CHECKPOINT, so the file is complete and self-contained when it is closed.

The caller (the pipeline) owns the file's life: it picks a fresh path, runs
`warehouse.checks.run_checks` on the result, publishes it, and deletes it when
the checks fail; a build that raises removes its own files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import yaml

from warehouse.calendar import TIME_ZONE, calendar_range, working_day_calendar
from warehouse.groups import ticket_groups
from warehouse.manifest import MANIFEST_TABLE, fingerprint, lake_files
from warehouse.releases import build_files, discard
from warehouse.terms import ticket_terms

# Package data is found through the import system, not by file path, so that an installed wheel finds it as
# well as a checkout does. A wheel installs unpacked: files() of a package is a folder on disk (DuckDB reads it).
WAREHOUSE_DIR = files("warehouse")
MODELS_DIR = WAREHOUSE_DIR / "models"
# Marts computed in Python after the SQL models, from the release being built (name → what builds it, given
# the connection and the cache folder): documented in schema.yaml like them.
PYTHON_MODELS: Mapping[str, Callable[[duckdb.DuckDBPyConnection, Path | None], pa.Table]] = MappingProxyType(
    {"fct_ticket_term": ticket_terms, "fct_ticket_group": ticket_groups}
)
SEEDS_DIR = WAREHOUSE_DIR / "seeds"
# warehouse never imports pipelines' code (imports flow pipelines → warehouse → cockpit),
# so it reads the contracts file itself.
CONTRACTS_PATH = files("pipelines") / "contracts.yaml"


LAKE_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "json": "VARCHAR",
}
# Columns the pipeline adds to every lake row, and the hive partition column.
LINEAGE_COLUMNS = {
    "_source": "VARCHAR",
    "_file": "VARCHAR",
    "_line": "BIGINT",
    "_loaded_at": "TIMESTAMP",
    "_flags": "VARCHAR",  # optional fields whose bad value was set to NULL: "field:reason;…"
}
PARTITION_COLUMN = "day"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_LINE_COMMENT = re.compile(r"--[^\n]*")

Progress = Callable[[str, int, int], None]


class ReleaseBuildError(Exception):
    """A release could not be built; the message is one line and names the failing step."""


@dataclass(frozen=True)
class Model:
    """One SQL model: a file `models/<name>.sql` holding a single SELECT."""

    name: str
    sql: str
    grain: str
    materialized: str  # "table" | "view"
    depends_on: frozenset[str]


# ---------------------------------------------------------------- contracts


def load_contracts(path: Path = CONTRACTS_PATH) -> dict[str, dict]:
    """The lake tables of `pipelines/contracts.yaml`: {table: {"fields": {...}, "snapshot": bool, ...}}."""
    with path.open(encoding="utf-8") as handle:
        contracts = yaml.safe_load(handle)
    if not isinstance(contracts, dict):
        raise ReleaseBuildError(f"contracts file {path} does not hold a mapping of tables")
    return contracts


def lake_columns(contract: Mapping) -> dict[str, str]:
    """Column name → DuckDB type of a lake table: contract fields, lineage columns, then `day`."""
    columns = {}
    for field, spec in contract["fields"].items():
        kind = spec.get("type", "string")
        if kind not in LAKE_TYPES:
            raise ReleaseBuildError(f"contract field {field} has unknown type {kind!r}")
        columns[field] = LAKE_TYPES[kind]
    columns.update(LINEAGE_COLUMNS)
    columns[PARTITION_COLUMN] = "DATE"
    return columns


# ---------------------------------------------------------------- models


def mart_names() -> set[str]:
    """Every table a release of this version has besides its inputs: the SQL models and the Python ones."""
    return {model.name for model in load_models()} | set(PYTHON_MODELS)


def load_models(models_dir: Path | None = None) -> list[Model]:
    """All models in run order (dependencies first; ties broken by name, so the order is stable)."""
    models_dir = models_dir or MODELS_DIR
    texts = {path.stem: path.read_text(encoding="utf-8") for path in sorted(models_dir.glob("*.sql"))}
    names = set(texts)
    models = {name: _parse_model(name, sql, names) for name, sql in texts.items()}
    return [models[name] for name in _run_order(models)]


def _parse_model(name: str, sql: str, all_names: set[str]) -> Model:
    if not _NAME.match(name):
        raise ReleaseBuildError(f"model file {name}.sql: name must be lower_snake_case")
    lines = sql.splitlines()
    first = lines[0].strip() if lines else ""
    if not first.startswith("-- grain:"):
        raise ReleaseBuildError(f"model {name}: the first line must be '-- grain: …'")
    materialized = "table"
    for line in lines:
        match = re.match(r"\s*--\s*materialized:\s*(\w+)", line)
        if match:
            materialized = match.group(1)
    if materialized not in ("table", "view"):
        raise ReleaseBuildError(f"model {name}: materialized must be table or view, not {materialized}")
    code = _LINE_COMMENT.sub("", sql)
    mentioned = set(_IDENTIFIER.findall(code.lower()))
    body = code.strip().rstrip(";").strip()
    if ";" in body:
        raise ReleaseBuildError(f"model {name}: a model is a single SELECT (found ';' inside)")
    return Model(
        name=name,
        sql=body,
        grain=first.removeprefix("-- grain:").strip(),
        materialized=materialized,
        depends_on=frozenset((mentioned & all_names) - {name}),
    )


def _run_order(models: Mapping[str, Model]) -> list[str]:
    waiting = {name: set(model.depends_on) for name, model in models.items()}
    order: list[str] = []
    while waiting:
        ready = sorted(name for name, deps in waiting.items() if not deps)
        if not ready:
            raise ReleaseBuildError(f"models depend on each other in a cycle: {', '.join(sorted(waiting))}")
        for name in ready:
            order.append(name)
            del waiting[name]
        for deps in waiting.values():
            deps.difference_update(ready)
    return order


# ---------------------------------------------------------------- the build


def build_release(
    lake: Path,
    target: Path,
    *,
    run_id: str,
    data_through: date,
    is_demo: bool,
    extra_tables: Mapping[str, pa.Table] | None = None,
    progress: Progress | None = None,
    memory_limit: str | None = None,
    code_rows: Mapping[str, tuple[dict[str, str], ...]] | None = None,
    cache_dir: Path | None = None,
    threads: int | None = None,
) -> None:
    """Build a new release file at `target` from the lake under `lake`.

    `memory_limit` (DuckDB syntax, e.g. "6GB") caps the build; beyond it DuckDB
    spills to a temp folder beside the release instead of taking the machine.

    Lake partitions after `data_through` are ignored, so a release describes
    the street as of `data_through` (meta_release.as_of = the next midnight).
    `extra_tables` (the pipeline's ops_run, ops_source_load, ops_quarantine)
    are copied in under their names. `code_rows` are rows that source mappings
    add to the code tables (seed_<name>); a code already in the seed keeps the
    seed's row. After the SQL models, `fct_ticket_term` is cut from the tickets' text
    (warehouse/terms.py; `cache_dir` keeps the terms of texts already cut between builds).
    `threads` caps DuckDB's threads (default: one per core); the marts do not depend on it
    (tests/warehouse/test_digest.py). Raises ReleaseBuildError with a one-line
    reason; on failure every file the build made is removed.
    """
    target = Path(target)
    lake = Path(lake).resolve()
    if target.exists():
        raise ReleaseBuildError(f"release file already exists: {target}")
    contracts = load_contracts()
    models = load_models()
    extra_tables = dict(extra_tables or {})
    _check_extra_names(extra_tables, models, contracts)

    steps = ["lake", "seeds", "dim_calendar", "meta_release", MANIFEST_TABLE, "extra_tables"]
    steps += [model.name for model in models] + [*PYTHON_MODELS, "checkpoint"]
    done = 0

    def step_done(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, done, len(steps))

    target.parent.mkdir(parents=True, exist_ok=True)
    # No progress bar of its own: the CLI draws one, and cron logs must stay readable.
    con = duckdb.connect(str(target))
    finished = False
    try:
        con.execute("SET enable_progress_bar = false")
        if memory_limit:
            con.execute("SET memory_limit = ?", [memory_limit])
        if threads:
            con.execute("SET threads = ?", [threads])
        con.execute(f"SET TimeZone = '{TIME_ZONE}'")
        # Models never rely on row order; dropping it lets big CTAS run in parallel with less memory.
        con.execute("SET preserve_insertion_order = false")
        for table, contract in contracts.items():
            _run_step(
                f"lake_{table}",
                lambda table=table, contract=contract: _create_lake_input(con, lake, table, contract, data_through),
            )
        step_done("lake")
        _run_step("seeds", lambda: _create_seeds(con, code_rows or {}))
        step_done("seeds")
        _run_step("dim_calendar", lambda: _create_calendar(con, lake, contracts, data_through))
        step_done("dim_calendar")
        files = lake_files(lake, data_through)  # the lake as this build reads it (warehouse/manifest.py)
        _run_step(
            "meta_release",
            lambda: _create_meta_release(
                con,
                run_id=run_id,
                data_through=data_through,
                is_demo=is_demo,
                lake=lake,
                lake_fingerprint=fingerprint(files),
            ),
        )
        step_done("meta_release")
        _run_step(MANIFEST_TABLE, lambda: _create_from_arrow(con, MANIFEST_TABLE, files))
        step_done(MANIFEST_TABLE)
        for name, table in extra_tables.items():
            _run_step(f"extra table {name}", lambda name=name, table=table: _create_from_arrow(con, name, table))
        step_done("extra_tables")
        for model in models:
            _run_step(f"model {model.name}", lambda model=model: _create_model(con, model))
            step_done(model.name)
        for name, build in PYTHON_MODELS.items():
            _run_step(name, lambda name=name, build=build: _create_from_arrow(con, name, build(con, cache_dir)))
            step_done(name)
        _run_step("checkpoint", lambda: con.execute("CHECKPOINT"))
        step_done("checkpoint")
        finished = True
    finally:
        con.close()
        if not finished:  # the half-built file, its WAL and spill folder: a failed build leaves nothing
            discard(build_files(target))


def _run_step(label: str, action: Callable[[], object]) -> None:
    try:
        action()
    except duckdb.Error as exc:
        reason = " ".join(str(exc).split())
        raise ReleaseBuildError(f"{label} failed: {reason}") from exc


def _check_extra_names(extra_tables: Mapping, models: list[Model], contracts: Mapping) -> None:
    taken = {model.name for model in models} | {f"lake_{table}" for table in contracts}
    taken |= {"dim_calendar", "meta_release", MANIFEST_TABLE} | {
        f"seed_{path.stem}" for path in SEEDS_DIR.glob("*.csv")
    }
    for name in extra_tables:
        if not _NAME.match(name):
            raise ReleaseBuildError(f"extra table name {name!r} must be lower_snake_case")
        if name in taken:
            raise ReleaseBuildError(f"extra table {name} would replace a warehouse table of that name")


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _create_lake_input(
    con: duckdb.DuckDBPyConnection, lake: Path, table: str, contract: Mapping, data_through: date
) -> None:
    """lake_<table>: a typed view over the table's Parquet, or an empty typed table when it has none yet."""
    columns = lake_columns(contract)
    if not any((lake / table).glob(f"{PARTITION_COLUMN}=*/*.parquet")):
        typed = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        con.execute(f"CREATE TABLE lake_{table} ({typed})")
        return
    # An absolute path: the views stay valid wherever the release file is opened from.
    source = (
        f"read_parquet({_sql_string(str(lake / table / (PARTITION_COLUMN + '=*') / '*.parquet'))}, "
        f"hive_partitioning = true, union_by_name = true, hive_types = {{'{PARTITION_COLUMN}': DATE}})"
    )
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    selected = ", ".join(
        f'CAST("{name}" AS {kind}) AS "{name}"' if name in present else f'CAST(NULL AS {kind}) AS "{name}"'
        for name, kind in columns.items()
    )
    con.execute(
        f"CREATE VIEW lake_{table} AS SELECT {selected} FROM {source} "
        f"WHERE {PARTITION_COLUMN} <= DATE '{data_through.isoformat()}'"
    )


def _create_seeds(con: duckdb.DuckDBPyConnection, code_rows: Mapping[str, tuple[dict[str, str], ...]]) -> None:
    unknown = sorted(set(code_rows) - {path.stem for path in SEEDS_DIR.glob("*.csv")})
    if unknown:
        raise ReleaseBuildError(f"code rows for unknown code table(s): {', '.join(unknown)}")
    for path in sorted(SEEDS_DIR.glob("*.csv")):
        con.execute(
            f"CREATE TABLE seed_{path.stem} AS SELECT * FROM read_csv({_sql_string(str(path))}, "
            "header = true, all_varchar = true)"
        )
        rows = code_rows.get(path.stem)
        if rows:
            columns = sorted({name for row in rows for name in row})
            added = pa.table({c: pa.array([row.get(c) or None for row in rows], pa.string()) for c in columns})
            con.register("_added_codes", added)
            try:
                con.execute(
                    f"INSERT INTO seed_{path.stem} BY NAME SELECT * FROM _added_codes "
                    f"WHERE code NOT IN (SELECT code FROM seed_{path.stem})"
                )
            finally:
                con.unregister("_added_codes")


def _first_data_day(con: duckdb.DuckDBPyConnection, lake: Path, contracts: Mapping, data_through: date) -> date:
    """The earliest day anything in the lake needs a working-day index for.

    Landing days come from the partition folder names (no file is opened);
    receipts can predate their landing day, so tickets and applications are asked too.
    """
    days = [
        date.fromisoformat(folder.name.removeprefix(f"{PARTITION_COLUMN}="))
        for table in contracts
        for folder in (lake / table).glob(f"{PARTITION_COLUMN}=*")
        if folder.is_dir()
    ]
    for table in ("ticket_intake", "approval"):
        if table in contracts:
            received = con.execute(f"SELECT min(received_at)::DATE FROM lake_{table}").fetchall()[0][0]
            if received is not None:
                days.append(received)
    return min([*days, data_through])


def _create_calendar(con: duckdb.DuckDBPyConnection, lake: Path, contracts: Mapping, data_through: date) -> None:
    first_day = _first_data_day(con, lake, contracts, data_through)
    _create_from_arrow(con, "dim_calendar", working_day_calendar(*calendar_range(first_day, data_through)))


def _create_meta_release(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    data_through: date,
    is_demo: bool,
    lake: Path,
    lake_fingerprint: str,
) -> None:
    meta = pa.table(
        {
            "run_id": pa.array([run_id], pa.string()),
            "built_at": pa.array(
                [datetime.now(ZoneInfo(TIME_ZONE)).replace(tzinfo=None, microsecond=0)], pa.timestamp("us")
            ),
            "as_of": pa.array([datetime.combine(data_through + timedelta(days=1), time())], pa.timestamp("us")),
            "data_through": pa.array([data_through], pa.date32()),
            "is_demo": pa.array([is_demo], pa.bool_()),
            "lake_path": pa.array([str(lake)], pa.string()),
            "lake_fingerprint": pa.array([lake_fingerprint], pa.string()),
        }
    )
    _create_from_arrow(con, "meta_release", meta)


def _create_from_arrow(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    view = f"_arrow_{name}"
    con.register(view, table)
    try:
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "{view}"')
    finally:
        con.unregister(view)


def _create_model(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    con.execute(f"CREATE {kind} {model.name} AS\n{model.sql}")
