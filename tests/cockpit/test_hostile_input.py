"""What a careless or hostile browser can send: odd wall and period parameters, garbage callback payloads,
forged Host/Referer headers. Each answers 2xx with sane values or a 4xx with a one-line reason, never a 500;
and every response carries the security headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_pages import render
from tests.cockpit.test_serving import _free_port, _listening
from tests.fixtures.accounts import cookie_header, signed_client

WALL_PARAMETERS = ("rotate", "refresh", "alert_timeout", "alarm_hours")


@pytest.fixture(scope="module")
def client(app) -> DashClient:
    return DashClient(app)


def route(client: DashClient, path: str, search: str) -> tuple[int, str]:
    """Dash Pages' router callback (what renders a page for a URL): its status and its answer as text."""
    response = client.route(path, search)
    return response.status_code, response.get_data(as_text=True)


def _stores(answer: str) -> dict:
    """{store id: data} of every dcc.Store in a rendered page."""
    found = {}

    def visit(node):
        if isinstance(node, dict):
            if node.get("type") == "Store" and "id" in node.get("props", {}):
                found[json.dumps(node["props"]["id"], sort_keys=True)] = node["props"].get("data")
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(json.loads(answer))
    return found


def wall_config(client: DashClient, search: str) -> dict:
    status, answer = route(client, "/wall", search)
    assert status == 200, answer[-500:]
    return _stores(answer)['"wall-config"']


def _one_line_4xx(response) -> None:
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[-800:]
    body = response.get_data(as_text=True).strip()
    assert body and "\n" not in body and "Traceback" not in body


# ---- the wall's URL parameters ------------------------------------------------------------------


@pytest.mark.parametrize("key", WALL_PARAMETERS)
def test_wall_parameters_clamp_infinite_huge_nan_and_text(client, key):
    default = wall_config(client, "")[key]
    top = wall_config(client, f"?{key}=1e9")[key]
    bottom = wall_config(client, f"?{key}=-5")[key]
    assert isinstance(top, int) and isinstance(bottom, int) and bottom >= 1 and top > default > bottom
    for raw, expected in [
        ("inf", top),
        ("Infinity", top),
        ("1e400", top),
        ("99999999999999999999999", top),
        ("-inf", bottom),
        ("-1e999", bottom),
        ("0", bottom),
        ("nan", default),
        ("NaN", default),
        ("abc", default),
        ("", default),
        ("0x10", default),
    ]:
        assert wall_config(client, f"?{key}={raw}")[key] == expected, raw
    # A reasonable value passes through as a whole number.
    assert wall_config(client, f"?{key}=7.9")[key] == 7


