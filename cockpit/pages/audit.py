"""审计日志 · the audit trail for admins: filter by user, action and days, page through it, export it;
its hash chain's state and retention; and, for those who manage them, wall screen tokens and the users.

The filters live in the query string (`/audit?user=…&action=…&since=…&until=…`), like every view of the
cockpit: 查询 writes them to the URL and the page renders again from it, so a filtered view can be shared.
Only a principal with Permission.AUDIT opens the page (cockpit.access.web.PAGE_PERMISSIONS).
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import dash_ag_grid as dag
import flask
from dash import Input, Output, State, callback, dcc, html

from cockpit.access import audit
from cockpit.access.accounts import Permission
from cockpit.access.audit import Action
from cockpit.access.principal import current_principal
from cockpit.access.web import requires
from cockpit.components.audit_trail import (
    CHAIN,
    FILTER_STORE,
    GRID,
    NEXT,
    PAGE_LABEL,
    PAGE_STORE,
    PREV,
    AuditFilter,
    BadFilter,
    action_label,
    column_defs,
    export_href,
    state_conn,
)
from cockpit.components.screen_tokens import tokens_panel, users_panel
from cockpit.exports import FORMATS
from cockpit.i18n import current_language, t

dash.register_page(__name__, path="/audit", name=t("audit", "zh"), title="审计日志 · 街道数字驾驶舱", order=85)

USER, ACTION, DATES, APPLY = "audit-user", "audit-action", "audit-dates", "audit-apply"
# The page's own location: 查询 loads /audit?<filters> through it (Dash Pages' location has one writer, the
# street pages' filter bar, which an admin may not call).
LOCATION = "audit-location"


def _filter_bar(wanted: AuditFilter, lang: str) -> html.Div:
    return html.Div(
        [
            dcc.Input(
                id=USER,
                type="text",
                value=wanted.user or "",
                placeholder=t("audit_actor", lang),
                maxLength=200,
                className="form-control form-control-sm audit-user",
            ),
            dcc.Dropdown(
                id=ACTION,
                options=[{"label": action_label(action, lang), "value": action.value} for action in Action],
                value=wanted.action.value if wanted.action else None,
                placeholder=t("audit_action", lang),
                clearable=True,
                className="audit-action",
            ),
            html.Div(
                dcc.DatePickerRange(
                    id=DATES,
                    start_date=wanted.since,
                    end_date=wanted.until,
                    display_format="YYYY-MM-DD",
                    clearable=True,
                    start_date_placeholder_text=t("audit_dates", lang),
                    end_date_placeholder_text=t("audit_dates", lang),
                ),
                className="audit-dates-wrap",
            ),
            html.Button(t("audit_apply", lang), id=APPLY, className="btn btn-sm btn-primary", n_clicks=0),
            html.A(t("audit_clear", lang), href="/audit", className="btn btn-sm btn-outline-secondary"),
            *[
                html.A(
                    t(f"export_{fmt}", lang),
                    href=export_href(wanted, fmt),
                    className="btn btn-sm btn-outline-primary",
                    id=f"audit-export-{fmt}",
                    download="",
                )
                for fmt in FORMATS
            ],
        ],
        className="audit-filters",
    )


def layout(**query) -> html.Div:
    lang = current_language()
    principal = current_principal()
    settings = flask.current_app.config["COCKPIT_GATE"].settings
    try:
        wanted, problem = AuditFilter.from_query(query), None
    except BadFilter as exc:
        wanted, problem = AuditFilter(), t("audit_bad_filter", lang, reason=exc)
    through = audit.last_seq(state_conn())
    total = audit.count(state_conn(), **wanted.bounds(), through_seq=through)
    trail = [
        dcc.Location(id=LOCATION, refresh=True),
        html.H2(t("audit", lang), className="page-title"),
        html.Div(t("audit_chain_checking", lang), id=CHAIN, className="audit-chain alert alert-secondary py-1"),
        html.P(t("audit_retention", lang, days=settings.audit_retention_days), id="audit-retention"),
        _filter_bar(wanted, lang),
        *([html.Div(problem, className="alert alert-danger py-1", id="audit-bad-filter")] if problem else []),
        html.P(t("audit_total", lang, total=total), id="audit-total", className="text-secondary"),
        # The filters and the snapshot the grid pages through: the newest entry when the page was rendered.
        dcc.Store(id=FILTER_STORE, data={**wanted.query(), "through_seq": through}),
        dcc.Store(id=PAGE_STORE, data=0),
        dag.AgGrid(
            id=GRID,
            columnDefs=column_defs(lang),
            rowData=[],
            defaultColDef={"resizable": True},
            dashGridOptions={"tooltipShowDelay": 300, "localeText": {"noRowsToShow": t("no_data", lang)}},
            className="ag-theme-quartz audit-grid",
            style={"height": "560px"},
        ),
        html.Div(
            [
                html.Button(t("audit_prev", lang), id=PREV, className="btn btn-sm btn-outline-secondary", n_clicks=0),
                html.Span(id=PAGE_LABEL, className="audit-page-label"),
                html.Button(t("audit_next", lang), id=NEXT, className="btn btn-sm btn-outline-secondary", n_clicks=0),
            ],
            className="audit-pager",
        ),
    ]
    admin = [
        *([tokens_panel(lang)] if principal.may(Permission.MANAGE_TOKENS) else []),
        *([users_panel(lang)] if principal.may(Permission.MANAGE_USERS) else []),
    ]
    return html.Div([*trail, *admin], className="page", id="audit-page")


@callback(
    Output(LOCATION, "href"),
    Input(APPLY, "n_clicks"),
    State(USER, "value"),
    State(ACTION, "value"),
    State(DATES, "start_date"),
    State(DATES, "end_date"),
    prevent_initial_call=True,
)
@requires(Permission.AUDIT)
def apply_filters(clicks, user, action, since, until):
    """查询: the filters into the URL; the page then renders again from it (an invalid one says why there)."""
    if not clicks:
        return dash.no_update
    values = {"user": user, "action": action, "since": since, "until": until}
    query = {key: str(value)[:200] for key, value in values.items() if isinstance(value, str) and value.strip()}
    return f"/audit?{urlencode(query)}" if query else "/audit"
