"""Validation: every check ends in its reason, clean rows are typed, PII never passes through."""

import json
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipelines.contracts import load_contracts
from pipelines.mapping import MappingError, load_mapping
from pipelines.validate import validate_batch

CONTRACTS = load_contracts()
HOTLINE = load_mapping(Path("pipelines/sources/hotline_12345.yaml")).files[0]
DAY = date(2026, 11, 19)
PHONE_OR_ID = re.compile(r"1[3-9]\d{9}|\d{17}[\dXx]")


def _batch(rows: list[dict]) -> pa.Table:
    columns = list(HOTLINE.columns)
    table = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns}
    table["_line"] = pa.array(range(2, len(rows) + 2), pa.int64())
    table["_file"] = pa.array(["f.csv"] * len(rows), pa.string())
    table["_day"] = pa.array([DAY] * len(rows), pa.date32())
    return pa.table(table)


def _row(**overrides) -> dict:
    row = {
        "工单编号": "A1",
        "受理时间": "2026-11-19 08:05:00",
        "问题分类": "噪音扰民",
        "诉求标题": "楼上噪音",
        "诉求内容": "请回电13912345678，身份证320502199001011234",
        "事发地址": "星港街1号",
        "网格编码": "C01-G01",
        "来电人": "张三丰",
        "来电号码": "139-1234-5678",
    }
    row.update(overrides)
    return row


def _validate(rows, grid_first_day=DAY):
    refs = {
        ("grid_unit", "unit_id"): pa.table({"k": ["C01-G01"], "first_day": pa.array([grid_first_day], pa.date32())})
    }
    return validate_batch(
        duckdb.connect(),
        _batch(rows),
        HOTLINE,
        CONTRACTS["ticket_intake"],
        source="hotline_12345",
        salt="pepper",
        references=refs,
        loaded_at=datetime(2026, 11, 20, 2, 30),
    )


@pytest.mark.parametrize(
    ("override", "reason", "detail"),
    [
        ({"受理时间": None}, "missing_required", "received_at"),
        ({"受理时间": "2026-02-30 10:00:00"}, "invalid_datetime", "received_at=2026-02-30 10:00:00"),
        ({"受理时间": "2026-11-19 25:61:00"}, "invalid_datetime", "received_at=2026-11-19 25:61:00"),
        ({"问题分类": "外星人入侵"}, "unknown_code", "category=外星人入侵"),
    ],
)
def test_each_check_quarantines_with_its_reason(override, reason, detail):
    result = _validate([_row(), _row(工单编号="A2", **override)])
    assert result.clean.column("source_ticket_id").to_pylist() == ["A1"]
    q = result.quarantine.to_pylist()
    assert [(r["line"], r["reason"], r["detail"]) for r in q] == [(3, reason, detail)]


def test_reference_must_exist_on_or_before_the_landing_day():
    # The grid is optional on a ticket: a grid not (yet) in the register leaves the place unknown, the row loads.
    result = _validate([_row()], grid_first_day=date(2026, 11, 20))
    assert result.quarantine.num_rows == 0
    row = result.clean.to_pylist()[0]
    assert (row["grid_id"], row["_flags"]) == (None, "grid_id:unknown_reference")


def test_a_bad_optional_value_becomes_null_and_is_flagged_and_counted():
    result = _validate([_row(), _row(工单编号="A2", 网格编码="C99-G99"), _row(工单编号="A3", 网格编码="C98-G98")])
    assert result.quarantine.num_rows == 0
    assert result.clean.column("grid_id").to_pylist() == ["C01-G01", None, None]
    assert result.flags == [("grid_id", "unknown_reference", 2)]


def test_every_failure_of_a_row_is_listed():
    result = _validate([_row(受理时间="2026-02-30 10:00:00", 问题分类="外星人入侵")])
    (row,) = result.quarantine.to_pylist()
    assert row["reason"] == "invalid_datetime"
    assert row["detail"] == "invalid_datetime: received_at=2026-02-30 10:00:00; unknown_code: category=外星人入侵"


