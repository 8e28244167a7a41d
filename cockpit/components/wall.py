"""Pieces of the wall display (/wall): big KPI tiles, the alarm ticker, the freshness banner, the alarm map.

Everything is read through the warehouse cache, keyed by release: a wall that
refreshes every few seconds re-reads cached answers and never recomputes; its
numbers change only when a new release is published.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dash import html

from cockpit.components.board import Board, KpiGroup, map_shapes
from cockpit.components.charts import base_figure
from cockpit.components.format import format_time, format_value, metric_name, row_change
from cockpit.components.kpi import through_note
from cockpit.components.map import geo_frame
from cockpit.components.points import key_points
from cockpit.components.theme import STATUS_COLOURS, TONE_COLOURS
from cockpit.components.warning import surge_words, warning_names
from cockpit.data import Warehouse
from cockpit.i18n import t
from cockpit.metrics import Metric, Period, get_metric
from cockpit.modules import MODULES, STREET
from cockpit.view import View
from pipelines.freshness import freshness_status

# Counts that read as "nothing wrong" when zero: the wall puts the offline-device count beside them.
ALARM_KPIS = ("live_alarms", "live_high_alarms", "alarms_raised")
# The alarm takeover's map: the neighbourhood of the alarm, about 2 km either side (degrees of lon, lat).
ALARM_MAP_HALF = (0.02, 0.012)
ALARM_MAP_BACKGROUND = "#0b1626"
# A MapLibre style of the wall's own, for a board's map over tiles: a dark background, no glyphs to fetch.
DARK_MAP_STYLE = {
    "version": 8,
    "sources": {},
    "layers": [{"id": "background", "type": "background", "paint": {"background-color": ALARM_MAP_BACKGROUND}}],
}
TICKER_ALARMS = 12
TICKER_OVERDUE = 8
# Surge alarms still running in the latest TICKER_SURGE_DAYS days loaded (cockpit/metrics/warning.py).
TICKER_SURGES, TICKER_SURGE_DAYS = 6, 2

# The wall's lists are the records of catalog KPIs, newest first: what the counts beside them count.
NEWEST_RAISED = ({"colId": "raised_at", "sort": "desc"},)
ALARM_ROWS = 200


# One board per module: its six headline KPIs and two headline charts (cockpit/modules.py), the street's first.
BOARDS = tuple(
    Board(
        module.id,
        "/wall",
        order,
        groups=(KpiGroup(module.headline),),
        charts=module.charts,
        map_kpis=(module.map_kpi,) if module.map_kpi else (),
    )
    for order, module in enumerate((STREET, *MODULES.values()))
)
BOARD_IDS = tuple(board.id for board in BOARDS)


def text_width_em(text: str) -> float:
    """About how wide `text` is set in the wall's font, in em, never less than it is.

    An ideograph (and %, —, arrows) is 1 em in Noto Sans CJK; its digits are 0.59 em, capitals up to 0.85.
    wall.css sizes a KPI value by it (font-size = tile width / this), so a value shrinks to fit its tile.
    """
    wide = sum(1 for char in text if unicodedata.east_asian_width(char) in "WFA" or char in "%—")
    capitals = sum(1 for char in text if char.isascii() and char.isupper())
    return round(wide + 0.85 * capitals + 0.65 * (len(text) - wide - capitals), 2)


def wall_tile(metric: Metric, row: Mapping[str, Any] | None, lang: str, offline: float | None = None) -> html.Div:
    """A KPI readable from across the room: name, big value in its status colour, 环比."""
    value = None if row is None else row.get("value")
    status = "none" if row is None else row.get("status", "none")
    change, tone = row_change(metric, row, "mom", lang)
    text = format_value(value, metric.unit, lang)
    parts = [
        html.Div(metric_name(metric, lang), className="wall-kpi-name"),
        html.Div(
            text,
            className=f"wall-kpi-value status-{status}",
            style={
                "--value-em": f"{max(text_width_em(text), 1)}",
                **({"color": STATUS_COLOURS[status]} if status != "none" else {}),
            },
        ),
        html.Div(f"{t('mom', lang)} {change}", className="wall-kpi-change", style={"color": TONE_COLOURS[tone]}),
    ]
    through = through_note(row, lang)
    if through is not None:
        parts.append(html.Div(through, className="wall-kpi-through"))
    if offline is not None:
        parts.append(
            html.Div(t("wall_offline", lang, count=format_value(offline, "个", lang)), className="wall-offline")
        )
    return html.Div(parts, className=f"wall-kpi status-{status}", **{"data-kpi": metric.id, "data-status": status})


def strip(
    warehouse: Warehouse, kpis: tuple[str, ...], period: Period, lang: str, offline: float | None
) -> list[html.Div]:
    """A board's tiles; `offline` (devices offline) goes beside every alarm count."""
    tiles = []
    for kpi in kpis:
        frame = warehouse.metric(kpi, period)
        row = frame.iloc[0].to_dict() if not frame.empty else None
        tiles.append(wall_tile(get_metric(kpi), row, lang, offline if kpi in ALARM_KPIS else None))
    return tiles


