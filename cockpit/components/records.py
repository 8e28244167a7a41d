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

Which rows anyone gets is decided here on the server, never from what the browser posts:
- a page's record table serves only the KPIs its Board declares (`record_kpis(page)`, filled by
  `board.register_callbacks`), whatever `record_kpi` the view store says; the export routes serve only
  KPIs some page declares;
- whether the principal asking may see or export those rows is cockpit.access.rules' decision
  (RECORDS, EXPORT, and PERSONAL for facts schema.yaml marks personal); the panel does not offer what
  the principal would be refused.
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

from cockpit import labels
from cockpit.access.accounts import Permission
from cockpit.access.audit import Action, Outcome
from cockpit.access.principal import current_principal
from cockpit.access.rules import export_refusal, records_refusal
from cockpit.access.web import record, requires
from cockpit.components.filters import option_label
from cockpit.components.format import metric_name
from cockpit.data import NoRelease, ReleaseInfo, current_warehouse, scope_names
from cockpit.exports import FORMATS, ExportJobs, ExportSpec, JobRefused, csv_chunks, write_xlsx
from cockpit.i18n import current_language, dimension_name, street_name, t
from cockpit.metrics import Metric, get_metric
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


# page id -> the KPIs its Board shows, and so the only ones its record table serves.
_RECORD_KPIS: dict[str, frozenset[str]] = {}


def declare_record_kpis(page: str, kpis: frozenset[str]) -> None:
    """Declare the KPIs page `page` shows (board.register_callbacks does, from the page's Board)."""
    _RECORD_KPIS[page] = frozenset(kpis)


def record_kpis(page: object) -> frozenset[str]:
    """The KPIs the record table of `page` may serve; nothing for a page that declared none (or no page at all)."""
    return _RECORD_KPIS.get(page, frozenset()) if isinstance(page, str) else frozenset()


def exportable_kpis() -> frozenset[str]:
    """The KPIs some page's record table serves: the only ones the export routes hand out."""
    return frozenset().union(*_RECORD_KPIS.values())


def _matched_page() -> object:
    """The page named in the MATCH id of the callback being answered (as the browser sent it)."""
    outputs = ctx.outputs_list
    first = outputs[0] if isinstance(outputs, list) and outputs else outputs
    component_id = first.get("id") if isinstance(first, dict) else None
    return component_id.get("page") if isinstance(component_id, dict) else None


@functools.cache
def column_docs() -> dict[str, dict[str, str]]:
    """schema.yaml's one-line description of every mart column, for header tooltips."""
    return {name: dict(spec.get("columns") or {}) for name, spec in load_schema()["models"].items()}


