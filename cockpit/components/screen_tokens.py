"""The admin's panels on the audit page: wall screen tokens (issue, list, revoke) and a read-only list of users.

Issuing and revoking go through cockpit.access.tokens.ScreenTokens, which audits both under the admin's name.
A new token's `/wall?token=…` address appears once, in the answer to the issue click, and nowhere else: the
list never holds a secret, and reloading the page does not bring it back. Revoking a token makes the next
refresh of every wall signed in with it answer 401, which sends that screen to the login page.
User changes stay on the command line (`cockpit user …`); the list here only shows them.
"""

from __future__ import annotations

from urllib.parse import quote

import flask
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from cockpit.access.accounts import AccessError, Permission, Scope, accounts, locked_until
from cockpit.access.principal import current_principal
from cockpit.access.tokens import ScreenTokens
from cockpit.access.web import requires
from cockpit.components.audit_trail import local_time
from cockpit.i18n import current_language, t

LIST = "tokens-list"
MESSAGE = "tokens-message"
NAME, SCOPE, ISSUE = "tokens-name", "tokens-scope", "tokens-issue"
REVOKE = "token-revoke"


def _gate():
    return flask.current_app.config["COCKPIT_GATE"]


def screen_tokens() -> ScreenTokens:
    gate = _gate()
    return ScreenTokens(gate.conn(), gate.settings)


def token_table(lang: str) -> html.Div | html.P:
    """Every token with its state; a revoke button on each active one. No secret is ever listed."""
    tokens = screen_tokens().list()
    if not tokens:
        return html.P(t("token_none", lang), className="text-secondary", id="tokens-none")
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(key, lang))
                for key in ("token_name", "token_scope", "token_created_by", "token_created_at", "token_last_used")
            ]
            + [html.Th(t("token_status", lang)), html.Th("")]
        )
    )
    rows = []
    for token in tokens:
        status = (
            t("token_active", lang) if token.active else t("token_revoked_at", lang, at=local_time(token.revoked_at))
        )
        action = (
            html.Button(
                t("token_revoke", lang),
                id={"type": REVOKE, "name": token.name},
                className="btn btn-sm btn-outline-danger",
                n_clicks=0,
            )
            if token.active
            else ""
        )
        rows.append(
            html.Tr(
                [
                    html.Td(token.name),
                    html.Td(str(token.scope)),
                    html.Td(token.created_by),
                    html.Td(local_time(token.created_at)),
                    html.Td(local_time(token.last_used_at) if token.last_used_at else ""),
                    html.Td(status),
                    html.Td(action),
                ],
                className="token-row" if token.active else "token-row token-revoked",
            )
        )
    return html.Table([head, html.Tbody(rows)], className="cockpit-table tokens-table")


def tokens_panel(lang: str) -> html.Section:
    return html.Section(
        [
            html.H3(t("tokens_title", lang)),
            html.Div(
                [
                    dcc.Input(
                        id=NAME,
                        type="text",
                        placeholder=t("token_name", lang),
                        maxLength=40,
                        className="form-control form-control-sm tokens-name",
                    ),
                    dcc.Input(
                        id=SCOPE,
                        type="text",
                        placeholder=t("token_scope_hint", lang),
                        value="street",
                        maxLength=2000,
                        className="form-control form-control-sm tokens-scope",
                    ),
                    html.Button(t("token_issue", lang), id=ISSUE, className="btn btn-sm btn-primary", n_clicks=0),
                ],
                className="tokens-form",
            ),
            html.Div(id=MESSAGE, className="tokens-message"),
            html.Div(token_table(lang), id=LIST),
        ],
        className="card-panel admin-panel",
        id="tokens-panel",
    )


def wall_address(secret: str) -> str:
    """The address a wall PC opens once to pair (the gate then moves the token into a cookie)."""
    return f"{flask.request.url_root.rstrip('/')}/wall?token={quote(secret, safe='')}"


@callback(
    Output(LIST, "children"),
    Output(MESSAGE, "children"),
    Input(ISSUE, "n_clicks"),
    Input({"type": REVOKE, "name": ALL}, "n_clicks"),
    State(NAME, "value"),
    State(SCOPE, "value"),
    prevent_initial_call=True,
)
@requires(Permission.MANAGE_TOKENS)
def change_tokens(_issue, _revokes, name, scope_text):
    """Issue a token (its address shown this once) or revoke the one whose button was clicked."""
    lang = current_language()
    trigger = ctx.triggered_id
    if trigger is None or not ctx.triggered[0]["value"]:
        return no_update, no_update  # a button appearing is not a click
    actor = current_principal().name
    tokens = screen_tokens()
    try:
        if trigger == ISSUE:
            if not isinstance(name, str) or not isinstance(scope_text, str):
                raise AccessError("give the token a name and a scope")
            token, secret = tokens.issue(name.strip(), Scope.parse(scope_text), actor=actor)
            address = wall_address(secret)
            message = html.Div(
                [
                    html.Span(t("token_issued", lang, name=token.name)),
                    html.Code(address, id="tokens-address", className="tokens-address"),
                ],
                className="alert alert-warning py-1",
            )
        elif isinstance(trigger, dict) and trigger.get("type") == REVOKE and isinstance(trigger.get("name"), str):
            token = tokens.revoke(trigger["name"], actor=actor)
            message = html.Div(t("token_revoked_done", lang, name=token.name), className="alert alert-info py-1")
        else:
            return no_update, no_update
    except AccessError as exc:
        message = html.Div(str(exc), className="alert alert-danger py-1", id="tokens-error")
    return token_table(lang), message


# ---- users (read only) --------------------------------------------------------------------------


def users_panel(lang: str) -> html.Section:
    conn = _gate().conn()
    rows = []
    for account in accounts(conn):
        locked = locked_until(conn, account.name)
        if account.disabled:
            state = t("user_disabled", lang)
        elif locked is not None:
            state = t("user_locked", lang, until=local_time(locked.isoformat()))
        elif account.must_change_password:
            state = t("user_must_change", lang)
        else:
            state = t("user_ok", lang)
        rows.append(
            html.Tr(
                [
                    html.Td(account.name),
                    html.Td(account.display_name),
                    html.Td(account.role.label),
                    html.Td(str(account.scope)),
                    html.Td(", ".join(sorted(p.value for p in account.grants))),
                    html.Td(state),
                ],
                className="user-row row-bad" if account.disabled or locked else "user-row",
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(key, lang))
                for key in ("user_name", "user_display_name", "user_role", "user_scope", "user_grants", "user_state")
            ]
        )
    )
    return html.Section(
        [
            html.H3(t("users_title", lang)),
            html.P(t("users_help", lang), className="text-secondary"),
            html.Table([head, html.Tbody(rows)], className="cockpit-table users-table"),
        ],
        className="card-panel admin-panel",
        id="users-panel",
    )
