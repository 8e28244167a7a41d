"""A module page from a declaration: which KPIs, which charts, which filters; layout and callbacks follow.

Every page of the cockpit is the same machine: a filter bar, chips, KPI strips,
charts and the record table, all driven by the View read from the URL. A page
module declares a `Board`, registers it with Dash Pages and calls
`register_callbacks(board)`; the
one callback registered here (all its KPI strips and charts, computed side by
side) answers with aggregates from the metric catalog through the warehouse cache.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, callback, dcc, html

from cockpit import labels
from cockpit.access import accounts, state
from cockpit.access.accounts import Permission
from cockpit.access.principal import SYSTEM, Principal, acting_as, current_principal
from cockpit.access.rules import personal_refusal
from cockpit.answers import ASKED_MAX
from cockpit.components import charts
from cockpit.components.filters import chips, filter_bar
from cockpit.components.format import format_value, metric_name
from cockpit.components.groups import group_table
from cockpit.components.kpi import explain_popover, kpi_tile
from cockpit.components.map import choropleth, feature_collection
from cockpit.components.records import declare_record_kpis, record_panel
from cockpit.components.table import report_table
from cockpit.components.theme import graph_config
from cockpit.components.topics import topic_table
from cockpit.components.warning import outlook_table, proactive_table, surge_table, warning_names
from cockpit.data import NoRelease, current_warehouse, side_by_side
from cockpit.i18n import LANGUAGES, THEMES, current_language, current_theme, dimension_name, t
from cockpit.metrics import Metric, Period, get_metric
from cockpit.view import DEFAULT_PRESET, PERIOD_CHOICES, View
from warehouse.paths import Home

log = logging.getLogger(__name__)

# The boards of this app's pages, by id, as their modules registered them (the pages warm_views warms).
REGISTERED: dict[str, Board] = {}
# How often a worker looks for a new release to warm (keep_warm: one small file read).
WARM_EVERY_S = 60


@dataclass(frozen=True)
class KpiGroup:
    """A strip of KPI tiles; `period` pins a preset (e.g. today) instead of the view's period."""

    kpis: tuple[str, ...]
    title: tuple[str, str] | None = None  # (zh, en)
    link: str | None = None
    period: str | None = None


@dataclass(frozen=True)
class Chart:
    """One panel. kind: trend | bar | share | funnel | map | tree | list | cloud, topics, rising (hot topics) |
    surges, forecast, outlook, proactive (预测预警) | points (本期要点) | groups (重点群体)."""

    kind: str
    kpis: tuple[str, ...]
    by: str | None = None
    title: tuple[str, str] | None = None
    top: int | None = None
    width: int = 6
    sort: tuple[tuple[str, str], ...] = ()  # for lists: (column, asc|desc)
    columns: tuple[str, ...] = ()  # for lists: which record columns to show
    follows_map: bool = False  # a ranking of whatever KPI the map shows
    height: int | None = None  # a map's height in px (its builder's default when None)


@dataclass(frozen=True)
class Board:
    id: str
    path: str
    order: int
    groups: tuple[KpiGroup, ...]
    charts: tuple[Chart, ...]
    dimensions: tuple[str, ...] = ()
    record_kpi: str = ""
    map_kpis: tuple[str, ...] = ()
    # One full-width row of small tiles per group, the first charts in a row of even height: the overview's
    # headline KPIs, map and lists on one 1920×1080 screen (cockpit.css `.board-compact`).
    compact: bool = False

    @property
    def kpis(self) -> frozenset[str]:
        """Every KPI the page shows: its tiles, charts, map choices and record table.

        These are also the KPIs a click can put in focus (a tile, a funnel stage), and so the only
        KPIs the page's record table serves (cockpit.components.records.record_kpis).
        """
        shown = {kpi for part in (*self.groups, *self.charts) for kpi in part.kpis}
        return frozenset(shown | set(self.map_kpis) | ({self.record_kpi} if self.record_kpi else set()))

    @property
    def draws_map(self) -> bool:
        return any(chart.kind == "map" for chart in self.charts)


