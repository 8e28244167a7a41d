"""考核排名 · scorecards: each department, community or grid ranked by its monthly 综合指标值.

The cards are `cockpit/metrics/scorecards.yaml`; the numbers are `standings()` over the reader's scoped
warehouse, as the monthly 考核通报 prints them. Each KPI value links to the page that shows its records,
narrowed to the object and the month. Server-rendered: the card and the month are in the URL.
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import dcc, html

from cockpit.components.board import REGISTERED
from cockpit.components.briefs import SCORECARDS_PATH
from cockpit.components.format import format_value, metric_name
from cockpit.data import NoRelease, current_warehouse, first_data_day
from cockpit.i18n import current_language, t
from cockpit.metrics import Period, get_metric
from cockpit.metrics.scorecards import (
    MONTHS_SHOWN,
    Scorecard,
    assessable_months,
    choose_month,
    default_scorecards,
    marks,
    month_period,
    points_column,
    points_text,
    rank_change_text,
    standings,
    warehouse_source,
)
from cockpit.view import View

dash.register_page(
    __name__,
    path=SCORECARDS_PATH,
    name=t("scorecards", "zh"),
    title=f"{t('scorecards', 'zh')} · 街道数字驾驶舱",
    order=7,
)


def records_link(kpi: str, obj: str, key: str, month: Period) -> str:
    """The page that shows the KPI's records, narrowed to the object and the month (its own drill URL)."""
    board = next((b for b in REGISTERED.values() if kpi in b.kpis), None)
    path = board.path if board else f"/{get_metric(kpi).module}"
    view = View("custom", month, {obj: key}, kpi=kpi)
    return path + view.to_search()


def _rank_change(row, lang: str) -> html.Span:
    text = rank_change_text(row["rank_change"], row["rank"], t("rank_new", lang))
    colour = "text-success" if text.startswith("↑") else "text-danger" if text.startswith("↓") else "text-secondary"
    return html.Span(text, className=colour)


def ranking_table(card: Scorecard, frame, month: Period, lang: str) -> html.Table:
    head = [t("rank", lang), t("rank_change", lang), t(card.object, lang), t("composite_score", lang)]
    head += [
        f"{metric_name(get_metric(c.kpi), lang)}（{c.weight:g}{t('score_points', lang)}）" for c in card.components
    ]
    head += [t("deductions", lang)]
    rows = []
    for record, mark in zip(frame.to_dict("records"), marks(frame), strict=True):
        rank = record["rank"]
        cells = [
            html.Td("—" if rank != rank else f"{int(rank)}"),
            html.Td(_rank_change(record, lang)),
            html.Td(record["label"], className="scorecard-object"),
            html.Td(points_text(record["composite"]), className="scorecard-composite"),
        ]
        for component in card.components:
            metric = get_metric(component.kpi)
            points = record[points_column(component.kpi)]
            if points is None or points != points:  # no value to score this month: nothing to drill into
                cells.append(html.Td("—", className="text-secondary"))
                continue
            cells.append(
                html.Td(
                    [
                        dcc.Link(
                            format_value(record[component.kpi], metric.unit, lang),
                            href=records_link(component.kpi, card.object, record["key"], month),
                        ),
                        html.Small(f" {points_text(points)}", className="text-secondary"),
                    ]
                )
            )
        deducted = [
            html.Div(
                [
                    dcc.Link(
                        f"{metric_name(get_metric(d.kpi), lang)} "
                        f"{format_value(record[d.kpi], get_metric(d.kpi).unit, lang)}",
                        href=records_link(d.kpi, card.object, record["key"], month),
                    ),
                    html.Small(f" {record[points_column(d.kpi)]:+.1f}", className="text-danger"),
                ]
            )
            for d in card.deductions
            if record[points_column(d.kpi)] < 0
        ]
        cells.append(html.Td(deducted or "—"))
        rows.append(html.Tr(cells, className=f"scorecard-{mark}" if mark else None))
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
        className="table table-sm scorecard-table",
        id="scorecard-table",
    )


def _choices(cards, current: Scorecard, month: str, months: list[str], lang: str) -> html.Div:
    def link(card_id: str, month_text: str) -> str:
        return "/scorecards?" + urlencode({"card": card_id, "month": month_text})

    return html.Div(
        [
            html.Div(
                [
                    dcc.Link(
                        card.name(lang),
                        href=link(card.id, month),
                        className="btn btn-sm " + ("btn-primary" if card.id == current.id else "btn-outline-primary"),
                    )
                    for card in cards.values()
                ],
                className="d-flex gap-2 flex-wrap",
            ),
            html.Div(
                [
                    dcc.Link(
                        m,
                        href=link(current.id, m),
                        className="btn btn-sm " + ("btn-secondary" if m == month else "btn-outline-secondary"),
                    )
                    for m in months
                ],
                className="d-flex gap-1 flex-wrap mt-2",
                id="scorecard-months",
            ),
        ],
        className="mb-3",
    )


def layout(card: str | None = None, month: str | None = None, **_query) -> html.Div:
    lang = current_language()
    title = html.H2(t("scorecards", lang), className="page-title")
    try:
        warehouse = current_warehouse()
        data_through = warehouse.info.data_through
    except NoRelease:
        return html.Div([title, html.P(t("no_release", lang), className="alert alert-warning")], className="page")
    cards = default_scorecards()
    months = assessable_months(data_through, first_data_day(warehouse), MONTHS_SHOWN)
    chosen = cards.get(card if isinstance(card, str) else "", next(iter(cards.values())))
    requested = month
    month, refused = choose_month(requested, months)
    if month is None:  # not one complete month of data yet
        return html.Div([title, html.P(t("scorecard_empty", lang), className="text-secondary")], className="page")
    notes = []
    if refused:
        text = t("scorecard_bad_month", lang).format(month=str(requested)[:20])
        notes.append(html.Div(text, className="alert alert-warning py-1"))
    period = month_period(month)
    frame = standings(chosen, warehouse_source(warehouse, lang), period)
    body = (
        ranking_table(chosen, frame, period, lang)
        if frame["rank"].notna().any()
        else html.P(t("scorecard_empty", lang), className="text-secondary")
    )
    return html.Div(
        [
            title,
            *notes,
            _choices(cards, chosen, month, months, lang),
            html.H4(f"{chosen.name(lang)} · {month}", className="mt-2"),
            html.Div(body, className="table-responsive card p-2"),
            html.P(
                [t("scorecard_rule", lang), " ", dcc.Link(t("metrics", lang), href="/metrics")],
                className="text-secondary small mt-2",
            ),
        ],
        className="page",
    )
