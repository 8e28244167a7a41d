"""大屏 · the wall display (/wall): a kiosk with no controls, rotating through six boards.

URL parameters (all optional):
  board=dispatch        pin one board (overview, party, approvals, enforcement, grid, dispatch)
  rotate=20             seconds per board
  refresh=30            seconds between refreshes (cached: numbers change only with a new release)
  layout=1080p|4k|triple, or canvas=6656x1792
                        the canvas the wall is laid out for; the whole board is scaled to the
                        window, so an LED controller at another resolution or DPI shows it whole.
                        Default: the window itself.
  alert_timeout=120     seconds a high-level alarm holds the screen unless acknowledged
  alarm_hours=24        how recent (in hours of data) a high-level alarm must be to interrupt
  alarm_level=high      the lowest alarm level that interrupts (high, medium or low)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html

from cockpit.access.accounts import Permission
from cockpit.access.web import requires
from cockpit.components import wall
from cockpit.components.board import Board, Chart, render_chart
from cockpit.components.charts import as_dict
from cockpit.components.format import plotly_config
from cockpit.data import NoRelease, current_warehouse
from cockpit.i18n import LANGUAGES, current_language, street_name, t
from cockpit.view import View

LAYOUTS = {"1080p": (1920, 1080), "4k": (3840, 2160), "triple": (5760, 1080)}
DEFAULTS = {"rotate": 20, "refresh": 30, "alert_timeout": 120, "alarm_hours": 24}
LIMITS = {"rotate": (1, 3600), "refresh": (1, 3600), "alert_timeout": (1, 86_400), "alarm_hours": (1, 24 * 31)}
WALL_CONFIG = {"staticPlot": True, "displayModeBar": False, "responsive": True}
# A wall slot is about 1.25 times the word cloud's canvas (charts.CLOUD_CANVAS): its words grow with it.
WALL_CLOUD_SCALE = 1.25


def wall_config(lang: str) -> dict:
    """WALL_CONFIG for a wall in `lang` (Plotly's zh-CN locale in Chinese)."""
    return {**WALL_CONFIG, **plotly_config(lang)}


BOARDS = wall.BOARDS
BOARD_IDS = wall.BOARD_IDS


def _number(query: Mapping, key: str) -> int:
    """A wall parameter as a whole number in its LIMITS: ±inf and huge values clamp, nan and text give the default."""
    low, high = LIMITS[key]
    raw = query.get(key, DEFAULTS[key])
    try:
        value = float(raw if isinstance(raw, int | float | str) else "nan")
    except ValueError:
        return DEFAULTS[key]
    if math.isnan(value):
        return DEFAULTS[key]
    return int(min(high, max(low, value)))


def canvas(query: dict) -> tuple[int, int] | None:
    """The canvas the wall is laid out for, from layout= or canvas=WxH; None = the window's own size."""
    if query.get("layout") in LAYOUTS:
        return LAYOUTS[query["layout"]]
    match = re.fullmatch(r"\s*(\d{3,5})\s*[xX×*]\s*(\d{3,5})\s*", str(query.get("canvas", "")))
    if match:
        width, height = int(match.group(1)), int(match.group(2))
        if 0.2 <= width / height <= 10:
            return width, height
    return None


def config(query: Mapping, lang: str) -> dict:
    """The wall's settings from its URL (or back from its store): every value known or clamped."""
    pinned = query.get("board") if query.get("board") in BOARD_IDS else None
    return {
        **{key: _number(query, key) for key in DEFAULTS},
        "boards": list(BOARD_IDS),
        "titles": [t(board_id, lang) for board_id in BOARD_IDS],
        "pinned": pinned,
        "alarm_level": query.get("alarm_level") if query.get("alarm_level") in wall.LEVELS else "high",
        "lang": lang,
    }


def _board(board: Board, lang: str) -> html.Div:
    return html.Div(
        [
            html.Div(id={"type": "wall-kpis", "board": board.id}, className="wall-kpis"),
            html.Div(
                [
                    dcc.Graph(
                        id={"type": "wall-chart", "board": board.id, "index": index},
                        config=wall_config(lang),
                        className=f"wall-chart kind-{chart.kind}",
                    )
                    for index, chart in enumerate(board.charts)
                ],
                className="wall-charts",
            ),
        ],
        id={"type": "wall-board", "board": board.id},
        className="wall-board",
        **{"data-board": board.id},
    )


def layout(**query) -> html.Div:
    lang = current_language()
    warehouse = current_warehouse()
    try:
        info = warehouse.info
    except NoRelease:
        return html.Div(t("no_release", lang), className="wall wall-empty")
    settings = config(query, lang)
    size = canvas(query)
    street = street_name(lang)  # none configured: the neutral title alone
    period = View.from_query({}, info.data_through).period
    first = BOARD_IDS.index(settings["pinned"]) if settings["pinned"] else 0
    stores = [
        dcc.Store(id="wall-config", data=settings),
        dcc.Store(id="wall-release"),
        dcc.Store(id="wall-alarm"),
        dcc.Store(id="wall-state", data={"index": first}),
        dcc.Store(id="wall-seen", storage_type="local", data=[]),
        dcc.Interval(id="wall-tick", interval=1000),
        dcc.Interval(id="wall-refresh", interval=settings["refresh"] * 1000),
    ]
    stage = html.Div(
        [
            html.Header(
                [
                    html.Div(
                        [
                            *([html.Span(street, className="wall-street")] if street else []),
                            html.Span(t("app_title", lang)),
                        ],
                        className="wall-brand",
                    ),
                    html.Div(settings["titles"][first], id="wall-board-title", className="wall-board-title"),
                    html.Div(
                        [
                            html.Span(t("wall_period", lang, period=period.label_zh()), className="wall-period"),
                            *(
                                [html.Span(t("demo", lang), className="wall-demo", id="wall-demo")]
                                if info.is_demo
                                else []
                            ),
                            html.Span(id="wall-clock", className="wall-clock"),
                        ],
                        className="wall-meta",
                    ),
                ],
                className="wall-header",
            ),
            html.Div(id="wall-banner", className="wall-banner hidden"),
            html.Div([_board(board, lang) for board in BOARDS], className="wall-boards"),
            html.Div(id="wall-points", className="wall-points"),
            html.Div(id="wall-ticker", className="wall-ticker"),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(t("wall_alert", lang), className="wall-alert-title"),
                            html.Div(id="wall-alert-text", className="wall-alert-text"),
                            html.Button(t("wall_ack", lang), id="wall-ack", className="wall-ack", n_clicks=0),
                        ],
                        className="wall-alert-side",
                    ),
                    dcc.Graph(id="wall-alert-map", config=wall_config(lang), className="wall-alert-map"),
                ],
                id="wall-alert",
                className="wall-alert",
            ),
        ],
        id="wall-stage",
        className="wall-stage",
    )
    return html.Div(
        [stage, *stores],
        id="wall",
        className="wall",
        **{"data-canvas": f"{size[0]}x{size[1]}" if size else "auto"},
    )


