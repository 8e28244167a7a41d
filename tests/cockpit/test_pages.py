"""Every page's callbacks, called over HTTP on the real app and a loaded demo street."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import date, timedelta

import openpyxl
import pytest

from cockpit.components.board import HTML_KINDS, board_layout
from cockpit.components.format import format_value
from cockpit.data import current_warehouse
from cockpit.metrics import Period, compute, default_catalog
from cockpit.view import View
from tests.cockpit.dash_client import DashClient, by_type, find
from tests.fixtures.accounts import signed_client, signed_context

BOARDS = ("overview", "party", "approvals", "enforcement", "grid", "dispatch")


def board(name: str):
    import importlib

    return importlib.import_module(f"cockpit.pages.{name}").BOARD


@pytest.fixture(scope="module")
def client(app) -> DashClient:
    return DashClient(app)


@pytest.fixture(scope="module")
def as_of(app) -> date:
    return current_warehouse().info.data_through


def render(app, name: str, query: dict | None = None, cookies: str = ""):
    with signed_context(app, cookies or ""):
        return board_layout(board(name), query or {})


def view_store(layout) -> dict:
    (store,) = find(layout, by_type("view"))
    return store.data


def run_page(client: DashClient, app, name: str, query: dict | None = None) -> dict[str, dict]:
    """Every callback fed by the page's view store, as the browser runs them on load: {output id: props}."""
    answers = {}
    for output, outputs, inputs in client.page_updates(render(app, name, query), name):
        answers.update(client.update(output, outputs, inputs))
    return answers


def texts(node, class_name: str) -> list[str]:
    """Text of every serialized component with this className (KPI values, chips…)."""
    found = []

    def visit(each):
        if isinstance(each, dict):
            props = each.get("props", {})
            if class_name in str(props.get("className", "")).split():
                children = props.get("children")
                found.append(children if isinstance(children, str) else json.dumps(children, ensure_ascii=False))
            visit(props.get("children"))
        elif isinstance(each, list):
            for item in each:
                visit(item)

    visit(node)
    return found


def tile_values(answer: dict) -> dict[str, str]:
    """{kpi id: displayed value} from a KPI strip's answer."""
    values = {}
    for tile in answer["children"]:
        values[tile["props"]["data-kpi"]] = texts(tile, "kpi-value")[0]
    return values


@pytest.mark.parametrize("name", BOARDS)
def test_every_callback_of_every_page_answers_from_the_catalog(client, app, name):
    answers = run_page(client, app, name)
    spec = board(name)
    strips = {k: v for k, v in answers.items() if "-kpis-" in k}
    assert len(strips) == len(spec.groups)
    for index, group in enumerate(spec.groups):
        shown = tile_values(strips[f"{name}-kpis-{index}"])
        assert list(shown) == list(group.kpis)
    figures = [v["figure"] for k, v in answers.items() if k.startswith("{")]
    assert len(figures) == sum(1 for c in spec.charts if c.kind not in HTML_KINDS)
    drawn = [f for f in figures if f["data"]]
    assert len(drawn) > len(figures) / 2
    for figure in figures:
        if not figure["data"]:  # an empty chart says so, it is not a blank box
            assert figure["layout"]["annotations"][0]["text"] == "本期无数据"
    for figure in figures:
        assert "http" not in json.dumps(figure.get("layout", {}).get("map", {}))


def test_tiles_show_the_catalogs_value_for_the_filtered_view(client, app, as_of):
    category = "sanitation"
    query = {"period": "this_month", "category": category}
    answers = run_page(client, app, "dispatch", query)
    shown = {**tile_values(answers["dispatch-kpis-0"]), **tile_values(answers["dispatch-kpis-1"])}
    period = Period.preset("this_month", as_of)
    with current_warehouse().cursor() as cur:
        for kpi in ("tickets_received", "on_time_rate", "open_tickets"):
            metric = default_catalog()[kpi]
            expected = compute(cur, kpi, period, filters={"category": category})["value"].iloc[0]
            assert shown[kpi] == format_value(expected, metric.unit)
        unfiltered = compute(cur, "tickets_received", period)["value"].iloc[0]
    assert shown["tickets_received"] != format_value(unfiltered, "件"), "the filter must narrow the KPI"