# Panels that are HTML (a table), not a graph: their output is the panel's children.
HTML_KINDS = ("list", "topics", "rising", "surges", "proactive", "outlook", "points", "groups")
WARNING_KINDS = ("surges", "proactive", "outlook")

# ---------------------------------------------------------------------------------------
# Helpers shared by the callbacks
# ---------------------------------------------------------------------------------------


def trend_bucket(period: Period) -> str:
    """Day buckets up to two months, weeks up to half a year, then months."""
    return "day" if period.days <= 62 else "week" if period.days <= 190 else "month"


def map_level(view: View) -> tuple[str, str]:
    """(dimension, shapes dataset) the map shows: communities, a community's grids, a grid's micro grids.

    It goes no deeper than the outlines loaded: in a register of communities
    only, or grids without micro grids, the map stays on the level above
    rather than going blank.
    """
    outlined_communities, outlined_grids = _outlined_parents()
    if view.filters.get("grid") in outlined_grids:
        return "micro_grid", "grid_shapes"
    if view.filters.get("community") in outlined_communities:
        return "grid", "grid_shapes"
    return "community", "community_shapes"


def _outlined_parents() -> tuple[frozenset[str], frozenset[str]]:
    """(communities with outlined grids, grids with outlined micro grids) in the current release."""
    warehouse = current_warehouse()

    def build() -> tuple[frozenset[str], frozenset[str]]:
        shapes = warehouse.dataset("grid_shapes")
        micro = shapes["level"] == "micro"
        return frozenset(shapes.loc[~micro, "community_id"]), frozenset(shapes.loc[micro, "parent_id"])

    return warehouse.place_memo(("outlined_parents",), build)


def chart_dimension(chart: Chart, view: View) -> str:
    """The dimension a click on this chart drills into (fixed per rendered view)."""
    if chart.kind == "trend":
        return trend_bucket(view.period)
    if chart.kind == "map":
        return map_level(view)[0]
    if chart.kind == "funnel":
        return "kpi"
    if chart.kind == "tree":
        return "auto"
    return chart.by or "kpi"


def _title(chart: Chart, lang: str) -> str:
    if chart.title:
        return chart.title[1] if lang == "en" else chart.title[0]
    metric = get_metric(chart.kpis[0])
    name = metric_name(metric, lang)
    if chart.by:
        return f"{name} · {t('by', lang, dim=dimension_name(chart.by, lang))}"
    return name


def _group_filters(view: View, by: str | None) -> dict[str, str]:
    """The view's filters minus the one the chart groups by (a bar per channel stays a bar per channel)."""
    return {key: value for key, value in view.filters.items() if key != by}


def _ignored(metric: Metric, view: View) -> list[str]:
    return [key for key in view.filters if not metric.supports(key)]


def _map_metric(board: Board, view: View) -> str:
    return view.map_kpi if view.map_kpi in board.map_kpis else board.map_kpis[0]


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------


def render_group(board: Board, group: KpiGroup, view: View, lang: str) -> list:
    warehouse = current_warehouse()
    info = warehouse.info
    period = Period.preset(group.period, info.data_through) if group.period else view.period
    loaded = f"{info.built_at:%Y-%m-%d %H:%M}"
    # The strip's KPIs are independent queries: DuckDB runs them side by side (it releases
    # the GIL, and each call takes its own cursor), so a cold strip costs its slowest KPI.
    frames = side_by_side([partial(warehouse.metric, kpi, period, filters=view.filters) for kpi in group.kpis])
    tiles = []
    for kpi, frame in zip(group.kpis, frames, strict=True):
        metric = get_metric(kpi)
        row = frame.iloc[0].to_dict() if not frame.empty else None
        tiles.append(
            kpi_tile(metric, row, lang=lang, loaded=loaded, ignored=_ignored(metric, view), active=(kpi == view.kpi))
        )
    return tiles


