"""The metric catalog: load the KPI definitions and compute any KPI for a period, a scope and a grouping.

`catalog.yaml` holds one definition per KPI (formula over the marts of
`warehouse/MARTS.md`, direction, thresholds, dimensions, 统计口径, sources).
`compute()` turns a definition into ONE aggregate query that DuckDB answers
for the period, its 环比 and 同比 bases at once; only the small per-group
result comes back to pandas.

Trust boundary: the SQL fragments of the catalog are code (reviewed, committed)
and are composed into the query. Everything a user picks — the period, the
communities in scope, the grouping — is either bound as a parameter or checked
against the catalog's own names before it touches SQL.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from cockpit.metrics.period import Period, one_year_earlier
from pipelines.mapping import SOURCES_DIR
from warehouse.checks import load_schema
from warehouse.documents import load_yaml

CATALOG_PATH = files("cockpit.metrics") / "catalog.yaml"

MODULES = ("overview", "party", "approvals", "enforcement", "grid", "dispatch")
TIME_DIMENSIONS = ("day", "week", "month")
DIMENSIONS = (
    "community",
    "grid",
    "micro_grid",
    "grid_worker",
    "department",
    "channel",
    "category",
    "category_group_1",
    "category_group_2",
    "service_item",
    "domain",
    "device_kind",
    "alarm_kind",
    "partner_kind",
    "org_level",
    "subject",
    "round",
    "batch",
    "term",
    "focus_group",
    "satisfaction",
    *TIME_DIMENSIONS,
)
# The landing sources a KPI may name: the built-in source mappings (pipelines/sources/*.yaml).
SOURCES = tuple(sorted(path.stem for path in SOURCES_DIR.glob("*.yaml")))
UNITS = ("件", "%", "小时", "分钟", "天", "个", "人", "元", "次", "户")
GOOD_DIRECTIONS = ("up", "down", "neutral")
STATUSES = ("green", "amber", "red", "none")
# Why a KPI has status 'none' although it has thresholds and a value: its window runs past the day its
# sources are complete through and was not cut ('partial'), or holds no complete day at all.
STATUS_REASONS = ("partial", "no_complete_data")
# Targets that accrue over time (`thresholds: {…, prorate: year}`): how many of each unit make a year.
# The bounds are per unit and are pro-rated to the days of the period a value covers.
PRORATE_UNITS: Mapping[str, int] = MappingProxyType({"year": 1, "half_year": 2, "quarter": 4, "month": 12})
DAYS_PER_YEAR = 365

# The dimension whose column scopes a query (access control: community_id IN scope).
SCOPE_DIMENSION = "community"
# The dimensions a grid scope (a grid worker's) is checked against: a row of one of their grids or micro grids.
GRID_SCOPE_DIMENSIONS = ("grid", "micro_grid")

# The place member that holds records with no known place (未定位): the warehouse resolves
# them to community_id = grid_id = 'unknown' (warehouse/models/int_place.sql). Rankings
# show it apart and last, the map notes it beside the polygons it cannot draw.
UNKNOWN_PLACE = "unknown"
PLACE_DIMENSIONS = ("community", "grid")

# Where the Chinese name of a dimension value lives: (table, key column, name column).
LABEL_TABLES: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "community": ("dim_community", "community_id", "name"),
        "grid": ("dim_grid", "unit_id", "name"),
        "micro_grid": ("dim_grid", "unit_id", "name"),
        "department": ("dim_department", "department_id", "name_zh"),
        "channel": ("dim_channel", "channel", "name_zh"),
        "category": ("dim_category", "category", "name_zh"),
        "service_item": ("dim_service_item", "service_item_id", "name"),
        "domain": ("dim_domain", "domain", "name_zh"),
        "device_kind": ("seed_device_kind", "code", "name_zh"),
        "grid_worker": ("dim_grid_worker", "worker_id", "name"),
    }
)
UNSPECIFIED_LABEL = "未指定"

# Dimensions a fact holds through a key column rather than a column of their own: the value is
# read from a dimension table, (table, key column, value column). A fact lists such a dimension
# with its key column (`fct_ticket: {category_group_1: category}`): no mart needs a copy of it.
LOOKUP_DIMENSIONS: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        # the first and second level of a hierarchical category taxonomy (a flat category is its own group)
        "category_group_1": ("dim_category", "category", "group_1"),
        "category_group_2": ("dim_category", "category", "group_2"),
        # the grid worker who runs the record's comprehensive or dedicated grid (考核 of grid workers)
        "grid_worker": ("dim_grid", "unit_id", "worker_id"),
    }
)

# Dimensions a row holds many values of, through a bridge table: (bridge table, key column, value column).
# A fact lists one with its key column (`fct_ticket: {term: ticket_id}`); a row passes a filter on it when
# the bridge holds the value for the row's key. They narrow (a hot topic's tickets), never group: a ticket
# with three terms would count three times.
BRIDGE_DIMENSIONS: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "term": ("fct_ticket_term", "ticket_id", "term"),  # warehouse/terms.py
        "focus_group": ("fct_ticket_group", "ticket_id", "focus_group"),  # warehouse/groups.py
    }
)

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PLACEHOLDERS = ("period_start", "period_end")

_KPI_KEYS = {
    "id",
    "name_zh",
    "name_en",
    "module",
    "unit",
    "fact",
    "period_column",
    "value",
    "where",
    "denominator",
    "good",
    "target",
    "thresholds",
    "dimensions",
    "columns",
    "definition",
    "definition_en",
    "sources",
    "reference_sources",
    "rollup",
}
_REQUIRED_KEYS = _KPI_KEYS - {"where", "denominator", "target", "thresholds", "columns", "reference_sources", "rollup"}
_DENOMINATOR_KEYS = {"fact", "value", "where", "columns"}
_ROLLUP_KEYS = {"fact", "period_column", "value", "where"}


# ---------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Colour bounds: for `good: up` green ≥ green, amber ≥ amber; for `down` green ≤ green, amber ≤ amber.

    With `prorate` (a unit of PRORATE_UNITS) the bounds are what one such unit should reach, and a
    period is held to its share of them: visit coverage of one full round each half year is
    held to about 17 % in a month, not to 100 %.
    """

    green: float
    amber: float
    prorate: str | None = None

    def for_period(self, period: Period, is_ratio: bool) -> Thresholds:
        """The bounds a value over `period` is held to (these bounds when they do not accrue)."""
        if self.prorate is None:
            return self
        share = period.days * PRORATE_UNITS[self.prorate] / DAYS_PER_YEAR
        if is_ratio and self.green * share > 1:
            # A share of households cannot pass 100 %: over a long period both bounds are scaled
            # down together, so green asks for everything and amber keeps its distance.
            share = 1 / self.green
        return Thresholds(self.green * share, self.amber * share)


