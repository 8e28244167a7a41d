"""Briefing PDFs, printed by the real Chromium and read back with pypdf."""

from __future__ import annotations

import calendar
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from cockpit.briefing import SECTIONS, BriefSpec
from cockpit.briefing.content import kpi_line, sentence
from cockpit.briefing.jobs import brief_path, job_state, list_briefs, start_job
from cockpit.components.format import format_value
from cockpit.data import current_warehouse
from cockpit.metrics import Period, compute, get_metric
from tests.conftest import DEMO_DAYS, DEMO_START

PERIOD = Period(DEMO_START, DEMO_START.fromordinal(DEMO_START.toordinal() + DEMO_DAYS - 1))


def _cli(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "COCKPIT_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "brief", *args], env=environ, capture_output=True, text=True, timeout=300
    )


def _text(reader: PdfReader) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


@pytest.fixture(scope="session")
def brief_pdf(loaded_demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("brief") / "week.pdf"
    result = _cli(loaded_demo.home.root, "--period", str(PERIOD), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    return out


def test_the_pdf_is_a4_with_a_cover_sections_and_page_numbers_on_every_page(brief_pdf):
    reader = PdfReader(brief_pdf)
    assert len(reader.pages) >= len(SECTIONS) + 3  # cover, summary, a page per module, overdue, appendix
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 in points
    for number, page in enumerate(reader.pages, start=1):
        text = re.sub(r"\s+", "", page.extract_text())
        assert f"第{number}页/共{len(reader.pages)}页" in text
        assert "内部资料" in text and "数据截至2026-10-02" in text
    cover = re.sub(r"\s+", "", reader.pages[0].extract_text())
    for label in ("金鸡湖街道", "统计期间", "数据截至", "生成时间", "演示数据"):
        assert label in cover
    text = _text(reader)
    headings = ("总体情况", "指挥调度", "网格管理", "审批服务", "综合执法", "党建引领")
    headings += ("逾期未办结工单", "附录：指标口径")
    assert all(heading in text for heading in headings)


def test_every_font_is_embedded_and_the_cjk_text_reads_back(brief_pdf):
    reader = PdfReader(brief_pdf)
    fonts = []
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            if font["/Subtype"] == "/Type3":  # glyphs drawn by procedures inside the PDF
                fonts.append(len(font["/CharProcs"]) > 0)
                continue
            descriptor = font.get("/FontDescriptor")
            if descriptor is None:
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            descriptor = descriptor.get_object()
            fonts.append(any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")))
    assert fonts and all(fonts)
    text = _text(reader)
    assert "金鸡湖街道" in text and "按期办结率" in text and "受理工单" in text and "页" in text
    # Noto CJK glyphs shared with radicals read back as the ideographs, not as ⾦ or ⻚.
    assert not [char for char in text if 0x2E80 <= ord(char) <= 0x2FDF]


def test_the_kpi_values_in_the_pdf_equal_the_catalog(brief_pdf, loaded_demo):
    text = _text(PdfReader(brief_pdf))
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        for section in SECTIONS:
            for kpi in section.kpis:
                metric = get_metric(kpi)
                value = compute(con, kpi, PERIOD)["value"].iloc[0]
                expected = re.sub(r"\s+", "", f"{metric.name_zh}{format_value(value, metric.unit)}")
                assert expected in text, f"{kpi}: {expected} not in the PDF"


def test_the_charts_in_the_pdf_read_chinese_dates_and_say_when_a_period_has_no_data(brief_pdf, loaded_demo):
    raw = "".join(page.extract_text() for page in PdfReader(brief_pdf).pages)
    # The dispatch trend's ticks: days as 9月28日, never Plotly's English "Sep 28" nor a bare "09-28".
    days = {(int(month), int(day)) for month, day in re.findall(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日", raw)}
    in_period = {(day.month, day.day) for day in (PERIOD.start + timedelta(days=n) for n in range(DEMO_DAYS))}
    assert days & in_period, raw[:2000]
    english = [name for name in calendar.month_abbr if name and re.search(rf"\b{name}\b", raw)]
    assert english == []
    # The party section's ranking of pledges delivered: none in the test week, so the chart says so.
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        delivered = compute(con, "pledges_delivered", PERIOD, group_by="community")
    assert delivered["value"].fillna(0).eq(0).all()
    assert "本期无数据" in _text(PdfReader(brief_pdf))


def test_a_community_brief_counts_only_that_community(loaded_demo, tmp_path):
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        community_id, name = con.execute("SELECT community_id, name FROM dim_community ORDER BY 1 LIMIT 1").fetchone()
        tickets = compute(con, "tickets_received", PERIOD, filters={"community": community_id})["value"].iloc[0]
        street = compute(con, "tickets_received", PERIOD)["value"].iloc[0]
    assert tickets != street
    out = tmp_path / "community.pdf"
    result = _cli(loaded_demo.home.root, "--period", str(PERIOD), "--community", name, "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = _text(PdfReader(out))
    assert f"金鸡湖街道{name}" in text
    assert f"受理工单{format_value(tickets, '件')}" in text


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--period", "2020-01-01:2020-01-31"), {}, "no data for 2020-01-01:2020-01-31"),
        (("--period", "fortnight"), {}, "cannot read period 'fortnight'"),
        (("--community", "no-such-place"), {}, "unknown community 'no-such-place'"),
        ((), {"COCKPIT_CHROMIUM": "/nonexistent/chromium"}, "COCKPIT_CHROMIUM names a missing file"),
    ],
)
def test_the_cli_fails_with_one_line_when_it_cannot_render(loaded_demo, tmp_path, args, env, message):
    out = tmp_path / "never.pdf"
    result = _cli(loaded_demo.home.root, *args, "--out", str(out), env=env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert not out.exists()


def test_no_chromium_on_path_is_a_one_line_error(loaded_demo, tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    result = _cli(loaded_demo.home.root, env={"PATH": str(bare), "COCKPIT_CHROMIUM": ""})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: no Chromium found: install the `chromium` package (apt-get install chromium fonts-noto-cjk)"
    )


def test_summary_sentences_speak_of_change_and_target(app):
    lines = [kpi_line(current_warehouse(), kpi, PERIOD, {}) for kpi in ("tickets_received", "on_time_rate")]
    text = sentence(lines, Period(PERIOD.start, PERIOD.end))
    value = format_value(lines[1].value, "%")
    assert text.startswith(f"统计期内受理工单{lines[0].value_text}")
    assert f"按期办结率{value}" in text
    assert ("达到目标95.0%" in text) == (lines[1].value >= 0.95)
    week = Period(PERIOD.start, PERIOD.start)
    assert sentence(lines[:1], week).startswith("当日")


def test_a_background_job_reports_progress_then_lists_the_brief(app, tmp_path):
    directory = tmp_path / "briefs"
    job = start_job(current_warehouse(), BriefSpec(PERIOD), directory, street="金鸡湖街道")
    states = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = job_state(directory, job)
        states.append((state["status"], state.get("done")))
        if state["status"] != "running":
            break
        time.sleep(0.2)
    assert state["status"] == "done", state
    assert any(status == "running" and done for status, done in states)  # progress moved before the end
    listed = list_briefs(directory)
    assert [brief.path.name for brief in listed] == [state["file"]]
    assert listed[0].title == "金鸡湖街道2026年9月26日—10月2日工作简报"
    assert brief_path(directory, state["file"]) == listed[0].path
    assert brief_path(directory, "../secret.pdf") is None and brief_path(directory, "brief_x.json") is None
    assert job_state(directory, "not-a-job") is None


def test_a_job_whose_worker_died_reads_as_failed_not_running_forever(tmp_path):
    from cockpit.briefing import jobs

    job = "0" * 32
    jobs._write_state(tmp_path, job, status="running", step="排队", done=0, total=jobs.TOTAL_STEPS)
    assert job_state(tmp_path, job)["status"] == "running"
    old = time.time() - jobs.STALLED_AFTER_S - 5
    os.utime(jobs._job_file(tmp_path, job), (old, old))
    state = job_state(tmp_path, job)
    assert state["status"] == "failed" and "start it again" in state["error"]
