"""指挥调度 · dispatch: the closed loop, tickets by channel/category/department, time against deadline, alarms."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks

BOARD = Board(
    id="dispatch",
    path="/dispatch",
    order=5,
    dimensions=("channel", "category", "department"),
    groups=(
        KpiGroup(
            (
                "tickets_received",
                "open_tickets",
                "on_time_rate",
                "timely_accept_rate",
                "satisfaction_rate",
                "due_soon_tickets",
            )
        ),
        KpiGroup(
            (
                "return_rate",
                "extension_rate",
                "rework_rate",
                "repeat_complaint_rate",
                "duplicates_merged",
                "supervised_tickets",
                "avg_accept_hours",
                "avg_resolve_hours",
                "median_resolve_hours",
                "p90_resolve_hours",
            )
        ),
        KpiGroup(
            (
                "alarms_raised",
                "live_alarms",
                "avg_minutes_to_clear",
                "video_online_rate",
                "sensor_online_rate",
                "sensor_data_quality_rate",
            ),
            title=("物联感知", "IoT sensing"),
        ),
    ),
    charts=(
        Chart(
            "funnel",
            (
                "tickets_received",
                "tickets_dispatched",
                "tickets_accepted",
                "tickets_received_resolved",
                "tickets_followed_up",
                "tickets_closed",
            ),
            title=("闭环流程", "Closed loop"),
        ),
        Chart(
            "trend", ("tickets_received", "tickets_resolved"), title=("工单受理与办结", "Tickets received and resolved")
        ),
        Chart("share", ("tickets_received",), by="channel"),
        Chart("bar", ("tickets_received",), by="category", title=("热点诉求", "Hot topics"), top=12),
        Chart("bar", ("on_time_rate",), by="department"),
        Chart("bar", ("avg_resolve_hours",), by="category"),
        Chart("bar", ("alarms_raised",), by="alarm_kind"),
        Chart("trend", ("video_online_rate", "sensor_online_rate"), title=("设备在线率", "Devices online")),
        Chart(
            "list",
            ("open_overdue_tickets",),
            title=("超期未办结工单", "Overdue open tickets"),
            top=10,
            sort=(("deadline_at", "asc"),),
            columns=("ticket_id", "title", "category", "department_id", "deadline_at"),
        ),
        Chart(
            "list",
            ("due_soon_tickets",),
            title=("即将到期工单", "Tickets due soon"),
            top=10,
            sort=(("deadline_at", "asc"),),
            columns=("ticket_id", "title", "category", "department_id", "deadline_at"),
        ),
    ),
    record_kpi="tickets_received",
)

dash.register_page(__name__, **page_options(BOARD))
register_callbacks(BOARD)
