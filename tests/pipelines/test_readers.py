"""Readers: encodings, undecodable and malformed lines, xlsx cells, JSON lines, changed headers."""

import json
from datetime import datetime
from pathlib import Path

import pytest
import xlsxwriter

from pipelines.mapping import load_mapping
from pipelines.readers import FileRejected, detect_encoding, read_csv, read_file, read_jsonl, read_xlsx

HOTLINE = load_mapping(Path("pipelines/sources/hotline_12345.yaml")).files[0]
HEADER = "工单编号,受理时间,问题分类,诉求标题,诉求内容,事发地址,网格编码,来电人,来电号码\n"


def test_encoding_is_detected_from_bom_utf8_and_gb18030():
    assert detect_encoding("\ufeff编号".encode()) == "utf-8-sig"
    assert detect_encoding("编号,时间".encode()) == "utf-8"
    assert detect_encoding("噪音扰民,物业管理,道路设施,环境卫生".encode("gb18030")) == "gb18030"


def test_undecodable_line_costs_one_row_and_keeps_line_numbers(tmp_path):
    path = tmp_path / "a.csv"
    body = HEADER + "A1,2026-11-19 08:00:00,噪音扰民,t,c,a,G1,张三,13912345678\n"
    path.write_bytes(
        body.encode("gb18030")
        + b"\xff\xfe,broken\n"
        + "A2,2026-11-19 09:00:00,物业管理,t,c,a,G1,李四,13800001111\n".encode("gb18030")
    )
    result = read_csv(path, "gb18030")
    assert result.table.column("工单编号").to_pylist() == ["A1", "A2"]
    assert result.table.column("_line").to_pylist() == [2, 4]
    assert [(b.line, b.reason) for b in result.bad_lines] == [(3, "undecodable")]


def test_row_with_wrong_field_count_is_malformed_with_its_line(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n", encoding="utf-8")
    result = read_csv(path)
    assert result.table.column("_line").to_pylist() == [2, 4]
    assert [(b.line, b.reason, b.raw) for b in result.bad_lines] == [(3, "malformed", "4,5")]


def test_changed_header_rejects_the_whole_file(tmp_path):
    path = tmp_path / "12345_x.csv"
    path.write_bytes(
        HEADER.replace("受理时间", "来电时间").encode("gb18030")
        + "A1,2026-11-19 08:00:00,噪音扰民,t,c,a,G1,张三,1\n".encode("gb18030")
    )
    with pytest.raises(FileRejected) as exc:
        read_file(path, HOTLINE)
    assert exc.value.code == "unknown_header"
    assert "受理时间" in str(exc.value)


def test_xlsx_cells_become_text(tmp_path):
    path = tmp_path / "a.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("工单明细")
    ws.write_row(0, 0, ["id", "when", "n", "flag"])
    ws.write_row(1, 0, ["X1", "2026/11/20 8:05", 12, True])
    ws.write_datetime(2, 1, datetime(2026, 11, 20, 9, 30), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    ws.write(2, 0, "X2")
    ws.write(2, 2, 2.5)
    wb.close()
    rows = read_xlsx(path, "工单明细").table.to_pylist()
    assert rows[0] == {"id": "X1", "when": "2026/11/20 8:05", "n": "12", "flag": "true", "_line": 2}
    assert rows[1]["when"] == "2026-11-20 09:30:00" and rows[1]["n"] == "2.5" and rows[1]["_line"] == 3
    with pytest.raises(FileRejected, match="no sheet"):
        read_xlsx(path, "其他")


def test_jsonl_flattens_nested_objects_and_quarantines_bad_json(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [
        json.dumps({"id": "1", "location": {"lon": 120.7, "lat": 31.3}}, ensure_ascii=False),
        "{not json",
        "[1, 2]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_jsonl(path)
    assert result.table.to_pylist() == [{"id": "1", "location.lon": "120.7", "location.lat": "31.3", "_line": 1}]
    assert [(b.line, b.reason) for b in result.bad_lines] == [(2, "malformed"), (3, "malformed")]


def test_unreadable_xlsx_is_rejected_with_one_line(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_text("this is not a workbook")
    with pytest.raises(FileRejected) as exc:
        read_xlsx(path)
    assert exc.value.code == "unreadable_file" and "\n" not in str(exc.value)


def test_fast_and_careful_jsonl_paths_read_the_same_rows(tmp_path):
    records = [
        {"id": "1", "at": "2026-09-26T14:52:47", "reporter": {"name": "张三", "phone": "13900001111"}, "ok": True},
        {"id": "2", "at": "2026-09-26T15:00:00", "reporter": None, "ok": False, "score": 4.5},
    ]
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    dirty = tmp_path / "dirty.jsonl"  # a broken line forces the line-by-line path
    dirty.write_text(clean.read_text(encoding="utf-8") + "{broken\n", encoding="utf-8")
    fast, careful = read_jsonl(clean), read_jsonl(dirty)
    assert not fast.bad_lines and len(careful.bad_lines) == 1

    def rows(result):
        # Arrow reads ISO timestamps as timestamps and writes them back with a space; both parse the same.
        return [
            {k: v.replace("T", " ") if k == "at" else v for k, v in row.items() if v is not None}
            for row in result.table.to_pylist()
        ]

    assert rows(fast) == rows(careful)
    assert rows(fast)[1] == {"id": "2", "at": "2026-09-26 15:00:00", "ok": "false", "score": "4.5", "_line": 2}
