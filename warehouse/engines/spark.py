"""Spark as the engine of the SQL models, for a city that outgrows one machine.

The models stay one source of truth: each `warehouse/models/*.sql` (DuckDB SQL) is parsed by sqlglot and
written as Spark SQL, with the few DuckDB spots Spark lacks rewritten here, each once (`_to_spark`):

- QUALIFY is kept (Spark 4 has it; sqlglot's rewrite into a subquery loses a join's alias);
- `AS MATERIALIZED` on a CTE is dropped (a DuckDB planner hint);
- `time_bucket(to_hours(n), ts)` becomes arithmetic from DuckDB's origin (2000-01-03), `to_hours(n)` an
  interval: Spark's own bucket needs a constant width;
- `epoch(a - b)` becomes seconds between the two times (sqlglot writes UNIX_TIMESTAMP of an interval);
- `CAST(unnest(range(a, b, step)) AS T)` becomes an EXPLODE of a SEQUENCE without its end, empty when b ≤ a;
- `arg_max`/`arg_min` skip rows whose value is NULL and order a tuple with NULL fields last, as DuckDB does;
- `list_median` is a SQL function created in the session (`SESSION_FUNCTIONS`).

Where a spelling means the same in both engines, the model uses it instead (date_diff for days between
dates, a spelt-out space class, a RANGE frame ending 1 µs before the row): no transform guesses at them.

The inputs Spark reads are the lake (Parquet, read with the contract's types, times as TIMESTAMP_NTZ: the
warehouse's wall clock), and the inputs the build computed in Python (seeds with their code rows, the
calendar, meta_release), handed over from the release being built. Each table model is written as Parquet
and read back as the next models' input; warehouse/build.py loads the files into the DuckDB release with
the column types DuckDB gives the same model, then checks and publishes it as any other release.
tests/warehouse/test_spark.py requires every mart equal to the DuckDB build.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import duckdb

from warehouse import compaction

SPARK_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "BIGINT",
    "INTEGER": "INT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "SMALLINT": "SMALLINT",
    "FLOAT": "FLOAT",
}
# Set in the Python process that spark-submit starts (its JVM gateway's port).
SUBMITTED = "PYSPARK_GATEWAY_PORT"
# DuckDB's time_bucket origin for widths under a month.
BUCKET_ORIGIN = "TIMESTAMP_NTZ '2000-01-03 00:00:00'"
SESSION_FUNCTIONS = (
    # DuckDB's list_median: the median of the non-NULL elements (the mean of the middle two), NULL when none.
    """CREATE OR REPLACE TEMPORARY FUNCTION list_median(a ARRAY<DOUBLE>) RETURNS DOUBLE RETURN
       aggregate(array(array_sort(filter(a, x -> x IS NOT NULL))), CAST(NULL AS DOUBLE),
         (acc, s) -> CASE WHEN size(s) = 0 THEN NULL
                          ELSE (element_at(s, CAST((size(s) + 1) DIV 2 AS INT))
                                + element_at(s, CAST(size(s) DIV 2 + 1 AS INT))) / 2 END)""",
)


class SparkBuildError(Exception):
    """The Spark build could not run; the message is one line."""


def _dialect():
    import sqlglot.transforms
    from sqlglot import exp
    from sqlglot.dialects.spark import Spark

    class Spark4(Spark):
        """Spark 4: QUALIFY stays QUALIFY."""

        class Generator(Spark.Generator):
            TRANSFORMS = {
                **Spark.Generator.TRANSFORMS,
                exp.Select: sqlglot.transforms.preprocess(
                    [
                        sqlglot.transforms.eliminate_distinct_on,
                        sqlglot.transforms.unnest_to_explode,
                        sqlglot.transforms.any_to_exists,
                    ]
                ),
            }

    return Spark4


def to_spark_sql(sql: str) -> str:
    """A model's DuckDB SQL as Spark SQL (the module's docstring lists what is rewritten)."""
    import sqlglot

    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_to_spark).sql(dialect=_dialect())


def _spark(sql: str):
    import sqlglot

    return sqlglot.parse_one(sql, read="spark")


def _hours(node):
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_hours":
        return node.expressions[0]
    return None


def _to_spark(node):
    from sqlglot import exp

    def sql(part) -> str:
        return part.transform(_to_spark).sql("spark")

    if isinstance(node, exp.ArgMax | exp.ArgMin):
        value, order = sql(node.this), node.expression
        if isinstance(order, exp.Tuple):
            order_sql = "STRUCT(" + ", ".join(f"({sql(f)}) IS NULL, {sql(f)}" for f in order.expressions) + ")"
        else:
            order_sql = sql(order)
        name = "MAX_BY" if isinstance(node, exp.ArgMax) else "MIN_BY"
        return _spark(f"{name}({value}, IF(({value}) IS NULL, NULL, {order_sql}))")
    if isinstance(node, exp.CTE) and node.args.get("materialized"):
        node.set("materialized", None)
    if isinstance(node, exp.DateBin) and _hours(node.this) is not None:
        width, moment = exp.paren(_hours(node.this).copy()).sql("spark"), sql(node.expression)
        return _spark(
            f"TIMESTAMPADD(HOUR, CAST(FLOOR(TIMESTAMPDIFF(HOUR, {BUCKET_ORIGIN}, {moment}) / {width}) AS BIGINT)"
            f" * {width}, {BUCKET_ORIGIN})"
        )
    if _hours(node) is not None:
        return exp.paren(exp.Mul(this=exp.paren(_hours(node).copy()), expression=_spark("INTERVAL '1' HOUR")))
    if isinstance(node, exp.TimeToUnix) and isinstance(node.this, exp.Sub):
        later, earlier = sql(node.this.this), sql(node.this.expression)
        return _spark(f"(CAST(TIMESTAMPDIFF(MICROSECOND, {earlier}, {later}) AS DOUBLE) / 1000000)")
    if (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Explode)
        and isinstance(node.this.this, exp.GenerateSeries)
    ):
        series = node.this.this
        start, end, step = (sql(series.args[k]) for k in ("start", "end", "step"))
        last = f"({end}) - ({step})" if series.args.get("is_end_exclusive") else f"({end})"
        kind = node.to.sql("spark")
        return _spark(
            f"EXPLODE(IF({last} < ({start}), ARRAY(), TRANSFORM(SEQUENCE({start}, {last}, {step}), "
            f"x -> CAST(x AS {kind}))))"
        )
    return node


def spark_session(master: str | None = None):
    """A SparkSession for the build: `master` (spark://…, yarn, k8s://…), the one spark-submit was given, or
    local with every core."""
    # pyspark 4.3 warns about pandas 3 when it loads; no pandas path is taken here (rows and Parquet only)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the optional dependency: pip install 'street-cockpit[spark]'
        raise SparkBuildError("the Spark engine needs pyspark: pip install 'street-cockpit[spark]'") from exc
    builder = (
        SparkSession.builder.appName("street-cockpit-warehouse")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
        .config("spark.sql.session.timeZone", "Asia/Shanghai")
        # CAST(x AS TIMESTAMP) is a wall-clock time without zone, as in DuckDB and the lake
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    )
    if master:
        builder = builder.master(master)
    elif SUBMITTED not in os.environ:  # under spark-submit the master is the one it was given
        builder = builder.master("local[*]")
        builder = builder.config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "2g")
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 — a JVM that does not start: one line for the run's summary
        raise SparkBuildError(f"Spark did not start: {' '.join(str(exc).split())[:200]}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def build_models(
    con: duckdb.DuckDBPyConnection,
    lake: Path,
    staging: Path,
    models: Iterable,
    lake_tables: Mapping[str, Mapping[str, str]],
    inputs: Iterable[str],
    data_through,
    *,
    master: str | None = None,
    loaded: Callable[[str, Path | None], None],
) -> None:
    """Build the SQL `models` (warehouse.build.Model, in run order) with Spark.

    `lake_tables` maps each lake table to its columns and DuckDB types; `inputs` names the tables the build
    made in DuckDB that models read (seeds, dim_calendar, meta_release). Each table model is written under
    `staging/<model>/` as Parquet and `loaded(name, folder)` is called (`folder` is None for a view, which the
    caller creates in DuckDB itself). The folder is the caller's to delete.
    """
    spark = spark_session(master)
    try:
        for statement in SESSION_FUNCTIONS:
            spark.sql(statement)
        for table, columns in lake_tables.items():
            _register_lake(spark, lake, table, columns, data_through)
        for name in inputs:
            _register_from_duckdb(spark, con, name)
        for model in models:
            frame = spark.sql(to_spark_sql(model.sql))
            if model.materialized == "view":
                frame.createOrReplaceTempView(model.name)
                loaded(model.name, None)
                continue
            folder = staging / model.name
            frame.write.mode("overwrite").parquet(folder.as_uri())
            spark.read.parquet(folder.as_uri()).createOrReplaceTempView(model.name)
            loaded(model.name, folder)
    except Exception as exc:  # noqa: BLE001 — Spark's errors carry a JVM stack: keep the first line
        if isinstance(exc, SparkBuildError):
            raise
        message = " ".join(str(exc).split()).split("JVM stacktrace")[0]
        raise SparkBuildError(f"Spark build failed: {message[:300]}") from exc
    finally:
        spark.stop()


def _register_lake(spark, lake: Path, table: str, columns: Mapping[str, str], data_through) -> None:
    """lake_<table> in Spark: the table's Parquet read with the contract's types (a column a file lacks reads
    NULL, as DuckDB's union_by_name does), landing days up to `data_through`."""
    typed = {name: SPARK_TYPES[kind] for name, kind in columns.items()}
    folder = lake / table
    days = sorted(folder.glob(f"{compaction.DAY_PREFIX}*/*.parquet"))
    months = sorted(folder.glob(f"{compaction.MONTH_PREFIX}*/*.parquet"))
    if not days and not months:
        empty = ", ".join(f"CAST(NULL AS {kind}) AS `{name}`" for name, kind in typed.items())
        spark.sql(f"CREATE OR REPLACE TEMP VIEW lake_{table} AS SELECT {empty} WHERE false")
        return
    schema = ", ".join(f"`{name}` {kind}" for name, kind in typed.items())
    frames = []
    # Plain paths, not URIs: a URI spells the partition's '=' as %3D.
    if days:  # day partitions: the landing day from the folder's name
        reader = spark.read.schema(schema).option("basePath", str(folder))
        frames.append(reader.parquet(*[str(path) for path in days]))
    if months:  # month files (warehouse/compaction.py): the landing day is a column of the file
        frames.append(spark.read.schema(schema).parquet(*[str(path) for path in months]))
    frame = frames[0] if len(frames) == 1 else frames[0].unionByName(frames[1])
    frame.where(f"day <= DATE '{data_through.isoformat()}'").createOrReplaceTempView(f"lake_{table}")


def _register_from_duckdb(spark, con: duckdb.DuckDBPyConnection, name: str) -> None:
    """A table the build made in DuckDB, handed to Spark with its columns' types."""
    described = con.execute(f'DESCRIBE "{name}"').fetchall()
    schema = ", ".join(f"`{column}` {SPARK_TYPES.get(kind, 'STRING')}" for column, kind, *_ in described)
    rows = con.execute(f'SELECT * FROM "{name}"').fetchall()
    spark.createDataFrame(rows, schema).createOrReplaceTempView(name)
