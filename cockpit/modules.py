"""Each module's headline, declared once: what its page, its wall board, its brief section and the overview show first.

A street leader reads the same six KPIs for a module wherever they look: the
module's row on the overview, the first strip of its page, the tiles of its wall
board and the first lines of its brief section. The module's two headline charts
(and the dispatch module's closed-loop funnel) are likewise the wall board's, the
brief's and the first charts of the page. Pages add their details after these;
nothing here is repeated elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.components.board import Chart


@dataclass(frozen=True)
class Module:
    id: str
    headline: tuple[str, ...]  # six KPIs: overview row, page's first strip, wall tiles, brief's first lines
    charts: tuple[Chart, ...]  # two: the wall board's, the brief section's, the page's first
    summary: tuple[str, ...]  # the brief's summary sentence speaks of these
    ranking: str | None = None  # the brief ranks communities by this KPI
    map_kpi: str | None = None  # the KPI a map among the charts shows


# The closed loop of a ticket, step by step: the dispatch page's and the wall's funnel.
TICKET_LOOP = (
    "tickets_received",
    "tickets_dispatched",
    "tickets_accepted",
    "tickets_received_resolved",
    "tickets_followed_up",
    "tickets_closed",
)

# The street as a whole on the wall's first board.
STREET = Module(
    "overview",
    headline=(
        "open_overdue_tickets",
        "live_alarms",
        "tickets_received",
        "on_time_rate",
        "satisfaction_rate",
        "open_hazards",
    ),
    charts=(
        Chart("map", ("on_time_rate",), title=("各社区按期办结率", "On-time rate by community")),
        Chart(
            "trend", ("tickets_received", "tickets_resolved"), title=("工单受理与办结", "Tickets received and resolved")
        ),
    ),
    summary=("tickets_received", "on_time_rate", "satisfaction_rate"),
    map_kpi="on_time_rate",
)

MODULES: dict[str, Module] = {
    module.id: module
    for module in (
        Module(
            "party",
            headline=(
                "party_members",
                "party_orgs",
                "pledges_delivered",
                "pledge_claim_rate",
                "volunteer_hours",
                "projects_delayed",
            ),
            charts=(
                Chart("bar", ("pledges_delivered",), by="community", top=10),
                Chart("trend", ("volunteer_hours",), title=("志愿服务时长", "Volunteer hours")),
            ),
            summary=("pledges_delivered", "pledge_claim_rate", "volunteer_hours"),
        ),
        Module(
            "approvals",
            headline=(
                "approvals_received",
                "approvals_completed",
                "approval_on_time_rate",
                "avg_approval_working_days",
                "good_rating_rate",
                "open_approvals_past_limit",
            ),
            charts=(
                Chart(
                    "trend",
                    ("approvals_received", "approvals_completed"),
                    title=("受理与办结", "Received and completed"),
                ),
                Chart("bar", ("approval_on_time_rate",), by="department", top=10),
            ),
            summary=("approvals_received", "approval_on_time_rate", "good_rating_rate"),
        ),
        Module(
            "enforcement",
            headline=(
                "hazards_found",
                "hazard_rectification_rate",
                "open_hazards",
                "open_major_hazards",
                "cases_opened",
                "penalties_yuan",
            ),
            charts=(
                Chart("map", ("open_hazards",), title=("各社区未整改隐患", "Open hazards by community")),
                Chart("bar", ("hazards_found",), by="domain"),
            ),
            summary=("hazards_found", "hazard_rectification_rate", "open_major_hazards"),
            ranking="hazard_rectification_rate",
            map_kpi="open_hazards",
        ),
        Module(
            "grid",
            headline=(
                "visit_coverage",
                "visits",
                "grid_events_reported",
                "grid_self_resolution_rate",
                "grids",
                "grid_workers",
            ),
            charts=(
                Chart("map", ("visit_coverage",), title=("各社区走访覆盖率", "Visit coverage by community")),
                Chart("bar", ("grid_events_reported",), by="community", top=10),
            ),
            summary=("grid_events_reported", "grid_self_resolution_rate", "visit_coverage"),
            ranking="visit_coverage",
            map_kpi="visit_coverage",
        ),
        Module(
            "dispatch",
            headline=(
                "tickets_received",
                "on_time_rate",
                "open_overdue_tickets",
                "due_soon_tickets",
                "alarms_raised",
                "video_online_rate",
            ),
            charts=(
                Chart("funnel", TICKET_LOOP, title=("闭环流程", "Closed loop")),
                Chart("cloud", ("tickets_received",), by="term", title=("热点诉求", "Hot topics"), top=20),
            ),
            summary=("tickets_received", "on_time_rate", "satisfaction_rate"),
            ranking="on_time_rate",
        ),
    )
}
