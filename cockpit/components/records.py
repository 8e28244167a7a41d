"""The record table under every page: the rows behind the KPI in focus, paged on the server, and their export.

dash-ag-grid runs in its infinite row model: the browser asks for a block of
rows with its sort and column filters, one callback answers with that block
from DuckDB, so a year of tickets never travels to the browser; whatever the
browser asks, one answer holds at most MAX_ROWS_PER_REQUEST rows. The export
(CSV or Excel) is a plain download route reading the same view from its query
string, with a header stating the KPI, period, filters, data freshness and
export time; it streams (cockpit/exports.py), and an export larger than the
direct-download cap runs as a background job the panel starts and polls.
Marts hold only masked personal data, so exports do too.
"""

from __future__ import annotations

import functools
import math
import tempfile
from datetime import date, datetime

import dash_ag_grid as dag
import flask
import pandas as pd
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html

from cockpit.access.accounts import Permission
from cockpit.access.web import requires
from cockpit.components.filters import option_label
from cockpit.components.format import metric_name
from cockpit.data import NoRelease, ReleaseInfo, current_warehouse
from cockpit.exports import FORMATS, ExportJobs, ExportSpec, JobRefused, csv_chunks, write_xlsx
from cockpit.i18n import current_language, dimension_name, t
from cockpit.metrics import get_metric
from cockpit.settings import Settings
from cockpit.view import FILTER_KEYS, View
from warehouse.checks import load_schema

PAGE_SIZE = 50
# The most rows one answer to the grid holds, whatever startRow/endRow say (the grid asks for PAGE_SIZE).
MAX_ROWS_PER_REQUEST = 500
# Row numbers past this are no page anyone reaches; it keeps OFFSET within DuckDB's integers.
_LAST_ROW = 10**12
JOB_POLL_MS = 1000
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
    return _describe(view.filters, lang)


def _describe(filters, lang: str) -> str:
    parts = [
        f"{dimension_name(key, lang)}={option_label(key, filters[key], lang)}" for key in FILTER_KEYS if key in filters
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
                        for fmt in FORMATS
                    ],
                    html.Button(
                        t("export_background", lang),
                        id={"type": "export-job-start", "page": page},
                        className="btn btn-sm btn-outline-secondary",
                        n_clicks=0,
                    ),
                    dcc.Store(id={"type": "export-job", "page": page}),
                    dcc.Interval(id={"type": "export-job-poll", "page": page}, interval=JOB_POLL_MS, disabled=True),
                    html.Span(id={"type": "export-job-notice", "page": page}, className="records-export-notice"),
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
@requires(Permission.RECORDS)
def serve_rows(request, view_data):
    """One block of rows for the grid: its sort and column filters applied in DuckDB, at most MAX_ROWS_PER_REQUEST."""
    empty = {"rowData": [], "rowCount": 0}
    if not isinstance(request, dict) or not isinstance(view_data, dict):
        return empty
    sort, column_filters = request.get("sortModel") or [], request.get("filterModel") or {}
    if not (
        isinstance(sort, list)
        and all(isinstance(each, dict) for each in sort)
        and isinstance(column_filters, dict)
        and all(isinstance(each, dict) for each in column_filters.values())
    ):
        return empty
    offset, limit = row_window(request)
    try:
        view = View.from_dict(view_data)
        rows, total = current_warehouse().records(
            view_data["record_kpi"],
            view.period,
            filters=view.filters,
            sort=sort,
            column_filters=column_filters,
            offset=offset,
            limit=limit,
        )
    except (KeyError, TypeError, ValueError):  # a view or filter the browser made up: no rows, not a 500
        return empty
    return {"rowData": _json_rows(rows), "rowCount": total}


def row_window(request: dict) -> tuple[int, int]:
    """(offset, limit) for a grid request: row numbers read leniently, the limit within MAX_ROWS_PER_REQUEST."""
    start = min(max(_row_number(request.get("startRow"), 0), 0), _LAST_ROW)
    end = _row_number(request.get("endRow"), start + PAGE_SIZE)
    return start, min(max(end - start, 1), MAX_ROWS_PER_REQUEST)


