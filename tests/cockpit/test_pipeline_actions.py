"""The operator's actions on the 数据管道 page through the real app's callbacks: roll back, run the pipeline now.

Every test works on a private copy of the demo home (a rollback or a run changes it), served to the session's
app for the duration; the audit trail is read back from the state database of the app's gate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from cockpit.access import audit
from cockpit.access.audit import Action
from cockpit.access.state import connect
from cockpit.ops import latest_run, runs_folder
from cockpit.status import rejected_days
from pipelines.run import run_pipeline
from tests.cockpit.dash_client import DashClient, id_string
from tests.cockpit.serving import serving
from tests.cockpit.test_serving import _free_port, _served
from tests.conftest import SALT
from tests.fixtures.accounts import cookie_header
from warehouse.paths import Home
from warehouse.releases import current_release, exclusive, list_releases

OPERATOR = {"name": "operator", "role": "operator"}
# A day no demo source delivered; copied in from the last demo day, it makes a newer release to roll back.
NEW_DAY = date(2026, 10, 3)
NEW_DAY_SOURCE = "hotline_12345"
RUN_BOUND_S = 300  # how long a test waits for a background run before failing (an "up to date" run takes seconds)


def copy_home(source: Home, target: Path) -> Home:
    """A private home with the source's landing, lake, ledger and releases (not its accounts or audit)."""
    shutil.copytree(source.root, target, ignore=shutil.ignore_patterns("state", "secret", "pipeline_runs"))
    return Home(target).ensure()


@pytest.fixture(scope="module")
def two_releases(loaded_demo, tmp_path_factory) -> Home:
    """The demo home plus a newer release that loaded one more landing day (built once; copy it before use)."""
    home = copy_home(loaded_demo.home, tmp_path_factory.mktemp("two-releases") / "home")
    last_day = home.landing / NEW_DAY_SOURCE / "2026-10-02"
    shutil.copytree(last_day, home.landing / NEW_DAY_SOURCE / NEW_DAY.isoformat())
    summary = run_pipeline(home, salt=SALT)
    assert summary.status == "published", summary.message
    return home


@pytest.fixture
def home(two_releases, tmp_path) -> Home:
    return copy_home(two_releases, tmp_path / "home")


def fed_by(spec_id: str, input_id: str | dict) -> bool:
    """Whether a dependency's input id (a pattern's as JSON) is `input_id` (a dict id: its type)."""
    if isinstance(input_id, dict):
        return spec_id.startswith("{") and json.loads(spec_id).get("type") == input_id["type"]
    return spec_id == input_id


def call(client: DashClient, input_id: str | dict, prop: str, value, state: dict | None = None) -> dict:
    """Post the callback fed by `input_id` as the browser does; returns {component id: {property: value}}."""
    return client.post(_body(client, input_id, prop, value, state))


def call_status(client: DashClient, input_id: str | dict, prop: str, value, state: dict | None = None) -> int:
    return client.client.post("/_dash-update-component", json=_body(client, input_id, prop, value, state)).status_code


def _body(client, input_id: str | dict, prop: str, value, state: dict | None) -> dict:
    (dependency,) = [d for d in client.dependencies if any(fed_by(i["id"], input_id) for i in d["inputs"])]
    output = dependency["output"]
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]} for part in parts]
    inputs = []
    for spec in dependency["inputs"]:
        pattern = spec["id"].startswith("{")
        if fed_by(spec["id"], input_id):
            clicked = {"id": input_id, "property": prop, "value": value}
            inputs.append([clicked] if pattern else clicked)
        else:  # another button, never clicked (a pattern: none drawn)
            inputs.append([] if pattern else {"id": spec["id"], "property": spec["property"], "value": None})
    states = [
        {"id": s["id"], "property": s["property"], "value": (state or {}).get(s["id"])} for s in dependency["state"]
    ]
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": inputs,
        "state": states,
        "changedPropIds": [f"{id_string(input_id)}.{prop}"],
    }