def offline_devices(warehouse: Warehouse, period: Period) -> float | None:
    frame = warehouse.metric("devices_offline", period, compare=False)
    return None if frame.empty else frame["value"].iloc[0]


def _latest_day(warehouse: Warehouse) -> Period:
    """The last day of data: stock KPIs over it are read "at as_of" (live alarms, open overdue tickets)."""
    through = warehouse.info.data_through
    return Period(through, through)


def recent_alarms(warehouse: Warehouse, hours: int) -> pd.DataFrame:
    """The live alarms and those raised in the last `hours` of data, newest first (cached per release and scope).

    The records of the catalog's `live_alarms` and `alarms_raised`: the list is what the counts beside it count.
    `is_live` says which are live; `device` is the device's name.
    """
    since = warehouse.info.as_of - timedelta(hours=hours)

    def build() -> pd.DataFrame:
        latest = _latest_day(warehouse)
        live, _ = warehouse.records("live_alarms", latest, sort=NEWEST_RAISED, limit=ALARM_ROWS, with_count=False)
        window = Period(min(since.date(), latest.end), latest.end)
        raised, _ = warehouse.records("alarms_raised", window, sort=NEWEST_RAISED, limit=ALARM_ROWS, with_count=False)
        raised = raised[raised["raised_at"] >= since]
        alarms = pd.concat([live, raised[~raised["alarm_id"].isin(live["alarm_id"])]], ignore_index=True)
        alarms["is_live"] = alarms["alarm_id"].isin(live["alarm_id"])
        alarms["device"] = alarms["device_id"].map(warehouse.code_list_names("device", "zh"))
        return alarms.sort_values("raised_at", ascending=False, kind="stable").head(ALARM_ROWS).reset_index(drop=True)

    return warehouse.memo(("wall-alarms", hours), build)


def newly_overdue(warehouse: Warehouse, hours: int = 24) -> pd.DataFrame:
    """Open tickets that went past their deadline in the last `hours` of data, newest first: the most recent
    records of the catalog's `open_overdue_tickets`."""
    since = warehouse.info.as_of - timedelta(hours=hours)

    def build() -> pd.DataFrame:
        tickets, _ = warehouse.records(
            "open_overdue_tickets",
            _latest_day(warehouse),
            sort=[{"colId": "deadline_at", "sort": "desc"}],
            limit=TICKER_OVERDUE,
            with_count=False,
        )
        return tickets[tickets["deadline_at"] >= since].reset_index(drop=True)

    return warehouse.memo(("wall-overdue", hours), build)


def _named(warehouse: Warehouse, kpi: str, row, column: str, lang: str) -> str:
    """A code of `row` by its name in `lang` (cockpit.labels), the code itself when it has none."""
    code = getattr(row, column)
    if not isinstance(code, str):
        return ""
    return warehouse.code_names(kpi, lang).get(column, {}).get(code, code)


def _place(warehouse: Warehouse, kpi: str, row, lang: str) -> str:
    return " ".join(
        name for name in (_named(warehouse, kpi, row, column, lang) for column in ("community_id", "grid_id")) if name
    )


def recent_surges(warehouse: Warehouse) -> list:
    """The surge alarms of the latest TICKER_SURGE_DAYS days loaded, newest first."""
    through = warehouse.info.data_through
    return warehouse.surges(Period(through - timedelta(days=TICKER_SURGE_DAYS - 1), through))


def ticker(warehouse: Warehouse, period: Period, hours: int, lang: str, offline: float | None) -> list:
    """The bottom line: live-alarm and offline counts, then alarms, surges of ticket calls and newly overdue
    tickets, newest first."""
    alarms = recent_alarms(warehouse, hours)
    live = warehouse.metric("live_alarms", period, compare=False)["value"].iloc[0]
    items = []
    for row in alarms.head(TICKER_ALARMS).itertuples():
        state = t("wall_live", lang) if row.is_live else t("wall_cleared", lang)
        kind = _named(warehouse, "live_alarms", row, "alarm_kind", lang)
        place = _place(warehouse, "live_alarms", row, lang)
        items.append(
            html.Span(
                f"{format_time(row.raised_at, 'short')} {kind} · {place} · {state}",
                className=f"ticker-item level-{row.level}",
            )
        )
    names = warning_names(warehouse, lang)
    for surge in recent_surges(warehouse)[:TICKER_SURGES]:
        items.append(
            html.Span(f"{t('wall_surge', lang)} {surge_words(surge, names, lang)}", className="ticker-item surge")
        )
    for row in newly_overdue(warehouse).itertuples():
        category = _named(warehouse, "open_overdue_tickets", row, "category", lang)
        community = _named(warehouse, "open_overdue_tickets", row, "community_id", lang)
        title = row.title if isinstance(row.title, str) and row.title else str(row.content or "")
        items.append(
            html.Span(
                f"{t('wall_overdue', lang)} {format_time(row.deadline_at, 'short')} {category} · "
                f"{community} · {title[:28]}",
                className="ticker-item overdue",
            )
        )
    if not items:
        items.append(html.Span(t("wall_quiet", lang), className="ticker-item"))
    counts = html.Div(
        [
            html.Span(
                t("wall_live_count", lang, count=format_value(live, "件", lang)),
                className="ticker-count",
                id="wall-live-count",
            ),
            html.Span(
                t("wall_offline", lang, count=format_value(offline, "个", lang)),
                className="ticker-count offline",
                id="wall-offline-count",
            ),
        ],
        className="ticker-counts",
    )
    # The items twice, so the CSS marquee loops without a gap.
    return [counts, html.Div(html.Div([*items, *items], className="ticker-track"), className="ticker-window")]


