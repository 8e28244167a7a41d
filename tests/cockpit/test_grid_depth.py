"""The grid page on registers of every depth: communities only, down to grids, down to micro grids.

Streets register their grid system to different depths; the treemap and the
map must draw whatever is there. Each register here is a small hand-made
lake built into a real release, served by the session's app for one test.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from cockpit.components.board import board_layout
from tests.cockpit.dash_client import DashClient
from tests.cockpit.serving import publish_lake, serving
from tests.fixtures.accounts import signed_context
from tests.fixtures.lake import write_partition
from warehouse.paths import Home

DAY = date(2026, 10, 12)
COMMUNITIES = [
    {"unit_id": "C1", "level": "community", "community_id": "C1", "name": "金湖社区", "residents": 1000},
    {"unit_id": "C2", "level": "community", "community_id": "C2", "name": "星湖社区", "residents": 1500},
]
GRIDS = [
    {"unit_id": "G1", "level": "comprehensive", "parent_id": "C1", "community_id": "C1", "name": "金湖一网格"},
    {"unit_id": "G2", "level": "dedicated", "parent_id": "C1", "community_id": "C1", "name": "实验小学专属网格",
     "residents": 300},
    {"unit_id": "G3", "level": "comprehensive", "parent_id": "C2", "community_id": "C2", "name": "星湖一网格",
     "residents": 1200},
]  # fmt: skip
MICRO_GRIDS = [
    {"unit_id": "M1", "level": "micro", "parent_id": "G1", "community_id": "C1", "name": "金湖1-1", "residents": 100},
    {"unit_id": "M2", "level": "micro", "parent_id": "G1", "community_id": "C1", "name": "金湖1-2", "residents": 150},
    {"unit_id": "M3", "level": "micro", "parent_id": "G3", "community_id": "C2", "name": "星湖1-1", "residents": 90},
]
REGISTERS = {
    "communities": COMMUNITIES,
    "grids": COMMUNITIES + GRIDS,
    "micro_grids": COMMUNITIES + GRIDS + MICRO_GRIDS,
    # Micro grids filed straight under their community, with no grid level between.
    "micro_under_communities": COMMUNITIES + [{**m, "parent_id": "C1"} for m in MICRO_GRIDS[:2]],
}


def square(index: int) -> str:
    """A small square of its own for each unit, so every outline is distinct."""
    x, y = 120.70 + 0.01 * index, 31.30
    ring = [[x, y], [x + 0.008, y], [x + 0.008, y + 0.008], [x, y + 0.008], [x, y]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict[str, Home]:
    """A published release per register, with an outline for every unit."""
    found = {}
    for depth, units in REGISTERS.items():
        home = Home(tmp_path_factory.mktemp(f"depth-{depth}")).ensure()
        write_partition(home.lake, "grid_unit", DAY, "grid", units)
        outlines = [{"unit_id": u["unit_id"], "level": u["level"], "geometry": square(i)} for i, u in enumerate(units)]
        write_partition(home.lake, "grid_boundary", DAY, "grid", outlines)
        publish_lake(home, f"depth-{depth}", DAY)
        found[depth] = home
    return found


def grid_page_figures(app, query: dict) -> dict[str, dict]:
    """{chart id: figure} of the grid page, every one of its callbacks run over HTTP as the browser does."""
    from cockpit.pages.grid import BOARD  # a page module registers itself: only once the app exists

    client = DashClient(app)
    with signed_context(app):
        layout = board_layout(BOARD, query)
    figures = {}
    for output, outputs, inputs in client.page_updates(layout, BOARD.id):
        answer = client.update(output, outputs, inputs)  # a 500 fails here
        for key, props in answer.items():
            if key.startswith("{"):
                figures[json.loads(key)["chart"]] = props["figure"]
    return figures


@pytest.mark.parametrize(
    ("depth", "query", "tree_ids", "map_ids"),
    [
        ("communities", {}, {"community|C1", "community|C2"}, {"C1", "C2"}),
        # Nothing below the community: the map stays on communities instead of going blank.
        ("communities", {"community": "C1"}, {"community|C1"}, {"C1", "C2"}),
        ("grids", {}, {"community|C1", "community|C2", "grid|G1", "grid|G2", "grid|G3"}, {"C1", "C2"}),
        ("grids", {"community": "C1"}, {"community|C1", "grid|G1", "grid|G2"}, {"G1", "G2"}),
        ("grids", {"community": "C1", "grid": "G1"}, {"community|C1", "grid|G1", "grid|G2"}, {"G1", "G2"}),
        ("micro_grids", {}, {"community|C1", "community|C2", "grid|G1", "grid|G2", "grid|G3"}, {"C1", "C2"}),
        (
            "micro_grids",
            {"community": "C1", "grid": "G1"},
            {"community|C1", "grid|G1", "grid|G2", "micro_grid|M1", "micro_grid|M2"},
            {"M1", "M2"},
        ),
        (
            "micro_under_communities",
            {"community": "C1"},
            {"community|C1", "micro_grid|M1", "micro_grid|M2"},
            {"C1", "C2"},
        ),
    ],
)
def test_the_grid_page_draws_the_register_to_whatever_depth_it_has(app, homes, depth, query, tree_ids, map_ids):
    with serving(homes[depth]):
        figures = grid_page_figures(app, query)
    (tree,) = figures["grid-chart-2"]["data"]
    assert tree["type"] == "treemap"
    assert set(tree["ids"]) == tree_ids
    names = {u["unit_id"]: u["name"] for u in REGISTERS[depth]}
    assert set(tree["labels"]) == {names[node.split("|")[1]] for node in tree_ids}
    # branchvalues="total" draws nothing when a parent is smaller than its children.
    values = dict(zip(tree["ids"], tree["values"], strict=True))
    for node in tree["ids"]:
        children = [values[c] for c, p in zip(tree["ids"], tree["parents"], strict=True) if p == node]
        assert values[node] >= sum(children) - 1e-9, node
    (drawn,) = figures["grid-chart-0"]["data"]
    assert drawn["type"] == "choropleth"
    assert set(drawn["locations"]) == map_ids
    assert {feature["id"] for feature in drawn["geojson"]["features"]} == map_ids


def test_a_community_without_grids_is_sized_by_its_own_residents(app, homes):
    with serving(homes["communities"]):
        (tree,) = grid_page_figures(app, {})["grid-chart-2"]["data"]
    assert dict(zip(tree["ids"], tree["values"], strict=True)) == {"community|C1": 1000, "community|C2": 1500}
