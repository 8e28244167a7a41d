"""Figure builders: a KPI's grouped frame (from `compute()`) in, a Plotly figure out, no I/O.

Every clickable shape carries the group's key in `customdata`, which the drill
callback reads to narrow the view. A chart with nothing to draw in the period
(no rows, or only empty values) says so in words (本期无数据) instead of drawing
empty axes. Numbers and dates are labelled through cockpit.components.format,
as the KPI tiles are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from cockpit.components.format import (
    count_change,
    date_axis,
    format_value,
    group_label,
    is_missing,
    is_unplaced,
    metric_name,
    value_axis,
    value_scale,
)
from cockpit.components.theme import STATUS_COLOURS, UNPLACED_COLOUR, UNPLACED_PATTERN, template_name
from cockpit.i18n import t
from cockpit.metrics import Metric

EMPTY_HEIGHT = 300


def base_figure(title: str, theme: str, height: int = 320) -> go.Figure:
    """An empty figure in the cockpit's template for `theme`, titled, at `height` px."""
    figure = go.Figure()
    figure.update_layout(template=template_name(theme), title={"text": title}, height=height)
    return figure


def empty_figure(title: str, message: str, theme: str = "light") -> go.Figure:
    """A titled figure with `message` in words where the chart would be, and no axes."""
    figure = base_figure(title, theme, EMPTY_HEIGHT)
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def no_data_figure(title: str, lang: str = "zh", theme: str = "light") -> go.Figure:
    """The chart of a period with no data: 本期无数据 / No data in this period."""
    return empty_figure(title, t("no_data_period", lang), theme)


def has_values(frame: pd.DataFrame | None, column: str = "value") -> bool:
    """Whether a frame has anything to draw: a row whose `column` is not null."""
    return frame is not None and column in frame and bool(frame[column].notna().any())


def drawable(frame: pd.DataFrame | None, metric: Metric) -> bool:
    """Whether a KPI frame is worth a chart: some value, and for a count, an average or a sum, one that is not 0.

    A count of nothing over the whole period (no pledge delivered by any community, no ticket on any
    day) is what a period with no data looks like: zero-length bars and a flat line at 0 would only
    draw axes from −1 to 1. A rate of 0 % is a value, and is drawn.
    """
    if not has_values(frame):
        return False
    return metric.is_ratio or bool(frame["value"].fillna(0).astype(float).ne(0).any())


def unplaced_rows(frame: pd.DataFrame, dimension: str) -> pd.Series:
    """Which rows of a KPI frame grouped by `dimension` are the unknown place (未定位)."""
    if dimension not in frame:
        return pd.Series(False, index=frame.index)
    return frame[dimension].map(lambda key: is_unplaced(dimension, key)).astype(bool)


def worst_first(frame: pd.DataFrame, metric: Metric, dimension: str, top: int | None = None) -> pd.DataFrame:
    """Groups with a value, what needs attention first: the lowest of a "higher is better" KPI first.

    `top` keeps the first so many. The unknown place (未定位) is no community to rank:
    it comes last, after the `top`, so records with no place are never cut off the list.
    """
    ranked = frame.dropna(subset=["value"]).sort_values("value", ascending=metric.good == "up", kind="stable")
    unplaced = unplaced_rows(ranked, dimension)
    placed = ranked.index[~unplaced]
    if top:
        placed = placed[:top]
    return ranked.loc[placed.append(ranked.index[unplaced])]


def as_dict(figure: go.Figure | dict) -> dict:
    """A figure as the plain dict Dash sends (maps are built as dicts already), to adjust before sending."""
    return figure if isinstance(figure, dict) else figure.to_plotly_json()


