"""Real exports no one here wrote load through a mapping file alone, exactly as pipelines/sources/README.md says.

Each export is copied into a fresh home's landing folder, the example mapping is
named in COCKPIT_EXTRA_MAPPINGS and `cockpit pipeline run` is run as a process.
Every expected number is computed here from the raw file (openpyxl, the csv
module, the file's own centroid property), never by the code under test.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pytest
from shapely.geometry import shape

from tests.fixtures.messages import message_rows, message_time
from warehouse.paths import Home
from warehouse.releases import current_release

EXAMPLES = Path("pipelines/sources/examples").resolve()
MESSAGE_DAY = "2020-02-01"  # the board's export, delivered after its last message
STATION_DAY = "2017-03-01"


def _load(home: Path, deliveries: dict[str, tuple[Path, str]], mappings: list[str], *extra: str):
    """Copy each export to landing/<source>/<day>/, run the pipeline CLI with the mappings; (exit code, summary)."""
    for source, (export, day) in deliveries.items():
        folder = home / "landing" / source / day
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(export, folder / export.name)
    env = {
        **os.environ,
        "COCKPIT_HOME": str(home),
        "COCKPIT_PII_SALT": "s",
        "COCKPIT_EXTRA_MAPPINGS": os.pathsep.join(str(EXAMPLES / f"{m}.yaml") for m in mappings),
    }
    result = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "pipeline", "run", "--json", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = json.loads(result.stdout) if result.stdout.strip() else None
    return result, summary


def _release(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(current_release(Home(home))), read_only=True)


@pytest.fixture(scope="module")
def real_home(tmp_path_factory, realdata):
    """One home holding the message board, its taxonomy and the air-quality station."""
    home = tmp_path_factory.mktemp("real")
    result, summary = _load(
        home,
        {
            "message_board": (realdata / "messages" / "messages_2019.xlsx", MESSAGE_DAY),
            "air_quality_station": (realdata / "air_quality" / "changping_hourly.csv", STATION_DAY),
        },
        ["message_board", "message_taxonomy", "air_quality_station"],
    )
    assert result.returncode == 0, result.stderr
    return home, summary


# ---------------------------------------------------------------- the message board


def test_every_message_loads_and_monthly_counts_match_the_raw_file(real_home, realdata):
    home, summary = real_home
    raw = message_rows(realdata)
    board = summary["sources"]["message_board"]
    assert (board["rows_read"], board["rows_loaded"], board["rows_quarantined"]) == (len(raw), len(raw), 0)
    expected = Counter(message_time(r["留言时间"]).strftime("%Y-%m") for r in raw)
    con = _release(home)
    got = dict(
        con.execute(
            "SELECT strftime(received_at, '%Y-%m'), count(*) FROM fct_ticket WHERE channel = 'message_board' GROUP BY 1"
        ).fetchall()
    )
    assert got == dict(expected)


def test_messages_without_a_place_count_under_the_unknown_place(real_home, realdata):
    home, _ = real_home
    con = _release(home)
    places = con.execute(
        """SELECT t.community_id, c.name, count(*) FROM fct_ticket AS t
           JOIN dim_community AS c USING (community_id) WHERE channel = 'message_board' GROUP BY ALL"""
    ).fetchall()
    assert places == [("unknown", "未定位", len(message_rows(realdata)))]
    from cockpit.metrics.catalog import compute
    from cockpit.metrics.period import Period

    year = compute(con, "tickets_received", Period(date(2019, 1, 1), date(2019, 12, 31)), compare=False)
    in_2019 = sum(1 for r in message_rows(realdata) if message_time(r["留言时间"]).year == 2019)
    duplicates = con.execute(
        "SELECT count(*) FROM fct_ticket WHERE channel = 'message_board' AND year(received_at) = 2019 "
        "AND duplicate_of IS NOT NULL"
    ).fetchone()[0]
    assert int(year["value"][0]) == in_2019 - duplicates
    by_community = compute(
        con, "tickets_received", Period(date(2019, 1, 1), date(2019, 12, 31)), group_by="community", compare=False
    )
    assert by_community.set_index("community")["label"].to_dict() == {"unknown": "未定位"}


def test_message_text_is_trimmed_of_ascii_and_full_width_space(real_home, realdata):
    home, _ = real_home
    first = message_rows(realdata)[0]
    assert first["留言详情"] != first["留言详情"].strip(" \n\t\u3000")  # the export really wraps it
    con = _release(home)
    content, title = con.execute(
        "SELECT content, title FROM fct_ticket WHERE source_ticket_id = $id", {"id": str(int(first["留言编号"]))}
    ).fetchone()
    assert content == first["留言详情"].strip(" \n\t\u3000\xa0")
    assert title == first["留言主题"].strip()
    assert con.execute(
        "SELECT count(*) FROM fct_ticket WHERE regexp_matches(content, '^[\\s\\x{3000}]|[\\s\\x{3000}]$')"
    ).fetchone() == (0,)


def test_a_taxonomy_loads_as_a_code_table_grouped_by_its_levels(real_home, realdata):
    home, _ = real_home
    sheet = openpyxl.load_workbook(realdata / "messages" / "category_taxonomy.xlsx", read_only=True).active
    rows = [r for r in list(sheet.iter_rows(values_only=True))[1:] if r[0]]
    con = _release(home)
    loaded = con.execute(
        "SELECT category, name_zh, group_1, group_2, sla_working_days FROM dim_category WHERE category LIKE '%/%/%'"
    ).fetchall()
    assert len(loaded) == len({tuple(r) for r in rows})
    assert {r[2] for r in loaded} == {r[0] for r in rows} and len({r[0] for r in rows}) == 15
    assert {(r[2], r[3]) for r in loaded} == {(r[0], r[1]) for r in rows}
    assert {r[1] for r in loaded} == {r[2] for r in rows}
    assert {r[4] for r in loaded} == {15}
    # the demo's own categories stay flat: each is its own group
    assert con.execute("SELECT group_1, group_2 FROM dim_category WHERE category = 'noise'").fetchone() == (
        "噪音扰民",
        "噪音扰民",
    )


def test_the_boards_tickets_read_by_name_in_both_languages(real_home, realdata):
    """Every coded value of the loaded board has a name in both languages; taxonomy codes read as its own words."""
    from tests.cockpit.test_labels import unnamed_codes

    home, _ = real_home
    sheet = openpyxl.load_workbook(realdata / "messages" / "category_taxonomy.xlsx", read_only=True).active
    leaves = {r[2] for r in list(sheet.iter_rows(values_only=True))[1:] if r[0]}
    con = _release(home)
    assert unnamed_codes(con) == []
    from cockpit import labels

    names = labels.names(con, "category", "zh")
    # the board's messages carry no category: they read 未分类; the taxonomy's codes read as its third level
    shown = {names[code] for (code,) in con.execute("SELECT DISTINCT category FROM fct_ticket").fetchall()}
    assert shown == {"未分类"}
    taxonomy = con.execute("SELECT category FROM dim_category WHERE category LIKE '%/%/%'").fetchall()
    assert {names[code] for (code,) in taxonomy} == leaves


# ---------------------------------------------------------------- the air-quality station

METRICS = {"PM2.5": "pm25", "SO2": "so2", "TEMP": "temp_c", "PRES": "pres_hpa", "WSPM": "wind_m_s"}


def _station(realdata: Path) -> list[dict]:
    with (realdata / "air_quality" / "changping_hourly.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_na_readings_are_missing_not_errors_and_every_reading_loads(real_home, realdata):
    home, summary = real_home
    rows = _station(realdata)
    station = summary["sources"]["air_quality_station"]
    assert station["rows_quarantined"] == 0
    # 11 metric columns of the same file: each row is read once per metric, and NA cells are left out
    missing = sum(
        r[c] == "NA"
        for r in rows
        for c in ["PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "WSPM"]
    )
    assert (station["rows_read"], station["rows_filtered"]) == (11 * len(rows), missing)
    assert station["rows_loaded"] == 11 * len(rows) - missing
    con = _release(home)
    for column, metric in METRICS.items():
        filled = [r for r in rows if r[column] != "NA"]
        loaded = con.execute(
            "SELECT count(*), min(value), max(value) FROM raw_sensor_reading WHERE metric = $m", {"m": metric}
        ).fetchone()
        values = [float(r[column]) for r in filled]
        assert loaded == (len(filled), min(values), max(values)), metric


def test_missing_hours_are_gaps_in_the_hourly_series(real_home, realdata):
    home, _ = real_home
    rows = _station(realdata)
    con = _release(home)
    for column, metric in METRICS.items():
        hours = sorted(
            datetime(int(r["year"]), int(r["month"]), int(r["day"]), int(r["hour"])) for r in rows if r[column] != "NA"
        )
        span = int((hours[-1] - hours[0]) / timedelta(hours=1)) + 1
        gaps = con.execute(
            "SELECT count(*) FILTER (WHERE is_gap), count(*) FROM fct_sensor_hourly WHERE metric = $m", {"m": metric}
        ).fetchone()
        assert gaps == (span - len(hours), span), metric


def test_metrics_a_mapping_adds_carry_their_own_unit_and_rules(real_home):
    home, _ = real_home
    con = _release(home)
    assert con.execute(
        "SELECT name_zh, unit, valid_min, valid_max, stuck_slots FROM dim_sensor_metric WHERE metric = 'pres_hpa'"
    ).fetchone() == ("气压", "hPa", 850.0, 1100.0, 12)


# ---------------------------------------------------------------- boundaries


def _centroids(path: Path) -> dict[str, tuple[float, float]]:
    """The lon/lat file's own `centroid` property: an oracle the code under test never reads."""
    return {str(f["properties"]["adcode"]): tuple(f["properties"]["centroid"]) for f in json.loads(path.read_text())}


