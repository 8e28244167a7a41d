"""The focus-group panel (重点群体): for 老年人, 新就业群体, 新市民 and 困难群体, their tickets and share of all,
their top categories and their on-time rate against everyone's; a group is a link that narrows the page (its
KPIs and its record table) to its tickets (`?focus_group=elderly`).

Which tickets are a group's is `fct_ticket_group` (warehouse/groups.py: the export's record of the caller,
else the street's keyword rules); every number is a catalog KPI with the `focus_group` filter, so the
panel's counts are the tiles' numbers when the page is narrowed to the group.
"""

from __future__ import annotations

from functools import partial

from dash import dcc, html

from cockpit.components.format import format_value, is_missing
from cockpit.data import ScopedWarehouse, Warehouse, side_by_side
from cockpit.i18n import t
from cockpit.metrics.catalog import BRIDGE_DIMENSIONS
from cockpit.metrics.period import Period
from cockpit.view import View
from warehouse.groups import NO_GROUP

# The KPIs the panel reads: the tickets (count and share) and the rate compared with everyone's.
COUNT_KPI, RATE_KPI = "tickets_received", "on_time_rate"
TOP_CATEGORIES = 3
# The table of who a ticket comes from (warehouse/groups.py), as the catalog's focus_group bridge names it.
GROUPS_TABLE = BRIDGE_DIMENSIONS["focus_group"][0]


def kpi_value(warehouse, kpi: str, period: Period, filters: dict) -> float | None:
    """A KPI's value for the period (None when it has none)."""
    return _value(warehouse.metric(kpi, period, filters=filters, compare=False))


def _value(frame) -> float | None:
    value = None if frame.empty else frame["value"].iloc[0]
    return None if is_missing(value) else float(value)


def group_rows(warehouse: Warehouse | ScopedWarehouse, period: Period, filters: dict, lang: str) -> list[dict]:
    """Per focus group, most tickets first: code, name, tickets, share of all, on-time rate, top categories.

    The groups' KPIs are independent queries, asked side by side as a strip's are (DuckDB releases the GIL):
    the panel costs about its slowest query, not the sum of three per group.
    """
    names = {code: name for code, name in warehouse.code_list_names("focus_group", lang).items() if code != NO_GROUP}

    def ask(kpi: str, code: str | None, **options):
        narrowed = filters if code is None else {**filters, "focus_group": code}
        return partial(warehouse.metric, kpi, period, filters=narrowed, **options)

    asked = {(None, "count"): ask(COUNT_KPI, None, compare=False)}  # every ticket, for the shares
    for code in names:
        asked[code, "count"] = ask(COUNT_KPI, code, compare=False)
        asked[code, "by_category"] = ask(COUNT_KPI, code, group_by="category", lang=lang)
        asked[code, "rate"] = ask(RATE_KPI, code, compare=False)
    answer = dict(zip(asked, side_by_side(list(asked.values())), strict=True))
    all_tickets = _value(answer[None, "count"]) or 0.0
    rows = []
    for code in names:
        tickets = _value(answer[code, "count"]) or 0.0
        by_category = answer[code, "by_category"]
        top = by_category[by_category["value"] > 0].sort_values(["value", "label"], ascending=[False, True])
        rows.append(
            {
                "code": code,
                "name": names[code],
                "tickets": tickets,
                "share": tickets / all_tickets if all_tickets else None,
                "rate": _value(answer[code, "rate"]),
                "categories": [(row.label, row.value) for row in top.head(TOP_CATEGORIES).itertuples()],
            }
        )
    return sorted(rows, key=lambda row: (-row["tickets"], row["code"]))


def group_table(warehouse: Warehouse | ScopedWarehouse, view: View, path: str, title: str, lang: str) -> html.Div:
    """The panel; the view's group (if any) marked, its link undoing the choice."""
    heading = html.H6(title, className="panel-title")
    if not warehouse.has_table(GROUPS_TABLE):
        return html.Div([heading, html.P(t("topics_next_release", lang), className="no-data")], className="surge-panel")
    filters = {key: value for key, value in view.filters.items() if key != "focus_group"}
    everyone = kpi_value(warehouse, RATE_KPI, view.period, filters)
    chosen = view.filters.get("focus_group")
    body = []
    for row in group_rows(warehouse, view.period, filters, lang):
        narrowed = view.with_filter("focus_group", None if row["code"] == chosen else row["code"])
        categories = "、" if lang == "zh" else ", "
        body.append(
            html.Tr(
                [
                    html.Td(dcc.Link(row["name"], href=path + narrowed.to_search())),
                    html.Td(format_value(row["tickets"], "件", lang), className="num"),
                    html.Td(format_value(row["share"], "%", lang), className="num"),
                    html.Td(
                        categories.join(
                            f"{label} {format_value(value, '件', lang)}" for label, value in row["categories"]
                        )
                    ),
                    html.Td(format_value(row["rate"], "%", lang), className="num"),
                ],
                className="chosen" if row["code"] == chosen else None,
            )
        )
    header = html.Tr(
        [
            html.Th(t("focus_group", lang)),
            html.Th(t("tickets", lang)),
            html.Th(t("share", lang)),
            html.Th(t("top_categories", lang)),
            html.Th(t("on_time_vs_all", lang, rate=format_value(everyone, "%", lang))),
        ]
    )
    return html.Div(
        [heading, html.Table([html.Thead(header), html.Tbody(body)], className="cockpit-table surge-list")],
        className="surge-panel",
    )
