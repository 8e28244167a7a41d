"""The 数据管道 page from a ledger written here: unmapped values, flagged fields, filtered and flagged rows.

Each release is the hand-made fixture lake with a ledger of a few runs copied in, as
the pipeline copies its own; one release predates the newer ledger tables and columns.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest
from dash import html

from tests.cockpit.dash_client import walk
from tests.cockpit.serving import publish_lake, serving
from tests.fixtures.accounts import signed_context
from tests.fixtures.lake import DATA_THROUGH, make_fixture_lake
from warehouse.ledger import LEDGER_SCHEMAS
from warehouse.paths import Home


def run(run_id: str, status: str, started_at: datetime) -> dict:
    return {"run_id": run_id, "status": status, "mode": "incremental", "started_at": started_at}


def load(run_id: str, source: str, day: date, loaded: int, filtered: int, flagged: int) -> dict:
    return {
        "run_id": run_id,
        "source": source,
        "day": day,
        "rows_loaded": loaded,
        "rows_filtered": filtered,
        "rows_flagged": flagged,
        "cadence": "daily",
        "loaded_at": datetime.combine(day, datetime.min.time()).replace(hour=23),
    }


RUNS = [
    run("run-1", "published", datetime(2026, 10, 11, 23)),
    run("run-2", "failed", datetime(2026, 10, 12, 23)),  # what it met never reached a release
    run("run-3", "published", datetime(2026, 10, 13, 0, 30)),
]
LOADS = [
    load("run-1", "hotline_12345", date(2026, 10, 11), 10, 1, 0),
    load("run-3", "hotline_12345", date(2026, 10, 12), 12, 3, 2),
    load("run-3", "forum", date(2026, 10, 12), 5, 0, 1),
]


def ticket_field(run_id: str, source: str, field: str, **detail) -> dict:
    """A per-run ledger row about a field of ticket_intake (its value or reason, and rows)."""
    return {"run_id": run_id, "source": source, "table": "ticket_intake", "field": field, **detail}


UNMAPPED = [
    ticket_field("run-1", "hotline_12345", "category", value="其他", rows=2),
    ticket_field("run-3", "hotline_12345", "category", value="其他", rows=3),
    ticket_field("run-2", "hotline_12345", "category", value="失败运行", rows=9),
    ticket_field("run-3", "forum", "category", value="咨询", rows=1),
]
FLAGGED = [
    ticket_field("run-3", "hotline_12345", "lon", reason="out_of_range", rows=2),
    ticket_field("run-3", "forum", "grid_id", reason="unknown_reference", rows=1),
]


def ledger(name: str, rows: list[dict], schema: pa.Schema | None = None) -> pa.Table:
    schema = schema or LEDGER_SCHEMAS[name]
    return pa.Table.from_pylist([{k: v for k, v in row.items() if k in schema.names} for row in rows], schema=schema)


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict[str, Home]:
    current = Home(tmp_path_factory.mktemp("ledger-now")).ensure()
    make_fixture_lake(current.lake)
    publish_lake(
        current,
        "ledger-now",
        DATA_THROUGH,
        {
            "ops_run": ledger("ops_run", RUNS),
            "ops_source_load": ledger("ops_source_load", LOADS),
            "ops_quarantine": ledger("ops_quarantine", []),
            "ops_unmapped": ledger("ops_unmapped", UNMAPPED),
            "ops_flagged": ledger("ops_flagged", FLAGGED),
        },
    )
    # A release kept from before the ledger counted filtered and flagged rows or unmapped values.
    older = Home(tmp_path_factory.mktemp("ledger-before")).ensure()
    make_fixture_lake(older.lake)
    old_loads = pa.schema(
        [f for f in LEDGER_SCHEMAS["ops_source_load"] if f.name not in ("rows_filtered", "rows_flagged")]
    )
    publish_lake(
        older,
        "ledger-before",
        DATA_THROUGH,
        {
            "ops_run": ledger("ops_run", RUNS),
            "ops_source_load": ledger("ops_source_load", LOADS, old_loads),
            "ops_quarantine": ledger("ops_quarantine", []),
        },
    )
    return {"now": current, "before": older}


def pipeline_page(app, home: Home):
    from cockpit.pages import pipeline  # a page module registers itself: only once the app exists

    with serving(home), signed_context(app, name="operator", role="operator"):
        return pipeline.layout()


def text(component) -> str:
    return "".join(each if isinstance(each, str) else "" for each in _strings(component))


def _strings(component):
    if isinstance(component, str):
        yield component
    elif isinstance(component, list | tuple):
        for each in component:
            yield from _strings(each)
    elif component is not None and hasattr(component, "children"):
        yield from _strings(component.children)


def tables(layout) -> dict[str, list[dict[str, str]]]:
    """Every report table under `layout` as {its headers joined by ' · ': [{header: cell text}]}."""
    found = {}
    for table in (c for c in walk(layout) if isinstance(c, html.Table)):
        head, body = [c for c in table.children if isinstance(c, html.Thead | html.Tbody)]
        headers = [text(cell) for cell in head.children.children]
        rows = [dict(zip(headers, [text(cell) for cell in row.children], strict=True)) for row in body.children]
        found[" · ".join(headers)] = rows
    return found


def by_id(layout, component_id: str):
    (component,) = [c for c in walk(layout) if getattr(c, "id", None) == component_id]
    return component


def test_unmapped_values_are_listed_per_value_over_the_recent_published_runs(app, homes):
    layout = pipeline_page(app, homes["now"])
    (rows,) = tables(by_id(layout, "pipeline-unmapped")).values()
    # 其他 met by run-1 (2 rows) and run-3 (3 rows); the failed run-2's value never reached a release.
    assert [
        (r["数据源"], r["目标表"], r["字段"], r["源值"], r["行数"], r["涉及运行数"], r["最近运行"]) for r in rows
    ] == [
        ("hotline_12345", "ticket_intake", "category", "其他", "5", "2", "run-3"),
        ("forum", "ticket_intake", "category", "咨询", "1", "1", "run-3"),
    ]


def test_flagged_optional_fields_are_listed_with_their_reason(app, homes):
    layout = pipeline_page(app, homes["now"])
    (rows,) = tables(by_id(layout, "pipeline-flagged")).values()
    assert [(r["数据源"], r["目标表"], r["字段"], r["原因"], r["行数"]) for r in rows] == [
        ("hotline_12345", "ticket_intake", "lon", "out_of_range", "2"),
        ("forum", "ticket_intake", "grid_id", "unknown_reference", "1"),
    ]


def test_freshness_shows_filtered_and_flagged_rows_of_the_last_day_beside_the_loaded_ones(app, homes):
    layout = pipeline_page(app, homes["now"])
    (rows,) = [rows for headers, rows in tables(layout).items() if "最新日过滤行数" in headers]
    counts = {r["数据源"]: (r["最新日入库行数"], r["最新日过滤行数"], r["最新日标记行数"]) for r in rows}
    assert counts == {"forum": ("5", "0", "1"), "hotline_12345": ("12", "3", "2")}  # run-3's day, not run-1's


def test_a_release_from_before_the_new_ledger_tables_still_renders(app, homes):
    layout = pipeline_page(app, homes["before"])
    assert "not recorded" in text(by_id(layout, "pipeline-unmapped"))
    assert "not recorded" in text(by_id(layout, "pipeline-flagged"))
    (rows,) = [rows for headers, rows in tables(layout).items() if "最新日过滤行数" in headers]
    assert {r["数据源"]: (r["最新日入库行数"], r["最新日过滤行数"]) for r in rows} == {
        "forum": ("5", ""),
        "hotline_12345": ("12", ""),
    }