@pytest.mark.parametrize(
    ("mapping", "export"),
    [
        ("district_boundaries", "suzhou_districts.json"),
        ("district_boundaries_projected", "suzhou_districts_epsg4549.geojson"),
    ],
)
def test_boundaries_load_in_lon_lat_whatever_system_they_come_in(tmp_path, realdata, mapping, export):
    result, summary = _load(tmp_path, {mapping: (realdata / "boundaries" / export, "2024-01-01")}, [mapping])
    assert result.returncode == 0, result.stderr
    assert summary["sources"][mapping]["rows_quarantined"] == 0
    con = _release(tmp_path)
    shapes = dict(con.execute("SELECT community_id, geometry FROM dim_community WHERE geometry IS NOT NULL").fetchall())
    expected = _centroids(realdata / "boundaries" / "suzhou_districts.json")
    assert set(shapes) == set(expected)
    for adcode, (lon, lat) in expected.items():
        centroid = shape(json.loads(shapes[adcode])).centroid
        assert abs(centroid.x - lon) < 0.01 and abs(centroid.y - lat) < 0.01, adcode


def test_a_projected_file_without_its_crs_is_quarantined_with_the_hint(tmp_path, realdata):
    # the lon/lat mapping (no crs:) over the projected file: metres are not degrees
    projected = tmp_path / "suzhou_districts.json"
    shutil.copy(realdata / "boundaries" / "suzhou_districts_epsg4549.geojson", projected)
    home = tmp_path / "home"
    result, summary = _load(home, {"district_boundaries": (projected, "2024-01-01")}, ["district_boundaries"])
    assert result.returncode == 3, result.stderr  # nothing usable: the run says so and publishes nothing
    reasons = summary["sources"]["district_boundaries"]["quarantined_by_reason"]
    assert reasons == {"out_of_area": 18}  # 9 features, read by both entries
    quarantine = duckdb.sql(
        f"SELECT DISTINCT detail FROM read_parquet('{(home / 'quarantine').as_posix()}/day=*/*.parquet')"
    ).fetchall()
    assert all("crs" in d for (d,) in quarantine)


