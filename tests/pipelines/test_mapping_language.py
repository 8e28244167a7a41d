"""The mapping language: what a mapping file alone can say, and the one-line errors when it says it wrong."""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.contracts import load_contracts
from pipelines.mapping import MappingError, load_mapping, load_mappings
from pipelines.readers import FileRejected, read_file
from pipelines.run import run_pipeline
from pipelines.validate import validate_batch
from warehouse.paths import Home

CONTRACTS = load_contracts()
DAY = date(2026, 11, 19)


def _mapping(tmp_path: Path, text: str, name: str = "m.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_mapping(path)


def _validate(spec, rows: list[dict], **kwargs):
    columns = sorted({c for r in rows for c in r})
    table = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns}
    table["_line"] = pa.array(range(2, len(rows) + 2), pa.int64())
    table["_file"] = pa.array(["f.csv"] * len(rows), pa.string())
    table["_day"] = pa.array([DAY] * len(rows), pa.date32())
    return validate_batch(
        duckdb.connect(),
        pa.table(table),
        spec,
        CONTRACTS[spec.table],
        source="s",
        salt="pepper",
        references={},
        loaded_at=datetime(2026, 11, 20, 2, 30),
        **kwargs,
    )


TICKETS = """
    source: board
    files:
      - table: ticket_intake
        format: csv
        fields:
          source_ticket_id: 编号
          received_at: 时间
          title: 主题
          content: 主题
        constants: {channel: hotline_12345, category: noise}
    """


# ---------------------------------------------------------------- errors in the mapping itself


def test_a_repeated_yaml_key_is_an_error_naming_both_lines(tmp_path):
    with pytest.raises(MappingError) as err:
        _mapping(
            tmp_path,
            """
            source: s
            files:
              - table: ticket_intake
                format: csv
                columns:
                  编号: source_ticket_id
                  时间: received_at
                  编号: title
            """,
        )
    assert str(err.value) == "m.yaml: key '编号' on line 9 repeats the key on line 7"


def test_an_unknown_key_is_a_typo_not_an_option(tmp_path):
    with pytest.raises(MappingError, match=r"m.yaml: files\[0\].datetime_format: unknown key \(a typo\?\)"):
        _mapping(tmp_path, TICKETS.replace("        fields:", "        datetime_format: {}\n        fields:"))


def test_a_field_given_twice_is_an_error(tmp_path):
    with pytest.raises(MappingError, match="field 'title' is given twice"):
        _mapping(tmp_path, TICKETS.replace("constants: {", "constants: {title: x, "))


# ---------------------------------------------------------------- field expressions


def test_one_column_feeds_two_fields_and_text_is_trimmed(tmp_path):
    spec = _mapping(tmp_path, TICKETS).files[0]
    row = {"编号": "7", "时间": "2026-11-19 08:00:00", "主题": "\n\t\u3000 楼道堆物 \u3000\n"}
    clean = _validate(spec, [row]).clean.to_pylist()[0]
    assert (clean["title"], clean["content"]) == ("楼道堆物", "楼道堆物")


def test_a_template_builds_a_value_from_several_columns_and_is_null_when_a_part_is_missing(tmp_path):
    spec = _mapping(
        tmp_path,
        """
        source: station
        files:
          - table: sensor_reading
            format: csv
            fields:
              device_id: {template: "{站点}-{编号}"}
              measured_at: {template: "{year}-{month:02}-{day:02} {hour:02}:00:00"}
              value: PM2.5
            constants: {metric: ph}
        """,
    ).files[0]
    rows = [
        {"站点": "A", "编号": "1", "year": "2013", "month": "3", "day": "1", "hour": "7", "PM2.5": "7.5"},
        {"站点": "A", "编号": "1", "year": "2013", "month": "3", "day": None, "hour": "8", "PM2.5": "8"},
    ]
    result = _validate(spec, rows)
    assert result.clean.select(["device_id", "measured_at"]).to_pylist() == [
        {"device_id": "A-1", "measured_at": datetime(2013, 3, 1, 7)}
    ]
    assert result.quarantine.to_pylist()[0]["reason"] == "missing_required"


