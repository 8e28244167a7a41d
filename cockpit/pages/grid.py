"""网格管理 · grid management: the grid hierarchy, events per grid, visit coverage, a map drilling to micro grids."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks
from cockpit.modules import MODULES

MODULE = MODULES["grid"]

BOARD = Board(
    id="grid",
    path="/grid",
    order=4,
    dimensions=("micro_grid", "category"),
    groups=(
        KpiGroup(MODULE.headline),
        KpiGroup(("micro_grids", "households", "residents", "households_visited")),
    ),
    charts=(
        *MODULE.charts,
        Chart("tree", ("residents",), title=("网格体系（按实有人口）", "Grid hierarchy (by residents)")),
        Chart("bar", ("grid_events_reported",), by="grid", top=20),
        Chart("bar", ("grid_self_resolution_rate",), by="grid", top=20),
        Chart("bar", ("visit_coverage",), by="community", top=20),
        Chart("bar", ("visits",), by="round"),
        Chart("trend", ("grid_events_reported", "visits"), title=("事件上报与走访", "Events and visits")),
        Chart("bar", ("grid_events_reported",), by="category"),
    ),
    record_kpi="grid_events_reported",
    map_kpis=("visit_coverage", "grid_events_reported", "grid_self_resolution_rate", "visits"),
)

dash.register_page(__name__, **page_options(BOARD))
register_callbacks(BOARD)