def render_chart(board: Board, chart: Chart, view: View, lang: str, theme: str):
    warehouse = current_warehouse()
    title = _title(chart, lang)
    if chart.kind == "trend":
        bucket = trend_bucket(view.period)
        frames = [
            (get_metric(kpi), warehouse.metric(kpi, view.period, filters=view.filters, group_by=bucket))
            for kpi in chart.kpis
        ]
        return charts.trend(frames, bucket, title=title, lang=lang, theme=theme)
    if chart.kind in ("bar", "share"):
        metric = get_metric(_map_metric(board, view) if chart.follows_map else chart.kpis[0])
        if chart.follows_map:
            title = f"{title} · {metric_name(metric, lang)}"
        frame = warehouse.metric(
            metric.id, view.period, filters=_group_filters(view, chart.by), group_by=chart.by, lang=lang
        )
        if chart.kind == "share":
            return charts.share(frame, metric, chart.by, title=title, lang=lang, theme=theme)
        return charts.bar(frame, metric, chart.by, title=title, lang=lang, theme=theme, top=chart.top)
    if chart.kind == "funnel":
        stages = []
        for kpi in chart.kpis:
            frame = warehouse.metric(kpi, view.period, filters=view.filters, compare=False)
            stages.append((get_metric(kpi), None if frame.empty else frame["value"].iloc[0]))
        return charts.funnel(stages, title=title, lang=lang, theme=theme)
    if chart.kind == "map":
        metric = get_metric(_map_metric(board, view))
        dimension, shapes, collection = map_shapes(view)
        if not metric.supports(dimension):
            values = pd.DataFrame({dimension: [], "value": []})
        else:
            values = warehouse.metric(
                metric.id,
                view.period,
                filters=_group_filters(view, dimension),
                group_by=dimension,
                compare=False,
            )
        config = dash.get_app().server.config
        tiles = config.get("COCKPIT_MAP_TILES")
        # The street's map centre, when its settings give one, centres the street's map; a community's or grid's
        # map, or a street with none set, centres on the polygons drawn.
        street = config.get("COCKPIT_STREET")
        centre = street.centre if street is not None and dimension == "community" else None
        map_title = f"{metric_name(metric, lang)} · {t('map', lang)}"
        return choropleth(
            shapes,
            values,
            metric,
            dimension,
            title=map_title,
            lang=lang,
            theme=theme,
            tiles=tiles,
            collection=collection,
            centre=centre,
            **({"height": chart.height} if chart.height else {}),
        )
    if chart.kind == "tree":
        return charts.hierarchy(grid_tree(view, lang), value="residents", title=title, lang=lang, theme=theme)
    if chart.kind == "cloud":  # hot topics of the tickets' text; a click narrows to the term (by="term")
        topics = warehouse.topics(view.period, filters=_group_filters(view, "term"), limit=chart.top or 20, bucket=None)
        return charts.cloud(topics, title=title, lang=lang, theme=theme)
    if chart.kind == "forecast":  # the street's (or the chosen category's) next 7 days; a click drills to a day
        if category := view.filters.get("category"):
            title = f"{title} · {warehouse.code_list_names('category', lang).get(category, category)}"
        return charts.forecast(warehouse.forecast(filters=view.filters), title=title, lang=lang, theme=theme)
    raise ValueError(f"unknown chart kind {chart.kind!r}")


def map_shapes(view: View) -> tuple[str, pd.DataFrame, dict]:
    """(dimension, polygons, their GeoJSON) for the view's map level, built once per release and level."""
    dimension, dataset = map_level(view)
    warehouse = current_warehouse()

    def build() -> tuple[str, pd.DataFrame, dict]:
        shapes = warehouse.dataset(dataset)
        if dimension == "grid":
            shapes = shapes[(shapes["community_id"] == view.filters["community"]) & (shapes["level"] != "micro")]
        elif dimension == "micro_grid":
            shapes = shapes[(shapes["parent_id"] == view.filters["grid"]) & (shapes["level"] == "micro")]
        return dimension, shapes, feature_collection(shapes)

    return warehouse.place_memo(("map", dimension, view.filters.get("community"), view.filters.get("grid")), build)