def bar(
    frame: pd.DataFrame,
    metric: Metric,
    dimension: str,
    *,
    title: str,
    lang: str = "zh",
    theme: str = "light",
    top: int | None = None,
    horizontal: bool = True,
) -> go.Figure:
    """Groups of one KPI as bars coloured by status; a ranking when horizontal, worst on top.

    "Worst" follows the KPI's good direction (lowest on-time rate, most overdue);
    for a neutral count, the largest comes first. Records with no place are a grey,
    hatched 未定位 bar at the end, outside the ranking.
    """
    if not drawable(frame, metric):
        return no_data_figure(title, lang, theme)
    data = worst_first(frame, metric, dimension, top)
    unplaced = list(unplaced_rows(data, dimension))
    colours = [UNPLACED_COLOUR if away else STATUS_COLOURS[s] for s, away in zip(data["status"], unplaced, strict=True)]
    patterns = [UNPLACED_PATTERN if away else "" for away in unplaced]
    values, value_settings = value_axis(list(data["value"]), metric.unit, lang)
    text = [format_value(v, metric.unit, lang) for v in data["value"]]
    # A bar of 0 has no room for its text inside it: written beside it, so that a ranking whose bars shown are
    # all 0 (the worst 20 of a district's 3,330 grids) still reads "0.0%" beside each name, on an axis from 0.
    positions = ["outside" if value == 0 else "auto" for value in values]
    if all(value is None or value >= 0 for value in values):
        value_settings = {**value_settings, "rangemode": "tozero"}
    keys = [str(k) for k in data[dimension]]
    labels = [group_label(dimension, k, label, lang) for k, label in zip(data[dimension], data["label"], strict=True)]
    height = max(260, 28 * len(data) + 80) if horizontal else 340
    figure = base_figure(title, theme, height)
    if horizontal:
        figure.add_bar(
            x=values[::-1],
            y=labels[::-1],
            orientation="h",
            marker={"color": colours[::-1], "pattern": {"shape": patterns[::-1]}},
            text=text[::-1],
            customdata=keys[::-1],
            hovertemplate="%{y}: %{text}<extra></extra>",
            textposition=positions[::-1],
        )
        figure.update_xaxes(**value_settings)
    else:
        figure.add_bar(
            x=labels,
            y=values,
            marker={"color": colours, "pattern": {"shape": patterns}},
            text=text,
            customdata=keys,
            hovertemplate="%{x}: %{text}<extra></extra>",
            textposition=positions,
        )
        figure.update_yaxes(**value_settings)
    figure.update_layout(showlegend=False, clickmode="event")
    return figure


def trend(
    frames: Sequence[tuple[Metric, pd.DataFrame]],
    dimension: str,
    *,
    title: str,
    lang: str = "zh",
    theme: str = "light",
    with_year_ago: bool = True,
) -> go.Figure:
    """One or more KPIs over day/week/month buckets (`dimension`); the first KPI's 同比 line dotted beside it.

    The time axis is labelled for the bucket in the reader's language (date_axis); the value axis
    as the first KPI's tiles are (value_axis: %, 万).
    """
    drawn = [(metric, frame) for metric, frame in frames if drawable(frame, metric)]
    if not drawn:
        return no_data_figure(title, lang, theme)
    # Every line on one scale, the first KPI's (its 同比 line included, so the axis holds it too).
    unit = drawn[0][0].unit
    plotted = [v for _, frame in drawn for column in ("value", "year_ago") if column in frame for v in frame[column]]
    factor, value_settings = value_scale(plotted, unit, lang)
    figure = base_figure(title, theme)
    for index, (metric, frame) in enumerate(frames):
        if not drawable(frame, metric):
            continue
        keys = [str(k)[:10] for k in frame[dimension]]
        figure.add_scatter(
            x=keys,
            y=_times(frame["value"], factor),
            name=metric_name(metric, lang),
            mode="lines+markers",
            customdata=keys,
            text=[format_value(v, metric.unit, lang) for v in frame["value"]],
            hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
        )
        if with_year_ago and index == 0 and "year_ago" in frame and frame["year_ago"].fillna(0).ne(0).any():
            figure.add_scatter(
                x=keys,
                y=_times(frame["year_ago"], factor),
                name=f"{metric_name(metric, lang)} · {t('yoy', lang)}",
                mode="lines",
                line={"dash": "dot", "width": 1.5},
                hoverinfo="skip",
            )
    figure.update_xaxes(**date_axis(dimension, lang))
    figure.update_yaxes(**value_settings, rangemode="tozero")
    figure.update_layout(hovermode="x unified", clickmode="event")
    return figure


def _times(values: pd.Series, factor: float) -> list[float | None]:
    return [None if is_missing(value) else float(value) * factor for value in values]


def share(
    frame: pd.DataFrame, metric: Metric, dimension: str, *, title: str, lang: str = "zh", theme: str = "light"
) -> go.Figure:
    """A KPI's split over a few groups as a donut (channel mix, partner kinds)."""
    data = frame[frame["value"].fillna(0) > 0] if has_values(frame) else frame.iloc[0:0]
    if data.empty:
        return no_data_figure(title, lang, theme)
    figure = base_figure(title, theme)
    figure.add_pie(
        labels=list(data["label"]),
        values=list(data["value"].astype(float)),
        hole=0.55,
        customdata=[str(k) for k in data[dimension]],
        sort=False,
        textinfo="label+percent",
        hovertext=[format_value(v, metric.unit, lang) for v in data["value"]],
        hovertemplate="%{label}: %{hovertext} (%{percent})<extra></extra>",
    )
    figure.update_layout(showlegend=False)
    return figure


