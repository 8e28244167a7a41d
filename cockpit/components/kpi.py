"""KPI tiles: the value in its status colour, 环比/同比, and its 统计口径, sources and load time on hover or click.

A tile is a handful of elements: every element of a page costs the browser on every update of the page (Dash
re-checks each mounted component per store update, and a page's first render is one update per component),
so the explanation behind a tile's ⓘ is not carried by each tile but made on click, in the board's one
explanation popover (`explain_popover`, filled by `_explain`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, html
from dash.exceptions import PreventUpdate

from cockpit.components.format import (
    format_value,
    metric_definition,
    metric_name,
    row_change,
    threshold_text,
)
from cockpit.components.theme import STATUS_COLOURS, TONE_COLOURS
from cockpit.data import current_warehouse
from cockpit.i18n import current_language, dimension_name, t
from cockpit.metrics import Metric, explain, get_metric

EXPLAIN_ID = "kpi-explain"  # the board's one popover explaining a tile (统计口径, formula, thresholds)
EXPLAIN_ANCHOR = "kpi-explain-anchor"


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
    for which in ("mom", "yoy"):
        text, tone = row_change(metric, row, which, lang)
        changes.append(
            html.Span(f"{t(which, lang)} {text}", className="kpi-change", style={"color": TONE_COLOURS[tone]})
        )
    help_id = {"type": "kpi-help", "kpi": metric.id}
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
        [body, html.Span("ⓘ", id=help_id, className="kpi-help", role="button", tabIndex="0")],
        title="\n".join(explanation(metric, loaded, lang)),
        className="kpi-tile" + (" kpi-active" if active else ""),
        **{"data-kpi": metric.id, "data-status": status},
    )


def explanation_body(metric: Metric, loaded: str, lang: str) -> list:
    """What the ⓘ of a tile opens: the hover lines, the formula, and the thresholds."""
    details = [html.P(line) for line in explanation(metric, loaded, lang)]
    details.append(html.P(f"{t('formula', lang)}：", className="mb-0"))
    details.append(html.Code(explain(metric.id)["formula"], className="kpi-formula"))
    if metric.thresholds is not None:
        bounds = threshold_text(metric, lang)
        if metric.thresholds.prorate is not None:
            bounds += t("prorated", lang, unit=t(f"prorate_{metric.thresholds.prorate}", lang))
        details.append(html.P(f"{t('thresholds', lang)}：{bounds}", className="mt-2 mb-0"))
    return [dbc.PopoverHeader(metric_name(metric, lang)), dbc.PopoverBody(details)]


def explain_popover() -> list:
    """The board's one explanation popover, and the hidden mark it points at until a ⓘ is clicked."""
    return [
        html.Span(id=EXPLAIN_ANCHOR, className="kpi-explain-anchor"),
        dbc.Popover(id=EXPLAIN_ID, target=EXPLAIN_ANCHOR, is_open=False, trigger="legacy", placement="bottom"),
    ]


# Which ⓘ was clicked is the browser's to say (a tile appearing is not a click, and the page load costs no
# request); the explanation itself is made by the server, once the popover points at a new tile.
clientside_callback(
    """
    function (clicks, target) {
        const context = window.dash_clientside.callback_context;
        const fired = context.triggered.length ? context.triggered[0] : null;
        if (!fired || !fired.value) {
            return window.dash_clientside.no_update;
        }
        const clicked = JSON.parse(fired.prop_id.slice(0, fired.prop_id.lastIndexOf('.')));
        const same = target && typeof target === 'object' && target.kpi === clicked.kpi;
        return same ? window.dash_clientside.no_update : clicked;
    }
    """,
    Output(EXPLAIN_ID, "target"),
    Input({"type": "kpi-help", "kpi": ALL}, "n_clicks"),
    State(EXPLAIN_ID, "target"),
    prevent_initial_call=True,
)


@callback(
    Output(EXPLAIN_ID, "children"),
    Output(EXPLAIN_ID, "is_open"),
    Input(EXPLAIN_ID, "target"),
    prevent_initial_call=True,
)
def _explain(target):
    """The popover now points at a tile's ⓘ: fill it with that KPI's explanation, open. (A second click on the
    same ⓘ is the popover's own: its legacy trigger closes it, as a click anywhere else does.)"""
    if not isinstance(target, dict) or target.get("type") != "kpi-help":
        raise PreventUpdate
    try:
        metric = get_metric(target.get("kpi"))
    except ValueError:
        raise PreventUpdate from None
    loaded = f"{current_warehouse().info.built_at:%Y-%m-%d %H:%M}"
    return explanation_body(metric, loaded, current_language()), True