@dataclass(frozen=True)
class Denominator:
    """A second aggregate the KPI's value is divided by, over another mart with the same scope and grouping."""

    fact: str
    value: str
    where: str | None
    columns: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True)
class Rollup:
    """The same KPI read from a daily rollup of its fact (warehouse/MARTS.md "Rollups"): its value, filter and
    period column over the rollup, whose `columns` serve the dimensions the rollup keeps."""

    fact: str
    period_column: str | None
    value: str
    where: str | None
    columns: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True)
class Metric:
    """One KPI of the catalog. `columns` maps each dimension it supports to a column of `fact`.

    For a lookup dimension (LOOKUP_DIMENSIONS) the column is the key its value is read through.
    """

    id: str
    name_zh: str
    name_en: str
    module: str
    unit: str
    fact: str
    period_column: str | None
    value: str
    where: str | None
    good: str
    target: float | None
    thresholds: Thresholds | None
    dimensions: tuple[str, ...]
    definition: str
    definition_en: str
    sources: tuple[str, ...]
    # Sources that only describe (base data such as households per micro grid): the KPI's period is
    # not cut at their last delivery, since a snapshot of them stays true until the next one.
    reference_sources: tuple[str, ...] = ()
    # Mappings cannot be hashed: equality still compares them, the hash leaves them out.
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    denominator: Denominator | None = field(default=None, hash=False)
    rollup: Rollup | None = field(default=None, hash=False)

    @property
    def is_ratio(self) -> bool:
        """A fraction 0–1 shown as a percentage; its changes are differences in points."""
        return self.unit == "%"

    @property
    def is_stock(self) -> bool:
        """Evaluated as at the end of the period rather than summed over it."""
        return self.period_column is None

    @property
    def change_kind(self) -> str:
        return "points" if self.is_ratio else "relative"

    def complete_through(self, source_days: Mapping[str, date]) -> date | None:
        """The last day this KPI's data is complete through: the earliest last delivery of its sources.

        `source_days` maps each source to the last landing day the release loaded from it. Reference
        sources do not count, nor do sources that never delivered (they hold no rows to be partial);
        None when none of the KPI's sources is known (a release without a ledger).
        """
        days = [
            source_days[source]
            for source in self.sources
            if source in source_days and source not in self.reference_sources
        ]
        return min(days) if days else None

    def supports(self, dimension: str) -> bool:
        """Whether the KPI can be filtered by `dimension`: one it groups by, or a bridge its facts both hold."""
        if dimension in BRIDGE_DIMENSIONS:
            return dimension in self.columns and (self.denominator is None or dimension in self.denominator.columns)
        return dimension in self.dimensions

    def column_for(self, dimension: str) -> str:
        """The SQL over `fact` that holds `dimension` (the period column, truncated, for day/week/month).

        A plain column, or for a lookup dimension the value read through its key column.
        """
        if dimension not in self.dimensions:
            raise ValueError(
                f"KPI {self.id!r} cannot be grouped by {dimension!r}; it supports {', '.join(self.dimensions)}"
            )
        if dimension in TIME_DIMENSIONS:
            return self.period_column  # type: ignore[return-value]  # validated: time dims need one
        return dimension_sql(self.fact, self.columns, dimension)


def dimension_sql(fact: str, columns: Mapping[str, str], dimension: str) -> str:
    """The SQL expression for `dimension` on a row of `fact`, whose `columns` map dimensions to its columns.

    A lookup dimension is a scalar subquery on the dimension table, which DuckDB turns
    into a join; any_value() keeps it one value even if the table repeated a key.
    """
    column = columns[dimension]
    lookup = LOOKUP_DIMENSIONS.get(dimension)
    if lookup is None:
        return column
    table, key, value = lookup
    return f"(SELECT any_value(l.{value}) FROM {table} AS l WHERE l.{key} = {fact}.{column})"


# ---------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------


def _fail(kpi_id: str, message: str) -> None:
    raise ValueError(f"catalog KPI {kpi_id!r}: {message}")


def _check_placeholders(kpi_id: str, what: str, sql: str | None) -> None:
    if sql is None:
        return
    if not isinstance(sql, str) or not sql.strip():
        _fail(kpi_id, f"{what} must be a non-empty SQL string")
    if ";" in sql:
        _fail(kpi_id, f"{what} must be a single expression (no ';')")
    for name in _PLACEHOLDER.findall(sql):
        if name not in PLACEHOLDERS:
            _fail(kpi_id, f"{what} uses unknown placeholder {{{name}}}; allowed: {{period_start}}, {{period_end}}")


