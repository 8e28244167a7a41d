"""综合执法 · enforcement: hazards by domain, open hazards by age, cases and penalties, repeat subjects."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks
from cockpit.modules import MODULES

MODULE = MODULES["enforcement"]

BOARD = Board(
    id="enforcement",
    path="/enforcement",
    order=3,
    dimensions=("domain",),
    groups=(
        KpiGroup(MODULE.headline),
        KpiGroup(("inspections", "hazards_rectified", "cases_closed", "avg_days_to_close")),
    ),
    charts=(
        *MODULE.charts,
        Chart("bar", ("hazard_rectification_rate",), by="domain"),
        Chart("trend", ("cases_opened", "cases_closed"), title=("立案与结案", "Cases opened and closed")),
        Chart("trend", ("penalties_yuan",), title=("罚没金额", "Penalties")),
        Chart("bar", ("cases_opened",), by="subject", title=("重复违法对象", "Repeat subjects"), top=12),
        Chart(
            "list",
            ("open_hazards",),
            title=("在改隐患（按隐患时长）", "Open hazards (oldest first)"),
            top=10,
            width=12,
            sort=(("open_days", "desc"),),
            columns=("hazard_id", "domain", "level", "community_id", "found_on", "due_on", "open_days"),
        ),
    ),
    record_kpi="hazards_found",
    map_kpis=("open_hazards", "hazards_found", "hazard_rectification_rate", "cases_opened"),
)

dash.register_page(__name__, **page_options(BOARD))
register_callbacks(BOARD)
