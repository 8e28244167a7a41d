"""The "生成简报" action on every page, and the routes that serve briefs.

The action takes the period and community of the page's URL, starts a
background job (cockpit/briefing/jobs.py) for the signed-in user (their scope,
their name as 生成人 and on the watermark), shows its progress and then offers
the PDF. Briefs made so far are listed on /briefs, each only to readers whose
scope covers it; anyone else is told no such brief exists (404).
"""

from __future__ import annotations

from pathlib import Path

import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State, callback, dcc, html, no_update

from cockpit.access import audit
from cockpit.access.accounts import Permission
from cockpit.access.audit import Action, Outcome
from cockpit.access.principal import current_principal
from cockpit.access.state import connect
from cockpit.access.web import requires
from cockpit.briefing import BriefSpec, NoData, collect
from cockpit.briefing.content import scope_of_brief
from cockpit.briefing.document import PLOTLY_JS, PLOTLY_LOCALE_FILE, render_html
from cockpit.briefing.jobs import TOTAL_STEPS, brief_path, job_state, readable_brief, record_brief, start_job
from cockpit.components.filters import LOCATION, parse_search
from cockpit.data import NoRelease, current_warehouse, first_data_day
from cockpit.i18n import current_language, street_name, t
from cockpit.metrics import Period
from cockpit.metrics.scorecards import MONTHS_SHOWN, assessable_months, choose_month, month_period
from cockpit.view import View

POLL_MS = 700
SCORECARDS_PATH = "/scorecards"  # its "生成简报" makes the month's 考核通报


def briefs_dir() -> Path:
    return flask.current_app.config["COCKPIT_BRIEFS"]


def watermarks_on() -> bool:
    return bool(flask.current_app.config.get("COCKPIT_WATERMARK", True))


def spec_from_search(search: str | None, pathname: str | None = None) -> BriefSpec:
    """The brief a page's URL asks for: its period and community (other filters do not scope a brief).

    On the 考核排名 page it is that page's month's 考核通报."""
    warehouse = current_warehouse()
    if pathname == SCORECARDS_PATH:
        months = assessable_months(warehouse.info.data_through, first_data_day(warehouse), MONTHS_SHOWN)
        month, _ = choose_month(parse_search(search).get("month"), months)
        if month is None:
            raise NoData("no complete month of data to assess yet")
        return BriefSpec(month_period(month), kind="bulletin")
    view = View.from_query(parse_search(search), warehouse.info.data_through)
    return BriefSpec(view.period, view.filters.get("community"))


def brief_modal(lang: str) -> html.Div:
    return html.Div(
        [
            html.Button(
                t("brief_make", lang),
                id="brief-open",
                className="btn btn-sm btn-light",
                n_clicks=0,
            ),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle(t("brief_make", lang))),
                    dbc.ModalBody(
                        [
                            html.Div(id="brief-scope", className="mb-3"),
                            dbc.Progress(id="brief-progress", value=0, max=TOTAL_STEPS, className="mb-2"),
                            html.Div(id="brief-status", className="brief-status"),
                        ]
                    ),
                    dbc.ModalFooter(
                        [
                            html.A(
                                t("brief_download", lang),
                                id="brief-download",
                                className="btn btn-success d-none",
                                href="",
                            ),
                            html.A(t("brief_list", lang), href="/briefs", className="btn btn-outline-secondary"),
                            html.Button(t("brief_start", lang), id="brief-start", className="btn btn-primary"),
                        ]
                    ),
                ],
                id="brief-modal",
                is_open=False,
            ),
            dcc.Store(id="brief-spec"),
            dcc.Store(id="brief-job"),
            dcc.Interval(id="brief-poll", interval=POLL_MS, disabled=True),
        ],
        className="brief-action",
    )


@callback(
    Output("brief-modal", "is_open"),
    Output("brief-scope", "children"),
    Output("brief-spec", "data"),
    Output("brief-progress", "value"),
    Output("brief-status", "children"),
    Output("brief-download", "className"),
    Output("brief-start", "disabled"),
    Input("brief-open", "n_clicks"),
    State(LOCATION, "search"),
    State(LOCATION, "pathname"),
    prevent_initial_call=True,
)
@requires(Permission.BRIEFS)
def _open(_clicks, search, pathname):
    lang = current_language()
    try:
        spec = spec_from_search(search, pathname)
        scope, _ = scope_of_brief(current_warehouse(), spec, current_principal(), street_name("zh"))
    except (NoRelease, NoData) as exc:
        return True, str(exc), None, 0, "", "btn btn-success d-none", True
    summary = [
        html.Div([html.Strong(f"{t('brief_kind', lang)}："), t(f"brief_kind_{spec.kind}", lang)]),
        html.Div([html.Strong(f"{t('brief_period', lang)}："), f"{spec.period.label_zh()}（{spec.period}）"]),
        html.Div([html.Strong(f"{t('brief_scope', lang)}："), scope]),
    ]
    data = {"period": str(spec.period), "community": spec.community, "kind": spec.kind}
    return True, summary, data, 0, "", "btn btn-success d-none", False


