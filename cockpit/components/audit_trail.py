"""The audit trail as the admin reads it: filters from the query string, a table paged on the server, its export.

The /audit page (a page of entries at a time, read from SQLite) and the /audit/export.<csv|xlsx> route read
the same filters from the same query string (user, action, since, until), so an export holds exactly the entries
the page shows. Days are Asia/Shanghai
calendar days, both ends included; the trail stores UTC, and every time shown or exported is local.

An export is written through cockpit/exports.py's formula-safe writers, since entries carry text users typed
(display names, filters, token names), under a header saying who exported it, when, and with which filters.
The export itself goes into the trail (Action.EXPORT, target "audit"). The gate lets only principals with
Permission.AUDIT reach anything under /audit/.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import flask
import pyarrow as pa
from dash import Input, Output, State, callback, ctx

from cockpit.access import audit
from cockpit.access.accounts import Permission
from cockpit.access.audit import Action, Entry
from cockpit.access.principal import current_principal
from cockpit.access.web import requires
from cockpit.exports import FORMATS, csv_chunks, write_xlsx
from cockpit.i18n import current_language, t
from warehouse.calendar import TIME_ZONE

LOCAL = ZoneInfo(TIME_ZONE)
EXPORT_PATH = "/audit/export"
# The most entries one export holds; its header says when there were more (narrow the dates then).
EXPORT_MAX_ROWS = 200_000
_EXPORT_BATCH = 5_000
# The table shows one page of entries at a time, each read from SQLite when it is asked for.
PAGE_SIZE = 50
GRID, FILTER_STORE, PAGE_STORE, CHAIN = "audit-grid", "audit-filters", "audit-page", "audit-chain"
PREV, NEXT, PAGE_LABEL = "audit-prev", "audit-next", "audit-page-label"
COLUMNS = ("seq", "at", "actor", "action", "target", "outcome", "detail")


class BadFilter(ValueError):
    """A filter the query string cannot mean; the message is one line."""


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: one user, one action, a range of local days (both included); None means any."""

    user: str | None = None
    action: Action | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, object]) -> AuditFilter:
        """The filter a query string (or the page's store) names; raises BadFilter with a one-line reason."""
        user = _text(query.get("user"))
        if user is not None and len(user) > 200:
            raise BadFilter("the user name is longer than 200 characters")
        action_text = _text(query.get("action"))
        try:
            action = Action(action_text) if action_text is not None else None
        except ValueError:
            raise BadFilter(f"unknown action {action_text[:40]!r}: use one of {', '.join(Action)}") from None
        since, until = _day(query.get("since"), "since"), _day(query.get("until"), "until")
        if since and until and since > until:
            raise BadFilter(f"since {since} is after until {until}")
        return cls(user, action, since, until)

    def query(self) -> dict[str, str]:
        """The filter as query-string parameters (only those set)."""
        values = {
            "user": self.user,
            "action": self.action.value if self.action else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    def search(self) -> str:
        query = self.query()
        return f"?{urlencode(query)}" if query else ""

    def bounds(self) -> dict:
        """Keyword arguments of audit.entries/count: local days as UTC instants, `until` moved to the next midnight."""
        return {
            "actor": self.user,
            "action": self.action,
            "since": datetime.combine(self.since, time(), LOCAL) if self.since else None,
            "until": datetime.combine(self.until + timedelta(days=1), time(), LOCAL) if self.until else None,
        }

    def describe(self, lang: str) -> str:
        parts = []
        if self.user:
            parts.append(f"{t('audit_actor', lang)}={self.user}")
        if self.action:
            parts.append(f"{t('audit_action', lang)}={action_label(self.action, lang)}")
        if self.since or self.until:
            parts.append(f"{t('audit_dates', lang)}={self.since or '…'}~{self.until or '…'}")
        return ", ".join(parts) or t("all", lang)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadFilter("filters are text")
    return value.strip() or None


def _day(value: object, name: str) -> date | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BadFilter(f"{name} is a day as YYYY-MM-DD, not {text[:40]!r}") from None


def action_label(action: Action | str, lang: str) -> str:
    """An action's name in the reader's language (an action with no text yet shows its code, never fails)."""
    try:
        return t(f"audit_action_{Action(action).value}", lang)
    except (KeyError, ValueError):
        return str(action)


def local_time(at: str) -> str:
    """An entry's UTC timestamp as the local wall-clock time an admin reads."""
    return f"{datetime.fromisoformat(at).astimezone(LOCAL):%Y-%m-%d %H:%M:%S}"


def detail_text(entry: Entry) -> str:
    """The detail JSON as `key=value` pairs: short enough for a table cell, whole for an export."""
    try:
        details = entry.details
    except ValueError:
        return entry.detail
    if not isinstance(details, dict):
        return entry.detail
    return " · ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in details.items()
    )


