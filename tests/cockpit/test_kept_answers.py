"""Board answers kept beside the release (cockpit/answers.py): the same answer as a fresh render, served to
another worker without rendering, computed once among threads and processes, never in the way when damaged.

A worker is a process: the cross-process tests start real Python processes on the same home.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from cockpit.access.accounts import Scope, find
from cockpit.access.principal import SYSTEM, Principal
from cockpit.access.state import open_state
from cockpit.answers import KeptAnswers, code_stamp, key_name, stamp_for
from cockpit.components.board import REGISTERED, warm_readers, warm_views
from cockpit.data import current_warehouse
from cockpit.settings import Settings
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_board_cache import period_choices
from tests.cockpit.test_pages import BOARDS, run_page
from tests.fixtures.accounts import ensure_user
from warehouse.paths import Home

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kept(app, tmp_path, monkeypatch) -> KeptAnswers:
    """The app's warehouse with kept answers in a store of this test's own, as a server's workers have them."""
    warehouse = current_warehouse()
    settings = Settings.load({"COCKPIT_HOME": str(warehouse.home.root)})
    answers = KeptAnswers(tmp_path / "answers", stamp_for(settings), warehouse.home.releases)
    monkeypatch.setattr(warehouse, "answers", answers)
    warehouse._cache.clear()
    yield answers
    warehouse._cache.clear()


def test_a_kept_answer_is_the_fresh_render_and_a_restarted_worker_reads_it_without_rendering(
    app, kept, renders, monkeypatch
):
    warehouse = current_warehouse()
    client = DashClient(app)
    with monkeypatch.context() as off:
        off.setattr(warehouse, "answers", None)
        fresh = {name: run_page(client, app, name, {"period": "this_month"}) for name in BOARDS}
    warehouse._cache.clear()
    renders.clear()

    computed = {name: run_page(client, app, name, {"period": "this_month"}) for name in BOARDS}
    assert sorted(renders) == sorted(BOARDS)
    warehouse._cache.clear()  # what a worker holds after a restart: nothing in memory
    renders.clear()
    read = {name: run_page(client, app, name, {"period": "this_month"}) for name in BOARDS}
    assert renders == []
    assert computed == fresh and read == fresh

    # Another view, another reader's scope, another language: each its own answer.
    run_page(client, app, "dispatch", {"period": "this_year"})
    run_page(DashClient(app, language="en"), app, "dispatch", {"period": "this_month"})
    community = warehouse.dataset("communities")["community_id"].iloc[0]
    scoped = DashClient(app, name="kept_community", role="community", scope=f"community:{community}")
    run_page(scoped, app, "dispatch", {"period": "this_month"})
    assert renders == ["dispatch"] * 3


def test_an_answer_built_while_the_release_switched_is_returned_but_not_kept(app, kept, monkeypatch):
    warehouse = current_warehouse()
    run_id = warehouse.info.run_id
    real = type(warehouse).info
    switched = False

    def info(self):
        return replace(real.fget(self), run_id="20991231T000000-next") if switched else real.fget(self)

    monkeypatch.setattr(type(warehouse), "info", property(info))

    def build():
        nonlocal switched
        switched = True  # CURRENT now names another release
        return {"built": "during the switch"}

    assert warehouse.kept(("probe",), build) == {"built": "during the switch"}
    switched = False
    assert kept.get(run_id, ("probe",)) is None
    assert warehouse.kept(("probe",), lambda: {"built": "after"}) == {"built": "after"}
    assert kept.get(run_id, ("probe",)) == {"built": "after"}


WORKER = """
import hashlib, json, sys
import cockpit.components.board as board_module
from cockpit.app import create_app
from cockpit.settings import Settings
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_pages import run_page

app = create_app(Settings.load({"COCKPIT_HOME": sys.argv[1]}), keep_answers=True)
def refuse(*args):
    raise AssertionError("rendered, not read from the kept answers")
board_module.render_board = refuse
answers = run_page(DashClient(app), app, sys.argv[2], {"period": "this_month"})
print(json.dumps(answers, sort_keys=True))
"""


