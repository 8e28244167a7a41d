"""The audit trail: a hash chain that shows an edited, deleted or reordered entry, and retention that keeps it whole."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import timedelta

import pytest

from cockpit.access import audit
from cockpit.access.audit import Action, AuditError
from cockpit.access.state import open_state

from .conftest import T0


@pytest.fixture
def trail(home):
    """Five entries an hour apart, written through the app's connection; yields the database path."""
    conn = open_state(home.state_db)
    for i in range(5):
        audit.append(
            conn,
            f"user{i}",
            Action.EXPORT,
            target="records.xlsx",
            detail={"rows": i * 10, "kpi": "工单"},
            now=T0 + timedelta(hours=i),
        )
    conn.close()
    return home.state_db


def _tamper(path, *statements) -> None:
    """Edit the file as someone with shell access would: plain sqlite3, the append-only trigger dropped first."""
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_append_only")
    for sql in statements:
        con.execute(sql)
    con.commit()
    con.close()


def test_an_untouched_trail_verifies(trail):
    result = audit.verify(open_state(trail))
    assert (result.ok, result.checked, result.broken_seq) == (True, 5, None)


def test_each_hash_covers_the_entry_and_the_one_before(trail):
    rows = sqlite3.connect(trail).execute("SELECT * FROM audit ORDER BY seq").fetchall()
    assert rows[0][7] == "0" * 64
    for before, row in zip(rows, rows[1:], strict=False):
        assert row[7] == before[8]
    # sha256 of the JSON array of the fields in column order, prev_hash last: written out by hand here
    seq, at, actor, action, target, detail, outcome, prev, digest = rows[2]
    assert json.loads(detail) == {"rows": 20, "kpi": "工单"}
    by_hand = json.dumps([seq, at, actor, action, target, detail, outcome, prev], ensure_ascii=False)
    assert hashlib.sha256(by_hand.encode()).hexdigest() == digest


def test_the_app_connection_cannot_update_an_entry(trail):
    conn = open_state(trail)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'someone' WHERE seq = 2")


def test_an_edited_entry_is_found(trail):
    _tamper(trail, """UPDATE audit SET detail = '{"kpi":"工单","rows":5}' WHERE seq = 3""")
    result = audit.verify(open_state(trail))
    assert (result.ok, result.broken_seq) == (False, 3)
    assert "edited" in result.line() and "\n" not in result.line()


def test_an_edit_that_also_recomputes_its_own_hash_breaks_the_next_link(trail):
    conn = open_state(trail)
    row = dict(conn.execute("SELECT * FROM audit WHERE seq = 2").fetchone())
    forged = audit.entry_hash(
        2, row["at"], "nobody", row["action"], row["target"], row["detail"], row["outcome"], row["prev_hash"]
    )
    _tamper(trail, f"UPDATE audit SET actor = 'nobody', hash = '{forged}' WHERE seq = 2")
    assert audit.verify(open_state(trail)).broken_seq == 3


def test_a_deleted_entry_is_found(trail):
    _tamper(trail, "DELETE FROM audit WHERE seq = 2")
    result = audit.verify(open_state(trail))
    assert (result.ok, result.broken_seq) == (False, 2)
    assert "missing" in result.reason


def test_a_deleted_entry_with_the_rest_renumbered_is_found(trail):
    _tamper(trail, "DELETE FROM audit WHERE seq = 2", "UPDATE audit SET seq = seq - 1 WHERE seq > 2")
    assert audit.verify(open_state(trail)).broken_seq == 2


def test_reordered_entries_are_found(trail):
    _tamper(
        trail,
        "UPDATE audit SET seq = 100 WHERE seq = 2",
        "UPDATE audit SET seq = 2 WHERE seq = 4",
        "UPDATE audit SET seq = 4 WHERE seq = 100",
    )
    result = audit.verify(open_state(trail))
    assert (result.ok, result.broken_seq) == (False, 2)


def test_unknown_actions_are_refused(home):
    with pytest.raises(ValueError):
        audit.append(open_state(home.state_db), "x", "download_everything")


def test_entries_filter_by_actor_action_and_time(trail):
    conn = open_state(trail)
    audit.append(conn, "USER1", Action.LOGIN, now=T0 + timedelta(hours=6))
    assert [e.seq for e in audit.entries(conn, actor="user1")] == [6, 2]
    assert [e.seq for e in audit.entries(conn, action="login")] == [6]
    window = audit.entries(conn, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    assert [e.seq for e in window] == [3, 2]
    assert [e.seq for e in audit.entries(conn, limit=2)] == [6, 5]


def test_prune_removes_only_entries_older_than_the_retention_and_the_chain_still_verifies(home):
    conn = open_state(home.state_db)
    for days_ago in (400, 300, 181, 179, 10):
        audit.append(conn, "a", Action.EXPORT, detail={"days_ago": days_ago}, now=T0 - timedelta(days=days_ago))
    assert audit.prune(conn, older_than_days=180, actor="cli:test", now=T0) == 3
    left = [e.details.get("days_ago") for e in reversed(audit.entries(conn))]
    assert left == [179, 10, None]  # the prune records itself last
    pruning = audit.entries(conn, action=Action.AUDIT_PRUNE)[0]
    assert pruning.details["removed"] == 3 and pruning.seq == 6
    result = audit.verify(conn)
    assert (result.ok, result.checked) == (True, 3)

    # after a prune an edit is still found, and deleting the first kept entry too
    conn.close()
    _tamper(home.state_db, "DELETE FROM audit WHERE seq = 4")
    assert audit.verify(open_state(home.state_db)).broken_seq == 4


def test_prune_refuses_less_than_six_months_and_removes_nothing(trail):
    conn = open_state(trail)
    with pytest.raises(AuditError, match="180") as caught:
        audit.prune(conn, older_than_days=90, actor="cli:test", now=T0 + timedelta(days=1000))
    assert "\n" not in str(caught.value)
    assert len(audit.entries(conn)) == 5


def test_prune_with_nothing_old_enough_keeps_everything(trail):
    conn = open_state(trail)
    assert audit.prune(conn, older_than_days=180, actor="cli:test", now=T0 + timedelta(days=1)) == 0
    assert len(audit.entries(conn)) == 6 and audit.verify(conn).ok