def grid_tree(view: View, lang: str) -> pd.DataFrame:
    """Rows for a treemap: community → grid, and a chosen community's micro grids, sized by residents.

    Micro grids (1,400 for a street) are only drawn inside one community: the
    whole street's would cost the browser seconds and be too small to read.
    For the same reason a district's street-wide tree (570 communities and 3,300
    grids: 0.8–1.4 s to draw) is its communities alone when it would have more
    than TREE_NODES_MAX nodes; a community's own tree has its grids.
    Any depth the register has is drawn: communities alone, communities and
    grids, or micro grids filed directly under their community.
    """
    community = view.filters.get("community")
    return current_warehouse().place_memo(("grid_tree", community), lambda: _grid_tree(community))


TREE_DIMENSION = {"community": "community", "comprehensive": "grid", "dedicated": "grid", "micro": "micro_grid"}
TREE_DEPTH = {"micro": 0, "comprehensive": 1, "dedicated": 1, "community": 2}  # children before their parents
TREE_NODES_MAX = 1_000  # a street-wide treemap past this many nodes draws its communities alone


def _grid_tree(community: str | None) -> pd.DataFrame:
    units = current_warehouse().dataset("grid_tree")
    if community:
        units = units[units["community_id"] == community]
    units = units.assign(depth=units["level"].map(TREE_DEPTH)).dropna(subset=["depth"]).sort_values("depth")
    node = {r.unit_id: f"{TREE_DIMENSION[r.level]}|{r.unit_id}" for r in units.itertuples()}
    communities = set(units.loc[units["level"] == "community", "unit_id"])
    # A treemap with branchvalues="total" needs every parent at least the sum of its children,
    # so sizes add up from the micro grids (hidden or not) before any row is dropped.
    below: dict[str, float] = {}
    rows = []
    for r in units.itertuples():
        if r.level == "community":
            parent = ""
        elif r.parent_id in node and r.parent_id != r.unit_id:
            parent = node[r.parent_id]
        elif r.community_id in communities:  # a parent missing from the register: hang it from its community
            parent = node[r.community_id]
        else:
            continue
        own = float(r.residents) if pd.notna(r.residents) else 0.0
        residents = max(own, below.get(node[r.unit_id], 0.0))
        if parent:
            below[parent] = below.get(parent, 0.0) + residents
        rows.append(
            {
                "id": node[r.unit_id],
                "label": r.name,
                "parent": parent,
                "residents": residents,
                "dimension": node[r.unit_id],
                "level": r.level,
            }
        )
    frame = pd.DataFrame(rows, columns=["id", "label", "parent", "residents", "dimension", "level"])
    if not community:
        frame = frame[frame["level"] != "micro"]
        if len(frame) > TREE_NODES_MAX:  # sizes were summed from every level above, so each stays whole
            frame = frame[frame["level"] == "community"]
    return frame.drop(columns="level").reset_index(drop=True)


def render_topics(board: Board, chart: Chart, view: View, lang: str) -> html.Div:
    """The period's hot (or rising) topics; a term chosen in the view stays listed, marked, to undo it."""
    rising = chart.kind == "rising"
    topics = current_warehouse().topics(
        view.period,
        filters=_group_filters(view, "term"),
        rising=rising,
        limit=chart.top or 10,
        bucket=trend_bucket(view.period),
    )
    if chart.title:
        title = chart.title[1] if lang == "en" else chart.title[0]
    else:
        title = t("rising_topics" if rising else "hot_topics", lang)
    return topic_table(topics, view, board.path, title, lang, rising=rising)


