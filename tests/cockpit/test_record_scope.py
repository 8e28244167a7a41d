"""Who gets the rows behind a number: a page's record table serves only the KPIs that page shows, and
personal records (party members), the record table and exports only to principals granted them.

Everything is driven through the real app: record-table and background-export callbacks over HTTP as the
browser posts them, the export routes with Flask's test client, page layouts rendered in a request.
Each request is signed in as a real account of the principal's permissions (tests/fixtures/accounts.py).
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import pkgutil
import time
from collections.abc import Iterator
from contextlib import contextmanager

import openpyxl
import pytest

import cockpit.pages
from cockpit.access.accounts import ROLES, Permission, Scope, ScopeKind
from cockpit.access.principal import Principal, PrincipalKind
from cockpit.components.board import Board, Chart, board_layout, render_list
from cockpit.components.records import exportable_kpis, record_kpis
from cockpit.data import current_warehouse
from cockpit.exports import ExportJobs
from cockpit.metrics import compute, default_catalog, get_metric
from cockpit.view import View
from tests.cockpit.dash_client import DashClient, by_type, find, walk
from tests.fixtures.accounts import signed_client, signed_context

PERIOD = "this_year"
# What the tester posted: the party page's member roll asked for from the dispatch page.
PERSONAL_KPI = "party_members"
# The sentence a principal without the personal grant reads instead of party members' rows (the issue's words).
PERSONAL_NOTE = "党员个人信息仅对授权用户可见"


def page_boards() -> dict[str, Board]:
    """Every page module that declares a Board, by page id (read from the page modules themselves)."""
    boards = {}
    for module in pkgutil.iter_modules(cockpit.pages.__path__):
        board = getattr(importlib.import_module(f"cockpit.pages.{module.name}"), "BOARD", None)
        if isinstance(board, Board):
            boards[board.id] = board
    return boards


def declared_by_hand(board: Board) -> set[str]:
    """What a reader of the page module sees it show: tiles, chart KPIs, map choices and its record KPI."""
    kpis = {board.record_kpi, *board.map_kpis}
    for group in board.groups:
        kpis.update(group.kpis)
    for chart in board.charts:
        kpis.update(chart.kpis)
    return kpis


def user(name: str, *permissions: Permission) -> Principal:
    return Principal(name, name, PrincipalKind.USER, frozenset(permissions), Scope(ScopeKind.STREET))


ANALYST = Principal(
    "analyst", "analyst", PrincipalKind.USER, ROLES["analyst"].permissions, Scope(ScopeKind.STREET), ROLES["analyst"]
)
ANALYST_WITH_PERSONAL = dataclasses.replace(
    ANALYST, name="secretary", permissions=ANALYST.permissions | {Permission.PERSONAL}
)
LEADER = Principal(
    "leader", "leader", PrincipalKind.USER, ROLES["leader"].permissions, Scope(ScopeKind.STREET), ROLES["leader"]
)
VIEW_AND_RECORDS = user("reader", Permission.VIEW, Permission.RECORDS)


# The real accounts the principals above are: each request goes through the sign-in gate with its session.
ACCOUNTS = {
    "analyst": {"name": "analyst", "role": "analyst"},
    "secretary": {"name": "secretary", "role": "analyst", "grants": ("personal",)},
    "leader": {"name": "leader", "role": "leader"},
    # an admin granted view and records: a principal with the table but no export
    "reader": {"name": "reader", "role": "admin", "grants": ("view", "records")},
}


@contextmanager
def acting_as(app, principal: Principal) -> Iterator[tuple[DashClient, object]]:
    """A Dash client and a plain test client signed in (real account, real session) as `principal`."""
    account = ACCOUNTS[principal.name]
    yield DashClient(app, **account), signed_client(app, **account)


@pytest.fixture(scope="module")
def client(app) -> DashClient:
    """An analyst granted personal records: everything a page shows is theirs to read."""
    return DashClient(app, **ACCOUNTS["secretary"])


@pytest.fixture
def jobs(app, tmp_path):
    """Background exports into a private directory, capped low so that a job is cheap."""
    previous = app.server.config["COCKPIT_EXPORTS"]
    app.server.config["COCKPIT_EXPORTS"] = ExportJobs(tmp_path / "exports", 10**6, 200)
    yield app.server.config["COCKPIT_EXPORTS"]
    app.server.config["COCKPIT_EXPORTS"] = previous


def store(kpi: str, **filters: str) -> dict:
    view = View.from_query({"period": PERIOD, **filters}, current_warehouse().info.data_through)
    return {**view.to_dict(), "record_kpi": kpi}


def rows(client: DashClient, page, view_store: dict, request: dict | None = None) -> dict:
    """The record table's answer for `page` (the MATCH id the browser names) and the view store it posts."""
    answer = client.update(
        "getRowsResponse",
        {"id": {"page": page, "type": "records"}, "property": "getRowsResponse"},
        [{"id": {"page": page, "type": "records"}, "property": "getRowsRequest", "value": request or {"startRow": 0}}],
        [{"id": {"page": page, "type": "view"}, "property": "data", "value": view_store}],
    )
    return next(iter(answer.values()))["getRowsResponse"]


