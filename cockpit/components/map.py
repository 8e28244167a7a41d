"""The street map: community or grid polygons from the warehouse coloured by a KPI, with no tile server.

By default `go.Choropleth` draws only our own polygons, in SVG, on an invisible globe (GEO_FRAME): no tiles, no
WebGL, no CDN outline. A command centre's wall PC often has no GPU, and a software-drawn MapLibre map took
0.3–0.5 s of a page's first load where the SVG one takes 0.02–0.06 s. An intranet tile server can be layered
underneath by configuration (COCKPIT_MAP_TILES = an XYZ URL template): the map is then `go.Choroplethmap`
(MapLibre) with the built-in "white-bg" style and the tiles as its one layer, and no glyph fonts (no text layers).

Records with no known place (未定位) have no polygon: what the KPI counts there
is written on the map and in every hover instead, so the map never hides them.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import plotly.graph_objects as go

from cockpit.components.charts import base_figure, empty_figure
from cockpit.components.format import COUNT_UNITS, format_value, group_label, is_missing, is_unplaced, metric_name
from cockpit.components.theme import NOTE_BACKGROUND, colour_scale
from cockpit.i18n import t
from cockpit.metrics import Metric

COORDINATE_DECIMALS = 5  # about one metre: finer only makes the figure heavier
# An SVG map's globe: none of Plotly's base layers (coast, land, lakes…), each said explicitly so that no template
# turns one on; transparent behind, so the card's or the wall's own background shows.
GEO_FRAME = {
    "visible": False,
    **{f"show{layer}": False for layer in ("coastlines", "land", "ocean", "lakes", "rivers", "countries", "subunits")},
    "showframe": False,
    "projection": {"type": "mercator"},
    "bgcolor": "rgba(0,0,0,0)",
}
FRAME_MARGIN = 1.03  # an SVG map's ranges reach a little past the outermost polygon: no edge is clipped


def _rounded(coordinates):
    if coordinates and isinstance(coordinates[0], int | float):
        return [round(value, COORDINATE_DECIMALS) for value in coordinates]
    return [_rounded(each) for each in coordinates]


def feature_collection(shapes: pd.DataFrame) -> dict:
    """GeoJSON FeatureCollection from rows of (id, geometry as GeoJSON text), coordinates rounded to ~1 m."""
    features = []
    for row in shapes.itertuples():
        if not isinstance(row.geometry, str):
            continue
        geometry = json.loads(row.geometry)
        geometry["coordinates"] = _rounded(geometry["coordinates"])
        features.append({"type": "Feature", "id": str(row.id), "properties": {}, "geometry": geometry})
    collection = {"type": "FeatureCollection", "features": features}
    if features:
        collection["bbox"] = list(_bounds(collection))  # GeoJSON's own member: the map centres on it
    return collection


def _bounds(collection: dict) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords) -> None:
        if coords and isinstance(coords[0], int | float):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for each in coords:
                walk(each)

    for feature in collection["features"]:
        walk(feature["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def _zoom(width_degrees: float, height_degrees: float) -> float:
    # Web-mercator zoom at which the larger side spans roughly a 600 px panel.
    span = max(width_degrees, height_degrees * 1.3, 1e-4)
    return max(1.0, min(17.0, math.log2(360 / span) + 0.9))


def frame(
    bbox: tuple[float, float, float, float], centre: tuple[float, float] | None = None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """((lon, lat), (half width, half height)) in degrees of what a map shows of polygons within `bbox`.

    Centred on `centre` when it lies within the bounds, wide enough that every polygon stays in view; otherwise
    on the middle of the bounds. A centre outside the polygons (a setting written for another area) would show
    none of them.
    """
    west, south, east, north = bbox
    if centre and west <= centre[0] <= east and south <= centre[1] <= north:
        lon, lat = centre
        return (lon, lat), (max(lon - west, east - lon), max(lat - south, north - lat))
    return ((west + east) / 2, (south + north) / 2), ((east - west) / 2, (north - south) / 2)


def geo_frame(centre: tuple[float, float], half: tuple[float, float]) -> dict:
    """An SVG map's layout.geo showing `half` degrees (lon, lat) either side of `centre`, and nothing of the globe."""
    lon, lat = centre
    half_width, half_height = (max(side, 1e-4) * FRAME_MARGIN for side in half)
    return {
        **GEO_FRAME,
        "lonaxis": {"range": [lon - half_width, lon + half_width]},
        "lataxis": {"range": [lat - half_height, lat + half_height]},
    }


