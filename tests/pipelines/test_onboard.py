"""`cockpit source check` (a dry run of a mapping) and `cockpit source draft` (a mapping from a sample)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import yaml
from click.testing import CliRunner

from cockpit.cli import main

EXAMPLES = Path("pipelines/sources/examples").resolve()


def _cli(tmp_path: Path, *args: str):
    env = {"COCKPIT_HOME": str(tmp_path / "home"), "COCKPIT_PII_SALT": "s", "COCKPIT_EXTRA_MAPPINGS": ""}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_check_reports_what_would_load_and_writes_nothing(tmp_path, realdata):
    export = realdata / "messages" / "messages_2019.xlsx"
    result = _cli(tmp_path, "source", "check", str(EXAMPLES / "message_board.yaml"), "--sample", str(export))
    assert result.exit_code == 0, result.output
    rows = openpyxl.load_workbook(export, read_only=True).active.max_row - 1
    assert f"rows read {rows:,} · would load {rows:,} · quarantine 0" in result.output
    assert (
        "first rows as the contract sees them" in result.output and "received_at=2019-02-28 11:25:05" in result.output
    )
    assert not (tmp_path / "home" / "lake").exists() or not any((tmp_path / "home" / "lake").rglob("*.parquet"))


def test_check_shows_each_quarantine_reason_with_examples_and_exits_1(tmp_path, realdata):
    projected = realdata / "boundaries" / "suzhou_districts_epsg4549.geojson"
    result = _cli(tmp_path, "source", "check", str(EXAMPLES / "district_boundaries.yaml"), "--sample", str(projected))
    assert result.exit_code == 1
    assert "quarantined out_of_area: 9" in result.output
    examples = [line for line in result.output.splitlines() if line.strip().startswith("e.g.")]
    assert len(examples) == 6  # three per entry, two entries
    assert all("declare the file's crs" in line for line in examples)


def test_check_lists_unmapped_values_of_a_code_list_with_a_default(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        """
source: district_x
files:
  - table: ticket_intake
    pattern: "*.csv"
    format: csv
    fields: {source_ticket_id: 编号, received_at: 时间, category: 类别}
    codes: {category: {seed: category.name_zh, default: neighbourhood}}
    constants: {channel: hotline_12345}