def test_wall_config_store_sent_back_as_garbage_is_read_as_defaults(client):
    from tests.cockpit.test_wall import refresh_outputs

    dependency = client.dependency("wall-ticker.children")
    for settings, seen, alarm in [
        ("garbage", "x", 5),
        ({"lang": ["zh"], "alarm_hours": "inf", "alarm_level": {"a": 1}}, [1, None, {}], {"id": 1}),
        (None, None, {"id": "a", "kind": "k", "device": "d", "place": "p", "raised_at": "t", "lon": "x"}),
    ]:
        response = client.client.post(
            "/_dash-update-component",
            json={
                "output": dependency["output"],
                "outputs": refresh_outputs(),
                "inputs": [{"id": "wall-refresh", "property": "n_intervals", "value": 1}],
                "state": [
                    {"id": "wall-config", "property": "data", "value": settings},
                    {"id": "wall-seen", "property": "data", "value": seen},
                    {"id": "wall-release", "property": "data", "value": None},
                    {"id": "wall-alarm", "property": "data", "value": alarm},
                ],
                "changedPropIds": ["wall-refresh.n_intervals"],
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)[-800:]
        assert response.get_json()["response"]["wall-ticker"]["children"]
        alert = client.client.post(
            "/_dash-update-component",
            json={
                "output": client.dependency("wall-alert-map.figure")["output"],
                "outputs": [
                    {"id": "wall-alert-map", "property": "figure"},
                    {"id": "wall-alert-text", "property": "children"},
                ],
                "inputs": [{"id": "wall-alarm", "property": "data", "value": alarm}],
                "state": [{"id": "wall-config", "property": "data", "value": settings}],
                "changedPropIds": ["wall-alarm.data"],
            },
        )
        assert alert.status_code < 500, alert.get_data(as_text=True)[-800:]


# ---- periods ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "period",
    ["0001-01-01:9999-12-31", "0001-01-01:0001-01-02", "9999-12-31", "2026-12-01:2026-01-01", "garbage", "2026-02-30"],
)
def test_a_period_out_of_range_reversed_or_garbage_shows_the_default_with_a_reason(client, period):
    status, answer = route(client, "/dispatch", f"?period={period}")
    assert status == 200, answer[-500:]
    view = _stores(answer)['{"page": "dispatch", "type": "view"}']
    _, default = route(client, "/dispatch", "")
    assert view == _stores(default)['{"page": "dispatch", "type": "view"}']
    assert period in answer  # the one-line reason names what was refused
    # The page's callback then answers for the view it shows.
    payload = _view_payload(client, view, render(client.app, "dispatch", {"period": period}))
    assert client.client.post("/_dash-update-component", json=payload).status_code == 200


def test_a_wide_but_sane_period_still_works(client):
    status, answer = route(client, "/dispatch", "?period=2000-01-01:2099-12-31")
    assert status == 200
    view = _stores(answer)['{"page": "dispatch", "type": "view"}']
    assert (view["start"], view["end"]) == ("2000-01-01", "2099-12-31")


def test_cli_refuses_an_out_of_range_period_in_one_line(loaded_demo):
    env = {**os.environ, "COCKPIT_HOME": str(loaded_demo.home.root)}
    result = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "brief", "--period", "0001-01-01:9999-12-31"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "0001-01-01:9999-12-31" in lines[0] and "Traceback" not in result.stderr


# ---- garbage callback payloads ------------------------------------------------------------------------


def _view_payload(client: DashClient, value, layout=None) -> dict:
    """The dispatch board's callback as the browser posts it, with `value` as the view (its outputs read from
    `layout`, the default page when None)."""
    layout = layout if layout is not None else render(client.app, "dispatch")
    output, outputs, inputs = next(client.page_updates(layout, "dispatch"))
    return {
        "output": output,
        "outputs": outputs,
        "inputs": [{**inputs[0], "value": value}],
        "changedPropIds": ['{"page":"dispatch","type":"view"}.data'],
    }


def test_garbage_in_the_view_store_is_a_one_line_400(client):
    _, default = route(client, "/dispatch", "")
    good = _stores(default)['{"page": "dispatch", "type": "view"}']
    assert client.client.post("/_dash-update-component", json=_view_payload(client, good)).status_code == 200
    bad_views = [
        None,
        "x",
        7,
        [],
        {},
        {**good, "start": "x"},
        {**good, "start": 20260101},
        {**good, "start": "0001-01-01", "end": "9999-12-31"},
        {**good, "start": good["end"], "end": good["start"]} if good["start"] != good["end"] else {**good, "end": "x"},
        {**good, "preset": "forever"},
        {**good, "preset": ["custom"]},
        {**good, "filters": "community=C01"},
        {**good, "filters": {"community": ["C01"]}},
        {**good, "filters": {"no_such_filter": "x"}},
        {**good, "kpi": "no_such_kpi"},
        {**good, "map_kpi": {"a": 1}},
        {key: value for key, value in good.items() if key != "filters"},
    ]
    for value in bad_views:
        _one_line_4xx(client.client.post("/_dash-update-component", json=_view_payload(client, value)))


