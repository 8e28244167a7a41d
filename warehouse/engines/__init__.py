"""What builds the SQL models: DuckDB in the release itself (warehouse/build.py), or Spark (spark.py)."""

ENGINES = ("duckdb", "spark")