def row(entry: Entry, lang: str) -> dict:
    return {
        "seq": entry.seq,
        "at": local_time(entry.at),
        "actor": entry.actor,
        "action": action_label(entry.action, lang),
        "target": entry.target,
        "outcome": entry.outcome,
        "detail": detail_text(entry),
    }


def state_conn():
    """A connection to the app-state database of the app serving this request."""
    return flask.current_app.config["COCKPIT_GATE"].conn()


def column_defs(lang: str) -> list[dict]:
    headers = {
        "seq": "#",
        "at": t("audit_at", lang),
        "actor": t("audit_actor", lang),
        "action": t("audit_action", lang),
        "target": t("audit_target", lang),
        "outcome": t("audit_outcome", lang),
        "detail": t("audit_detail", lang),
    }
    widths = {"seq": 90, "at": 170, "actor": 150, "action": 120, "outcome": 100}
    return [
        {
            "field": key,
            "headerName": label,
            "sortable": False,
            **({"width": widths[key]} if key in widths else {"flex": 1, "tooltipField": key}),
            **({"cellClass": "audit-outcome"} if key == "outcome" else {}),
        }
        for key, label in headers.items()
    ]


def block(filters: object, offset: int, limit: int) -> tuple[list[dict], int]:
    """Entries offset..offset+limit (newest first) for the page's filter store, and how many there are in all.

    Paged in SQLite from the store's snapshot (`through_seq`: the newest entry when the page was rendered), so
    entries appended meanwhile do not shift the pages. A store the browser made up yields nothing.
    """
    if not isinstance(filters, dict):
        return [], 0
    try:
        wanted = AuditFilter.from_query({k: v for k, v in filters.items() if k != "through_seq"})
    except BadFilter:
        return [], 0
    conn, lang = state_conn(), current_language()
    through = filters.get("through_seq")
    if not (isinstance(through, int) and not isinstance(through, bool) and 0 <= through < 2**62):
        through = audit.last_seq(conn)  # none, or one the browser made up (SQLite integers end at 2**63)
    bounds = wanted.bounds()
    found = audit.entries(conn, **bounds, limit=limit, offset=offset, through_seq=through)
    return [row(entry, lang) for entry in found], audit.count(conn, **bounds, through_seq=through)


