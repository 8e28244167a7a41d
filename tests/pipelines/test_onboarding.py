"""The README's onboarding example: another district's 12345 export (.xlsx) needs only a mapping and one setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import xlsxwriter

from warehouse.releases import current_release, open_release

EXAMPLE = Path("pipelines/sources/examples/hotline_12345_district_b.yaml").resolve()
HEADERS = ["工单号", "来电时间", "诉求类别", "标题", "诉求描述", "事发地点", "所属网格", "市民姓名", "联系电话"]


def _grid_id(home_root: Path) -> str:
    import duckdb

    rows = duckdb.sql(f"""SELECT unit_id FROM read_parquet('{home_root.as_posix()}/lake/grid_unit/day=*/*.parquet')
                          WHERE level = 'comprehensive' ORDER BY unit_id LIMIT 1""").fetchall()
    return rows[0][0]


def test_new_export_is_loaded_through_a_mapping_file_and_one_setting(fresh_home):
    env = {**os.environ, "COCKPIT_HOME": str(fresh_home.root), "COCKPIT_PII_SALT": "s"}
    cli = [sys.executable, "-m", "cockpit.cli", "pipeline", "run", "--json"]
    subprocess.run(cli, env=env, check=True, capture_output=True)
    grid = _grid_id(fresh_home.root)

    day_dir = fresh_home.landing / "hotline_12345_district_b" / "2026-09-28"
    day_dir.mkdir(parents=True)
    wb = xlsxwriter.Workbook(day_dir / "工单导出.xlsx")
    ws = wb.add_worksheet("工单明细")
    ws.write_row(0, 0, HEADERS)
    ws.write_row(
        1,
        0,
        [
            "QX-001",
            "2026/09/28 8:05",
            "噪音扰民",
            "夜间施工",
            "工地夜间施工，联系13800138000",
            "金鸡湖大道88号",
            grid,
            "王小明",
            "13800138000",
        ],
    )
    ws.write_row(
        2, 0, ["QX-002", "2026/09/28 14:30", "物业管理", "电梯", "电梯停运", "现代大道1号", grid, "陈红", "13900001111"]
    )
    ws.write_row(
        3, 0, ["QX-003", "2026/13/01 9:00", "物业管理", "日期错", "x", "现代大道1号", grid, "陈红", "13900001111"]
    )
    wb.close()

    result = subprocess.run(cli, env={**env, "COCKPIT_EXTRA_MAPPINGS": str(EXAMPLE)}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["release_path"] == str(current_release(fresh_home))
    district = summary["sources"]["hotline_12345_district_b"]
    assert (district["rows_loaded"], district["quarantined_by_reason"]) == (2, {"invalid_datetime": 1})

    con = open_release(current_release(fresh_home))
    rows = con.execute("""SELECT ticket_id, channel, category, received_at, content FROM fct_ticket
                          WHERE source_ticket_id LIKE 'QX-%' ORDER BY ticket_id""").fetchall()
    con.close()
    assert rows == [
        ("hotline_12345:QX-001", "hotline_12345", "noise", datetime(2026, 9, 28, 8, 5), "工地夜间施工，联系***"),
        ("hotline_12345:QX-002", "hotline_12345", "property", datetime(2026, 9, 28, 14, 30), "电梯停运"),
    ]


def test_a_missing_mapping_file_fails_with_one_line(fresh_home):
    env = {**os.environ, "COCKPIT_HOME": str(fresh_home.root), "COCKPIT_EXTRA_MAPPINGS": "no/such/mapping.yaml"}
    result = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "pipeline", "run"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: extra mapping file(s) not found: {Path('no/such/mapping.yaml').resolve()}"
    ]
