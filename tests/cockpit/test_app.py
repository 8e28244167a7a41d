"""The app's read path and the pipeline-status page, on a real generated and loaded street."""

from __future__ import annotations

import re

import pytest

from cockpit.data import NoRelease, Warehouse, current_warehouse
from pipelines.run import run_pipeline
from tests.conftest import SALT
from tests.fixtures.accounts import signed_client
from warehouse.paths import Home
from warehouse.releases import rollback


def test_new_releases_and_rollbacks_are_picked_up_without_restart(fresh_home):
    run_pipeline(fresh_home, salt=SALT)
    warehouse = Warehouse(fresh_home)
    first = warehouse.info.run_id
    held = warehouse.cursor()  # a request still reading when the next release lands
    tickets = held.execute("SELECT count(*) FROM fct_ticket").fetchone()[0]

    run_pipeline(fresh_home, salt=SALT, rebuild_all=True)
    assert warehouse.info.run_id != first
    with warehouse.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM fct_ticket").fetchone()[0] == tickets
    assert held.execute("SELECT count(*) FROM fct_ticket").fetchone()[0] == tickets

    rollback(fresh_home)
    assert warehouse.info.run_id == first


def test_release_is_read_only(loaded_demo):
    with Warehouse(loaded_demo.home).cursor() as cur, pytest.raises(Exception, match="read-only"):
        cur.execute("DELETE FROM fct_ticket")


def test_no_release_is_a_one_line_message(tmp_path):
    with pytest.raises(NoRelease, match="run `cockpit pipeline run`"):
        Warehouse(Home(tmp_path)).info  # noqa: B018


def test_pipeline_page_shows_release_freshness_quarantine_and_runs(app, loaded_demo):
    from cockpit.pages import pipeline

    text = str(pipeline.layout())
    assert loaded_demo.summary.run_id in text
    assert "演示数据" in text
    assert current_warehouse().info.data_through.isoformat() in text
    for source in ("hotline_12345", "iot", "grid"):
        assert f"'{source}'" in text
    assert "unknown_header" in text and "undecodable" in text
    assert "受理日期晚于交付日的工单" in text


def test_table_cells_read_like_a_report():
    from datetime import datetime

    from cockpit.components.table import format_cell as _cell

    assert _cell(datetime(2026, 11, 20)) == "2026-11-20"
    assert _cell(datetime(2026, 11, 20, 2, 30)) == "2026-11-20 02:30"
    assert (_cell(24.0), _cell(21297), _cell(3.25), _cell(None), _cell(float("nan"))) == ("24", "21,297", "3.2", "", "")


def test_app_serves_its_pages_and_loads_nothing_from_the_internet(app):
    client = signed_client(app)
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    external = [u for u in re.findall(r'(?:src|href)="(https?://[^"]+)"', html) if "127.0.0.1" not in u]
    assert external == []
    scripts = re.findall(r'<script src="([^"]+)"', html)
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert any("/vendor/css/bootstrap.min.css" in s for s in stylesheets)
    assert scripts and all(client.get(s).status_code == 200 for s in scripts + stylesheets)
    assert client.get("/").status_code == 200


def test_fingerprinted_assets_are_cached_a_year_and_nothing_else_is(app):
    client = signed_client(app)
    page = client.get("/dispatch").get_data(as_text=True)
    linked = re.findall(r"(/assets/[\w.-]+\.(?:js|css)\?m=[\d.]+)", page)
    assert any("lazy-charts.js" in url for url in linked) and any("cockpit.css" in url for url in linked), linked
    for url in linked:
        control = client.get(url).headers.get("Cache-Control", "")
        assert "max-age=31536000" in control, (url, control)
    # The same file without its fingerprint, and the page itself (the reader's own data), are not kept.
    assert "max-age=31536000" not in client.get(linked[0].split("?")[0]).headers.get("Cache-Control", "")
    assert "max-age" not in client.get("/dispatch").headers.get("Cache-Control", "")