def test_a_malformed_callback_envelope_is_a_one_line_400(client):
    good = _view_payload(client, None)
    for body in [
        b"not json",
        b"[]",
        b"{}",
        json.dumps({**good, "output": 5}).encode(),
        json.dumps({key: value for key, value in good.items() if key != "output"}).encode(),
        json.dumps({**good, "output": "no-such-component.children"}).encode(),
        json.dumps({**good, "outputs": "x"}).encode(),
        json.dumps({**good, "inputs": "x"}).encode(),
        json.dumps({**good, "inputs": [{"value": 1}]}).encode(),
        json.dumps({**good, "inputs": [[{"id": "x"}]]}).encode(),
        json.dumps({**good, "state": {"a": 1}}).encode(),
        json.dumps({**good, "changedPropIds": "x"}).encode(),
        # Outputs that are not the ones the request names (Dash's own check of this answered 500).
        json.dumps({**good, "outputs": {"id": "dispatch-kpis-1", "property": "children"}}).encode(),
        json.dumps({**good, "outputs": {"id": "dispatch-kpis-0", "property": "style"}}).encode(),
        json.dumps({**good, "outputs": good["outputs"][:-1]}).encode(),
        json.dumps({**good, "outputs": [{"id": "dispatch-kpis-0", "property": "x"}, *good["outputs"][1:]]}).encode(),
        json.dumps({**good, "outputs": [good["outputs"], good["outputs"]]}).encode(),
    ]:
        response = client.client.post(
            "/_dash-update-component", data=body, headers={"Content-Type": "application/json"}
        )
        _one_line_4xx(response)


# ---- /preference -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Host": "evil.example", "Referer": "http://evil.example/wall?x=1"}, "/wall?x=1"),
        ({"Referer": "http://evil.example/dispatch"}, "/dispatch"),
        ({"Referer": "http://localhost//evil.example/"}, "/"),
        ({"Referer": "http://localhost/\\evil.example/"}, "/"),
        ({"Host": "evil.example"}, "/"),
        ({"Referer": "javascript:alert(1)"}, "/"),
        ({"Referer": "http://localhost/grid?community=C01"}, "/grid?community=C01"),
    ],
)
def test_preference_never_redirects_off_site(app, headers, expected):
    response = signed_client(app).get("/preference?lang=en", headers=headers)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).netloc == "" and not location.startswith("//")
    assert location == expected
    assert "cockpit_lang=en" in response.headers["Set-Cookie"]


# ---- security headers --------------------------------------------------------------------------------


def test_every_response_carries_the_security_headers(app):
    test_client = signed_client(app)
    index = test_client.get("/").get_data(as_text=True)
    bundle = next(part.split('"')[0] for part in index.split('src="')[1:] if part.startswith("/_dash-component"))
    for method, url in [
        ("get", "/"),
        ("get", "/wall"),
        ("get", "/_dash-layout"),
        ("get", "/_dash-dependencies"),
        ("get", bundle),
        ("get", "/vendor/css/bootstrap.min.css"),
        ("get", "/export/records.csv"),
        ("get", "/no/such/page/at/all.txt"),
        ("post", "/_dash-update-component"),
        ("get", "/preference?lang=en"),
    ]:
        response = getattr(test_client, method)(url)
        headers = response.headers
        csp = headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors" in csp, url
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0], url
        assert headers.get("X-Frame-Options") in ("DENY", "SAMEORIGIN"), url
        assert headers.get("X-Content-Type-Options") == "nosniff", url
        assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), url


# ---- python app.py -----------------------------------------------------------------------------------