def text_of(component) -> str:
    """All the text under a rendered component (a JSON tree from a callback's answer)."""
    if isinstance(component, str):
        return component
    if isinstance(component, list):
        return "".join(text_of(each) for each in component)
    if isinstance(component, dict):
        return text_of(component.get("props", {}).get("children"))
    return "" if component is None else str(component)


def audit_trail(app, action: Action, since_seq: int = 0) -> list[audit.Entry]:
    """The app's audit entries of `action` after `since_seq`, oldest first."""
    conn = connect(app.server.config["COCKPIT_GATE"].home)
    return [e for e in reversed(audit.entries(conn, action=action, limit=1000)) if e.seq > since_seq]


def last_seq(app) -> int:
    conn = connect(app.server.config["COCKPIT_GATE"].home)
    row = conn.execute("SELECT max(seq) FROM audit").fetchone()
    return row[0] or 0


# ---- rollback ------------------------------------------------------------------------------------------------


def test_a_rollback_confirmed_in_the_dialog_makes_the_older_release_current_and_is_audited(app, home):
    older, newer = [r.run_id for r in list_releases(home)]
    assert current_release(home).stem == newer
    before = last_seq(app)
    with serving(home):
        client = DashClient(app, **OPERATOR)
        opened = call(client, "pipeline-rollback-open", "n_clicks", 1)
        assert opened["pipeline-rollback-modal"]["is_open"] is True
        plan = text_of(opened["pipeline-rollback-plan"]["children"])
        assert older in plan and newer in plan and NEW_DAY.isoformat() in plan
        assert current_release(home).stem == newer  # the dialog only says what would happen

        target = opened["pipeline-rollback-target"]["data"]
        done = call(client, "pipeline-rollback-confirm", "n_clicks", 1, {"pipeline-rollback-target": target})
        assert done["pipeline-rollback-modal"]["is_open"] is False
        assert older in text_of(done["pipeline-action-message"]["children"])
        assert current_release(home).stem == older

        # The page draws its tables again, from the release now current.
        changed = done["pipeline-changed"]["data"]
        redrawn = call(client, "pipeline-changed", "data", changed)
        assert f"当前版本 {older}" in text_of(redrawn["pipeline-body"]["children"])

    rejected = rejected_days(home)
    assert [(r["source"], r["day"]) for r in rejected.to_dict("records")] == [(NEW_DAY_SOURCE, NEW_DAY)]
    (entry,) = audit_trail(app, Action.ROLLBACK, before)
    assert (entry.actor, entry.target, entry.outcome) == ("operator", older, "ok")
    assert entry.details["from"] == newer and entry.details["to"] == older
    assert entry.details["rejected_days"] == [f"{NEW_DAY.isoformat()} {NEW_DAY_SOURCE}"]


def test_the_button_of_a_release_rolls_forward_to_it_and_takes_back_the_days_set_aside(app, home):
    older, newer = [r.run_id for r in list_releases(home)]
    with serving(home):
        client = DashClient(app, **OPERATOR)
        call(client, "pipeline-rollback-confirm", "n_clicks", 1, {"pipeline-rollback-target": older})
        assert current_release(home).stem == older and not rejected_days(home).empty

        # The page lists both releases; the current one has no button.
        redrawn = call(client, "pipeline-changed", "data", 1)["pipeline-body"]["children"]
        buttons = [b["props"]["id"]["run"] for b in components(redrawn) if isinstance(b["props"].get("id"), dict)]
        assert buttons == [newer]

        clicked = {"type": "pipeline-rollback-to", "run": newer}
        opened = call(client, clicked, "n_clicks", 1)
        assert opened["pipeline-rollback-modal"]["is_open"] is True
        assert opened["pipeline-rollback-target"]["data"] == newer
        unclicked = call(client, clicked, "n_clicks", None)  # a button drawn again, not clicked
        assert unclicked == {}
        call(client, "pipeline-rollback-confirm", "n_clicks", 1, {"pipeline-rollback-target": newer})
    assert current_release(home).stem == newer
    assert rejected_days(home).empty


