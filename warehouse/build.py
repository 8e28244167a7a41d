"""Build one warehouse release: a new DuckDB file holding the marts, from the lake.

A release is built from scratch, or from the current release (see DESIGN.md "Warehouse release"):

1. inputs: a `lake_<table>` view per contract table in `pipelines/contracts.yaml`,
   the seeds, `dim_calendar`, `meta_release`, `meta_lake_file` and the pipeline's ledger tables;
2. the SQL models in `warehouse/models/`, in dependency order: the order is
   inferred from which model names each file mentions, never kept by hand;
   then the Python models (`PYTHON_MODELS`), whose inputs are declared beside them;
3. CHECKPOINT, so the file is complete and self-contained when it is closed.

Built from a base (an earlier release of the same lake, the same code and the same code lists), the
new file starts as a copy of the base. The lake's files are compared with the base's `meta_lake_file`
(warehouse/manifest.py): a model is rebuilt when one of its inputs changed (a lake table with a file
added, rewritten or removed, the calendar, the release's own date, which every as-of flag reads, or a
model rebuilt before it whose rows came out different), and kept otherwise. The result must equal a
build from scratch table by table (tests/warehouse/test_incremental.py); a base that cannot promise
that (`base_problem`) is not used, and the build starts from scratch.

The caller (the pipeline) owns the file's life: it picks a fresh path, runs
`warehouse.checks.run_checks` on the result, publishes it, and deletes it when
the checks fail; a build that raises removes its own files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from time import perf_counter
from types import MappingProxyType
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from warehouse import compaction, groups, incremental, terms
from warehouse.calendar import DAYS_BEFORE_FIRST_DATA_DAY, TIME_ZONE, calendar_range, working_day_calendar
from warehouse.documents import load_yaml
from warehouse.engines import ENGINES
from warehouse.manifest import MANIFEST_TABLE, changes, fingerprint, lake_files
from warehouse.releases import BaseCopy, build_files, discard

# Package data is found through the import system, not by file path, so that an installed wheel finds it as
# well as a checkout does. A wheel installs unpacked: files() of a package is a folder on disk (DuckDB reads it).
WAREHOUSE_DIR = files("warehouse")
MODELS_DIR = WAREHOUSE_DIR / "models"


@dataclass(frozen=True)
class PythonModel:
    """A mart computed in Python after the SQL models, from the release being built."""

    build: Callable[[duckdb.DuckDBPyConnection, Path | None], pa.Table]  # given the connection and the cache folder
    depends_on: frozenset[str]  # the tables it reads
    # Made row by row from one table: (table, key, the columns it reads). A build on a base computes again only
    # the keys whose columns changed, when nothing else it reads changed.
    rows_of: tuple[str, str, tuple[str, ...]] | None = None


# Documented in schema.yaml like the SQL models.
PYTHON_MODELS: Mapping[str, PythonModel] = MappingProxyType(
    {
        "fct_ticket_term": PythonModel(terms.ticket_terms, terms.INPUTS, terms.ROWS_OF),
        "fct_ticket_group": PythonModel(groups.ticket_groups, groups.INPUTS, groups.ROWS_OF),
    }
)
SEEDS_DIR = WAREHOUSE_DIR / "seeds"
# warehouse never imports pipelines' code (imports flow pipelines → warehouse → cockpit),
# so it reads the contracts file itself.
CONTRACTS_PATH = files("pipelines") / "contracts.yaml"
# What the build signature reads besides the contracts: the warehouse package's files of these kinds, and
# the versions of the libraries that compute marts (DuckDB's SQL, Arrow's types, jieba's cuts, the holidays).
SIGNATURE_SUFFIXES = (".py", ".sql", ".csv", ".yaml", ".txt")
SIGNATURE_LIBRARIES = ("duckdb", "pyarrow", "jieba", "chinesecalendar")
# A model built again over its base compares its rows with the base's up to this size: equal rows
# keep the models that read it. A bigger table counts as changed without the comparison.
COMPARE_ROWS_AT_MOST = 500_000


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
    patch_key: tuple[str, ...] | None  # `-- patch: <key>`: its rows of one key depend only on inputs of that key
    patch_from: str | None  # `-- patch: from <date column>`: its rows of a day depend only on inputs of that day
    patch_per: str | None  # `-- patch: from <date column>, per <column>`: and of that column's value (a device)
    patch_moves: str | None  # `-- moves: <condition>`: its rows that change as as_of moves or the calendar grows
    depends_on: frozenset[str]  # the other models it reads, which run before it
    mentions: frozenset[str]  # every name in its SQL: the inputs and models it reads among them


# ---------------------------------------------------------------- contracts


def load_contracts(path: Path = CONTRACTS_PATH) -> dict[str, dict]:
    """The lake tables of `pipelines/contracts.yaml`: {table: {"fields": {...}, "snapshot": bool, ...}}."""
    with path.open(encoding="utf-8") as handle:
        contracts = load_yaml(handle)
    if not isinstance(contracts, dict):
        raise ReleaseBuildError(f"contracts file {path} does not hold a mapping of tables")
    return contracts


def lake_columns(contract: Mapping) -> dict[str, str]:
    """Column name → DuckDB type of a lake table: contract fields, lineage columns, then `day`."""
    columns = {}
    for name, spec in contract["fields"].items():
        kind = spec.get("type", "string")
        if kind not in LAKE_TYPES:
            raise ReleaseBuildError(f"contract field {name} has unknown type {kind!r}")
        columns[name] = LAKE_TYPES[kind]
    columns.update(LINEAGE_COLUMNS)
    columns[PARTITION_COLUMN] = "DATE"
    return columns


# ---------------------------------------------------------------- models


@functools.cache
def mart_names() -> frozenset[str]:
    """Every table a release of this version has besides its inputs: the SQL models and the Python ones."""
    return frozenset({model.name for model in load_models()} | set(PYTHON_MODELS))


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
        patch_key=incremental.patch_key(sql),
        patch_from=incremental.patch_from(sql),
        patch_per=incremental.patch_per(sql),
        patch_moves=incremental.patch_moves(sql),
        depends_on=frozenset((mentioned & all_names) - {name}),
        mentions=frozenset(mentioned),
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


@dataclass(frozen=True)
class BuildResult:
    """How a release was built: from scratch ("full") or from a base release ("incremental")."""

    mode: str
    reason: str  # why from scratch (no base, or why the base was refused), or which base
    base_run_id: str | None = None
    rebuilt: tuple[str, ...] = ()  # the models built again whole (every one in a full build)
    patched: tuple[str, ...] = ()  # the models whose base rows were patched for added lake files
    kept: tuple[str, ...] = ()  # the models kept from the base, their inputs unchanged
    changed: frozenset[str] | None = None  # the tables that differ from the base's (None: built from scratch)
    # Patched tables → (the columns it ranges over, a condition in literals that every row the patch wrote
    # meets): the rows the checks must look at.
    scopes: Mapping[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)
    # Each step's wall-clock seconds, in the order run: waiting for the base's copy, the lake views, each model
    # built (`model X`) or patched (`patch X`), each Python mart, the checkpoint. What a night spends its time on.
    seconds: tuple[tuple[str, float], ...] = ()

    def describe(self) -> str:
        if self.mode == "full":
            return f"built from scratch: {self.reason}"
        total = len(self.rebuilt) + len(self.patched) + len(self.kept)
        return (
            f"built on release {self.base_run_id}: {len(self.rebuilt)} of {total} models rebuilt, "
            f"{len(self.patched)} patched"
        )


def build_signature(code_rows: Mapping[str, tuple[dict[str, str], ...]] | None = None) -> str:
    """What a release's marts depend on besides the lake: the warehouse package's code and data (models,
    seeds, vocabulary, schema, Python marts), the lake contracts, the code rows the mappings add, and the
    versions of the libraries that compute them. Releases of different signatures are not built on each other."""
    digest = hashlib.sha256()
    root = Path(str(WAREHOUSE_DIR))
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in SIGNATURE_SUFFIXES and "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    digest.update(Path(str(CONTRACTS_PATH)).read_bytes())
    for library in SIGNATURE_LIBRARIES:
        digest.update(f"{library}={metadata.version(library)}\n".encode())
    rows = {name: list(rows) for name, rows in sorted((code_rows or {}).items())}
    digest.update(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def base_problem(
    base: Path,
    *,
    lake: Path,
    signature: str,
    full_every_days: int | None = None,
    now: datetime | None = None,
) -> str | None:
    """Why `base` cannot be built on, in a few words; None when it can.

    A base must open, hold every mart of this version, carry this build's signature, name this lake,
    and its listing of the lake must still hash to the fingerprint it was published with. With
    `full_every_days`, a base whose line of incremental builds started that many days ago or more is
    refused too, so that a build from scratch comes round regularly.
    """
    base = Path(base)
    if not base.is_file():
        return f"release {base.name} is missing"
    if Path(f"{base}.wal").exists():
        return f"release {base.name} has an unfinished write-ahead log"
    try:
        with duckdb.connect(str(base), read_only=True) as con:
            present = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            present |= {name for (name,) in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
            meta_columns = {
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = 'meta_release'"
                ).fetchall()
            }
            if not {"build_signature", "full_built_at", "lake_fingerprint"} <= meta_columns:
                return f"release {base.name} was built by an older version"
            stored_signature, lake_path, stored_print, full_built_at = con.execute(
                "SELECT build_signature, lake_path, lake_fingerprint, full_built_at FROM meta_release"
            ).fetchall()[0]
            listing = con.sql(f"SELECT * FROM {MANIFEST_TABLE}").to_arrow_table()
    except duckdb.Error as exc:
        return f"release {base.name} does not open ({' '.join(str(exc).split())[:120]})"
    if stored_signature != signature:
        return f"release {base.name} was built by other code, code lists or libraries"
    if lake_path != str(lake):
        return f"release {base.name} was built from another lake ({lake_path})"
    if fingerprint(listing) != stored_print:
        return f"release {base.name}'s record of the lake does not match its fingerprint"
    missing = sorted(mart_names() - present)
    if missing:
        return f"release {base.name} lacks {', '.join(missing)}"
    if full_every_days is not None and (now or _now()) - full_built_at >= timedelta(days=full_every_days):
        return f"the last build from scratch was on {full_built_at:%Y-%m-%d}, {full_every_days} or more days ago"
    return None


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
    base: Path | None = None,
    full_every_days: int | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    base_copy: BaseCopy | None = None,
) -> BuildResult:
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
    (tests/warehouse/test_digest.py).

    With `base` (the current release), the build starts from a copy of it and rebuilds only
    the models whose inputs changed, unless `base_problem` refuses it (`full_every_days` is
    passed on); the result says which way it went. `base_copy` is a copy of `base` to `target` already under
    way (warehouse/releases.py): the build takes it instead of copying, or discards it when it refuses the base.
    `engine="spark"` builds the SQL models with
    Spark (warehouse/engines/spark.py; `spark_master` names a cluster, default local) from
    scratch, and loads them into the release. Raises ReleaseBuildError with a one-line
    reason; on failure every file the build made is removed.
    """
    if engine not in ENGINES:
        raise ReleaseBuildError(f"unknown engine {engine!r}: {' or '.join(ENGINES)}")
    target = Path(target)
    lake = Path(lake).resolve()
    if base_copy is not None and (base is None or (base_copy.base, base_copy.target) != (Path(base), target)):
        raise ValueError(f"base_copy copies {base_copy.base} to {base_copy.target}, not this build's base and target")
    if target.exists() and base_copy is None:
        raise ReleaseBuildError(f"release file already exists: {target}")
    contracts = load_contracts()
    models = load_models()
    extra_tables = dict(extra_tables or {})
    code_rows = code_rows or {}
    _check_extra_names(extra_tables, models, contracts)
    signature = build_signature(code_rows)
    problem = (
        "no earlier release to build on"
        if base is None
        else "Spark builds from scratch"
        if engine == "spark"
        else base_problem(base, lake=lake, signature=signature, full_every_days=full_every_days)
    )

    steps = ["lake", "seeds", "dim_calendar", "meta_release", MANIFEST_TABLE, "extra_tables"]
    steps += [model.name for model in models] + [*PYTHON_MODELS, "checkpoint"]
    done = 0

    def step_done(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, done, len(steps))

    seconds: list[tuple[str, float]] = []
    step = functools.partial(_run_step, timings=seconds)

    target.parent.mkdir(parents=True, exist_ok=True)
    if problem is None:
        started = perf_counter()
        try:
            (base_copy or BaseCopy(base, target)).take()
        except OSError as exc:  # a full disk, most likely: the caller removes what was copied
            raise ReleaseBuildError(f"copying release {base.name} to build on failed: {exc}") from exc
        seconds.append(("base copy", perf_counter() - started))  # what the copy took beyond the load beside it
    elif base_copy is not None:
        base_copy.discard()  # the base is refused after all: the build starts from scratch
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
        if problem is None:
            # A patch deletes the rows it replaces. A checkpoint would compact the row groups they leave (vacuum),
            # rewriting them: most of a night's checkpoints at scale 1 (0.23 s of 0.26 s for one day of sensor
            # slots). The deleted rows stay marked instead, until the weekly build from scratch.
            con.execute("SET max_vacuum_tasks = 0")
        # From a base: what it was built from, before its inputs are replaced.
        before = _base_state(con) if problem is None else None
        files = lake_files(lake, data_through)  # the lake as this build reads it (warehouse/manifest.py)
        changed = {"meta_release", MANIFEST_TABLE, *extra_tables}  # inputs that differ in every build
        lake_added: dict[str, list[str]] = {}  # lake table → its added files, when nothing else changed in it
        lake_changed: set[str] = set(contracts)
        only_added: list[str] | None = None  # from a base, when the lake only gained files: those files
        if before is not None:
            lake_changes = changes(before.listing, files)
            lake_changed = {_lake_table(path) for path in lake_changes.files}
            changed |= {f"lake_{table}" for table in lake_changed}
            for path in lake_changes.added:
                lake_added.setdefault(_lake_table(path), []).append(path)
            for path in (*lake_changes.rewritten, *lake_changes.removed):
                lake_added.pop(_lake_table(path), None)
            if not lake_changes.rewritten and not lake_changes.removed:
                only_added = list(lake_changes.added)
        for table, contract in contracts.items():
            # The columns the base's view found in the table's files stay found, unless a file was rewritten or
            # removed: only added files are asked which columns they have.
            known = None if table in lake_changed and table not in lake_added else _lake_view_columns(con, table)
            step(
                f"lake_{table}",
                lambda table=table, contract=contract, known=known: _create_lake_input(
                    con, lake, table, contract, data_through, known=known, added=lake_added.get(table, [])
                ),
            )
        step_done("lake")
        if before is None:
            step("seeds", lambda: _create_seeds(con, code_rows))
        step_done("seeds")  # a base has them: the signature covers the seeds and the code rows
        calendar = step("dim_calendar", lambda: _create_calendar(con, lake, contracts, data_through, only_added))
        if calendar is not None:
            changed.add("dim_calendar")
        step_done("dim_calendar")
        full_built_at = _now() if before is None else before.full_built_at
        step(
            "meta_release",
            lambda: _create_meta_release(
                con,
                run_id=run_id,
                data_through=data_through,
                is_demo=is_demo,
                lake=lake,
                lake_fingerprint=fingerprint(files),
                build_signature=signature,
                build_mode="full" if before is None else "incremental",
                base_run_id=None if before is None else before.run_id,
                full_built_at=full_built_at,
            ),
        )
        step_done("meta_release")
        step(MANIFEST_TABLE, lambda: _create_from_arrow(con, MANIFEST_TABLE, files))
        step_done(MANIFEST_TABLE)
        for name, table in extra_tables.items():
            step(f"extra table {name}", lambda name=name, table=table: _create_from_arrow(con, name, table))
        step_done("extra_tables")
        patch = _Patcher(
            con,
            lake,
            contracts,
            lake_added,
            None if before is None else (before.data_through, data_through),
            calendar_grown=calendar == "grown",
        )
        rebuilt, patched, kept = [], [], []
        if engine == "spark":
            step(
                "Spark",
                lambda: _build_with_spark(con, lake, target, models, contracts, data_through, spark_master, step_done),
            )
            rebuilt = [model.name for model in models]
            models = []  # built
        for model in models:
            touched = model.mentions & changed
            if before is not None and touched and step(f"patch {model.name}", lambda m=model, t=touched: patch(m, t)):
                patched.append(model.name)
                changed.add(model.name)
            elif before is None or touched:
                step(f"model {model.name}", lambda model=model: _create_model(con, model))
                rebuilt.append(model.name)
                if before is not None and model.materialized == "table":
                    patch.rows_rebuilt(model.name)
                if before is None or model.materialized == "view" or _rows_changed(con, model.name):
                    changed.add(model.name)
            else:
                kept.append(model.name)
            step_done(model.name)
        for name, python_model in PYTHON_MODELS.items():
            touched = python_model.depends_on & changed
            if before is not None and touched and step(name, lambda n=name, t=touched: patch.python(n, t, cache_dir)):
                patched.append(name)
                changed.add(name)
            elif before is None or touched:
                step(
                    name,
                    lambda name=name, build=python_model.build: _create_from_arrow(con, name, build(con, cache_dir)),
                )
                rebuilt.append(name)
                if before is None or _rows_changed(con, name):
                    changed.add(name)
            else:
                kept.append(name)
            step_done(name)
        step("checkpoint", lambda: con.execute("CHECKPOINT"))
        step_done("checkpoint")
        finished = True
    finally:
        con.close()
        if not finished:  # the half-built file, its WAL and spill folder: a failed build leaves nothing
            discard(build_files(target))
    if before is None:
        return BuildResult("full", problem or "", rebuilt=tuple(rebuilt), seconds=tuple(seconds))
    return BuildResult(
        "incremental",
        f"built on {base.name}",
        before.run_id,
        rebuilt=tuple(rebuilt),
        patched=tuple(patched),
        kept=tuple(kept),
        changed=frozenset(changed),
        scopes=MappingProxyType(dict(patch.scopes)),
        seconds=tuple(seconds),
    )


