"""The street map: community or grid polygons from the warehouse coloured by a KPI, with no tile server.

`go.Choroplethmap` with the built-in "white-bg" style draws only our own
polygons: no public tiles, no CDN topojson, no glyph fonts (no text layers).
An intranet tile server can be layered underneath by configuration
(COCKPIT_MAP_TILES = an XYZ URL template).

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
    west, south, east, north = collection["bbox"]
    figure = base_figure(title, theme, height)
    figure.add_trace(
        go.Choroplethmap(
            geojson={"type": "FeatureCollection", "features": []},
            locations=list(merged["id"]),
            z=list(z.fillna(0)),
            featureidkey="id",
            colorscale=colour_scale(metric),
            marker={"opacity": 0.75, "line": {"width": 0.8, "color": "#ffffff"}},
            text=text,
            hovertemplate="%{text}<extra></extra>",
            customdata=list(merged["id"]),
            colorbar={"ticksuffix": "%" if metric.is_ratio else "", "thickness": 12},
        )
    )
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
    layers = []
    if tiles:
        layers.append({"below": "traces", "sourcetype": "raster", "source": [tiles], "sourceattribution": ""})
    if centre and west <= centre[0] <= east and south <= centre[1] <= north:
        # Centred where the street says, zoomed out as far as it takes to keep every polygon in view. A centre
        # outside the polygons (a setting written for another area) would show none of them: the middle then.
        lon, lat = centre
        zoom = _zoom(2 * max(lon - west, east - lon), 2 * max(lat - south, north - lat))
    else:
        lon, lat = (west + east) / 2, (south + north) / 2
        zoom = _zoom(east - west, north - south)
    figure.update_layout(
        margin={"l": 0, "r": 0, "t": 36, "b": 0},
        map={"style": "white-bg", "center": {"lon": lon, "lat": lat}, "zoom": zoom, "layers": layers},
        clickmode="event",
    )
    plain = figure.to_plotly_json()
    plain["data"][0]["geojson"] = collection
    return plain