def components(tree) -> list[dict]:
    """Every component (as JSON) in a callback's answer, depth first."""
    if isinstance(tree, list):
        return [c for each in tree for c in components(each)]
    if isinstance(tree, dict) and "props" in tree:
        return [tree, *components(tree["props"].get("children"))]
    return []


def test_a_rollback_with_no_older_release_says_so_in_one_line(app, home):
    older, _ = [r.run_id for r in list_releases(home)]
    with serving(home):
        client = DashClient(app, **OPERATOR)
        call(client, "pipeline-rollback-confirm", "n_clicks", 1, {"pipeline-rollback-target": older})
        assert current_release(home).stem == older
        answer = call(client, "pipeline-rollback-open", "n_clicks", 2)
    assert answer["pipeline-rollback-modal"]["is_open"] is False
    message = text_of(answer["pipeline-action-message"]["children"])
    assert "no release older than the current one" in message and "\n" not in message


def test_a_rollback_while_a_run_holds_the_warehouse_is_refused_and_audited_as_failed(app, home):
    older, newer = [r.run_id for r in list_releases(home)]
    before = last_seq(app)
    with serving(home), exclusive(home):
        client = DashClient(app, **OPERATOR)
        answer = call(client, "pipeline-rollback-confirm", "n_clicks", 1, {"pipeline-rollback-target": older})
    message = text_of(answer["pipeline-action-message"]["children"])
    assert "holds this COCKPIT_HOME" in message
    assert current_release(home).stem == newer
    (entry,) = audit_trail(app, Action.ROLLBACK, before)
    assert (entry.target, entry.outcome) == (older, "failed")
    assert "holds this COCKPIT_HOME" in entry.details["reason"]


# ---- a pipeline run ------------------------------------------------------------------------------------------


def poll_until_finished(client: DashClient, job: str) -> dict:
    deadline = time.monotonic() + RUN_BOUND_S
    while time.monotonic() < deadline:
        answer = call(client, "pipeline-run-poll", "n_intervals", 1, {"pipeline-run-job": job, "pipeline-changed": 0})
        if answer["pipeline-run-poll"]["disabled"]:
            return answer
        time.sleep(0.5)
    pytest.fail(f"the background run {job} did not finish within {RUN_BOUND_S} s")


def test_a_run_started_from_the_page_runs_in_the_background_finishes_and_is_audited_twice(app, home):
    releases_before = [r.run_id for r in list_releases(home)]
    before = last_seq(app)
    with serving(home):
        client = DashClient(app, **OPERATOR)
        started = call(client, "pipeline-run-start", "n_clicks", 1)
        job = started["pipeline-run-job"]["data"]
        assert started["pipeline-run-poll"]["disabled"] is False  # the page follows it
        assert started["pipeline-run-start"]["disabled"] is True

        finished = poll_until_finished(client, job)
        status = text_of(finished["pipeline-run-status"]["children"])
        assert "退出码 0" in status and "up_to_date" in status
        assert finished["pipeline-run-start"]["disabled"] is False
        assert finished["pipeline-changed"]["data"] == 1  # the tables are drawn again
        again = call(client, "pipeline-run-poll", "n_intervals", 2, {"pipeline-run-job": job, "pipeline-changed": 1})
        assert "退出码 0" in text_of(again["pipeline-run-status"]["children"])

    # It ran the CLI on this home: its JSON summary and log are kept there; nothing new to publish.
    assert (home.root / "pipeline_runs" / f"{job}.out").read_text().lstrip().startswith("{")
    assert [r.run_id for r in list_releases(home)] == releases_before
    entries = audit_trail(app, Action.PIPELINE_RUN, before)
    assert [(e.actor, e.target, e.details["event"], e.outcome) for e in entries] == [
        ("operator", job, "started", "ok"),
        ("operator", job, "finished", "ok"),
    ]  # the second poll that saw it finished wrote nothing more
    assert entries[1].details["exit_code"] == 0 and entries[1].details["status"] == "up_to_date"


