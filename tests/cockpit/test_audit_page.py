"""The /audit page over HTTP: entries made by real sign-ins and refusals, filtered, paged and exported; the access
it needs; and the screen-token panel, whose issued address pairs a wall and whose revoke signs the wall out."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import dash
import pytest
from openpyxl import load_workbook

from cockpit.access import audit
from cockpit.access.accounts import Accounts
from cockpit.access.audit import Action
from cockpit.access.state import connect, open_state, transaction
from cockpit.components.audit_trail import action_label, chain_status
from cockpit.settings import Settings
from tests.cockpit.dash_client import DashClient, find
from tests.fixtures.accounts import TEST_PASSWORD, ensure_user, signed_client, signed_context
from warehouse.paths import Home

SHANGHAI_OFFSET = timedelta(hours=8)  # Asia/Shanghai keeps no summer time: the local day is UTC+8


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


class AdminClient(DashClient):
    """A DashClient signed in as an admin, whose first page is /audit (an admin may open no street page)."""

    def __init__(self, app, **account):
        self.client = signed_client(app, **{"role": "admin", **account})
        assert self.client.get("/audit").status_code == 200
        self.dependencies = self.client.get("/_dash-dependencies").get_json()


def home_of(app):
    return app.server.config["COCKPIT_GATE"].home


def log_in(app, name: str, password: str) -> int:
    """POST /login as the form does (with its CSRF cookie); returns the status of the answer."""
    client = app.server.test_client()
    client.get("/login")
    csrf = client.get_cookie("cockpit_csrf").value
    return client.post("/login", data={"username": name, "password": password, "csrf": csrf}).status_code


def show(admin: AdminClient, filters: dict, page: object = 0, click: str | None = None) -> dict:
    """The table's page callback: the first page (as when the page loads), or after 上一页 / 下一页."""
    answer = admin.update(
        "audit-grid.rowData",
        [
            {"id": "audit-grid", "property": "rowData"},
            {"id": "audit-page", "property": "data"},
            {"id": "audit-page-label", "property": "children"},
            {"id": "audit-prev", "property": "disabled"},
            {"id": "audit-next", "property": "disabled"},
        ],
        [
            {"id": "audit-prev", "property": "n_clicks", "value": int(click == "prev")},
            {"id": "audit-next", "property": "n_clicks", "value": int(click == "next")},
        ],
        state=[
            {"id": "audit-page", "property": "data", "value": page},
            {"id": "audit-filters", "property": "data", "value": filters},
        ],
        changed=[f"audit-{click}.n_clicks"] if click else [],
    )
    return {
        "rows": answer["audit-grid"]["rowData"],
        "page": answer["audit-page"]["data"],
        "label": answer["audit-page-label"]["children"],
        "prev_disabled": answer["audit-prev"]["disabled"],
        "next_disabled": answer["audit-next"]["disabled"],
    }


def rows(admin: AdminClient, filters: dict) -> dict:
    """The first page's rows and the count of all (from the label: 第 1 / N 页，共 T 条)."""
    shown = show(admin, filters)
    return {"rowData": shown["rows"], "rowCount": int(re.findall(r"\d+", shown["label"])[-1])}


def local_today() -> str:
    return (datetime.utcnow() + SHANGHAI_OFFSET).date().isoformat()


@pytest.fixture(scope="module")
def admin(app) -> AdminClient:
    return AdminClient(app, name="auditor")


@pytest.fixture(scope="module")
def trail_user(app) -> str:
    """A user with two sign-ins, one failure and one refused page, all made through the app's routes."""
    name = unique("trail")
    ensure_user(home_of(app), name, "analyst")
    assert log_in(app, name, TEST_PASSWORD) == 302
    assert log_in(app, name, "not-the-password-1") == 401
    assert log_in(app, name, TEST_PASSWORD) == 302
    assert signed_client(app, name=name, role="analyst").get("/audit").status_code == 403
    return name


