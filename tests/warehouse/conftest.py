"""A release built once from the fixture lake (tests/fixtures/lake.py), shared by the warehouse tests."""

from pathlib import Path

import duckdb
import pytest

from tests.fixtures.lake import make_fixture_lake
from warehouse.build import build_release


@pytest.fixture(scope="session")
def fixture_lake(tmp_path_factory) -> tuple[Path, dict]:
    lake = tmp_path_factory.mktemp("fixture") / "lake"
    return lake, make_fixture_lake(lake)


@pytest.fixture(scope="session")
def release_path(fixture_lake, tmp_path_factory) -> Path:
    lake, facts = fixture_lake
    target = tmp_path_factory.mktemp("release") / "fixture.duckdb"
    build_release(lake, target, run_id="fixture-run", data_through=facts["data_through"], is_demo=True)
    return target


@pytest.fixture
def release(release_path):
    """A read-only connection to the fixture release."""
    con = duckdb.connect(str(release_path), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[dict]:
    """The result of a query as a list of {column: value}."""
    cursor = con.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(con: duckdb.DuckDBPyConnection, sql: str, *params) -> dict:
    found = rows(con, sql, *params)
    assert len(found) == 1, f"expected one row, got {len(found)}: {sql}"
    return found[0]
