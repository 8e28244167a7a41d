"""The operator's actions on the 数据管道 page: roll back to the previous release, run the pipeline now.

A rollback is confirmed in a dialog that names the release it goes back to and the landing days it sets
aside; a run starts `cockpit pipeline run` in the background (cockpit/ops.py) and its state is polled.
Both need the pipeline permission, are audited, and answer a failure with one line on the page. After
either, the page's tables are drawn again through the `pipeline-changed` store.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from cockpit.access.accounts import Permission
from cockpit.access.audit import Action, Outcome
from cockpit.access.principal import current_principal
from cockpit.access.web import record, requires
from cockpit.data import current_warehouse
from cockpit.i18n import current_language, t
from cockpit.ops import (
    OperationError,
    RunState,
    claim_finish,
    finish_claimed,
    latest_run,
    roll_back,
    rollback_plan,
    run_state,
    start_run,
)

POLL_MS = 2000
# The "回滚到此版本" button of each release in the releases table (pattern-matching id: {type, run}).
ROLLBACK_TO = "pipeline-rollback-to"
# The page redraws its tables when this store changes (pages/pipeline.py listens to it).
CHANGED = "pipeline-changed"


def pipeline_actions(lang: str) -> html.Div:
    """The action buttons, the rollback dialog, the state of the latest run and what polls it."""
    state = latest_run(current_warehouse().home)
    follow = _needs_following(state)
    return html.Div(
        [
            html.Div(
                [
                    html.Button(
                        t("pipeline_rollback", lang),
                        id="pipeline-rollback-open",
                        className="btn btn-sm btn-outline-danger",
                        n_clicks=0,
                    ),
                    html.Button(
                        t("pipeline_run_now", lang),
                        id="pipeline-run-start",
                        className="btn btn-sm btn-primary",
                        n_clicks=0,
                        disabled=bool(state and state.running),
                    ),
                ],
                className="pipeline-action-buttons",
            ),
            html.Div(id="pipeline-action-message", className="pipeline-action-message", role="status"),
            html.Div(run_status(state, lang), id="pipeline-run-status", className="pipeline-run-status"),
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle(t("pipeline_rollback", lang))),
                    dbc.ModalBody(id="pipeline-rollback-plan"),
                    dbc.ModalFooter(
                        [
                            html.Button(
                                t("cancel", lang),
                                id="pipeline-rollback-cancel",
                                className="btn btn-outline-secondary",
                                n_clicks=0,
                            ),
                            html.Button(
                                t("pipeline_rollback_confirm", lang),
                                id="pipeline-rollback-confirm",
                                className="btn btn-danger",
                                n_clicks=0,
                            ),
                        ]
                    ),
                ],
                id="pipeline-rollback-modal",
                is_open=False,
            ),
            dcc.Store(id="pipeline-rollback-target"),
            dcc.Store(id="pipeline-run-job", data=state.job if follow else None),
            dcc.Interval(id="pipeline-run-poll", interval=POLL_MS, disabled=not follow),
            dcc.Store(id=CHANGED, data=0),
        ],
        className="pipeline-actions",
        id="pipeline-actions",
    )


def _needs_following(state: RunState | None) -> bool:
    """Poll while a run goes on, and once more for a run that ended unseen (its end is recorded then)."""
    return state is not None and (state.running or not finish_claimed(current_warehouse().home, state.job))


def run_status(state: RunState | None, lang: str) -> html.Span:
    """The state of a run in one line: running, finished with its exit code and summary, or failed."""
    if state is None:
        return html.Span(t("pipeline_run_none", lang), className="text-muted")
    if state.running:
        text = t("pipeline_run_running", lang, started=state.started_at, by=state.started_by)
        return html.Span(text, className="run-running")
    summary = state.summary or {}
    values = {"code": "?" if state.exit_code is None else state.exit_code, "line": state.outcome_line}
    if state.succeeded:
        text = t(
            "pipeline_run_finished", lang, run=summary.get("run_id", ""), status=summary.get("status", ""), **values
        )
        return html.Span(text, className="run-finished")
    return html.Span(t("pipeline_run_failed", lang, **values), className="run-failed")


def with_rollback_buttons(table: html.Table, releases: list[tuple[str, bool]], lang: str) -> html.Table:
    """The releases table with a "回滚到此版本" button on each row but the current one (`releases`: its rows)."""
    head, body = [part for part in table.children if isinstance(part, html.Thead | html.Tbody)]
    head.children.children.append(html.Th(""))
    for row, (run_id, is_current) in zip(body.children, releases, strict=True):
        button = html.Button(
            t("pipeline_rollback_to", lang),
            id={"type": ROLLBACK_TO, "run": run_id},
            className="btn btn-sm btn-outline-danger",
        )
        row.children.append(html.Td(None if is_current else button))
    return table


def _line(text: str, *, error: bool) -> html.Span:
    return html.Span(text, className="action-error" if error else "action-ok")


# ---- rollback -----------------------------------------------------------------------------------------------


@callback(
    Output("pipeline-rollback-modal", "is_open"),
    Output("pipeline-rollback-plan", "children"),
    Output("pipeline-rollback-target", "data"),
    Output("pipeline-action-message", "children"),
    Input("pipeline-rollback-open", "n_clicks"),
    Input({"type": ROLLBACK_TO, "run": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.PIPELINE)
def _open_rollback(_previous, _to_release):
    # The releases' buttons are drawn again after every change: only a click opens the dialog.
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update, no_update, no_update, no_update
    chosen = ctx.triggered_id["run"] if isinstance(ctx.triggered_id, dict) else None
    lang = current_language()
    try:
        plan = rollback_plan(current_warehouse().home, chosen)
    except OperationError as exc:
        return False, None, None, _line(t("pipeline_rollback_refused", lang, reason=exc), error=True)
    days = "、".join(plan.days) if plan.days else t("none", lang)
    body = [
        html.P(t("pipeline_rollback_from_to", lang, current=plan.current or "-", target=plan.target)),
        html.P(t("pipeline_rollback_days", lang, days=days), id="pipeline-rollback-days"),
        html.P(t("pipeline_rollback_accept_hint", lang), className="text-muted small"),
    ]
    return True, body, plan.target, None


@callback(
    Output("pipeline-rollback-modal", "is_open", allow_duplicate=True),
    Input("pipeline-rollback-cancel", "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.PIPELINE)
def _cancel_rollback(_clicks):
    return False


@callback(
    Output("pipeline-rollback-modal", "is_open", allow_duplicate=True),
    Output("pipeline-action-message", "children", allow_duplicate=True),
    Output(CHANGED, "data", allow_duplicate=True),
    Input("pipeline-rollback-confirm", "n_clicks"),
    State("pipeline-rollback-target", "data"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
@requires(Permission.PIPELINE)
def _confirm_rollback(_clicks, target, changed):
    lang = current_language()
    if not isinstance(target, str) or not target:
        return False, _line(t("pipeline_rollback_refused", lang, reason="no release chosen"), error=True), no_update
    try:
        before, done = roll_back(current_warehouse().home, target)
    except OperationError as exc:
        record(Action.ROLLBACK, target=target, detail={"reason": str(exc)}, outcome=Outcome.FAILED)
        return False, _line(t("pipeline_rollback_refused", lang, reason=exc), error=True), no_update
    rejected = sorted(f"{day.isoformat()} {source}" for source, day in done.rejected)
    record(Action.ROLLBACK, target=done.run_id, detail={"from": before, "to": done.run_id, "rejected_days": rejected})
    days = sorted({day.isoformat() for _, day in done.rejected})
    message = t("pipeline_rollback_done", lang, target=done.run_id, days="、".join(days) or t("none", lang))
    return False, _line(message, error=False), (changed or 0) + 1


# ---- a pipeline run --------------------------------------------------------------------------------------------


@callback(
    Output("pipeline-action-message", "children", allow_duplicate=True),
    Output("pipeline-run-status", "children"),
    Output("pipeline-run-job", "data"),
    Output("pipeline-run-poll", "disabled"),
    Output("pipeline-run-start", "disabled"),
    Input("pipeline-run-start", "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.PIPELINE)
def _start_run(_clicks):
    lang = current_language()
    try:
        state = start_run(current_warehouse().home, current_principal().name)
    except OperationError as exc:
        record(Action.PIPELINE_RUN, detail={"event": "start refused", "reason": str(exc)}, outcome=Outcome.FAILED)
        return (
            _line(t("pipeline_run_refused", lang, reason=exc), error=True),
            no_update,
            no_update,
            no_update,
            no_update,
        )
    record(Action.PIPELINE_RUN, target=state.job, detail={"event": "started"})
    return _line(t("pipeline_run_started", lang), error=False), run_status(state, lang), state.job, False, True


@callback(
    Output("pipeline-run-status", "children", allow_duplicate=True),
    Output("pipeline-run-poll", "disabled", allow_duplicate=True),
    Output("pipeline-run-start", "disabled", allow_duplicate=True),
    Output(CHANGED, "data", allow_duplicate=True),
    Input("pipeline-run-poll", "n_intervals"),
    State("pipeline-run-job", "data"),
    State(CHANGED, "data"),
    prevent_initial_call=True,
)
@requires(Permission.PIPELINE)
def _poll_run(_n, job, changed):
    lang = current_language()
    home = current_warehouse().home
    state = run_state(home, job) if isinstance(job, str) else None
    if state is None:
        return run_status(None, lang), True, False, no_update
    if state.running:
        return run_status(state, lang), False, True, no_update
    if claim_finish(home, state.job):
        summary = state.summary or {}
        detail = {
            "event": "finished",
            "exit_code": state.exit_code,
            "run_id": summary.get("run_id"),
            "status": summary.get("status"),
            "message": state.outcome_line,
            "started_by": state.started_by,
        }
        record(Action.PIPELINE_RUN, target=state.job, detail=detail, outcome=_outcome(state))
    return run_status(state, lang), True, False, (changed or 0) + 1


def _outcome(state: RunState) -> Outcome:
    return Outcome.OK if state.succeeded else Outcome.FAILED
