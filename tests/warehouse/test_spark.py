"""The Spark engine builds the same marts as DuckDB from the same lake (warehouse/engines/spark.py).

One pipeline run on a fresh home with `engine="spark"` (Spark in local mode: pyspark and Debian's Java, which
CI installs): its release, checked and published as any other, must hold every mart of a DuckDB build of the
same lake, table by table (warehouse/digest.py). The transpiled SQL is looked at too: what DuckDB has and Spark
lacks is rewritten, and the models' own SQL is not bent for it.
"""

from __future__ import annotations

import duckdb
import pytest

from pipelines.mapping import added_codes, load_mappings
from pipelines.run import run_pipeline
from tests.conftest import SALT
from warehouse.build import build_release, load_models, mart_names
from warehouse.digest import differences, table_digests
from warehouse.engines.spark import to_spark_sql
from warehouse.releases import current_release


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory, demo_landing):
    """The demo's week (2026-09-26 … 10-02) loaded by Spark, its September days compacted into month files
    (a month closed as soon as it ends, here): Spark reads both kinds of lake file."""
    import shutil

    from warehouse import compaction
    from warehouse.paths import Home

    root = tmp_path_factory.mktemp("spark-home")
    shutil.copytree(demo_landing, root / "landing")
    home = Home(root).ensure()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compaction, "CLOSED_AFTER_DAYS", 0)
        summary = run_pipeline(home, salt=SALT, engine="spark")
    return home, summary


def test_a_spark_build_publishes_the_marts_a_duckdb_build_makes(spark_run, tmp_path):
    home, summary = spark_run
    assert summary.status == "published", summary.message
    assert summary.build.startswith("built from scratch: Spark builds from scratch; lake: "), summary.build
    assert list(home.lake.glob("*/month=2026-09/*.parquet")) and list(home.lake.glob("*/day=2026-10-01/*.parquet"))
    with duckdb.connect(str(current_release(home)), read_only=True) as con:
        through = con.execute("SELECT data_through FROM meta_release").fetchall()[0][0]
        spark_digest = table_digests(con)
    target = tmp_path / "duckdb.duckdb"
    build_release(
        home.lake, target, run_id="duckdb", data_through=through, is_demo=True, code_rows=added_codes(load_mappings())
    )
    with duckdb.connect(str(target), read_only=True) as con:
        duckdb_digest = table_digests(con)
    assert mart_names() <= set(spark_digest) | {"stg_sensor_reading", "raw_sensor_reading"}
    assert differences(spark_digest, duckdb_digest) == []
    assert spark_digest["fct_sensor_hourly"][0] > 1000 and spark_digest["fct_ticket"][0] > 20
    assert not list(home.releases.glob("*.spark")), "the Parquet Spark wrote is removed after loading"


def test_the_spark_sql_rewrites_what_spark_lacks():
    sql = {model.name: to_spark_sql(model.sql) for model in load_models()}
    assert len(sql) == len(load_models())
    hourly = sql["fct_sensor_hourly"].upper()
    assert "QUALIFY" in hourly and "MATERIALIZED" not in hourly
    assert "TIME_BUCKET" not in hourly and "TO_HOURS" not in hourly and "LIST_MEDIAN" in hourly
    ticket = sql["fct_ticket"].upper()
    assert "EPOCH" not in ticket and "MAX_BY" in ticket and "UNIX_TIMESTAMP" not in ticket
    assert "SEQUENCE(" in sql["fct_device_status"].upper()