def test_the_admin_sees_the_page_its_chain_and_retention(app, admin, trail_user):
    with signed_context(app, name="auditor", role="admin"):
        page = dash.page_registry["cockpit.pages.audit"]["layout"](user=trail_user)
    (store,) = find(page, lambda i: i == "audit-filters")
    chain = admin.update(
        "audit-chain.className",
        [{"id": "audit-chain", "property": "children"}, {"id": "audit-chain", "property": "className"}],
        [{"id": "audit-filters", "property": "data", "value": store.data}],
    )["audit-chain"]
    assert "alert-success" in chain["className"]
    verified = audit.verify(connect(home_of(app)))
    assert str(verified.checked) in chain["children"]
    (retention,) = find(page, lambda i: i == "audit-retention")
    assert str(Settings(home=home_of(app).root).audit_retention_days) in retention.children
    (total,) = find(page, lambda i: i == "audit-total")
    assert total.children.split()[1] == "4"  # two sign-ins, one failure, one refusal
    (store,) = find(page, lambda i: i == "audit-filters")
    assert store.data["user"] == trail_user


def test_entries_filter_by_user_action_and_day(admin, trail_user):
    everything = rows(admin, {"user": trail_user})
    assert everything["rowCount"] == 4
    assert {r["actor"] for r in everything["rowData"]} == {trail_user}
    seqs = [r["seq"] for r in everything["rowData"]]
    assert seqs == sorted(seqs, reverse=True)  # newest first

    logins = rows(admin, {"user": trail_user, "action": "login"})
    assert logins["rowCount"] == 2 and all(r["outcome"] == "ok" for r in logins["rowData"])
    failed = rows(admin, {"user": trail_user, "action": "login_failed"})
    assert failed["rowCount"] == 1 and failed["rowData"][0]["outcome"] == "failed"
    denied = rows(admin, {"user": trail_user, "action": "denied"})
    assert denied["rowCount"] == 1 and denied["rowData"][0]["target"] == "/audit"

    today = local_today()
    assert rows(admin, {"user": trail_user, "since": today, "until": today})["rowCount"] == 4
    tomorrow = (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat()
    yesterday = (datetime.fromisoformat(today) - timedelta(days=1)).date().isoformat()
    assert rows(admin, {"user": trail_user, "since": tomorrow})["rowCount"] == 0
    assert rows(admin, {"user": trail_user, "until": yesterday})["rowCount"] == 0
    # A name typed with other capitals is the same user.
    assert rows(admin, {"user": trail_user.upper()})["rowCount"] == 4


def test_rows_are_paged_on_the_server(app, admin):
    conn = connect(home_of(app))
    for n in range(120):
        audit.append(conn, f"bulk{n}", "denied", outcome="denied")
    newest = audit.last_seq(conn)
    snapshot = {"through_seq": newest}
    first = show(admin, snapshot)
    assert [r["seq"] for r in first["rows"]] == list(range(newest, newest - 50, -1))
    assert first["page"] == 0 and first["prev_disabled"] and not first["next_disabled"]
    second = show(admin, snapshot, page=0, click="next")
    assert [r["seq"] for r in second["rows"]] == list(range(newest - 50, newest - 100, -1))
    assert second["page"] == 1 and not second["prev_disabled"]
    # An entry made after the page was rendered does not shift the pages of that snapshot.
    audit.append(conn, "late", "denied", outcome="denied")
    assert show(admin, snapshot, page=0, click="next")["rows"] == second["rows"]
    assert show(admin, snapshot, page=1, click="prev")["rows"] == first["rows"]
    # A page number past the end (or not a number) is clamped: the last page, or the first.
    last = show(admin, snapshot, page=10**9, click="next")
    assert last["next_disabled"] and 0 < len(last["rows"]) <= 50 and last["rows"][-1]["seq"] == 1 + min_seq(conn)
    assert show(admin, snapshot, page="x", click="next")["page"] == 1


def min_seq(conn) -> int:
    """One before the oldest entry kept (a prune may have removed the start of the chain)."""
    return conn.execute("SELECT MIN(seq) - 1 FROM audit").fetchone()[0]


def test_bad_filters_answer_no_rows_and_a_one_line_reason(admin, trail_user):
    assert show(admin, {"user": trail_user, "action": "drop table"})["rows"] == []
    assert show(admin, "not a store")["rows"] == []
    assert show(admin, {"user": ["a", "list"]})["rows"] == []
    assert show(admin, {"through_seq": 10**30})["rows"]  # a made-up snapshot is today's, never a 500
    answer = admin.client.get("/audit/export.csv?since=yesterday")
    assert answer.status_code == 400 and answer.get_data(as_text=True).count("\n") == 1
    page = admin.client.get("/audit?action=nonsense")
    assert page.status_code == 200
    assert admin.client.get("/audit/export.pdf").status_code == 404


def test_the_apply_button_loads_the_filters_as_the_url(admin):
    answer = admin.update(
        "audit-location.href",
        {"id": "audit-location", "property": "href"},
        [{"id": "audit-apply", "property": "n_clicks", "value": 1}],
        state=[
            {"id": "audit-user", "property": "value", "value": "li"},
            {"id": "audit-action", "property": "value", "value": "export"},
            {"id": "audit-dates", "property": "start_date", "value": "2026-10-01"},
            {"id": "audit-dates", "property": "end_date", "value": None},
        ],
    )
    href = urlsplit(answer["audit-location"]["href"])
    assert href.path == "/audit"
    assert parse_qs(href.query) == {"user": ["li"], "action": ["export"], "since": ["2026-10-01"]}


@pytest.mark.parametrize("role", ["analyst", "leader"])
def test_other_roles_get_the_access_denied_page_and_403_on_the_export(app, role):
    name = unique(role)
    client = signed_client(app, name=name, role=role)
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert client.get("/audit/export.xlsx").status_code == 403
    with signed_context(app, name=name, role=role):
        page = dash.page_registry["cockpit.pages.audit"]["layout"]()
    assert page.className == "access-denied"
    denied = audit.entries(connect(home_of(app)), actor=name, action="denied")
    assert {e.target for e in denied} == {"/audit", "/audit/export.csv", "/audit/export.xlsx"}


def test_the_csv_export_is_formula_safe_carries_its_header_and_is_audited(app):
    home = home_of(app)
    name = unique("exporter")
    Accounts(connect(home), Settings(home=home.root)).create(
        name, "admin", actor="tests", display_name='=HYPERLINK("http://evil.example","x")', password=TEST_PASSWORD
    )
    with transaction(connect(home)):
        connect(home).execute("UPDATE users SET must_change_password = 0 WHERE name = ?", (name,))
    hostile = "=1+2*cmd|' /c calc'!A0"
    assert log_in(app, hostile, "whatever-password-1") == 401  # the typed name becomes the failure's actor
    client = signed_client(app, name=name, role="admin")
    answer = client.get("/audit/export.csv?action=login_failed")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith("attachment")
    lines = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    header = {row[0]: row[1] for row in lines if row and row[0].startswith("# ")}
    assert header["# 导出人"].startswith("'=HYPERLINK(") and name in header["# 导出人"]
    assert "login_failed" in header["# 筛选条件"] or "登录失败" in header["# 筛选条件"]
    assert header["# 导出时间"][:10] == local_today()
    columns = next(row for row in lines if row and row[0] == "seq")
    body = [dict(zip(columns, row, strict=True)) for row in lines[lines.index(columns) + 1 :]]
    actors = [row["actor"] for row in body]
    assert "'" + hostile.lower() in actors
    assert all(not actor.startswith("=") for actor in actors)
    assert {row["action"] for row in body} == {"登录失败"}

    exported = audit.entries(connect(home), actor=name, action="export")
    assert len(exported) == 1 and exported[0].target == "audit"
    assert exported[0].details["filters"] == {"action": "login_failed"}
    assert exported[0].details["rows"] == len(body) and exported[0].details["format"] == "csv"


def test_the_xlsx_export_holds_text_never_formulas(app):
    name = unique("xlsx")
    hostile = "=2+3"
    assert log_in(app, hostile, "whatever-password-1") == 401
    client = signed_client(app, name=name, role="admin")
    answer = client.get(f"/audit/export.xlsx?user={hostile.replace('+', '%2B')}")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == hostile]
    assert cells and all(cell.data_type == "s" for cell in cells)
    labels = [row[0].value for row in sheet.iter_rows()]
    assert "导出人" in labels and "筛选条件" in labels