def _build_with_spark(
    con: duckdb.DuckDBPyConnection,
    lake: Path,
    target: Path,
    models: list[Model],
    contracts: Mapping,
    data_through: date,
    master: str | None,
    step_done: Callable[[str], None],
) -> None:
    """The SQL models built by Spark from the lake and the inputs made here, each loaded into the release with
    the column types DuckDB gives the same SQL (so the release is the one a DuckDB build makes)."""
    from warehouse.engines import spark

    by_name = {model.name: model for model in models}
    staging = target.parent / f"{target.name}.spark"

    def loaded(name: str, folder: Path | None) -> None:
        model = by_name[name]
        if folder is None:
            _create_model(con, model)
        else:
            described = con.execute(f"DESCRIBE {model.sql}").fetchall()
            columns = ", ".join(f'CAST("{column}" AS {kind}) AS "{column}"' for column, kind, *_ in described)
            files = _sql_string(str(folder / "*.parquet"))
            con.execute(f'CREATE TABLE "{name}" AS SELECT {columns} FROM read_parquet({files})')
        step_done(name)

    inputs = [name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    try:
        spark.build_models(
            con,
            lake,
            staging,
            models,
            {table: lake_columns(contract) for table, contract in contracts.items()},
            [name for name in inputs if name.startswith("seed_") or name in ("dim_calendar", "meta_release")],
            data_through,
            master=master,
            loaded=loaded,
        )
    except spark.SparkBuildError as exc:
        raise ReleaseBuildError(str(exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _lake_table(path: str) -> str:
    """The lake table of a manifest path (<table>/day=D/<source>.parquet)."""
    return path.split("/", 1)[0]


class _Patcher:
    """Patches a model of a base for the lake files added since (warehouse/incremental.py), when it can:
    called with the model and the changed names it reads, it returns whether it patched it."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        lake: Path,
        contracts: Mapping,
        lake_added: dict[str, list[str]],
        days: tuple[date, date] | None = None,
        calendar_grown: bool = False,
    ) -> None:
        self.con, self.lake, self.contracts, self.lake_added = con, lake, contracts, lake_added
        self.days = days  # (the base's data_through, this build's)
        self.calendar_grown = calendar_grown  # dim_calendar only gained days at its ends (_create_calendar)
        self.since: dict[str, date | None] = {}  # a patched table of DAY_COLUMNS → the first day it changed
        # a patched table → (a column, a table of each of its values' first changed day: that column, since)
        self.since_per: dict[str, tuple[str, str]] = {}
        self.keys: dict[str, incremental.Keys] = {}  # model or lake input → the values of its key that changed
        self.scopes: dict[str, tuple[tuple[str, ...], str]] = {}  # patched table → BuildResult.scopes
        self.patched_by_key: set[str] = set()  # models whose replaced rows incremental.rekey can read

    def __call__(self, model: Model, touched: set[str]) -> bool:
        if model.materialized != "table" or not _exists(self.con, model.name):
            return False
        if model.name == incremental.SENSOR_MODEL:
            files = self.lake_added.get(incremental.SENSOR_LAKE_TABLE)
            if touched != {incremental.SENSOR_INPUT} or not files:
                return False
            since = incremental.patch_sensor_hourly(self.con, model.sql, self.lake, files)
            self.since[model.name] = since.date() if since is not None else None
            self.since_per[model.name] = ("device_id", incremental.SENSOR_CHANGED)
            scope = "false" if since is None else incremental.sensor_scope(self.con)
            self.scopes[model.name] = (("hour", "device_id"), scope)
            return True
        if model.name == incremental.TICKET_MODEL:
            return self._tickets(model, touched)
        if model.patch_from is not None:
            return self._from_day(model, touched)
        key = model.patch_key
        if key is None:
            return False
        moved = touched & {"meta_release", "dim_calendar"}
        if moved and not self._moves_only(model, moved):
            return False
        inputs = {}
        for name in sorted(touched - moved):
            keys = self.keys.get(name) or self._lake_keys(name, key)
            if keys is not None and keys.columns != key and name in self.patched_by_key:
                keys = incremental.rekey(self.con, name, keys, key)
            if keys is None or keys.columns != key:
                return False
            inputs[name] = keys
        moving = model.patch_moves if moved else None
        keys = self.keys[model.name] = incremental.patch_by_key(
            self.con, model.name, model.sql, inputs, columns=key, moving=moving
        )
        self.patched_by_key.add(model.name)
        self.scopes[model.name] = (key, incremental.key_scope(self.con, keys))
        if key == (incremental.DAY_COLUMNS.get(model.name),):
            self.since[model.name] = self.con.execute(f'SELECT min("{key[0]}") FROM "{keys.name}"').fetchall()[0][0]
        return True

    def _moves_only(self, model: Model, moved: set[str]) -> bool:
        """Whether the rows `moved` (meta_release, dim_calendar) can change are the model's `-- moves:` rows: it
        declares them, as_of moved forward, and the calendar only gained days at its ends."""
        if model.patch_moves is None:
            return False
        if "meta_release" in moved and (self.days is None or self.days[1] < self.days[0]):
            return False
        return "dim_calendar" not in moved or self.calendar_grown

    def _tickets(self, model: Model, touched: set[str]) -> bool:
        """Patch fct_ticket (incremental.patch_tickets) when its ticket inputs were patched by ticket and, besides,
        only meta_release changed with its day moving forward and dim_calendar gained days at its ends."""
        moved = touched & {"meta_release", "dim_calendar"}
        if not touched - moved <= set(incremental.TICKET_INPUTS) or not self._moves_only(model, moved):
            return False
        inputs = {name: self.keys.get(name) for name in sorted(touched & set(incremental.TICKET_INPUTS))}
        if any(keys is None or keys.columns != incremental.TICKET_KEY for keys in inputs.values()):
            return False
        keys = self.keys[model.name] = incremental.patch_tickets(self.con, model.sql, inputs, model.patch_moves)
        self.scopes[model.name] = (keys.columns, incremental.key_scope(self.con, keys))
        self._python_keys(model.name, incremental.replaced_name(model.name), keys)
        return True

    def _python_keys(self, table: str, base: str, patched: incremental.Keys | None = None) -> None:
        """For each Python mart made row by row from `table`, note the keys whose columns it reads came out
        different from `base`: the base's whole table, or the rows a patch for `patched` replaced."""
        for name, python_model in PYTHON_MODELS.items():
            if python_model.rows_of is not None and python_model.rows_of[0] == table:
                _, key, columns = python_model.rows_of
                where = "true" if patched is None else f'"{key}" IN (SELECT "{key}" FROM "{patched.name}")'
                self.keys[name] = incremental.changed_rows(self.con, table, base, key, columns, name, where)

    def _from_day(self, model: Model, touched: set[str]) -> bool:
        """Patch a model's rows from the first day its changed inputs changed (module docstring of incremental):
        every changed input must have been patched from a known day, or be meta_release whose day moved. A model
        patched per a column (`-- patch: from <day>, per <column>`) takes an input's first day of each value of
        that column where the input's patch knows them (the sensor slots, per device)."""
        starts, per = [], []
        for name in touched:
            if name == "meta_release" and self.days is not None:
                starts.append(min(self.days) + timedelta(days=1))
            elif name in self.since:
                column, days = self.since_per.get(name, (None, None))
                if model.patch_per is not None and column == model.patch_per and self.since[name] is not None:
                    per.append(days)
                else:
                    starts.append(self.since[name])
            else:
                return False
        known = [start for start in starts if start is not None]
        inputs = sorted(model.mentions & set(incremental.DAY_COLUMNS))
        since, scope = incremental.patch_from_day(
            self.con,
            model.name,
            model.sql,
            model.patch_from,
            inputs,
            min(known, default=None),
            per=(model.patch_per, per) if per else None,
        )
        self.since[model.name] = since  # None: the patches before it changed no row
        self.scopes[model.name] = ((model.patch_from, model.patch_per) if per else (model.patch_from,), scope)
        return True

    def rows_rebuilt(self, table: str) -> None:
        """`table` was built again whole over its base (kept as `_base_<table>`): note, for each Python mart
        made row by row from it, the keys whose columns it reads came out different."""
        self._python_keys(table, f"_base_{table}")

    def python(self, name: str, touched: set[str], cache_dir: Path | None) -> bool:
        """Patch the Python mart `name` for the rows of its table that changed, when only that table did."""
        python_model = PYTHON_MODELS[name]
        if python_model.rows_of is None or touched != {python_model.rows_of[0]} or name not in self.keys:
            return False
        if not _exists(self.con, name):  # a base without this mart: built whole
            return False
        table = python_model.rows_of[0]
        incremental.patch_rows(self.con, name, table, self.keys[name], lambda: python_model.build(self.con, cache_dir))
        self.scopes[name] = (self.keys[name].columns, incremental.key_scope(self.con, self.keys[name]))
        return True

    def _lake_keys(self, name: str, key: tuple[str, ...]) -> incremental.Keys | None:
        table = name.removeprefix("lake_")
        files = self.lake_added.get(table) if name.startswith("lake_") else None
        if not files:
            return None
        types = lake_columns(self.contracts[table])
        if not set(key) <= set(types):
            return None
        return incremental.lake_keys(self.con, self.lake, table, files, {column: types[column] for column in key})


@dataclass(frozen=True)
class _Base:
    """What a base release was built from, read before the build replaces it."""

    run_id: str
    full_built_at: datetime
    data_through: date
    listing: pa.Table


def _base_state(con: duckdb.DuckDBPyConnection) -> _Base:
    run_id, full_built_at, through = con.execute(
        "SELECT run_id, full_built_at, data_through FROM meta_release"
    ).fetchall()[0]
    return _Base(run_id, full_built_at, through, con.sql(f"SELECT * FROM {MANIFEST_TABLE}").to_arrow_table())


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view `name` of the release, if it has one."""
    kinds = con.execute(
        "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = $name AND schema_name = 'main' AND NOT internal "
        "UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = $name AND schema_name = 'main'",
        {"name": name},
    ).fetchall()
    for (kind,) in kinds:
        con.execute(f'DROP {kind} "{name}"')


def _rows_changed(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """After a model was built again over its base's table (kept as `_base_<name>`): whether its rows differ.

    Equal rows stop the change here, so the models that read it are kept. A table too big to compare
    cheaply counts as changed. The base's table is dropped either way.
    """
    old = f"_base_{name}"
    try:
        rows = {table: con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0] for table in (name, old)}
        if rows[name] != rows[old]:
            return True
        if rows[name] > COMPARE_ROWS_AT_MOST:
            return True
        extra = con.execute(f'SELECT count(*) FROM (FROM "{name}" EXCEPT ALL FROM "{old}")').fetchall()[0][0]
        return extra > 0
    finally:
        con.execute(f'DROP TABLE "{old}"')


def _run_step(label: str, action: Callable[[], object], timings: list[tuple[str, float]]) -> object:
    """Run one step of a build, its DuckDB error named after it, its wall-clock seconds added to `timings`."""
    started = perf_counter()
    try:
        return action()
    except duckdb.Error as exc:
        reason = " ".join(str(exc).split())
        raise ReleaseBuildError(f"{label} failed: {reason}") from exc
    finally:
        timings.append((label, perf_counter() - started))


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


def _lake_view_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str] | None:
    """The columns a base's view lake_<table> found in the table's files (its comment), or None."""
    found = con.execute(
        "SELECT comment FROM duckdb_views() WHERE view_name = ? AND schema_name = 'main'", [f"lake_{table}"]
    ).fetchall()
    if not found or not found[0][0]:
        return None
    return set(json.loads(found[0][0]))


def _create_lake_input(
    con: duckdb.DuckDBPyConnection,
    lake: Path,
    table: str,
    contract: Mapping,
    data_through: date,
    *,
    known: set[str] | None = None,
    added: list[str] = (),
) -> None:
    """lake_<table>: a typed view over the table's Parquet, or an empty typed table when it has none yet.

    Which columns the files have is asked of every file (a footer each), unless `known` says which the
    files of a base had; then only the `added` files (paths relative to the lake) are asked. The view's
    comment keeps the answer for the next build."""
    columns = lake_columns(contract)
    _drop(con, f"lake_{table}")  # a base's view reads up to its own data_through
    if not compaction.has_files(lake / table):
        typed = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        con.execute(f"CREATE TABLE lake_{table} ({typed})")
        return
    # Day partitions and month files (warehouse/compaction.py), by absolute paths: the views stay valid
    # wherever the release file is opened from.
    source = f"({compaction.lake_relation(lake / table)})"
    if known is None:
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    else:
        present = set(known)
        if added:
            paths = ", ".join(_sql_string(str(lake / path)) for path in added)
            present |= {
                row[0]
                for row in con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet([{paths}], union_by_name = true)"
                ).fetchall()
            }
    present &= set(columns)
    selected = ", ".join(
        f'CAST("{name}" AS {kind}) AS "{name}"' if name in present else f'CAST(NULL AS {kind}) AS "{name}"'
        for name, kind in columns.items()
    )
    con.execute(
        f"CREATE VIEW lake_{table} AS SELECT {selected} FROM {source} "
        f"WHERE {PARTITION_COLUMN} <= DATE '{data_through.isoformat()}'"
    )
    con.execute(f"COMMENT ON VIEW lake_{table} IS {_sql_string(json.dumps(sorted(present)))}")


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


def _first_data_day(
    con: duckdb.DuckDBPyConnection, lake: Path, contracts: Mapping, data_through: date, files: list[str] | None = None
) -> date:
    """The earliest day anything in the lake (or in `files` of it, relative paths) needs a working-day index for.

    Landing days come from the partition folder names (no file is opened) and the month files' own days;
    receipts can predate their landing day, so tickets and applications are asked too.
    """
    if files is None:
        paths = [path for table in contracts for path in (lake / table).glob(f"{PARTITION_COLUMN}=*/*.parquet")]
        paths += compaction.month_files(lake)
    else:
        paths = [lake / file for file in files]
    days = []
    for path in paths:
        if path.parent.name.startswith(compaction.MONTH_PREFIX):
            if (day := compaction.first_day(path)) is not None:
                days.append(day)
        else:
            days.append(date.fromisoformat(path.parent.name.removeprefix(f"{PARTITION_COLUMN}=")))
    for table in ("ticket_intake", "approval"):
        if table not in contracts:
            continue
        if files is None:
            source = f"lake_{table}"
        else:
            added = [path for path in paths if path.parent.parent.name == table]
            if not added:
                continue
            source = f"read_parquet([{', '.join(_sql_string(str(path)) for path in added)}], union_by_name = true)"
        try:
            received = con.execute(f"SELECT min(CAST(received_at AS DATE)) FROM {source}").fetchall()[0][0]
        except duckdb.BinderException:  # added files without the column: none of their rows has a receipt
            continue
        if received is not None:
            days.append(received)
    return min([*days, data_through])


def _create_calendar(
    con: duckdb.DuckDBPyConnection,
    lake: Path,
    contracts: Mapping,
    data_through: date,
    only_added: list[str] | None = None,
) -> str | None:
    """dim_calendar for the lake's days, and how it differs from the base's: None (not at all), "grown" (only by
    days at its ends, `_calendar_grown`) or "changed" (otherwise, or there is no base).

    Over a base whose lake only gained files (`only_added`, paths relative to the lake), the first data day is
    the base's (its calendar's first day, less the margin) or an earlier one the added files bring: the files
    the base read are the same, so asking them again would tell nothing new."""
    if only_added is not None and _exists(con, "dim_calendar"):
        base_first = con.execute("SELECT min(day) FROM dim_calendar").fetchall()[0][0]
        first_day = _first_data_day(con, lake, contracts, data_through, only_added)
        if base_first is not None:
            first_day = min(first_day, base_first + timedelta(days=DAYS_BEFORE_FIRST_DATA_DAY))
    else:
        first_day = _first_data_day(con, lake, contracts, data_through)
    calendar = working_day_calendar(*calendar_range(first_day, data_through))
    if _exists(con, "dim_calendar"):
        con.execute("ALTER TABLE dim_calendar RENAME TO _base_dim_calendar")
        _create_from_arrow(con, "dim_calendar", calendar)
        grown = _calendar_grown(con)
        if not _rows_changed(con, "dim_calendar"):
            return None
        return "grown" if grown else "changed"
    _create_from_arrow(con, "dim_calendar", calendar)
    return "changed"


def _calendar_grown(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether dim_calendar holds every day of the base's (`_base_dim_calendar`) alike, and only gained days at
    its ends: the same working days, every workday_index moved by one number (the working days gained before
    the base's first day). Counting N working days from a day it held then finds the same day."""
    missing, shifts = con.execute(
        """
        SELECT count(*) FILTER (WHERE n.day IS NULL OR n.is_workday IS DISTINCT FROM b.is_workday),
               count(DISTINCT n.workday_index - b.workday_index)
        FROM _base_dim_calendar AS b LEFT JOIN dim_calendar AS n USING (day)
        """
    ).fetchall()[0]
    return missing == 0 and shifts <= 1


def _create_meta_release(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    data_through: date,
    is_demo: bool,
    lake: Path,
    lake_fingerprint: str,
    build_signature: str,
    build_mode: str,
    base_run_id: str | None,
    full_built_at: datetime,
) -> None:
    meta = pa.table(
        {
            "run_id": pa.array([run_id], pa.string()),
            "built_at": pa.array([_now()], pa.timestamp("us")),
            "as_of": pa.array([datetime.combine(data_through + timedelta(days=1), time())], pa.timestamp("us")),
            "data_through": pa.array([data_through], pa.date32()),
            "is_demo": pa.array([is_demo], pa.bool_()),
            "lake_path": pa.array([str(lake)], pa.string()),
            "lake_fingerprint": pa.array([lake_fingerprint], pa.string()),
            "build_signature": pa.array([build_signature], pa.string()),
            "build_mode": pa.array([build_mode], pa.string()),
            "base_run_id": pa.array([base_run_id], pa.string()),
            "full_built_at": pa.array([full_built_at], pa.timestamp("us")),
        }
    )
    _create_from_arrow(con, "meta_release", meta)


def _now() -> datetime:
    """The wall clock of the street's time zone, as the release records times."""
    return datetime.now(ZoneInfo(TIME_ZONE)).replace(tzinfo=None, microsecond=0)


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'", [name]
        ).fetchall()[0][0]
    )


def _create_from_arrow(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Create table `name` from Arrow; a table of that name from the base is replaced (a model's is kept
    aside as `_base_<name>`, for `_rows_changed`)."""
    _set_aside_or_drop(con, name)
    view = f"_arrow_{name}"
    con.register(view, table)
    try:
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "{view}"')
    finally:
        con.unregister(view)


def _set_aside_or_drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Before `name` is built again over a base: a mart's table becomes `_base_<name>` (compared, then dropped,
    by `_rows_changed`); a view or an input is dropped."""
    if name in mart_names() and _exists(con, name):
        con.execute(f'ALTER TABLE "{name}" RENAME TO "_base_{name}"')
    else:
        _drop(con, name)


def _create_model(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    _set_aside_or_drop(con, model.name)
    kind = "VIEW" if model.materialized == "view" else "TABLE"
    con.execute(f"CREATE {kind} {model.name} AS\n{model.sql}")
