"""The focus-group panel on fifteen weeks of a demo street: each group's tickets, share, top categories and
on-time rate against everyone's, counted here with pandas from fct_ticket and fct_ticket_group, and a click on
a group narrows the page's numbers and records to its tickets."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import duckdb
import pandas as pd
import pytest

from cockpit.components.groups import group_rows, group_table
from cockpit.data import Warehouse
from cockpit.metrics.period import Period
from cockpit.view import View
from tests.cockpit.test_warning_street import _hrefs
from warehouse.releases import current_release

PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture(scope="module")
def frames(warning_street):
    with duckdb.connect(str(current_release(warning_street)), read_only=True) as con:
        tickets = con.execute(
            "SELECT ticket_id, received_at, resolved_at, is_resolved, is_on_time, category, duplicate_of"
            " FROM fct_ticket"
        ).df()
        groups = con.execute("SELECT ticket_id, focus_group FROM fct_ticket_group").df()
    return tickets[tickets["duplicate_of"].isna()], groups


def _in(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    day = frame[column].dt.date
    return frame[(day >= PERIOD.start) & (day <= PERIOD.end)]


def test_each_groups_numbers_are_its_tickets(warning_street, frames):
    tickets, groups = frames
    warehouse = Warehouse(warning_street)
    rows = group_rows(warehouse, PERIOD, {}, "zh")
    assert [row["code"] for row in rows] and "general" not in [row["code"] for row in rows]
    received = _in(tickets, "received_at")
    resolved = _in(tickets[tickets["is_resolved"]], "resolved_at")
    for row in rows:
        members = set(groups.loc[groups["focus_group"] == row["code"], "ticket_id"])
        mine = received[received["ticket_id"].isin(members)]
        assert row["tickets"] == len(mine)
        assert row["share"] == pytest.approx(len(mine) / len(received))
        done = resolved[resolved["ticket_id"].isin(members)]
        assert row["rate"] == pytest.approx(done["is_on_time"].mean())
        top = mine["category"].value_counts()
        assert [value for _, value in row["categories"]] == list(top.head(3).to_numpy())
    assert [row["tickets"] for row in rows] == sorted((row["tickets"] for row in rows), reverse=True)
    assert rows[0]["code"] == "elderly"  # the demo's callers: older people are the largest group


def test_a_click_on_a_group_narrows_the_page_to_its_tickets(warning_street, frames):
    tickets, groups = frames
    warehouse = Warehouse(warning_street)
    view = View.from_query({"period": f"{PERIOD.start}:{PERIOD.end}"}, warehouse.info.data_through)
    panel = group_table(warehouse, view, "/dispatch", "重点群体诉求", "zh")
    links = _hrefs(panel)
    assert len(links) == len(group_rows(warehouse, PERIOD, {}, "zh"))
    query = {key: values[0] for key, values in parse_qs(urlsplit(links[0]).query).items()}
    narrowed = View.from_query(query, warehouse.info.data_through)
    group = narrowed.filters["focus_group"]
    members = set(groups.loc[groups["focus_group"] == group, "ticket_id"])
    received = _in(tickets, "received_at")
    _, total = warehouse.records("tickets_received", narrowed.period, filters=narrowed.filters, limit=10)
    assert total == len(received[received["ticket_id"].isin(members)])
    value = warehouse.metric("tickets_received", narrowed.period, filters=narrowed.filters)["value"].iloc[0]
    assert value == total
    # the chosen group is marked, and its link undoes the choice
    again = group_table(warehouse, narrowed, "/dispatch", "重点群体诉求", "zh")
    assert (
        "focus_group=" not in _hrefs(again)[[r["code"] for r in group_rows(warehouse, PERIOD, {}, "zh")].index(group)]
    )


def test_the_brief_prints_the_panels_numbers(warning_street, tmp_path):
    from pypdf import PdfReader

    from cockpit.components.format import format_value
    from tests.cockpit.test_briefing import _cli

    out = tmp_path / "october.pdf"
    result = _cli(warning_street.root, "--period", f"{PERIOD.start}:{PERIOD.end}", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = "".join(page.extract_text() for page in PdfReader(out).pages).replace("\n", "").replace(" ", "")
    section = text[text.index("、重点群体诉求") : text.index("、逾期未办结工单")]
    for row in group_rows(Warehouse(warning_street), PERIOD, {}, "zh"):
        line = (
            f"{row['name']}{format_value(row['tickets'], '件')}{format_value(row['share'], '%')}"
            f"{row['categories'][0][0]}{format_value(row['categories'][0][1], '件')}"
        )
        assert line in section, line
        assert format_value(row["rate"], "%") in section