def rows_counted_by_compute(kpi: str, view_store: dict) -> int:
    """How many records lie behind `kpi` in this view, by compute(): the KPI's own conditions, counting rows of
    its fact (not of a daily rollup, whose rows are days)."""
    metric = get_metric(kpi)
    counting = dataclasses.replace(
        metric, value="count(*)", denominator=None, thresholds=None, target=None, rollup=None
    )
    view = View.from_dict(view_store)
    with current_warehouse().cursor() as cur:
        frame = compute(cur, kpi, view.period, filters=view.filters, compare=False, catalog={kpi: counting})
    return 0 if frame.empty or frame["value"].isna().all() else int(frame["value"].iloc[0])


def render(app, page: str, query: dict, principal: Principal | None = None):
    """The page's layout as rendered for a request signed in as `principal` (the analyst granted personal records)."""
    with signed_context(app, **ACCOUNTS[principal.name if principal else "secretary"]):
        return board_layout(page_boards()[page], query)


def export_job(client: DashClient, page: str, view_store: dict) -> dict:
    """Click the panel's background-export button: {output type: value} of the answer."""
    ids = {kind: {"page": page, "type": kind} for kind in ("export-job", "export-job-notice", "export-job-poll")}
    answer = client.update(
        "export-job-notice",
        [
            {"id": ids[kind], "property": prop}
            for kind, prop in (
                ("export-job", "data"),
                ("export-job-notice", "children"),
                ("export-job-poll", "disabled"),
            )
        ],
        [
            {"id": {"page": page, "type": "export-job-start"}, "property": "n_clicks", "value": 1},
            {"id": ids["export-job-poll"], "property": "n_intervals", "value": 0},
        ],
        [
            {"id": ids["export-job"], "property": "data", "value": None},
            {"id": {"page": page, "type": "view"}, "property": "data", "value": view_store},
        ],
        changed=[json.dumps({"page": page, "type": "export-job-start"}, separators=(",", ":")) + ".n_clicks"],
    )
    return {json.loads(key.rsplit(".", 1)[0])["type"]: next(iter(value.values())) for key, value in answer.items()}


def finished(jobs: ExportJobs, job_id: str) -> dict:
    for _ in range(600):
        state = jobs.state(job_id)
        if state and state["status"] in ("done", "failed"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"export job {job_id} did not finish")


# ---- a page serves the KPIs it declares, and only those -----------------------------------------------------


def test_the_declarations_are_what_the_page_modules_show(app):
    boards = page_boards()
    assert {"overview", "dispatch", "party", "grid", "approvals", "enforcement"} <= set(boards)
    for page, board in boards.items():
        assert record_kpis(page) == declared_by_hand(board), page
    assert record_kpis("metrics") == frozenset()  # the catalog page has no record table
    assert exportable_kpis() == set().union(*(declared_by_hand(board) for board in boards.values()))