def render_warning(board: Board, chart: Chart, view: View, lang: str) -> html.Div:
    """The surge alarms of the view's period, each category's forecast, or the 未诉先办 list of the coming month."""
    warehouse = current_warehouse()
    names = warning_names(warehouse, lang)
    if chart.kind == "outlook":
        found = warehouse.category_forecasts(filters=_group_filters(view, "category"), limit=chart.top or 10)
        return outlook_table(found, names, view, lang)
    if chart.kind == "surges":
        title = _title(chart, lang) if chart.title else t("surges", lang)
        found = warehouse.surges(view.period, filters=view.filters)
        return surge_table(found, names, view, title, lang, top=chart.top or 10)
    month, items = warehouse.proactive(filters=view.filters, limit=chart.top or 10)
    return proactive_table(month, items, names, view, lang)


def render_points(chart: Chart, view: View, lang: str) -> html.Div:
    """本期要点 of the view: the sentences the wall and the brief say (cockpit/components/points.py)."""
    from cockpit.components.points import key_points  # it reads cockpit.modules, which imports this module

    points = key_points(current_warehouse(), view.period, view.filters, lang)
    return html.Div(
        [html.H6(_title(chart, lang), className="panel-title"), html.Ul([html.Li(p) for p in points])],
        className="points-panel",
    )


def render_list(chart: Chart, view: View, lang: str) -> html.Table | html.P:
    metric = get_metric(chart.kpis[0])
    if (refused := personal_refusal(current_principal(), metric)) is not None:
        return html.P(t(refused, lang), className="records-refused")
    sort = [{"colId": column, "sort": direction} for column, direction in chart.sort]
    rows, total = current_warehouse().records(
        metric.id, view.period, filters=view.filters, sort=sort, limit=chart.top or 10, lang=lang
    )
    columns = list(chart.columns) or list(rows.columns[:6])
    caption = f"{_title(chart, lang)} · {format_value(total, metric.unit, lang)}"
    return report_table(
        rows,
        {column: labels.header(column, lang) for column in columns},
        caption=caption,
        class_name="cockpit-table record-list",
    )


# ---------------------------------------------------------------------------------------
# Layout and callbacks
# ---------------------------------------------------------------------------------------


def _chart_panel(board: Board, index: int, chart: Chart, view: View, lang: str):
    component_id = f"{board.id}-chart-{index}"
    if chart.kind in HTML_KINDS:
        body = html.Div(id=component_id, className="list-panel")
    else:
        graph_id = {"type": "drill", "dim": chart_dimension(chart, view), "chart": component_id}
        # lazy-chart: drawn when it comes near the viewport (cockpit/assets/lazy-charts.js)
        body = dcc.Graph(id=graph_id, config=graph_config(lang), className="chart lazy-chart")
    extra = []
    if chart.kind == "map" and len(board.map_kpis) > 1:
        extra.append(
            dcc.Dropdown(
                id={"type": "filter", "key": "map"},
                options=[{"label": metric_name(get_metric(k), lang), "value": k} for k in board.map_kpis],
                value=_map_metric(board, view),
                clearable=False,
                className="map-kpi",
            )
        )
    return dbc.Col(
        html.Div([*extra, dcc.Loading(body, type="dot", delay_show=400)], className="card-panel"), md=chart.width
    )


def _group_block(board: Board, index: int, group: KpiGroup, lang: str):
    header = []
    if group.title:
        text = group.title[1] if lang == "en" else group.title[0]
        header.append(html.H5(dcc.Link(text, href=group.link) if group.link else text, className="group-title"))
    return html.Div(
        [
            *header,
            dcc.Loading(html.Div(id=f"{board.id}-kpis-{index}", className="kpi-strip"), type="dot", delay_show=400),
        ],
        className="kpi-group",
    )


