"""The record table under every page: the rows behind the KPI in focus, paged on the server, and their export.

dash-ag-grid runs in its infinite row model: the browser asks for a block of
rows with its sort and column filters, one callback answers with that block
from DuckDB, so a year of tickets never travels to the browser. The export
(CSV or Excel) is a plain download route reading the same view from its query
string, with a header stating the KPI, period, filters, data freshness and
export time. Marts hold only masked personal data, so exports do too.
"""

from __future__ import annotations

import csv
import functools
import io
from datetime import date, datetime

import dash_ag_grid as dag
import flask
import pandas as pd
from dash import MATCH, Input, Output, State, callback, html

from cockpit.components.filters import option_label
from cockpit.components.format import metric_name
from cockpit.data import current_warehouse
from cockpit.i18n import current_language, dimension_name, t
from cockpit.metrics import get_metric
from cockpit.metrics.records import EXPORT_ROW_LIMIT
from cockpit.view import FILTER_KEYS, View
from warehouse.checks import load_schema

PAGE_SIZE = 50
_NUMERIC = ("INTEGER", "BIGINT", "DOUBLE", "DECIMAL", "FLOAT", "HUGEINT", "SMALLINT", "TINYINT", "REAL")


@functools.cache
def column_docs() -> dict[str, dict[str, str]]:
    """schema.yaml's one-line description of every mart column, for header tooltips."""
    return {name: dict(spec.get("columns") or {}) for name, spec in load_schema()["models"].items()}


def column_defs(metric_id: str) -> list[dict]:
    fact = get_metric(metric_id).fact
    docs = column_docs().get(fact, {})
    defs = []
    for name, kind in current_warehouse().record_columns(metric_id):
        numeric = kind.upper().startswith(_NUMERIC)
        defs.append(
            {
                "field": name,
                "headerName": name,
                "headerTooltip": str(docs.get(name, "")),
                "filter": "agNumberColumnFilter" if numeric else "agTextColumnFilter",
                "sortable": True,
                "minWidth": 110,
            }
        )
    return defs


def describe_filters(view: View, lang: str) -> str:
    parts = [
        f"{dimension_name(key, lang)}={option_label(key, view.filters[key], lang)}"
        for key in FILTER_KEYS
        if key in view.filters
    ]
    return "；".join(parts) or t("street_total", lang)


def export_href(view: View, kpi: str, fmt: str) -> str:
    focused = view.with_kpi(kpi)
    return f"/export/records.{fmt}{focused.to_search()}"


def record_panel(page: str, view: View, kpi: str, lang: str) -> html.Div:
    metric = get_metric(kpi)
    return html.Div(
        [
            html.Div(
                [
                    html.H5(
                        t("records_of", lang, kpi=metric_name(metric, lang), period=str(view.period)),
                        className="records-title",
                        id=f"{page}-records-title",
                    ),
                    html.Span(describe_filters(view, lang), className="records-filters"),
                    *[
                        html.A(
                            t(f"export_{fmt}", lang),
                            href=export_href(view, kpi, fmt),
                            className="btn btn-sm btn-outline-primary",
                            id=f"{page}-export-{fmt}",
                            download="",
                        )
                        for fmt in ("csv", "xlsx")
                    ],
                ],
                className="records-head",
            ),
            dag.AgGrid(
                id={"type": "records", "page": page},
                columnDefs=column_defs(kpi),
                defaultColDef={"resizable": True, "floatingFilter": False},
                rowModelType="infinite",
                dashGridOptions={
                    "pagination": True,
                    "paginationPageSize": PAGE_SIZE,
                    "paginationPageSizeSelector": False,
                    "cacheBlockSize": PAGE_SIZE,
                    "maxBlocksInCache": 4,
                    "tooltipShowDelay": 300,
                    "localeText": {"noRowsToShow": t("no_data", lang)},
                },
                className="ag-theme-quartz records-grid",
                style={"height": "460px"},
            ),
        ],
        className="records card-panel",
    )


@callback(
    Output({"type": "records", "page": MATCH}, "getRowsResponse"),
    Input({"type": "records", "page": MATCH}, "getRowsRequest"),
    State({"type": "view", "page": MATCH}, "data"),
    prevent_initial_call=True,
)
def serve_rows(request, view_data):
    """One block of rows for the grid: its sort and column filters applied in DuckDB."""
    if not request or not view_data:
        return {"rowData": [], "rowCount": 0}
    view = View.from_dict(view_data)
    start, end = int(request.get("startRow", 0)), int(request.get("endRow", PAGE_SIZE))
    try:
        rows, total = current_warehouse().records(
            view_data["record_kpi"],
            view.period,
            filters=view.filters,
            sort=request.get("sortModel") or [],
            column_filters=request.get("filterModel") or {},
            offset=start,
            limit=max(end - start, 1),
        )
    except ValueError:
        return {"rowData": [], "rowCount": 0}
    return {"rowData": _json_rows(rows), "rowCount": total}


def _json_rows(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d %H:%M").where(out[column].notna(), None)
    out = out.astype(object).where(out.notna(), None)
    return [
        {key: (value.isoformat() if isinstance(value, date | datetime) else value) for key, value in row.items()}
        for row in out.to_dict("records")
    ]


def export_records(fmt: str) -> flask.Response:
    """GET /export/records.<csv|xlsx>?kpi=…&period=…&<filters>: the rows behind a KPI, with a header."""
    if fmt not in ("csv", "xlsx"):
        flask.abort(404)
    warehouse = current_warehouse()
    info = warehouse.info
    lang = current_language()
    view = View.from_query(flask.request.args.to_dict(), info.data_through)
    if view.kpi is None:
        return flask.Response("export needs ?kpi=<a KPI id of the metric catalog>\n", status=400, mimetype="text/plain")
    metric = get_metric(view.kpi)
    rows, total = warehouse.records(view.kpi, view.period, filters=view.filters, limit=EXPORT_ROW_LIMIT)
    header = [
        (t("kpi", lang), f"{metric_name(metric, lang)} ({metric.id})"),
        (t("period", lang), str(view.period)),
        (t("filters", lang), describe_filters(view, lang)),
        (t("data_through", lang), f"{info.data_through:%Y-%m-%d} ({info.run_id})"),
        (t("exported_at", lang), f"{datetime.now():%Y-%m-%d %H:%M:%S}"),
        (t("records", lang), f"{len(rows)} / {total}"),
    ]
    if info.is_demo:
        header.append((t("demo", lang), "demo"))
    name = f"{metric.id}_{view.period.start:%Y%m%d}-{view.period.end:%Y%m%d}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for key, value in header:
            writer.writerow([f"# {key}", value])
        rows.to_csv(buffer, index=False)
        # UTF-8 with BOM: what Excel on a Chinese desktop needs to open CSV without mojibake.
        body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        mimetype = "text/csv; charset=utf-8"
    else:
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="xlsxwriter") as excel:
            sheet = t("records", lang)
            pd.DataFrame(header, columns=["", ""]).to_excel(excel, sheet_name=sheet, index=False, header=False)
            rows.to_excel(excel, sheet_name=sheet, index=False, startrow=len(header) + 1)
        body = buffer.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = flask.Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