# ---- screen tokens --------------------------------------------------------------------------------


def change_tokens(admin: AdminClient, *, issue: int = 0, revoke: str | None = None, name="", scope="street") -> dict:
    revokes = (
        [] if revoke is None else [{"id": {"name": revoke, "type": "token-revoke"}, "property": "n_clicks", "value": 1}]
    )
    changed = (
        ["tokens-issue.n_clicks"]
        if revoke is None
        else [json.dumps({"name": revoke, "type": "token-revoke"}, separators=(",", ":")) + ".n_clicks"]
    )
    return admin.update(
        "tokens-message.children",
        [{"id": "tokens-list", "property": "children"}, {"id": "tokens-message", "property": "children"}],
        [{"id": "tokens-issue", "property": "n_clicks", "value": issue}, revokes],
        state=[
            {"id": "tokens-name", "property": "value", "value": name},
            {"id": "tokens-scope", "property": "value", "value": scope},
        ],
        changed=changed,
    )


def token_rows(tree) -> dict[str, str]:
    """name -> "active" (a revoke button on its row) or "revoked", from the list a callback answered with."""
    found = {}

    def visit(node):
        if isinstance(node, list):
            for each in node:
                visit(each)
        elif isinstance(node, dict):
            props = node.get("props", {})
            if "token-row" in str(props.get("className", "")):
                cells = props["children"]
                name = cells[0]["props"]["children"]
                button = cells[-1]["props"].get("children")
                found[name] = "active" if isinstance(button, dict) else "revoked"
            else:
                visit(props.get("children"))

    visit(tree)
    return found


