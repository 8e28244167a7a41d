"""One module, one headline: its page, its wall board, its brief section and the overview show the same KPIs and charts.

Each surface is read from its own declaration (the page's BOARD, the wall's BOARDS,
the brief's SECTIONS, the overview's rows) and compared with the others.
"""

from __future__ import annotations

import importlib

import pytest

from cockpit.briefing.content import SECTIONS
from cockpit.components.wall import BOARDS

PAGES = ("party", "approvals", "enforcement", "grid", "dispatch")


def _page(module: str):
    """A page module's BOARD (page modules register with the one Dash app: the `app` fixture makes it first)."""
    return importlib.import_module(f"cockpit.pages.{module}").BOARD


@pytest.mark.parametrize("module", PAGES)
def test_a_modules_page_wall_brief_and_overview_row_lead_with_the_same_kpis(app, module):
    wall = {board.id: board for board in BOARDS}[module]
    section = {section.module: section for section in SECTIONS}[module]
    overview = _page("overview")
    row = next(group for group in overview.groups if group.link == f"/{module}")
    page_first = _page(module).groups[0].kpis
    wall_tiles = wall.groups[0].kpis
    assert len(wall_tiles) == 6
    assert page_first[: len(wall_tiles)] == wall_tiles == section.kpis[: len(wall_tiles)] == row.kpis
    # no KPI twice on one page
    everything = [kpi for group in _page(module).groups for kpi in group.kpis]
    assert len(everything) == len(set(everything))


@pytest.mark.parametrize("module", PAGES)
def test_the_wall_boards_charts_lead_the_page_and_fill_the_brief(app, module):
    wall = {board.id: board for board in BOARDS}[module]
    page = _page(module)
    section = {section.module: section for section in SECTIONS}[module]
    assert page.charts[: len(wall.charts)] == wall.charts
    assert set(section.charts) <= set(wall.charts) and section.charts
    assert len(page.charts) == len(set(page.charts))


def test_the_closed_loop_funnel_is_one_funnel_on_page_and_wall(app):
    wall = {board.id: board for board in BOARDS}["dispatch"]
    page_funnels = [chart.kpis for chart in _page("dispatch").charts if chart.kind == "funnel"]
    wall_funnels = [chart.kpis for chart in wall.charts if chart.kind == "funnel"]
    assert page_funnels == wall_funnels and len(page_funnels[0]) >= 5
