"""The metric catalog: every number on a screen, in a briefing or a CSV is computed here."""

from cockpit.metrics.catalog import (
    CATALOG_PATH,
    DIMENSIONS,
    MODULES,
    SOURCES,
    STATUSES,
    TIME_DIMENSIONS,
    UNITS,
    Denominator,
    Metric,
    Thresholds,
    compute,
    compute_sql,
    default_catalog,
    explain,
    get_metric,
    load_catalog,
    status_for,
)
from cockpit.metrics.period import PRESETS, Period

__all__ = [
    "CATALOG_PATH",
    "DIMENSIONS",
    "MODULES",
    "PRESETS",
    "SOURCES",
    "STATUSES",
    "TIME_DIMENSIONS",
    "UNITS",
    "Denominator",
    "Metric",
    "Period",
    "Thresholds",
    "compute",
    "compute_sql",
    "default_catalog",
    "explain",
    "get_metric",
    "load_catalog",
    "status_for",
]