def wall_refresh(admin: AdminClient, client) -> int:
    from cockpit.pages.wall import config
    from tests.cockpit.test_wall import refresh_outputs

    body = admin.payload(
        "wall-ticker.children",
        refresh_outputs(),
        [{"id": "wall-refresh", "property": "n_intervals", "value": 1}],
        state=[
            {"id": "wall-config", "property": "data", "value": config({}, "zh")},
            {"id": "wall-seen", "property": "data", "value": []},
            {"id": "wall-release", "property": "data", "value": None},
            {"id": "wall-alarm", "property": "data", "value": None},
        ],
    )
    return client.post("/_dash-update-component", json=body).status_code


def test_an_issued_token_pairs_a_wall_and_revoking_it_signs_the_wall_out(app, admin):
    wall_name = unique("大厅-")
    answer = change_tokens(admin, issue=1, name=wall_name, scope="street")
    message = json.dumps(answer["tokens-message"]["children"], ensure_ascii=False)
    address = next(
        part for part in message.split('"') if "/wall?token=" in part
    )  # the <code> holding the wall's address
    secret = parse_qs(urlsplit(address).query)["token"][0]
    assert token_rows(answer["tokens-list"]["children"])[wall_name] == "active"
    assert secret not in json.dumps(answer["tokens-list"]["children"])

    # Shown once: the page rendered again lists the token, never its secret.
    assert secret not in admin.client.get("/audit").get_data(as_text=True)
    with signed_context(app, name="auditor", role="admin"):
        page = dash.page_registry["cockpit.pages.audit"]["layout"]()
    assert wall_name in json.dumps(page.to_plotly_json(), default=str, ensure_ascii=False)
    assert secret not in json.dumps(page.to_plotly_json(), default=str)

    wall = app.server.test_client()
    paired = wall.get(f"/wall?token={secret}")
    assert paired.status_code == 302 and paired.headers["Location"] == "/wall"
    assert wall.get_cookie("cockpit_screen").value == secret
    assert wall_refresh(admin, wall) == 200
    assert wall.get("/audit").status_code == 403  # a screen opens the wall only

    revoked = change_tokens(admin, issue=1, revoke=wall_name)
    assert token_rows(revoked["tokens-list"]["children"])[wall_name] == "revoked"
    assert wall_refresh(admin, wall) == 401
    assert wall.get(f"/wall?token={secret}").status_code == 401

    changes = audit.entries(connect(home_of(app)), actor="auditor", action="token_change")
    assert [(e.target, e.details["change"]) for e in changes[:2]] == [(wall_name, "revoke"), (wall_name, "issue")]
    uses = audit.entries(connect(home_of(app)), action="token_use")
    assert any(e.target == wall_name and e.outcome == "ok" for e in uses)


