"""A KPI whose sources stop before its period's end says so on its tile: 数据截至 10-31 / data through Oct 31."""

from __future__ import annotations

import json
from datetime import date

import pytest
from dash.development.base_component import Component

from cockpit.components.kpi import explanation_body, kpi_tile
from cockpit.components.wall import wall_tile
from cockpit.metrics import get_metric


def text_of(node) -> str:
    """All the text a component tree shows (its title and hover text left out)."""
    if isinstance(node, Component):
        return text_of(getattr(node, "children", None))
    if isinstance(node, list | tuple):
        return " ".join(text_of(each) for each in node)
    return "" if node is None else str(node)


def tiles(row: dict, lang: str) -> list[str]:
    metric = get_metric("volunteer_hours")
    return [text_of(kpi_tile(metric, row, lang=lang, loaded="2026-12-06 02:30")), text_of(wall_tile(metric, row, lang))]


ROW = {"value": 120.5, "change_mom": 0.1, "change_yoy": None, "status": "none"}


@pytest.mark.parametrize(("lang", "note"), [("zh", "数据截至 10-31"), ("en", "data through Oct 31")])
def test_a_cut_value_names_the_day_its_data_runs_to_on_page_and_wall(lang, note):
    for shown in tiles({**ROW, "through": date(2026, 10, 31), "status_reason": None}, lang):
        assert note in shown


def test_an_uncut_value_has_no_note():
    for row in (ROW, {**ROW, "through": None, "status_reason": None}):
        for shown in tiles(row, "zh"):
            assert "数据截至" not in shown


@pytest.mark.parametrize(
    ("reason", "zh", "en"),
    [
        ("partial", "本期数据不全，不作评判", "partial period: not rated"),
        ("no_complete_data", "本期尚无完整数据", "no complete data"),
    ],
)
def test_a_value_not_rated_says_why(reason, zh, en):
    row = {**ROW, "value": None, "through": date(2026, 11, 15), "status_reason": reason}
    for shown in tiles(row, "zh"):
        assert f"数据截至 11-15 · {zh}" in shown
    for shown in tiles(row, "en"):
        assert "data through Nov 15" in shown and en in shown


def test_the_party_page_tiles_name_the_day_the_monthly_ledger_runs_to(app):
    # The demo's party ledger is a monthly snapshot last delivered on 10-01; the release runs to 10-02.
    from tests.cockpit.dash_client import DashClient
    from tests.cockpit.test_pages import run_page

    answers = run_page(DashClient(app), app, "party")
    strip = json.dumps(answers["party-kpis-0"], ensure_ascii=False)
    assert "数据截至 10-01" in strip
    approvals = json.dumps(run_page(DashClient(app), app, "approvals")["approvals-kpis-0"], ensure_ascii=False)
    assert "数据截至" not in approvals


def test_the_bounds_of_a_prorated_target_say_they_are_per_half_year():
    popover = explanation_body(get_metric("visit_coverage"), loaded="", lang="zh")
    assert "每半年，按统计期天数折算" in text_of(popover)
