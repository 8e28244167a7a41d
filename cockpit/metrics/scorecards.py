"""考核 scorecards: each assessed object's 综合指标值 per month, from the catalog's KPIs.

`scorecards.yaml` says, per scorecard, which KPIs score an object (a department, a community, a grid),
with their weights and the values that earn full and zero points, and which KPIs deduct points.
`standings()` turns one month of KPI values into a ranking with the rank change against the month
before; the /scorecards page and the monthly 考核通报 both read it, so they cannot disagree.

Every value comes through a `MetricSource` — the data layer's `Warehouse.metric` in the app (scoped to
the reader), `compute()` on a release file in the briefing command — grouped by the card's object.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import yaml

from cockpit.metrics.catalog import UNKNOWN_PLACE, Metric, default_catalog
from cockpit.metrics.period import Period
from warehouse.documents import load_yaml

SCORECARDS_PATH = files("cockpit.metrics") / "scorecards.yaml"
OBJECTS = ("department", "community", "grid", "grid_worker")
TOTAL_WEIGHT = 100.0
HIGHLIGHTED = 3  # the top and bottom ranks the page and the bulletin mark
MONTHS_SHOWN = 12  # the months a reader may pick on the page (and the brief action then prints)
# An object with values for fewer weights than this is not ranked: a grid with one follow-up in a month
# would otherwise share first place on a single KPI.
DEFAULT_MIN_WEIGHT = 50.0
_ID = re.compile(r"^[a-z][a-z0-9_]*$")

# (kpi, period, group_by) → the catalog's grouped frame: [<group_by>, label, value, …]
MetricSource = Callable[[str, Period, str], pd.DataFrame]


class ScorecardError(ValueError):
    """A scorecard file that cannot be used; the message is one line naming the card and the entry."""


@dataclass(frozen=True)
class Component:
    kpi: str
    weight: float
    full: float  # the value that earns the whole weight
    zero: float  # the value that earns nothing

    def points(self, value: float | None) -> float | None:
        """The points a value earns, on a straight line from zero to full; None without a value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        reached = (value - self.zero) / (self.full - self.zero)
        return self.weight * min(1.0, max(0.0, reached))


@dataclass(frozen=True)
class Deduction:
    kpi: str
    per: float  # points off for each unit of the KPI's value
    cap: float  # at most this many points off

    def points(self, value: float | None) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return 0.0
        return min(self.cap, max(0.0, value) * self.per)


@dataclass(frozen=True)
class Scorecard:
    id: str
    name_zh: str
    name_en: str
    object: str
    components: tuple[Component, ...]
    deductions: tuple[Deduction, ...]
    min_weight: float = DEFAULT_MIN_WEIGHT  # an object assessed on fewer weights is not ranked

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh

    @property
    def kpis(self) -> tuple[str, ...]:
        return tuple(c.kpi for c in self.components) + tuple(d.kpi for d in self.deductions)


# ---- the file ------------------------------------------------------------------------------------


