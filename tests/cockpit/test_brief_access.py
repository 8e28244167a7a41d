"""Briefs under access control: a brief holds what its author sees, names them, and is shown only within scope.

Briefs are printed by the real Chromium (`cockpit brief --as USER` and the app's job) on the demo release,
read back with pypdf, and served through the real sign-in gate. Expected numbers come from compute() run
on the release file with the author's communities as its scope.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from cockpit.access import audit
from cockpit.access.accounts import Accounts, Scope, find
from cockpit.access.principal import Principal
from cockpit.access.state import connect, transaction
from cockpit.briefing import SECTIONS, BriefSpec, collect
from cockpit.briefing.content import Coverage, OutOfScope
from cockpit.components.format import format_value
from cockpit.data import current_warehouse
from cockpit.metrics import compute, get_metric
from cockpit.metrics.catalog import RowScope
from cockpit.settings import Settings
from cockpit.view import View
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_briefing import PERIOD
from tests.fixtures.accounts import TEST_PASSWORD, ensure_user, signed_client

OS_USER = getpass.getuser()
# The accounts of this module: a community analyst (display name set: labels read "显示名 (name)"),
# an analyst of another community, a street leader, and a community worker (no briefs permission).
AUTHOR = {"name": "bfcommunity", "role": "analyst", "display": "澳韵分析员"}
OTHER = {"name": "bfother", "role": "analyst"}
LEADER = {"name": "bfleader", "role": "leader", "scope": "street"}
WORKER = {"name": "bfworker", "role": "community"}


def _cli(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "COCKPIT_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "brief", *args], env=environ, capture_output=True, text=True, timeout=300
    )


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pages(path: Path) -> list[str]:
    return [_flat(page.extract_text()) for page in PdfReader(path).pages]


def _minutes(start: datetime, end: datetime) -> list[str]:
    """Every HH:MM stamp a brief generated between start and end can carry."""
    stamps, moment = [], start.replace(second=0, microsecond=0)
    while moment <= end:
        stamps.append(f"{moment:%Y-%m-%d%H:%M}")
        moment += timedelta(minutes=1)
    return stamps


@dataclass
class Made:
    path: Path
    started: datetime
    ended: datetime


@dataclass
class Street:
    home: object
    communities: list[tuple[str, str]]  # (id, name), the unknown place left out
    scope: list[str]  # the author's communities
    other: str  # the other analyst's community
    briefs: dict[str, Made]


def _make(home, *args: str, env: dict | None = None) -> Made:
    started = datetime.now()
    result = _cli(home.root, "--period", str(PERIOD), *args, env=env)
    ended = datetime.now()
    assert result.returncode == 0, result.stderr
    return Made(Path(result.stdout.strip()), started, ended)


@pytest.fixture(scope="module")
def street(loaded_demo) -> Street:
    """The demo street's accounts of this module, and three briefs in its briefs folder: the street's
    (command line), the community analyst's (their two communities) and the other analyst's."""
    home = loaded_demo.home
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        communities = con.execute(
            "SELECT community_id, name FROM dim_community WHERE community_id <> 'unknown' ORDER BY 1"
        ).fetchall()
    scope, other = [communities[0][0], communities[1][0]], communities[2][0]
    conn = connect(home)
    if find(conn, AUTHOR["name"]) is None:
        Accounts(conn, Settings(home=home.root)).create(
            AUTHOR["name"],
            AUTHOR["role"],
            actor="tests",
            scope=Scope.parse(f"community:{','.join(scope)}"),
            display_name=AUTHOR["display"],
            password=TEST_PASSWORD,
        )
        with transaction(conn):
            conn.execute("UPDATE users SET must_change_password = 0 WHERE name = ?", (AUTHOR["name"],))
    ensure_user(home, OTHER["name"], OTHER["role"], f"community:{other}")
    ensure_user(home, LEADER["name"], LEADER["role"], LEADER["scope"])
    ensure_user(home, WORKER["name"], WORKER["role"], f"community:{scope[0]}")
    briefs = {
        "street": _make(home),
        "author": _make(home, "--as", AUTHOR["name"]),
        "other": _make(home, "--as", OTHER["name"]),
    }
    return Street(home, communities, scope, other, briefs)


def _label(account: dict) -> str:
    return f"{account['display']}({account['name']})" if account.get("display") else account["name"]


def _names(street: Street, ids) -> list[str]:
    names = dict(street.communities)
    return [names[each] for each in ids]


# ---- what a brief holds -----------------------------------------------------------------------------------


def test_a_brief_as_a_community_user_holds_the_numbers_of_their_communities_only(street, loaded_demo):
    text = "".join(_pages(street.briefs["author"].path))
    differs = 0
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        for section in SECTIONS:
            for kpi in section.kpis:
                metric = get_metric(kpi)
                value = compute(con, kpi, PERIOD, scope=street.scope)["value"].iloc[0]
                expected = _flat(f"{metric.name_zh}{format_value(value, metric.unit)}")
                assert expected in text, f"{kpi}: {expected} not in the community analyst's brief"
                differs += value != compute(con, kpi, PERIOD)["value"].iloc[0]
    assert differs > 10  # the scope changed the numbers, not only the cover
    inside = _names(street, street.scope)
    assert f"统计范围金鸡湖街道·{'、'.join(inside)}" in text
    # No other community appears anywhere: rankings, charts (drawn as text) and the overdue list are scoped.
    outside = [name for _, name in street.communities if name not in inside and not any(name in n for n in inside)]
    assert [name for name in outside if name in text] == []


def test_the_street_brief_of_the_command_line_ranks_other_communities(street):
    text = "".join(_pages(street.briefs["street"].path))
    outside = [name for cid, name in street.communities if cid not in street.scope]
    assert any(name in text for name in outside)  # the no-leak check above could fail


def test_the_cover_names_the_author_and_every_page_carries_their_name_and_the_time(street):
    made = street.briefs["author"]
    pages = _pages(made.path)
    label = _label(AUTHOR)
    assert f"生成人{label}" in pages[0]
    stamps = [f"{label}{stamp}" for stamp in _minutes(made.started, made.ended)]
    for number, text in enumerate(pages, start=1):
        assert any(stamp in text for stamp in stamps), f"page {number} has no watermark {stamps}"


def test_a_brief_of_the_command_line_is_by_the_system_and_its_operator(street):
    made = street.briefs["street"]
    pages = _pages(made.path)
    label = f"系统（命令行）(cli:{OS_USER})"
    assert f"生成人{label}" in pages[0]
    stamps = [f"{label}{stamp}" for stamp in _minutes(made.started, made.ended)]
    assert all(any(stamp in text for stamp in stamps) for text in pages)


def test_watermarks_switched_off_leave_only_the_author_on_the_cover(street, tmp_path):
    out = tmp_path / "plain.pdf"
    _make(street.home, "--as", AUTHOR["name"], "--out", str(out), env={"COCKPIT_WATERMARK": "0"})
    pages = _pages(out)
    label = _label(AUTHOR)
    assert pages[0].count(label) == 1 and f"生成人{label}" in pages[0]
    assert [number for number, text in enumerate(pages[1:], start=2) if label in text] == []


def test_briefs_made_are_in_the_audit_trail_with_their_author(street):
    entries = audit.entries(connect(street.home), action="brief", limit=1000)
    by_file = {entry.target: (entry.actor, json.loads(entry.detail)) for entry in entries}
    actor, detail = by_file[street.briefs["author"].path.name]
    assert actor == AUTHOR["name"]
    assert detail == {
        "kind": "generate",
        "period": str(PERIOD),
        "scope": f"community:{','.join(street.scope)}",
        "file": street.briefs["author"].path.name,
        "via": f"cli:{OS_USER}",
    }
    actor, detail = by_file[street.briefs["street"].path.name]
    assert actor == f"cli:{OS_USER}" and detail["scope"] == "street" and detail["kind"] == "generate"


# ---- who may make one --------------------------------------------------------------------------------------


def test_as_refuses_unknown_disabled_and_unpermitted_users_in_one_line(street, tmp_path):
    home = street.home
    ensure_user(home, "bfdisabled", "analyst", "street")
    Accounts(connect(home), Settings(home=home.root)).disable("bfdisabled", actor="tests")
    cases = {
        "bfnobody": "no such user",
        "bfdisabled": "disabled",
        WORKER["name"]: "may not make briefs",
    }
    for name, reason in cases.items():
        out = tmp_path / f"{name}.pdf"
        result = _cli(home.root, "--period", str(PERIOD), "--as", name, "--out", str(out))
        assert result.returncode == 1, result.stdout
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert f"--as {name}" in result.stderr and reason in result.stderr
        assert not out.exists()


def test_a_community_outside_the_authors_scope_is_refused_not_shown(street, tmp_path):
    other_name = _names(street, [street.other])[0]
    out = tmp_path / "outside.pdf"
    result = _cli(
        street.home.root, "--period", str(PERIOD), "--as", AUTHOR["name"], "--community", other_name, "--out", str(out)
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "outside the scope" in result.stderr
    assert not out.exists()


# ---- who may read one -----------------------------------------------------------------------------------


def _file_status(client, made: Made) -> int:
    return client.get(f"/briefs/file/{made.path.name}").status_code


def test_a_community_reader_gets_their_briefs_and_a_404_for_any_other(app, street):
    client = signed_client(app, name=AUTHOR["name"], role=AUTHOR["role"])
    response = client.get(f"/briefs/file/{street.briefs['author'].path.name}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.data == street.briefs["author"].path.read_bytes()
    assert _file_status(client, street.briefs["street"]) == 404
    assert _file_status(client, street.briefs["other"]) == 404
    missing = client.get("/briefs/file/brief_2026-01-01_2026-01-07_20260101T000000.pdf")
    refused = client.get(f"/briefs/file/{street.briefs['other'].path.name}")
    assert (refused.status_code, refused.data) == (missing.status_code, missing.data)  # nothing tells them apart
    # … but the audit trail does: the refusal of a brief that exists is recorded, the missing one is not.
    (entry,) = audit.entries(connect(street.home), actor=AUTHOR["name"], action="denied", limit=1)
    assert (entry.target, entry.outcome) == (f"/briefs/file/{street.briefs['other'].path.name}", "denied")


def test_a_reader_of_one_of_the_two_communities_does_not_get_the_brief_of_both(app, street):
    client = signed_client(app, name="bfhalf", role="analyst", scope=f"community:{street.scope[0]}")
    assert _file_status(client, street.briefs["author"]) == 404


def test_a_street_reader_gets_every_brief(app, street):
    client = signed_client(app, name=LEADER["name"], role=LEADER["role"])
    assert [_file_status(client, made) for made in street.briefs.values()] == [200, 200, 200]


def test_a_user_without_the_briefs_permission_is_refused_by_the_gate(app, street):
    client = signed_client(app, name=WORKER["name"], role=WORKER["role"], scope=f"community:{street.scope[0]}")
    assert _file_status(client, street.briefs["author"]) == 403
    assert client.get("/briefs").status_code == 403


def test_downloads_are_in_the_audit_trail(app, street):
    client = signed_client(app, name=LEADER["name"], role=LEADER["role"])
    name = street.briefs["other"].path.name
    assert client.get(f"/briefs/file/{name}").status_code == 200
    (entry,) = audit.entries(connect(street.home), actor=LEADER["name"], action="brief", limit=1)
    assert entry.target == name
    assert json.loads(entry.detail) == {
        "kind": "download",
        "period": str(PERIOD),
        "scope": f"community:{street.other}",
        "file": name,
    }


def _briefs_page(client: DashClient) -> str:
    response = client.route("/briefs")
    assert response.status_code == 200
    return json.dumps(response.get_json(), ensure_ascii=False)


def test_the_list_shows_a_reader_only_the_briefs_their_scope_covers(app, street):
    page = _briefs_page(DashClient(app, name=AUTHOR["name"], role=AUTHOR["role"]))
    shown = {key for key, made in street.briefs.items() if made.path.name in page}
    assert shown == {"author"}
    assert _label(AUTHOR).replace("(", " (") in page  # 生成人 column
    page = _briefs_page(DashClient(app, name=LEADER["name"], role=LEADER["role"]))
    assert all(made.path.name in page for made in street.briefs.values())


# ---- the app's job -----------------------------------------------------------------------------------------


def _job(client: DashClient, spec: dict) -> str:
    answer = client.update(
        "brief-job.data",
        [
            {"id": "brief-job", "property": "data"},
            {"id": "brief-poll", "property": "disabled"},
            {"id": "brief-start", "property": "disabled"},
        ],
        [{"id": "brief-start", "property": "n_clicks", "value": 1}],
        [{"id": "brief-spec", "property": "data", "value": spec}],
    )
    return answer["brief-job"]["data"]


def _wait(app, job: str) -> dict:
    from cockpit.briefing.jobs import job_state

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = job_state(app.server.config["COCKPIT_BRIEFS"], job)
        if state["status"] != "running":
            return state
        time.sleep(0.3)
    raise AssertionError(f"brief job {job} still running")


def _poll(client: DashClient, job: str) -> str:
    """The download link the progress poll offers this client for the job ('' when it offers none)."""
    answer = client.update(
        "brief-download.href",
        [
            {"id": "brief-progress", "property": "value"},
            {"id": "brief-status", "property": "children"},
            {"id": "brief-download", "property": "href"},
            {"id": "brief-download", "property": "className"},
            {"id": "brief-poll", "property": "disabled"},
            {"id": "brief-start", "property": "disabled"},
        ],
        [{"id": "brief-poll", "property": "n_intervals", "value": 1}],
        [{"id": "brief-job", "property": "data", "value": job}],
    )
    return answer["brief-download"]["href"]


def test_a_brief_made_in_the_app_is_the_signed_in_users(app, street, loaded_demo):
    client = DashClient(app, name=AUTHOR["name"], role=AUTHOR["role"])
    job = _job(client, {"period": str(PERIOD), "community": None})
    state = _wait(app, job)
    assert state["status"] == "done", state
    assert _poll(client, job) == f"/briefs/file/{state['file']}"
    assert _poll(DashClient(app, name=LEADER["name"], role=LEADER["role"]), job) == ""  # a job is its author's
    path = app.server.config["COCKPIT_BRIEFS"] / state["file"]
    pages = _pages(path)
    assert f"生成人{_label(AUTHOR)}" in pages[0]
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        tickets = compute(con, "tickets_received", PERIOD, scope=street.scope)["value"].iloc[0]
    assert f"受理工单{format_value(tickets, '件')}" in "".join(pages)
    (entry,) = audit.entries(connect(street.home), actor=AUTHOR["name"], action="brief", limit=1)
    assert entry.target == state["file"] and json.loads(entry.detail)["kind"] == "generate"
    assert client.client.get(f"/briefs/file/{state['file']}").status_code == 200
    leader = signed_client(app, name=LEADER["name"], role=LEADER["role"])
    other = signed_client(app, name=OTHER["name"], role=OTHER["role"], scope=f"community:{street.other}")
    assert (
        leader.get(f"/briefs/file/{state['file']}").status_code,
        other.get(f"/briefs/file/{state['file']}").status_code,
    ) == (200, 404)


def test_a_job_asking_for_a_community_outside_the_scope_fails_without_a_file(app, street):
    client = DashClient(app, name=AUTHOR["name"], role=AUTHOR["role"])
    before = set(app.server.config["COCKPIT_BRIEFS"].glob("brief_*.pdf"))
    state = _wait(app, _job(client, {"period": str(PERIOD), "community": street.other}))
    assert state["status"] == "failed" and "outside the scope" in state["error"]
    assert set(app.server.config["COCKPIT_BRIEFS"].glob("brief_*.pdf")) == before


def test_the_preview_of_a_community_outside_the_scope_is_a_one_line_404(app, street):
    client = signed_client(app, name=AUTHOR["name"], role=AUTHOR["role"])
    search = View(preset="custom", period=PERIOD, filters={"community": street.other}).to_search()
    response = client.get(f"/briefs/preview{search}")
    assert response.status_code == 404
    assert "outside the scope" in response.get_data(as_text=True) and response.get_data(as_text=True).count("\n") <= 1


# ---- grid scope and who reads what, without printing ----------------------------------------------------------


@pytest.fixture(scope="module")
def grid_author(app, loaded_demo) -> tuple[Principal, list[tuple[str, str, str]]]:
    """A grid worker of two grids of one community (granted briefs), and those grids (id, name, community)."""
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        grids = con.execute(
            "SELECT unit_id, name, community_id FROM dim_grid WHERE level = 'comprehensive' ORDER BY unit_id LIMIT 2"
        ).fetchall()
    account = ensure_user(loaded_demo.home, "bfgrid", "community", f"grid:{grids[0][0]},{grids[1][0]}", ("briefs",))
    return Principal.for_account(account, account.grants), grids


def test_a_grid_workers_brief_names_their_grids_and_holds_their_rows_only(grid_author, loaded_demo):
    author, grids = grid_author
    ids, community = tuple(grid for grid, _, _ in grids), grids[0][2]
    assert grids[1][2] == community
    brief = collect(current_warehouse(), BriefSpec(PERIOD), author=author, street="金鸡湖街道")
    assert brief.scope_name == f"金鸡湖街道 · {grids[0][1]}、{grids[1][1]}"
    assert brief.coverage == Coverage(Scope.parse(f"grid:{','.join(ids)}"), (community,))
    shown = {line.metric.id: line.value_text for section in brief.sections for line in section.kpis}
    differs = 0
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        for kpi, text in shown.items():
            metric = get_metric(kpi)
            value = compute(con, kpi, PERIOD, scope=RowScope((community,), ids))["value"]
            expected = format_value(value.iloc[0] if len(value) else None, metric.unit)
            assert text == expected, kpi
            community_wide = compute(con, kpi, PERIOD, scope=[community])["value"]
            differs += expected != format_value(community_wide.iloc[0] if len(community_wide) else None, metric.unit)
    assert differs > 0  # the grids are less than their community


def test_a_grid_worker_may_narrow_to_their_community_but_not_to_another(grid_author, street):
    author, grids = grid_author
    community = grids[0][2]
    name = _names(street, [community])[0]
    brief = collect(current_warehouse(), BriefSpec(PERIOD, community), author=author, street="金鸡湖街道")
    assert brief.scope_name == f"金鸡湖街道{name} · {grids[0][1]}、{grids[1][1]}"
    elsewhere = next(cid for cid, _ in street.communities if cid != community)
    with pytest.raises(OutOfScope, match="outside the scope of bfgrid"):
        collect(current_warehouse(), BriefSpec(PERIOD, elsewhere), author=author)


@pytest.mark.parametrize(
    ("brief", "reader", "readable"),
    [
        (("street", ()), "street", True),
        (("street", ()), "community:C1,C2,C3", False),
        (("street", ()), "grid:G1", False),
        (("community:C1,C2", ("C1", "C2")), "street", True),
        (("community:C1,C2", ("C1", "C2")), "community:C1,C2,C3", True),
        (("community:C1,C2", ("C1", "C2")), "community:C1", False),
        (("community:C1,C2", ("C1", "C2")), "grid:G1,G2", False),
        (("grid:G1,G2", ("C1",)), "community:C1", True),
        (("grid:G1,G2", ("C1",)), "community:C2", False),
        (("grid:G1,G2", ("C1",)), "grid:G1,G2,G3", True),
        (("grid:G1,G2", ("C1",)), "grid:G1", False),
    ],
)
def test_a_brief_is_readable_by_a_scope_that_holds_all_its_rows(brief, reader, readable):
    coverage = Coverage(Scope.parse(brief[0]), brief[1])
    assert coverage.readable_by(Scope.parse(reader)) is readable
    assert Coverage.from_json(json.loads(json.dumps(coverage.as_json()))) == coverage


def test_a_brief_without_a_readable_record_is_for_street_readers_only():
    assert Coverage.from_json(None) is None
    assert Coverage.from_json({"scope": "community:"}) is None
    assert Coverage.from_json({"communities": ["C1"]}) is None


def _open_modal(client: DashClient, search: str, pathname: str = "/dispatch") -> dict:
    outputs = [
        {"id": "brief-modal", "property": "is_open"},
        {"id": "brief-scope", "property": "children"},
        {"id": "brief-spec", "property": "data"},
        {"id": "brief-progress", "property": "value"},
        {"id": "brief-status", "property": "children"},
        {"id": "brief-download", "property": "className"},
        {"id": "brief-start", "property": "disabled"},
    ]
    return client.update(
        "brief-modal.is_open",
        outputs,
        [{"id": "brief-open", "property": "n_clicks", "value": 1}],
        [
            {"id": "_pages_location", "property": "search", "value": search},
            {"id": "_pages_location", "property": "pathname", "value": pathname},
        ],
    )


def test_the_brief_dialog_names_the_readers_scope_and_refuses_a_community_outside_it(app, street):
    client = DashClient(app, name=AUTHOR["name"], role=AUTHOR["role"])
    answer = _open_modal(client, View(preset="custom", period=PERIOD).to_search())
    scope_text = json.dumps(answer["brief-scope"]["children"], ensure_ascii=False)
    assert "、".join(_names(street, street.scope)) in scope_text
    assert answer["brief-start"]["disabled"] is False
    outside = View(preset="custom", period=PERIOD, filters={"community": street.other}).to_search()
    answer = _open_modal(client, outside)
    assert "outside the scope" in json.dumps(answer["brief-scope"]["children"], ensure_ascii=False)
    assert answer["brief-start"]["disabled"] is True and answer["brief-spec"]["data"] is None
