"""Boundary polygons as surveying offices deliver them, brought to the lon/lat the warehouse and the map use.

Boundary files arrive in several shapes: a GeoJSON FeatureCollection, a bare
JSON array of Features (DataV-style downloads), a single Feature, or Esri JSON
exported from ArcGIS. Their coordinates are often projected (CGCS2000
Gauss-Krüger in metres, or a city's own local system given as a PROJ string),
and the file seldom says so: GeoJSON dropped the `crs` member. These pure
functions turn such a document into GeoJSON Features, reproject a geometry to
WGS84 lon/lat, and tell a plausible outline from one whose `crs:` was never
declared, so the pipeline can quarantine a bad feature with a reason instead
of drawing it in the ocean.

Nothing here reads files: the caller passes the parsed document (or its text).
Every bad input raises `GeometryError` with a one-line message.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from pyproj.network import set_network_enabled
from shapely.errors import GEOSException
from shapely.geometry import LinearRing, MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient

# The PROJ database ships inside the pyproj wheel. PROJ can also fetch datum grids from
# its CDN when PROJ_NETWORK=ON; a government intranet has no internet, so never try.
set_network_enabled(False)

POLYGONAL = ("Polygon", "MultiPolygon")
WGS84 = "EPSG:4326"
# Esri's own well-known ids (102100 Web Mercator, …) start at 100000; below that a wkid is an EPSG code.
ESRI_WKID_START = 100_000

BBox = tuple[float, float, float, float]  # (min lon, min lat, max lon, max lat)


class GeometryError(ValueError):
    """A boundary document or geometry that cannot be used; the message is one line."""


# ---------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------


def features_from_document(doc: Any) -> list[dict]:
    """The Features of a boundary document, as GeoJSON dicts {"type", "properties", "geometry"[, "id"]}.

    `doc` is the parsed JSON (or its text): a GeoJSON FeatureCollection, a bare
    array of Features, a single Feature, or an Esri JSON feature set
    (`{"features": [{"attributes": …, "geometry": {"rings": …}}], "spatialReference": …}`).
    Coordinates are returned as found, not reprojected: read the document's
    system with `crs_from_document` and pass each geometry to `reproject_geometry`.
    A feature's geometry may be None (a feature without an outline); its type is
    not checked here, so one odd feature can be quarantined on its own (Esri rings
    are assembled here, though: unreadable rings raise, naming the feature's index).
    Esri polygons come back with RFC 7946 winding, holes inside their own shells.
    """
    if isinstance(doc, str | bytes):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as error:
            raise GeometryError(f"not JSON: {error}") from None
    if isinstance(doc, list):
        return [_geojson_feature(each, index) for index, each in enumerate(doc)]
    if not isinstance(doc, dict):
        raise GeometryError(f"a boundary document must be a JSON object or array, not {type(doc).__name__}")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise GeometryError("FeatureCollection without a features array")
        return [_geojson_feature(each, index) for index, each in enumerate(features)]
    if kind == "Feature":
        return [_geojson_feature(doc, 0)]
    if kind is None and isinstance(doc.get("features"), list):
        return [_esri_feature(each, index) for index, each in enumerate(doc["features"])]
    found = f"type {kind!r}" if kind else f"keys {sorted(doc)[:5]}"
    raise GeometryError(
        f"not a boundary document ({found}): expected a GeoJSON FeatureCollection, Feature, "
        "array of Features, or Esri JSON features"
    )


def crs_from_document(doc: Any) -> str | None:
    """The coordinate system a document declares ("EPSG:4549", or WKT / a name PROJ reads), or None.

    Reads a GeoJSON `crs` member (`{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}`)
    or Esri's `spatialReference` (`latestWkid`, `wkid`, or `wkt`). None means the
    document does not say: RFC 7946 GeoJSON is lon/lat, but a projected file
    without a `crs` member needs the system declared by whoever onboards it.
    """
    if not isinstance(doc, dict):
        return None
    if "crs" in doc and doc["crs"] is not None:
        declared = doc["crs"]
        name = declared.get("properties", {}).get("name") if isinstance(declared, dict) else None
        if not (isinstance(declared, dict) and declared.get("type") == "name" and isinstance(name, str)):
            raise GeometryError(f"unsupported crs member {json.dumps(declared)[:80]}: only named systems are read")
        epsg = re.search(r"EPSG:(?:[\d.]*:)?(\d+)$", name, flags=re.IGNORECASE)
        return f"EPSG:{epsg.group(1)}" if epsg else name
    reference = doc.get("spatialReference")
    if isinstance(reference, dict):
        # latestWkid is the EPSG code when Esri's older wkid has since been given one (102100 → 3857).
        wkid = reference.get("latestWkid") or reference.get("wkid")
        if isinstance(wkid, int):
            return f"{'ESRI' if wkid >= ESRI_WKID_START else 'EPSG'}:{wkid}"
        if reference.get("wkt"):
            return reference["wkt"]
    return None


def _geojson_feature(feature: Any, index: int) -> dict:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise GeometryError(f"item {index} is not a GeoJSON Feature")
    geometry = feature.get("geometry")
    if geometry is not None and not (isinstance(geometry, dict) and "type" in geometry):
        raise GeometryError(f"feature {index} has a geometry without a type")
    result = {"type": "Feature", "properties": dict(feature.get("properties") or {}), "geometry": geometry}
    if "id" in feature:
        result["id"] = feature["id"]
    return result


def _esri_feature(feature: Any, index: int) -> dict:
    if not isinstance(feature, dict) or not ("attributes" in feature or "geometry" in feature):
        raise GeometryError(f"item {index} is not an Esri feature (no attributes or geometry)")
    geometry = feature.get("geometry")
    return {
        "type": "Feature",
        "properties": dict(feature.get("attributes") or {}),
        "geometry": None if not geometry else _esri_geometry(geometry, index),
    }


def _esri_geometry(geometry: dict, index: int) -> dict:
    # Non-polygons are converted too, so the per-feature check names their type.
    if "rings" in geometry:
        return _as_geojson(_polygon_from_rings(geometry["rings"], index))
    if "paths" in geometry:
        paths = geometry["paths"]
        if len(paths) == 1:
            return {"type": "LineString", "coordinates": paths[0]}
        return {"type": "MultiLineString", "coordinates": paths}
    if "points" in geometry:
        return {"type": "MultiPoint", "coordinates": geometry["points"]}
    if "x" in geometry and "y" in geometry:
        return {"type": "Point", "coordinates": [geometry["x"], geometry["y"]]}
    raise GeometryError(f"feature {index}: Esri geometry with keys {sorted(geometry)} is not rings, paths or points")


def _polygon_from_rings(rings: list, index: int) -> Polygon | MultiPolygon:
    """Esri rings are a flat list: outer rings run clockwise, holes counter-clockwise, in any order."""
    try:
        closed = [LinearRing(ring) for ring in rings]
    except (ValueError, TypeError, GEOSException) as error:
        raise GeometryError(f"feature {index}: a ring is not a list of at least 3 points ({error})") from None
    if not closed:
        raise GeometryError(f"feature {index}: polygon without rings")
    shells = [Polygon(ring) for ring in closed if not ring.is_ccw]
    holes = [ring for ring in closed if ring.is_ccw]
    shell_holes: list[list[LinearRing]] = [[] for _ in shells]
    for hole in holes:
        around = [i for i, shell in enumerate(shells) if shell.covers(hole)]
        if around:
            # The smallest shell around it: an island inside a lake has its own holes.
            shell_holes[min(around, key=lambda i: shells[i].area)].append(hole)
        else:
            # Some writers ignore Esri's winding rule; a counter-clockwise ring in no shell is a shell.
            shells.append(Polygon(hole))
            shell_holes.append([])
    # RFC 7946 winding: outer rings counter-clockwise, holes clockwise.
    parts = [orient(Polygon(shell.exterior, inner), 1.0) for shell, inner in zip(shells, shell_holes, strict=True)]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


# ---------------------------------------------------------------------------------------
# Geometries
# ---------------------------------------------------------------------------------------


def polygon_shape(geometry: Any) -> Polygon | MultiPolygon:
    """A GeoJSON Polygon or MultiPolygon as a shapely geometry; any other type raises GeometryError naming it."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in POLYGONAL:
        named = kind or ("no geometry" if geometry is None else type(geometry).__name__)
        raise GeometryError(f"{named} is not a boundary: only Polygon and MultiPolygon are")
    try:
        return shape(geometry)
    except (ValueError, TypeError, IndexError, GEOSException) as error:
        raise GeometryError(f"malformed {kind} coordinates ({error})") from None


def reproject_geometry(geometry: dict, crs: str | int | None) -> dict:
    """A Polygon/MultiPolygon reprojected from `crs` to WGS84 lon/lat (GeoJSON dict, x = longitude).

    `crs` is an EPSG code (4549, "4549", "EPSG:4549"), any name or WKT PROJ
    reads, or a PROJ string for a city's local system, e.g.
    "+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=50000 +y_0=-3000000 +ellps=GRS80 +units=m +no_defs".
    None means the coordinates are lon/lat already: the geometry is returned as is
    (checked, copied). An unknown system raises GeometryError.
    """
    polygon = polygon_shape(geometry)
    if crs is None:
        return _as_geojson(polygon)
    transformer = _to_wgs84(_crs_text(crs))
    moved = shapely.transform(polygon, lambda x, y: transformer.transform(x, y), interleaved=False)
    if not all(math.isfinite(value) for value in moved.bounds):
        raise GeometryError(f"coordinates fall outside the domain of {crs}: is that the file's system?")
    return _as_geojson(moved)


@lru_cache(maxsize=64)
def is_lon_lat(crs: str | int) -> bool:
    """Whether a declared system is plain longitude/latitude already (WGS84 or OGC CRS84): nothing to reproject."""
    try:
        declared = CRS.from_user_input(_crs_text(crs))
    except CRSError:
        return False
    plain = ("EPSG:4326", "OGC:CRS84")
    return any(declared.equals(CRS.from_user_input(name), ignore_axis_order=True) for name in plain)


def out_of_area_reason(geometry: dict, bbox: BBox) -> str | None:
    """Why a lon/lat geometry cannot be this street's, or None when its centroid lies in `bbox`.

    `bbox` is (min lon, min lat, max lon, max lat). Pass the geometry after
    `reproject_geometry`. Coordinates beyond ±180/±90 are projected metres
    read as degrees: the reason then says a `crs:` must be declared. The text
    starts with "out_of_area:" and is meant for a quarantine row.
    """
    min_lon, min_lat, max_lon, max_lat = bbox
    centroid = polygon_shape(geometry).centroid
    x, y = centroid.x, centroid.y
    if abs(x) > 180 or abs(y) > 90:
        return (
            f"out_of_area: centroid {x:.1f}, {y:.1f} is not lon/lat but projected metres"
            " — declare the file's crs: (an EPSG code such as 4549, or a PROJ string)"
        )
    if min_lon <= x <= max_lon and min_lat <= y <= max_lat:
        return None
    return (
        f"out_of_area: centroid {x:.4f}, {y:.4f} is outside {min_lon}–{max_lon} E, {min_lat}–{max_lat} N"
        " — is crs: missing or wrong?"
    )


def _crs_text(crs: str | int) -> str:
    text = str(crs).strip()
    return f"EPSG:{text}" if text.isdigit() else text


@lru_cache(maxsize=32)
def _to_wgs84(crs: str) -> Transformer:
    # Building a transformer searches the PROJ database (milliseconds); a file has thousands of
    # features in one system. Transformers are thread-safe since pyproj 3.1.
    try:
        source = CRS.from_user_input(crs)
    except CRSError as error:
        raise GeometryError(f"unknown crs {crs!r}: {str(error).splitlines()[0]}") from None
    return Transformer.from_crs(source, WGS84, always_xy=True)


def _as_geojson(geometry: Polygon | MultiPolygon) -> dict:
    # shapely's mapping() nests tuples; GeoJSON dicts elsewhere hold lists (and compare equal to parsed JSON).
    def lists(value):
        return [lists(each) for each in value] if isinstance(value, tuple | list) else value

    found = mapping(geometry)
    return {"type": found["type"], "coordinates": lists(found["coordinates"])}