def test_a_tile_names_the_filters_it_cannot_apply(client, app):
    answers = run_page(client, app, "dispatch", {"channel": "hotline_12345"})
    from cockpit.pages.dispatch import BOARD

    iot = next(i for i, group in enumerate(BOARD.groups) if "live_alarms" in group.kpis)
    strip = answers[f"dispatch-kpis-{iot}"]  # IoT alarms: no channel
    assert any("未按渠道筛选" in note for note in texts(strip["children"], "kpi-note"))
    assert not texts(answers["dispatch-kpis-1"]["children"], "kpi-note")  # ticket quality: all by channel


def write_url(client: DashClient, trigger: dict, value, search: str = "", pattern_inputs: dict | None = None) -> str:
    """Run the URL-writing callback as if `trigger` (a pattern id) changed to `value`; returns the new search."""
    kinds = [
        ("filter", "value"),
        ("filter-range", "start_date"),
        ("filter-range", "end_date"),
        ("drill", "clickData"),
        ("chip", "n_clicks"),
        ("kpi-tile", "n_clicks"),
    ]
    inputs = []
    for kind, prop in kinds:
        items = list((pattern_inputs or {}).get((kind, prop), []))
        if trigger["type"] == kind and (kind != "filter-range" or prop == "start_date"):
            if kind != "filter-range":
                items.append({"id": trigger, "property": prop, "value": value})
        inputs.append(items)
    state = [{"id": "_pages_location", "property": "search", "value": search}]
    from tests.cockpit.dash_client import id_string

    changed = [f"{id_string(trigger)}.{'clickData' if trigger['type'] == 'drill' else 'value'}"]
    if trigger["type"] in ("chip", "kpi-tile"):
        changed = [f"{id_string(trigger)}.n_clicks"]
    if trigger["type"] == "filter-range":
        changed = [f"{id_string(trigger)}.start_date"]
    answer = client.update(
        "_pages_location.search", {"id": "_pages_location", "property": "search"}, inputs, state, changed
    )
    return answer.get("_pages_location", {}).get("search", search)


def test_clicks_and_filters_become_the_url(client, app, as_of):
    drill = {"type": "drill", "dim": "category", "chart": "dispatch-chart-1"}
    search = write_url(client, drill, {"points": [{"customdata": "sanitation"}]})
    assert search == "?category=sanitation"

    search = write_url(client, {"type": "filter", "key": "community"}, "S01C001", search)
    assert search == "?community=S01C001&category=sanitation"

    # Changing the community drops a grid chosen inside the old one.
    search = write_url(client, {"type": "filter", "key": "grid"}, "S01C001G01", search)
    search = write_url(client, {"type": "filter", "key": "community"}, "S01C002", search)
    assert "grid=" not in search and "community=S01C002" in search

    search = write_url(client, {"type": "chip", "key": "category"}, 1, search)
    assert search == "?community=S01C002"
    search = write_url(client, {"type": "kpi-tile", "kpi": "on_time_rate"}, 1, search)
    assert search == "?community=S01C002&kpi=on_time_rate"
    search = write_url(client, {"type": "chip", "key": "_all"}, 1, search)
    assert search == ""

    day = (as_of - timedelta(days=2)).isoformat()
    search = write_url(
        client, {"type": "drill", "dim": "day", "chart": "dispatch-chart-2"}, {"points": [{"customdata": day}]}
    )
    assert search == f"?period={day}%3A{day}"
    search = write_url(client, {"type": "filter", "key": "period"}, "this_year", search)
    assert search == "?period=this_year"

    layout = render(app, "dispatch", {"period": "this_year", "category": "sanitation"})
    store = view_store(layout)
    assert store["filters"] == {"category": "sanitation"}
    assert (store["start"], store["end"]) == (f"{as_of.year}-01-01", as_of.isoformat())
    chips = [c.children[0] for c in find(layout, by_type("chip"))]
    assert chips[0].startswith("类别：")