dash.register_page(
    __name__,
    path="/wall",
    name=t("wall", "zh"),
    title=f"{t('wall', 'zh')} · {t('app_title', 'zh')}",
    order=90,
    plotly_maps=True,  # the overview's map and the live alarms' points (cockpit.app.plotly_url)
)


def _stored_config(data) -> dict:
    """The wall-config store as the browser sent it back, read again through `config` (nothing unchecked)."""
    data = data if isinstance(data, Mapping) else {}
    return config(data, data["lang"] if data.get("lang") in LANGUAGES else "zh")


def _stored_alarm(alarm) -> dict | None:
    """The wall-alarm store if it has the shape `wall.pending_alarm` writes; None for anything else."""
    if not isinstance(alarm, Mapping):
        return None
    texts = ("id", "kind", "device", "place", "raised_at")
    if not all(isinstance(alarm.get(key), str) for key in texts):
        return None
    if not isinstance(alarm.get("cleared_at"), str | None):
        return None
    for key in ("lon", "lat"):
        value = alarm.get(key)
        if value is not None and (not isinstance(value, int | float) or not math.isfinite(value)):
            return None
    return dict(alarm)


def _period():
    return View.from_query({}, current_warehouse().info.data_through).period


@callback(
    Output({"type": "wall-kpis", "board": ALL}, "children"),
    Output("wall-ticker", "children"),
    Output("wall-points", "children"),
    Output("wall-banner", "children"),
    Output("wall-banner", "className"),
    Output("wall-release", "data"),
    Output("wall-alarm", "data"),
    Input("wall-refresh", "n_intervals"),
    State("wall-config", "data"),
    State("wall-seen", "data"),
    State("wall-release", "data"),
    State("wall-alarm", "data"),
)
@requires(Permission.VIEW, screens=True)
def _refresh(_n, settings, seen, release, shown_alarm):
    """Every refresh: the numbers (cached per release), the ticker, 本期要点, the banner, and any new high-level
    alarm."""
    settings = _stored_config(settings)
    seen = [each for each in seen if isinstance(each, str)] if isinstance(seen, list) else []
    shown_alarm = _stored_alarm(shown_alarm)
    warehouse = current_warehouse()
    lang = settings["lang"]
    period = _period()
    groups = {board.id: board.groups[0].kpis for board in BOARDS}
    offline = wall.offline_devices(warehouse, period)  # beside every alarm count, on the boards and the ticker
    strips = [
        wall.strip(warehouse, groups[output["id"]["board"]], period, lang, offline) for output in ctx.outputs_list[0]
    ]
    banner, banner_class = wall.stale_banner(warehouse, lang)
    run_id = warehouse.info.run_id
    alarm = wall.pending_alarm(warehouse, settings["alarm_hours"], seen or [], settings["alarm_level"], lang)
    same_alarm = (alarm or {}).get("id") == (shown_alarm or {}).get("id")
    return (
        strips,
        wall.ticker(warehouse, period, settings["alarm_hours"], lang, offline),
        wall.points_line(warehouse, period, lang),
        banner,
        banner_class,
        dash.no_update if run_id == release else run_id,
        dash.no_update if same_alarm else alarm,
    )