@callback(
    Output("brief-job", "data"),
    Output("brief-poll", "disabled"),
    Output("brief-start", "disabled", allow_duplicate=True),
    Input("brief-start", "n_clicks"),
    State("brief-spec", "data"),
    prevent_initial_call=True,
)
@requires(Permission.BRIEFS)
def _start(_clicks, data):
    if not data:
        return no_update, True, True
    try:
        spec = BriefSpec(Period.parse(data["period"]), data.get("community"), kind=data.get("kind") or "brief")
    except (ValueError, TypeError, KeyError):  # a store the browser sent back altered
        return no_update, True, True
    config = flask.current_app.config
    job = start_job(
        current_warehouse(),
        spec,
        briefs_dir(),
        chromium=config.get("COCKPIT_CHROMIUM"),
        author=current_principal(),
        watermark=watermarks_on(),
        street=street_name("zh"),
    )
    return job, False, True


@callback(
    Output("brief-progress", "value", allow_duplicate=True),
    Output("brief-status", "children", allow_duplicate=True),
    Output("brief-download", "href"),
    Output("brief-download", "className", allow_duplicate=True),
    Output("brief-poll", "disabled", allow_duplicate=True),
    Output("brief-start", "disabled", allow_duplicate=True),
    Input("brief-poll", "n_intervals"),
    State("brief-job", "data"),
    prevent_initial_call=True,
)
@requires(Permission.BRIEFS)
def _poll(_n, job):
    lang = current_language()
    state = job_state(briefs_dir(), job or "", current_principal())
    if state is None:
        return 0, "", "", "btn btn-success d-none", True, False
    if state["status"] == "running":
        text = t("brief_running", lang, step=state.get("step", ""))
        return state.get("done", 0), text, "", "btn btn-success d-none", False, True
    if state["status"] == "failed":
        return 0, t("brief_failed", lang, error=state.get("error", "")), "", "btn btn-success d-none", True, False
    href = f"/briefs/file/{state['file']}"
    return TOTAL_STEPS, t("brief_done", lang), href, "btn btn-success", True, False


def serve_brief(name: str) -> flask.Response:
    """GET /briefs/file/<name>: a brief made earlier, as a download (audited), to a reader whose scope covers it.

    A brief out of the reader's scope answers 404 like a missing one: a refusal would confirm that it exists.
    """
    principal = current_principal()
    brief = readable_brief(briefs_dir(), name, principal)
    if brief is None:
        if brief_path(briefs_dir(), name) is not None:  # it exists: the reader is not told, the trail is
            detail = {"reason": "the brief is outside the reader's scope", "method": flask.request.method}
            audit.append(
                connect(current_warehouse().home),
                principal.name,
                Action.DENIED,
                target=flask.request.path[:200],
                detail=detail,
                outcome=Outcome.DENIED,
            )
        return flask.Response("no such brief\n", status=404, mimetype="text/plain")
    detail = {"period": brief.period, "scope": str(brief.coverage.scope) if brief.coverage else "", "file": name}
    record_brief(current_warehouse().home, principal, "download", detail)
    return flask.send_file(brief.path, mimetype="application/pdf", as_attachment=True, download_name=name)


def preview_brief() -> flask.Response:
    """GET /briefs/preview?<page query>: the print page of a brief, in the browser (what the PDF prints)."""
    try:
        spec = spec_from_search(flask.request.query_string.decode())
        brief = collect(
            current_warehouse(), spec, author=current_principal(), watermark=watermarks_on(), street=street_name("zh")
        )
    except (NoRelease, NoData) as exc:
        return flask.Response(str(exc), status=404, mimetype="text/plain")
    page = render_html(brief, plotly_src="/briefs/plotly.min.js", locale_src=f"/assets/{PLOTLY_LOCALE_FILE}")
    return flask.Response(page, mimetype="text/html")


def plotly_js() -> flask.Response:
    return flask.send_file(PLOTLY_JS, mimetype="text/javascript", max_age=7 * 24 * 3600)


def register_routes(server: flask.Flask, directory: Path, chromium: str | None) -> None:
    server.config["COCKPIT_BRIEFS"] = directory
    server.config["COCKPIT_CHROMIUM"] = chromium
    server.add_url_rule("/briefs/file/<name>", "brief_file", serve_brief)
    server.add_url_rule("/briefs/preview", "brief_preview", preview_brief)
    server.add_url_rule("/briefs/plotly.min.js", "brief_plotly", plotly_js)