def _number(where: str, entry: Mapping, key: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ScorecardError(f"{where}: '{key}' must be a number, not {value!r}")
    return float(value)


def _component(card: str, entry: Any, obj: str, catalog: Mapping[str, Metric]) -> Component:
    if not isinstance(entry, Mapping):
        raise ScorecardError(f"{card}: each component is a mapping {{kpi, weight, full, zero}}, not {entry!r}")
    kpi = entry.get("kpi")
    where = f"{card}: {kpi}"
    metric = _metric(card, kpi, obj, catalog)
    unknown = set(entry) - {"kpi", "weight", "full", "zero"}
    if unknown:
        raise ScorecardError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    weight, full, zero = (_number(where, entry, key) for key in ("weight", "full", "zero"))
    if weight <= 0:
        raise ScorecardError(f"{where}: weight must be above 0, not {weight:g}")
    if metric.good == "neutral":
        raise ScorecardError(f"{where}: a KPI that is neither better high nor better low cannot be scored")
    if metric.good == "up" and not full > zero:
        raise ScorecardError(f"{where}: higher is better, so full ({full:g}) must be above zero ({zero:g})")
    if metric.good == "down" and not full < zero:
        raise ScorecardError(f"{where}: lower is better, so full ({full:g}) must be below zero ({zero:g})")
    return Component(kpi, weight, full, zero)


def _deduction(card: str, entry: Any, obj: str, catalog: Mapping[str, Metric]) -> Deduction:
    if not isinstance(entry, Mapping):
        raise ScorecardError(f"{card}: each deduction is a mapping {{kpi, per, cap}}, not {entry!r}")
    kpi = entry.get("kpi")
    where = f"{card}: deduction {kpi}"
    _metric(card, kpi, obj, catalog)
    unknown = set(entry) - {"kpi", "per", "cap"}
    if unknown:
        raise ScorecardError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    per, cap = _number(where, entry, "per"), _number(where, entry, "cap")
    if per <= 0 or cap <= 0:
        raise ScorecardError(f"{where}: per and cap must be above 0")
    return Deduction(kpi, per, cap)


def _metric(card: str, kpi: Any, obj: str, catalog: Mapping[str, Metric]) -> Metric:
    if not isinstance(kpi, str) or kpi not in catalog:
        raise ScorecardError(f"{card}: unknown KPI {kpi!r} (see the metric catalog)")
    metric = catalog[kpi]
    if obj not in metric.dimensions:
        raise ScorecardError(f"{card}: {kpi} cannot be grouped by {obj}")
    return metric


def _card(entry: Any, catalog: Mapping[str, Metric]) -> Scorecard:
    if not isinstance(entry, Mapping):
        raise ScorecardError(f"each scorecard is a mapping, not {entry!r}")
    card = entry.get("id")
    if not isinstance(card, str) or not _ID.match(card):
        raise ScorecardError(f"scorecard id {card!r} must be snake_case")
    for key in ("name_zh", "name_en"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ScorecardError(f"{card}: '{key}' is missing")
    obj = entry.get("object")
    if obj not in OBJECTS:
        raise ScorecardError(f"{card}: object {obj!r} is not one of {', '.join(OBJECTS)}")
    raw_components = entry.get("components")
    if not isinstance(raw_components, list) or not raw_components:
        raise ScorecardError(f"{card}: 'components' must be a non-empty list")
    components = tuple(_component(card, c, obj, catalog) for c in raw_components)
    deductions = tuple(_deduction(card, d, obj, catalog) for d in entry.get("deductions") or ())
    repeated = {c.kpi for c in components if [x.kpi for x in components].count(c.kpi) > 1}
    if repeated:
        raise ScorecardError(f"{card}: {', '.join(sorted(repeated))} listed twice")
    total = sum(c.weight for c in components)
    if not math.isclose(total, TOTAL_WEIGHT, abs_tol=1e-9):
        raise ScorecardError(f"{card}: the weights add up to {total:g}, not {TOTAL_WEIGHT:g}")
    min_weight = _number(card, entry, "min_weight") if "min_weight" in entry else DEFAULT_MIN_WEIGHT
    if not 0 < min_weight <= TOTAL_WEIGHT:
        raise ScorecardError(f"{card}: min_weight must be above 0 and at most {TOTAL_WEIGHT:g}, not {min_weight:g}")
    name_zh, name_en = entry["name_zh"].strip(), entry["name_en"].strip()
    return Scorecard(card, name_zh, name_en, obj, components, deductions, min_weight)


def load_scorecards(path: Path | None = None, catalog: Mapping[str, Metric] | None = None) -> dict[str, Scorecard]:
    """The scorecards of a file by id, checked against the catalog; a bad file raises ScorecardError (one line)."""
    source = Path(str(path or SCORECARDS_PATH))
    try:
        document = load_yaml(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ScorecardError(f"{source.name}: not valid YAML{where}") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("scorecards"), list):
        raise ScorecardError(f"{source.name}: expected a mapping with a 'scorecards' list")
    cards: dict[str, Scorecard] = {}
    for entry in document["scorecards"]:
        card = _card(entry, catalog if catalog is not None else default_catalog())
        if card.id in cards:
            raise ScorecardError(f"{card.id}: defined twice")
        cards[card.id] = card
    return cards


@functools.cache
def _default_scorecards() -> Mapping[str, Scorecard]:
    return MappingProxyType(load_scorecards())


def default_scorecards() -> Mapping[str, Scorecard]:
    """The packaged scorecards, loaded once per process."""
    return _default_scorecards()


# ---- scoring -------------------------------------------------------------------------------------


def points_column(kpi: str) -> str:
    return f"{kpi}__points"


def _values(source: MetricSource, kpi: str, period: Period, obj: str) -> tuple[dict[str, float], dict[str, str]]:
    frame = source(kpi, period, obj)
    values, labels = {}, {}
    for key, label, value in zip(frame[obj], frame["label"], frame["value"], strict=True):
        if key is None or (isinstance(key, float) and math.isnan(key)) or key == UNKNOWN_PLACE:
            continue  # no department / no place: nobody to assess
        values[str(key)] = float(value) if value is not None else math.nan
        labels[str(key)] = str(label)
    return values, labels


def scores(card: Scorecard, source: MetricSource, period: Period) -> pd.DataFrame:
    """One month scored and ranked, in no particular order (standings() adds the month before and sorts)."""
    values: dict[str, dict[str, float]] = {}
    labels: dict[str, str] = {}
    for kpi in dict.fromkeys(card.kpis):
        values[kpi], named = _values(source, kpi, period, card.object)
        labels.update(named)
    rows = []
    for key in sorted(labels):
        row: dict[str, Any] = {"key": key, "label": labels[key]}
        earned = assessed = 0.0
        for component in card.components:
            value = values[component.kpi].get(key, math.nan)
            points = component.points(value)
            row[component.kpi], row[points_column(component.kpi)] = value, points
            if points is not None:
                earned, assessed = earned + points, assessed + component.weight
        deducted = 0.0
        for deduction in card.deductions:
            value = values[deduction.kpi].get(key, math.nan)
            row[deduction.kpi], row[points_column(deduction.kpi)] = value, -deduction.points(value)
            deducted += deduction.points(value)
        row["assessed_weight"] = assessed
        row["deducted"] = deducted
        enough = assessed >= card.min_weight - 1e-9
        row["composite"] = max(0.0, earned / assessed * TOTAL_WEIGHT - deducted) if enough else math.nan
        rows.append(row)
    frame = pd.DataFrame(
        rows, columns=["key", "label", *_value_columns(card), "assessed_weight", "deducted", "composite"]
    )
    # 1 = the best; ties share the better rank; an object with nothing assessed is not ranked
    frame["rank"] = frame["composite"].rank(ascending=False, method="min")
    return frame


def _value_columns(card: Scorecard) -> list[str]:
    columns = []
    for kpi in dict.fromkeys(card.kpis):
        columns += [kpi, points_column(kpi)]
    return columns


def standings(
    card: Scorecard, source: MetricSource, month: Period, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One month's ranking: per object its KPI values, their points, the deductions, 综合指标值 and rank,
    with the rank of the month before and the change (positive: moved up). Best first; unranked last.
    `previous` is the month before's `scores()` when the caller has it already."""
    current = scores(card, source, month)
    if previous is None:
        previous = scores(card, source, month.previous())
    previous = previous.set_index("key")["rank"]
    current["previous_rank"] = current["key"].map(previous)
    current["rank_change"] = current["previous_rank"] - current["rank"]
    return current.sort_values(["rank", "label"], na_position="last", kind="stable").reset_index(drop=True)


def warehouse_source(warehouse, lang: str = "zh") -> MetricSource:
    """The MetricSource of a (scoped) data-layer warehouse: its cached `metric()`, grouped, named in `lang`."""
    return lambda kpi, period, by: warehouse.metric(kpi, period, group_by=by, compare=False, lang=lang)


def marks(frame: pd.DataFrame) -> list[str | None]:
    """Per row of `standings()`: 'top' for the first HIGHLIGHTED ranks, 'bottom' for the last ones, else None
    (objects tied on a rank share its mark; an unranked object gets none)."""
    ranks = frame["rank"]
    last = ranks.max() if ranks.notna().any() else 0
    return [
        None if rank != rank else "top" if rank <= HIGHLIGHTED else "bottom" if rank > last - HIGHLIGHTED else None
        for rank in ranks
    ]


def rank_change_text(change: float, rank: float, new: str = "新") -> str:
    """'↑3' moved up three places, '↓2' down two, '—' unchanged or unranked, `new` ranked now but not before."""
    if rank != rank:
        return "—"
    if change != change:
        return new
    if change == 0:
        return "—"
    return f"{'↑' if change > 0 else '↓'}{abs(int(change))}"


def points_text(points: float | None) -> str:
    return "—" if points is None or points != points else f"{points:.1f}"


def month_period(month: str) -> Period:
    """'2026-10' → the calendar month; a one-line ValueError for anything else."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip()) if isinstance(month, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"month {month!r} is not YYYY-MM")
    year, number = int(match.group(1)), int(match.group(2))
    start = pd.Timestamp(year=year, month=number, day=1)
    return Period(start.date(), (start + pd.offsets.MonthEnd(1)).date())


def last_complete_month(data_through: date) -> str:
    """The newest month whose every day has data: this month when data runs to its last day, else the one before."""
    month = month_period(f"{data_through:%Y-%m}")
    return f"{data_through:%Y-%m}" if data_through >= month.end else f"{month.previous().start:%Y-%m}"


def choose_month(requested: object, months: list[str]) -> tuple[str | None, bool]:
    """The month a URL asks for if it can be assessed, else the newest that can; and whether the ask was refused."""
    if isinstance(requested, str) and requested in months:
        return requested, False
    return (months[0] if months else None), bool(requested)


def assessable_months(data_through: date, first_day: date | None, count: int) -> list[str]:
    """Up to `count` complete months with data, newest first ('2026-10', '2026-09', …)."""
    newest = pd.Period(last_complete_month(data_through), freq="M")
    months = [newest - k for k in range(count)]
    return [str(m) for m in months if first_day is None or m.end_time.date() >= first_day]
