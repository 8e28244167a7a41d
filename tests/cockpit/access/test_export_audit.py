"""Every export is in the audit trail and names who made it; a scoped user exports only their rows;
a background export's file is its owner's alone.

Through the real app and routes, signed in as real accounts; files read back with csv and openpyxl;
the expected rows counted independently on the release file with DuckDB.
"""

from __future__ import annotations

import csv
import io
import time

import duckdb
import openpyxl
import pytest

from cockpit.access import audit
from cockpit.access.state import connect
from tests.fixtures.accounts import signed_client

KPI = "tickets_received"
PERIOD = "this_year"


def _trail(home, actor: str, action: str) -> list[audit.Entry]:
    """The actor's entries of one action, oldest first."""
    return sorted(audit.entries(connect(home), actor=actor, action=action, limit=10_000), key=lambda e: e.seq)


def _community(loaded_demo) -> tuple[str, str]:
    """The community with the most tickets and its name, read from the release, not through the app."""
    con = duckdb.connect(str(loaded_demo.release), read_only=True)
    try:
        return con.execute(
            "SELECT t.community_id, c.name FROM fct_ticket AS t JOIN dim_community AS c USING (community_id) "
            "WHERE t.community_id <> 'unknown' GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()


def _tickets_in(loaded_demo, community: str | None) -> int:
    """Tickets received this year (the KPI's own rule: not a merged duplicate) in the community or the street."""
    con = duckdb.connect(str(loaded_demo.release), read_only=True)
    try:
        sql = (
            "SELECT count(*) FROM fct_ticket WHERE duplicate_of IS NULL "
            "AND received_at >= date_trunc('year', (SELECT max(data_through) FROM meta_release)) "
            "AND received_at < (SELECT max(data_through) FROM meta_release) + INTERVAL 1 DAY"
        )
        if community is None:
            return con.execute(sql).fetchone()[0]
        return con.execute(sql + " AND community_id = ?", [community]).fetchone()[0]
    finally:
        con.close()


def _csv(response) -> tuple[dict[str, str], list[dict[str, str]]]:
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    header = {}
    body = []
    for line in lines:
        if line.startswith('"#'):
            key, value = next(csv.reader([line]))[:2]
            header[key.removeprefix("# ")] = value
        else:
            body.append(line)
    return header, list(csv.DictReader(io.StringIO("\n".join(body))))


def test_a_csv_export_names_who_made_it_and_is_audited_with_its_row_count(app, loaded_demo):
    client = signed_client(app, name="exporter", role="analyst")
    response = client.get(f"/export/records.csv?kpi={KPI}&period={PERIOD}")
    assert response.status_code == 200
    header, rows = _csv(response)
    # the whole street is named by the street's configured name
    assert header["导出人"] == "exporter" and header["数据范围"] == app.server.config["COCKPIT_STREET"].name
    assert len(rows) == _tickets_in(loaded_demo, None) > 0
    (entry,) = _trail(loaded_demo.home, "exporter", "export")[-1:]
    detail = entry.details
    assert (entry.target, detail["kpi"], detail["format"], detail["rows"]) == (KPI, KPI, "csv", len(rows))
    assert detail["scope"] == "street" and detail["period"].startswith("2026-01-01")
    assert audit.verify(connect(loaded_demo.home)).ok


def test_a_community_users_xlsx_export_holds_only_their_community_and_says_so(app, loaded_demo):
    community, name = _community(loaded_demo)
    client = signed_client(app, name="clerk", role="community", scope=f"community:{community}")
    # A filter naming the whole street's other community does not widen it: the rows stay theirs.
    response = client.get(f"/export/records.xlsx?kpi={KPI}&period={PERIOD}")
    assert response.status_code == 200
    sheet = list(openpyxl.load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True))
    header = {row[0]: row[1] for row in sheet if row and isinstance(row[0], str) and row[1] is not None}
    assert header["导出人"] == "clerk" and header["数据范围"] == name
    columns_at = next(i for i, row in enumerate(sheet) if row[0] == "工单编号")
    columns = sheet[columns_at]
    rows = [dict(zip(columns, row, strict=True)) for row in sheet[columns_at + 1 :]]
    # the community column shows its name, the code column beside it the code
    assert {row["社区代码"] for row in rows} == {community}
    assert len(rows) == _tickets_in(loaded_demo, community) > 0
    detail = _trail(loaded_demo.home, "clerk", "export")[-1].details
    assert detail["scope"] == f"community:{community}" and detail["rows"] == len(rows)


def test_a_filter_outside_the_users_scope_exports_nothing(app, loaded_demo):
    community, _ = _community(loaded_demo)
    con = duckdb.connect(str(loaded_demo.release), read_only=True)
    other = con.execute(
        "SELECT community_id FROM dim_community WHERE community_id NOT IN (?, 'unknown') LIMIT 1", [community]
    ).fetchone()[0]
    con.close()
    client = signed_client(app, name="clerk", role="community", scope=f"community:{community}")
    _, rows = _csv(client.get(f"/export/records.csv?kpi={KPI}&period={PERIOD}&community={other}"))
    assert rows == []


def _wait(client, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get(f"/export/jobs/{job_id}").get_json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    pytest.fail("the export job did not finish within 120 s")


def test_a_background_export_is_its_owners_alone_and_both_its_start_and_download_are_audited(app, loaded_demo):
    owner = signed_client(app, name="owner", role="analyst")
    other = signed_client(app, name="colleague", role="analyst")
    started = owner.post("/export/jobs", json={"kpi": KPI, "period": PERIOD, "format": "csv"})
    assert started.status_code == 202
    job_id = started.get_json()["job"]
    assert _wait(owner, job_id)["status"] == "done"
    # the same role, the same permissions, the job id in hand: still not theirs
    assert other.get(f"/export/jobs/{job_id}").status_code == 404
    assert other.get(f"/export/jobs/{job_id}/file").status_code == 404
    download = owner.get(f"/export/jobs/{job_id}/file")
    assert download.status_code == 200
    _, rows = _csv(download)
    kinds = [e.details["kind"] for e in _trail(loaded_demo.home, "owner", "export") if e.details.get("job") == job_id]
    assert kinds == ["job_start", "job_download"]
    assert _trail(loaded_demo.home, "owner", "export")[-1].details["rows"] == len(rows)


def test_a_refused_export_is_audited_as_denied(app, loaded_demo):
    leader = signed_client(app, name="chief", role="leader")
    assert leader.get(f"/export/records.csv?kpi={KPI}").status_code == 403
    (entry,) = _trail(loaded_demo.home, "chief", "denied")[-1:]
    assert entry.outcome == "denied" and entry.target.startswith("/export/")
