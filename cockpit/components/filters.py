"""The filter bar, the chips of what is narrowed, and the one callback that writes every change to the URL.

The URL is the only state: a filter change, a drill click, a chip removed or a
KPI tile clicked each produce a new query string; Dash Pages then renders the
page again from it. Copying the URL reproduces the view; the back button undoes
the last drill. Controls are matched by pattern ids, so every page's filter bar,
charts and tiles are served by the callback below without registering their own.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from cockpit.components.format import group_label
from cockpit.components.groups import GROUPS_TABLE
from cockpit.data import current_warehouse
from cockpit.i18n import dimension_name, t
from cockpit.metrics.catalog import value_labels
from cockpit.metrics.period import Period
from cockpit.view import FILTER_KEYS, PERIOD_CHOICES, TIME_BUCKETS, InvalidView, View

# Which dataset lists the options of a dimension filter: (dataset, value column).
OPTION_DATASETS = {
    "channel": "channels",
    "category": "categories",
    "category_group_1": "category_groups_1",
    "category_group_2": "category_groups_2",
    "department": "departments",
    "service_item": "service_items",
    "domain": "domains",
    "device_kind": "device_kinds",
    "focus_group": "focus_groups",
}
LOCATION = "_pages_location"  # Dash Pages' own dcc.Location: writing its search re-renders the page


def _options(frame: pd.DataFrame, lang: str) -> list[dict]:
    name = "name_en" if lang == "en" and "name_en" in frame else "name_zh" if "name_zh" in frame else "value"
    return [{"label": str(row[name]), "value": str(row["value"])} for _, row in frame.iterrows()]


def dimension_options(key: str, lang: str, filters: dict) -> list[dict]:
    """Options of one filter dropdown (grids only within the chosen community); the unknown place last.

    A grid or micro-grid list longer than PLACE_OPTIONS_MAX, with no community or grid chosen to narrow it, is
    withheld (the dropdown asks for a community first; a place chosen already stays listed): see `_dropdown`.
    """
    return _dropdown(key, lang, filters)[0]


# A district's 3,000 grids or 14,000 micro grids in one dropdown: the browser indexes every option for its
# search (0.9 s for 14,000, on each load of the page) and no one scrolls them. Past this many, the list
# waits for a community (or, for micro grids, a grid) to be chosen. A street's own lists stay whole.
PLACE_OPTIONS_MAX = 2_000
GRID_KEYS = ("grid", "micro_grid")


def _dropdown(key: str, lang: str, filters: dict) -> tuple[list[dict], bool]:
    """A filter dropdown's options, and whether its list waits for a coarser place to be chosen first."""
    if key not in GRID_KEYS:
        return _all_options(key, lang), False
    places = _places(key, filters)
    narrowed = filters.get("community") or (key == "micro_grid" and filters.get("grid"))
    withheld = not narrowed and len(places) > PLACE_OPTIONS_MAX
    if withheld:  # a place chosen already (a drill) is still listed, so the dropdown names it
        places = places[places["unit_id"] == filters.get(key)]
    return _place_options(key, places, lang), withheld


def _places(key: str, filters: dict) -> pd.DataFrame:
    frame = current_warehouse().dataset("grids")
    levels = ("micro",) if key == "micro_grid" else ("comprehensive", "dedicated", "unknown")
    frame = frame[frame["level"].isin(levels)]
    if filters.get("community"):
        frame = frame[frame["community_id"] == filters["community"]]
    if key == "micro_grid" and filters.get("grid"):
        frame = frame[frame["parent_id"] == filters["grid"]]
    return frame


def _place_options(key: str, places: pd.DataFrame, lang: str) -> list[dict]:
    return [
        {"label": group_label(key, row.unit_id, row.name, lang), "value": row.unit_id} for row in places.itertuples()
    ]


def _all_options(key: str, lang: str) -> list[dict]:
    """Every option of a dropdown that is not a grid list (communities, code lists)."""
    warehouse = current_warehouse()
    if key == "community":
        frame = warehouse.dataset("communities")
        return [
            {"label": group_label(key, row.community_id, row.name, lang), "value": row.community_id}
            for row in frame.itertuples()
        ]
    if key == "focus_group" and not warehouse.has_table(GROUPS_TABLE):
        return []  # a release built before focus groups: the filter is not applied either (data.py _applicable)
    if key in OPTION_DATASETS:
        return _options(warehouse.dataset(OPTION_DATASETS[key]), lang)
    # Codes without a dim table (org levels, partner kinds…): the catalog's own names.
    return [{"label": label, "value": code} for code, label in value_labels(key, lang).items()]


def option_label(key: str, value: str, lang: str) -> str:
    """The name of a filter value for a chip or an export header (the code when it has none)."""
    if key in GRID_KEYS:  # looked up in the whole register: a withheld list's places have their names too
        places = _places(key, {})
        options = _place_options(key, places[places["unit_id"] == value], lang)
    else:
        options = _all_options(key, lang)
    for option in options:
        if option["value"] == value:
            return option["label"]
    return value_labels(key, lang).get(value, value)


