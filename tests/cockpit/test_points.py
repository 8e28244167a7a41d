"""本期要点: the overview's panel, the wall's rotating line and the brief's summary are the same sentences,
in Chinese and in English."""

from __future__ import annotations

import json
import re

import pytest
from pypdf import PdfReader

from cockpit.components.points import MODULE_ORDER, key_points
from cockpit.components.wall import points_line
from cockpit.data import current_warehouse
from cockpit.i18n import t
from cockpit.view import View
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_briefing import PERIOD, _cli
from tests.cockpit.test_pages import render

CJK = re.compile(r"[\u4e00-\u9fff]")


def flat(text: str) -> str:
    """Without white space, and the PDF's text layer reads the en dash of a day range as a figure dash."""
    return re.sub(r"\s+", "", text).replace("\u2012", "\u2013")


@pytest.fixture(scope="module")
def brief_pdf(loaded_demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("points") / "week.pdf"
    result = _cli(loaded_demo.home.root, "--period", str(PERIOD), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_the_briefs_summary_is_the_key_points_of_its_period(app, brief_pdf):
    points = key_points(current_warehouse(), PERIOD)
    assert len(points) >= len(MODULE_ORDER) + 1
    assert [point.split("：")[0] for point in points[: len(MODULE_ORDER)]] == [t(m, "zh") for m in MODULE_ORDER]
    assert points[len(MODULE_ORDER)].startswith("预测预警：")
    text = flat("".join(page.extract_text() for page in PdfReader(brief_pdf).pages))
    summary = text[text.index("总体情况") : text.index("截至期末，逾期未办结工单")]
    for point in points:
        assert flat(point) in summary, point


def test_the_overview_panel_says_the_key_points_of_its_view(app):
    client = DashClient(app)
    layout = render(app, "overview", {"period": str(PERIOD)})
    panels = {}
    for output, outputs, inputs in client.page_updates(layout, "overview"):
        panels.update(client.update(output, outputs, inputs))
    (panel,) = [props for name, props in panels.items() if "本期要点" in json.dumps(props, ensure_ascii=False)]
    shown = json.dumps(panel, ensure_ascii=False)
    for point in key_points(current_warehouse(), PERIOD):
        assert json.dumps(point, ensure_ascii=False) in shown, point


def test_english_key_points_speak_english_of_the_same_numbers(app):
    zh = key_points(current_warehouse(), PERIOD, lang="zh")
    en = key_points(current_warehouse(), PERIOD, lang="en")
    assert len(en) == len(zh)
    for module, point in zip(MODULE_ORDER, en, strict=False):
        assert point.startswith(f"{t(module, 'en')}: In the period: ") and not CJK.search(point), point
        assert point.endswith(".")
    # the same numbers: every figure of a module's Chinese sentence is in its English one
    for chinese, english in zip(zh[: len(MODULE_ORDER)], en[: len(MODULE_ORDER)], strict=True):
        for number in re.findall(r"\d[\d,]*(?:\.\d+)?", chinese):
            assert number in english, (number, english)


def test_the_wall_turns_the_same_sentences_one_at_a_time(app):
    warehouse = current_warehouse()
    period = View.from_query({}, warehouse.info.data_through).period
    line = points_line(warehouse, period, "zh")
    assert [div.children for div in line] == key_points(warehouse, period)
    assert [div.className for div in line] == ["wall-point shown"] + ["wall-point"] * (len(line) - 1)
