"""What a screen shows, as it travels in the URL: period, filters, the KPI in focus, the map's KPI.

Every filter and drill lives in the query string (`?period=last_30_days&community=C01&kpi=on_time_rate`),
so a copied link reproduces the view and the browser's back button undoes a
drill. `View.from_query` reads what Dash Pages passes to a layout; anything it
cannot read falls back to the default rather than breaking the page, and the
reason is kept in `notes` for the screen to show.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from cockpit.metrics import PRESETS, Period, default_catalog

DEFAULT_PRESET = "last_30_days"
PERIOD_CHOICES = ("today", "this_week", "this_month", "last_30_days", "this_quarter", "this_year", "custom")
# URL keys that narrow the data, in the order chips show them.
FILTER_KEYS = (
    "community",
    "grid",
    "micro_grid",
    "grid_worker",
    "channel",
    "category",
    "category_group_1",
    "category_group_2",
    "department",
    "service_item",
    "domain",
    "subject",
    "device_kind",
    "alarm_kind",
    "partner_kind",
    "org_level",
    "round",
    "batch",
    "term",
    "focus_group",
    "satisfaction",
)
# Drilling into one of these narrows the period to that bucket instead of adding a filter.
TIME_BUCKETS = ("day", "week", "month")


class InvalidView(ValueError):
    """A view sent back by the browser (a page's dcc.Store) that this app did not write: a 400, not a 500."""


def _single(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class View:
    preset: str  # a PERIOD_CHOICES name; "custom" when `period` came from dates
    period: Period
    filters: Mapping[str, str] = field(default_factory=dict)
    kpi: str | None = None
    map_kpi: str | None = None
    notes: tuple[str, ...] = ()

    # ---- reading -------------------------------------------------------------------------

    @classmethod
    def from_query(cls, query: Mapping[str, Any], as_of: date) -> View:
        """The view a URL's query parameters describe, relative to `as_of` (the last day with data)."""
        notes: list[str] = []
        raw_period = _single(query.get("period")) or DEFAULT_PRESET
        preset = raw_period if raw_period in PRESETS and raw_period in PERIOD_CHOICES else "custom"
        try:
            period = Period.preset(preset, as_of) if preset != "custom" else Period.parse(raw_period, as_of)
        except ValueError as error:
            notes.append(str(error))
            preset, period = DEFAULT_PRESET, Period.preset(DEFAULT_PRESET, as_of)
        filters = {key: value for key in FILTER_KEYS if (value := _single(query.get(key)))}
        catalog = default_catalog()
        kpi = _single(query.get("kpi"))
        if kpi is not None and kpi not in catalog:
            notes.append(f"unknown KPI {kpi!r}")
            kpi = None
        map_kpi = _single(query.get("map"))
        if map_kpi is not None and map_kpi not in catalog:
            notes.append(f"unknown KPI {map_kpi!r}")
            map_kpi = None
        return cls(preset, period, filters, kpi, map_kpi, tuple(notes))

    @classmethod
    def from_dict(cls, data: Any) -> View:
        """The inverse of `to_dict` (what a page keeps in its dcc.Store).

        The store comes back from the browser, so it is read strictly: anything `to_dict` would not
        have written raises InvalidView with a one-line reason (the app answers it with a 400).
        """
        if not isinstance(data, Mapping):
            raise InvalidView(f"view: expected an object, got {type(data).__name__}")
        preset, start, end, filters = (data.get(key) for key in ("preset", "start", "end", "filters"))
        if preset not in PERIOD_CHOICES:
            raise InvalidView(f"view: unknown period preset {preset!r}")
        try:
            period = Period(date.fromisoformat(start), date.fromisoformat(end)).checked()
        except (TypeError, ValueError) as error:
            raise InvalidView(f"view: bad period {start!r}:{end!r} ({error})") from None
        if not isinstance(filters, Mapping) or not all(
            key in FILTER_KEYS and isinstance(value, str) for key, value in filters.items()
        ):
            raise InvalidView("view: filters must map known filter names to text")
        catalog = default_catalog()
        kpis = {key: data.get(key) for key in ("kpi", "map_kpi")}
        for key, value in kpis.items():
            if value is not None and (not isinstance(value, str) or value not in catalog):
                raise InvalidView(f"view: unknown KPI {value!r} in {key}")
        return cls(preset, period, dict(filters), kpis["kpi"], kpis["map_kpi"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "filters": dict(self.filters),
            "kpi": self.kpi,
            "map_kpi": self.map_kpi,
        }

    # ---- writing -------------------------------------------------------------------------

    def query_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.preset != DEFAULT_PRESET:
            params["period"] = self.preset if self.preset != "custom" else str(self.period)
        params.update({key: self.filters[key] for key in FILTER_KEYS if key in self.filters})
        if self.kpi:
            params["kpi"] = self.kpi
        if self.map_kpi:
            params["map"] = self.map_kpi
        return params

    def to_search(self) -> str:
        """The query string ('?…', or '' for the default view)."""
        params = self.query_params()
        return "?" + urlencode(params) if params else ""

    def with_period(self, preset: str, as_of: date, start: date | None = None, end: date | None = None) -> View:
        if preset == "custom":
            if start is None or end is None:
                return self
            return replace(self, preset="custom", period=Period(min(start, end), max(start, end)))
        return replace(self, preset=preset, period=Period.preset(preset, as_of))

    def with_filter(self, key: str, value: str | None) -> View:
        if key not in FILTER_KEYS:
            raise InvalidView(f"unknown filter {key!r}")
        if value is not None and not isinstance(value, str):
            raise InvalidView(f"filter {key}: expected text, got {type(value).__name__}")
        filters = dict(self.filters)
        if value:
            filters[key] = value
        else:
            filters.pop(key, None)
        # A grid belongs to a community: changing the community drops a grid chosen inside the old one.
        if key == "community":
            filters.pop("grid", None)
            filters.pop("micro_grid", None)
        if key == "grid":
            filters.pop("micro_grid", None)
        return replace(self, filters=filters)

    def drilled(self, dimension: str, key: str) -> View:
        """The view narrowed to one clicked group: a filter, or for a time bucket the bucket's days."""
        if dimension in TIME_BUCKETS:
            start = date.fromisoformat(key[:10])
            if dimension == "day":
                end = start
            elif dimension == "week":
                end = start + timedelta(days=6)
            else:
                end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
            start, end = max(start, self.period.start), min(end, self.period.end)
            if end < start:
                return self
            return replace(self, preset="custom", period=Period(start, end))
        return self.with_filter(dimension, key)

    def with_kpi(self, kpi: str | None) -> View:
        return replace(self, kpi=kpi)

    def with_map_kpi(self, kpi: str | None) -> View:
        return replace(self, map_kpi=kpi)