def test_a_second_run_is_refused_while_one_runs(app, home):
    before = last_seq(app)
    with serving(home):
        client = DashClient(app, **OPERATOR)
        first = call(client, "pipeline-run-start", "n_clicks", 1)["pipeline-run-job"]["data"]
        second = call(client, "pipeline-run-start", "n_clicks", 2)
        message = text_of(second["pipeline-action-message"]["children"])
        assert "already in progress" in message and "operator" in message
        assert "pipeline-run-job" not in second  # the page keeps following the first
        poll_until_finished(client, first)
    entries = audit_trail(app, Action.PIPELINE_RUN, before)
    assert [(e.target, e.details["event"], e.outcome) for e in entries] == [
        (first, "started", "ok"),
        ("", "start refused", "failed"),
        (first, "finished", "ok"),
    ]
    assert len(list((home.root / "pipeline_runs").glob("*.out"))) == 1  # no second process was started


def test_a_run_is_refused_while_a_nightly_run_holds_the_warehouse(app, home):
    with serving(home), exclusive(home):
        client = DashClient(app, **OPERATOR)
        answer = call(client, "pipeline-run-start", "n_clicks", 1)
    assert "holds this COCKPIT_HOME" in text_of(answer["pipeline-action-message"]["children"])
    assert not list((home.root / "pipeline_runs").glob("*.out"))


def test_a_failed_run_shows_its_exit_code_and_last_line(app, home):
    # A run that cannot read its settings fails at once with a one-line reason on stderr.
    (home.root / "cockpit.toml").write_text("keep_releases = 'many'\n")
    before = last_seq(app)
    with serving(home):
        client = DashClient(app, **OPERATOR)
        job = call(client, "pipeline-run-start", "n_clicks", 1)["pipeline-run-job"]["data"]
        finished = poll_until_finished(client, job)
    status = text_of(finished["pipeline-run-status"]["children"])
    last_line = (home.root / "pipeline_runs" / f"{job}.err").read_text().strip().splitlines()[-1]
    assert "运行失败" in status and last_line in status and "bad setting" in last_line
    started, ended = audit_trail(app, Action.PIPELINE_RUN, before)
    assert ended.outcome == "failed" and ended.details["exit_code"] not in (0, None)
    assert ended.details["message"] == last_line


# ---- who may ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["analyst", "leader"])
def test_other_roles_are_refused_every_action_by_the_gate(app, home, role):
    older, newer = [r.run_id for r in list_releases(home)]
    with serving(home):
        client = DashClient(app, name=f"not-operator-{role}", role=role)
        statuses = [
            call_status(client, "pipeline-rollback-open", "n_clicks", 1),
            call_status(client, "pipeline-rollback-confirm", "n_clicks", 1, {"pipeline-rollback-target": older}),
            call_status(client, "pipeline-run-start", "n_clicks", 1),
            call_status(client, "pipeline-run-poll", "n_intervals", 1, {"pipeline-run-job": "x"}),
            call_status(client, "pipeline-changed", "data", 1),
        ]
    assert statuses == [403] * 5
    assert current_release(home).stem == newer
    assert not (home.root / "pipeline_runs").exists()