def test_a_bad_token_request_answers_a_one_line_reason(admin):
    answer = change_tokens(admin, issue=1, name="", scope="street")
    assert "tokens-error" in json.dumps(answer["tokens-message"]["children"])
    answer = change_tokens(admin, issue=1, name=unique("wall"), scope="district:everything")
    text = json.dumps(answer["tokens-message"]["children"], ensure_ascii=False)
    assert "tokens-error" in text and "scope" in text


def test_only_a_token_manager_may_issue(app):
    analyst = DashClient(app, name=unique("analyst"), role="analyst")
    body = analyst.payload(
        "tokens-message.children",
        [{"id": "tokens-list", "property": "children"}, {"id": "tokens-message", "property": "children"}],
        [{"id": "tokens-issue", "property": "n_clicks", "value": 1}, []],
        state=[
            {"id": "tokens-name", "property": "value", "value": "sneaky"},
            {"id": "tokens-scope", "property": "value", "value": "street"},
        ],
        changed=["tokens-issue.n_clicks"],
    )
    assert analyst.client.post("/_dash-update-component", json=body).status_code == 403
    from cockpit.access.tokens import ScreenTokens

    assert ScreenTokens(connect(home_of(app)), Settings(home=home_of(app).root)).find("sneaky") is None


def test_the_users_list_shows_accounts_and_their_state_read_only(app, trail_user):
    home = home_of(app)
    gone = unique("gone")
    ensure_user(home, gone, "community", scope=community_scope(app), grants=("personal",))
    Accounts(connect(home), Settings(home=home.root)).disable(gone, actor="tests")
    with signed_context(app, name="auditor", role="admin"):
        page = dash.page_registry["cockpit.pages.audit"]["layout"]()
    (panel,) = find(page, lambda i: i == "users-panel")
    users = {
        row.children[0].children: [cell.children for cell in row.children] + [row.className] for row in find_rows(panel)
    }
    assert users[trail_user][2] == "指挥中心" and users[trail_user][5] == "正常"
    assert users[gone][2] == "社区" and users[gone][3] == community_scope(app) and users[gone][4] == "personal"
    assert users[gone][5] == "已停用" and "row-bad" in users[gone][6]
    text = json.dumps(panel.to_plotly_json(), default=str, ensure_ascii=False)
    assert "input" not in text.lower() and "button" not in text.lower()  # nothing to change users with


def community_scope(app) -> str:
    import duckdb

    from warehouse.releases import current_release

    con = duckdb.connect(str(current_release(home_of(app))), read_only=True)
    try:
        return "community:" + con.execute("SELECT MIN(community_id) FROM dim_community").fetchone()[0]
    finally:
        con.close()


def find_rows(component) -> list:
    from tests.cockpit.dash_client import walk

    return [c for c in walk(component) if "user-row" in (getattr(c, "className", None) or "")]


def test_a_broken_chain_shows_red_naming_the_entry(tmp_path):
    home = Home(tmp_path / "home").ensure()
    conn = open_state(home.state_db)
    for n in range(4):
        audit.append(conn, f"user{n}", "export", target="records.csv", detail={"rows": n})
    text, kind = chain_status("en", conn)
    assert "alert-success" in kind and "4" in text
    tampered = sqlite3.connect(home.state_db)
    tampered.execute("DROP TRIGGER audit_append_only")
    tampered.execute("UPDATE audit SET detail = '{\"rows\":0}' WHERE seq = 3")
    tampered.commit()
    tampered.close()
    text, kind = chain_status("en", conn)
    assert "alert-danger" in kind
    assert re.search(r"\b3\b", text) and "edited" in text


def test_every_action_has_a_name_in_both_languages():
    for action in Action:
        zh, en = action_label(action, "zh"), action_label(action, "en")
        assert zh != action.value and en and zh != en, action
