"""The nightly run end to end on a small generated street: publish, quarantine, idempotency, crash safety, PII."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import duckdb
import pyarrow.parquet as pq

from pipelines import run as run_module
from pipelines.run import EXIT_FAILED, EXIT_NOTHING_LOADED, run_pipeline
from tests.conftest import DEMO_DAYS, DEMO_START, SALT
from warehouse.digest import table_digests
from warehouse.releases import current_release, list_releases, open_release, verify_release

PHONE_OR_ID = r"1[3-9][0-9]{9}|[0-9]{17}[0-9Xx]"


def _mart_fingerprints(release) -> dict[str, tuple]:
    """Row count and an order-independent content hash of every dim_/fct_ table (warehouse/digest.py)."""
    con = open_release(release)
    try:
        return {name: digest for name, digest in table_digests(con).items() if name.startswith(("dim_", "fct_"))}
    finally:
        con.close()


def test_demo_street_loads_and_publishes(loaded_demo):
    summary = loaded_demo.summary
    assert (summary.status, summary.exit_code) == ("published", 0), summary.message
    assert summary.data_through == date.fromisoformat(loaded_demo.manifest["end"])
    verify_release(loaded_demo.release)
    con = open_release(loaded_demo.release)
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in (
            "fct_ticket",
            "fct_ticket_event",
            "fct_sensor_hourly",
            "fct_alarm",
            "fct_video_status",
            "fct_approval",
            "fct_inspection",
            "fct_visit",
            "dim_grid",
            "dim_party_org",
            "dim_partner_unit",
            "fct_pledge",
            "ops_run",
            "ops_source_load",
        )
    }
    assert all(n > 0 for n in counts.values()), counts
    meta = con.execute("SELECT is_demo, data_through FROM meta_release").fetchone()
    assert meta == (True, summary.data_through)
    con.close()


def test_read_rows_are_loaded_or_quarantined(loaded_demo):
    totals = loaded_demo.summary.totals()
    assert totals.rows_read == totals.rows_loaded + totals.rows_quarantined
    con = open_release(loaded_demo.release)
    quarantined = con.execute(
        "SELECT sum(rows_quarantined), sum(rows_loaded) FROM ops_source_load WHERE run_id = ?",
        [loaded_demo.summary.run_id],
    ).fetchone()
    assert quarantined == (totals.rows_quarantined, totals.rows_loaded)
    con.close()


def test_quarantine_rows_name_file_line_and_reason(loaded_demo):
    rows = duckdb.sql(f"""
        SELECT source, "table", file, line, reason, detail
        FROM read_parquet('{loaded_demo.home.quarantine.as_posix()}/day=*/*.parquet')""").fetchall()
    assert rows
    for source, _table, file, line, reason, detail in rows:
        assert file.startswith(f"{source}/"), file
        assert reason and detail
        if reason not in ("unknown_header", "unreadable_file", "unmapped_file"):
            assert line is not None and line >= 1


def test_changed_header_file_is_quarantined_whole_and_the_rest_loads(loaded_demo):
    q = duckdb.sql(f"""
        SELECT source, file, line, detail FROM read_parquet('{loaded_demo.home.quarantine.as_posix()}/day=*/*.parquet')
        WHERE reason = 'unknown_header'""").fetchall()
    assert q, "the demo injects one file with a changed header"
    source, file, line, detail = q[0]
    assert line is None and detail.startswith("missing column(s)")
    stats = {day: s for (src, day), s in loaded_demo.summary.stats.items() if src == source}
    assert any(s.files_rejected for s in stats.values())
    assert sum(s.rows_loaded for s in stats.values()) > 0, "other files of the same source still load"


def test_no_phone_or_id_number_anywhere_in_lake_or_marts(loaded_demo):
    home = loaded_demo.home
    for path in home.lake.rglob("*.parquet"):
        table = pq.read_table(path)
        con = duckdb.connect()
        con.register("t", table)
        for field in table.schema:
            if str(field.type) == "string":
                hits = con.execute(
                    f'SELECT count(*) FROM t WHERE regexp_matches("{field.name}", ?)', [PHONE_OR_ID]
                ).fetchone()[0]
                assert hits == 0, f"{path.relative_to(home.root)}:{field.name} holds a phone/ID pattern"
        con.close()
    con = open_release(loaded_demo.release)
    columns = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_name NOT LIKE 'lake\\_%' ESCAPE '\\'"
    ).fetchall()
    # sha256 hex digests of the lake's file listing and of the code: 64 hex digits hold a run of 11 digits
    # that reads as a phone number about once in a few hundred builds, and hold nothing about a person
    digests = {("meta_release", "lake_fingerprint"), ("meta_release", "build_signature")}
    for table, column in columns:
        if (table, column) in digests:
            continue
        hits = con.execute(
            f'SELECT count(*) FROM "{table}" WHERE regexp_matches("{column}", ?)', [PHONE_OR_ID]
        ).fetchone()[0]
        assert hits == 0, f"{table}.{column} holds a phone/ID pattern"
    con.close()


def test_raw_exports_did_contain_personal_data(demo_landing):
    """The scan above means something only if the exports carry phone numbers to mask."""
    raw = b"".join(p.read_bytes() for p in (demo_landing / "hotline_12345").rglob("*.csv"))
    assert re.search(rb"1[3-9]\d{9}", raw)


def test_rerunning_a_day_gives_identical_marts(fresh_home):
    first = run_pipeline(fresh_home, salt=SALT)
    assert first.status == "published"
    before = _mart_fingerprints(current_release(fresh_home))
    day = DEMO_START.replace(day=DEMO_START.day + 2)
    for _ in range(2):
        again = run_pipeline(fresh_home, salt=SALT, day=day)
        assert again.status == "published"
        assert {s for s, d in again.stats if d != day} == set(), "only the asked day is reloaded"
    assert _mart_fingerprints(current_release(fresh_home)) == before
    everything = run_pipeline(fresh_home, salt=SALT, rebuild_all=True)
    assert everything.status == "published"
    assert _mart_fingerprints(current_release(fresh_home)) == before


def test_rebuild_all_drops_partitions_of_landing_days_that_are_gone(fresh_home):
    run_pipeline(fresh_home, salt=SALT)
    gone = DEMO_START + timedelta(days=DEMO_DAYS - 1)
    assert list(fresh_home.lake.glob(f"*/day={gone.isoformat()}/hotline_12345.parquet"))
    shutil.rmtree(fresh_home.landing / "hotline_12345" / gone.isoformat())
    summary = run_pipeline(fresh_home, salt=SALT, rebuild_all=True)
    assert summary.status == "published"
    assert not list(fresh_home.lake.glob(f"*/day={gone.isoformat()}/hotline_12345.parquet"))
    assert list(fresh_home.lake.glob(f"*/day={gone.isoformat()}/city_mgmt.parquet")), "other sources keep the day"
    assert any("hotline_12345: dropped" in w for w in summary.warnings)


def test_second_run_with_nothing_new_keeps_the_release(fresh_home):
    run_pipeline(fresh_home, salt=SALT, build_memory="512MB")  # a small cap still builds (DuckDB spills)
    current = current_release(fresh_home)
    again = run_pipeline(fresh_home, salt=SALT)
    assert again.status == "up_to_date" and current_release(fresh_home) == current
    assert (again.release_path, again.data_through) == (str(current), date(2026, 10, 2))


def test_failed_checks_leave_the_previous_release_current(fresh_home, monkeypatch):
    assert run_pipeline(fresh_home, salt=SALT).status == "published"
    current = current_release(fresh_home)
    monkeypatch.setattr(run_module, "run_checks", lambda con, **_: ["fct_ticket.ticket_id: 3 duplicate values"])
    failed = run_pipeline(fresh_home, salt=SALT, rebuild_all=True)
    assert (failed.status, failed.exit_code) == ("failed", EXIT_FAILED)
    assert "fct_ticket.ticket_id" in failed.message and "\n" not in failed.message
    assert current_release(fresh_home) == current
    assert not list(fresh_home.releases.glob("*.building"))


def test_a_file_no_mapping_pattern_matches_is_quarantined_and_counted(fresh_home):
    stray = fresh_home.landing / "forum" / DEMO_START.isoformat() / "说明.docx"
    stray.write_bytes(b"not an export")
    summary = run_pipeline(fresh_home, salt=SALT)
    assert summary.status == "published"
    assert summary.reasons[("forum", DEMO_START, "", "unmapped_file")] == 1
    files = f"{fresh_home.quarantine.as_posix()}/day=*/forum.parquet"
    rows = duckdb.sql(f"""SELECT file, reason FROM read_parquet('{files}')
                          WHERE line IS NULL AND reason = 'unmapped_file'""").fetchall()
    assert rows == [(f"forum/{DEMO_START.isoformat()}/说明.docx", "unmapped_file")]


def test_nothing_usable_exits_with_its_own_code(tmp_path):
    from warehouse.paths import Home

    home = Home(tmp_path).ensure()
    day_dir = home.landing / "forum" / "2026-11-20"
    day_dir.mkdir(parents=True)
    (day_dir / "forum_posts.csv").write_text("完全不同的表头,另一个\n1,2\n", encoding="utf-8-sig")
    summary = run_pipeline(home, salt=SALT)
    assert (summary.status, summary.exit_code) == ("no_usable_data", EXIT_NOTHING_LOADED)
    assert current_release(home) is None


def test_killed_build_leaves_current_release_intact(fresh_home):
    assert run_pipeline(fresh_home, salt=SALT).status == "published"
    current = current_release(fresh_home)
    env = {**os.environ, "COCKPIT_HOME": str(fresh_home.root), "COCKPIT_PII_SALT": SALT}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cockpit.cli", "pipeline", "run", "--all", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    killed_mid_build = False
    while time.monotonic() < deadline and proc.poll() is None:
        if list(fresh_home.releases.glob("*.building")):
            time.sleep(0.05)  # let the build get under way
            proc.send_signal(signal.SIGKILL)
            killed_mid_build = True
            break
        time.sleep(0.005)
    proc.wait(timeout=30)
    assert killed_mid_build, "the run finished before the build could be interrupted"
    assert current_release(fresh_home) == current
    verify_release(current)
    con = open_release(current)
    assert con.execute("SELECT count(*) FROM fct_ticket").fetchone()[0] > 0
    con.close()
    after = run_pipeline(fresh_home, salt=SALT, rebuild_all=True)
    assert after.status == "published", after.message
    assert not list(fresh_home.releases.glob("*.building")), "leftovers of the killed build are cleaned up"
    assert len(list_releases(fresh_home)) == 2


def test_a_release_without_a_column_this_version_writes_is_rebuilt_and_its_kpis_then_compute(fresh_home):
    from cockpit.data import Warehouse
    from cockpit.view import View

    run_pipeline(fresh_home, salt=SALT)
    old = current_release(fresh_home)
    with duckdb.connect(str(old)) as con:  # as the version before the official 口径 built it
        con.execute("ALTER TABLE fct_ticket DROP COLUMN is_responded")
        con.execute("ALTER TABLE fct_ticket DROP COLUMN is_urged")
    summary = run_pipeline(fresh_home, salt=SALT)  # nothing new delivered
    assert summary.status == "published", summary.message
    assert any("fct_ticket (is_responded, is_urged)" in warning for warning in summary.warnings), summary.warnings
    assert current_release(fresh_home) != old
    warehouse = Warehouse(fresh_home)
    view = View.from_query({}, warehouse.info.data_through)
    assert len(warehouse.metric("response_rate", view.period, compare=False)) == 1
    assert run_pipeline(fresh_home, salt=SALT).status == "up_to_date"