def _column_map(kpi_id: str, facts: Mapping[str, Mapping[str, str]], fact: Any, overrides: Any) -> dict[str, str]:
    if not isinstance(fact, str) or fact not in facts:
        _fail(kpi_id, f"unknown fact {fact!r}; known: {', '.join(sorted(facts))}")
    if overrides is not None and not isinstance(overrides, Mapping):
        _fail(kpi_id, "columns must be a mapping dimension → column")
    columns = {**facts[fact], **(overrides or {})}
    for dimension, column in columns.items():
        if dimension not in DIMENSIONS or dimension in TIME_DIMENSIONS:
            _fail(kpi_id, f"unknown dimension {dimension!r} in the columns of {fact}")
        if not isinstance(column, str) or not _IDENTIFIER.match(column):
            _fail(kpi_id, f"column {column!r} for dimension {dimension!r} is not a plain column name")
    if SCOPE_DIMENSION not in columns:
        _fail(kpi_id, f"fact {fact} has no {SCOPE_DIMENSION} column, so it cannot be scoped")
    return columns


def _number(kpi_id: str, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        _fail(kpi_id, f"{what} must be a number, got {value!r}")
    return float(value)


def _metric_from_entry(entry: Any, facts: Mapping[str, Mapping[str, str]]) -> Metric:
    if not isinstance(entry, Mapping):
        raise ValueError(f"catalog entry must be a mapping, got {entry!r}")
    kpi_id = str(entry.get("id"))
    if not _IDENTIFIER.match(kpi_id):
        _fail(kpi_id, "id must be snake_case")
    unknown = set(entry) - _KPI_KEYS
    if unknown:
        _fail(kpi_id, f"unknown field(s) {', '.join(sorted(unknown))}")
    missing = {key for key in _REQUIRED_KEYS if key not in entry}
    if missing:
        _fail(kpi_id, f"missing field(s) {', '.join(sorted(missing))}")

    for key in ("name_zh", "name_en", "definition", "definition_en", "value"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            _fail(kpi_id, f"{key} must be a non-empty string")
    if entry["module"] not in MODULES:
        _fail(kpi_id, f"unknown module {entry['module']!r}; known: {', '.join(MODULES)}")
    if entry["unit"] not in UNITS:
        _fail(kpi_id, f"unknown unit {entry['unit']!r}; known: {' '.join(UNITS)}")
    if entry["good"] not in GOOD_DIRECTIONS:
        _fail(kpi_id, f"good must be one of {', '.join(GOOD_DIRECTIONS)}, got {entry['good']!r}")

    columns = _column_map(kpi_id, facts, entry["fact"], entry.get("columns"))
    period_column = entry["period_column"]
    if period_column is not None and (not isinstance(period_column, str) or not _IDENTIFIER.match(period_column)):
        _fail(kpi_id, f"period_column {period_column!r} is not a plain column name")
    _check_placeholders(kpi_id, "value", entry["value"])
    _check_placeholders(kpi_id, "where", entry.get("where"))

    dimensions = entry["dimensions"]
    if not isinstance(dimensions, list) or not dimensions:
        _fail(kpi_id, "dimensions must be a non-empty list")
    for dimension in dimensions:
        if dimension not in DIMENSIONS:
            _fail(kpi_id, f"unknown dimension {dimension!r}; known: {', '.join(DIMENSIONS)}")
        if dimension in BRIDGE_DIMENSIONS:
            _fail(kpi_id, f"dimension {dimension!r} only filters (a row holds many); it cannot group")
        if dimension in TIME_DIMENSIONS and period_column is None:
            _fail(kpi_id, f"dimension {dimension!r} needs a period_column (a stock KPI has no time axis)")
        if dimension not in TIME_DIMENSIONS and dimension not in columns:
            _fail(kpi_id, f"dimension {dimension!r} is not supported by fact {entry['fact']}")
    if len(set(dimensions)) != len(dimensions):
        _fail(kpi_id, "dimensions are listed twice")
    prorated = isinstance(entry.get("thresholds"), Mapping) and entry["thresholds"].get("prorate") is not None
    if prorated and set(dimensions) & set(TIME_DIMENSIONS):
        # a day's bucket would be held to the whole period's share of the target
        _fail(kpi_id, "a KPI with thresholds.prorate cannot have a time dimension (day, week, month)")

    denominator = None
    if entry.get("denominator") is not None:
        spec = entry["denominator"]
        if not isinstance(spec, Mapping) or set(spec) - _DENOMINATOR_KEYS or "fact" not in spec or "value" not in spec:
            _fail(kpi_id, f"denominator must be a mapping with fact, value and optional where, columns; got {spec!r}")
        den_columns = _column_map(kpi_id, facts, spec["fact"], spec.get("columns"))
        _check_placeholders(kpi_id, "denominator value", spec["value"])
        _check_placeholders(kpi_id, "denominator where", spec.get("where"))
        for dimension in dimensions:
            if dimension in TIME_DIMENSIONS or dimension not in den_columns:
                _fail(kpi_id, f"dimension {dimension!r} is not supported by the denominator fact {spec['fact']}")
        denominator = Denominator(
            fact=spec["fact"],
            value=spec["value"],
            where=spec.get("where"),
            columns=MappingProxyType(den_columns),
        )

    rollup = None
    if entry.get("rollup") is not None:
        rollup = _rollup(kpi_id, facts, entry["rollup"], period_column)

    thresholds = None
    if entry.get("thresholds") is not None:
        spec = entry["thresholds"]
        if not isinstance(spec, Mapping) or not {"green", "amber"} <= set(spec) <= {"green", "amber", "prorate"}:
            _fail(kpi_id, f"thresholds must be {{green: …, amber: …}} with an optional prorate, got {spec!r}")
        prorate = spec.get("prorate")
        if prorate is not None and prorate not in PRORATE_UNITS:
            _fail(kpi_id, f"thresholds.prorate must be one of {', '.join(PRORATE_UNITS)}, got {prorate!r}")
        if prorate is not None and period_column is None:
            _fail(kpi_id, "thresholds.prorate needs a period_column (a stock KPI does not accrue over a period)")
        thresholds = Thresholds(
            _number(kpi_id, "thresholds.green", spec["green"]),
            _number(kpi_id, "thresholds.amber", spec["amber"]),
            prorate,
        )
        if entry["good"] == "neutral":
            _fail(kpi_id, "a neutral KPI cannot have thresholds")
        if entry["good"] == "up" and thresholds.green < thresholds.amber:
            _fail(kpi_id, "for good: up the green bound must be ≥ the amber bound")
        if entry["good"] == "down" and thresholds.green > thresholds.amber:
            _fail(kpi_id, "for good: down the green bound must be ≤ the amber bound")
        if entry["unit"] == "%" and not (0 <= thresholds.green <= 1 and 0 <= thresholds.amber <= 1):
            _fail(kpi_id, "thresholds of a '%' KPI are fractions 0–1")
    target = None if entry.get("target") is None else _number(kpi_id, "target", entry["target"])

    sources = entry["sources"]
    if not isinstance(sources, list) or not sources:
        _fail(kpi_id, "sources must be a non-empty list")
    for source in sources:
        if source not in SOURCES:
            _fail(kpi_id, f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    reference_sources = entry.get("reference_sources") or []
    if not isinstance(reference_sources, list) or not set(reference_sources) < set(sources):
        _fail(kpi_id, f"reference_sources must list some (not all) of its sources {sources}, got {reference_sources!r}")

    return Metric(
        id=kpi_id,
        name_zh=entry["name_zh"].strip(),
        name_en=entry["name_en"].strip(),
        module=entry["module"],
        unit=entry["unit"],
        fact=entry["fact"],
        period_column=period_column,
        value=entry["value"].strip(),
        where=entry["where"].strip() if entry.get("where") else None,
        good=entry["good"],
        target=target,
        thresholds=thresholds,
        dimensions=tuple(dimensions),
        definition=entry["definition"].strip(),
        definition_en=entry["definition_en"].strip(),
        sources=tuple(sources),
        reference_sources=tuple(reference_sources),
        columns=MappingProxyType(columns),
        denominator=denominator,
        rollup=rollup,
    )


def _rollup(kpi_id: str, facts: Mapping[str, Mapping[str, str]], spec: Any, period_column: str | None) -> Rollup:
    """A KPI's `rollup:` read and checked: a period column exactly when the KPI has one."""
    if not isinstance(spec, Mapping) or set(spec) - _ROLLUP_KEYS or not {"fact", "value"} <= set(spec):
        _fail(kpi_id, f"rollup must be a mapping with fact, value and optional period_column, where; got {spec!r}")
    columns = _column_map(kpi_id, facts, spec["fact"], None)
    rolled_period = spec.get("period_column")
    if (rolled_period is None) != (period_column is None):
        _fail(kpi_id, "rollup.period_column must be given exactly when the KPI has a period_column")
    if rolled_period is not None and (not isinstance(rolled_period, str) or not _IDENTIFIER.match(rolled_period)):
        _fail(kpi_id, f"rollup.period_column {rolled_period!r} is not a plain column name")
    _check_placeholders(kpi_id, "rollup value", spec["value"])
    _check_placeholders(kpi_id, "rollup where", spec.get("where"))
    if not isinstance(spec["value"], str) or not spec["value"].strip():
        _fail(kpi_id, "rollup value must be a non-empty string")
    return Rollup(
        fact=spec["fact"],
        period_column=rolled_period,
        value=spec["value"].strip(),
        where=spec["where"].strip() if spec.get("where") else None,
        columns=MappingProxyType(columns),
    )


def answered_by(
    metric: Metric,
    *,
    group_by: str | None = None,
    scope: RowScope | Sequence[str] | None = None,
    filters: Sequence[str] = (),
    rollup: bool = True,
) -> Metric:
    """The metric a query is computed over: the KPI itself, or the KPI read from its rollup when it declares one
    and the query needs no dimension the rollup lacks (its grouping, its filters, the reader's scope; a grid
    scope needs every grid column of the fact). Chosen here, for every caller alike; `rollup=False` reads the
    fact (the tests compare the two)."""
    if metric.rollup is None or not rollup:
        return metric
    scope = RowScope.of(scope)
    needed = set(filters)
    if group_by is not None and group_by not in TIME_DIMENSIONS:
        needed.add(group_by)
    if scope is not None:
        needed.add(SCOPE_DIMENSION)
        if scope.grids is not None:
            needed |= {each for each in GRID_SCOPE_DIMENSIONS if each in metric.columns}
    if not needed <= set(metric.rollup.columns):
        return metric
    return dataclasses.replace(
        metric,
        fact=metric.rollup.fact,
        period_column=metric.rollup.period_column,
        value=metric.rollup.value,
        where=metric.rollup.where,
        columns=metric.rollup.columns,
        rollup=None,
    )


def _read_catalog(path: Path) -> dict[str, Metric]:
    document = load_yaml(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, Mapping) or not isinstance(document.get("kpis"), list):
        raise ValueError(f"{path}: expected a mapping with a 'kpis' list")
    facts = document.get("facts")
    if not isinstance(facts, Mapping) or not all(
        isinstance(name, str) and _IDENTIFIER.match(name) and isinstance(cols, Mapping) for name, cols in facts.items()
    ):
        raise ValueError(f"{path}: 'facts' must map mart names to {{dimension: column}}")
    metrics: dict[str, Metric] = {}
    for entry in document["kpis"]:
        metric = _metric_from_entry(entry, facts)
        if metric.id in metrics:
            _fail(metric.id, "id is defined twice")
        metrics[metric.id] = metric
    return metrics


def load_catalog(path: Path | None = None) -> dict[str, Metric]:
    """All KPIs of the catalog by id, validated; a bad entry raises ValueError naming its KPI."""
    return dict(_read_catalog(path or CATALOG_PATH))


@functools.cache
def _default_catalog() -> dict[str, Metric]:
    return _read_catalog(CATALOG_PATH)


def default_catalog() -> Mapping[str, Metric]:
    """The packaged catalog, loaded once per process."""
    return MappingProxyType(_default_catalog())


@functools.cache
def _vocabularies() -> Mapping[str, Mapping[str, tuple[str, str]]]:
    """schema.yaml's code lists with no table of their own: list → code → (中文, English)."""
    lists = load_schema()["display"].get("vocabularies") or {}
    return MappingProxyType(
        {
            name: MappingProxyType({str(code): tuple(pair) for code, pair in codes.items()})
            for name, codes in lists.items()
        }
    )


def value_labels(dimension: str, lang: str = "zh") -> Mapping[str, str]:
    """Names for the codes of a code list without a name table (may be empty): schema.yaml display.vocabularies."""
    index = 1 if lang == "en" else 0
    return MappingProxyType({code: pair[index] for code, pair in _vocabularies().get(dimension, {}).items()})


def get_metric(metric_id: str, catalog: Mapping[str, Metric] | None = None) -> Metric:
    """One KPI by id; an unknown id raises ValueError (ids often arrive from URLs)."""
    metrics = default_catalog() if catalog is None else catalog
    try:
        return metrics[metric_id]
    except (KeyError, TypeError):
        raise ValueError(f"unknown KPI {metric_id!r}") from None


# ---------------------------------------------------------------------------------------
# Status colours and tooltips
# ---------------------------------------------------------------------------------------


def status_for(metric: Metric, value: float | None, period: Period | None = None) -> str:
    """'green' | 'amber' | 'red' from the thresholds and the good direction; 'none' without either or a value.

    `period` is the window the value covers: a KPI whose thresholds accrue (`prorate`) is held to
    their share for that window, and cannot be rated without one.
    """
    if value is None or metric.thresholds is None or metric.good == "neutral":
        return "none"
    if metric.thresholds.prorate is not None and period is None:
        return "none"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "none"
    if math.isnan(number):
        return "none"
    bounds = metric.thresholds if period is None else metric.thresholds.for_period(period, metric.is_ratio)
    if metric.good == "up":
        return "green" if number >= bounds.green else "amber" if number >= bounds.amber else "red"
    return "green" if number <= bounds.green else "amber" if number <= bounds.amber else "red"


def _formula_text(metric: Metric) -> str:
    conditions = []
    if metric.period_column:
        conditions.append(f"{metric.period_column} >= {{period_start}} AND {metric.period_column} < {{period_end}}")
    if metric.where:
        conditions.append(f"({' '.join(metric.where.split())})")
    text = f"SELECT {metric.value} FROM {metric.fact}"
    if conditions:
        text += " WHERE " + " AND ".join(conditions)
    if metric.denominator:
        den = metric.denominator
        text = f"({text}) / (SELECT {den.value} FROM {den.fact}" + (f" WHERE {den.where})" if den.where else ")")
    return text


def _thresholds_dict(thresholds: Thresholds) -> dict[str, Any]:
    bounds: dict[str, Any] = {"green": thresholds.green, "amber": thresholds.amber}
    if thresholds.prorate is not None:
        bounds["prorate"] = thresholds.prorate
    return bounds


def explain(metric_id: str, catalog: Mapping[str, Metric] | None = None) -> dict[str, Any]:
    """What a tooltip needs to explain a number: 统计口径, sources, formula, thresholds."""
    metric = get_metric(metric_id, catalog)
    return {
        "id": metric.id,
        "name_zh": metric.name_zh,
        "name_en": metric.name_en,
        "module": metric.module,
        "unit": metric.unit,
        "definition": metric.definition,
        "definition_en": metric.definition_en,
        "sources": list(metric.sources),
        "formula": _formula_text(metric),
        "fact": metric.fact,
        "period_column": metric.period_column,
        "is_stock": metric.is_stock,
        "good": metric.good,
        "target": metric.target,
        "thresholds": None if metric.thresholds is None else _thresholds_dict(metric.thresholds),
        "dimensions": list(metric.dimensions),
        "change_kind": metric.change_kind,
    }


# ---------------------------------------------------------------------------------------
# Query composition
# ---------------------------------------------------------------------------------------

# Slices of one query: the period itself, its 环比 base and its 同比 base.
_SLICES = ("value", "previous", "year_ago")


def _periods(period: Period, compare: bool) -> list[Period]:
    return [period, period.previous(), period.year_ago()] if compare else [period]


def _bind(sql: str, slice_index: int) -> str:
    """Replace catalog placeholders with the slice's named parameters."""
    return sql.replace("{period_start}", f"$s{slice_index}_start").replace("{period_end}", f"$s{slice_index}_end")


def _group_key_sql(metric: Metric, group_by: str | None, slice_index: int) -> str:
    if group_by is None:
        return "CAST(NULL AS VARCHAR)"
    column = metric.column_for(group_by)
    if group_by not in TIME_DIMENSIONS:
        return column
    # Comparison slices are moved onto the current period's calendar, so each
    # bucket lines up with its own base: 同比 by exactly one year, 环比 by the
    # distance between the two period starts.
    shift = {0: "", 1: " + to_days(CAST($previous_shift_days AS INTEGER))", 2: " + INTERVAL 1 YEAR"}[slice_index]
    return f"CAST(date_trunc('{group_by}', {column}{shift}) AS DATE)"


def _aggregate_sql(
    fact: str,
    value: str,
    conditions: list[str],
    key_sql: str,
    grouped: bool,
) -> str:
    where = " AND ".join(f"({condition})" for condition in conditions) or "true"
    return f"SELECT {key_sql} AS group_key, CAST({value} AS DOUBLE) AS value\n    FROM {fact}\n    WHERE {where}" + (
        "\n    GROUP BY ALL" if grouped else ""
    )


@dataclass(frozen=True)
class RowScope:
    """The rows a reader may see: those of `communities`, and when `grids` is set, only those of these grids.

    A grid scope (a grid worker) keeps the rows whose grid or micro grid is one of `grids`; a fact with
    no grid column has no row inside a grid scope. The whole street is no RowScope at all (None).
    """

    communities: tuple[str, ...]
    grids: tuple[str, ...] | None = None

    @classmethod
    def of(cls, scope: RowScope | Sequence[str] | None) -> RowScope | None:
        """`compute()`'s scope argument read: None (the whole street), a RowScope, or community ids."""
        if scope is None or isinstance(scope, RowScope):
            return scope
        if isinstance(scope, str | bytes):
            raise TypeError("scope must be a sequence of community ids, not a single string")
        ids = tuple(scope)
        if not all(isinstance(each, str) for each in ids):
            raise TypeError("scope must contain community ids (str)")
        return cls(ids)

    def conditions(self, columns: Mapping[str, str]) -> list[str]:
        """SQL conditions on a row of a fact with these dimension columns, bound as $scope and $scope_grids."""
        # list_contains is a plain filter on each row; `IN (SELECT unnest(…))` made DuckDB plan a join
        # per condition, which cost a scoped reader about a fifth more time (benchmarks/callbacks.py).
        conditions = [f"list_contains(CAST($scope AS VARCHAR[]), {columns[SCOPE_DIMENSION]})"]
        if self.grids is not None:
            grid_columns = [columns[each] for each in GRID_SCOPE_DIMENSIONS if each in columns]
            in_grids = [f"list_contains(CAST($scope_grids AS VARCHAR[]), {column})" for column in grid_columns]
            # A fact with no grid column has no row in a grid scope; the condition still names $scope_grids,
            # because params() binds it and DuckDB refuses a parameter the statement does not use.
            conditions.append(" OR ".join(in_grids) or "(false AND $scope_grids IS NULL)")
        return conditions

    def params(self) -> dict[str, list[str]]:
        params = {"scope": list(self.communities)}
        if self.grids is not None:
            params["scope_grids"] = list(self.grids)
        return params


def _scope_conditions(columns: Mapping[str, str], scope: RowScope | None) -> list[str]:
    return scope.conditions(columns) if scope is not None else []


def filter_conditions(fact: str, columns: Mapping[str, str], filters: Sequence[str]) -> list[str]:
    """SQL conditions on rows of `fact` for filters on these dimensions, each bound as $filter_<dimension>."""
    conditions = []
    for dimension in filters:
        if dimension in BRIDGE_DIMENSIONS:
            table, key, value = BRIDGE_DIMENSIONS[dimension]
            bridged = f"SELECT b.{key} FROM {table} AS b WHERE b.{value} = $filter_{dimension}"
            conditions.append(f"{fact}.{columns[dimension]} IN ({bridged})")
        else:  # values arrive from URLs as text; a numeric code column (visit round, batch) compares as text
            conditions.append(f"CAST({dimension_sql(fact, columns, dimension)} AS VARCHAR) = $filter_{dimension}")
    return conditions


def _slice_sql(
    metric: Metric, slice_index: int, group_by: str | None, scope: RowScope | None, filters: Sequence[str] = ()
) -> str:
    """One period's aggregate: (group_key, value) rows, one per group (one row when ungrouped)."""
    grouped = group_by is not None
    conditions: list[str] = []
    if metric.period_column:
        conditions.append(
            f"{metric.period_column} >= $s{slice_index}_start AND {metric.period_column} < $s{slice_index}_end"
        )
    if metric.where:
        conditions.append(_bind(metric.where, slice_index))
    conditions += _scope_conditions(metric.columns, scope)
    conditions += filter_conditions(metric.fact, metric.columns, filters)
    numerator = _aggregate_sql(
        metric.fact,
        _bind(metric.value, slice_index),
        conditions,
        _group_key_sql(metric, group_by, slice_index),
        grouped,
    )
    if metric.denominator is None:
        return numerator
    den = metric.denominator
    den_conditions = [_bind(den.where, slice_index)] if den.where else []
    den_conditions += _scope_conditions(den.columns, scope)
    den_conditions += filter_conditions(den.fact, den.columns, filters)
    den_key = "CAST(NULL AS VARCHAR)" if group_by is None else dimension_sql(den.fact, den.columns, group_by)
    denominator = _aggregate_sql(den.fact, _bind(den.value, slice_index), den_conditions, den_key, grouped)
    # A group with a denominator but no numerator rows is 0 ÷ n, not unknown.
    return (
        "SELECT coalesce(n.group_key, d.group_key) AS group_key,\n"
        f"    coalesce(n.value, {_empty_value_sql(metric, slice_index)}) / nullif(d.value, 0) AS value\n"
        f"  FROM ({numerator}) AS n\n"
        f"  FULL JOIN ({denominator}) AS d ON n.group_key IS NOT DISTINCT FROM d.group_key"
    )


def _empty_value_sql(metric: Metric, slice_index: int) -> str:
    """What the KPI's aggregate gives over no rows (0 for a count, NULL for an average)."""
    return f"(SELECT CAST({_bind(metric.value, slice_index)} AS DOUBLE) FROM {metric.fact} WHERE false)"


def _bucket_sql(group_by: str) -> str:
    return (
        f"SELECT CAST(unnest(generate_series(date_trunc('{group_by}', $s0_start), "
        f"$s0_end - INTERVAL 1 DAY, INTERVAL 1 {group_by.upper()})) AS DATE) AS group_key"
    )


def applicable_filters(metric: Metric, filters: Mapping[str, str] | None) -> dict[str, str]:
    """The filters (dimension → value) this KPI can honour; the others do not narrow it.

    A filter on a dimension the KPI has no column for (a channel on an alarm count)
    cannot narrow it; callers show such KPIs as "not filtered by …" rather than
    pretending. Unknown dimensions and non-string values raise (they come from URLs).
    """
    applied: dict[str, str] = {}
    for dimension, value in (filters or {}).items():
        if dimension not in DIMENSIONS or dimension in TIME_DIMENSIONS:
            raise ValueError(f"unknown filter dimension {dimension!r}")
        if not isinstance(value, str):
            raise TypeError(f"filter {dimension!r} must be a string value, got {value!r}")
        if metric.supports(dimension):
            applied[dimension] = value
    return applied


def compute_sql(
    metric: Metric,
    period: Period,
    *,
    scope: RowScope | Sequence[str] | None = None,
    group_by: str | None = None,
    compare: bool = True,
    filters: Mapping[str, str] | None = None,
    rollup: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The single SQL statement and its parameters behind `compute()` (also used by the benchmarks); over the
    KPI's rollup where `answered_by` chooses it (`rollup=False`: always over its fact)."""
    if not isinstance(period, Period):
        raise TypeError(f"period must be a Period, got {period!r}")
    if group_by is not None:
        metric.column_for(group_by)  # raises ValueError for a dimension the KPI does not support
    applied = applicable_filters(metric, filters)
    scope = RowScope.of(scope)
    metric = answered_by(metric, group_by=group_by, scope=scope, filters=tuple(applied), rollup=rollup)
    periods = _periods(period, compare)
    slices = [_slice_sql(metric, index, group_by, scope, tuple(applied)) for index in range(len(periods))]
    union = "\n  UNION ALL\n".join(
        f"  SELECT {index} AS slice, group_key, value FROM (\n    {sql}\n  )" for index, sql in enumerate(slices)
    )
    columns = _SLICES[: len(periods)]
    pivot = ",\n    ".join(f"max(value) FILTER (WHERE slice = {index}) AS {name}" for index, name in enumerate(columns))

    if group_by is None:
        result = f"SELECT {', '.join(columns)} FROM pivoted"
    else:
        keys = _bucket_sql(group_by) if group_by in TIME_DIMENSIONS else "SELECT group_key FROM pivoted"
        # A group missing from one slice had no rows there: its value is the aggregate over no rows.
        if metric.denominator is None:
            filled = [
                f"coalesce(p.{name}, {_empty_value_sql(metric, index)}) AS {name}" for index, name in enumerate(columns)
            ]
        else:
            filled = [f"p.{name}" for name in columns]
        label_table = LABEL_TABLES.get(group_by)
        if label_table is not None:
            table, key_column, name_column = label_table
            label_sql = f"(SELECT any_value(l.{name_column}) FROM {table} AS l WHERE l.{key_column} = k.group_key)"
        else:
            label_sql = "CAST(NULL AS VARCHAR)"
        result = (
            f'SELECT k.group_key AS "{group_by}", {label_sql} AS label, {", ".join(filled)}\n'
            f"  FROM ({keys}) AS k\n"
            f"  LEFT JOIN pivoted AS p ON k.group_key IS NOT DISTINCT FROM p.group_key"
        )

    if compare:
        if metric.is_ratio:
            change = "{v} - {b}"
        else:
            change = "CASE WHEN {b} IS NULL OR {b} = 0 THEN NULL ELSE ({v} - {b}) / abs({b}) END"
        changes = (
            f", {change.format(v='value', b='previous')} AS change_mom"
            f", {change.format(v='value', b='year_ago')} AS change_yoy"
        )
    else:
        changes = ""
    order = ""
    if group_by in TIME_DIMENSIONS:
        order = f'\nORDER BY "{group_by}"'
    elif group_by is not None:
        order = f'\nORDER BY value DESC NULLS LAST, "{group_by}" NULLS LAST'
    sql = (
        f"WITH slices AS (\n{union}\n),\n"
        f"pivoted AS (\n  SELECT group_key,\n    {pivot}\n  FROM slices GROUP BY group_key\n),\n"
        f"result AS (\n  {result}\n)\n"
        f"SELECT *{changes} FROM result{order}"
    )

    params: dict[str, Any] = {}
    for index, each in enumerate(periods):
        params[f"s{index}_start"] = each.start_at
        params[f"s{index}_end"] = each.end_before
    if compare:
        params["previous_shift_days"] = (period.start - periods[1].start).days
    if scope is not None:
        params.update(scope.params())
    for dimension, value in applied.items():
        params[f"filter_{dimension}"] = value
    # DuckDB rejects parameters the statement does not use.
    used = {name for name in params if re.search(rf"\${name}\b", sql)}
    return sql, {name: value for name, value in params.items() if name in used}


def _label(key: Any, dim_name: Any, names: Mapping[str, str]) -> str:
    """The dim table's name, else the catalog's name for the code, else the code itself."""
    if isinstance(dim_name, str):
        return dim_name
    if isinstance(key, str):
        return names.get(key, key)
    if key is None or (isinstance(key, float) and math.isnan(key)):
        return UNSPECIFIED_LABEL
    return names.get(str(key), str(key))


def _time_label(dimension: str, key: Any) -> str:
    if key is None or (isinstance(key, float) and math.isnan(key)) or key is pd.NaT:
        return UNSPECIFIED_LABEL
    day = key.date() if isinstance(key, datetime) else key
    if not isinstance(day, date):
        day = pd.Timestamp(day).date()
    if dimension == "day":
        return day.isoformat()
    if dimension == "week":
        iso_year, iso_week, _ = day.isocalendar()
        return f"{iso_year}-W{iso_week:02d}"
    return f"{day.year}-{day.month:02d}"


def data_from(con: duckdb.DuckDBPyConnection, metric: Metric) -> date | None:
    """The first day the KPI's fact holds a row, by its period column, over the whole release (not a reader's
    scope: a community with no ticket yet has data, zero). None for a stock or an empty fact."""
    if metric.period_column is None:
        return None
    return con.execute(f'SELECT CAST(min("{metric.period_column}") AS DATE) FROM {metric.fact}').fetchall()[0][0]


def _blank_before_data(frame: pd.DataFrame, window: Period, group_by: str | None, first: date) -> None:
    """Blank the 环比 and 同比 bases (and their changes) whose window starts before `first`, the first day with
    data: a base that lies before the data began reads as zero, and a change against it as a collapse or a
    boom that did not happen. A time bucket's bases are its own: the bucket moved back by the 环比 distance,
    and by a year."""
    previous, year_ago = window.previous(), window.year_ago()
    if group_by in TIME_DIMENSIONS:
        starts = [pd.Timestamp(key).date() if not pd.isna(key) else None for key in frame[group_by]]
        shift = window.start - previous.start
        previous_starts = [None if day is None else day - shift for day in starts]
        year_starts = [None if day is None else one_year_earlier(day) for day in starts]
    else:
        previous_starts = [previous.start] * len(frame)
        year_starts = [year_ago.start] * len(frame)
    for base, change, base_starts in (
        ("previous", "change_mom", previous_starts),
        ("year_ago", "change_yoy", year_starts),
    ):
        early = np.array([day is not None and day < first for day in base_starts], dtype=bool)
        if early.any():
            for column in (base, change):  # a column at a time: pandas' .loc over rows and columns is slower
                frame[column] = frame[column].mask(early)


def compute(
    con: duckdb.DuckDBPyConnection,
    metric_id: str,
    period: Period,
    *,
    scope: RowScope | Sequence[str] | None = None,
    group_by: str | None = None,
    compare: bool = True,
    filters: Mapping[str, str] | None = None,
    catalog: Mapping[str, Metric] | None = None,
    complete_through: date | None = None,
    first_day: date | None = None,
    cut: bool = True,
    rollup: bool = True,
) -> pd.DataFrame:
    """One KPI for a period: one row per group (or one row), with 环比/同比 and a status colour.

    Columns: `<group_by>` (when grouped), `label`, `value`, and when `compare`:
    `previous`, `year_ago`, `change_mom`, `change_yoy`, `change_kind`; always `status`.
    `scope` limits rows to those communities (None = the whole street, [] = nothing), or to a RowScope's;
    `filters` ({dimension: value}) narrows it further where the KPI supports the dimension.
    Changes are relative ((value − base) / |base|, NULL on a 0/NULL base), or for
    '%' KPIs differences of the fractions (change_kind 'points': 0.03 = 3 个百分点).

    `complete_through` is the last day the KPI's sources are complete through (`Metric.complete_through`;
    None: not known, the period is taken as it is). A period running past it is cut there, so its
    环比/同比 compare windows of the cut's length; the frame then gets `through` (that day, else None)
    and `status_reason` columns. With `cut=False`, or when no day of the period is complete, nothing
    is compared and the status is 'none' for the reason given ('partial', 'no_complete_data'): a
    partial window never reads as a collapse.

    `first_day` is the first day the KPI has data (`data_from`; None: not known). A 环比 or 同比 base whose
    window starts before it is blank, with its change: before the data began is not "nothing happened".
    """
    metric = get_metric(metric_id, catalog)
    window, through, reason = period, None, None
    if complete_through is not None and complete_through < period.end:
        through = complete_through
        complete = period.cut(complete_through)
        if complete is None:
            reason = "no_complete_data"
        elif cut:
            window = complete
        else:
            reason = "partial"
    sql, params = compute_sql(
        metric, window, scope=scope, group_by=group_by, compare=compare, filters=filters, rollup=rollup
    )
    frame = con.execute(sql, params).df()

    if group_by is None:
        frame.insert(0, "label", metric.name_zh)
    elif group_by in TIME_DIMENSIONS:
        frame["label"] = [_time_label(group_by, key) for key in frame[group_by]]
    else:
        names = value_labels(group_by)
        frame["label"] = [_label(key, label, names) for key, label in zip(frame[group_by], frame["label"], strict=True)]
    if compare:
        frame["change_kind"] = metric.change_kind
        if first_day is not None:
            _blank_before_data(frame, window, group_by, first_day)
    if reason is not None:
        # A partial window is shown as it is, but neither compared nor rated; with no complete day
        # at all there is no value to show either.
        blank = ["change_mom", "change_yoy"] if compare else []
        if reason == "no_complete_data":
            blank.append("value")
        if blank:
            frame[blank] = None
    frame["status"] = [status_for(metric, value, window) if reason is None else "none" for value in frame["value"]]
    if complete_through is not None:
        frame["through"] = through
        frame["status_reason"] = reason
    return frame
