"""The /scorecards page over HTTP on the demo street: rankings recomputed from the KPIs and the card file's
own numbers, the drill links, the reader's scope, and a bad month in the URL."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
import yaml

from cockpit.metrics import compute
from cockpit.metrics.scorecards import SCORECARDS_PATH, month_period
from tests.cockpit.dash_client import DashClient

MONTH = "2026-09"  # the demo runs 2026-09-26 … 10-02: September is its one complete month


def _nodes(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _text(node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, int | float):
        return str(node)
    if isinstance(node, list):
        return "".join(_text(each) for each in node)
    if isinstance(node, dict):
        return _text(node.get("props", {}).get("children"))
    return ""


def page(client: DashClient, search: str) -> dict:
    response = client.route("/scorecards", search)
    assert response.status_code == 200, response.get_data(as_text=True)[-500:]
    return response.get_json()["response"]["_pages_content"]["children"]


def table_rows(layout: dict) -> list[dict]:
    """Each body row: its class, its cells' text and the links in each cell."""
    (table,) = [n for n in _nodes(layout) if n.get("props", {}).get("id") == "scorecard-table"]
    body = table["props"]["children"][1]
    rows = []
    for row in body["props"]["children"]:
        cells = row["props"]["children"]
        rows.append(
            {
                "class": row["props"].get("className"),
                "cells": [_text(cell) for cell in cells],
                "links": [[n["props"]["href"] for n in _nodes(cell) if "href" in n.get("props", {})] for cell in cells],
            }
        )
    return rows


def packaged_card(card_id: str) -> dict:
    document = yaml.safe_load(Path(str(SCORECARDS_PATH)).read_text(encoding="utf-8"))
    return next(card for card in document["scorecards"] if card["id"] == card_id)


@pytest.fixture(scope="module")
def analyst(app) -> DashClient:
    return DashClient(app)


@pytest.mark.parametrize("card_id", ["department", "grid_worker"])
def test_objects_are_ranked_by_the_composite_of_their_kpis(analyst, loaded_demo, card_id):
    rows = table_rows(page(analyst, f"?card={card_id}&month={MONTH}"))
    card = packaged_card(card_id)
    month = month_period(MONTH)
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:

        def by_object(kpi):
            frame = compute(con, kpi, month, group_by=card["object"], compare=False)
            return dict(zip(frame["label"], frame["value"], strict=True))

        values = {entry["kpi"]: by_object(entry["kpi"]) for entry in card["components"] + card["deductions"]}
    shown = {}
    for row in rows:
        name, composite = row["cells"][2], row["cells"][3]
        earned = weights = 0.0
        for entry in card["components"]:  # a straight line from the zero value to the full value
            value = values[entry["kpi"]].get(name, math.nan)
            if value is not None and not math.isnan(value):
                share = (value - entry["zero"]) / (entry["full"] - entry["zero"])
                earned += entry["weight"] * min(1.0, max(0.0, share))
                weights += entry["weight"]
        off = sum(
            min(entry["cap"], entry["per"] * max(0.0, values[entry["kpi"]].get(name, 0.0)))
            for entry in card["deductions"]
        )
        if weights < card.get("min_weight", 50):  # too little to assess this month: no composite, no rank, last
            assert (row["cells"][0], composite) == ("—", "—"), name
            continue
        expected = max(0.0, earned / weights * 100 - off)
        assert float(composite) == pytest.approx(expected, abs=0.051), name
        shown[name] = float(composite)
    ranked = [row for row in rows if row["cells"][0] != "—"]
    assert len(ranked) >= 6 and rows[: len(ranked)] == ranked
    if card_id == "grid_worker":  # named by the grids they run
        assert all(row["cells"][2].endswith("网格员") for row in rows)
    ranks = [int(row["cells"][0]) for row in ranked]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert list(shown.values()) == sorted(shown.values(), reverse=True)
    # the top three ranks and the bottom three are marked (objects tied on a rank share it)
    for row, rank in zip(ranked, ranks, strict=True):
        marked = "scorecard-top" if rank <= 3 else "scorecard-bottom" if rank > ranks[-1] - 3 else None
        assert row["class"] == marked, (row["cells"][2], rank)
    assert ranked[0]["class"] == "scorecard-top" and ranked[-1]["class"] == "scorecard-bottom"
    assert all(row["class"] is None for row in rows[len(ranked) :])


def test_a_kpi_value_links_to_its_records_for_the_object_and_the_month(analyst):
    rows = table_rows(page(analyst, f"?card=department&month={MONTH}"))
    (link,) = rows[0]["links"][4]  # the first component: on-time rate
    url = urlsplit(link)
    query = parse_qs(url.query)
    assert url.path == "/dispatch"
    assert query["kpi"] == ["on_time_rate"] and query["period"] == ["2026-09-01:2026-09-30"]
    (department,) = query["department"]
    response = analyst.route(url.path, "?" + url.query)
    stores = [
        n["props"]["data"]
        for n in _nodes(response.get_json())
        if n.get("type") == "Store" and "data" in n.get("props", {})
    ]
    (view,) = [s for s in stores if isinstance(s, dict) and "record_kpi" in s]
    assert view["record_kpi"] == "on_time_rate" and view["filters"] == {"department": department}
    assert (view["start"], view["end"]) == ("2026-09-01", "2026-09-30")


def test_a_community_reader_ranks_only_their_own_community(app, loaded_demo):
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        community, name = con.execute("SELECT community_id, name FROM dim_community ORDER BY 1 LIMIT 1").fetchone()
    reader = DashClient(app, name="scorecard-reader", role="community", scope=f"community:{community}")
    rows = table_rows(page(reader, f"?card=community&month={MONTH}"))
    assert [row["cells"][2] for row in rows] == [name]


def test_a_month_outside_the_data_falls_back_to_the_last_complete_month_with_a_note(analyst):
    layout = page(analyst, "?card=grid&month=<b>2019-01</b>")
    text = json.dumps(layout, ensure_ascii=False)
    assert "月份 <b>2019-01</b> 不可选" in text  # shown as text (Dash escapes it), never as markup
    assert f"网格考核 · {MONTH}" in text
    assert table_rows(layout)


def test_the_page_speaks_english(app):
    english = DashClient(app, language="en")
    workers = [row["cells"][2] for row in table_rows(page(english, f"?card=grid_worker&month={MONTH}"))]
    assert workers and all(re.fullmatch(r"Grid worker, [A-Za-z0-9 ]+( \(\+\d+ grids?\))?", w) for w in workers), workers
    text = json.dumps(page(english, f"?card=community&month={MONTH}"), ensure_ascii=False)
    for words in ("Scorecards", "Composite score", "vs last month", "Communities · 2026-09", "On-time resolution rate"):
        assert words in text
