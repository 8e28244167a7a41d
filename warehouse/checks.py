"""Checks a built release against `warehouse/schema.yaml` before it is published.

`run_checks(con)` returns one line per failure (an empty list means the release
passes). It checks that every model file is documented and every documented
model exists, that the documented columns and the release's columns are the
same set, and runs the dbt-style column tests (unique, not_null,
accepted_values, relationships) and the model tests (unique_key, single_row).

Each test is one aggregate query, so the checks stay cheap enough for the
nightly run; views over the lake (raw readings) are checked for columns only.
A release built on a checked one (warehouse/build.py) names the tables it
changed: the tests run on those, and the relationships that point at them;
a table kept as its base had it passed them there, under the same schema
(the build signature covers schema.yaml). A table it patched comes with a
condition on some of its columns that its patched rows meet: the tests look
at those rows, except a uniqueness test over columns that do not include
all of those (a duplicate could pair a patched row with another) and a
relationship into a changed table, which look at every row.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from importlib.resources import files
from pathlib import Path

import duckdb

from warehouse.build import mart_names
from warehouse.documents import load_yaml

SCHEMA_PATH = files("warehouse") / "schema.yaml"
COLUMN_TESTS = ("unique", "not_null", "accepted_values", "relationships")


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, dict]:
    """schema.yaml as {"inputs": {table: spec}, "models": {model: spec}, "display": {headers, codes, vocabularies}}.

    Parsed once per file version (path and modification time) and shared: callers read it, never change it.
    """
    return _parsed_schema(str(path), Path(str(path)).stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _parsed_schema(path: str, _modified: int) -> dict[str, dict]:
    with open(path, encoding="utf-8") as handle:
        schema = load_yaml(handle) or {}
    return {
        "inputs": schema.get("inputs") or {},
        "models": schema.get("models") or {},
        "display": schema.get("display") or {},
    }


def run_checks(
    con: duckdb.DuckDBPyConnection,
    schema_path: Path = SCHEMA_PATH,
    *,
    changed: Collection[str] | None = None,
    scopes: Mapping[str, tuple[tuple[str, ...], str]] | None = None,
) -> list[str]:
    """Run every documented test on the open release; one line per failure. With `changed` (the tables a build
    on a checked release changed), the row tests run only on those, and the relationships into them; with
    `scopes` (patched table → the columns and condition its patched rows meet), only on those rows."""
    scopes = scopes or {}
    schema = load_schema(schema_path)
    documented_models = schema["models"]
    tables = {**schema["inputs"], **documented_models}
    model_names = mart_names()
    release_columns = _release_columns(con)

    failures = [f"model {name} has no entry in schema.yaml" for name in sorted(model_names - set(documented_models))]
    failures += [
        f"schema.yaml documents {name}, but there is no models/{name}.sql"
        for name in sorted(set(documented_models) - model_names)
    ]
    for table, spec in tables.items():
        if table not in release_columns:
            failures.append(f"{table}: missing from the release")
            continue
        failures += _check_columns(table, spec, release_columns[table])
        whole = changed is None or table in changed
        scoped_columns, scope = scopes.get(table, ((), None)) if changed is not None else ((), None)
        if whole:
            unique_scope = scope if set(scoped_columns) <= set(spec.get("unique_key") or ()) else None
            failures += _check_table_tests(con, table, spec, unique_scope)
        for column, tests in (spec.get("tests") or {}).items():
            if column not in release_columns[table]:
                continue  # already reported as a missing column
            for test in tests:
                if changed is not None and _target(test) in changed:
                    failures += _check_column_test(con, table, column, test)
                elif whole:
                    row_test = not (test == "unique" or (isinstance(test, Mapping) and "unique" in test))
                    in_scope = row_test or set(scoped_columns) <= {column}
                    failures += _check_column_test(con, table, column, test, scope if in_scope else None)
    return failures


def _release_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE NOT internal AND database_name = current_database() AND schema_name = current_schema() "
        "GROUP BY table_name"
    ).fetchall()
    return {table: columns for table, columns in rows}


def _check_columns(table: str, spec: Mapping, actual: list[str]) -> list[str]:
    documented = spec.get("columns") or {}
    failures = [
        f"{table}.{column}: documented but missing from the release" for column in documented if column not in actual
    ]
    failures += [
        f"{table}.{column}: in the release but not documented in schema.yaml"
        for column in actual
        if column not in documented
    ]
    failures += [
        f"{table}.{column}: description is empty"
        for column, text in documented.items()
        if not isinstance(text, str) or not text.strip()
    ]
    if not str(spec.get("grain") or "").strip():
        failures.append(f"{table}: grain is not documented")
    return failures


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchall()[0][0]


def _check_table_tests(
    con: duckdb.DuckDBPyConnection, table: str, spec: Mapping, scope: str | None = None
) -> list[str]:
    failures = []
    key = spec.get("unique_key")
    if key:
        columns = ", ".join(_quote(column) for column in key)
        duplicated = _count(
            con,
            f"SELECT count(*) FROM (SELECT {columns} FROM {_quote(table)} WHERE {scope or 'true'} "
            "GROUP BY ALL HAVING count(*) > 1)",
        )
        if duplicated:
            failures.append(f"{table}: unique_key ({', '.join(key)}) failed, {duplicated} keys appear more than once")
    if spec.get("single_row"):
        rows = _count(con, f"SELECT count(*) FROM {_quote(table)}")
        if rows != 1:
            failures.append(f"{table}: single_row failed, it has {rows} rows")
    return failures


def _target(test: object) -> str | None:
    """The table a relationships test points at (None for any other test)."""
    if isinstance(test, Mapping) and "relationships" in test:
        return str(test["relationships"]).partition(".")[0]
    return None


def _check_column_test(
    con: duckdb.DuckDBPyConnection, table: str, column: str, test: object, scope: str | None = None
) -> list[str]:
    where = None
    if isinstance(test, Mapping):
        options = dict(test)
        where = options.pop("where", None)
        if len(options) != 1:
            return [f"{table}.{column}: cannot read test {test!r}"]
        ((name, argument),) = options.items()
    else:
        name, argument = test, None
    if name not in COLUMN_TESTS:
        return [f"{table}.{column}: unknown test {name!r}"]

    col = _quote(column)
    scope = " AND ".join(f"({condition})" for condition in (where, scope) if condition) or "true"
    source = f"{_quote(table)} AS checked"
    if name == "not_null":
        bad = _count(con, f"SELECT count(*) FROM {source} WHERE {scope} AND {col} IS NULL")
        detail = f"{bad} NULL values"
    elif name == "unique":
        bad = _count(
            con,
            f"SELECT count(*) FROM (SELECT {col} FROM {source} WHERE {scope} AND {col} IS NOT NULL "
            f"GROUP BY {col} HAVING count(*) > 1)",
        )
        detail = f"{bad} values appear more than once"
    elif name == "accepted_values":
        accepted = ", ".join(_literal(value) for value in argument)
        bad = _count(
            con,
            f"SELECT count(*) FROM {source} WHERE {scope} AND CAST({col} AS VARCHAR) NOT IN ({accepted})",
        )
        detail = f"{bad} rows outside [{', '.join(str(value) for value in argument)}]"
    else:  # relationships
        target_table, _, target_column = str(argument).partition(".")
        if not target_column:
            return [f"{table}.{column}: relationships needs <model>.<column>, not {argument!r}"]
        bad = _count(
            con,
            f"SELECT count(*) FROM {source} WHERE {scope} AND {col} IS NOT NULL AND {col} NOT IN "
            f"(SELECT {_quote(target_column)} FROM {_quote(target_table)} WHERE {_quote(target_column)} IS NOT NULL)",
        )
        detail = f"{bad} values not found in {argument}"
    if bad:
        qualifier = f" (where {where})" if where else ""
        return [f"{table}.{column}: {name}{qualifier} failed, {detail}"]
    return []