def test_repeated_key_in_one_file_is_a_duplicate():
    result = _validate([_row(), _row(诉求标题="again")])
    assert result.clean.num_rows == 1
    assert result.quarantine.column("reason").to_pylist() == ["duplicate_key"]


def test_a_duplicate_is_a_later_line_of_a_passing_key_in_the_same_file():
    """The first passing line of a key loads; later passing lines of it in that file are duplicates. A line that
    failed for its own reason keeps it and does not take the key, and another file may hold the same key."""
    rows = [
        _row(工单编号="B1", 受理时间="not a time"),  # line 2: fails on its own, does not claim B1
        _row(工单编号="B1", 诉求标题="first good"),  # line 3: loads
        _row(工单编号="B1", 诉求标题="again"),  # line 4: duplicate of line 3
        _row(工单编号="C1"),  # line 5: loads
        _row(工单编号="B1", 诉求标题="third"),  # line 6: duplicate of line 3
    ]
    batch = _batch(rows)
    other = _batch([_row(工单编号="B1", 诉求标题="other file")])
    other = other.set_column(other.column_names.index("_file"), "_file", pa.array(["g.csv"], pa.string()))
    result = validate_batch(
        duckdb.connect(),
        pa.concat_tables([batch, other]),
        HOTLINE,
        CONTRACTS["ticket_intake"],
        source="hotline_12345",
        salt="pepper",
        references={},
        loaded_at=datetime(2026, 11, 20, 2, 30),
    )
    quarantined = sorted(
        zip(result.quarantine["line"].to_pylist(), result.quarantine["reason"].to_pylist(), strict=True)
    )
    assert quarantined == [(2, "invalid_datetime"), (4, "duplicate_key"), (6, "duplicate_key")]
    loaded = sorted(zip(result.clean["_file"].to_pylist(), result.clean["_line"].to_pylist(), strict=True))
    assert loaded == [("f.csv", 3), ("f.csv", 5), ("g.csv", 2)]


def test_clean_rows_are_typed_translated_and_masked():
    clean = _validate([_row()]).clean.to_pylist()[0]
    assert clean["received_at"] == datetime(2026, 11, 19, 8, 5)
    assert clean["category"] == "noise" and clean["channel"] == "hotline_12345"
    assert clean["caller_name"] == "张**"
    assert clean["content"] == "请回电***，身份证***"
    assert re.fullmatch(r"[a-p]{16}", clean["caller_phone"])
    assert (clean["_source"], clean["_file"], clean["_line"]) == ("hotline_12345", "f.csv", 2)


def test_phone_hash_is_stable_across_formatting_and_salted():
    a = _validate([_row(来电号码="13912345678")]).clean.column("caller_phone")[0].as_py()
    b = _validate([_row(来电号码="139 1234 5678")]).clean.column("caller_phone")[0].as_py()
    assert a == b
    other_salt = validate_batch(
        duckdb.connect(),
        _batch([_row()]),
        HOTLINE,
        CONTRACTS["ticket_intake"],
        source="s",
        salt="salt2",
        references={},
        loaded_at=datetime(2026, 1, 1),
    )
    assert other_salt.clean.column("caller_phone")[0].as_py() != a


def test_quarantined_raw_rows_are_masked_too():
    result = _validate([_row(受理时间=None)])
    raw = json.loads(result.quarantine.column("raw")[0].as_py())
    assert raw["caller_name"] == "张**" and not PHONE_OR_ID.search(result.quarantine.column("raw")[0].as_py())


def test_mapping_naming_an_unknown_field_fails_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "source: x\nfiles:\n  - table: ticket_intake\n    format: csv\n    columns: {a: no_such_field}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match="bad.yaml.*no_such_field"):
        load_mapping(bad)
