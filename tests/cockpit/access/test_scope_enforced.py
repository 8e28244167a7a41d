"""A community-scoped and a grid-scoped user see only their own rows, whatever the browser posts.

Every board callback of every page, the record tables, the CSV export, the map, the grid tree, the filter
options and the wall (its boards and its alarm/overdue ticker) are asked as a real signed-in account, also
with hostile view stores naming another community, another grid or another page's KPI. The numbers are
checked against `compute(..., scope=...)` run here on the release file opened with duckdb, with the scope's
rows worked out here from the release's own dimension tables; a filter outside the scope must yield nothing.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import time
from dataclasses import dataclass
from datetime import timedelta

import duckdb
import pytest

from cockpit.access.accounts import Scope
from cockpit.access.state import connect
from cockpit.access.tokens import ScreenTokens
from cockpit.components.board import board_layout
from cockpit.components.format import format_value
from cockpit.components.wall import BOARDS as WALL_BOARDS
from cockpit.components.wall import TICKER_ALARMS, TICKER_OVERDUE
from cockpit.data import current_warehouse
from cockpit.metrics import Period, compute, get_metric
from cockpit.metrics.catalog import RowScope
from cockpit.view import View
from tests.cockpit.dash_client import DashClient, by_type, find, id_string
from tests.cockpit.test_pages import BOARDS as PAGES
from tests.cockpit.test_pages import texts
from tests.cockpit.test_record_scope import page_boards
from tests.fixtures.accounts import signed_client, signed_context

PERIOD = "this_year"
TICKETS = "tickets_received"
WALL_HOURS = 24 * 7  # the ticker's alarms: a week of data, so that a small demo street has some to list
UNKNOWN = "unknown"  # the place of a record with none (未定位): no community of anyone's


@dataclass(frozen=True)
class Reader:
    """A scoped account, what it may see (worked out from the release here) and a place it may not."""

    account: dict
    row_scope: RowScope
    units: frozenset[str]  # community and grid ids whose rows or shapes it may see
    other_community: str
    other_grid: str


@pytest.fixture(scope="module")
def release(loaded_demo):
    con = duckdb.connect(str(loaded_demo.release), read_only=True)
    yield con
    con.close()


def busiest(con, sql: str) -> list[str]:
    return [row[0] for row in con.execute(sql).fetchall()]


@pytest.fixture(scope="module")
def places(release) -> dict:
    """Two communities with tickets, the busiest grid of the first, and every unit's community."""
    first, second = busiest(
        release,
        "SELECT community_id FROM fct_ticket WHERE community_id IN (SELECT community_id FROM dim_community) "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2",
    )
    grid, other_grid = busiest(
        release,
        f"SELECT grid_id FROM fct_ticket WHERE community_id = '{first}' AND grid_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2",
    )
    units = release.execute("SELECT unit_id, community_id, parent_id FROM dim_grid").fetchall()
    names = dict(release.execute("SELECT community_id, name FROM dim_community").fetchall())
    return {"first": first, "second": second, "grid": grid, "other_grid": other_grid, "units": units, "names": names}


@pytest.fixture(scope="module")
def community_reader(places) -> Reader:
    first = places["first"]
    units = frozenset({first} | {unit for unit, community, _ in places["units"] if community == first})
    return Reader(
        {"name": "probe_community", "role": "community", "scope": f"community:{first}"},
        RowScope((first,)),
        units,
        places["second"],
        next(unit for unit, community, _ in places["units"] if community == places["second"] and unit != community),
    )


@pytest.fixture(scope="module")
def grid_reader(places) -> Reader:
    first, grid = places["first"], places["grid"]
    units = frozenset({first, grid} | {unit for unit, _, parent in places["units"] if parent == grid})
    return Reader(
        {"name": "probe_grid", "role": "community", "scope": f"grid:{grid}"},
        RowScope((first,), (grid,)),
        units,
        places["second"],
        places["other_grid"],
    )


@pytest.fixture(scope="module", params=["community", "grid"])
def reader(request, community_reader, grid_reader) -> Reader:
    return community_reader if request.param == "community" else grid_reader


def clients(app, reader: Reader) -> tuple[DashClient, object]:
    return DashClient(app, **reader.account), signed_client(app, **reader.account)


def render(app, reader: Reader, page: str, query: dict | None = None):
    with signed_context(app, **reader.account):
        return board_layout(page_boards()[page], {"period": PERIOD, **(query or {})})


def tiles(answer: dict, class_name: str = "kpi-value") -> dict[str, str]:
    return {tile["props"]["data-kpi"]: texts(tile, class_name)[0] for tile in answer["children"]}