@callback(
    Output(GRID, "rowData"),
    Output(PAGE_STORE, "data"),
    Output(PAGE_LABEL, "children"),
    Output(PREV, "disabled"),
    Output(NEXT, "disabled"),
    Input(PREV, "n_clicks"),
    Input(NEXT, "n_clicks"),
    State(PAGE_STORE, "data"),
    State(FILTER_STORE, "data"),
)
@requires(Permission.AUDIT)
def show_page(_prev, _next, page, filters):
    """One page of PAGE_SIZE entries, newest first: the first when the page loads, then 上一页 / 下一页."""
    page = page if isinstance(page, int) and not isinstance(page, bool) else 0
    step = {PREV: -1, NEXT: 1}.get(ctx.triggered_id, None)
    page = page + step if step is not None else 0
    _, total = block(filters, 0, 0)
    last = max((total - 1) // PAGE_SIZE, 0)
    page = min(max(page, 0), last)
    rows, total = block(filters, page * PAGE_SIZE, PAGE_SIZE)
    label = t("audit_page", current_language(), page=page + 1, pages=last + 1, total=total)
    return rows, page, label, page == 0, page >= last


# ---- export --------------------------------------------------------------------------------


def export_href(wanted: AuditFilter, fmt: str) -> str:
    return f"{EXPORT_PATH}.{fmt}{wanted.search()}"


def _plain(message: str, status: int) -> flask.Response:
    return flask.Response(message.splitlines()[0][:300] + "\n", status=status, mimetype="text/plain")


def _batches(conn, wanted: AuditFilter, through: int, shown: int, lang: str) -> Iterator[pa.RecordBatch]:
    schema = export_schema()
    bounds = wanted.bounds()
    for offset in range(0, shown, _EXPORT_BATCH):
        found = audit.entries(
            conn, **bounds, limit=min(_EXPORT_BATCH, shown - offset), offset=offset, through_seq=through
        )
        if not found:
            return
        rows = [row(entry, lang) for entry in found]
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def export_schema() -> pa.Schema:
    return pa.schema([("seq", pa.int64()), *((name, pa.string()) for name in COLUMNS[1:])])


def export_audit(fmt: str) -> flask.Response:
    """GET /audit/export.<csv|xlsx>?user=&action=&since=&until=: the filtered entries under a header, audited."""
    if fmt not in FORMATS:
        return _plain(f"unknown export format {fmt[:20]!r}: use one of {', '.join(FORMATS)}", 404)
    lang = current_language()
    try:
        wanted = AuditFilter.from_query(flask.request.args.to_dict())
    except BadFilter as exc:
        return _plain(t("audit_bad_filter", lang, reason=exc), 400)
    principal = current_principal()
    conn = state_conn()
    # Taken before the export's own entry is written: the file holds what was there when it was asked for.
    through = audit.last_seq(conn)
    total = audit.count(conn, **wanted.bounds(), through_seq=through)
    shown = min(total, EXPORT_MAX_ROWS)
    audit.append(
        conn,
        principal.name,
        Action.EXPORT,
        target="audit",
        detail={"format": fmt, "filters": wanted.query(), "rows": shown, "total": total},
    )
    header = [
        (t("audit", lang), t("audit_total", lang, total=total)),
        (t("audit_exported_by", lang), principal.label),
        (t("exported_at", lang), f"{datetime.now(LOCAL):%Y-%m-%d %H:%M:%S}"),
        (t("filters", lang), wanted.describe(lang)),
        (t("records", lang), f"{shown} / {total}"),
    ]
    filename = f"audit_{datetime.now(LOCAL):%Y%m%d-%H%M%S}.{fmt}"
    batches = _batches(state_conn(), wanted, through, shown, lang)
    if fmt == "csv":
        response = flask.Response(csv_chunks(header, export_schema(), batches), mimetype=FORMATS[fmt])
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    handle = tempfile.TemporaryFile()
    try:
        write_xlsx(handle, header, export_schema(), batches, t("audit", lang))
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return flask.send_file(handle, mimetype=FORMATS[fmt], as_attachment=True, download_name=filename)


def register_audit_routes(server: flask.Flask) -> None:
    """The audit export (the gate requires Permission.AUDIT for everything under /audit/)."""
    server.add_url_rule(f"{EXPORT_PATH}.<fmt>", "export_audit", export_audit)


def chain_status(lang: str, conn=None) -> tuple[str, str]:
    """The hash chain's state (of the serving app's database, or `conn`'s) and its alert class: intact with its
    count, or broken at an entry (red)."""
    verified = audit.verify(conn if conn is not None else state_conn())
    if verified.ok:
        return t("audit_chain_ok", lang, count=verified.checked), "audit-chain alert alert-success py-1"
    text = t("audit_chain_broken", lang, seq=verified.broken_seq, reason=verified.reason)
    return text, "audit-chain alert alert-danger py-1"


@callback(
    Output(CHAIN, "children"),
    Output(CHAIN, "className"),
    Input(FILTER_STORE, "data"),
)
@requires(Permission.AUDIT)
def check_chain(_filters):
    """Verify the chain after the page has appeared: it reads every entry (seconds for a few hundred thousand,
    see benchmarks/audit.py), so the table does not wait for it."""
    return chain_status(current_language())
