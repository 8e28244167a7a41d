"""Labels, not codes: record tables, page lists and exports read in the reader's language.

Expected names are read here from the seed CSVs and the demo release's own name
tables (the csv module, plain SQL), never through cockpit.labels.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import openpyxl

from cockpit import labels
from cockpit.data import current_warehouse
from cockpit.metrics import get_metric
from cockpit.view import View
from tests.cockpit.dash_client import DashClient
from tests.fixtures.accounts import signed_client, signed_context
from warehouse.checks import load_schema

SEEDS = Path("warehouse/seeds")
SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
KPI = "tickets_received"
PERIOD = "this_year"


def _seed(name: str) -> dict[str, tuple[str, str]]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8") as handle:
        return {row["code"]: (row["name_zh"], row["name_en"]) for row in csv.DictReader(handle)}


def _marts() -> dict[str, list[str]]:
    return {
        name: list(spec.get("columns") or {})
        for name, spec in load_schema()["models"].items()
        if name.startswith(("fct_", "dim_"))
    }


def test_every_mart_column_has_a_header_in_both_languages_that_is_no_column_name():
    for model, columns in _marts().items():
        seen = {"zh": set(), "en": set()}
        for column in columns:
            for lang in ("zh", "en"):
                title = labels.header(column, lang)
                assert title and title != column and not SNAKE.match(title), f"{model}.{column} ({lang}): {title!r}"
                assert title not in seen[lang], f"{model}: two columns titled {title!r}"
                seen[lang].add(title)
        assert all(re.search(r"[\u4e00-\u9fff]", labels.header(column, "zh")) for column in columns), model


def unnamed_codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every distinct value of every coded column of every mart in the release without a name in a language."""
    unnamed = []
    for model in _marts():
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [model]
        ).fetchall()
        for column, listed in labels.coded_columns(model, columns).items():
            values = {
                str(v).lower() if isinstance(v, bool) else str(v)
                for (v,) in con.execute(
                    f'SELECT DISTINCT "{column}" FROM {model} WHERE "{column}" IS NOT NULL'
                ).fetchall()
            }
            for lang in ("zh", "en"):
                named = labels.names(con, listed, lang)
                missing = {v for v in values if not named.get(v) or named[v] == v}
                if missing:
                    unnamed.append(f"{model}.{column} ({listed}, {lang}): {sorted(missing)[:5]}")
    return unnamed


def test_every_coded_value_in_the_demo_release_has_a_name_in_both_languages(loaded_demo):
    """Every distinct value of every coded column of every mart: a name, never the code itself (the place ids too)."""
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        unnamed = unnamed_codes(con)
    assert not unnamed, "\n".join(unnamed)