def unplaced_note(values: pd.DataFrame, metric: Metric, key: str, lang: str = "zh") -> str | None:
    """What the KPI shows for the unknown place (未定位), which no polygon draws: '另有1,234件未定位'.

    None when the values have no such group, or it counts nothing.
    """
    if key not in values:
        return None
    found = values.loc[[is_unplaced(key, each) for each in values[key]], "value"]
    if found.empty or is_missing(found.iloc[0]):
        return None
    value = float(found.iloc[0])
    if metric.unit in COUNT_UNITS:
        return None if value == 0 else t("map_unlocated_count", lang, value=format_value(value, metric.unit, lang))
    return t("map_unlocated_value", lang, kpi=metric_name(metric, lang), value=format_value(value, metric.unit, lang))


def choropleth(
    shapes: pd.DataFrame,
    values: pd.DataFrame,
    metric: Metric,
    key: str,
    *,
    title: str,
    lang: str = "zh",
    theme: str = "light",
    tiles: str | None = None,
    height: int = 480,
    collection: dict | None = None,
    centre: tuple[float, float] | None = None,
) -> go.Figure | dict:
    """Polygons of `shapes` (id, name, geometry) coloured by `values` (KPI frame grouped by `key`).

    The unknown place's value, which has no polygon, is a note in the corner and in the hover.
    `collection` is `feature_collection(shapes)` when the caller keeps one built already.
    `centre` (lon, lat) is where the map centres (the street's configured map centre) when it lies within the
    polygons' bounds; otherwise, and by default, the middle of the bounds. Every polygon stays in view.
    The figure comes back as a plain dict with the polygons put in last: Plotly's
    validators would deep-copy and check every coordinate of every polygon on each
    call (a third of a second for a district), for data that never changes.
    """
    collection = collection if collection is not None else feature_collection(shapes)
    if not collection["features"]:
        return empty_figure(title, t("no_data", lang), theme)
    merged = shapes[["id", "name"]].merge(values[[key, "value"]].rename(columns={key: "id"}), on="id", how="left")
    z = merged["value"].astype(float) * (100 if metric.is_ratio else 1)
    note = unplaced_note(values, metric, key, lang)
    text = [
        f"{group_label(key, place, name, lang)}<br>{metric_name(metric, lang)}: {format_value(v, metric.unit, lang)}"
        + (f"<br><i>{note}</i>" if note else "")
        for place, name, v in zip(merged["id"], merged["name"], merged["value"], strict=True)
    ]
    figure = base_figure(title, theme, height)
    trace = {
        "geojson": {"type": "FeatureCollection", "features": []},
        "locations": list(merged["id"]),
        "z": list(z.fillna(0)),
        "featureidkey": "id",
        "colorscale": colour_scale(metric),
        "marker": {"opacity": 0.75, "line": {"width": 0.8, "color": "#ffffff"}},
        "text": text,
        "hovertemplate": "%{text}<extra></extra>",
        "customdata": list(merged["id"]),
        "colorbar": {"ticksuffix": "%" if metric.is_ratio else "", "thickness": 12},
    }
    figure.add_trace(go.Choroplethmap(**trace) if tiles else go.Choropleth(**trace))
    if note:
        figure.add_annotation(
            name="unplaced",
            text=note,
            x=0.01,
            y=0.01,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            bgcolor=NOTE_BACKGROUND.get(theme, NOTE_BACKGROUND["light"]),
            borderpad=4,
        )
    (lon, lat), (half_width, half_height) = frame(collection["bbox"], centre)
    if tiles:
        layers = [{"below": "traces", "sourcetype": "raster", "source": [tiles], "sourceattribution": ""}]
        zoom = _zoom(2 * half_width, 2 * half_height)
        where = {"map": {"style": "white-bg", "center": {"lon": lon, "lat": lat}, "zoom": zoom, "layers": layers}}
    else:
        where = {"geo": geo_frame((lon, lat), (half_width, half_height))}
    figure.update_layout(margin={"l": 0, "r": 0, "t": 36, "b": 0}, clickmode="event", **where)
    plain = figure.to_plotly_json()
    plain["data"][0]["geojson"] = collection
    return plain
