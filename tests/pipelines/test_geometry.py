"""Boundary documents from real surveying exports: parsing, reprojection, and outlines with an undeclared crs."""

from __future__ import annotations

import json
import math

import pytest
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.polygon import orient

from pipelines.geometry import (
    GeometryError,
    crs_from_document,
    features_from_document,
    out_of_area_reason,
    reproject_geometry,
)

SUZHOU = (119.9, 30.7, 121.4, 32.1)  # lon/lat box around the city's nine districts
# The city's outlines in a local transverse Mercator: EPSG:4549's projection with its own false origin.
LOCAL_TMERC = "+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=50000 +y_0=-3000000 +ellps=GRS80 +units=m +no_defs"
LOCAL_SHIFT = (50000 - 500000, -3000000)  # local = EPSG:4549 + shift (x_0 50 km instead of 500 km; y_0 −3000 km)
# The lon/lat file is GCJ-02 (offset by a few hundred metres from WGS84); 0.01° is about a kilometre.
GCJ_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def lonlat_doc(realdata) -> list:
    return json.loads((realdata / "boundaries" / "suzhou_districts.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def projected_doc(realdata) -> dict:
    return json.loads((realdata / "boundaries" / "suzhou_districts_epsg4549.geojson").read_text(encoding="utf-8"))


def by_name(features: list[dict]) -> dict[str, dict]:
    return {feature["properties"]["name"]: feature for feature in features}


def shifted(coordinates, dx: float, dy: float):
    if isinstance(coordinates[0], int | float):
        return [coordinates[0] + dx, coordinates[1] + dy]
    return [shifted(each, dx, dy) for each in coordinates]


def test_a_bare_array_and_a_feature_collection_both_give_the_nine_districts(lonlat_doc, projected_doc):
    bare = features_from_document(lonlat_doc)
    collection = features_from_document(projected_doc)
    assert len(bare) == len(collection) == 9
    assert set(by_name(bare)) == set(by_name(collection))
    assert bare[0]["properties"]["adcode"] == lonlat_doc[0]["properties"]["adcode"]
    assert {f["geometry"]["type"] for f in bare + collection} <= {"Polygon", "MultiPolygon"}
    # A single Feature and the document's text are read too.
    (single,) = features_from_document(json.dumps(projected_doc["features"][3]))
    assert single["properties"]["name"] == projected_doc["features"][3]["properties"]["name"]


def test_neither_real_file_declares_a_crs(lonlat_doc, projected_doc):
    assert crs_from_document(lonlat_doc) is None
    assert crs_from_document(projected_doc) is None
    declared = {**projected_doc, "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}}
    assert crs_from_document(declared) == "EPSG:4549"


def test_the_projected_file_reprojects_onto_the_lonlat_outlines(lonlat_doc, projected_doc):
    lonlat = by_name(features_from_document(lonlat_doc))
    for name, feature in by_name(features_from_document(projected_doc)).items():
        moved = shape(reproject_geometry(feature["geometry"], 4549)).centroid
        expected = shape(lonlat[name]["geometry"]).centroid
        assert moved.x == pytest.approx(expected.x, abs=GCJ_TOLERANCE), name
        assert moved.y == pytest.approx(expected.y, abs=GCJ_TOLERANCE), name
        # The publisher's own centroid property: an oracle computed by someone else's software.
        published_lon, published_lat = lonlat[name]["properties"]["centroid"]
        assert moved.x == pytest.approx(published_lon, abs=GCJ_TOLERANCE), name
        assert moved.y == pytest.approx(published_lat, abs=GCJ_TOLERANCE), name
        assert out_of_area_reason(reproject_geometry(feature["geometry"], "EPSG:4549"), SUZHOU) is None


def test_a_local_system_with_its_own_false_origin_lands_where_epsg_4549_does(projected_doc):
    for feature in features_from_document(projected_doc):
        local = {**feature["geometry"], "coordinates": shifted(feature["geometry"]["coordinates"], *LOCAL_SHIFT)}
        from_local = shape(reproject_geometry(local, LOCAL_TMERC))
        from_epsg = shape(reproject_geometry(feature["geometry"], "EPSG:4549"))
        assert from_local.equals_exact(from_epsg, tolerance=1e-7)  # ~1 cm


def test_projected_coordinates_without_a_crs_are_flagged_with_the_hint(projected_doc):
    geometry = projected_doc["features"][0]["geometry"]
    assert reproject_geometry(geometry, None) == geometry  # no crs: taken as lon/lat, untouched
    reason = out_of_area_reason(geometry, SUZHOU)
    assert reason.startswith("out_of_area:")
    assert "crs:" in reason and "projected" in reason
    x, y = shape(geometry).centroid.coords[0]
    assert f"{x:.1f}, {y:.1f}" in reason


def test_lonlat_outside_the_street_is_flagged_with_the_box(lonlat_doc):
    geometry = lonlat_doc[0]["geometry"]
    beijing = (116.0, 39.5, 117.0, 40.5)
    reason = out_of_area_reason(geometry, beijing)
    assert reason.startswith("out_of_area:") and "116.0–117.0 E, 39.5–40.5 N" in reason
    assert out_of_area_reason(geometry, SUZHOU) is None


def esri_rings(polygon: Polygon) -> list:
    """Esri winding, written independently of the module: outer ring clockwise, holes counter-clockwise."""
    clockwise = orient(polygon, -1.0)
    return [[list(p) for p in clockwise.exterior.coords]] + [
        [list(p) for p in ring.coords] for ring in clockwise.interiors
    ]


def with_hole(polygon: Polygon, fraction: float = 0.2) -> Polygon:
    """The polygon with a square hole around a point well inside it."""
    inside = polygon.buffer(-math.sqrt(polygon.area) * 0.05).representative_point()
    half = math.sqrt(polygon.area * fraction) / 2
    hole = Polygon([(inside.x - half, inside.y - half), (inside.x + half, inside.y - half),
                    (inside.x + half, inside.y + half), (inside.x - half, inside.y + half)])  # fmt: skip
    assert polygon.contains(hole), "pick a smaller hole"
    return Polygon(polygon.exterior, [hole.exterior])


def test_esri_rings_become_polygons_with_their_holes(projected_doc):
    districts = by_name(features_from_document(projected_doc))
    gusu = with_hole(shape(districts["姑苏区"]["geometry"]).geoms[0])
    taicang = shape(districts["太仓市"]["geometry"]).geoms[0]  # not a neighbour: parts may not share an edge
    rings = esri_rings(gusu)
    esri = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4549, "latestWkid": 4549},
        "features": [
            # The hole listed before its shell: Esri does not order rings, only winds them.
            {"attributes": {"name": "姑苏区"}, "geometry": {"rings": [rings[1], rings[0]]}},
            {"attributes": {"name": "姑苏区+太仓市"}, "geometry": {"rings": rings + esri_rings(taicang)}},
        ],
    }
    assert crs_from_document(esri) == "EPSG:4549"
    one, two = features_from_document(esri)
    assert one["properties"] == {"name": "姑苏区"}
    assert one["geometry"]["type"] == "Polygon" and len(one["geometry"]["coordinates"]) == 2
    parsed = shape(one["geometry"])
    assert parsed.is_valid and parsed.area == pytest.approx(gusu.area) and parsed.area < Polygon(gusu.exterior).area
    assert parsed.centroid.equals_exact(gusu.centroid, tolerance=1e-6)
    both = shape(two["geometry"])
    assert isinstance(both, MultiPolygon) and both.is_valid
    assert [len(part.interiors) for part in both.geoms] == [1, 0]
    assert both.area == pytest.approx(gusu.area + taicang.area)
    expected = MultiPolygon([gusu, taicang]).centroid
    assert both.centroid.equals_exact(expected, tolerance=1e-6)
    moved = shape(reproject_geometry(one["geometry"], crs_from_document(esri)))
    assert out_of_area_reason(moved.__geo_interface__, SUZHOU) is None


@pytest.mark.parametrize(
    ("geometry", "named"),
    [
        ({"type": "Point", "coordinates": [120.6, 31.3]}, "Point"),
        ({"type": "LineString", "coordinates": [[120.6, 31.3], [120.7, 31.4]]}, "LineString"),
        (None, "no geometry"),
    ],
)
def test_anything_but_polygons_is_refused_by_type(geometry, named):
    with pytest.raises(GeometryError, match=named):
        reproject_geometry(geometry, 4549)
    with pytest.raises(GeometryError, match=named):
        out_of_area_reason(geometry, SUZHOU)


def test_an_esri_line_is_read_and_then_refused_as_a_line():
    (feature,) = features_from_document({"features": [{"attributes": {}, "geometry": {"paths": [[[0, 0], [1, 1]]]}}]})
    with pytest.raises(GeometryError, match="LineString"):
        reproject_geometry(feature["geometry"], None)


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "Polygon", "coordinates": []},
        {"rows": []},
        [{"type": "Polygon"}],
        "not json",
        42,
    ],
)
def test_other_documents_are_refused_in_one_line(doc):
    with pytest.raises(GeometryError) as caught:
        features_from_document(doc)
    assert "\n" not in str(caught.value)