def column_defs(metric_id: str, lang: str = "zh") -> list[dict]:
    """The grid's columns: titled in the reader's language, the schema's description as the tooltip.

    Coded columns arrive as names (Warehouse.records with `lang`), so they filter as text.
    """
    fact = get_metric(metric_id).fact
    docs = column_docs().get(fact, {})
    warehouse = current_warehouse()
    coded = warehouse.code_names(metric_id, lang)
    defs = []
    for name, kind in warehouse.record_columns(metric_id):
        numeric = kind.upper().startswith(_NUMERIC) and name not in coded
        defs.append(
            {
                "field": name,
                "headerName": labels.header(name, lang),
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
    """The record table of `kpi` with its export buttons, or a one-line note where the principal may not see the rows.

    Export buttons appear only for a principal who may export these rows.
    """
    metric = get_metric(kpi)
    principal = current_principal()
    title = html.H5(
        t("records_of", lang, kpi=metric_name(metric, lang), period=str(view.period)),
        className="records-title",
        id=f"{page}-records-title",
    )
    refused = records_refusal(principal, metric)
    if refused is not None:
        note = html.P(
            t(refused, lang), className="records-refused alert alert-secondary py-1", id=f"{page}-records-note"
        )
        return html.Div([html.Div(title, className="records-head"), note], className="records card-panel")
    exports = [] if export_refusal(principal, metric) is not None else _export_controls(page, view, kpi, lang)
    return html.Div(
        [
            html.Div(
                [title, html.Span(describe_filters(view, lang), className="records-filters"), *exports],
                className="records-head",
            ),
            dag.AgGrid(
                id={"type": "records", "page": page},
                columnDefs=column_defs(kpi, lang),
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


def _export_controls(page: str, view: View, kpi: str, lang: str) -> list:
    return [
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
    ]


def _page_metric(view_data: dict) -> Metric | None:
    """The record KPI the view store names, if the page of this callback declares it; else None."""
    kpi = view_data.get("record_kpi")
    return get_metric(kpi) if isinstance(kpi, str) and kpi in record_kpis(_matched_page()) else None


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
    metric = _page_metric(view_data)
    if metric is None or records_refusal(current_principal(), metric) is not None:
        return empty
    try:
        view = View.from_dict(view_data)
        rows, total = current_warehouse().records(
            metric.id,
            view.period,
            filters=view.filters,
            sort=sort,
            column_filters=column_filters,
            offset=offset,
            limit=limit,
            lang=current_language(),
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
        (t("exported_by", lang), spec.by),
        (t("data_scope", lang), spec.scope),
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
    if view.kpi not in exportable_kpis():
        raise BadExport(f"no page shows records of the KPI {view.kpi!r}: nothing to export")
    return _spec(view, fmt, current_language())


def _spec(view: View, fmt: str, lang: str) -> ExportSpec:
    """An export of the view's KPI for the principal asking: they own it, the header names them and their scope."""
    principal = current_principal()
    warehouse = current_warehouse()
    scope = "、".join(scope_names(warehouse)) or street_name(lang) or t("street_total", lang)
    return ExportSpec(view.kpi, view.period, dict(view.filters), fmt, lang, principal.name, principal.label, scope)


def _audit_export(spec: ExportSpec, kind: str, rows: int | None, job: str | None = None) -> None:
    """Every export in the audit trail: who, which KPI, period, filters, scope, rows and format."""
    detail = {
        "kind": kind,
        "kpi": spec.kpi,
        "period": str(spec.period),
        "filters": spec.filters,
        "scope": str(current_principal().scope),
        "rows": rows,
        "format": spec.fmt,
    }
    record(Action.EXPORT, target=spec.kpi, detail={**detail, **({"job": job} if job else {})})


def _plain(message: str, status: int) -> flask.Response:
    return flask.Response(message + "\n", status=status, mimetype="text/plain")


def _export_forbidden(metric: Metric | None) -> flask.Response | None:
    """A 403 with a one-line reason when the principal asking may not export `metric`'s rows (None: exports at all)."""
    refused = export_refusal(current_principal(), metric)
    if refused is None:
        return None
    record(Action.DENIED, target=flask.request.path, detail={"reason": refused}, outcome=Outcome.DENIED)
    return _plain(t(refused, current_language()), 403)


def export_records(fmt: str) -> flask.Response:
    """GET /export/records.<csv|xlsx>?kpi=…&period=…&<filters>: the rows behind a KPI, with a header, streamed.

    More rows than the direct-download cap answer 413 saying how many and what
    to do instead (a background export); no release yet answers 503; a principal
    who may not export these rows, 403.
    """
    if fmt not in FORMATS:
        flask.abort(404)
    if forbidden := _export_forbidden(None):
        return forbidden
    jobs = export_jobs()
    try:
        spec = _export_spec(flask.request.args.to_dict(), fmt)
        if forbidden := _export_forbidden(get_metric(spec.kpi)):
            return forbidden
        stream = current_warehouse().record_stream(
            spec.kpi, spec.period, filters=spec.filters, limit=jobs.direct_rows, lang=spec.lang
        )
    except NoRelease as exc:
        return _plain(str(exc), 503)
    except BadExport as exc:
        return _plain(str(exc), 400)
    if stream.total > jobs.direct_rows:
        stream.close()
        return _plain(t("export_too_large", spec.lang, total=stream.total, limit=jobs.direct_rows, fmt=fmt), 413)
    header = export_header(spec, stream.info, stream.total, stream.total)
    _audit_export(spec, "download", stream.total)
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
    if forbidden := _export_forbidden(None):
        return forbidden
    body = flask.request.get_json(silent=True) if flask.request.is_json else None
    if not isinstance(body, dict):
        return _plain('send a JSON object: {"kpi": "<KPI id>", "format": "xlsx", <period and filters>}', 415)
    try:
        spec = _export_spec({k: v for k, v in body.items() if k != "format"}, str(body.get("format", "xlsx")))
        if forbidden := _export_forbidden(get_metric(spec.kpi)):
            return forbidden
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
    job_id = export_jobs().start(current_warehouse(), spec, export_header, t("records", spec.lang))
    _audit_export(spec, "job_start", None, job_id)
    return job_id


def _own_job(job_id: str) -> dict | None:
    """The job's state if the principal asking started it (another user's job is as unknown as a missing one)."""
    state = export_jobs().state(job_id)
    return state if state is not None and state.get("owner") == current_principal().name else None


def _job_metric(state: dict) -> Metric | None:
    """The KPI a job exports, if the export routes serve it (None for a job from before jobs named their KPI)."""
    kpi = state.get("kpi")
    return get_metric(kpi) if isinstance(kpi, str) and kpi in exportable_kpis() else None


def _job_urls(job_id: str) -> dict[str, str]:
    return {"status_url": f"/export/jobs/{job_id}", "download_url": f"/export/jobs/{job_id}/file"}


def export_job_status(job_id: str) -> flask.Response:
    """GET /export/jobs/<id>: the job's state as JSON (status, rows_done, rows_total, error)."""
    if forbidden := _export_forbidden(None):
        return forbidden
    state = _own_job(job_id)
    if state is None:
        return _plain(f"no export job {job_id!r} (exports are kept a day)", 404)
    return flask.jsonify(job=job_id, **state, **_job_urls(job_id))


def export_job_file(job_id: str) -> flask.Response:
    """GET /export/jobs/<id>/file: the finished export; 409 while it is still being written.

    The file goes only to a principal who may export its KPI's rows: a job id passed on does not pass them on.
    """
    if forbidden := _export_forbidden(None):
        return forbidden
    jobs = export_jobs()
    state = _own_job(job_id)
    if state is None or (metric := _job_metric(state)) is None:
        return _plain(f"no export job {job_id!r} (exports are kept a day)", 404)
    if forbidden := _export_forbidden(metric):
        return forbidden
    found = jobs.file(job_id)
    if found is None:
        reason = state.get("error") or f"the export is {state['status']}: {state.get('rows_done', 0)} rows written"
        return _plain(reason, 409)
    path, filename = found
    detail = {"kind": "job_download", "kpi": state["kpi"], "rows": state.get("rows_done"), "format": state["fmt"]}
    record(
        Action.EXPORT, target=state["kpi"], detail={**detail, "scope": str(current_principal().scope), "job": job_id}
    )
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
        metric = _page_metric(view_data) if isinstance(view_data, dict) else None
        if metric is None:
            kpi = view_data.get("record_kpi") if isinstance(view_data, dict) else None
            return None, t("kpi_not_on_page", lang, kpi=kpi), True
        if (refused := export_refusal(current_principal(), metric)) is not None:
            return None, t(refused, lang), True
        try:
            view = View.from_dict(view_data).with_kpi(metric.id)
            job_id = _start(_spec(view, "xlsx", lang))
        except (KeyError, TypeError, ValueError, NoRelease, JobRefused) as exc:
            return None, str(exc), True
    state = _own_job(job_id) if isinstance(job_id, str) else None
    if state is None or (metric := _job_metric(state)) is None or export_refusal(current_principal(), metric):
        return None, "", True
    if state["status"] == "done":
        link = html.A(t("export_job_download", lang), href=_job_urls(job_id)["download_url"], download="")
        return job_id, link, True
    if state["status"] == "failed":
        return job_id, t("export_job_failed", lang, error=state.get("error", "")), True
    done, total = state.get("rows_done", 0), state.get("rows_total") or "…"
    return job_id, t("export_job_running", lang, done=done, total=total), False
