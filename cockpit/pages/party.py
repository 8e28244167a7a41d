"""党建引领 · party building: organisations and members, partner units, pledges, projects, visits, activity."""

import dash

from cockpit.components.board import Board, Chart, KpiGroup, page_options, register_callbacks
from cockpit.modules import MODULES

MODULE = MODULES["party"]

BOARD = Board(
    id="party",
    path="/party",
    order=1,
    dimensions=("org_level", "partner_kind", "category"),
    groups=(
        KpiGroup(MODULE.headline),
        KpiGroup(
            (
                "party_volunteers",
                "partner_units",
                "pledges_posted",
                "pledges_claimed",
                "project_avg_progress",
                "projects_completed",
            )
        ),
        KpiGroup(("meetings_held", "errands_done", "visit_coverage")),
    ),
    charts=(
        *MODULE.charts,
        Chart("bar", ("party_orgs",), by="org_level"),
        Chart("share", ("partner_units",), by="partner_kind"),
        Chart("funnel", ("pledges_posted", "pledges_claimed", "pledges_delivered"), title=("揭榜领办", "Pledges")),
        Chart("bar", ("pledges_posted",), by="category"),
        Chart("bar", ("project_avg_progress",), by="batch"),
        Chart("bar", ("visit_coverage",), by="community", top=20),
        Chart("bar", ("visits",), by="round"),
        Chart("trend", ("meetings_held",), title=("党建会议", "Meetings")),
    ),
    record_kpi="pledges_posted",
)

dash.register_page(__name__, **page_options(BOARD))
register_callbacks(BOARD)