def test_posting_another_pages_kpi_gets_no_rows_while_the_pages_own_kpi_gets_them(app, client):
    assert PERSONAL_KPI not in declared_by_hand(page_boards()["dispatch"])
    stolen = rows(client, "dispatch", store(PERSONAL_KPI))
    assert stolen == {"rowData": [], "rowCount": 0}

    own = rows(client, "dispatch", store("tickets_received"))
    assert own["rowCount"] == rows_counted_by_compute("tickets_received", store("tickets_received")) > 0
    # the same member roll from the page that shows it (an analyst granted personal records reads it)
    members = rows(client, "party", store(PERSONAL_KPI))
    assert members["rowCount"] == rows_counted_by_compute(PERSONAL_KPI, store(PERSONAL_KPI)) > 0


@pytest.mark.parametrize("page", ["no-such-page", "", None, 7, ["dispatch"], {"page": "dispatch"}])
def test_a_page_id_no_page_declares_gets_nothing(app, client, page):
    assert rows(client, page, store("tickets_received")) == {"rowData": [], "rowCount": 0}


def test_the_background_export_refuses_a_kpi_the_page_does_not_show(app, client, jobs):
    answer = export_job(client, "dispatch", store(PERSONAL_KPI))
    assert answer["export-job"] is None and answer["export-job-poll"] is True
    assert PERSONAL_KPI in answer["export-job-notice"] and "\n" not in answer["export-job-notice"]
    assert not jobs.directory.exists(), "no job was started"


def test_every_declared_kpi_of_every_page_serves_the_rows_compute_counts(app, client):
    most_rows = {}
    for page, board in page_boards().items():
        for kpi in sorted(declared_by_hand(board)):
            view_store = store(kpi)
            answer = rows(client, page, view_store)
            assert answer["rowCount"] == rows_counted_by_compute(kpi, view_store), (page, kpi)
            assert len(answer["rowData"]) == min(answer["rowCount"], 50), (page, kpi)
            most_rows[page] = max(most_rows.get(page, 0), answer["rowCount"])
    # an answer of 0 everywhere would pass the equality above: every page has records somewhere in the demo year
    assert all(count > 0 for count in most_rows.values()), str(most_rows)


def test_a_kpi_in_the_url_the_page_does_not_show_leaves_the_pages_own_record_table(app):
    (dispatch_store,) = find(render(app, "dispatch", {"kpi": PERSONAL_KPI}), by_type("view"))
    assert dispatch_store.data["record_kpi"] == page_boards()["dispatch"].record_kpi
    (overview_store,) = find(render(app, "overview", {"kpi": PERSONAL_KPI}), by_type("view"))
    assert overview_store.data["record_kpi"] == PERSONAL_KPI  # the overview's party strip shows it: a tile click


def _kpis_in(node) -> set[str]:
    """Every KPI id a rendered page names where a click or a choice can put it in focus."""
    catalog = set(default_catalog())
    found: set[str] = set()

    def visit(each):
        if isinstance(each, dict):
            component_id = (each.get("props") or {}).get("id") if "props" in each else each.get("id")
            if isinstance(component_id, dict) and component_id.get("kpi") in catalog:
                found.add(component_id["kpi"])
            for key, value in each.items():
                if key in ("customdata", "value") and isinstance(value, str | list):
                    found.update(v for v in (value if isinstance(value, list) else [value]) if v in catalog)
                else:
                    visit(value)
        elif isinstance(each, list | tuple):
            for item in each:
                visit(item)

    visit(node)
    return found


def test_every_kpi_a_page_shows_or_lets_a_click_focus_is_declared(app, client):
    """A chart or tile added with a KPI the declaration misses fails here: the page is read as rendered."""
    for page in page_boards():
        layout = render(app, page, {"period": PERIOD})
        shown = {c.id["kpi"] for c in walk(layout) if isinstance(getattr(c, "id", None), dict) and "kpi" in c.id}
        shown |= {option["value"] for c in find(layout, by_type("filter", key="map")) for option in c.options}
        answers = {}
        for output, outputs, inputs in client.page_updates(layout, page):
            answers.update(client.update(output, outputs, inputs))
        shown |= _kpis_in(answers)
        assert shown, page
        assert shown <= record_kpis(page), (page, shown - record_kpis(page))


