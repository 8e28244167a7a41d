"""指挥调度 · dispatch: the closed loop, tickets by channel/category/department, time against deadline, alarms."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks
from cockpit.modules import MODULES

MODULE = MODULES["dispatch"]

BOARD = Board(
    id="dispatch",
    path="/dispatch",
    order=5,
    dimensions=("channel", "category", "department", "focus_group"),
    groups=(
        KpiGroup(MODULE.headline),
        KpiGroup(
            (
                "open_tickets",
                "timely_accept_rate",
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
        # the rates a hotline and a 数字城管 centre are assessed on (the catalog names each one's document)
        KpiGroup(
            (
                "response_rate",
                "solve_rate",
                "satisfaction_rate",
                "one_time_resolution_rate",
                "urge_rate",
                "reopen_rate",
                "merge_rate",
            ),
            title=("考核口径 · 接诉即办", "Assessed rates · citizen requests"),
        ),
        KpiGroup(
            (
                "city_cases_registered",
                "city_case_close_rate",
                "city_case_on_time_close_rate",
                "city_case_disposal_rate",
                "city_case_rework_rate",
                "city_case_extension_rate",
            ),
            title=("考核口径 · 数字城管", "Assessed rates · city management cases"),
        ),
        KpiGroup(
            ("live_alarms", "avg_minutes_to_clear", "sensor_online_rate", "sensor_data_quality_rate"),
            title=("物联感知", "IoT sensing"),
        ),
    ),
    charts=(
        *MODULE.charts,
        Chart(
            "trend", ("tickets_received", "tickets_resolved"), title=("工单受理与办结", "Tickets received and resolved")
        ),
        Chart("topics", ("tickets_received",)),
        Chart("rising", ("tickets_received",)),
        # 预测预警: surges of the period, the next 7 days, and what past years say of the coming month
        Chart("surges", ("tickets_received",), width=6),
        Chart("forecast", ("tickets_received",), by="day", title=("未来7天工单预测", "Tickets, next 7 days"), width=6),
        Chart("outlook", ("tickets_received",), width=6),
        Chart("proactive", ("tickets_received",), width=6),
        # 重点群体: 老年人, 新就业群体, 新市民, 困难群体 against everyone
        Chart("groups", ("tickets_received", "on_time_rate"), width=6),
        Chart("share", ("tickets_received",), by="channel"),
        Chart(
            "share",
            ("tickets_followed_up",),
            by="satisfaction",
            title=("回访评价（五级）", "Follow-up results (five levels)"),
        ),
        Chart("bar", ("tickets_received",), by="category", top=10),
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