def test_treemap_nodes_drill_to_their_own_level(client):
    tree = {"type": "drill", "dim": "auto", "chart": "grid-chart-2"}
    assert write_url(client, tree, {"points": [{"customdata": "grid|S01C001G01"}]}) == "?grid=S01C001G01"
    assert write_url(client, tree, {"points": [{"customdata": "community|S01C002"}]}) == "?community=S01C002"
    assert write_url(client, tree, {"points": [{"customdata": "nonsense|x"}]}, "?kpi=visits") == "?kpi=visits"


def test_party_filters_offer_the_catalogs_names(app):
    layout = render(app, "party", {"org_level": "compound_branch"})
    (levels,) = find(layout, by_type("filter", key="org_level"))
    assert {"label": "小区党支部", "value": "compound_branch"} in levels.options
    chips = [c.children[0] for c in find(layout, by_type("chip"))]
    assert chips[0] == "组织层级：小区党支部"


def test_a_chart_click_that_is_no_click_changes_nothing(client):
    assert write_url(client, {"type": "drill", "dim": "category", "chart": "x"}, None, "?kpi=open_tickets") == (
        "?kpi=open_tickets"
    )


def records(client: DashClient, store: dict, request: dict, page: str = "dispatch") -> dict:
    answer = client.update(
        "getRowsResponse",
        {"id": {"page": page, "type": "records"}, "property": "getRowsResponse"},
        [{"id": {"page": page, "type": "records"}, "property": "getRowsRequest", "value": request}],
        [{"id": {"page": page, "type": "view"}, "property": "data", "value": store}],
    )
    return next(iter(answer.values()))["getRowsResponse"]


def test_record_table_pages_sorts_and_filters_the_rows_behind_the_number(client, app, as_of):
    store = view_store(render(app, "dispatch", {"category": "sanitation"}))
    with current_warehouse().cursor() as cur:
        expected = compute(cur, "tickets_received", View.from_dict(store).period, filters=store["filters"])
    total = int(expected["value"].iloc[0])
    assert total > 0
    first = records(client, store, {"startRow": 0, "endRow": 5, "sortModel": [{"colId": "received_at", "sort": "asc"}]})
    assert first["rowCount"] == total
    assert len(first["rowData"]) == min(5, total)
    assert {row["category"] for row in first["rowData"]} == {"环境卫生"}  # the category's name, not its code
    stamps = [row["received_at"] for row in first["rowData"]]
    assert stamps == sorted(stamps)
    assert "geometry" not in first["rowData"][0]

    everything = records(client, store, {"startRow": 0, "endRow": 1000})["rowData"]
    word = everything[0]["ticket_id"].split(":")[0]
    narrowed = records(
        client,
        store,
        {
            "startRow": 0,
            "endRow": 1000,
            "filterModel": {"ticket_id": {"filterType": "text", "type": "startsWith", "filter": word}},
        },
    )
    assert narrowed["rowCount"] == sum(1 for row in everything if row["ticket_id"].startswith(word))

    hostile = records(client, store, {"startRow": 0, "endRow": 5, "sortModel": [{"colId": "1; DROP TABLE x"}]})
    assert hostile == {"rowData": [], "rowCount": 0}


def test_exports_state_their_view_and_hold_only_masked_rows(app, as_of):
    client = signed_client(app)
    query = "?kpi=tickets_received&category=sanitation"
    csv_response = client.get(f"/export/records.csv{query}")
    assert csv_response.status_code == 200
    assert "attachment" in csv_response.headers["Content-Disposition"]
    text = csv_response.get_data().decode("utf-8")
    assert text.startswith('\ufeff"# 指标","受理工单 (tickets_received)"')
    assert '"# 筛选条件","类别=' in text and '"# 数据截至",' in text and '"# 导出时间",' in text
    assert "# 演示数据" in text
    lines = [line for line in text.splitlines()[1:] if not line.startswith('"#')]
    with current_warehouse().cursor() as cur:
        view = View.from_query({"category": "sanitation"}, as_of)
        total = int(compute(cur, "tickets_received", view.period, filters=view.filters)["value"].iloc[0])
    assert lines[0].startswith('"工单编号",') and len(lines) - 1 == total
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text), "a phone number reached an export"

    xlsx = client.get(f"/export/records.xlsx{query}")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "指标" and "tickets_received" in rows[0][1]
    header_at = next(i for i, row in enumerate(rows) if row[0] == "工单编号")
    assert len(rows) - header_at - 1 == total

    missing = client.get("/export/records.csv?category=sanitation")
    assert missing.status_code == 400 and "kpi" in missing.get_data(as_text=True)