# ---- the export routes ---------------------------------------------------------------------------------------


def test_an_export_of_a_kpi_no_page_shows_is_refused_with_a_reason(app):
    http = signed_client(app)
    undeclared = sorted(set(default_catalog()) - set().union(*map(declared_by_hand, page_boards().values())))
    assert undeclared, "every catalog KPI is on some page: pick another way to test the refusal"
    for fmt in ("csv", "xlsx"):
        response = http.get(f"/export/records.{fmt}?kpi={undeclared[0]}&period={PERIOD}")
        assert response.status_code == 400
        assert undeclared[0] in response.get_data(as_text=True) and response.get_data(as_text=True).count("\n") == 1
    started = http.post("/export/jobs", json={"kpi": undeclared[0], "period": PERIOD, "format": "csv"})
    assert started.status_code == 400 and undeclared[0] in started.get_data(as_text=True)


# ---- personal records, RECORDS and EXPORT --------------------------------------------------------------------


def test_party_members_rows_only_for_a_principal_granted_personal_records(app, client, jobs):
    members = store(PERSONAL_KPI)
    expected = rows_counted_by_compute(PERSONAL_KPI, members)
    with acting_as(app, ANALYST) as (client, http):
        assert rows(client, "party", members) == {"rowData": [], "rowCount": 0}
        # the same analyst still reads the party page's other records
        assert rows(client, "party", store("pledges_posted"))["rowCount"] > 0
        for fmt in ("csv", "xlsx"):
            refused = http.get(f"/export/records.{fmt}?kpi={PERSONAL_KPI}&period={PERIOD}")
            assert refused.status_code == 403
            assert refused.get_data(as_text=True) == PERSONAL_NOTE + "\n"
        job = http.post("/export/jobs", json={"kpi": PERSONAL_KPI, "period": PERIOD, "format": "xlsx"})
        assert job.status_code == 403
        answer = export_job(client, "party", members)
        assert answer["export-job"] is None and answer["export-job-notice"] == PERSONAL_NOTE
        assert not jobs.directory.exists(), "no job was started"
        english = signed_client(app, **ACCOUNTS["analyst"])
        english.set_cookie("cockpit_lang", "en")
        reason = english.get(f"/export/records.csv?kpi={PERSONAL_KPI}").get_data(as_text=True)
        assert "personal" in reason and reason.count("\n") == 1 and PERSONAL_NOTE not in reason

    with acting_as(app, ANALYST_WITH_PERSONAL) as (client, http):
        assert rows(client, "party", members)["rowCount"] == expected > 0
        csv_text = http.get(f"/export/records.csv?kpi={PERSONAL_KPI}&period={PERIOD}").get_data(as_text=True)
        data_lines = [line for line in csv_text.splitlines()[1:] if not line.startswith('"#')]
        assert data_lines[0].startswith('"党员编号"') and len(data_lines) - 1 == expected
        started = http.post("/export/jobs", json={"kpi": PERSONAL_KPI, "period": PERIOD, "format": "xlsx"})
        assert started.status_code == 202
        job_id = started.get_json()["job"]
        assert finished(jobs, job_id)["status"] == "done"
        download = http.get(f"/export/jobs/{job_id}/file")
        assert download.status_code == 200
        sheet = list(openpyxl.load_workbook(io.BytesIO(download.get_data())).active.iter_rows(values_only=True))
        names_at = next(i for i, row in enumerate(sheet) if row[0] == "党员编号")
        assert len(sheet) - names_at - 1 == min(expected, jobs.max_rows)

    # the job's file does not pass to someone else, even with its id: another user's job is as good as unknown
    with acting_as(app, ANALYST) as (client, http):
        assert http.get(f"/export/jobs/{job_id}/file").status_code == 404