@callback(
    Output({"type": "wall-chart", "board": ALL, "index": ALL}, "figure"),
    Input("wall-release", "data"),
    State("wall-config", "data"),
)
@requires(Permission.VIEW, screens=True)
def _charts(_release, settings):
    """The boards' charts, redrawn only when the release changes."""
    settings = _stored_config(settings)
    view = View.from_query({}, current_warehouse().info.data_through)
    boards = {board.id: board for board in BOARDS}
    figures = []
    for output in ctx.outputs_list:
        board = boards[output["id"]["board"]]
        chart = board.charts[output["id"]["index"]]
        figures.append(wall_figure(render_chart(board, chart, view, settings["lang"], "dark"), chart))
    return figures


def wall_figure(figure, chart: Chart) -> dict:
    """A page's figure made for the wall: sized by its slot, large type, transparent behind."""
    figure = as_dict(figure)
    layout = figure.setdefault("layout", {})
    layout.pop("height", None)
    layout["autosize"] = True
    layout["font"] = {**(layout.get("font") or {}), "size": 20}
    if isinstance(layout.get("title"), dict):
        layout["title"] = {**layout["title"], "font": {"size": 28}}
    layout["paper_bgcolor"] = "rgba(0,0,0,0)"
    layout["plot_bgcolor"] = "rgba(0,0,0,0)"
    if chart.kind == "map" and isinstance(layout.get("map"), dict) and layout["map"].get("style") == "white-bg":
        layout["map"] = {**layout["map"], "style": wall.DARK_MAP_STYLE}
    layout["margin"] = (
        {"l": 10, "r": 10, "t": 60, "b": 10} if chart.kind == "map" else {"l": 70, "r": 30, "t": 70, "b": 50}
    )
    if chart.kind == "cloud":
        for trace in figure.get("data", []):
            font = trace.get("textfont") or {}
            if isinstance(font.get("size"), list):
                trace["textfont"] = {**font, "size": [size * WALL_CLOUD_SCALE for size in font["size"]]}
    return figure


@callback(
    Output("wall-alert-map", "figure"),
    Output("wall-alert-text", "children"),
    Input("wall-alarm", "data"),
    State("wall-config", "data"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW, screens=True)
def _alert(alarm, settings):
    alarm = _stored_alarm(alarm)
    if not alarm:
        return dash.no_update, []
    lang = _stored_config(settings)["lang"]
    state = (
        t("wall_alert_cleared", lang, time=alarm["cleared_at"]) if alarm["cleared_at"] else t("wall_alert_live", lang)
    )
    text = [
        html.Div(alarm["kind"], className="wall-alert-kind"),
        html.Div(alarm["place"], className="wall-alert-place"),
        html.Div(alarm["device"], className="wall-alert-device"),
        html.Div(alarm["raised_at"], className="wall-alert-time"),
        html.Div(state, className="wall-alert-state"),
    ]
    figure = wall.alarm_map(current_warehouse(), alarm, lang) if alarm["lon"] is not None else dash.no_update
    return figure, text


clientside_callback(
    ClientsideFunction(namespace="cockpitWall", function_name="tick"),
    Output({"type": "wall-board", "board": ALL}, "className"),
    Output("wall-alert", "className"),
    Output("wall-seen", "data"),
    Output("wall-state", "data"),
    Output("wall-clock", "children"),
    Output("wall-board-title", "children"),
    Input("wall-tick", "n_intervals"),
    Input("wall-ack", "n_clicks"),
    State("wall-alarm", "data"),
    State("wall-config", "data"),
    State("wall-seen", "data"),
    State("wall-state", "data"),
)