def test_a_run_whose_starting_worker_is_gone_takes_its_exit_code_from_its_summary(tmp_path):
    # The worker that started the run (and would have written its exit code) was restarted; the run ended.
    ended = subprocess.Popen(["true"])
    ended.wait()
    home = Home(tmp_path).ensure()
    folder = runs_folder(home)
    folder.mkdir()
    job = "20261003T010203-abcdef"
    meta = {"job": job, "started_at": "2026-10-03 01:02:03", "started_by": "operator", "pid": ended.pid}
    (folder / f"{job}.json").write_text(json.dumps(meta))
    summary = {"run_id": "r1", "status": "no_usable_data", "exit_code": 3, "message": "nothing usable was loaded"}
    (folder / f"{job}.out").write_text(json.dumps(summary))
    (folder / f"{job}.err").write_text("warning: a file was empty\nerror: nothing usable was loaded\n")
    state = latest_run(home)
    assert (state.job, state.running, state.exit_code, state.succeeded) == (job, False, 3, False)
    assert state.outcome_line == "error: nothing usable was loaded"
    assert latest_run(Home(tmp_path / "other").ensure()) is None


def test_an_ended_run_reads_as_running_until_its_exit_code_is_written(tmp_path, monkeypatch):
    """Never "finished, no exit code": the poller in between would audit a failed run with none."""
    import os
    import signal
    import threading

    from cockpit import ops

    home = Home(tmp_path).ensure()
    folder = runs_folder(home)
    folder.mkdir()
    replace = os.replace

    def slow_replace(source, target):  # the exit code's write takes a while
        if str(target).endswith(".rc"):
            time.sleep(0.5)
        replace(source, target)

    monkeypatch.setattr(ops.os, "replace", slow_replace)
    for job, command, expected in (
        ("20261003T010203-aaaaaa", ["sh", "-c", "exit 5"], 5),
        ("20261003T010204-bbbbbb", ["sleep", "30"], -signal.SIGTERM),
    ):
        child = subprocess.Popen(command)
        meta = {"job": job, "started_at": "2026-10-03 01:02:03", "started_by": "operator", "pid": child.pid}
        (folder / f"{job}.json").write_text(json.dumps(meta))
        if expected < 0:
            child.terminate()
        recorder = threading.Thread(target=ops._record_exit, args=(child, folder / f"{job}.rc"))
        recorder.start()
        seen = []
        while recorder.is_alive():
            state = latest_run(home)
            seen.append((state.running, state.exit_code))
            time.sleep(0.01)
        recorder.join()
        assert len(seen) > 10 and all(running or code == expected for running, code in seen), seen
        state = latest_run(home)
        assert (state.running, state.exit_code) == (False, expected)
        assert child.returncode == expected  # reaped, and the same code Popen reads


def test_under_gunicorn_any_worker_follows_the_run_and_its_end_is_audited_once(home):
    """Several workers: the one that started the run is not the only one polling; the end is recorded once."""
    port = _free_port()
    cookie = cookie_header(home, **OPERATOR)

    def post(body: dict) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/_dash-update-component",
            data=json.dumps(body).encode(),
            headers={"Cookie": cookie, "Content-Type": "application/json", "Connection": "close"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"{}").get("response", {})

    with _served(home.root, port, workers=2):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/_dash-dependencies", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=120) as response:
            served = SimpleNamespace(dependencies=json.loads(response.read()))
        job = post(_body(served, "pipeline-run-start", "n_clicks", 1, None))["pipeline-run-job"]["data"]
        deadline, polls, answer = time.monotonic() + RUN_BOUND_S, 0, {}
        while time.monotonic() < deadline and not answer.get("pipeline-run-poll", {}).get("disabled"):
            state = {"pipeline-run-job": job, "pipeline-changed": 0}
            answer = post(_body(served, "pipeline-run-poll", "n_intervals", polls, state))
            polls += 1
            time.sleep(0.5)  # as a page polls; also keeps the access log within the pipe the helper reads at the end
        for extra in range(3):  # more polls (on either worker) after the end add nothing to the trail
            post(_body(served, "pipeline-run-poll", "n_intervals", polls + extra, state))
    assert "退出码 0" in text_of(answer["pipeline-run-status"]["children"])
    trail = [e for e in reversed(audit.entries(connect(home), action=Action.PIPELINE_RUN)) if e.target == job]
    assert [(e.details["event"], e.outcome) for e in trail] == [("started", "ok"), ("finished", "ok")]