def test_when_emits_only_filled_rows_and_null_values_are_empty(tmp_path):
    spec = _mapping(
        tmp_path,
        """
        source: station
        files:
          - table: sensor_reading
            format: csv
            null_values: [NA, "-"]
            fields: {device_id: 站, measured_at: 时间, value: SO2}
            constants: {metric: ph}
            when: {column: SO2}
        """,
    ).files[0]
    rows = [
        {"站": "A", "时间": "2026-11-19 01:00:00", "SO2": "7"},
        {"站": "A", "时间": "2026-11-19 02:00:00", "SO2": "NA"},
        {"站": "A", "时间": "2026-11-19 03:00:00", "SO2": "-"},
        {"站": "A", "时间": "2026-11-19 04:00:00", "SO2": " "},
    ]
    result = _validate(spec, rows)
    assert result.clean.column("value").to_pylist() == [7.0]
    assert (result.quarantine.num_rows, result.filtered) == (0, {"f.csv": 3})


def test_when_can_require_a_value(tmp_path):
    spec = _mapping(
        tmp_path,
        TICKETS.replace("        fields:", "        when: {column: 状态, in: [已办结, 已回复]}\n        fields:"),
    ).files[0]
    rows = [
        {"编号": "1", "时间": "2026-11-19 08:00", "主题": "a", "状态": "已办结"},
        {"编号": "2", "时间": "2026-11-19 08:00", "主题": "b", "状态": "处理中"},
        {"编号": "3", "时间": "2026-11-19 08:00", "主题": "c", "状态": "已回复"},
    ]
    result = _validate(spec, rows)
    assert result.clean.column("source_ticket_id").to_pylist() == ["1", "3"]
    assert result.filtered == {"f.csv": 1}


def test_repeat_makes_one_entry_per_item(tmp_path):
    mapping = _mapping(
        tmp_path,
        """
        source: station
        files:
          - table: sensor_reading
            format: csv
            repeat: [{column: SO2, metric: ph}, {column: NO2, metric: turbidity_ntu}]
            fields: {device_id: 站, measured_at: 时间, value: "${column}"}
            constants: {metric: "${metric}"}
            when: {column: "${column}"}
        """,
    )
    assert [(s.sources["value"].value, s.constants["metric"], s.when.column, s.part) for s in mapping.files] == [
        ("SO2", "ph", "SO2", ""),
        ("NO2", "turbidity_ntu", "NO2", ".1"),
    ]


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-27T02:08:51.000", datetime(2024, 5, 27, 2, 8, 51)),
        ("2024-05-27T02:08:51.250", datetime(2024, 5, 27, 2, 8, 51, 250000)),
        ("2024-05-27T02:08:51Z", datetime(2024, 5, 27, 10, 8, 51)),  # UTC → Shanghai
        ("2024-05-27 02:08:51-04:00", datetime(2024, 5, 27, 14, 8, 51)),
        ("2019/2/8 1:25:05", datetime(2019, 2, 8, 1, 25, 5)),
        ("2019年2月8日 13:05", datetime(2019, 2, 8, 13, 5)),
        ("43525.5", datetime(2019, 3, 1, 12, 0)),  # an Excel serial day number: 2019-03-01 noon
        ("20190208130500", datetime(2019, 2, 8, 13, 5)),
    ],
)
def test_datetimes_real_exports_write_are_read_by_default(tmp_path, text, expected):
    spec = _mapping(tmp_path, TICKETS).files[0]
    result = _validate(spec, [{"编号": "1", "时间": text, "主题": "x"}])
    assert result.clean.column("received_at").to_pylist() == [expected]


