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
from cockpit.components.format import change_tone, format_change, format_time, format_value, metric_name
from cockpit.components.kpi import through_note
from cockpit.components.theme import STATUS_COLOURS, TONE_COLOURS
from cockpit.data import Warehouse
from cockpit.i18n import t
from cockpit.metrics import Metric, Period, get_metric
from cockpit.metrics.catalog import value_labels
from cockpit.modules import MODULES, STREET
from cockpit.view import View
from pipelines.freshness import freshness_status

# Counts that read as "nothing wrong" when zero: the wall puts the offline-device count beside them.
ALARM_KPIS = ("live_alarms", "live_high_alarms", "alarms_raised")
# A map style of the wall's own: a dark background, no tiles and no glyphs to fetch.
DARK_MAP_STYLE = {
    "version": 8,
    "sources": {},
    "layers": [{"id": "background", "type": "background", "paint": {"background-color": "#0b1626"}}],
}
TICKER_ALARMS = 12
TICKER_OVERDUE = 8

_ALARMS_SQL = """
SELECT a.alarm_id, a.alarm_kind, a.level, a.raised_at, a.cleared_at, a.is_live, a.lon, a.lat,
       d.name AS device, c.name AS community, g.name AS grid
FROM fct_alarm AS a
LEFT JOIN dim_device AS d USING (device_id)
LEFT JOIN dim_community AS c ON c.community_id = a.community_id
LEFT JOIN dim_grid AS g ON g.unit_id = a.grid_id
WHERE (a.is_live OR a.raised_at >= $since) AND {scope}
ORDER BY a.raised_at DESC
LIMIT 200
"""
_OVERDUE_SQL = """
SELECT t.ticket_id, coalesce(k.name_zh, t.category) AS category, coalesce(t.title, t.content) AS title,
       c.name AS community, t.deadline_at
FROM fct_ticket AS t
LEFT JOIN dim_category AS k USING (category)
LEFT JOIN dim_community AS c ON c.community_id = t.community_id
WHERE t.is_open_overdue AND t.duplicate_of IS NULL AND t.deadline_at >= $since AND {scope}
ORDER BY t.deadline_at DESC
LIMIT $limit
"""


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
    change = None if row is None else row.get("change_mom")
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
        html.Div(
            f"{t('mom', lang)} {format_change(change, metric.change_kind, lang)}",
            className="wall-kpi-change",
            style={"color": TONE_COLOURS[change_tone(metric, change)]},
        ),
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


def _in_scope(sql: str, warehouse: Warehouse, kpi: str, alias: str) -> tuple[str, dict]:
    """A list's SQL kept to the reader's scope, by the columns `kpi` (a KPI over the same fact) is scoped by."""
    scope = warehouse.row_scope
    if scope is None:
        return sql.format(scope="true"), {}
    columns = {dimension: f"{alias}.{column}" for dimension, column in get_metric(kpi).columns.items()}
    return sql.format(scope=" AND ".join(f"({each})" for each in scope.conditions(columns))), scope.params()


def recent_alarms(warehouse: Warehouse, hours: int) -> pd.DataFrame:
    """Live alarms and those raised in the last `hours` of data, newest first (cached per release)."""
    since = warehouse.info.as_of - timedelta(hours=hours)

    def build() -> pd.DataFrame:
        sql, params = _in_scope(_ALARMS_SQL, warehouse, "live_alarms", "a")
        with warehouse.cursor() as cur:
            return cur.execute(sql, {"since": since, **params}).df()

    return warehouse.memo(("wall-alarms", hours), build)


def newly_overdue(warehouse: Warehouse, hours: int = 24) -> pd.DataFrame:
    """Open tickets that went past their deadline in the last `hours` of data, newest first."""
    since = warehouse.info.as_of - timedelta(hours=hours)

    def build() -> pd.DataFrame:
        sql, params = _in_scope(_OVERDUE_SQL, warehouse, "open_overdue_tickets", "t")
        with warehouse.cursor() as cur:
            return cur.execute(sql, {"since": since, "limit": TICKER_OVERDUE, **params}).df()

    return warehouse.memo(("wall-overdue", hours), build)


def _place(row) -> str:
    return " ".join(str(part) for part in (row.community, row.grid) if isinstance(part, str))


def ticker(warehouse: Warehouse, period: Period, hours: int, lang: str, offline: float | None) -> list:
    """The bottom line: live-alarm and offline counts, then alarms and newly overdue tickets, newest first."""
    alarms = recent_alarms(warehouse, hours)
    labels = value_labels("alarm_kind")
    live = warehouse.metric("live_alarms", period, compare=False)["value"].iloc[0]
    items = []
    for row in alarms.head(TICKER_ALARMS).itertuples():
        state = t("wall_live", lang) if row.is_live else t("wall_cleared", lang)
        kind = labels.get(row.alarm_kind, row.alarm_kind)
        items.append(
            html.Span(
                f"{format_time(row.raised_at, 'short')} {kind} · {_place(row)} · {state}",
                className=f"ticker-item level-{row.level}",
            )
        )
    for row in newly_overdue(warehouse).itertuples():
        items.append(
            html.Span(
                f"{t('wall_overdue', lang)} {format_time(row.deadline_at, 'short')} {row.category} · "
                f"{row.community or ''} · {str(row.title)[:28]}",
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


def pending_alarm(warehouse: Warehouse, hours: int, seen: list[str], level: str = "high") -> dict | None:
    """The newest alarm at `level` or above in the last `hours` that this wall has not shown yet."""
    alarms = recent_alarms(warehouse, hours)
    levels = LEVELS[LEVELS.index(level) :] if level in LEVELS else ("high",)
    high = alarms[alarms["level"].isin(levels) & ~alarms["alarm_id"].isin(seen or [])]
    if high.empty:
        return None
    row = next(high.itertuples())
    labels = value_labels("alarm_kind")
    return {
        "id": row.alarm_id,
        "kind": labels.get(row.alarm_kind, row.alarm_kind),
        "device": row.device if isinstance(row.device, str) else "",
        "place": _place(row),
        "raised_at": format_time(row.raised_at),
        "cleared_at": format_time(row.cleared_at, "clock") or None,
        "lon": None if pd.isna(row.lon) else float(row.lon),
        "lat": None if pd.isna(row.lat) else float(row.lat),
    }


def alarm_map(warehouse: Warehouse, alarm: dict, lang: str) -> dict:
    """The street's communities in outline with the alarm's location marked (no text layers: no glyph fetches)."""
    _, _, collection = map_shapes(View.from_query({}, warehouse.info.data_through))
    figure = base_figure("", "dark", height=600).to_plotly_json()
    layout = figure["layout"]
    layout.pop("height", None)
    layout.update(
        autosize=True,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        map={
            "style": DARK_MAP_STYLE,
            "center": {"lon": alarm["lon"], "lat": alarm["lat"]},
            "zoom": 14,
            "layers": [
                {"source": collection, "type": "fill", "color": "#1b2a3f", "opacity": 0.9, "below": "traces"},
                {"source": collection, "type": "line", "color": "#6b8bb5", "line": {"width": 2}, "below": "traces"},
            ],
        },
        showlegend=False,
    )
    figure["data"] = [
        {
            "type": "scattermap",
            "lon": [alarm["lon"]] * 2,
            "lat": [alarm["lat"]] * 2,
            "mode": "markers",
            "marker": {"size": [90, 34], "color": ["rgba(255,59,48,0.35)", "#ff3b30"]},
            "hoverinfo": "skip",
        }
    ]
    return figure