# ---------------------------------------------------------------- hot topics of the message board


def test_a_months_top_30_topics_are_issues_not_stop_words_numbers_or_pieces_of_places(real_home, realdata):
    from cockpit.metrics.period import Period
    from cockpit.metrics.topics import hot_topics
    from tests.fixtures.topic_words import NOT_TOPICS, PLACES

    home, _ = real_home
    con = _release(home)
    month = Period(date(2019, 11, 1), date(2019, 11, 30))
    topics = hot_topics(con, month, limit=30)
    assert len(topics) == 30
    terms = [topic.term for topic in topics] + [alias for topic in topics for alias in topic.aliases]
    for term in terms:
        assert len(term) >= 2, term
        assert not re.search(r"[\dA-Za-z０-９]", term), term
        assert not re.fullmatch(r"[零一二三四五六七八九十百千万两几]+.?", term), term
        assert term not in NOT_TOPICS, term
        assert not any(term in place for place in PLACES), (term, [p for p in PLACES if term in p])
    # Counted against the raw file: the month's messages (less those the release merged as duplicates) are
    # the share's denominator, and a topic is in no more messages than contain one of its words.
    raw = [r for r in message_rows(realdata) if message_time(r["留言时间"]).strftime("%Y-%m") == "2019-11"]
    merged = con.execute(
        "SELECT count(*) FROM fct_ticket WHERE strftime(received_at, '%Y-%m') = '2019-11' AND duplicate_of IS NOT NULL"
    ).fetchone()[0]
    assert topics[0].tickets == len(raw) - merged
    texts = [f"{r['留言主题'] or ''} {r['留言详情'] or ''}" for r in raw]
    for topic in topics:
        words = (topic.term, *topic.aliases)
        assert 0 < topic.count <= sum(1 for text in texts if any(word in text for word in words)), topic
    assert [topic.count for topic in topics] == sorted((topic.count for topic in topics), reverse=True)