def _row_number(value, default: int) -> int:
    """A row number the browser sent: an integer (or a whole float or numeral string); anything else is `default`."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if isinstance(value, float) and not math.isfinite(value):
        return default
    return int(max(min(value, _LAST_ROW), -_LAST_ROW))


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


# ---- exports --------------------------------------------------------------------------------


class BadExport(ValueError):
    """An export request that cannot be served; the message is one line for the reader."""


def export_header(spec: ExportSpec, info: ReleaseInfo, shown: int, total: int) -> list[tuple[str, str]]:
    """The block above the rows: what they are, from which release, when, and how many of how many."""
    lang = spec.lang
    header = [
        (t("kpi", lang), f"{metric_name(get_metric(spec.kpi), lang)} ({spec.kpi})"),
        (t("period", lang), str(spec.period)),
        (t("filters", lang), _describe(spec.filters, lang)),
        (t("data_through", lang), f"{info.data_through:%Y-%m-%d} ({info.run_id})"),
        (t("exported_at", lang), f"{datetime.now():%Y-%m-%d %H:%M:%S}"),
        (t("records", lang), f"{shown} / {total}"),
    ]
    if shown < total:
        header.append((t("export_truncated", lang), t("export_truncated_hint", lang, shown=shown, total=total)))
    if info.is_demo:
        header.append((t("demo", lang), "demo"))
    return header


def export_jobs() -> ExportJobs:
    return flask.current_app.config["COCKPIT_EXPORTS"]


def _export_spec(query: dict, fmt: str) -> ExportSpec:
    """The export a query string asks for; raises BadExport or NoRelease (both one line)."""
    if fmt not in FORMATS:
        raise BadExport(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    view = View.from_query(query, current_warehouse().info.data_through)
    if view.kpi is None:
        raise BadExport("export needs ?kpi=<a KPI id of the metric catalog>")
    return ExportSpec(view.kpi, view.period, dict(view.filters), fmt, current_language())


def _plain(message: str, status: int) -> flask.Response:
    return flask.Response(message + "\n", status=status, mimetype="text/plain")


def export_records(fmt: str) -> flask.Response:
    """GET /export/records.<csv|xlsx>?kpi=…&period=…&<filters>: the rows behind a KPI, with a header, streamed.

    More rows than the direct-download cap answer 413 saying how many and what
    to do instead (a background export); no release yet answers 503.
    """
    if fmt not in FORMATS:
        flask.abort(404)
    jobs = export_jobs()
    try:
        spec = _export_spec(flask.request.args.to_dict(), fmt)
        stream = current_warehouse().record_stream(spec.kpi, spec.period, filters=spec.filters, limit=jobs.direct_rows)
    except NoRelease as exc:
        return _plain(str(exc), 503)
    except BadExport as exc:
        return _plain(str(exc), 400)
    if stream.total > jobs.direct_rows:
        stream.close()
        return _plain(t("export_too_large", spec.lang, total=stream.total, limit=jobs.direct_rows, fmt=fmt), 413)
    header = export_header(spec, stream.info, stream.total, stream.total)
    if fmt == "csv":
        response = flask.Response(csv_chunks(header, stream.schema, stream), mimetype=FORMATS[fmt])
        response.call_on_close(stream.close)  # a client gone before the first chunk still frees the cursor
        response.headers["Content-Disposition"] = f'attachment; filename="{spec.filename}"'
        return response
    # An xlsx is a zip: it is whole only at the end, so it is written (row by row, constant memory) to an
    # anonymous temporary file first and sent from there.
    handle = tempfile.TemporaryFile()
    try:
        write_xlsx(handle, header, stream.schema, stream, t("records", spec.lang))
    except BaseException:
        handle.close()
        raise
    finally:
        stream.close()
    handle.seek(0)
    return flask.send_file(handle, mimetype=FORMATS[fmt], as_attachment=True, download_name=spec.filename)


def start_export_job() -> flask.Response:
    """POST /export/jobs with JSON {"kpi": …, "period": …, <filters>, "format": "csv"|"xlsx"}: 202 and the job's URLs.

    JSON only: a cross-site form cannot send it without the browser asking first.
    """
    body = flask.request.get_json(silent=True) if flask.request.is_json else None
    if not isinstance(body, dict):
        return _plain('send a JSON object: {"kpi": "<KPI id>", "format": "xlsx", <period and filters>}', 415)
    try:
        spec = _export_spec({k: v for k, v in body.items() if k != "format"}, str(body.get("format", "xlsx")))
        job_id = _start(spec)
    except NoRelease as exc:
        return _plain(str(exc), 503)
    except BadExport as exc:
        return _plain(str(exc), 400)
    except JobRefused as exc:
        return _plain(str(exc), 429)
    return flask.jsonify(job=job_id, **_job_urls(job_id)), 202


def _start(spec: ExportSpec) -> str:
    get_metric(spec.kpi)  # an unknown KPI fails here, in the request, not later in the job
    return export_jobs().start(current_warehouse(), spec, export_header, t("records", spec.lang))


def _job_urls(job_id: str) -> dict[str, str]:
    return {"status_url": f"/export/jobs/{job_id}", "download_url": f"/export/jobs/{job_id}/file"}


def export_job_status(job_id: str) -> flask.Response:
    """GET /export/jobs/<id>: the job's state as JSON (status, rows_done, rows_total, error)."""
    state = export_jobs().state(job_id)
    if state is None:
        return _plain(f"no export job {job_id!r} (exports are kept a day)", 404)
    return flask.jsonify(job=job_id, **state, **_job_urls(job_id))


