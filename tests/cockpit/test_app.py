"""The app's read path and the pipeline-status page, on a real generated and loaded street."""

from __future__ import annotations

import gzip
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import brotli
import pytest

from cockpit import data
from cockpit.data import NoRelease, Warehouse, current_warehouse
from cockpit.metrics.period import Period
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


def test_threads_missing_the_same_answer_compute_it_once_and_all_get_it(loaded_demo):
    """Four threads (a board's parts) ask one question at once: it is computed once, and each gets its answer."""
    warehouse = Warehouse(loaded_demo.home)
    started, release = threading.Event(), threading.Event()
    computed = []

    def answer():
        computed.append(threading.get_ident())
        started.set()
        assert release.wait(10)  # held until every other thread has asked
        return {"tickets": 7}

    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(warehouse.memo, ("question",), answer)
        assert started.wait(10)
        others = [pool.submit(warehouse.memo, ("question",), answer) for _ in range(3)]
        time.sleep(0.2)  # they have asked, and wait
        release.set()
        answers = [first.result(10)] + [each.result(10) for each in others]
    assert len(computed) == 1 and answers == [{"tickets": 7}] * 4


def test_a_failed_answer_is_asked_again_by_its_waiter_and_a_thread_may_ask_its_own_question_again(
    loaded_demo, monkeypatch, caplog
):
    monkeypatch.setattr(data, "FLIGHT_WAIT_SECONDS", 1.0)
    warehouse = Warehouse(loaded_demo.home)
    started, release = threading.Event(), threading.Event()
    calls = []

    def failing():
        calls.append("failed")
        started.set()
        assert release.wait(10)
        raise RuntimeError("the release went away")

    def working():
        calls.append("answered")
        return 42

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(warehouse.memo, ("flaky",), failing)
        assert started.wait(10)
        second = pool.submit(warehouse.memo, ("flaky",), working)
        time.sleep(0.2)
        release.set()
        with pytest.raises(RuntimeError):
            first.result(10)
        assert second.result(10) == 42
    assert calls == ["failed", "answered"]
    # a question that asks itself again (in the same thread) is computed, not waited for
    depth = []

    def again():
        depth.append(1)
        return warehouse.memo(("nested",), again) if len(depth) < 2 else "inner"

    with caplog.at_level(logging.WARNING, logger=data.log.name):
        assert warehouse.memo(("nested",), again) == "inner" and len(depth) == 2
    assert not [r for r in caplog.records if "took over" in r.getMessage()]  # it never waited on itself


def test_forgetting_the_views_keeps_what_the_release_is_and_drops_every_answer(loaded_demo):
    warehouse = Warehouse(loaded_demo.home)
    names = warehouse.code_list_names("category", "zh")
    period = Period.preset("this_month", warehouse.info.data_through)
    warehouse.metric("tickets_received", period)
    warehouse.memo(("a board's answer",), lambda: "tiles")
    shapes = warehouse.place_memo(("map", "community", None, None), lambda: ["the communities' polygons"])
    kinds = {key[1] for key in warehouse._cache}
    assert {"code-list", "metric", "memo"} <= kinds
    warehouse.forget_views()
    left = [key[1:] for key in warehouse._cache]
    assert ("memo", "a board's answer") not in left and not [key for key in left if key[0] == "metric"]
    assert warehouse.code_list_names("category", "zh") is names  # read from memory, not again
    assert warehouse.place_memo(("map", "community", None, None), lambda: ["again"]) is shapes


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


def _decoded(response) -> bytes:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        return brotli.decompress(body)
    assert encoding is None, encoding
    return body


def test_static_files_are_compressed_once_each_and_read_back_whole(app):
    client = signed_client(app)
    page = client.get("/dispatch").get_data(as_text=True)
    linked = re.findall(r'(?:src|href)="(/(?:_dash-component-suites|assets|vendor)/[^"]+)"', page)
    assert len(linked) > 10 and any(url.startswith("/assets/") for url in linked), linked
    kept = app.server.extensions["compressed_static"]
    for url in linked:
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
        for encoding in ("gzip", "br"):
            first = client.get(url, headers={"Accept-Encoding": encoding})
            size = len(kept)
            again = client.get(url, headers={"Accept-Encoding": encoding})
            # Small files go uncompressed; the rest decode to the file, and asking again adds nothing kept.
            assert _decoded(first) == _decoded(again) == plain.get_data(), (url, encoding)
            assert len(kept) == size
    assert len(kept) >= len(linked)  # every linked file of the compressible size was kept, per encoding


def test_what_is_kept_compressed_is_bounded_by_the_files_not_by_what_clients_ask(app):
    client = signed_client(app)
    page = client.get("/dispatch").get_data(as_text=True)
    bundle = re.search(r'src="(/_dash-component-suites/dash/dash-renderer/build/dash_renderer\.v(\w+)\.min\.js)"', page)
    asset = re.search(r'href="(/assets/cockpit\.css)\?m=[\d.]+"', page)
    kept = app.server.extensions["compressed_static"]
    gzip_only = {"Accept-Encoding": "gzip"}
    body = client.get(bundle[1], headers=gzip_only).get_data()
    client.get(asset[1], headers=gzip_only)
    size = len(kept)
    for n in range(30):  # a client inventing fingerprints and query strings
        forged = bundle[1].replace(bundle[2], f"1_{n}_0m{n:x}")
        assert client.get(forged, headers=gzip_only).get_data() == body
        assert client.get(f"{asset[1]}?m={n}.5", headers=gzip_only).status_code == 200
    assert len(kept) == size
    # Pages and callback answers are the reader's own: compressed for each response, never kept.
    client.get("/dispatch", headers=gzip_only)
    client.get("/metrics", headers=gzip_only)
    assert len(kept) == size


def test_dashs_polyfill_url_answers_with_the_regenerator_runtime_alone(app):
    from cockpit.app import REGENERATOR

    client = signed_client(app)
    page = client.get("/").get_data(as_text=True)
    polyfill = re.search(r'src="(/_dash-component-suites/dash/deps/polyfill@7[^"]+)"', page)[1]
    ours = client.get(polyfill, headers={"Accept-Encoding": "identity"}).get_data()
    dashs = client.get(f"{polyfill}?whole=1", headers={"Accept-Encoding": "identity"}).get_data()
    assert ours == REGENERATOR.read_bytes() and b"regeneratorRuntime" in ours
    assert b"core-js" in dashs and len(ours) * 5 < len(dashs)
