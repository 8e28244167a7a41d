"""A tile's ⓘ opens the board's one explanation popover, made by the server for the KPI it points at."""

from __future__ import annotations

import json

from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_pages import run_page

EXPLAIN = "kpi-explain"
OUTPUTS = [{"id": EXPLAIN, "property": prop} for prop in ("children", "is_open")]


def _point_at(client: DashClient, target) -> dict:
    inputs = [{"id": EXPLAIN, "property": "target", "value": target}]
    return client.post(client.payload(f"{EXPLAIN}.children", OUTPUTS, inputs))


def test_the_page_carries_one_popover_and_no_tile_carries_its_explanation(app):
    client = DashClient(app)
    layout = client.route("/approvals").get_json()["response"]["_pages_content"]["children"]
    text = json.dumps(layout, ensure_ascii=False)
    assert text.count(f'"id": "{EXPLAIN}"') == 1
    strip = json.dumps(run_page(client, app, "approvals")["approvals-kpis-0"], ensure_ascii=False)
    assert strip.count('"kpi-help"') >= 3  # the tiles' ⓘ marks are there
    assert "计算公式" not in strip and "Popover" not in strip


def test_pointing_at_a_help_mark_explains_that_kpi(app):
    shown = _point_at(DashClient(app), {"type": "kpi-help", "kpi": "approval_on_time_rate"})[EXPLAIN]
    assert shown["is_open"] is True
    body = json.dumps(shown["children"], ensure_ascii=False)
    assert "按时办结率" in body and "统计口径" in body and "approvals" in body and "计算公式" in body
    english = _point_at(DashClient(app, language="en"), {"type": "kpi-help", "kpi": "approval_on_time_rate"})
    assert "Formula" in json.dumps(english[EXPLAIN]["children"])


def test_the_anchor_and_a_made_up_kpi_change_nothing(app):
    client = DashClient(app)
    assert _point_at(client, "kpi-explain-anchor") == {}
    assert _point_at(client, {"type": "kpi-help", "kpi": "<script>"}) == {}
    assert _point_at(client, {"type": "kpi-tile", "kpi": "approval_on_time_rate"}) == {}