def strings(node) -> set[str]:
    """Every string anywhere in a figure or a component tree (ids, labels, custom data, GeoJSON properties)."""
    found: set[str] = set()

    def visit(each):
        if isinstance(each, str):
            found.add(each)
            found.update(each.split("|"))  # treemap nodes are "dimension|id"
        elif isinstance(each, dict):
            for value in each.values():
                visit(value)
        elif isinstance(each, list | tuple):
            for value in each:
                visit(value)

    visit(node)
    return found


def expected_tile(release, kpi: str, period: Period, scope: RowScope, filters: dict) -> str:
    frame = compute(release, kpi, period, filters=filters, scope=scope)
    return format_value(frame["value"].iloc[0] if not frame.empty else None, get_metric(kpi).unit)


def nothing(release, kpi: str, period: Period, scope: RowScope, filters: dict) -> bool:
    """Whether the scoped compute for this filter finds no rows (an empty frame, 0, or no value)."""
    frame = compute(release, kpi, period, filters=filters, scope=scope, compare=False)
    return frame.empty or frame["value"].isna().all() or float(frame["value"].fillna(0).iloc[0]) == 0.0


def run_page(client: DashClient, layout, page: str, store: dict | None = None) -> dict:
    answers = {}
    for output, outputs, inputs in client.page_updates(layout, page):
        if store is not None:
            inputs = [{**inputs[0], "value": store}]
        answers.update(client.update(output, outputs, inputs))
    return answers


def hostile(store: dict, **filters: str) -> dict:
    forged = copy.deepcopy(store)
    forged["filters"] = {**forged.get("filters", {}), **filters}
    return forged


def other_names(places) -> list[str]:
    """Names of the communities outside the scope (not the unknown place's label, which is no community)."""
    return [name for community, name in places["names"].items() if community not in (places["first"], UNKNOWN)]


def all_unit_ids(places) -> set[str]:
    return {unit for unit, _, _ in places["units"]} | set(places["names"])


# ---- every board callback of every page -------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_board_callback_answers_with_the_readers_rows_only(app, release, places, reader, page):
    client, _ = clients(app, reader)
    layout = render(app, reader, page)
    (store,) = find(layout, by_type("view", page=page))
    period = View.from_dict(store.data).period
    answers = run_page(client, layout, page)
    board = page_boards()[page]
    narrowed = 0
    for index, group in enumerate(board.groups):
        shown = tiles(answers[f"{page}-kpis-{index}"])
        tile_period = Period.preset(group.period, period.end) if group.period else period
        for kpi in group.kpis:
            assert shown[kpi] == expected_tile(release, kpi, tile_period, reader.row_scope, {}), (page, kpi)
            narrowed += shown[kpi] != expected_tile(release, kpi, tile_period, None, {})
    assert narrowed or page == "party", f"no tile of {page} differs from the street's: the scope did nothing"
    outside = all_unit_ids(places) - reader.units
    for key, answer in answers.items():
        leaked = strings(answer) & outside
        assert not leaked, f"{page} {key} shows places outside the scope: {sorted(leaked)[:5]}"


@pytest.mark.parametrize("page", PAGES)
def test_a_filter_outside_the_scope_yields_nothing_never_the_other_places_numbers(app, release, places, reader, page):
    client, _ = clients(app, reader)
    layout = render(app, reader, page)
    (store,) = find(layout, by_type("view", page=page))
    period = View.from_dict(store.data).period
    board = page_boards()[page]
    for filters in ({"community": reader.other_community}, {"grid": reader.other_grid}):
        answers = run_page(client, layout, page, hostile(store.data, **filters))
        for index, group in enumerate(board.groups):
            if group.period:
                continue
            shown = tiles(answers[f"{page}-kpis-{index}"])
            for kpi in group.kpis:
                metric = get_metric(kpi)
                if not all(metric.supports(key) for key in filters):
                    continue  # the tile says it ignores this filter; its number is the scope's own (checked above)
                assert nothing(release, kpi, period, reader.row_scope, filters), (kpi, filters)
                assert shown[kpi] == expected_tile(release, kpi, period, reader.row_scope, filters), (page, kpi)
                street = compute(release, kpi, period, filters=filters, compare=False)
                if not street.empty and street["value"].fillna(0).iloc[0] not in (0, 0.0):
                    assert shown[kpi] != format_value(street["value"].iloc[0], metric.unit), (page, kpi, filters)
        outside = all_unit_ids(places) - reader.units
        for key, answer in answers.items():
            leaked = strings(answer) & outside - set(filters.values())
            assert not leaked, f"{page} {key} under {filters} shows {sorted(leaked)[:5]}"