def board_layout(board: Board, query: dict) -> html.Div:
    lang = current_language()
    try:
        info = current_warehouse().info
    except NoRelease:
        return html.Div(html.P(t("no_release", lang), className="alert alert-warning"), className="page")
    view = View.from_query(query, info.data_through)
    # A KPI in the URL that this page does not show (a link made up or copied from another page) does not
    # become the record table's: the page's own record KPI does.
    record_kpi = view.kpi if view.kpi in board.kpis else board.record_kpi
    notes = [html.Div(note, className="alert alert-warning py-1") for note in view.notes]
    return html.Div(
        [
            html.H2(t(board.id, lang), className="page-title"),
            *notes,
            filter_bar(view, board.dimensions, lang),
            chips(view, lang),
            dcc.Store(id={"type": "view", "page": board.id}, data={**view.to_dict(), "record_kpi": record_kpi}),
            *[_group_block(board, i, group, lang) for i, group in enumerate(board.groups)],
            dbc.Row(
                [_chart_panel(board, i, chart, view, lang) for i, chart in enumerate(board.charts)], className="g-3"
            ),
            record_panel(board.id, view, record_kpi, lang),
            *explain_popover(),
        ],
        className="page board-compact" if board.compact else "page",
        id=f"{board.id}-page",
    )


def render_board(board: Board, view: View, lang: str, theme: str) -> list:
    """Every strip and chart of the board, in the order of its callback's outputs, computed side by side.

    Each part runs in a copy of the request's context (the reader, their scope, the warehouse), so the
    threads see what the callback sees; DuckDB releases the GIL, so a cold board costs about its slowest
    parts, not their sum.
    """

    def part(item: KpiGroup | Chart):
        if isinstance(item, KpiGroup):
            return render_group(board, item, view, lang)
        if item.kind == "list":
            return render_list(item, view, lang)
        if item.kind == "points":
            return render_points(item, view, lang)
        if item.kind == "groups":
            title = _title(item, lang) if item.title else t("focus_groups", lang)
            return group_table(current_warehouse(), view, board.path, title, lang)
        if item.kind in WARNING_KINDS:
            return render_warning(board, item, view, lang)
        if item.kind in HTML_KINDS:
            return render_topics(board, item, view, lang)
        return [render_chart(board, item, view, lang, theme)]  # a wildcard output: one graph

    items = [*board.groups, *board.charts]
    return side_by_side([partial(part, item) for item in items])


def board_outputs(board: Board) -> list[Output]:
    """What the board's one callback fills: each KPI strip's tiles, each list's table, each graph's figure."""
    outputs = [Output(f"{board.id}-kpis-{index}", "children") for index in range(len(board.groups))]
    for index, chart in enumerate(board.charts):
        component_id = f"{board.id}-chart-{index}"
        if chart.kind in HTML_KINDS:
            outputs.append(Output(component_id, "children"))
        else:  # the graph's id names its drill dimension, which depends on the view: matched by wildcard
            outputs.append(Output({"type": "drill", "dim": ALL, "chart": component_id}, "figure"))
    return outputs


def board_answer(board: Board, view: View, lang: str, theme: str) -> list:
    """The board's outputs for `view`, kept with the release like the KPIs in them.

    A release never changes, and a wall of readers opening the same default view cost one rendering. The key
    holds everything the answer depends on besides the release: the view, language, theme, the reader's
    scope (the scoped warehouse's memo) and whether their lists may show personal data.
    """
    warehouse = current_warehouse()
    if warehouse.answers is not None:  # a server's: what its readers open is warmed first for the next release
        warehouse.answers.asked.note(_asked(board, view, lang, theme, current_principal()))
    return warehouse.kept(*_answer(board, view, lang, theme))


def _asked(board: Board, view: View, lang: str, theme: str, reader: Principal) -> dict:
    """How a warming asks for this board's view again (AskedViews): no answer, no name; the view as its URL
    query, so that a relative period (this week) is this week of the release it is asked on."""
    return {
        "board": board.id,
        "query": view.query_params(),
        "lang": lang,
        "theme": theme,
        "way": _way(reader),
    }


