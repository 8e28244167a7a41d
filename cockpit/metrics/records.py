"""The rows behind a KPI: the same period, row filter and scope as `compute()`, one row per record.

A record table pages through these on the server (sorted and filtered by the
user), and the CSV/Excel export writes them out. The conditions are composed
from the catalog exactly as the KPI's own query composes them, so the rows
always add up to the number the user clicked.

What the user sends (sort column, column filters) arrives from the browser:
column names are checked against the fact's real columns, values are bound as
parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from cockpit.metrics.catalog import Metric, RowScope, applicable_filters, filter_conditions
from cockpit.metrics.period import Period

# Columns never shown in a record table: boundaries are drawn on the map, not listed.
HIDDEN_COLUMNS = frozenset({"geometry"})

_TEXT_OPERATORS = {
    "contains": ("contains(lower(CAST({c} AS VARCHAR)), lower({p}))", True),
    "notContains": ("NOT contains(lower(CAST({c} AS VARCHAR)), lower({p}))", True),
    "equals": ("CAST({c} AS VARCHAR) = {p}", True),
    "notEqual": ("CAST({c} AS VARCHAR) <> {p}", True),
    "startsWith": ("starts_with(lower(CAST({c} AS VARCHAR)), lower({p}))", True),
    "endsWith": ("ends_with(lower(CAST({c} AS VARCHAR)), lower({p}))", True),
    "blank": ("{c} IS NULL", False),
    "notBlank": ("{c} IS NOT NULL", False),
}
_NUMBER_OPERATORS = {
    "equals": "=",
    "notEqual": "<>",
    "greaterThan": ">",
    "greaterThanOrEqual": ">=",
    "lessThan": "<",
    "lessThanOrEqual": "<=",
}


@dataclass(frozen=True)
class RecordQuery:
    """One page of records: SQL for the rows and for their count, sharing the parameters."""

    rows_sql: str
    count_sql: str
    params: dict[str, Any]
    # column → (code → name) for the columns the rows hold as codes (VARCHAR) and `named_rows` names
    name_after: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def named_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The page read with `rows_sql`, its `name_after` columns' codes replaced by their names (a code with
        no name stays as it is, as in SQL)."""
        for column, names in self.name_after.items():
            rows[column] = [names.get(code, code) if isinstance(code, str) else code for code in rows[column]]
        return rows

    @property
    def count_params(self) -> dict[str, Any]:
        """The parameters the count uses (DuckDB rejects unused ones; the count may skip the code names)."""
        return {name: value for name, value in self.params.items() if re.search(rf"\${name}\b", self.count_sql)}


def fact_columns(con: duckdb.DuckDBPyConnection, fact: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the fact's columns that a record table shows, in table order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? AND table_catalog = current_database() ORDER BY ordinal_position",
        [fact],
    ).fetchall()
    return [(name, kind) for name, kind in rows if name not in HIDDEN_COLUMNS]


def _column_filter(column: str, model: Mapping[str, Any], params: dict[str, Any], counter: list[int]) -> str:
    """One ag-grid column filter model as SQL; raises ValueError on what it cannot read."""
    if "conditions" in model:
        operator = " OR " if str(model.get("operator", "AND")).upper() == "OR" else " AND "
        parts = [_column_filter(column, each, params, counter) for each in model["conditions"]]
        return "(" + operator.join(parts) + ")"
    kind = model.get("type")
    counter[0] += 1
    name = f"col_{counter[0]}"
    if model.get("filterType") == "number":
        if kind == "blank":
            return f'"{column}" IS NULL'
        if kind == "notBlank":
            return f'"{column}" IS NOT NULL'
        if kind == "inRange":
            params[name] = float(model["filter"])
            params[name + "_to"] = float(model["filterTo"])
            return f'"{column}" BETWEEN ${name} AND ${name}_to'
        if kind not in _NUMBER_OPERATORS:
            raise ValueError(f"unsupported number filter {kind!r}")
        params[name] = float(model["filter"])
        return f'"{column}" {_NUMBER_OPERATORS[kind]} ${name}'
    if kind not in _TEXT_OPERATORS:
        raise ValueError(f"unsupported text filter {kind!r}")
    template, binds = _TEXT_OPERATORS[kind]
    if binds:
        params[name] = str(model.get("filter", ""))
    return template.format(c=f'"{column}"', p=f"${name}")