def _csv(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_day_first_and_month_first_dates_are_settled_per_file(tmp_path):
    spec = _mapping(tmp_path, TICKETS).files[0]
    us = read_file(
        _csv(tmp_path, "us.csv", ["编号,时间,主题", "1,03/04/2024 11:00:00 PM,a", "2,12/25/2024 1:00:00 AM,b"]), spec
    )
    uk = read_file(_csv(tmp_path, "uk.csv", ["编号,时间,主题", "1,03/04/2024 23:00,a", "2,25/12/2024 01:00,b"]), spec)
    assert _validate(spec, [dict(zip(["编号", "时间", "主题"], r, strict=False)) for r in _rows(us)]).clean.column(
        "received_at"
    ).to_pylist() == [datetime(2024, 3, 4, 23), datetime(2024, 12, 25, 1)]
    assert _validate(spec, [dict(zip(["编号", "时间", "主题"], r, strict=False)) for r in _rows(uk)]).clean.column(
        "received_at"
    ).to_pylist() == [datetime(2024, 4, 3, 23), datetime(2024, 12, 25, 1)]


def test_a_file_whose_dates_read_both_ways_is_refused_with_the_ambiguity(tmp_path):
    spec = _mapping(tmp_path, TICKETS).files[0]
    path = _csv(tmp_path, "both.csv", ["编号,时间,主题", "1,03/04/2024 10:00,a", "2,05/06/2024 10:00,b"])
    with pytest.raises(FileRejected) as err:
        read_file(path, spec)
    assert err.value.code == "ambiguous_date"
    assert "03/04/2024" in err.value.detail and "datetime_formats" in err.value.detail


def _rows(result) -> list[list]:
    return [[r["编号"], r["时间"], r["主题"]] for r in result.table.to_pylist()]


# ---------------------------------------------------------------- code lists


def test_a_code_list_default_catches_unmapped_values_and_counts_them(tmp_path):
    spec = _mapping(
        tmp_path,
        TICKETS.replace(
            "constants: {channel: hotline_12345, category: noise}",
            "constants: {channel: hotline_12345}\n"
            "        codes: {category: {values: {噪音: noise}, default: neighbourhood}}",
        ).replace("          title: 主题", "          title: 主题\n          category: 类别"),
    ).files[0]
    rows = [
        {"编号": "1", "时间": "2026-11-19 08:00", "主题": "a", "类别": "噪音"},
        {"编号": "2", "时间": "2026-11-19 08:00", "主题": "b", "类别": "养狗"},
        {"编号": "3", "时间": "2026-11-19 08:00", "主题": "c", "类别": "养狗"},
        {"编号": "4", "时间": "2026-11-19 08:00", "主题": "d", "类别": "parking"},  # a code already
    ]
    result = _validate(spec, rows)
    assert result.clean.column("category").to_pylist() == ["noise", "neighbourhood", "neighbourhood", "parking"]
    assert result.unmapped == [("category", "养狗", 2)]


def test_codes_a_mapping_adds_are_accepted_and_reach_the_code_table(tmp_path):
    mapping = _mapping(
        tmp_path,
        """
        source: board
        code_lists:
          channel:
            - {code: message_board, name_zh: 网上留言, name_en: Message board}
        files:
          - table: ticket_intake
            format: csv
            fields: {source_ticket_id: 编号, received_at: 时间}
            constants: {channel: message_board, category: noise}
        """,
    )
    assert mapping.code_rows["channel"][0]["name_zh"] == "网上留言"
    rows = [{"编号": "1", "时间": "2026-11-19 08:00"}]
    assert _validate(mapping.files[0], rows).quarantine.column("reason").to_pylist() == ["unknown_code"]
    clean = _validate(mapping.files[0], rows, code_rows=mapping.code_rows).clean
    assert clean.column("channel").to_pylist() == ["message_board"]


def test_a_code_row_with_a_column_the_table_lacks_is_an_error(tmp_path):
    with pytest.raises(MappingError, match=r"code_lists.channel\[0\]: unknown column\(s\) colour"):
        _mapping(
            tmp_path,
            """
            source: board
            code_lists:
              channel: [{code: x, name_zh: 叉, colour: red}]
            """,
        )


# ---------------------------------------------------------------- optional fields and bounds


def test_coordinates_outside_the_configured_area_are_dropped_not_the_row(tmp_path):
    spec = _mapping(
        tmp_path,
        TICKETS.replace("          title: 主题", "          title: 主题\n          lon: 经度\n          lat: 纬度"),
    ).files[0]
    rows = [
        {"编号": "1", "时间": "2026-11-19 08:00", "主题": "a", "经度": "116.4", "纬度": "39.9"},
        {"编号": "2", "时间": "2026-11-19 08:00", "主题": "b", "经度": "abc", "纬度": "39.9"},
    ]
    beijing = (115.4, 39.4, 117.5, 41.1)
    suzhou = (119.0, 30.0, 122.0, 33.0)
    here = _validate(spec, rows, area=beijing)
    assert here.clean.select(["lon", "lat", "_flags"]).to_pylist() == [
        {"lon": 116.4, "lat": 39.9, "_flags": None},
        {"lon": None, "lat": 39.9, "_flags": "lon:invalid_number"},
    ]
    elsewhere = _validate(spec, rows, area=suzhou)
    assert elsewhere.quarantine.num_rows == 0
    assert elsewhere.clean.column("_flags").to_pylist() == [
        "lon:out_of_range;lat:out_of_range",
        "lon:invalid_number;lat:out_of_range",
    ]
    assert elsewhere.flags == [("lat", "out_of_range", 2), ("lon", "invalid_number", 1), ("lon", "out_of_range", 1)]


# ---------------------------------------------------------------- no silent loss


def test_two_entries_feeding_one_table_keep_every_row(tmp_path):
    """Two kinds of file of one source, both tickets: the lake keeps both, and the run says so."""
    mapping = tmp_path / "two.yaml"
    mapping.write_text(
        textwrap.dedent(
            """
            source: two_exports
            files:
              - table: ticket_intake
                pattern: "a_*.csv"
                format: csv
                fields: {source_ticket_id: 编号, received_at: 时间}
                constants: {channel: hotline_12345, category: noise}
              - table: ticket_intake
                pattern: "b_*.csv"
                format: csv
                fields: {source_ticket_id: 编号, received_at: 时间}
                constants: {channel: forum, category: parking}
            """
        ),
        encoding="utf-8",
    )
    home = Home(tmp_path / "home").ensure()
    folder = home.landing / "two_exports" / DAY.isoformat()
    folder.mkdir(parents=True)
    _csv(folder, "a_1.csv", ["编号,时间", *[f"A{i},2026-11-19 08:00" for i in range(30)]])
    _csv(folder, "b_1.csv", ["编号,时间", *[f"B{i},2026-11-19 09:00" for i in range(20)], "B0,2026-11-19 09:00"])
    summary = run_pipeline(home, salt="s", extra_mappings=(mapping,))
    stats = summary.to_dict()["sources"]["two_exports"]
    assert (stats["rows_read"], stats["rows_loaded"], stats["rows_quarantined"]) == (51, 50, 1)
    files = sorted((home.lake / "ticket_intake" / f"day={DAY.isoformat()}").glob("two_exports*.parquet"))
    assert [f.name for f in files] == ["two_exports.1.parquet", "two_exports.parquet"]
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 50
    quarantine = pq.read_table(home.quarantine / f"day={DAY.isoformat()}" / "two_exports.parquet").to_pylist()
    assert [(q["file"].split("/")[-1], q["line"], q["reason"]) for q in quarantine] == [
        ("b_1.csv", 22, "duplicate_key")
    ]


def test_rows_dated_after_their_delivery_day_load_and_the_run_says_so(tmp_path):
    mapping = tmp_path / "late.yaml"
    mapping.write_text(
        TICKETS.replace("format: csv", 'pattern: "*.csv"\n        format: csv'),
        encoding="utf-8",
    )
    home = Home(tmp_path / "home").ensure()
    folder = home.landing / "board" / DAY.isoformat()
    folder.mkdir(parents=True)
    _csv(folder, "x.csv", ["编号,时间,主题", "1,2026-11-19 08:00,a", "2,2026-11-21 08:00,b", "3,2026-11-20 00:00,c"])
    summary = run_pipeline(home, salt="s", extra_mappings=(mapping,))
    assert summary.to_dict()["sources"]["board"]["rows_loaded"] == 3
    assert "board: 2 ticket_intake row(s) dated after the landing day that delivered them (loaded all the same)" in (
        summary.warnings
    )


def test_a_code_that_is_no_code_is_an_error_in_the_mapping_not_a_quarantine(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        textwrap.dedent(
            """
            source: board
            files:
              - table: ticket_intake
                format: csv
                fields: {source_ticket_id: 编号, received_at: 时间, category: 类别}
                codes: {category: {values: {噪音: nosie}, default: neighbourhod}}
                constants: {channel: hotline_12345}
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(MappingError) as err:
        load_mappings((path,))
    assert str(err.value) == (
        "m.yaml files[0]: codes for category: 'neighbourhod', 'nosie' not in code table category "
        "(add it under code_lists:, or fix the spelling)"
    )


def test_two_entries_reading_the_same_files_into_one_table_without_when_is_an_error(tmp_path):
    entry = """
      - table: ticket_intake
        format: csv
        fields: {source_ticket_id: 编号, received_at: 时间}
        constants: {channel: hotline_12345, category: noise}"""
    with pytest.raises(MappingError, match=r"files\[0\] and files\[1\] both read '\*' into ticket_intake"):
        _mapping(tmp_path, "    source: board\n    files:" + entry + entry + "\n")


def test_schema_errors_name_the_key_as_written_and_yaml_errors_their_line(tmp_path):
    with pytest.raises(MappingError) as err:
        _mapping(tmp_path, TICKETS.replace("        fields:", "        when: {colum: 状态}\n        fields:"))
    assert str(err.value) == "m.yaml: files[0].when.colum: unknown key (a typo?)"
    with pytest.raises(MappingError) as err:
        _mapping(tmp_path, "source: s\nfiles:\n  - table: ticket_intake\n\tformat: csv\n")
    assert "(line 4, column 1)" in str(err.value)


def test_numbers_with_thousands_separators_and_dash_placeholders(tmp_path):
    spec = _mapping(
        tmp_path,
        """
        source: station
        files:
          - table: sensor_reading
            format: csv
            fields: {device_id: 站, measured_at: 时间, value: 读数}
            constants: {metric: turbidity_ntu}
            when: {column: 读数}
        """,
    ).files[0]
    rows = [
        {"站": "A", "时间": "2026-11-19 01:00", "读数": "1,200"},
        {"站": "A", "时间": "2026-11-19 02:00", "读数": "12,345.5"},
        {"站": "A", "时间": "2026-11-19 03:00", "读数": "—"},  # a placeholder, not a reading: a gap
        {"站": "A", "时间": "2026-11-19 04:00", "读数": "1,2"},  # not groups of three: not a number
    ]
    result = _validate(spec, rows)
    assert result.clean.column("value").to_pylist() == [1200.0, 12345.5]
    assert result.filtered == {"f.csv": 1}
    assert result.quarantine.column("reason").to_pylist() == ["invalid_number"]


def _landing(home: Home, source: str, day: str, name: str, lines: list[str]) -> Path:
    folder = home.landing / source / day
    folder.mkdir(parents=True, exist_ok=True)
    return _csv(folder, name, lines)


def test_a_corrected_mapping_reloads_the_days_it_loaded_and_a_missing_column_is_said(tmp_path):
    mapping = tmp_path / "board.yaml"
    wrong = TICKETS.replace("          title: 主题", "          title: 主题\n          address: 地点")
    mapping.write_text(wrong.replace("format: csv", 'pattern: "*.csv"\n        format: csv'), encoding="utf-8")
    home = Home(tmp_path / "home").ensure()
    _landing(home, "board", DAY.isoformat(), "x.csv", ["编号,时间,主题,地址", "1,2026-11-19 08:00,a,星港街1号"])
    first = run_pipeline(home, salt="s", extra_mappings=(mapping,))
    assert "board: x.csv: mapped column(s) 地点 not in the file, so ticket_intake loads them empty" in (
        " ".join(first.warnings)
    )
    mapping.write_text(mapping.read_text(encoding="utf-8").replace("address: 地点", "address: 地址"), encoding="utf-8")
    second = run_pipeline(home, salt="s", extra_mappings=(mapping,))
    assert second.status == "published" and second.to_dict()["sources"]["board"]["rows_loaded"] == 1
    lake = pq.read_table(home.lake / "ticket_intake" / f"day={DAY.isoformat()}" / "board.parquet")
    assert lake.column("address").to_pylist() == ["星港街1号"]


def test_landing_folders_no_run_reads_are_named(tmp_path):
    mapping = tmp_path / "board.yaml"
    mapping.write_text(TICKETS.replace("format: csv", 'pattern: "*.csv"\n        format: csv'), encoding="utf-8")
    home = Home(tmp_path / "home").ensure()
    _landing(home, "board", DAY.isoformat(), "x.csv", ["编号,时间,主题", "1,2026-11-19 08:00,a"])
    _landing(home, "board", "20261120", "x.csv", ["编号,时间,主题", "2,2026-11-20 08:00,b"])
    _landing(home, "bord", DAY.isoformat(), "x.csv", ["编号,时间,主题", "3,2026-11-19 08:00,c"])
    summary = run_pipeline(home, salt="s", extra_mappings=(mapping,))
    assert "landing/bord/ is not read: no mapping has source 'bord'" in summary.warnings
    assert "landing/board/20261120/ is not read: a day folder is named YYYY-MM-DD" in summary.warnings
