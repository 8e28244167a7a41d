"""驾驶舱首页 · overview: a KPI strip per module, today's ticket flow, live alarms, the street map, rankings."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks

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
        KpiGroup(
            ("tickets_received", "on_time_rate", "satisfaction_rate", "video_online_rate"),
            title=("指挥调度", "Dispatch"),
            link="/dispatch",
        ),
        KpiGroup(
            ("visit_coverage", "grid_events_reported", "grid_self_resolution_rate"),
            title=("网格管理", "Grid management"),
            link="/grid",
        ),
        KpiGroup(
            ("approvals_received", "approval_on_time_rate", "good_rating_rate"),
            title=("审批服务", "Approvals"),
            link="/approvals",
        ),
        KpiGroup(
            ("hazards_found", "hazard_rectification_rate", "open_hazards", "cases_opened"),
            title=("综合执法", "Enforcement"),
            link="/enforcement",
        ),
        KpiGroup(
            ("party_members", "pledges_delivered", "pledge_claim_rate", "volunteer_hours"),
            title=("党建引领", "Party building"),
            link="/party",
        ),
    ),
    # First screen: the map beside the live alarms and the most overdue tickets; the ranking and the trend below.
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
        Chart(
            "trend",
            ("tickets_received", "tickets_resolved"),
            title=("工单受理与办结", "Tickets received and resolved"),
            width=7,
        ),
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