def row_conditions(
    metric: Metric, *, scope: RowScope | None = None, filters: Mapping[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause choosing the rows behind `metric` in [$period_start, $period_end) within `scope` and
    `filters`, and its parameters (the period's two are the caller's to bind)."""
    params: dict[str, Any] = {}
    conditions: list[str] = []
    if metric.period_column:
        conditions.append(f"{metric.period_column} >= $period_start AND {metric.period_column} < $period_end")
    if metric.where:
        conditions.append(
            metric.where.replace("{period_start}", "$period_start").replace("{period_end}", "$period_end")
        )
    if scope is not None:
        conditions += scope.conditions(metric.columns)
        params.update(scope.params())
    applied = applicable_filters(metric, filters)
    conditions += filter_conditions(metric.fact, metric.columns, tuple(applied))
    params.update({f"filter_{dimension}": value for dimension, value in applied.items()})
    return " AND ".join(f"({each})" for each in conditions) or "true", params


def record_query(
    metric: Metric,
    period: Period,
    columns: Sequence[str],
    *,
    filters: Mapping[str, str] | None = None,
    sort: Sequence[Mapping[str, str]] = (),
    column_filters: Mapping[str, Mapping[str, Any]] | None = None,
    offset: int = 0,
    limit: int = 100,
    scope: RowScope | None = None,
    names: Mapping[str, Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    code_headers: Mapping[str, str] | None = None,
    for_reading: bool = False,
) -> RecordQuery:
    """SQL for the rows behind `metric` for `period` and `filters`, one page of them, and their count.

    `columns` are the fact's visible columns (see `fact_columns`); `sort` and
    `column_filters` are ag-grid's sortModel and filterModel; `scope` keeps the reader's rows (as `compute()`).

    What a person reads: `names` (column → code → name) shows those columns' codes by name — and the user's
    sort and column filters act on the names they see, while scope and filters still act on the codes; a
    code with no name stays as it is. `headers` (column → title) names the result's columns; `code_headers`
    (column → title) adds, after a named column, one holding its codes (exports keep them for machines).

    Where nothing the page is sorted or filtered on is a name, the page is chosen on the codes and only its
    rows are named: in SQL, or with `for_reading` (a page a person reads, not a stream) by the caller, with
    `RecordQuery.named_rows`. A place's code list holds tens of thousands of names at a district's scale;
    binding them costs more than choosing the page.
    """
    known = set(columns)
    where, params = row_conditions(metric, scope=scope, filters=filters)
    # The user's column filters act on what the table shows (names), after the rows are chosen by code.
    shown_conditions: list[str] = []
    counter = [0]
    for column, model in (column_filters or {}).items():
        if column not in known:
            raise ValueError(f"unknown column {column!r} for {metric.fact}")
        shown_conditions.append(_column_filter(column, model, params, counter))
    shown_where = " AND ".join(f"({each})" for each in shown_conditions) or "true"

    order: list[tuple[str, str]] = []
    for each in sort:
        column = each.get("colId")
        if column not in known:
            raise ValueError(f"unknown sort column {column!r} for {metric.fact}")
        order.append((column, "DESC" if each.get("sort") == "desc" else "ASC"))
    if not order and metric.period_column:
        order.append((metric.period_column, "DESC"))

    def order_by(relation: str) -> str:
        terms = [f'{relation}"{column}" {direction} NULLS LAST' for column, direction in order]
        return f" ORDER BY {', '.join(terms)}" if terms else ""

    # DuckDB rejects parameters a statement does not use: bind only the bounds that appear.
    if "$period_start" in where:
        params["period_start"] = period.start_at
    if "$period_end" in where:
        params["period_end"] = period.end_before
    chosen = f"SELECT * FROM {metric.fact} WHERE {where}"
    named = {column: names[column] for column in columns if names and names.get(column)}
    page = f"LIMIT {int(limit)} OFFSET {max(int(offset), 0)}"

    def shown_columns() -> str:
        select = []
        for column in columns:
            select.append(_alias(f'r."{column}"', (headers or {}).get(column)))
            if code_headers and column in named and column in code_headers:
                select.append(_alias(f'r."{_CODE_PREFIX}{column}"', code_headers[column]))
        return ", ".join(select)

    after: Mapping[str, Mapping[str, str]] = {}
    if named and not shown_conditions and not any(column in named for column, _ in order):
        paged = f"{chosen}{order_by('')} {page}"
        if for_reading and not headers and not code_headers:
            # the codes as text, as the SQL naming compares them; the caller names them (named_rows)
            after = named
            codes = [
                f'CAST(r."{column}" AS VARCHAR) AS "{column}"' if column in named else f'r."{column}"'
                for column in columns
            ]
            rows_sql = f"SELECT {', '.join(codes)} FROM ({paged}) AS r{order_by('r.')}"
        else:
            shown = _named_relation(metric.fact, paged, named, params)
            rows_sql = f"SELECT {shown_columns()} FROM ({shown}) AS r{order_by('r.')}"
    else:
        shown = _named_relation(metric.fact, chosen, named, params) if named else chosen
        rows_sql = f"SELECT {shown_columns()} FROM ({shown}) AS r WHERE {shown_where}{order_by('r.')} {page}"
    # Counting needs the names only when the user filters on them.
    count_sql = f"SELECT count(*) FROM ({shown if shown_conditions else chosen}) AS r WHERE {shown_where}"
    return RecordQuery(rows_sql, count_sql, params, after)


# The column a named relation keeps a coded column's codes in (beside the names that replace them).
_CODE_PREFIX = "__code__"


def _alias(expression: str, title: str | None) -> str:
    return expression if title is None else f'{expression} AS "{title.replace(chr(34), chr(34) * 2)}"'


def _named_relation(fact: str, chosen: str, named: Mapping[str, Mapping[str, str]], params: dict[str, Any]) -> str:
    """The chosen rows with each named column's codes replaced by their names (and kept under _CODE_PREFIX).

    Each code list travels as two bound lists joined as a small table: nothing of it is composed into SQL.
    """
    joins, replaced, kept = [], [], []
    for index, (column, codes) in enumerate(named.items()):
        params[f"codes_{index}"] = list(codes)
        params[f"names_{index}"] = list(codes.values())
        code = f'CAST({fact}."{column}" AS VARCHAR)'
        joins.append(
            f"LEFT JOIN (SELECT unnest($codes_{index}) AS code, unnest($names_{index}) AS name) AS n{index} "
            f"ON {code} = n{index}.code"
        )
        replaced.append(f'coalesce(n{index}.name, {code}) AS "{column}"')
        kept.append(f'{fact}."{column}" AS "{_CODE_PREFIX}{column}"')
    return (
        f"SELECT {fact}.* REPLACE ({', '.join(replaced)}), {', '.join(kept)} "
        f"FROM ({chosen}) AS {fact} {' '.join(joins)}"
    )