""",
        encoding="utf-8",
    )
    sample = tmp_path / "x.csv"
    sample.write_text("编号,时间,类别\n1,2026-11-19 08:00,噪音扰民\n2,2026-11-19 09:00,养狗\n3,2026-11-19 09:00,养狗\n")
    result = _cli(tmp_path, "source", "check", str(mapping), "--sample", str(sample))
    assert result.exit_code == 0, result.output
    assert "未映射 category → default: 养狗 (2)" in result.output


def test_a_broken_mapping_is_one_line(tmp_path):
    mapping = tmp_path / "bad.yaml"
    mapping.write_text("source: x\nfiles:\n  - table: nowhere\n    format: csv\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["source", "check", str(mapping)], env={"COCKPIT_HOME": str(tmp_path), "COCKPIT_EXTRA_MAPPINGS": ""}
    )
    assert result.exit_code == 1
    assert result.output.strip() == "error: bad.yaml files[0]: unknown table 'nowhere'"


def test_a_draft_from_the_message_board_guesses_the_table_and_fields_and_checks_once_finished(tmp_path, realdata):
    export = realdata / "messages" / "messages_2019.xlsx"
    draft = tmp_path / "draft.yaml"
    result = _cli(tmp_path, "source", "draft", str(export), "--source", "board", "--out", str(draft))
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(draft.read_text(encoding="utf-8"))
    (entry,) = doc["files"]
    assert (entry["table"], entry["format"]) == ("ticket_intake", "xlsx")
    assert entry["fields"] == {
        "source_ticket_id": "留言编号",
        "received_at": "留言时间",
        "title": "留言主题",
        "content": "留言详情",
        "caller_name": "留言用户",
    }
    assert entry["constants"] == {"channel": "TODO", "category": "TODO"}
    # the operator finishes the TODOs; the draft then loads every row
    entry["constants"] = {"channel": "forum", "category": "neighbourhood"}
    draft.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    checked = _cli(tmp_path, "source", "check", str(draft), "--sample", str(export))
    assert checked.exit_code == 0, checked.output


def test_a_draft_of_a_wide_station_file_builds_the_time_and_repeats_per_metric(tmp_path, realdata):
    export = realdata / "air_quality" / "changping_hourly.csv"
    result = _cli(tmp_path, "source", "draft", str(export))
    assert result.exit_code == 0, result.output
    (entry,) = yaml.safe_load(result.output)["files"]
    assert entry["table"] == "sensor_reading"
    assert entry["fields"]["measured_at"] == {"template": "{year}-{month:02}-{day:02} {hour:02}:00:00"}
    assert entry["null_values"] == ["NA"]
    columns = {item["column"]: item["metric"] for item in entry["repeat"]}
    assert columns["PM2.5"] == "pm25" and columns["SO2"] == "so2"
    assert "wd" not in columns  # wind direction is text, not a reading


def test_check_of_a_register_and_its_boundaries_knows_the_units_the_first_entry_brings(tmp_path, realdata):
    outlines = realdata / "boundaries" / "suzhou_districts.json"
    result = _cli(tmp_path, "source", "check", str(EXAMPLES / "district_boundaries.yaml"), "--sample", str(outlines))
    assert result.exit_code == 0, result.output
    assert result.output.count("rows read 9 · would load 9 · quarantine 0") == 2


def test_check_fails_a_mapped_column_the_file_lacks_and_a_field_empty_on_every_row(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        """
source: city_311
files:
  - table: ticket_intake
    pattern: "*.csv"
    format: csv
    fields: {source_ticket_id: Key, received_at: Created, lat: Lattitude, lon: Longitude}
    constants: {channel: hotline_12345, category: noise}
""",
        encoding="utf-8",
    )
    sample = tmp_path / "x.csv"
    sample.write_text("Key,Created,Latitude,Longitude\n1,2026-11-19 08:00,40.7,-73.9\n2,2026-11-19 09:00,40.8,-73.95\n")
    result = _cli(tmp_path, "source", "check", str(mapping), "--sample", str(sample))
    assert result.exit_code == 1
    assert "mapped column(s) not in the file: Lattitude (a typo?)" in result.output
    # New York is not in the default area (the demo street's): every longitude would be dropped
    assert "lon would be empty on every row: check the column, its unit, or COCKPIT_AREA" in result.output


def test_a_json_api_export_is_drafted_and_loads_from_its_records_path(tmp_path):
    export = tmp_path / "api.json"
    records = [
        {"id": "A1", "time": "2026-11-20T08:00:00+08:00", "type": "噪音扰民", "loc": {"lon": 120.7, "lat": 31.3}},
        {"id": "A2", "time": "2026-11-20T01:00:00Z", "type": "停车管理"},
        "not a record",
    ]
    export.write_text(json.dumps({"code": 0, "data": records}, ensure_ascii=False), encoding="utf-8")
    draft = tmp_path / "api.yaml"
    assert _cli(tmp_path, "source", "draft", str(export), "--out", str(draft)).exit_code == 0
    doc = yaml.safe_load(draft.read_text(encoding="utf-8"))
    (entry,) = doc["files"]
    assert (entry["format"], entry["records"]) == ("json", "data")
    assert entry["fields"] == {
        "source_ticket_id": "id",
        "received_at": "time",
        "category": "type",
        "lon": "loc.lon",
        "lat": "loc.lat",
    }
    entry["constants"] = {"channel": "wechat"}
    entry["codes"] = {"category": "seed:category.name_zh"}
    draft.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    checked = _cli(tmp_path, "source", "check", str(draft), "--sample", str(export))
    assert "rows read 3 · would load 2 · quarantine 1" in checked.output
    assert "quarantined malformed: 1" in checked.output
    assert "received_at=2026-11-20 09:00:00" in checked.output  # 01:00 UTC is 09:00 in Shanghai