def test_the_panel_shows_a_note_instead_of_the_rows_a_principal_may_not_see(app):
    layout = render(app, "party", {"kpi": PERSONAL_KPI}, ANALYST)
    assert not find(layout, by_type("records")) and not find(layout, by_type("export-job-start"))
    assert not [c for c in walk(layout) if str(getattr(c, "id", "")).startswith("party-export-")]
    assert [c.children for c in find(layout, lambda i: i == "party-records-note")] == [PERSONAL_NOTE]

    granted = render(app, "party", {"kpi": PERSONAL_KPI}, ANALYST_WITH_PERSONAL)
    assert find(granted, by_type("records")) and find(granted, by_type("export-job-start"))
    assert not find(granted, lambda i: i == "party-records-note")


def test_without_records_permission_there_is_no_table_no_rows_and_no_export(app, client):
    layout = render(app, "dispatch", {}, LEADER)
    assert not find(layout, by_type("records")) and not find(layout, by_type("export-job-start"))
    (note,) = find(layout, lambda i: i == "dispatch-records-note")
    assert note.children and "\n" not in note.children and note.children != PERSONAL_NOTE
    with acting_as(app, LEADER) as (client, http):
        # the gate refuses the record table's callback outright (403), before it could answer with rows
        request = [{"id": {"page": "dispatch", "type": "records"}, "property": "getRowsRequest", "value": {}}]
        view = [{"id": {"page": "dispatch", "type": "view"}, "property": "data", "value": store("tickets_received")}]
        output = {"id": {"page": "dispatch", "type": "records"}, "property": "getRowsResponse"}
        assert client.status("getRowsResponse", output, request, view) == 403
        response = http.get(f"/export/records.csv?kpi=tickets_received&period={PERIOD}")
        assert response.status_code == 403 and response.get_data(as_text=True).count("\n") == 1
        assert http.post("/export/jobs", json={"kpi": "tickets_received", "format": "csv"}).status_code == 403
        assert http.get(f"/export/jobs/{'0' * 32}").status_code == 403


def test_records_without_export_permission_show_the_table_but_no_export(app, client):
    layout = render(app, "dispatch", {}, VIEW_AND_RECORDS)
    assert find(layout, by_type("records"))
    assert not find(layout, by_type("export-job-start"))
    assert not [c for c in walk(layout) if str(getattr(c, "id", "")).startswith("dispatch-export-")]
    with acting_as(app, VIEW_AND_RECORDS) as (client, http):
        assert rows(client, "dispatch", store("tickets_received"))["rowCount"] > 0
        response = http.get(f"/export/records.xlsx?kpi=tickets_received&period={PERIOD}")
        assert response.status_code == 403 and response.get_data(as_text=True).count("\n") == 1
        assert http.post("/export/jobs", json={"kpi": "tickets_received", "format": "csv"}).status_code == 403


def test_a_list_panel_of_personal_records_shows_them_only_to_a_principal_granted_them(app):
    """A list panel is part of viewing a page (a leader reads the overdue list), yet never personal rows."""
    members = Chart("list", (PERSONAL_KPI,), top=5, columns=("member_id", "gender", "birth_year"))
    view = View.from_query({"period": PERIOD}, current_warehouse().info.data_through)
    with signed_context(app, **ACCOUNTS[ANALYST.name]):
        hidden = render_list(members, view, "zh")
    assert hidden.children == PERSONAL_NOTE and not [c for c in walk(hidden) if c.__class__.__name__ == "Td"]
    with signed_context(app, **ACCOUNTS[ANALYST_WITH_PERSONAL.name]):
        shown = render_list(members, view, "zh")
    cells = [c for c in walk(shown) if c.__class__.__name__ == "Tr"]
    assert len(cells) - 1 == min(5, rows_counted_by_compute(PERSONAL_KPI, store(PERSONAL_KPI))) > 0
    # no RECORDS: the overdue list of the overview is still part of the page
    with signed_context(app, **ACCOUNTS[LEADER.name]):
        overdue = render_list(Chart("list", ("tickets_received",), top=3), view, "zh")
    assert len([c for c in walk(overdue) if c.__class__.__name__ == "Tr"]) == 1 + 3