def test_messages_are_tagged_to_focus_groups_by_the_streets_words(real_home, realdata):
    """The board records no caller group: each message is tagged by the keyword rules, counted here on the raw
    file's subject and text (white space removed) with the rules file read as plain YAML."""
    import yaml

    home, _ = real_home
    rules = yaml.safe_load(Path("warehouse/vocabulary/focus_groups.yaml").read_text(encoding="utf-8"))
    expected = Counter()
    for row in message_rows(realdata):
        text = re.sub(r"\s+", "", f"{row['留言主题'] or ''}|{row['留言详情'] or ''}")
        for group, rule in rules.items():
            if any(w in text for w in rule["keywords"]) and not any(w in text for w in rule.get("unless") or ()):
                expected[group] += 1
    con = _release(home)
    got = dict(con.execute("SELECT focus_group, count(*) FROM fct_ticket_group GROUP BY 1").fetchall())
    assert got == dict(expected)
    assert sum(got.values()) > 100 and len(got) == 4  # every group is found in a year of a city's messages
    assert {row[0] for row in con.execute("SELECT DISTINCT tagged_by FROM fct_ticket_group").fetchall()} == {"keyword"}
    # a message about 低保 is a 困难群体 one, whatever else it says
    about = {row[0] for row in con.execute("SELECT ticket_id FROM fct_ticket WHERE content LIKE '%低保%'").fetchall()}
    hardship = {
        r[0] for r in con.execute("SELECT ticket_id FROM fct_ticket_group WHERE focus_group = 'hardship'").fetchall()
    }
    assert about and about <= hardship