def export_job_file(job_id: str) -> flask.Response:
    """GET /export/jobs/<id>/file: the finished export; 409 while it is still being written."""
    jobs = export_jobs()
    state = jobs.state(job_id)
    if state is None:
        return _plain(f"no export job {job_id!r} (exports are kept a day)", 404)
    found = jobs.file(job_id)
    if found is None:
        reason = state.get("error") or f"the export is {state['status']}: {state.get('rows_done', 0)} rows written"
        return _plain(reason, 409)
    path, filename = found
    return flask.send_file(path, mimetype=FORMATS[state["fmt"]], as_attachment=True, download_name=filename)


def register_export_routes(server: flask.Flask, settings: Settings) -> None:
    """The export routes, with the background jobs of settings.home/exports."""
    server.config["COCKPIT_EXPORTS"] = ExportJobs(
        settings.home / "exports", settings.export_direct_rows, settings.export_max_rows
    )
    server.add_url_rule("/export/records.<fmt>", "export_records", export_records)
    server.add_url_rule("/export/jobs", "start_export_job", start_export_job, methods=["POST"])
    server.add_url_rule("/export/jobs/<job_id>", "export_job_status", export_job_status)
    server.add_url_rule("/export/jobs/<job_id>/file", "export_job_file", export_job_file)


@callback(
    Output({"type": "export-job", "page": MATCH}, "data"),
    Output({"type": "export-job-notice", "page": MATCH}, "children"),
    Output({"type": "export-job-poll", "page": MATCH}, "disabled"),
    Input({"type": "export-job-start", "page": MATCH}, "n_clicks"),
    Input({"type": "export-job-poll", "page": MATCH}, "n_intervals"),
    State({"type": "export-job", "page": MATCH}, "data"),
    State({"type": "view", "page": MATCH}, "data"),
    prevent_initial_call=True,
)
@requires(Permission.EXPORT)
def background_export(_clicks, _ticks, job_id, view_data):
    """The panel's 后台导出 button: start an Excel export of the record table's view, then poll it until done."""
    lang = current_language()
    if isinstance(ctx.triggered_id, dict) and ctx.triggered_id.get("type") == "export-job-start":
        try:
            view = View.from_dict(view_data).with_kpi(view_data["record_kpi"])
            job_id = _start(ExportSpec(view.kpi, view.period, dict(view.filters), "xlsx", lang))
        except (KeyError, TypeError, ValueError, NoRelease, JobRefused) as exc:
            return None, str(exc), True
    state = export_jobs().state(job_id) if isinstance(job_id, str) else None
    if state is None:
        return None, "", True
    if state["status"] == "done":
        link = html.A(t("export_job_download", lang), href=_job_urls(job_id)["download_url"], download="")
        return job_id, link, True
    if state["status"] == "failed":
        return job_id, t("export_job_failed", lang, error=state.get("error", "")), True
    done, total = state.get("rows_done", 0), state.get("rows_total") or "…"
    return job_id, t("export_job_running", lang, done=done, total=total), False