def _export(app, fmt: str, lang: str = "zh"):
    client = signed_client(app)
    client.set_cookie("cockpit_lang", lang)
    response = client.get(f"/export/records.{fmt}?kpi={KPI}&period={PERIOD}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def _table(rows: list[list], first: str) -> list[dict]:
    at = next(i for i, row in enumerate(rows) if row and row[0] == first)
    return [dict(zip(rows[at], row, strict=True)) for row in rows[at + 1 :]]


def test_an_xlsx_export_has_labelled_columns_and_the_codes_beside_them(app, loaded_demo):
    sheet = openpyxl.load_workbook(io.BytesIO(_export(app, "xlsx").get_data())).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    records = _table(rows, "工单编号")
    assert records, "no rows"
    titles = list(records[0])
    assert not [title for title in titles if SNAKE.match(str(title))]
    assert titles.index("类别代码") == titles.index("类别") + 1
    categories = _seed("category")
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        communities = dict(con.execute("SELECT community_id, name FROM dim_community").fetchall())
    for record in records:
        assert record["类别"] == categories[record["类别代码"]][0]
        assert record["社区"] == communities.get(record["社区代码"], "未定位")
        assert record["已办结"] in ("是", "否")
    assert "已办结代码" not in titles  # a yes/no column needs no code column


def test_an_english_csv_export_names_codes_in_english(app):
    text = _export(app, "csv", "en").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    records = _table(rows, "Ticket no.")
    channels = _seed("channel")
    assert records
    for record in records:
        assert record["Channel"] == channels[record["Channel code"]][1]
        assert record["Resolved"] in ("Yes", "No")
        # places in pinyin: no Chinese character left, one capitalised word per name and kind
        assert not re.search(r"[\u4e00-\u9fff]", record["Community"] + record["Grid"])
        assert record["Community"].endswith(" Community") or record["Community"] == "Unlocated"


def _store(kpi: str) -> dict:
    view = View.from_query({"period": PERIOD}, current_warehouse().info.data_through)
    return {**view.to_dict(), "record_kpi": kpi}


def _rows(client: DashClient, request: dict) -> dict:
    answer = client.update(
        "getRowsResponse",
        {"id": {"page": "dispatch", "type": "records"}, "property": "getRowsResponse"},
        [{"id": {"page": "dispatch", "type": "records"}, "property": "getRowsRequest", "value": request}],
        [{"id": {"page": "dispatch", "type": "view"}, "property": "data", "value": _store(KPI)}],
    )
    return next(iter(answer.values()))["getRowsResponse"]


def test_the_record_grid_shows_names_and_filters_and_sorts_on_them(app, loaded_demo):
    client = DashClient(app)
    noise = "噪音"
    answer = _rows(
        client,
        {
            "startRow": 0,
            "endRow": 50,
            "filterModel": {"category": {"filterType": "text", "type": "contains", "filter": noise}},
            "sortModel": [{"colId": "category", "sort": "asc"}],
        },
    )
    shown = [row["category"] for row in answer["rowData"]]
    assert shown and all(noise in name for name in shown)
    assert shown == sorted(shown)
    # independently: tickets of the period whose category's seed name contains 噪音
    codes = [code for code, (zh, _) in _seed("category").items() if noise in zh]
    metric = get_metric(KPI)
    view = View.from_dict(_store(KPI))
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        expected = con.execute(
            f"SELECT count(*) FROM fct_ticket WHERE {metric.period_column} >= ? AND {metric.period_column} < ? "
            f"AND category IN (SELECT unnest(?)) AND ({metric.where or 'true'})",
            [view.period.start_at, view.period.end_before, codes],
        ).fetchone()[0]
    assert answer["rowCount"] == expected > 0


def test_a_page_chosen_on_codes_names_its_rows_and_keeps_the_order_and_page(app, loaded_demo):
    """The second page of this year's tickets by deadline, read in Chinese: the same deadlines in the same order
    as the page read as codes, each ticket's category, community and 是/否 named as the seeds and the release's
    own tables name them (read here with the csv module and plain SQL)."""
    view = View.from_query({"period": PERIOD}, current_warehouse().info.data_through)
    sort = [{"colId": "deadline_at", "sort": "asc"}]
    with signed_context(app):
        warehouse = current_warehouse()
        codes, total = warehouse.records(KPI, view.period, sort=sort, offset=10, limit=10)
        named, named_total = warehouse.records(KPI, view.period, sort=sort, offset=10, limit=10, lang="zh")
    assert named_total == total > 20 and len(named) == len(codes) == 10
    assert list(named["deadline_at"]) == list(codes["deadline_at"]) == sorted(named["deadline_at"])
    with duckdb.connect(str(loaded_demo.release), read_only=True) as con:
        truth = {
            ticket: row
            for ticket, *row in con.execute(
                "SELECT t.ticket_id, t.category, c.name, t.is_resolved FROM fct_ticket AS t "
                "LEFT JOIN dim_community AS c USING (community_id) WHERE t.ticket_id IN (SELECT unnest(?))",
                [list(named["ticket_id"])],
            ).fetchall()
        }
    categories = {code: zh for code, (zh, _) in _seed("category").items()}
    for ticket, category, community, resolved in zip(
        named["ticket_id"], named["category"], named["community_id"], named["is_resolved"], strict=True
    ):
        code, place, done = truth[ticket]
        assert category == categories[code]
        assert community == (place or "未定位")
        assert resolved == ("是" if done else "否")


def test_the_grid_and_the_page_lists_are_titled_and_filled_in_the_readers_language(app, loaded_demo):
    from cockpit.components.board import Chart, render_list
    from cockpit.components.records import column_defs
    from cockpit.pages.overview import BOARD

    # the overview's own lists (empty in a quiet period), and a list of this year's tickets, which has rows
    tickets = Chart("list", (KPI,), top=20, columns=("ticket_id", "category", "department_id", "community_id"))
    lists = [*(chart for chart in BOARD.charts if chart.kind == "list"), tickets]
    view = View.from_query({"period": PERIOD}, current_warehouse().info.data_through)
    with signed_context(app):
        zh = [each["headerName"] for each in column_defs(KPI, "zh")]
        en = [each["headerName"] for each in column_defs(KPI, "en")]
        tables = {lang: [render_list(chart, view, lang) for chart in lists] for lang in ("zh", "en")}
    assert "工单编号" in zh and "Ticket no." in en
    assert not [title for title in zh + en if SNAKE.match(title)]
    headers = [str(node.children) for table in tables["zh"] for node in _walk(table) if type(node).__name__ == "Th"]
    assert "告警类型" in headers and "承办部门" in headers
    assert not [title for title in headers if SNAKE.match(title)]
    departments = {zh for zh, _ in _seed("department").values()}
    cells = [
        [str(cell.children) for cell in _walk(row) if type(cell).__name__ == "Td"]
        for table in tables["zh"]
        for row in _walk(table)
        if type(row).__name__ == "Tr"
    ]
    assert any(set(row) & departments for row in cells), "no department shown by its name"
    codes = set(_seed("department")) | set(_seed("category"))
    assert not [cell for row in cells for cell in row if cell in codes]
    english = {en for _, en in _seed("department").values()}
    english_cells = [
        str(cell.children) for table in tables["en"] for cell in _walk(table) if type(cell).__name__ == "Td"
    ]
    assert set(english_cells) & english, "no department shown by its English name"


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "children"):
            yield from _walk(child)


def test_english_charts_name_departments_in_english(app):
    from tests.cockpit.test_pages import render

    client = DashClient(app, language="en")
    answers = {}
    for output, outputs, inputs in client.page_updates(
        render(app, "approvals", {"period": PERIOD}, "cockpit_lang=en"), "approvals"
    ):
        answers.update(client.update(output, outputs, inputs))
    shown = set()
    for key, value in answers.items():
        if key.startswith("{"):
            for trace in value["figure"].get("data", []):
                shown |= {str(each) for each in (trace.get("y") or []) if isinstance(each, str)}
                shown |= {str(each) for each in (trace.get("x") or []) if isinstance(each, str)}
    departments = _seed("department").values()
    assert shown & {en for _, en in departments}, "no department named in English"
    assert not shown & {zh for zh, _ in departments}, "a department named in Chinese on an English chart"
    # service items have Chinese names only: they stay Chinese rather than become blanks or codes