# ---- records and exports ----------------------------------------------------------------------------


def records(client: DashClient, page: str, store: dict, request: dict | None = None) -> dict:
    answer = client.update(
        "getRowsResponse",
        {"id": {"page": page, "type": "records"}, "property": "getRowsResponse"},
        [{"id": {"page": page, "type": "records"}, "property": "getRowsRequest", "value": request or {"startRow": 0}}],
        [{"id": {"page": page, "type": "view"}, "property": "data", "value": store}],
    )
    return next(iter(answer.values()))["getRowsResponse"]


def scoped_ticket_ids(release, reader: Reader, period: Period, **filters: str) -> set[str]:
    """The tickets behind tickets_received for the reader, selected here by hand from the fact table."""
    sql = (
        "SELECT ticket_id FROM fct_ticket WHERE duplicate_of IS NULL AND received_at >= $start "
        "AND received_at < $end + INTERVAL 1 DAY AND community_id IN (SELECT unnest($communities))"
    )
    params = {"start": period.start, "end": period.end, "communities": list(reader.row_scope.communities)}
    if reader.row_scope.grids is not None:
        sql += " AND (grid_id IN (SELECT unnest($grids)) OR micro_grid_id IN (SELECT unnest($grids)))"
        params["grids"] = list(reader.row_scope.grids)
    for key, value in filters.items():
        sql += f" AND {key}_id = ${key}"
        params[key] = value
    return {row[0] for row in release.execute(sql, params).fetchall()}


def test_the_record_table_serves_only_the_readers_records(app, release, reader):
    client, _ = clients(app, reader)
    layout = render(app, reader, "dispatch", {"kpi": TICKETS})
    (store,) = find(layout, by_type("view", page="dispatch"))
    period = View.from_dict(store.data).period
    answer = records(client, "dispatch", {**store.data, "record_kpi": TICKETS}, {"startRow": 0, "endRow": 500})
    expected = scoped_ticket_ids(release, reader, period)
    assert expected, "the reader's scope holds tickets this year"
    assert answer["rowCount"] == len(expected)
    assert {row["ticket_id"] for row in answer["rowData"]} == expected
    for forged in (
        hostile(store.data, community=reader.other_community),
        hostile(store.data, grid=reader.other_grid),
    ):
        answer = records(client, "dispatch", {**forged, "record_kpi": TICKETS})
        assert answer["rowCount"] == 0 and answer["rowData"] == []
    # A column filter of the table naming another community: the scope still holds.
    column_filter = {"community_id": {"filterType": "text", "type": "equals", "filter": reader.other_community}}
    answer = records(
        client, "dispatch", {**store.data, "record_kpi": TICKETS}, {"startRow": 0, "filterModel": column_filter}
    )
    assert answer["rowCount"] == 0 and answer["rowData"] == []
    # Another page's KPI posted from this page: not served, whoever's rows they would be.
    other = records(client, "dispatch", {**store.data, "record_kpi": "approvals_received"})
    assert other.get("rowCount", 0) == 0 and not other.get("rowData")


