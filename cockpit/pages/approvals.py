"""审批服务 · approvals: received and completed over time, on-time rate and days by item and department, backlog."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks
from cockpit.modules import MODULES

MODULE = MODULES["approvals"]

BOARD = Board(
    id="approvals",
    path="/approvals",
    order=2,
    dimensions=("service_item", "department", "channel"),
    groups=(KpiGroup((*MODULE.headline, "open_approvals")),),
    charts=(
        *MODULE.charts,
        Chart("share", ("approvals_received",), by="channel", title=("办理渠道", "Channel mix")),
        Chart("bar", ("approval_on_time_rate",), by="service_item", top=15),
        Chart("bar", ("avg_approval_working_days",), by="service_item", top=15),
        Chart("bar", ("good_rating_rate",), by="department"),
        Chart("bar", ("open_approvals",), by="department", title=("在办申请（积压）", "Open applications (backlog)")),
        Chart(
            "list",
            ("open_approvals_past_limit",),
            title=("超期在办（按受理时间）", "Open past the legal limit (oldest first)"),
            top=10,
            sort=(("received_at", "asc"),),
            columns=("application_id", "service_item_id", "department_id", "received_at", "legal_deadline"),
        ),
    ),
    record_kpi="approvals_received",
)

dash.register_page(__name__, **page_options(BOARD))
register_callbacks(BOARD)
