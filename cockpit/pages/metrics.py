"""指标口径 · metric definitions: the whole catalog, searchable (definition, formula, sources, thresholds)."""

from __future__ import annotations

import dash
import dash_ag_grid as dag
from dash import dcc, html

from cockpit.components.format import metric_definition, metric_name, threshold_text
from cockpit.i18n import current_language, t
from cockpit.metrics import default_catalog, explain

dash.register_page(__name__, path="/metrics", name="指标口径", title="指标口径 · 街道数字驾驶舱", order=6)


def catalog_rows(lang: str) -> list[dict]:
    rows = []
    for metric in default_catalog().values():
        info = explain(metric.id)
        rows.append(
            {
                "id": metric.id,
                "name": metric_name(metric, lang),
                "module": t(metric.module, lang),
                "unit": metric.unit,
                "definition": metric_definition(metric, lang),
                "formula": info["formula"],
                "sources": ", ".join(metric.sources),
                "good": t(f"good_{metric.good}", lang),
                "thresholds": threshold_text(metric, lang),
                "dimensions": ", ".join(metric.dimensions),
            }
        )
    return rows


def layout(**query) -> html.Div:
    lang = current_language()
    columns = [
        ("name", t("kpi", lang), 160),
        ("id", "id", 170),
        ("module", t("module", lang), 100),
        ("unit", t("unit", lang), 70),
        ("definition", t("definition", lang), 420),
        ("formula", t("formula", lang), 360),
        ("sources", t("sources", lang), 180),
        ("good", t("good", lang), 100),
        ("thresholds", t("thresholds", lang), 160),
        ("dimensions", t("dimensions", lang), 220),
    ]
    search = query.get("q", "") if isinstance(query.get("q", ""), str) else ""
    return html.Div(
        [
            html.H2(t("metrics", lang), className="page-title"),
            dcc.Input(
                id="metrics-search",
                type="search",
                placeholder=t("search", lang),
                value=search,
                debounce=False,
                className="form-control metrics-search",
            ),
            dag.AgGrid(
                id="metrics-table",
                rowData=catalog_rows(lang),
                columnDefs=[
                    {
                        "field": field,
                        "headerName": header,
                        "width": width,
                        "wrapText": field == "definition",
                        "autoHeight": field == "definition",
                        "tooltipField": field,
                    }
                    for field, header, width in columns
                ],
                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                dashGridOptions={"quickFilterText": search, "tooltipShowDelay": 300},
                style={"height": "75vh"},
            ),
        ],
        className="page",
        id="metrics-page",
    )


dash.clientside_callback(
    "function(text) { return {quickFilterText: text || ''}; }",
    dash.Output("metrics-table", "dashGridOptions"),
    dash.Input("metrics-search", "value"),
    prevent_initial_call=True,
)