def test_another_worker_process_reads_what_one_kept(app, tmp_path, monkeypatch):
    """`create_app(keep_answers=True)` as `cockpit.wsgi` calls it, in two processes: the second never renders."""
    warehouse = current_warehouse()
    home = warehouse.home.root
    settings = Settings.load({"COCKPIT_HOME": str(home)})
    answers = KeptAnswers(warehouse.home.cache / "answers", stamp_for(settings), warehouse.home.releases)
    monkeypatch.setattr(warehouse, "answers", answers)
    warehouse._cache.clear()
    try:
        mine = run_page(DashClient(app), app, "grid", {"period": "this_month"})
    finally:
        warehouse._cache.clear()
    worker = subprocess.run(
        [sys.executable, "-c", WORKER, str(home), "grid"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert json.loads(worker.stdout.splitlines()[-1]) == json.loads(json.dumps(mine, sort_keys=True))


def _slow_answer(root: str, releases: str, log_path: str, start: float) -> object:
    """One worker's ask for the same answer at the same moment: the computation notes itself in `log_path`."""
    time.sleep(max(0.0, start - time.time()))

    def compute():
        with open(log_path, "a") as log:
            log.write("computed\n")
        time.sleep(0.5)
        return {"answer": [1, 2, 3], "text": "<script>告警</script>"}

    return KeptAnswers(Path(root), "s" * 12, Path(releases)).answer("run-1", ("board", "x"), compute)


def test_an_answer_is_computed_once_among_threads_and_processes(tmp_path):
    releases = tmp_path / "releases"
    releases.mkdir()
    (releases / "run-1.duckdb").touch()
    log_path = tmp_path / "computed.log"
    args = (str(tmp_path / "answers"), str(releases), str(log_path), time.time() + 3)
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        others = [pool.apply_async(_slow_answer, args) for _ in range(2)]
        results: list[object] = []
        threads = [threading.Thread(target=lambda: results.append(_slow_answer(*args))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results += [other.get(timeout=60) for other in others]
    assert log_path.read_text() == "computed\n"
    assert results == [{"answer": [1, 2, 3], "text": "<script>告警</script>"}] * 5


def test_keeping_ahead_passes_over_an_answer_another_is_computing(tmp_path):
    releases = tmp_path / "releases"
    releases.mkdir()
    (releases / "run-1.duckdb").touch()
    answers = KeptAnswers(tmp_path / "answers", "k" * 12, releases)
    computing, finish = threading.Event(), threading.Event()

    def slow():
        computing.set()
        assert finish.wait(30)
        return {"by": "the first"}

    first = threading.Thread(target=lambda: answers.answer("run-1", ("board", "a"), slow))
    first.start()
    assert computing.wait(30)
    calls = []
    started = time.perf_counter()
    # Being computed elsewhere: not computed again, not waited for.
    assert answers.keep("run-1", ("board", "a"), lambda: calls.append("a") or {"by": "warming"}) is False
    assert time.perf_counter() - started < 5 and calls == []
    # Nobody at it: computed here, and kept.
    assert answers.keep("run-1", ("board", "b"), lambda: calls.append("b") or {"by": "warming"}) is True
    assert calls == ["b"] and answers.get("run-1", ("board", "b")) == {"by": "warming"}
    finish.set()
    first.join()
    # Kept by the first: ready, and not computed here.
    assert answers.keep("run-1", ("board", "a"), lambda: calls.append("a") or {"by": "warming"}) is True
    assert calls == ["b"] and answers.get("run-1", ("board", "a")) == {"by": "the first"}


def test_two_workers_warming_at_once_share_the_views(app, kept, monkeypatch):
    """The server's workers warm the same list at the same moment. Each passes over what the other is
    computing, so both compute at once, each view once; each ends with every view ready."""
    import cockpit.components.board as board_module

    real = board_module.render_board
    rendered, running, most = [], [0], [0]
    guard = threading.Lock()

    def slow_render(board, view, lang, theme):
        with guard:
            rendered.append((board.id, view.preset))
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.3)  # long enough for the other worker to reach the next view meanwhile
            return real(board, view, lang, theme)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(board_module, "render_board", slow_render)
    boards = [REGISTERED["party"], REGISTERED["approvals"]]
    views = len(boards) * len(period_choices(app))  # the street's every period (the default among them)
    counts: list[int] = []
    start = threading.Barrier(2)

    def worker():
        with app.server.app_context():
            start.wait(30)
            counts.append(warm_views(boards, [SYSTEM]))

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)
    assert counts == [views, views]  # each worker ends with every view ready, its own or the other's
    assert len(rendered) == views and len(set(rendered)) == views  # each view computed once in all
    assert most[0] == 2  # and the two computed side by side, neither waiting on the other's answer


def test_a_damaged_store_or_answer_is_computed_around(tmp_path, caplog):
    releases = tmp_path / "releases"
    releases.mkdir()
    (releases / "run-1.duckdb").touch()
    root = tmp_path / "answers"
    answers = KeptAnswers(root, "d" * 12, releases)
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert answers.answer("run-1", ("k",), compute) == {"n": 1}
    # An answer that is not JSON (a truncated write, a hand-edit): computed again and replaced.
    answers._store("run-1").set(key_name(("k",)), b"\x80not json")
    with caplog.at_level(logging.WARNING, logger="cockpit.answers"):
        assert answers.answer("run-1", ("k",), compute) == {"n": 2}
    assert answers.get("run-1", ("k",)) == {"n": 2}
    # The store's database itself damaged: every answer is computed, none lost, and the log says why.
    answers._store("run-1").close()
    for database in answers.folder("run-1").glob("cache.db*"):
        database.write_bytes(b"garbage" * 1000)
    damaged = KeptAnswers(root, "d" * 12, releases)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cockpit.answers"):
        assert damaged.answer("run-1", ("k",), compute) == {"n": 3}
    assert "computing without them" in caplog.text


def test_a_store_is_its_releases_own_and_goes_with_it(tmp_path):
    releases = tmp_path / "releases"
    releases.mkdir()
    for run_id in ("20261101T010000-aaaa", "20261102T010000-bbbb"):
        (releases / f"{run_id}.duckdb").touch()
    answers = KeptAnswers(tmp_path / "answers", "e" * 12, releases)
    for run_id in ("20261101T010000-aaaa", "20261102T010000-bbbb"):
        answers.answer(run_id, ("k",), lambda run_id=run_id: run_id)
    assert answers.get("20261101T010000-aaaa", ("k",)) == "20261101T010000-aaaa"
    assert answers.get("20261102T010000-bbbb", ("k",)) == "20261102T010000-bbbb"
    other = tmp_path / "answers" / "notes"  # not a store: left alone
    other.mkdir()

    (releases / "20261101T010000-aaaa.duckdb").unlink()  # the release deleted (kept releases rotate)
    gone = answers.forget_unused()
    assert [folder.name for folder in gone] == [f"20261101T010000-aaaa-{'e' * 12}"]
    left = sorted(path.name for path in (tmp_path / "answers").iterdir())
    assert left == [f"20261102T010000-bbbb-{'e' * 12}", "notes"]
    assert answers.get("20261102T010000-bbbb", ("k",)) == "20261102T010000-bbbb"


def test_a_store_of_other_code_or_settings_goes_once_idle_for_a_day(tmp_path):
    releases = tmp_path / "releases"
    releases.mkdir()
    (releases / "20261102T010000-bbbb.duckdb").touch()
    root = tmp_path / "answers"
    before, after = KeptAnswers(root, "o" * 12, releases), KeptAnswers(root, "n" * 12, releases)  # an upgrade
    before.answer("20261102T010000-bbbb", ("k",), lambda: "old code")
    after.answer("20261102T010000-bbbb", ("k",), lambda: "new code")
    now = time.time()
    assert after.forget_unused(now) == []  # the old workers of a rolling restart may still use theirs
    old, new = root / f"20261102T010000-bbbb-{'o' * 12}", root / f"20261102T010000-bbbb-{'n' * 12}"
    two_days_ago = now - 2 * 24 * 3600
    for folder in (old, new):  # both left alone for two days
        for path in [*folder.rglob("*"), folder]:
            os.utime(path, (two_days_ago, two_days_ago))
    assert after.forget_unused(now) == [old]  # its own store stays, however long unused
    assert after.get("20261102T010000-bbbb", ("k",)) == "new code"


def test_a_changed_setting_or_changed_code_is_another_store(tmp_path, monkeypatch):
    settings = Settings.load({"COCKPIT_HOME": str(tmp_path / "home")})
    tiles = replace(settings, map_tiles="https://tiles.example.gov.cn/{z}/{x}/{y}.png")
    assert stamp_for(settings) == stamp_for(Settings.load({"COCKPIT_HOME": str(tmp_path / "home")}))
    assert stamp_for(settings) != stamp_for(tiles)

    # The code's stamp follows its files: a copy of the packages, one file edited.
    source = tmp_path / "src"
    for package in ("cockpit", "warehouse"):
        (source / package).mkdir(parents=True)
        (source / package / "module.py").write_text("ANSWER = 1\n")
    before = code_stamp(source)
    assert code_stamp(source) == before
    (source / "cockpit" / "module.py").write_text("ANSWER = 2\n")
    assert code_stamp(source) != before
    assert code_stamp() == code_stamp(REPO)


def test_warming_keeps_each_readers_first_view_and_the_street_readers_periods(app, kept, renders):
    warehouse = current_warehouse()
    community = warehouse.dataset("communities")["community_id"].iloc[0]
    home = warehouse.home
    ensure_user(home, "warm_community", "community", f"community:{community}")
    conn = open_state(home.state_db)
    reader = Principal.for_account(find(conn, "warm_community"))
    conn.close()
    boards = list(REGISTERED.values())

    assert warm_views(boards, [SYSTEM, reader]) == len(BOARDS) * (1 + len(period_choices(app)))
    assert len(renders) == len(BOARDS) * (1 + len(period_choices(app)))
    # A restarted worker's warming finds every answer kept: it renders nothing and reads nothing into memory.
    warehouse._cache.clear()
    renders.clear()
    assert warm_views(boards, [SYSTEM, reader]) == len(BOARDS) * (1 + len(period_choices(app)))
    assert renders == [] and not any("kept" in key for key in warehouse._cache)
    for period in period_choices(app):
        leader = DashClient(app, name="warm_leader", role="leader", grants=("personal",))
        run_page(leader, app, "overview", {"period": period})
    secretary = DashClient(app, name="warm_community", role="community", scope=f"community:{community}")
    run_page(secretary, app, "grid")
    assert renders == []
    # A community reader's other periods are computed when asked for (warming all of them costs too much).
    run_page(secretary, app, "grid", {"period": "this_year"})
    assert renders == ["grid"]


def test_the_readers_warmed_for_are_one_per_way_of_reading(tmp_path):
    home = Home(tmp_path / "home").ensure()
    assert warm_readers(home) == [SYSTEM]  # no account yet
    ensure_user(home, "a_community_1", "community", "community:C01")
    ensure_user(home, "a_community_2", "community", "community:C01")  # reads C01 as the first does
    ensure_user(home, "b_grid", "community", "grid:G0101")
    ensure_user(home, "c_leader", "leader")
    ensure_user(home, "d_leader", "leader", grants=("personal",))  # may see personal data: other lists
    ensure_user(home, "e_off", "community", "community:C09")
    conn = open_state(home.state_db)
    with conn:
        conn.execute("UPDATE users SET disabled = 1 WHERE name = 'e_off'")
    conn.close()

    readers = warm_readers(home)
    ways = [(str(reader.scope), "personal" in reader.permissions) for reader in readers]
    assert sorted(ways[:2]) == sorted([("street", False), ("street", True)])  # street-wide readers first
    assert sorted(ways[2:]) == sorted([("community:C01", False), ("grid:G0101", False)])
    assert all(reader.scope != Scope.parse("community:C09") for reader in readers)
