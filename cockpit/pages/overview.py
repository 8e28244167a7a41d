"""驾驶舱首页 · overview: a KPI strip per module, today's ticket flow, live alarms, the street map, 本期要点,
rankings, the hot and rising topics of the tickets' text, surge alarms."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks
from cockpit.i18n import t
from cockpit.modules import MODULES

BOARD = Board(
    id="overview",
    path="/",
    order=0,
    compact=True,
    groups=(
        KpiGroup(
            ("residents", "households", "communities", "open_overdue_tickets", "live_alarms", "live_high_alarms"),
            title=("街道概况", "The street now"),
        ),
        KpiGroup(
            ("tickets_received", "tickets_dispatched", "tickets_resolved", "tickets_closed"),
            title=("最新数据日工单流转", "Ticket flow, latest day loaded"),
            period="today",
            link="/dispatch?period=today",
        ),
        # Then each module's headline, in the order of the navigation (cockpit/modules.py).
        *(
            KpiGroup(module.headline, title=(t(module.id, "zh"), t(module.id, "en")), link=f"/{module.id}")
            for module in MODULES.values()
        ),
    ),
    # First screen: the map beside the live alarms and the most overdue tickets; the ranking, the trend and
    # the topics below.
    charts=(
        Chart("map", ("on_time_rate",), width=5, height=340),
        Chart(
            "list",
            ("live_alarms",),
            title=("实时告警", "Live alarms"),
            top=10,
            width=3,
            sort=(("raised_at", "desc"),),
            columns=("raised_at", "alarm_kind", "level", "community_id"),
        ),
        Chart(
            "list",
            ("open_overdue_tickets",),
            title=("超期未办结工单", "Most overdue open tickets"),
            top=10,
            width=4,
            sort=(("deadline_at", "asc"),),
            columns=("title", "category", "department_id", "community_id", "deadline_at"),
        ),
        Chart(
            "bar",
            ("on_time_rate",),
            by="community",
            title=("社区排名", "Community ranking"),
            top=20,
            width=5,
            follows_map=True,
        ),
        # the judgement in words, as the wall's rotating line and the brief's summary say it
        Chart("points", ("tickets_received",), title=("本期要点", "Key points"), width=7),
        Chart(
            "trend",
            ("tickets_received", "tickets_resolved"),
            title=("工单受理与办结", "Tickets received and resolved"),
            width=6,
        ),
        Chart("topics", ("tickets_received",), top=8),
        Chart("rising", ("tickets_received",), top=8),
        Chart("surges", ("tickets_received",), top=8, width=6),
    ),
    record_kpi="open_overdue_tickets",
    map_kpis=(
        "on_time_rate",
        "tickets_received",
        "open_overdue_tickets",
        "live_alarms",
        "visit_coverage",
        "approval_on_time_rate",
        "open_hazards",
        "satisfaction_rate",
    ),
)

dash.register_page(__name__, **page_options(BOARD))
register_callbacks(BOARD)
