"""后台导出 from a page's record table, in headless Chromium: the job runs, the panel offers the file, it opens."""

from __future__ import annotations

import io

import openpyxl
from playwright.sync_api import expect


def test_a_background_export_from_the_record_table_ends_in_a_download(watched):
    page = watched.page
    page.goto(f"{watched.base_url}/dispatch?period=this_year")
    watched.settle()
    page.get_by_role("button", name="后台导出 Excel").click()
    link = page.get_by_role("link", name="下载导出文件")
    expect(link).to_be_visible(timeout=180_000)
    response = page.request.get(watched.base_url + link.get_attribute("href"))
    assert response.ok and "attachment" in response.headers["content-disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.body())).active.iter_rows(values_only=True))
    counted = next(row[1] for row in rows if row[0] == "明细记录")
    names_at = next(i for i, row in enumerate(rows) if all(v is None for v in row)) + 1  # after the blank row
    shown, total = (int(part) for part in counted.split(" / "))
    assert shown == total == len(rows) - names_at - 1 > 0
    assert watched.errors == []
