"""KPI tiles: the value in its status colour, 环比/同比, and its 统计口径, sources and load time on hover or click."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from cockpit.components.format import (
    change_tone,
    format_change,
    format_value,
    metric_definition,
    metric_name,
    threshold_text,
)
from cockpit.components.theme import STATUS_COLOURS, TONE_COLOURS
from cockpit.i18n import dimension_name, t
from cockpit.metrics import Metric, explain


def explanation(metric: Metric, loaded: str, lang: str) -> list[str]:
    """The lines that explain a number: 统计口径, sources, load time (also the tile's hover text)."""
    return [
        f"{t('definition', lang)}：{metric_definition(metric, lang)}",
        f"{t('sources', lang)}：{', '.join(metric.sources)}",
        f"{t('loaded', lang)}：{loaded}",
    ]


def through_note(row: Mapping[str, Any] | None, lang: str) -> str | None:
    """'数据截至 10-31' (and why it is not rated) when the KPI's value stops before its period's end, else None.

    `row` is a row of `compute()`: its `through` is the day its sources are complete through,
    set only when that day is before the period's end.
    """
    through = None if row is None else row.get("through")
    if through is None or (isinstance(through, float) and math.isnan(through)):
        return None
    day = through.date() if isinstance(through, datetime) else through
    if not isinstance(day, date):
        return None
    text = t("through_note", lang, day=f"{day:%b} {day.day}" if lang == "en" else f"{day:%m-%d}")
    reason = row.get("status_reason")
    if isinstance(reason, str):
        text += " · " + t(f"status_reason_{reason}", lang)
    return text


def kpi_tile(
    metric: Metric,
    row: Mapping[str, Any] | None,
    *,
    lang: str,
    loaded: str,
    ignored: Sequence[str] = (),
    active: bool = False,
) -> html.Div:
    """One KPI as a clickable tile; clicking it puts the KPI in focus (its records below)."""
    value = None if row is None else row.get("value")
    status = "none" if row is None else row.get("status", "none")
    changes = []
    for key, label in (("change_mom", "mom"), ("change_yoy", "yoy")):
        change = None if row is None else row.get(key)
        changes.append(
            html.Span(
                f"{t(label, lang)} {format_change(change, metric.change_kind, lang)}",
                className="kpi-change",
                style={"color": TONE_COLOURS[change_tone(metric, change)]},
            )
        )
    info = explain(metric.id)
    help_id = {"type": "kpi-help", "kpi": metric.id}
    details = [html.P(line) for line in explanation(metric, loaded, lang)]
    details.append(html.P(f"{t('formula', lang)}：", className="mb-0"))
    details.append(html.Code(info["formula"], className="kpi-formula"))
    if metric.thresholds is not None:
        bounds = threshold_text(metric, lang)
        if metric.thresholds.prorate is not None:
            bounds += t("prorated", lang, unit=t(f"prorate_{metric.thresholds.prorate}", lang))
        details.append(html.P(f"{t('thresholds', lang)}：{bounds}", className="mt-2 mb-0"))
    note = (
        [
            html.Div(
                t("not_filtered", lang, dims="、".join(dimension_name(d, lang) for d in ignored)),
                className="kpi-note",
            )
        ]
        if ignored
        else []
    )
    through = through_note(row, lang)
    if through is not None:
        note.append(html.Div(through, className="kpi-note kpi-through"))
    # The ⓘ mark sits beside the clickable body, not inside it: a click on it must open the
    # explanation, not also bubble up as a click on the KPI (which would re-render the page).
    body = html.Div(
        [
            html.Div(html.Span(metric_name(metric, lang), className="kpi-name"), className="kpi-head"),
            html.Div(
                format_value(value, metric.unit, lang),
                className=f"kpi-value status-{status}",
                style={"color": STATUS_COLOURS[status]} if status != "none" else None,
            ),
            html.Div(changes, className="kpi-changes"),
            *note,
        ],
        id={"type": "kpi-tile", "kpi": metric.id},
        n_clicks=0,
        className="kpi-body",
    )
    return html.Div(
        [
            body,
            html.Span("ⓘ", id=help_id, className="kpi-help", role="button", tabIndex="0"),
            dbc.Popover(
                [dbc.PopoverHeader(metric_name(metric, lang)), dbc.PopoverBody(details)],
                target=help_id,
                trigger="legacy",
                placement="bottom",
            ),
        ],
        title="\n".join(explanation(metric, loaded, lang)),
        className="kpi-tile" + (" kpi-active" if active else ""),
        **{"data-kpi": metric.id, "data-status": status},
    )