def test_language_and_theme_are_cookies_and_change_every_label(app):
    from cockpit.app import shell

    with signed_context(app, "cockpit_lang=en; cockpit_theme=dark"):
        english = str(shell()) + str(board_layout(board("dispatch"), {}))
    with signed_context(app):
        chinese = str(shell()) + str(board_layout(board("dispatch"), {}))
    assert "Dispatch" in english and "Period" in english and "data-bs-theme='dark'" in english
    assert "指挥调度" in chinese and "统计期" in chinese and "data-bs-theme='light'" in chinese
    assert "指挥调度" not in english

    client = signed_client(app)
    response = client.get("/preference?lang=en", headers={"Referer": "http://localhost/dispatch?kpi=open_tickets"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dispatch?kpi=open_tickets")
    assert "cockpit_lang=en" in response.headers["Set-Cookie"]
    outside = client.get("/preference?theme=dark", headers={"Referer": "http://elsewhere.example/"})
    assert outside.headers["Location"] == "/"


def test_english_kpi_strip(app):
    english = DashClient(app, language="en")
    answers = run_page(english, app, "approvals")
    shown = json.dumps(answers["approvals-kpis-0"], ensure_ascii=False)
    assert "Approvals on-time rate" in shown and "按时办结率" not in shown and "MoM" in shown


def test_freshness_badge_turns_amber_then_red(app):
    from cockpit.app import freshness

    warehouse = current_warehouse()
    as_of = warehouse.info.as_of
    assert freshness(warehouse, "zh", now=as_of + timedelta(hours=8))[1] == "success"
    text, colour = freshness(warehouse, "zh", now=as_of + timedelta(hours=30))
    assert colour == "warning" and "滞后 30 小时" in text
    assert freshness(warehouse, "zh", now=as_of + timedelta(hours=60))[1] == "danger"
    assert text.startswith(f"数据截至 {warehouse.info.data_through:%Y-%m-%d}")


def test_metric_definitions_page_lists_the_whole_catalog(app):
    from cockpit.pages import metrics

    with signed_context(app):
        layout = metrics.layout(q="按期")
    (grid,) = find(layout, lambda i: i == "metrics-table")
    ids = {row["id"] for row in grid.rowData}
    assert ids == set(default_catalog())
    row = next(r for r in grid.rowData if r["id"] == "on_time_rate")
    assert "fct_ticket" in row["formula"] and "绿 95.0%" in row["thresholds"] and row["sources"]
    assert grid.dashGridOptions["quickFilterText"] == "按期"


def test_map_draws_the_warehouse_polygons_and_drills_to_grids(client, app):
    def map_figure(query):
        answers = run_page(client, app, "grid", query)
        return answers[next(k for k in answers if "grid-chart-0" in k)]["figure"]

    street = map_figure({})
    trace = street["data"][0]
    assert trace["type"] == "choropleth"  # SVG: no tiles configured, no WebGL
    communities = current_warehouse().dataset("communities")["community_id"]
    # every community has an outline, but the unknown place (未定位) of records with no place has none
    assert sorted(trace["locations"]) == sorted(communities[communities != "unknown"])
    geo = street["layout"]["geo"]
    assert "map" not in street["layout"]
    # Only our polygons: no base layer of Plotly's globe, whose outline it would fetch from its CDN.
    assert geo["visible"] is False and not any(value for key, value in geo.items() if key.startswith("show"))
    community = trace["locations"][0]
    grids = map_figure({"community": community})["data"][0]["locations"]
    assert grids and all(g.startswith(community) for g in grids)


def _polygons_box(figure: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north) around every polygon a map figure draws, from its GeoJSON coordinates."""
    points = []
    for feature in figure["data"][0]["geojson"]["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        points += [point for polygon in polygons for ring in polygon for point in ring]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def test_the_street_map_centres_where_the_street_says(app):
    client = DashClient(app)

    def shown(query: dict) -> tuple[tuple[float, float], float, tuple[float, float, float, float]]:
        """(centre, width in degrees of longitude, polygons' box) of the grid page's map."""
        # Settings are read once when the app starts; changed under a running app, its kept answers must go.
        current_warehouse()._cache.clear()
        answers = run_page(client, app, "grid", query)
        figure = answers[next(k for k in answers if "grid-chart-0" in k)]["figure"]
        (west, east), (south, north) = (
            figure["layout"]["geo"]["lonaxis"]["range"],
            figure["layout"]["geo"]["lataxis"]["range"],
        )
        box = _polygons_box(figure)
        # Every polygon in view.
        assert west < box[0] and box[2] < east and south < box[1] and box[3] < north, (west, south, east, north, box)
        return ((west + east) / 2, (south + north) / 2), east - west, box

    config = app.server.config
    configured = config["COCKPIT_STREET"]
    try:
        config["COCKPIT_STREET"] = replace(configured, centre=None)
        # No centre set (the demo's street, whose size follows its scale): the middle of the polygons.
        middle, fitted, (west, south, east, north) = shown({})
        assert middle == pytest.approx(((west + east) / 2, (south + north) / 2))
        # A centre inside the street: there, zoomed out (never in) so that every polygon stays in view.
        inside = (west + (east - west) / 4, south + (north - south) / 4)
        config["COCKPIT_STREET"] = replace(configured, name="某某街道", centre=inside)
        centre, width, _ = shown({})
        assert centre == pytest.approx(inside) and width > fitted
        # A community's map frames its own grids, whatever the street's centre.
        community = current_warehouse().dataset("community_shapes")["id"].iloc[0]
        centre, _, (cw, cs, ce, cn) = shown({"community": community})
        assert centre == pytest.approx(((cw + ce) / 2, (cs + cn) / 2))
        # A centre outside every polygon (a setting written for another area) would show none: the middle.
        config["COCKPIT_STREET"] = replace(configured, centre=(east + 0.05, north + 0.05))
        centre, width, _ = shown({})
        assert centre == pytest.approx(middle) and width == pytest.approx(fitted)
    finally:
        config["COCKPIT_STREET"] = configured
        current_warehouse()._cache.clear()


def test_map_tiles_are_optional_configuration(loaded_demo):
    from cockpit.components.map import choropleth

    warehouse = current_warehouse()
    shapes = warehouse.dataset("community_shapes")
    values = warehouse.metric("visits", Period(date(2026, 9, 26), date(2026, 10, 2)), group_by="community")
    metric = default_catalog()["visits"]
    tiled = choropleth(shapes, values, metric, "community", title="x", tiles="http://tiles.intranet/{z}/{x}/{y}.png")
    # Over tiles, the map is MapLibre's, with the tiles under the polygons.
    assert tiled["data"][0]["type"] == "choroplethmap" and "geo" not in tiled["layout"]
    assert tiled["layout"]["map"]["layers"][0]["source"] == ["http://tiles.intranet/{z}/{x}/{y}.png"]
    assert len(tiled["data"][0]["geojson"]["features"]) == len(shapes)
    untiled = choropleth(shapes, values, metric, "community", title="x")
    assert untiled["data"][0]["type"] == "choropleth" and "map" not in untiled["layout"]
    assert untiled["data"][0]["locations"] == tiled["data"][0]["locations"]
    assert untiled["data"][0]["z"] == tiled["data"][0]["z"]


def test_responses_are_compressed(app):
    client = signed_client(app)
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers.get("Content-Encoding") == "gzip"


def test_cache_is_keyed_by_release_and_question(app, as_of):
    warehouse = current_warehouse()
    period = Period.preset("last_30_days", as_of)
    first = warehouse.metric("tickets_received", period, filters={"category": "sanitation"})
    first.loc[0, "value"] = -1  # a caller changing its copy must not change the cache
    again = warehouse.metric("tickets_received", period, filters={"category": "sanitation"})
    assert again["value"].iloc[0] >= 0
    filters = (("category", "sanitation"),)
    key = (warehouse.info.run_id, "metric", "tickets_received", str(period), filters, None, True, None)  # no scope
    assert key in warehouse._cache


def test_the_overview_ranking_follows_the_map_kpi(client, app):
    answers = run_page(client, app, "overview", {"map": "visit_coverage"})
    figures = {json.loads(k)["chart"]: v["figure"] for k, v in answers.items() if k.startswith("{")}
    assert "走访覆盖率" in figures["overview-chart-0"]["layout"]["title"]["text"]
    assert figures["overview-chart-3"]["layout"]["title"]["text"] == "社区排名 · 走访覆盖率"
    search = write_url(client, {"type": "filter", "key": "map"}, "open_hazards", "?map=visit_coverage")
    assert search == "?map=open_hazards"


def test_grid_tree_shows_micro_grids_inside_one_community(app):
    from cockpit.components.board import grid_tree

    street = grid_tree(View.from_query({}, date(2026, 10, 2)), "zh")
    assert not street["id"].str.startswith("micro_grid|").any()
    # every community of the register is a root; the unknown place (未定位) has no grids and no residents
    assert set(street.loc[street["parent"] == "", "id"]) == {
        f"community|{c}" for c in current_warehouse().dataset("communities")["community_id"] if c != "unknown"
    }
    community = street.loc[street["parent"] == "", "id"].iloc[0].split("|")[1]
    one = grid_tree(View.from_query({"community": community}, date(2026, 10, 2)), "zh")
    micro = one[one["id"].str.startswith("micro_grid|")]
    assert len(micro) > 0 and set(micro["parent"]) <= set(one["id"])
    # A treemap with branchvalues="total" needs every parent at least the sum of its children.
    sums = one.groupby("parent")["residents"].sum()
    values = one.set_index("id")["residents"]
    assert all(values[parent] >= total - 1e-6 for parent, total in sums.items() if parent)


def test_a_ranking_of_zeros_writes_each_value_beside_its_bar_on_an_axis_from_zero():
    """The worst 20 of a district's grids can all be 0 %: each bar has no width to write its value in."""
    import pandas as pd

    from cockpit.components.charts import bar

    rate = default_catalog()["grid_self_resolution_rate"]
    frame = pd.DataFrame(
        {"grid": ["g1", "g2", "g3"], "label": ["A", "B", "C"], "value": [0.0, 0.0, 0.4], "status": ["red"] * 3}
    )
    figure = bar(frame, rate, "grid", title="t", top=3)
    (trace,) = figure.data
    shown = dict(zip(trace.customdata, zip(trace.text, trace.textposition, strict=True), strict=True))
    assert shown == {"g1": ("0.0%", "outside"), "g2": ("0.0%", "outside"), "g3": ("40.0%", "auto")}
    zeros = bar(frame.assign(value=0.0), rate, "grid", title="t", top=3)
    assert zeros.layout.xaxis.rangemode == "tozero"  # 0 % to the right, not an axis from −1 % to 1 %
    assert set(zeros.data[0].textposition) == {"outside"}


def test_rankings_lead_with_what_needs_attention():
    import pandas as pd

    from cockpit.components.charts import bar

    frame = pd.DataFrame(
        {"community": ["a", "b", "c"], "label": ["A", "B", "C"], "value": [0.99, 0.80, 0.95], "status": ["green"] * 3}
    )
    up = bar(frame, default_catalog()["on_time_rate"], "community", title="t", top=2)
    assert list(up.data[0].customdata)[::-1] == ["b", "c"]  # drawn bottom-up: the worst bar is on top
    counts = frame.assign(value=[5, 9, 7])
    neutral = bar(counts, default_catalog()["tickets_received"], "community", title="t", top=2)
    assert list(neutral.data[0].customdata)[::-1] == ["b", "c"]


def test_a_custom_date_range_becomes_the_period(client, app):
    picker = {"type": "filter-range", "key": "period"}
    dates = {
        ("filter-range", "start_date"): [{"id": picker, "property": "start_date", "value": "2026-09-30"}],
        ("filter-range", "end_date"): [{"id": picker, "property": "end_date", "value": "2026-09-28"}],
    }
    search = write_url(client, picker, None, "?category=sanitation", pattern_inputs=dates)
    assert search == "?period=2026-09-28%3A2026-09-30&category=sanitation"  # swapped ends are put in order
    store = view_store(render(app, "dispatch", {"period": "2026-09-28:2026-09-30"}))
    assert (store["preset"], store["start"], store["end"]) == ("custom", "2026-09-28", "2026-09-30")
