"""The views readers asked for (cockpit/answers.py: AskedViews): noted by every worker, recalled for a week,
most recent first, and warmed first for the next release (cockpit/components/board.py: warm_views)."""

from __future__ import annotations

import logging
import shutil
import time

from cockpit.access.accounts import find
from cockpit.access.principal import Principal
from cockpit.access.state import open_state
from cockpit.answers import AskedViews
from cockpit.components.board import REGISTERED, warm_views
from cockpit.data import current_warehouse
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_kept_answers import kept  # noqa: F401 (the fixture)
from tests.cockpit.test_pages import run_page
from tests.fixtures.accounts import ensure_user

DAY = 24 * 3600


def view(board: str, **query: str) -> dict:
    return {"board": board, "query": query, "lang": "zh", "theme": "light", "way": ["street", False]}


def test_the_views_asked_for_are_recalled_most_recent_first_for_a_week(tmp_path, caplog):
    now = time.time()
    worker = AskedViews(tmp_path / "asked")
    worker.note(view("dispatch", period="this_week"), now=now - 3 * DAY)
    worker.note(view("grid", community="C01"), now=now - 3600)
    worker.note(view("party", period="this_year"), now=now - 8 * DAY)  # asked for too long ago
    worker.note(view("approvals", term="问" * 3000), now=now)  # no view is described at such length
    assert worker.recent(now=now) == [view("grid", community="C01"), view("dispatch", period="this_week")]
    # Another worker reads what this one noted, and notes a view asked again: it is the most recent now.
    other = AskedViews(tmp_path / "asked")
    assert other.recent(now=now) == worker.recent(now=now)
    other.note(view("dispatch", period="this_week"), now=now)
    assert worker.recent(now=now) == [view("dispatch", period="this_week"), view("grid", community="C01")]
    assert worker.recent(limit=1, now=now) == [view("dispatch", period="this_week")]
    # A worker writes a view it noted again at most hourly (a wall refreshing every minute writes nothing more).
    worker.note(view("grid", community="C01"), now=now - 3600 + 60)  # a minute after this worker noted it
    assert worker.recent(now=now)[0] == view("dispatch", period="this_week")
    worker.note(view("grid", community="C01"), now=now + 10)  # over an hour after: noted again, the latest now
    assert worker.recent(now=now + 10)[0] == view("grid", community="C01")
    # A damaged log is read as empty and noted around: never in a reader's way.
    for database in (tmp_path / "asked").glob("cache.db*"):
        database.write_bytes(b"garbage" * 1000)
    damaged = AskedViews(tmp_path / "asked")
    with caplog.at_level(logging.WARNING, logger="cockpit.answers"):
        assert damaged.recent() == []
        damaged.note(view("grid"))
    assert "cannot be read" in caplog.text and "cannot be noted" in caplog.text


def principal(home, name: str) -> Principal:
    conn = open_state(home.state_db)
    account = find(conn, name)
    conn.close()
    return Principal.for_account(account, account.grants)


def test_the_next_release_warms_first_what_readers_asked_for(app, kept, renders):  # noqa: F811
    warehouse = current_warehouse()
    home = warehouse.home
    communities = list(warehouse.dataset("communities")["community_id"])
    ensure_user(home, "asked_leader", "leader")
    ensure_user(home, "asked_community", "community", f"community:{communities[0]}")
    ensure_user(home, "asked_gone", "community", f"community:{communities[1]}")
    leader = DashClient(app, name="asked_leader", role="leader")
    secretary = DashClient(app, language="en", name="asked_community", role="community")
    gone = DashClient(app, name="asked_gone", role="community")
    run_page(leader, app, "dispatch", {"period": "this_week", "category": "sanitation"})
    run_page(secretary, app, "grid", {"period": "this_year"})
    run_page(gone, app, "grid", {"period": "this_year"})

    # The next release: nothing of this one kept, in memory or on disk; what readers asked for is still noted.
    shutil.rmtree(kept.folder(warehouse.info.run_id))
    kept._stores.clear()
    warehouse._cache.clear()
    renders.clear()
    # Today's readers: the leader's and the secretary's way of reading; no account reads as asked_gone did.
    readers = [principal(home, "asked_leader"), principal(home, "asked_community")]
    boards = [REGISTERED["dispatch"], REGISTERED["grid"]]
    warmed = warm_views(boards, readers)
    assert renders.count("dispatch") == warmed - renders.count("grid")  # every view warmed was rendered once

    renders.clear()
    run_page(leader, app, "dispatch", {"period": "this_week", "category": "sanitation"})
    run_page(secretary, app, "grid", {"period": "this_year"})
    assert renders == []  # both ready before they were asked for again, the secretary's in English
    run_page(gone, app, "grid", {"period": "this_year"})
    run_page(leader, app, "dispatch", {"period": "this_week", "category": "parking"})
    assert renders == ["grid", "dispatch"]  # a way no reader reads today, and a view nobody asked for


def test_a_reader_opening_view_after_view_takes_only_their_own_ways_turns(app, kept, renders, monkeypatch):  # noqa: F811
    import cockpit.components.board as board_module

    warehouse = current_warehouse()
    home = warehouse.home
    communities = list(warehouse.dataset("communities")["community_id"])
    ensure_user(home, "asked_leader", "leader")
    ensure_user(home, "asked_community", "community", f"community:{communities[0]}")
    leader = DashClient(app, name="asked_leader", role="leader")
    secretary = DashClient(app, name="asked_community", role="community")
    run_page(secretary, app, "grid", {"period": "this_year"})  # first, so the least recent of all
    for community in communities[1:4]:
        run_page(leader, app, "grid", {"community": community})

    shutil.rmtree(kept.folder(warehouse.info.run_id))
    kept._stores.clear()
    warehouse._cache.clear()
    monkeypatch.setattr(board_module, "ASKED_MAX", 2)
    warm_views([REGISTERED["grid"]], [principal(home, "asked_leader"), principal(home, "asked_community")])
    renders.clear()
    run_page(leader, app, "grid", {"community": communities[3]})  # the leader's latest: warmed
    run_page(secretary, app, "grid", {"period": "this_year"})  # the other way's turn: warmed though older
    assert renders == []
    run_page(leader, app, "grid", {"community": communities[2]})  # past the two turns
    assert renders == ["grid"]