def _dash_config(port: int, cookie: str) -> dict:
    deadline = time.monotonic() + 90
    while not _listening(port):
        assert time.monotonic() < deadline, "python app.py did not listen within 90 s"
        time.sleep(0.2)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as response:
        page = response.read().decode()
    start = page.index('<script id="_dash-config" type="application/json">') + len(
        '<script id="_dash-config" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


@pytest.mark.parametrize(("debug_env", "debug_on"), [(None, False), ("0", False), ("1", True)])
def test_python_app_py_runs_debug_only_when_asked(loaded_demo, debug_env, debug_on):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    port = _free_port()
    env = {**os.environ, "COCKPIT_HOME": str(loaded_demo.home.root), "PORT": str(port)}
    env.pop("COCKPIT_DEBUG", None)
    if debug_env is not None:
        env["COCKPIT_DEBUG"] = debug_env
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the debug reloader runs the app in a child: stop the whole group
    )
    try:
        config = _dash_config(port, cookie_header(loaded_demo.home))
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    # Dash's dev tools UI is on exactly in debug mode.
    assert config["ui"] is debug_on


# ---- brief names -------------------------------------------------------------------------------------


def test_briefs_made_in_the_same_second_each_get_their_own_file(tmp_path):
    import threading
    from datetime import datetime

    from cockpit.briefing.jobs import brief_path, reserve_brief_path

    moment = datetime(2026, 11, 9, 8, 30, 15)
    names: list[str] = []
    start = threading.Barrier(8)

    def reserve() -> None:
        start.wait()
        names.append(reserve_brief_path(tmp_path, "brief_week_20261102", moment).name)

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(names) == 8 and len(set(names)) == 8
    assert len(list(tmp_path.glob("*.pdf"))) == 8
    # Each name is one the download route serves, and all carry the second they were made in.
    assert all(brief_path(tmp_path, name) is not None and "20261109T083015" in name for name in names)


def _write_url(client: DashClient, key: str, value, search) -> object:
    """The filter bar's URL-writing callback, as if the `key` dropdown changed to `value`."""
    trigger = {"type": "filter", "key": key}
    return _filter_bar(client, trigger, {"value": value}, search)


def _write_range(client: DashClient, start, end) -> object:
    """The filter bar's URL-writing callback, as if the date range picker sent `start` and `end`."""
    trigger = {"type": "filter-range", "key": "period"}
    return _filter_bar(client, trigger, {"start_date": start, "end_date": end}, "")


def _filter_bar(client: DashClient, trigger: dict, values: dict, search) -> object:
    """POST the filter bar's callback with `values` (property → value) set on the `trigger` component."""
    inputs = [[] for _ in range(6)]
    for position, prop in ((0, "value"), (1, "start_date"), (2, "end_date")):
        if prop in values:
            inputs[position] = [{"id": trigger, "property": prop, "value": values[prop]}]
    changed = next(iter(values))
    return client.client.post(
        "/_dash-update-component",
        json={
            "output": client.dependency("_pages_location.search")["output"],
            "outputs": {"id": "_pages_location", "property": "search"},
            "inputs": inputs,
            "state": [{"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": [f"{json.dumps(trigger, sort_keys=True, separators=(',', ':'))}.{changed}"],
        },
    )


def test_the_filter_bar_refuses_values_it_never_offers(client):
    community = "C01"
    good = _write_url(client, "community", community, "")
    assert good.status_code == 200 and good.get_json()["response"]["_pages_location"]["search"] == "?community=C01"
    # A search that is not text reads as none; the change still applies.
    for search in (5, {"a": 1}, ["?x=1"]):
        response = _write_url(client, "community", community, search)
        assert response.status_code == 200
        assert response.get_json()["response"]["_pages_location"]["search"] == "?community=C01"
    for key, value in [("community", ["C01"]), ("community", {"a": 1}), ("no_such_filter", "x")]:
        _one_line_4xx(_write_url(client, key, value, ""))


def test_the_date_range_picker_refuses_dates_it_never_sends(client):
    good = _write_range(client, "2026-11-20", "2026-11-01")
    assert good.status_code == 200
    assert good.get_json()["response"]["_pages_location"]["search"] == "?period=2026-11-01%3A2026-11-20"
    for start, end in [("yesterday", "2026-11-20"), ("0001-01-01", "9999-12-31"), ({"a": 1}, "2026-11-20")]:
        _one_line_4xx(_write_range(client, start, end))
