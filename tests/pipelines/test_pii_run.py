"""A landing day with hostile personal data goes through the real CLI (`cockpit demo`, then `cockpit
pipeline run`), and none of its numbers or its caller's name is found anywhere the pipeline writes:
lake, quarantine, ledger or release. The files it writes are readable by their owner only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from warehouse.paths import Home
from warehouse.releases import current_release

DAY = "2026-09-27"
NAME = "谢晓峰"  # a caller's name; the precondition test checks the demo itself never uses it
# The hostile numbers, as digits only: whatever the separators they were written with, they must not
# survive as a digit sequence in any text the pipeline keeps.
NUMBERS = ["13812345678", "13912345678", "051267891234", "320502199001011234", "32050219900101123"]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COCKPIT_HOME": str(home), "COCKPIT_PII_SALT": "test-salt"}
    env.pop("COCKPIT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def _hostile_landing(landing: Path) -> None:
    hotline = landing / "hotline_12345" / DAY
    demo_file = next(hotline.glob("12345_*.csv"))
    header, first = list(csv.reader(io.StringIO(demo_file.read_bytes().decode("gb18030"))))[:2]
    row = dict(zip(header, first, strict=True))  # a real category and grid of the demo street

    def line(**values) -> list[str]:
        return [values.get(column, row[column]) for column in header]

    rows = [
        line(
            工单编号="13812345678",
            受理时间=f"{DAY} 10:00:00",
            诉求标题=f"{NAME} 13812345678 反映噪音",
            诉求内容="请回电138-1234-5678，或座机0512-6789 1234",
            事发地址="身份证320502 19900101 1234 业主家门口",
            来电人=NAME,
            来电号码="+86 138 1234 5678",
        ),
        # quarantined: a phone typed into the category, an ID number into the grid column
        line(工单编号="GDPII0002", 问题分类="139 1234 5678", 网格编码="320502199001011234", 来电人=NAME),
        line(工单编号="GDPII0003", 受理时间="", 网格编码="32050219900101123X", 诉求标题=f"{NAME}（13912345678）"),
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([header, *rows])
    # one line with a field too many, one with bytes that are no GB18030: both with name and number
    out.write(f"GDPII0004,{DAY} 11:00:00,噪音扰民,标题,内容,地址,,{NAME},13812345678,一般,一般群众,多余\n")
    body = out.getvalue().encode("gb18030")
    bad_bytes = b"\xff\xfe"  # no GB18030 character starts with 0xFF
    body += f"GDPII0005,{DAY} 12:00:00,噪音扰民,标题,".encode("gb18030") + bad_bytes
    body += f",地址,,{NAME},13812345678,一般,一般群众\n".encode("gb18030")
    (hotline / "12345_hostile.csv").write_bytes(body)

    def event(event_id: str, action: str) -> str:
        return json.dumps(
            {"eventId": event_id, "ticketNo": "13812345678", "channel": "12345热线", "action": action,
             "actionTime": f"{DAY}T10:05:00", "remark": f"已联系{NAME}，电话13812345678", "operator": "李波"},
            ensure_ascii=False,
        )  # fmt: skip

    events = landing / "ticket_events" / DAY / "dispatch_events_hostile.jsonl"
    events.write_text(event("EVPII-1", "受理") + "\n" + event("138-1234-5678-02", "派发") + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("pii-run") / "home"  # the CLI creates it
    demo = _cli(home, "demo", "--days", "2", "--start", "2026-09-26", "--scale", "0.05", "--seed", "11")
    assert demo.returncode == 0, demo.stderr
    landing_bytes = b"".join(p.read_bytes() for p in (home / "landing").rglob("*") if p.is_file())
    assert NAME.encode("utf-8") not in landing_bytes and NAME.encode("gb18030") not in landing_bytes
    _hostile_landing(home / "landing")
    run = _cli(home, "pipeline", "run", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "published"
    return home


def _written(home: Path) -> list[Path]:
    """Every file the pipeline wrote: all of the home but the landing files it was given."""
    return [p for p in home.rglob("*") if p.is_file() and "landing" not in p.relative_to(home).parts]


def _leaks(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> int:
    digits = f"regexp_replace(CAST(\"{column}\" AS VARCHAR), '[^0-9]', '', 'g')"
    found = " OR ".join([f"contains({digits}, '{n}')" for n in NUMBERS] + [f"contains(\"{column}\", '{NAME}')"])
    return con.execute(f"SELECT count(*) FROM {relation} WHERE {found}").fetchone()[0]


def test_the_hostile_rows_reached_the_lake_and_the_quarantine(hostile_home):
    con = duckdb.connect()
    quarantine = (hostile_home / "quarantine").as_posix()
    reasons = con.execute(
        f"SELECT list(DISTINCT reason ORDER BY reason) FROM read_parquet('{quarantine}/**/*.parquet') "
        "WHERE file LIKE '%12345_hostile.csv'"
    ).fetchone()[0]
    assert reasons == ["malformed", "missing_required", "undecodable", "unknown_code"]
    lake = (hostile_home / "lake" / "ticket_intake").as_posix()
    titles = con.execute(
        f"SELECT title FROM read_parquet('{lake}/**/*.parquet') WHERE title LIKE '%反映噪音'"
    ).fetchall()
    assert titles == [("谢* *** 反映噪音",)]


def test_no_hostile_number_or_name_in_any_parquet_the_run_wrote(hostile_home):
    parquet = [p for p in _written(hostile_home) if p.suffix == ".parquet"]
    assert {p.relative_to(hostile_home).parts[0] for p in parquet} >= {"lake", "quarantine", "warehouse"}
    con = duckdb.connect()
    for path in parquet:
        relation = f"read_parquet('{path.as_posix()}')"
        for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall():
            if kind == "VARCHAR":
                assert _leaks(con, relation, name) == 0, f"{path.relative_to(hostile_home)}: {name}"


def test_no_hostile_number_or_name_in_any_column_of_the_release(hostile_home):
    con = duckdb.connect(str(current_release(Home(hostile_home))), read_only=True)
    columns = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    ).fetchall()
    assert len(columns) > 100
    for table, column in columns:
        assert _leaks(con, f'"{table}"', column) == 0, f"{table}.{column}"


def test_no_hostile_number_or_name_in_the_bytes_of_any_written_file(hostile_home):
    needles = [n.encode() for n in NUMBERS] + [NAME.encode("utf-8"), NAME.encode("gb18030")]
    for path in _written(hostile_home):
        data = path.read_bytes()
        assert not [n for n in needles if n in data], path.relative_to(hostile_home)


def test_a_ticket_numbered_by_a_phone_still_has_its_events(hostile_home):
    con = duckdb.connect(str(current_release(Home(hostile_home))), read_only=True)
    ticket = con.execute("SELECT ticket_id FROM fct_ticket WHERE title = '谢* *** 反映噪音'").fetchall()
    assert len(ticket) == 1
    events = con.execute(
        "SELECT event_type, is_orphan FROM fct_ticket_event WHERE ticket_id = ? ORDER BY event_at, event_type",
        [ticket[0][0]],
    ).fetchall()
    assert sorted(events) == [("dispatched", False), ("received", False)]


def test_the_home_and_everything_written_in_it_are_owner_only(hostile_home):
    assert stat.S_IMODE(hostile_home.stat().st_mode) == 0o700
    # all but the two hostile files this test wrote itself, under its own umask
    paths = [hostile_home, *(p for p in hostile_home.rglob("*") if "hostile" not in p.name)]
    shared = [str(p.relative_to(hostile_home)) for p in paths if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert shared == []
    kinds = {p.relative_to(hostile_home).parts[0] + "/" + p.suffix for p in _written(hostile_home)}
    assert {"lake/.parquet", "quarantine/.parquet", "warehouse/.duckdb", "warehouse/.parquet"} <= kinds
    assert {stat.S_IMODE(p.stat().st_mode) for p in _written(hostile_home)} == {0o600}