def test_an_unknown_crs_is_a_geometry_error(projected_doc):
    with pytest.raises(GeometryError, match="unknown crs"):
        reproject_geometry(projected_doc["features"][0]["geometry"], "EPSG:999999")


def test_reprojection_never_reaches_for_the_network():
    from pyproj.network import is_network_enabled

    assert not is_network_enabled()


@pytest.mark.parametrize(
    ("doc", "crs"),
    [
        ({"type": "FeatureCollection", "features": [], "crs": {"type": "name", "properties": {"name": "EPSG:4549"}}},
         "EPSG:4549"),
        ({"features": [], "spatialReference": {"wkid": 102100, "latestWkid": 3857}}, "EPSG:3857"),
        ({"features": [], "spatialReference": {"wkid": 102100}}, "ESRI:102100"),
        ({"type": "FeatureCollection", "features": []}, None),
    ],
)  # fmt: skip
def test_a_declared_system_is_read_in_a_form_reprojection_accepts(doc, crs):
    assert crs_from_document(doc) == crs


def test_esri_rings_wound_the_geojson_way_still_make_a_polygon(lonlat_doc):
    outline = shape(lonlat_doc[3]["geometry"]).geoms[0]
    counter_clockwise = [list(p) for p in orient(outline, 1.0).exterior.coords]
    (feature,) = features_from_document({"features": [{"attributes": {}, "geometry": {"rings": [counter_clockwise]}}]})
    assert shape(feature["geometry"]).area == pytest.approx(outline.area)