def export_rows(client, query: str) -> tuple[list[str], list[list[str]]]:
    response = client.get(f"/export/records.csv?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    lines = [row for row in csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))) if row]
    body = [row for row in lines if not row[0].startswith("#")]
    return body[0], body[1:]


def test_the_csv_export_holds_only_the_readers_records(app, release, reader):
    _, client = clients(app, reader)
    header, rows = export_rows(client, f"kpi={TICKETS}&period={PERIOD}")
    period = View.from_query({"period": PERIOD}, release_end(release)).period
    ids = {row[header.index("工单编号")] for row in rows}
    assert ids == scoped_ticket_ids(release, reader, period)
    for filters in (f"community={reader.other_community}", f"grid={reader.other_grid}"):
        _, rows = export_rows(client, f"kpi={TICKETS}&period={PERIOD}&{filters}")
        assert rows == []


def test_a_background_export_holds_only_the_readers_records(app, release, reader):
    _, client = clients(app, reader)
    started = client.post("/export/jobs", json={"kpi": TICKETS, "period": PERIOD, "format": "csv"})
    assert started.status_code == 202, started.get_data(as_text=True)
    job = started.get_json()
    for _ in range(600):
        state = client.get(job["status_url"]).get_json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert state["status"] == "done", state
    text = client.get(job["download_url"]).get_data().decode("utf-8-sig")
    lines = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")]
    header, rows = lines[0], lines[1:]
    period = View.from_query({"period": PERIOD}, release_end(release)).period
    assert {row[header.index("工单编号")] for row in rows} == scoped_ticket_ids(release, reader, period)


def release_end(release):
    del release
    return current_warehouse().info.data_through


# ---- map, grid tree, filter options ---------------------------------------------------------------


def figures(answers: dict) -> dict[str, dict]:
    return {key: value["figure"] for key, value in answers.items() if key.startswith("{")}


def test_the_map_draws_only_the_readers_polygons(app, places, reader):
    client, _ = clients(app, reader)
    boards = page_boards()
    pages = [page for page, board in boards.items() if any(chart.kind == "map" for chart in board.charts)]
    assert pages
    for page in pages:
        for query in ({}, {"community": places["first"]}):
            layout = render(app, reader, page, query)
            answers = run_page(client, layout, page)
            maps = [figure for figure in figures(answers).values() if "geojson" in json.dumps(figure)]
            assert maps, f"{page} drew no map"
            for figure in maps:
                features = [
                    feature for trace in figure["data"] for feature in (trace.get("geojson") or {}).get("features", [])
                ]
                drawn = strings([feature.get("id") for feature in features] + [f.get("properties") for f in features])
                assert features and drawn & reader.units, f"{page} {query}: none of the reader's polygons"
                assert not drawn & (all_unit_ids(places) - reader.units), f"{page} {query}: foreign polygons"


def test_the_grid_tree_and_the_filter_options_list_only_the_readers_places(app, places, reader):
    client, _ = clients(app, reader)
    outside = all_unit_ids(places) - reader.units
    for query in ({}, {"community": places["first"]}, {"community": reader.other_community}):
        layout = render(app, reader, "grid", query)
        options = {
            component.id["key"]: [option["value"] for option in component.options]
            for component in find(layout, by_type("filter"))
        }
        assert options["community"] == [places["first"]]
        assert set(options.get("grid", [])) <= reader.units
        tree = [
            figure
            for figure in figures(run_page(client, layout, "grid")).values()
            if any(trace.get("type") == "treemap" for trace in figure["data"])
        ]
        assert tree or query.get("community") == reader.other_community  # outside the scope: no tree at all
        assert not strings(tree) & outside, f"grid tree under {query} shows foreign places"
    # The names of other communities appear nowhere on the page either.
    rendered = json.dumps(render(app, reader, "grid").to_plotly_json(), ensure_ascii=False, default=str)
    others = other_names(places)
    assert not [name for name in others if re.search(rf"\b{re.escape(name)}\b", rendered)]


# ---- the wall ---------------------------------------------------------------------------------------


def wall_client(app, reader: Reader) -> DashClient:
    """A wall screen paired by a token with the reader's scope (a DashClient only for its request bodies)."""
    gate = app.server.config["COCKPIT_GATE"]
    name = f"probe-{reader.account['name']}"
    tokens = ScreenTokens(connect(gate.home), gate.settings)
    if name in {token.name for token in tokens.list()}:
        tokens.revoke(name, actor="tests")
    _, secret = tokens.issue(name, Scope.parse(reader.account["scope"]), actor="tests")
    client = DashClient(app)
    screen = app.server.test_client()
    assert screen.get(f"/wall?token={secret}").status_code == 302
    client.client = screen
    return client


def wall_refresh(client: DashClient, hours: int = WALL_HOURS) -> dict:
    from cockpit.pages.wall import config
    from tests.cockpit.test_wall import refresh_outputs

    outputs = refresh_outputs()
    settings = {**config({}, "zh"), "alarm_level": "low", "alarm_hours": hours}
    return client.update(
        "wall-ticker.children",
        outputs,
        [{"id": "wall-refresh", "property": "n_intervals", "value": 1}],
        state=[
            {"id": "wall-config", "property": "data", "value": settings},
            {"id": "wall-seen", "property": "data", "value": []},
            {"id": "wall-release", "property": "data", "value": None},
            {"id": "wall-alarm", "property": "data", "value": None},
        ],
    )


def test_the_wall_boards_and_ticker_show_only_the_screens_scope(app, release, places, reader):
    client = wall_client(app, reader)
    answer = wall_refresh(client)
    period = View.from_query({}, current_warehouse().info.data_through).period
    for board in WALL_BOARDS:
        shown = tiles(answer[id_string({"board": board.id, "type": "wall-kpis"})], "wall-kpi-value")
        for kpi in board.groups[0].kpis:
            assert shown[kpi] == expected_tile(release, kpi, period, reader.row_scope, {}), (board.id, kpi)
    ticker = answer["wall-ticker"]["children"]
    text = " ".join(texts(ticker, "ticker-item"))
    others = other_names(places)
    assert not [name for name in others if name in text], "the ticker names another community"
    live = compute(release, "live_alarms", period, scope=reader.row_scope, compare=False)["value"].iloc[0]
    counts = " ".join(texts(ticker, "ticker-count"))
    assert format_value(live, get_metric("live_alarms").unit) in counts or str(int(live or 0)) in counts
    # The alarms and overdue tickets listed are the screen's own, counted here from the fact tables.
    as_of = current_warehouse().info.as_of
    alarm_scope, params = "community_id IN (SELECT unnest($c))", {"c": list(reader.row_scope.communities)}
    if reader.row_scope.grids is not None:
        alarm_scope += " AND grid_id IN (SELECT unnest($g))"
        params["g"] = list(reader.row_scope.grids)
    ticket_scope = alarm_scope.replace(
        "grid_id IN (SELECT unnest($g))", "(grid_id IN (SELECT unnest($g)) OR micro_grid_id IN (SELECT unnest($g)))"
    )
    alarms = release.execute(
        f"SELECT count(*) FROM fct_alarm WHERE (is_live OR raised_at >= $since) AND {alarm_scope}",
        {**params, "since": as_of - timedelta(hours=WALL_HOURS)},
    ).fetchone()[0]
    overdue = release.execute(
        "SELECT count(*) FROM fct_ticket WHERE is_open_overdue AND duplicate_of IS NULL "
        f"AND deadline_at >= $since AND {ticket_scope}",
        {**params, "since": as_of - timedelta(hours=24)},
    ).fetchone()[0]
    assert len(items(ticker, "level-")) == min(alarms, TICKER_ALARMS) * 2  # the track holds its items twice
    assert len(items(ticker, "overdue")) == min(overdue, TICKER_OVERDUE) * 2


def test_the_street_screens_ticker_lists_what_a_scoped_screen_must_not(app, release, places, community_reader):
    """The check above is no empty comparison: the whole street's screen lists alarms the scoped one leaves out."""
    street = Reader({"name": "street", "scope": "street"}, None, frozenset(), "", "")
    ticker = wall_refresh(wall_client(app, street))["wall-ticker"]["children"]
    raised = release.execute(
        "SELECT count(*) FROM fct_alarm WHERE community_id <> $mine", {"mine": places["first"]}
    ).fetchone()[0]
    assert raised and items(ticker, "level-"), "the demo street has alarms outside the scoped community"
    scoped = wall_refresh(wall_client(app, community_reader))["wall-ticker"]["children"]
    assert len(items(scoped, "level-")) < len(items(ticker, "level-"))


def items(node, marker: str) -> list[dict]:
    """Ticker items whose class names contain `marker`."""
    found = []

    def visit(each):
        if isinstance(each, dict):
            props = each.get("props", {})
            classes = str(props.get("className", "")).split()
            if "ticker-item" in classes and any(marker in each for each in classes):
                found.append(each)
            visit(props.get("children"))
        elif isinstance(each, list):
            for item in each:
                visit(item)

    visit(node)
    return found


# ---- the cache ------------------------------------------------------------------------------------


@pytest.mark.parametrize("street_first", [True, False])
def test_the_cache_gives_each_reader_their_own_answer_in_either_order(app, release, community_reader, street_first):
    # A question no other test asks, so the cache is cold for the first reader.
    query = {"period": "last_30_days" if street_first else "this_quarter", "channel": "hotline_12345"}
    street = {"name": "probe_street", "role": "analyst", "scope": "street"}
    order = [("street", street), ("community", community_reader.account)]
    if not street_first:
        order.reverse()
    shown = {}
    for who, account in order:
        client = DashClient(app, **account)
        with signed_context(app, **account):
            layout = board_layout(page_boards()["dispatch"], query)
        (store,) = find(layout, by_type("view", page="dispatch"))
        answers = run_page(client, layout, "dispatch")
        shown[who] = (tiles(answers["dispatch-kpis-0"]), View.from_dict(store.data).period)
    for who, scope in (("street", None), ("community", community_reader.row_scope)):
        values, period = shown[who]
        for kpi, value in values.items():
            assert value == expected_tile(release, kpi, period, scope, {"channel": "hotline_12345"}), (who, kpi)
    assert shown["street"][0] != shown["community"][0]