def funnel(stages: Sequence[tuple[Metric, float | None]], *, title: str, lang: str = "zh", theme: str = "light"):
    """Counts along a process (received → … → closed), each stage a KPI; the share of the first shown."""
    numbers = [0.0 if is_missing(value) else float(value) for _, value in stages]
    if not any(numbers):
        return no_data_figure(title, lang, theme)
    figure = base_figure(title, theme, 340)
    figure.add_funnel(
        y=[metric_name(metric, lang) for metric, _ in stages],
        x=numbers,
        customdata=[metric.id for metric, _ in stages],
        text=[format_value(number, metric.unit, lang) for (metric, _), number in zip(stages, numbers, strict=True)],
        textinfo="text+percent initial",
        texttemplate="%{text} (%{percentInitial:.1%})",
        hovertemplate="%{y}: %{text}<extra></extra>",
    )
    return figure


def hierarchy(
    tree: pd.DataFrame, *, value: str, title: str, unit: str = "人", lang: str = "zh", theme: str = "light"
) -> go.Figure:
    """The grid system as a treemap: community → comprehensive/dedicated grid → micro grid, sized by `value`."""
    if not has_values(tree, value) or not tree[value].fillna(0).astype(float).any():
        return no_data_figure(title, lang, theme)
    sizes = list(tree[value].fillna(0).astype(float))
    figure = base_figure(title, theme, 460)
    figure.add_treemap(
        ids=list(tree["id"]),
        labels=list(tree["label"]),
        parents=list(tree["parent"]),
        values=sizes,
        branchvalues="total",
        maxdepth=2,
        customdata=list(tree["dimension"]),
        hovertext=[format_value(size, unit, lang) for size in sizes],
        hovertemplate="%{label}: %{hovertext}<extra></extra>",
    )
    figure.update_layout(margin={"l": 4, "r": 4, "t": 36, "b": 4})
    return figure


# A word cloud is laid out on this canvas (px) and drawn on axes of the same size: Plotly scales it to the
# panel, while the text keeps its size in px, so the words of a small panel sit closer together.
CLOUD_CANVAS = (600, 230)
# Tight margins, so that the plot area of a page's panel (about 680 × 250) and a brief's chart (660 × 210)
# is about the canvas: the words keep their px size whatever the plot area is.
CLOUD_MARGIN = {"l": 10, "r": 10, "t": 50, "b": 24}
CLOUD_FONT = (14, 40)  # px: the least and the most frequent topic
CLOUD_GLYPH = 1.0  # a CJK character is about as wide as the font is high
CLOUD_STEADY = "#3b82c4"  # a topic not rising: a blue that reads on the light and the dark theme


def cloud_layout(words: Sequence[tuple[str, float]], canvas: tuple[int, int] = CLOUD_CANVAS) -> list[tuple]:
    """(word, font px, x, y) for each (word, weight) that fits, heaviest first, placed on an Archimedean spiral
    from the middle at the first spot where its box overlaps no word placed before."""
    if not words:
        return []
    low, high = min(weight for _, weight in words), max(weight for _, weight in words)
    width, height = canvas
    placed: list[tuple[float, float, float, float]] = []
    laid = []
    for word, weight in sorted(words, key=lambda item: -item[1]):
        share = (weight - low) / (high - low) if high > low else 1.0
        size = CLOUD_FONT[0] + (CLOUD_FONT[1] - CLOUD_FONT[0]) * share**0.5
        half_w, half_h = len(word) * size * CLOUD_GLYPH / 2 + 3, size / 2 + 6
        for step in range(4000):
            angle = step * 0.1
            x, y = 2.5 * angle * math.cos(angle), 1.2 * angle * math.sin(angle)
            if abs(x) + half_w > width / 2 or abs(y) + half_h > height / 2:
                continue
            box = (x - half_w, y - half_h, x + half_w, y + half_h)
            if all(box[2] <= o[0] or box[0] >= o[2] or box[3] <= o[1] or box[1] >= o[3] for o in placed):
                placed.append(box)
                laid.append((word, round(size, 1), round(x, 1), round(y, 1)))
                break
    return laid


