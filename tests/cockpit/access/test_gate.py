"""The sign-in gate tried from outside: every route and callback crawled without a session and as each role,
sessions over real HTTP (lockout, timeouts, forced change, logout, disabling), CSRF, and trusted-header SSO.

Everything goes through the real app's Flask server: POST /login with the form's own CSRF value, callbacks
posted as the Dash renderer posts them. Times are moved back in the state database, never slept through.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import dash
import flask
import pytest

from cockpit.access import audit
from cockpit.access.accounts import Accounts, Scope
from cockpit.access.audit import Action
from cockpit.access.state import connect, transaction
from cockpit.access.tokens import ScreenTokens
from cockpit.access.web import Gate
from cockpit.data import current_warehouse
from cockpit.settings import Settings
from tests.fixtures.accounts import TEST_PASSWORD, ensure_user, signed_client

# What the issue lets through without a session: the login page and static files (stylesheets, scripts, icons),
# plus the language/theme switch, which only sets a cookie. Written out here, not read from the gate.
OPEN_WITHOUT_SESSION = ("/login", "/_favicon.ico", "/preference")
STATIC = ("/assets/", "/_dash-component-suites/", "/vendor/")
CALLBACK = "/_dash-update-component"
# The Dash Pages router, which every principal needs to get a page at all.
ROUTER = ("_pages_content", "_pages_store", "_pages_dummy")
# The shell every page (the operator's and the wall's too) shows: the release's load time, no citizen data.
SHELL = ("freshness-badge",)


def home_of(app):
    return app.server.config["COCKPIT_GATE"].home


def settings_of(app) -> Settings:
    return app.server.config["COCKPIT_GATE"].settings


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def concrete(rule) -> str:
    """A path the rule matches: every variable part filled with a plain word."""
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "x", rule.rule)


def page_paths() -> list[str]:
    return sorted({page["path"] for page in dash.page_registry.values()})


def callbacks(app) -> list[str]:
    """The output key of every server-side callback the app declares to the renderer (clientside ones never
    reach the server), read from /_dash-dependencies as the browser reads it."""
    dependencies = signed_client(app, name="crawler", role="analyst").get("/_dash-dependencies").get_json()
    return sorted({each["output"] for each in dependencies if not each.get("clientside_function")})


def envelope(output: str) -> dict:
    """The least request body naming a callback: the gate must decide from the output alone."""
    return {"output": output, "outputs": [], "inputs": [], "state": [], "changedPropIds": []}


def denied_targets(app, actor: str) -> list[str]:
    conn = connect(home_of(app))
    return [entry.target for entry in audit.entries(conn, actor=actor, action=Action.DENIED, limit=10_000)]


# ---- the crawl ------------------------------------------------------------------------------------


def test_every_route_answers_401_or_a_login_redirect_without_a_session(app):
    client = app.server.test_client()
    assert client.get("/").status_code in (200, 302)  # the first request registers Dash Pages' router
    checked, open_, pages = [], [], page_paths()
    for rule in app.server.url_map.iter_rules():
        path = concrete(rule)
        if path.startswith(STATIC) or path in OPEN_WITHOUT_SESSION:
            open_.append(path)
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            checked.append((method, path))
            expected = 302 if method == "GET" and path in pages else 401
            assert response.status_code == expected, f"{method} {path} answered {response.status_code} unsigned"
    for path in page_paths():
        response = client.get(path)
        assert response.status_code == 302, f"GET {path} answered {response.status_code} without a session"
        assert response.headers["Location"].startswith("/login?next=")
    assert client.get("/login").status_code == 200
    assert ("POST", CALLBACK) in checked and any(path.startswith("/export/") for _, path in checked)
    assert set(open_) >= {"/login"}


def test_every_callback_answers_401_without_a_session(app):
    client = app.server.test_client()
    outputs = callbacks(app)
    assert len(outputs) > 20  # the crawl saw the app's callbacks, not an empty map
    for output in outputs:
        response = client.post(CALLBACK, json=envelope(output))
        assert response.status_code == 401, f"{output} answered {response.status_code} without a session"
        assert "\n" not in response.get_data(as_text=True).strip()  # one line


def test_an_operator_is_refused_every_view_callback_and_the_refusals_are_audited(app):
    name = unique("op")
    client = signed_client(app, name=name, role="operator")
    refused = []
    for output in callbacks(app):
        status = client.post(CALLBACK, json=envelope(output)).status_code
        if any(open_ in output for open_ in ROUTER + SHELL):
            assert status != 403, f"{output}: the pages router is open to every principal"
            continue
        if "..pipeline-" in f"..{output}":  # the 数据管道 page's own actions are the operator's to call
            assert status != 403, f"{output}: the operator's own page refused them"
            continue
        assert status == 403, f"{output} answered {status} to an operator"
        refused.append(output)
    targets = denied_targets(app, name)
    assert len(targets) == len(refused)
    assert {target.removeprefix("callback ") for target in targets} == {each[:120] for each in refused}
    # The operator's own page opens; an analyst's page does not.
    assert client.get("/pipeline").status_code == 200
    assert client.get("/dispatch").status_code == 403


def test_a_wall_screen_reaches_only_the_wall_and_the_router(app):
    home = home_of(app)
    name = unique("wall")
    _, secret = ScreenTokens(connect(home), settings_of(app)).issue(name, Scope.parse("street"), actor="tests")
    client = app.server.test_client()
    paired = client.get(f"/wall?token={secret}")
    assert paired.status_code == 302 and paired.headers["Location"] == "/wall"
    assert client.get("/wall").status_code == 200
    wall_callbacks = 0
    for output in callbacks(app):
        status = client.post(CALLBACK, json=envelope(output)).status_code
        if "wall" in output or any(open_ in output for open_ in ROUTER + SHELL):
            wall_callbacks += 1
            assert status not in (401, 403), f"{output} refused to the wall screen ({status})"
        else:
            assert status == 403, f"{output} answered {status} to a wall screen"
    assert wall_callbacks >= 3
    for path in page_paths():
        if path != "/wall":
            assert client.get(path).status_code in (302, 403), f"a wall screen opened {path}"
    assert client.get("/export/records.csv?kpi=tickets_received").status_code == 403
    assert denied_targets(app, f"screen:{name}")


def record_or_export(output: str) -> bool:
    return "getRowsResponse" in output or "export" in output.lower()


def test_a_leader_is_refused_records_and_exports(app):
    name = unique("lead")
    client = signed_client(app, name=name, role="leader")
    refused = [output for output in callbacks(app) if record_or_export(output)]
    assert refused  # the app has record tables and export buttons
    for output in refused:
        assert client.post(CALLBACK, json=envelope(output)).status_code == 403, output
    for path in ("/export/records.csv?kpi=tickets_received", "/export/records.xlsx?kpi=tickets_received"):
        response = client.get(path)
        assert response.status_code == 403 and "export" in response.get_data(as_text=True)
    assert client.post("/export/jobs", json={"kpi": "tickets_received", "format": "xlsx"}).status_code == 403
    assert client.get("/dispatch").status_code == 200  # but the page itself opens
    assert len(denied_targets(app, name)) == len(refused) + 3


# ---- sessions over HTTP ---------------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def login(client, name: str, password: str, *, csrf: bool = True):
    form = client.get("/login")
    data = {"username": name, "password": password}
    if csrf:
        data["csrf"] = CSRF_FIELD.search(form.get_data(as_text=True)).group(1)
    return client.post("/login", data=data)


def error_text(response) -> str:
    match = re.search(r'id="login-error">([^<]*)<', response.get_data(as_text=True))
    return match.group(1) if match else ""


def user_with_password(app, name: str, role: str = "analyst", scope: str = "street"):
    return ensure_user(home_of(app), name, role, scope)


def test_login_with_the_right_password_opens_the_pages(app):
    name = unique("in")
    user_with_password(app, name)
    client = app.server.test_client()
    response = login(client, name, TEST_PASSWORD)
    assert response.status_code == 302
    assert client.get("/dispatch").status_code == 200
    entries = audit.entries(connect(home_of(app)), actor=name, action=Action.LOGIN)
    assert entries and entries[0].details.get("reason") == "ok"


def test_a_login_post_without_the_forms_csrf_value_is_refused(app):
    name = unique("csrf")
    user_with_password(app, name)
    client = app.server.test_client()
    response = login(client, name, TEST_PASSWORD, csrf=False)
    assert response.status_code == 400
    assert client.get("/dispatch").status_code == 302
    forged = app.server.test_client()
    forged.get("/login")
    answer = forged.post("/login", data={"username": name, "password": TEST_PASSWORD, "csrf": "forged"})
    assert answer.status_code == 400 and "cockpit_session=" not in answer.headers.get("Set-Cookie", "")


def test_five_failures_lock_a_name_for_fifteen_minutes_and_unknown_names_answer_alike(app):
    name = unique("lock")
    user_with_password(app, name)
    client = app.server.test_client()
    wrong = [login(client, name, "Wrong-password-999") for _ in range(5)]
    assert {each.status_code for each in wrong} == {401}
    locked = login(client, name, TEST_PASSWORD)
    assert locked.status_code == 401
    unknown = login(client, unique("ghost"), TEST_PASSWORD)
    assert unknown.status_code == 401
    assert error_text(locked) == error_text(wrong[0]) == error_text(unknown) != ""
    assert client.get("/dispatch").status_code == 302
    reasons = [e.details.get("reason") for e in audit.entries(connect(home_of(app)), actor=name)]
    assert "locked" in reasons
    # Fourteen minutes later it is still locked; past fifteen it opens again.
    conn = connect(home_of(app))
    with transaction(conn):
        conn.execute(
            "UPDATE login_failures SET locked_until = ? WHERE name = ?",
            (audit.timestamp(datetime.now(UTC) + timedelta(minutes=1)), name),
        )
    assert login(client, name, TEST_PASSWORD).status_code == 401
    with transaction(conn):
        conn.execute(
            "UPDATE login_failures SET locked_until = ? WHERE name = ?",
            (audit.timestamp(datetime.now(UTC) - timedelta(seconds=1)), name),
        )
    assert login(client, name, TEST_PASSWORD).status_code == 302
    assert client.get("/dispatch").status_code == 200


def test_an_unknown_name_is_locked_after_five_failures_too(app):
    ghost = unique("ghost")
    client = app.server.test_client()
    for _ in range(5):
        assert login(client, ghost, "Wrong-password-999").status_code == 401
    reasons = [e.details.get("reason") for e in audit.entries(connect(home_of(app)), actor=ghost)]
    login(client, ghost, "Wrong-password-999")
    after = [e.details.get("reason") for e in audit.entries(connect(home_of(app)), actor=ghost)]
    assert reasons.count("bad_credentials") == 5 and after[0] == "locked"


def signed_in(app, name: str):
    client = app.server.test_client()
    assert login(client, name, TEST_PASSWORD).status_code == 302
    assert client.get("/dispatch").status_code == 200
    return client


def move_sessions_back(app, name: str, column: str, delta: timedelta) -> None:
    conn = connect(home_of(app))
    at = audit.timestamp(datetime.now(UTC) - delta)
    with transaction(conn):
        conn.execute(
            f"UPDATE sessions SET {column} = ? WHERE user_id = (SELECT id FROM users WHERE name = ?)", (at, name)
        )


@pytest.mark.parametrize(
    ("moved", "delta", "reason"),
    [
        (("last_seen_at",), timedelta(minutes=31), "idle_timeout"),
        (("created_at",), timedelta(hours=12, minutes=1), "absolute_timeout"),
    ],
)
def test_a_session_ends_after_its_idle_or_absolute_timeout(app, moved, delta, reason):
    name = unique("tm")
    user_with_password(app, name)
    client = signed_in(app, name)
    # Just inside the limit the session lives on.
    for column in moved:
        move_sessions_back(app, name, column, delta - timedelta(minutes=2))
    assert client.get("/dispatch").status_code == 200
    for column in moved:
        move_sessions_back(app, name, column, delta)
    response = client.get("/dispatch")
    assert response.status_code == 302 and f"ended={reason}" in response.headers["Location"]
    assert client.post(CALLBACK, json=envelope("_pages_content.children")).status_code == 401
    timeouts = audit.entries(connect(home_of(app)), actor=name, action=Action.TIMEOUT)
    assert [e.details["reason"] for e in timeouts] == [reason]


def test_the_initial_password_must_be_changed_before_anything_opens(app):
    name = unique("new")
    initial = "Initial-pass-2468"
    Accounts(connect(home_of(app)), settings_of(app)).create(name, "analyst", actor="tests", password=initial)
    client = app.server.test_client()
    response = login(client, name, initial)
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    for path in page_paths():
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"] == "/account/password", path
    assert client.post(CALLBACK, json=envelope("_pages_content.children")).status_code == 403
    assert client.get("/export/records.csv?kpi=tickets_received").status_code in (302, 403)

    def change(current: str, new: str, confirm: str | None = None):
        form = client.get("/account/password").get_data(as_text=True)
        data = {"current": current, "new": new, "confirm": new if confirm is None else confirm}
        data["csrf"] = CSRF_FIELD.search(form).group(1)
        return client.post("/account/password", data=data)

    assert change(initial, "short").status_code == 400  # the policy: too short
    assert change(initial, "alllowercaseletters").status_code == 400  # the policy: too few classes
    assert change(initial, "Another-pass-1357", "Another-pass-9999").status_code == 400  # not confirmed
    assert change("Not-the-current-1", "Another-pass-1357").status_code == 400
    assert client.get("/dispatch").headers.get("Location") == "/account/password"
    assert change(initial, "Another-pass-1357").status_code == 302
    assert client.get("/dispatch").status_code == 200


def test_logout_ends_this_session_only_and_logout_everywhere_ends_all(app):
    name = unique("out")
    user_with_password(app, name)
    first, second, third = signed_in(app, name), signed_in(app, name), signed_in(app, name)
    assert first.post("/logout").headers["Location"] == "/login"
    assert first.get("/dispatch").status_code == 302
    assert second.get("/dispatch").status_code == 200
    assert second.post("/account/logout-everywhere").status_code == 302
    for client in (second, third):
        assert client.get("/dispatch").status_code == 302
        assert client.post(CALLBACK, json=envelope("_pages_content.children")).status_code == 401
    actions = [e.action for e in audit.entries(connect(home_of(app)), actor=name)]
    assert "logout" in actions


@pytest.mark.parametrize("change", ["disable", "set_role", "set_scope", "revoke_grant"])
def test_disabling_a_user_or_changing_what_they_may_see_ends_their_sessions(app, change):
    name = unique("chg")
    user_with_password(app, name)
    accounts = Accounts(connect(home_of(app)), settings_of(app))
    if change == "revoke_grant":
        accounts.grant(name, "personal", actor="tests")
    client = signed_in(app, name)
    if change == "disable":
        accounts.disable(name, actor="tests")
    elif change == "set_role":
        accounts.set_role(name, "leader", actor="tests")
    elif change == "set_scope":
        community = current_warehouse().dataset("communities")["community_id"].iloc[0]
        accounts.set_scope(name, Scope.parse(f"community:{community}"), actor="tests")
    else:
        accounts.revoke_grant(name, "personal", actor="tests")
    response = client.get("/dispatch")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    again = login(app.server.test_client(), name, TEST_PASSWORD)
    assert again.status_code == (401 if change == "disable" else 302)


# ---- single sign-on behind a gateway --------------------------------------------------------------

PROXY = "10.20.0.5"
HEADER = "X-Remote-User"


@pytest.fixture(scope="module")
def sso_gate(app) -> Gate:
    """The gate as a deployment behind a gateway configures it (the app itself is one per process)."""
    settings = Settings(home=settings_of(app).home, sso_header=HEADER, sso_proxies=("10.20.0.0/24",))
    return Gate(settings)


def gate_answer(app, gate: Gate, path: str, address: str, user: str | None):
    headers = {HEADER: user} if user else {}
    with app.server.test_request_context(path, environ_base={"REMOTE_ADDR": address}, headers=headers):
        answer = gate.check()
        return answer, flask.g.get("principal"), flask.g.get("new_session")


def test_sso_header_from_a_trusted_proxy_signs_an_existing_user_in(app, sso_gate):
    name = unique("sso")
    user_with_password(app, name)
    answer, principal, token = gate_answer(app, sso_gate, "/dispatch", PROXY, name)
    assert answer is None and principal is not None and principal.name == name and token
    logins = audit.entries(connect(home_of(app)), actor=name, action=Action.LOGIN)
    assert logins and logins[0].details["method"] == "sso" and logins[0].details["client"] == PROXY


def test_sso_header_from_any_other_address_is_ignored(app, sso_gate):
    name = unique("sso")
    user_with_password(app, name)
    for address in ("10.20.1.5", "127.0.0.1", "192.168.0.9"):
        answer, principal, _ = gate_answer(app, sso_gate, "/_dash-layout", address, name)
        assert answer is not None and answer.status_code == 401 and principal is None
        page, _, _ = gate_answer(app, sso_gate, "/dispatch", address, name)
        assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert not audit.entries(connect(home_of(app)), actor=name, action=Action.LOGIN)


def test_sso_header_for_an_unknown_or_disabled_user_is_refused(app, sso_gate):
    ghost = unique("nobody")
    answer, principal, token = gate_answer(app, sso_gate, "/_dash-layout", PROXY, ghost)
    assert answer.status_code == 401 and principal is None and not token
    name = unique("sso")
    user_with_password(app, name)
    Accounts(connect(home_of(app)), settings_of(app)).disable(name, actor="tests")
    answer, principal, token = gate_answer(app, sso_gate, "/_dash-layout", PROXY, name)
    assert answer.status_code == 401 and principal is None and not token
    failed = audit.entries(connect(home_of(app)), actor=name, action=Action.LOGIN_FAILED)
    assert failed and failed[0].details["method"] == "sso"
    # The app as configured here (no SSO header) ignores the header altogether.
    user = unique("sso")
    user_with_password(app, user)
    with app.server.test_request_context("/_dash-layout", environ_base={"REMOTE_ADDR": PROXY}, headers={HEADER: user}):
        assert app.server.config["COCKPIT_GATE"].check().status_code == 401


def test_changing_ones_password_ends_the_other_sessions_but_not_this_one(app):
    name = unique("pw")
    user_with_password(app, name)
    here, elsewhere = signed_in(app, name), signed_in(app, name)
    form = here.get("/account/password").get_data(as_text=True)
    new = "Changed-pass-8642"
    data = {"current": TEST_PASSWORD, "new": new, "confirm": new, "csrf": CSRF_FIELD.search(form).group(1)}
    assert here.post("/account/password", data=data).status_code == 302
    assert here.get("/dispatch").status_code == 200
    answer = elsewhere.get("/dispatch")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert login(app.server.test_client(), name, TEST_PASSWORD).status_code == 401
    assert login(app.server.test_client(), name, new).status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_login_never_sends_the_browser_to_another_site(app, target):
    name = unique("nx")
    user_with_password(app, name)
    client = app.server.test_client()
    form = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    data = {"username": name, "password": TEST_PASSWORD, "csrf": CSRF_FIELD.search(form).group(1), "next": target}
    location = client.post("/login", data=data).headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def test_a_forged_callback_key_naming_the_router_opens_nothing(app):
    name = unique("op")
    client = signed_client(app, name=name, role="operator")
    forged = "..dispatch-kpis-0.children..._pages_content.children.."
    response = client.post(CALLBACK, json=envelope(forged))
    assert response.status_code in (400, 403, 404), response.status_code
    assert "受理工单" not in response.get_data(as_text=True)


def test_a_revoked_screen_token_stops_the_wall_at_its_next_refresh(app):
    gate = app.server.config["COCKPIT_GATE"]
    tokens = ScreenTokens(connect(gate.home), gate.settings)
    name = unique("wall")
    _, secret = tokens.issue(name, Scope.parse("street"), actor="tests")
    client = app.server.test_client()
    assert client.get(f"/wall?token={secret}").status_code == 302
    refresh = next(output for output in callbacks(app) if "wall-ticker.children" in output)
    assert client.post(CALLBACK, json=envelope(refresh)).status_code not in (401, 403)
    tokens.revoke(name, actor="tests")
    assert client.post(CALLBACK, json=envelope(refresh)).status_code == 401
    assert client.get("/wall").status_code == 302
    again = app.server.test_client().get(f"/wall?token={secret}")
    assert again.status_code == 401 and len(again.get_data(as_text=True).strip().splitlines()) == 1
