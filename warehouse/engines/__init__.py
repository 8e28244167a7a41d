"""Engines other than DuckDB that build the SQL models (warehouse/build.py chooses)."""