def filter_bar(view: View, dimensions: tuple[str, ...], lang: str) -> html.Div:
    """Period presets (and a custom range), community, grid and the page's own dimensions."""
    period_options = [{"label": t(choice, lang), "value": choice} for choice in PERIOD_CHOICES]
    controls = [
        html.Div(
            [
                html.Label(t("period", lang), className="filter-label"),
                dcc.Dropdown(
                    id={"type": "filter", "key": "period"},
                    options=period_options,
                    value=view.preset,
                    clearable=False,
                    searchable=False,
                    className="filter-period",
                ),
            ],
            className="filter-item",
        ),
        html.Div(
            dcc.DatePickerRange(
                id={"type": "filter-range", "key": "period"},
                start_date=view.period.start,
                end_date=view.period.end,
                display_format="YYYY-MM-DD",
                first_day_of_week=1,
                minimum_nights=0,
            ),
            className="filter-item filter-dates",
        ),
    ]
    for key in ("community", "grid", *dimensions):
        options, withheld = _dropdown(key, lang, dict(view.filters))
        controls.append(
            html.Div(
                [
                    html.Label(dimension_name(key, lang), className="filter-label"),
                    dcc.Dropdown(
                        id={"type": "filter", "key": key},
                        options=options,
                        value=view.filters.get(key),
                        placeholder=t("choose_community_first" if withheld else "all", lang),
                        className=f"filter-{key}",
                    ),
                ],
                className="filter-item",
            )
        )
    return html.Div(controls, className="filter-bar")


def chips(view: View, lang: str) -> html.Div:
    """One removable chip per active filter (and the KPI in focus)."""
    items = []
    for key in FILTER_KEYS:
        if key in view.filters:
            items.append(
                dbc.Badge(
                    [f"{dimension_name(key, lang)}：{option_label(key, view.filters[key], lang)}", html.Span(" ×")],
                    id={"type": "chip", "key": key},
                    n_clicks=0,
                    color="primary",
                    className="filter-chip",
                    pill=True,
                )
            )
    if items:
        items.append(
            dbc.Badge(
                t("clear_all", lang),
                id={"type": "chip", "key": "_all"},
                n_clicks=0,
                color="secondary",
                className="filter-chip",
                pill=True,
            )
        )
    return html.Div(items, className="chips")


def parse_search(search: str | None) -> dict[str, str]:
    """A location's query string as Dash Pages passes it to a layout (last value wins)."""
    search = search if isinstance(search, str) else ""  # a store sent back by the browser may hold anything
    return {key: values[-1] for key, values in parse_qs(search.lstrip("?"), keep_blank_values=False).items()}


def _point_key(click: dict) -> str | None:
    points = (click or {}).get("points") or []
    if not points:
        return None
    point = points[0]
    key = point.get("customdata", point.get("location"))
    if isinstance(key, list):
        key = key[0] if key else None
    return None if key is None else str(key)


@callback(
    Output(LOCATION, "search", allow_duplicate=True),
    Input({"type": "filter", "key": ALL}, "value"),
    Input({"type": "filter-range", "key": ALL}, "start_date"),
    Input({"type": "filter-range", "key": ALL}, "end_date"),
    Input({"type": "drill", "dim": ALL, "chart": ALL}, "clickData"),
    Input({"type": "chip", "key": ALL}, "n_clicks"),
    Input({"type": "kpi-tile", "kpi": ALL}, "n_clicks"),
    State(LOCATION, "search"),
    prevent_initial_call=True,
)
def write_url(_values, _starts, _ends, _clicks, _chips, _tiles, search):
    """Turn whatever the reader touched into the next URL; the page then re-renders from it."""
    trigger = ctx.triggered_id
    if trigger is None:
        return no_update
    value = ctx.triggered[0]["value"]
    kind = trigger["type"]
    if kind in ("drill", "chip", "kpi-tile") and not value:
        return no_update  # a chart, chip or tile appearing is not a click
    as_of = current_warehouse().info.data_through
    view = View.from_query(parse_search(search), as_of)
    if kind == "filter" and trigger["key"] == "period":
        if value == "custom":
            return no_update  # the date range picker then sets the days
        view = view.with_period(value, as_of)
    elif kind == "filter" and trigger["key"] == "map":
        view = view.with_map_kpi(value)
    elif kind == "filter":
        view = view.with_filter(trigger["key"], value)
    elif kind == "filter-range":
        starts, ends = ctx.inputs_list[1], ctx.inputs_list[2]
        start = starts[0].get("value") if starts else None
        end = ends[0].get("value") if ends else None
        if not start or not end:
            return no_update
        try:
            first, last = date.fromisoformat(str(start)[:10]), date.fromisoformat(str(end)[:10])
            Period(min(first, last), max(first, last)).checked()
        except ValueError as error:  # a date the picker never sends: the browser made it up
            raise InvalidView(f"date range {start!r}:{end!r}: {error}") from None
        view = view.with_period("custom", as_of, first, last)
    elif kind == "drill":
        key = _point_key(value)
        if key is None:
            return no_update
        dimension = trigger["dim"]
        if dimension == "auto":  # a treemap node says which level it is: "grid|S01C001G01"
            dimension, _, key = key.partition("|")
        if dimension == "kpi":
            view = view.with_kpi(key)
        elif dimension in FILTER_KEYS or dimension in TIME_BUCKETS:
            view = view.drilled(dimension, key)
        else:
            return no_update
    elif kind == "chip":
        if trigger["key"] == "_all":
            view = View(view.preset, view.period, {}, None, view.map_kpi)
        else:
            view = view.with_filter(trigger["key"], None)
    elif kind == "kpi-tile":
        view = view.with_kpi(trigger["kpi"])
    new_search = view.to_search()
    return no_update if new_search == (search or "") else new_search