def cloud(topics: Sequence | None, *, title: str, lang: str = "zh", theme: str = "light") -> go.Figure:
    """Hot topics as a word cloud: each term sized by its tickets, rising ones (环比 up) in the alarm colour;
    a click narrows the view to the term (customdata). None: the release has no terms yet (built before)."""
    if topics is None:
        return empty_figure(title, t("topics_next_release", lang), theme)
    if not topics:
        return no_data_figure(title, lang, theme)
    by_term = {topic.term: topic for topic in topics}
    laid = cloud_layout([(topic.term, topic.count) for topic in topics])
    figure = base_figure(title, theme)
    width, height = CLOUD_CANVAS
    figure.add_scatter(
        x=[x for _, _, x, _ in laid],
        y=[y for _, _, _, y in laid],
        mode="text",
        text=[word for word, _, _, _ in laid],
        customdata=[word for word, _, _, _ in laid],
        textfont={
            "size": [size for _, size, _, _ in laid],
            "color": [
                STATUS_COLOURS["red"] if (by_term[word].change or 0) > 0 else CLOUD_STEADY for word, _, _, _ in laid
            ],
        },
        hovertext=[
            f"{format_value(by_term[word].count, '件', lang)} · {t('mom', lang)} "
            f"{count_change(by_term[word].count, by_term[word].previous, by_term[word].change, lang)}"
            for word, _, _, _ in laid
        ],
        hovertemplate="%{text}: %{hovertext}<extra></extra>",
    )
    figure.add_annotation(
        text=t("cloud_key", lang),
        x=1,
        y=0,
        xref="paper",
        yref="paper",
        xanchor="right",
        yanchor="bottom",
        showarrow=False,
        font={"size": 11, "color": STATUS_COLOURS["red"]},
    )
    figure.update_xaxes(visible=False, range=[-width / 2, width / 2], fixedrange=True)
    figure.update_yaxes(visible=False, range=[-height / 2, height / 2], fixedrange=True)
    figure.update_layout(showlegend=False, margin=CLOUD_MARGIN)
    return figure


# The forecast chart shows this many days of history before the forecast.
FORECAST_HISTORY_DAYS = 8 * 7


def forecast(fc, *, title: str, lang: str = "zh", theme: str = "light") -> go.Figure:
    """The last weeks' daily tickets, the forecast with its interval as a band, and the seasonal naive dotted
    (cockpit/metrics/warning.py `Forecast`); None (no tickets loaded) says so in words."""
    if fc is None or not len(fc.history):
        return no_data_figure(title, lang, theme)
    history = fc.history.iloc[-FORECAST_HISTORY_DAYS:]
    days = [f"{day:%Y-%m-%d}" for day in history.index]
    future = [f"{day:%Y-%m-%d}" for day in fc.mean.index]
    figure = base_figure(title, theme)

    def text(values) -> list[str]:
        return [format_value(round(float(v), 1), "件", lang) for v in values]

    figure.add_scatter(
        x=days,
        y=history.to_numpy(),
        name=t("forecast_history", lang),
        mode="lines",
        customdata=days,  # a click drills to the day
        text=text(history),
        hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
    )
    band = t("forecast_band", lang, level=f"{fc.level:.0%}")
    figure.add_scatter(
        x=future,
        y=fc.upper.to_numpy(),
        mode="lines",
        line={"width": 0},
        showlegend=False,
        hoverinfo="skip",
        legendgroup="band",
    )
    figure.add_scatter(
        x=future,
        y=fc.lower.to_numpy(),
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(31, 119, 180, 0.18)",
        name=band,
        legendgroup="band",
        text=[f"{lo}–{hi}" for lo, hi in zip(text(fc.lower), text(fc.upper), strict=True)],
        hovertemplate="%{x}: %{text}<extra>" + band + "</extra>",
    )
    figure.add_scatter(
        x=future,
        y=fc.mean.to_numpy(),
        name=t("forecast_mean", lang),
        mode="lines+markers",
        line={"dash": "dash"},
        text=text(fc.mean),
        hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
    )
    figure.add_scatter(
        x=future,
        y=fc.naive.to_numpy(),
        name=t("forecast_naive", lang),
        mode="lines",
        line={"dash": "dot", "width": 1.5, "color": "#888888"},
        text=text(fc.naive),
        hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
    )
    figure.update_xaxes(**date_axis("day", lang))
    figure.update_yaxes(rangemode="tozero")
    figure.update_layout(hovermode="x unified")
    return figure
