"""A district's places on the grid page: the street-wide treemap and the place filters stay drawable.

At scale 10 a release holds 570 communities, 3,300 grids and 14,000 micro grids. The demo street is made to
stand for one by lowering the two limits below its own counts; what is listed and drawn is checked against
the release's own dimension tables, read with SQL.
"""

from __future__ import annotations

import pytest

import cockpit.components.board as board_module
import cockpit.components.filters as filters_module
from cockpit.components.board import grid_tree
from cockpit.components.filters import dimension_options
from cockpit.data import current_warehouse
from cockpit.view import View
from tests.cockpit.dash_client import by_type, find
from tests.cockpit.test_pages import render

GRID_LEVELS = "('comprehensive', 'dedicated')"


@pytest.fixture
def release(app):
    """The release's cursor, with the warehouse's cache emptied before and after (the tree is kept per release)."""
    warehouse = current_warehouse()
    warehouse._cache.clear()
    with warehouse.cursor() as cur:
        yield cur
    warehouse._cache.clear()


def _street_grids(cur) -> int:
    return cur.execute(f"SELECT count(*) FROM dim_grid WHERE level IN {GRID_LEVELS}").fetchone()[0]


def test_a_street_wide_tree_past_the_limit_draws_whole_communities(release, monkeypatch):
    as_of = current_warehouse().info.data_through
    street = View.from_query({}, as_of)
    whole = grid_tree(street, "zh")
    assert whole["id"].str.startswith("grid|").any()  # the demo street's tree has its grids

    communities = release.execute("SELECT community_id FROM dim_community WHERE community_id <> 'unknown'").fetchall()
    monkeypatch.setattr(board_module, "TREE_NODES_MAX", len(communities) + 1)  # fewer than communities and grids
    current_warehouse()._cache.clear()
    district = grid_tree(street, "zh")
    assert sorted(district["id"]) == sorted(f"community|{c}" for (c,) in communities)
    assert set(district["parent"]) == {""}
    # Each community keeps the size it has in the whole tree: its grids' residents are in it.
    sizes = whole.set_index("id")["residents"]
    assert all(sizes[row.id] == row.residents for row in district.itertuples())

    # A chosen community's tree has its grids and micro grids, as before.
    community = communities[0][0]
    one = grid_tree(View.from_query({"community": community}, as_of), "zh")
    grids = release.execute(
        f"SELECT unit_id FROM dim_grid WHERE community_id = ? AND level IN {GRID_LEVELS}", [community]
    ).fetchall()
    assert {f"grid|{g}" for (g,) in grids} <= set(one["id"])


def test_a_place_list_past_the_limit_waits_for_a_community(app, release, monkeypatch):
    monkeypatch.setattr(filters_module, "PLACE_OPTIONS_MAX", _street_grids(release) - 1)
    assert dimension_options("grid", "zh", {}) == []
    dropdown = lambda layout, key: find(layout, by_type("filter", key=key))[0]  # noqa: E731
    page = render(app, "grid")
    assert dropdown(page, "grid").options == []
    assert dropdown(page, "grid").placeholder == "全部（请先选择社区）"
    assert dropdown(page, "community").placeholder == "全部"

    (community,) = release.execute(
        "SELECT community_id FROM dim_grid WHERE level IN ('comprehensive', 'dedicated') "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()
    expected = release.execute(
        f"SELECT unit_id, name FROM dim_grid WHERE community_id = ? AND level IN {GRID_LEVELS} ORDER BY unit_id",
        [community],
    ).fetchall()
    page = render(app, "grid", {"community": community})
    listed = dropdown(page, "grid").options
    assert [(option["value"], option["label"]) for option in listed] == expected
    assert dropdown(page, "grid").placeholder == "全部"

    # A grid chosen with no community (a drill) is still listed and named, in its dropdown and its chip.
    grid, name = expected[0]
    page = render(app, "grid", {"grid": grid})
    assert dropdown(page, "grid").options == [{"label": name, "value": grid}]
    (chip,) = find(page, by_type("chip", key="grid"))
    assert chip.children[0].endswith(f"：{name}")
