"""Release pointer: publish is atomic, rollback verifies the file, prune keeps the current release."""

import duckdb
import pytest

from warehouse.paths import Home
from warehouse.releases import (
    ReleaseError,
    current_release,
    list_releases,
    open_release,
    prune,
    publish,
    rollback,
)


def _release(home: Home, run_id: str):
    path = home.releases / f"{run_id}.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE meta_release AS SELECT ? AS run_id, TIMESTAMP '2026-11-02 02:00' AS built_at, "
        "TIMESTAMP '2026-11-02' AS as_of, DATE '2026-11-01' AS data_through, true AS is_demo",
        [run_id],
    )
    con.close()
    return path


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path).ensure()


def test_publish_switches_current_and_readers_open_read_only(home):
    first, second = _release(home, "20261101T020000-aaaa"), _release(home, "20261102T020000-bbbb")
    assert current_release(home) is None
    publish(home, first)
    publish(home, second)
    assert current_release(home) == second
    con = open_release(second)
    assert con.execute("SELECT run_id FROM meta_release").fetchone() == ("20261102T020000-bbbb",)
    with pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE x AS SELECT 1")
    con.close()
    assert not list(home.warehouse.glob(".CURRENT*")), "no temp pointer left behind"


def test_rollback_defaults_to_the_previous_release(home):
    ids = ["20261101T020000-aaaa", "20261102T020000-bbbb", "20261103T020000-cccc"]
    for run_id in ids:
        publish(home, _release(home, run_id))
    assert rollback(home).run_id == ids[1]
    assert current_release(home).name == f"{ids[1]}.duckdb"
    assert rollback(home, ids[2]).run_id == ids[2]
    with pytest.raises(ReleaseError, match="no release 'nope'"):
        rollback(home, "nope")


def test_rollback_refuses_a_corrupt_file_and_keeps_current(home):
    good = _release(home, "20261102T020000-bbbb")
    publish(home, good)
    (home.releases / "20261101T020000-aaaa.duckdb").write_bytes(b"not a database")
    with pytest.raises(ReleaseError, match="not a readable release"):
        rollback(home)
    assert current_release(home) == good


def test_prune_keeps_n_and_never_the_current_one(home):
    ids = [f"202611{d:02d}T020000-aaaa" for d in range(1, 6)]
    paths = [_release(home, i) for i in ids]
    publish(home, paths[0])  # an operator rolled back to the oldest
    (home.releases / "20261106T020000-dead.duckdb.building").write_bytes(b"half")
    prune(home, keep=2)
    kept = [r.run_id for r in list_releases(home)]
    assert kept == [ids[0], ids[3], ids[4]]
    assert not list(home.releases.glob("*.building"))