def points_line(warehouse: Warehouse, period: Period, lang: str) -> list:
    """本期要点 (cockpit/components/points.py), the overview's and the brief's sentences: one shown at a time,
    turned by wall.js; the first is shown until it runs."""
    points = warehouse.memo(("wall-points", str(period), lang), lambda: key_points(warehouse, period, {}, lang))
    return [html.Div(point, className="wall-point shown" if i == 0 else "wall-point") for i, point in enumerate(points)]


# The freshness scale (pipelines/freshness.py) as the banner's class: the top bar's badge uses the same scale.
BANNER_CLASSES = {"green": "wall-banner hidden", "amber": "wall-banner late", "red": "wall-banner stale"}


def stale_banner(warehouse: Warehouse, lang: str, now: datetime | None = None) -> tuple[str, str]:
    """(text, class): a banner saying since when the data has not been updated (amber, then red), or nothing.

    A broken release CURRENT names (the wall shows the newest one that opens) is said first, in red.
    """
    info = warehouse.info
    if info.problem is not None:
        return t("release_problem", lang, problem=info.problem, run_id=info.run_id), BANNER_CLASSES["red"]
    age = warehouse.age_hours(now)
    status = freshness_status(age, warehouse.stale_after_hours)
    if status == "green":
        return "", BANNER_CLASSES[status]
    text = t(
        "wall_stale",
        lang,
        since=format_time(info.as_of),
        hours=int(age),
        built=format_time(info.built_at, "short"),
    )
    return text, BANNER_CLASSES[status]


LEVELS = ("low", "medium", "high")


def pending_alarm(
    warehouse: Warehouse, hours: int, seen: list[str], level: str = "high", lang: str = "zh"
) -> dict | None:
    """The newest alarm raised in the last `hours`, at `level` or above and still live, that this wall has not
    shown yet, named in `lang`. An alarm already cleared, or live since before, stays in the ticker and never
    takes the screen: across the room, a red takeover reads as something that has just happened."""
    alarms = recent_alarms(warehouse, hours)
    levels = LEVELS[LEVELS.index(level) :] if level in LEVELS else ("high",)
    since = warehouse.info.as_of - timedelta(hours=hours)
    high = alarms[
        alarms["is_live"]
        & (alarms["raised_at"] >= since)
        & alarms["level"].isin(levels)
        & ~alarms["alarm_id"].isin(seen or [])
    ]
    if high.empty:
        return None
    row = next(high.itertuples())
    return {
        "id": row.alarm_id,
        "kind": _named(warehouse, "live_alarms", row, "alarm_kind", lang),
        "device": row.device if isinstance(row.device, str) else "",
        "place": _place(warehouse, "live_alarms", row, lang),
        "raised_at": format_time(row.raised_at),
        "cleared_at": format_time(row.cleared_at, "clock") or None,
        "lon": None if pd.isna(row.lon) else float(row.lon),
        "lat": None if pd.isna(row.lat) else float(row.lat),
    }


def alarm_map(warehouse: Warehouse, alarm: dict, lang: str) -> dict:
    """The street's communities in outline with the alarm's location marked, in SVG (cockpit.components.map)."""
    _, _, collection = map_shapes(View.from_query({}, warehouse.info.data_through))
    figure = base_figure("", "dark", height=600).to_plotly_json()
    layout = figure["layout"]
    layout.pop("height", None)
    layout.update(
        autosize=True,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        geo={**geo_frame((alarm["lon"], alarm["lat"]), ALARM_MAP_HALF), "bgcolor": ALARM_MAP_BACKGROUND},
        showlegend=False,
    )
    outline = [feature["id"] for feature in collection["features"]]
    figure["data"] = [
        {
            "type": "choropleth",
            "geojson": collection,
            "featureidkey": "id",
            "locations": outline,
            "z": [0] * len(outline),
            "colorscale": [[0, "#1b2a3f"], [1, "#1b2a3f"]],
            "showscale": False,
            "marker": {"line": {"width": 2, "color": "#6b8bb5"}, "opacity": 0.9},
            "hoverinfo": "skip",
        },
        {
            "type": "scattergeo",
            "lon": [alarm["lon"]] * 2,
            "lat": [alarm["lat"]] * 2,
            "mode": "markers",
            "marker": {"size": [90, 34], "color": ["rgba(255,59,48,0.35)", "#ff3b30"], "line": {"width": 0}},
            "hoverinfo": "skip",
        },
    ]
    return figure