def _way(reader: Principal) -> tuple[str, bool]:
    """A reader's way of reading the boards: their scope, and whether they may see personal data (a board's
    answer depends on both, and on nothing else about them)."""
    return str(reader.scope), reader.may(Permission.PERSONAL)


def _answer(board: Board, view: View, lang: str, theme: str) -> tuple[tuple, Callable[[], list]]:
    """The key of the board's answer for `view`, and how to render it."""
    personal = tuple(
        personal_refusal(current_principal(), get_metric(chart.kpis[0])) is None
        for chart in board.charts
        if chart.kind == "list"
    )
    key = ("board", board.id, json.dumps(view.to_dict(), sort_keys=True), lang, theme, personal)
    return key, lambda: render_board(board, view, lang, theme)


def warm_readers(home: Home) -> list[Principal]:
    """Whom to warm the boards for: one principal per way of reading them among the enabled accounts.

    A board's answer depends on the reader's scope and on whether they may see personal data (see
    `board_answer`), so readers alike share one answer: one principal stands for each (scope, personal)
    pair, the street-wide first. With no account yet (a fresh home), the whole street as the command line
    reads it (SYSTEM).
    """
    readers: dict[tuple, Principal] = {}
    for account in accounts.accounts(state.connect(home)):
        if not account.disabled:
            principal = Principal.for_account(account, account.grants)
            readers.setdefault(_way(principal), principal)
    return sorted(readers.values(), key=lambda reader: not reader.street_wide) or [SYSTEM]


def warm_views(boards: Sequence[Board], readers: Sequence[Principal] = (SYSTEM,)) -> int:
    """The boards' answers readers open first, made ready for the current release; how many were.

    Ready is kept on disk with kept answers (cockpit/answers.py; an answer kept already is not even read),
    else held in this worker's memory. An answer another worker is computing is passed over, and only waited
    for at the end: the server's workers, warming the same list at once, share it instead of each waiting on
    the first's every answer.

    In order: each reader's default view of every board, in Chinese and the light theme (`current_language`,
    `current_theme` outside a request); then the views readers asked for in the last week (with kept answers:
    AskedViews), each for a reader who reads that way today (an account's scope gone, its views are not
    warmed), taken in turn from each way of reading, the most recent first, ASKED_MAX in all; then, for the
    street-wide readers, every other period of the period menu. Run beside or before the first readers, it
    spares them the release's cold queries; with kept answers one worker's warming serves every worker, and a
    restarted worker's costs next to nothing. A view that fails is logged and skipped: warming must never stop
    a worker.
    """
    warehouse = current_warehouse()
    info = warehouse.info
    lang, theme = current_language(), current_theme()
    by_id = {board.id: board for board in boards}
    by_way = {_way(reader): reader for reader in readers}
    plan = [(reader, {}, lang, theme, boards) for reader in readers]
    per_way: dict[tuple, list] = {}  # each way of reading's views, the most recently asked first
    for asked in warehouse.answers.asked.recent() if warehouse.answers is not None else []:
        reader = by_way.get(tuple(asked.get("way") or ()))  # read as data: anything else is passed over
        if (
            reader is not None
            and asked.get("board") in by_id
            and isinstance(asked.get("query"), dict)
            and asked.get("lang") in LANGUAGES
            and asked.get("theme") in THEMES
        ):
            step = (reader, asked["query"], asked["lang"], asked["theme"], [by_id[asked["board"]]])
            per_way.setdefault(_way(reader), []).append(step)
    # Taken in turn from each way, ASKED_MAX in all: a reader who opens view after view fills their own way's
    # turns, never another way's.
    plan += [step for turn in itertools.zip_longest(*per_way.values()) for step in turn if step][:ASKED_MAX]
    plan += [
        (reader, {"period": preset}, lang, theme, boards)
        for reader in readers
        if reader.street_wide
        for preset in PERIOD_CHOICES
        if preset not in (DEFAULT_PRESET, "custom")
    ]
    steps, seen = [], set()
    for reader, query, view_lang, view_theme, its_boards in plan:
        try:
            view = View.from_query(query, info.data_through)
        except Exception:  # a view asked for on another release that this one cannot describe
            log.warning("a view asked for was not warmed: %.200r", query, exc_info=True)
            continue
        for board in its_boards:
            step = (_way(reader), board.id, json.dumps(view.to_dict(), sort_keys=True), view_lang, view_theme)
            if step not in seen:
                seen.add(step)
                steps.append((reader, view, board, view_lang, view_theme))
    warmed = 0
    later = []  # what another worker was computing when its turn came: waited for in the second round
    for wait in (False, True):
        for reader, view, board, view_lang, view_theme in steps:
            if current_warehouse().info.run_id != info.run_id:
                return warmed  # a new release: its own warming starts over (keep_warm)
            try:
                with acting_as(reader):
                    ready = current_warehouse().keep_ahead(*_answer(board, view, view_lang, view_theme), wait=wait)
            except Exception:  # a page's own errors surface when a reader opens it
                log.exception("warming the %s board (%s, %s) failed", board.id, reader.name, view.preset)
                continue
            if ready:
                warmed += 1
            else:
                later.append((reader, view, board, view_lang, view_theme))
        steps, later = later, []
    return warmed


def keep_warm(
    app: dash.Dash,
    every: float = WARM_EVERY_S,
    stop: threading.Event | None = None,
    readers: Callable[[Home], Sequence[Principal]] = warm_readers,
) -> threading.Thread:
    """A daemon thread that warms the boards' first views (`warm_views`) for each release this worker serves.

    The first readers after the nightly release (or a restart) open those views; warmed at once in the
    background, they do not wait for the release's cold queries. The thread looks for a new release every
    `every` seconds, until `stop` is set. `readers` says whom to warm for (the home's accounts by default).
    """
    stop = stop or threading.Event()

    def run() -> None:
        warmed = None
        while not stop.is_set():
            try:
                with app.server.app_context():
                    run_id = current_warehouse().info.run_id
                    if run_id != warmed:
                        started = time.perf_counter()
                        count = warm_views(list(REGISTERED.values()), readers(current_warehouse().home))
                        seconds = time.perf_counter() - started
                        log.info("warmed %d board views of release %s in %.1f s", count, run_id, seconds)
                        warmed = run_id
            except Exception:  # no release yet, a damaged one: the pages say so; try again later
                log.debug("nothing to warm yet", exc_info=True)
            stop.wait(every)

    thread = threading.Thread(target=run, name="warm-boards", daemon=True)
    thread.start()
    return thread


def _register_callbacks(board: Board) -> None:
    # One request fills the whole board when its view changes: a browser sends at most six requests to a
    # host at a time, and the renderer pays for every answer it applies, so a board of 13 parts loaded in
    # three waves of round trips and as many re-renders. The server computes the parts side by side.
    @callback(*board_outputs(board), Input({"type": "view", "page": board.id}, "data"))
    def _board(data):
        return board_answer(board, View.from_dict(data), current_language(), current_theme())


def page_options(board: Board) -> dict:
    """What a page module passes to `dash.register_page(__name__, **page_options(BOARD))`.

    (Dash Pages only imports page modules whose text calls `register_page`, so each
    page module makes that call itself.)
    """
    return {
        "path": board.path,
        "name": t(board.id, "zh"),
        "title": f"{t(board.id, 'zh')} · {t('app_title', 'zh')}",
        "order": board.order,
        "layout": lambda **query: board_layout(board, query),
        "plotly_maps": board.draws_map,  # its Plotly is the map bundle (cockpit.app.plotly_url)
    }


def register_callbacks(board: Board) -> None:
    """The board's callback (every KPI strip and chart, fed by the page's view store).

    It also declares the board's KPIs as the only ones its record table and exports may serve.
    """
    declare_record_kpis(board.id, board.kpis)
    _register_callbacks(board)
    REGISTERED[board.id] = board
