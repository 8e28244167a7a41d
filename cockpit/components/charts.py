"""Figure builders: a KPI's grouped frame (from `compute()`) in, a Plotly figure out, no I/O.

Every clickable shape carries the group's key in `customdata`, which the drill
callback reads to narrow the view.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from cockpit.components.format import format_value, group_label, is_unplaced, metric_name, unit_suffix
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
    figure = base_figure(title, theme, EMPTY_HEIGHT)
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


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


def _axis_values(frame: pd.DataFrame, metric: Metric) -> pd.Series:
    values = frame["value"].astype(float)
    return values * 100 if metric.is_ratio else values


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
    data = worst_first(frame, metric, dimension, top)
    if data.empty:
        return empty_figure(title, t("no_data", lang), theme)
    unplaced = list(unplaced_rows(data, dimension))
    colours = [UNPLACED_COLOUR if away else STATUS_COLOURS[s] for s, away in zip(data["status"], unplaced, strict=True)]
    patterns = [UNPLACED_PATTERN if away else "" for away in unplaced]
    values = _axis_values(data, metric)
    text = [format_value(v, metric.unit, lang) for v in data["value"]]
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
            textposition="auto",
        )
        figure.update_xaxes(ticksuffix="%" if metric.is_ratio else "")
    else:
        figure.add_bar(
            x=labels,
            y=values,
            marker={"color": colours, "pattern": {"shape": patterns}},
            text=text,
            customdata=keys,
            hovertemplate="%{x}: %{text}<extra></extra>",
            textposition="auto",
        )
        figure.update_yaxes(ticksuffix="%" if metric.is_ratio else "")
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
    """One or more KPIs over day/week/month buckets; the first KPI's 同比 line dotted beside it."""
    figure = base_figure(title, theme)
    plotted = False
    for index, (metric, frame) in enumerate(frames):
        if frame.empty:
            continue
        plotted = True
        keys = [str(k)[:10] for k in frame[dimension]]
        figure.add_scatter(
            x=keys,
            y=_axis_values(frame, metric),
            name=metric_name(metric, lang),
            mode="lines+markers",
            customdata=keys,
            text=[format_value(v, metric.unit, lang) for v in frame["value"]],
            hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
        )
        if with_year_ago and index == 0 and "year_ago" in frame and frame["year_ago"].fillna(0).ne(0).any():
            year_ago = frame["year_ago"].astype(float) * (100 if metric.is_ratio else 1)
            figure.add_scatter(
                x=keys,
                y=year_ago,
                name=f"{metric_name(metric, lang)} · {t('yoy', lang)}",
                mode="lines",
                line={"dash": "dot", "width": 1.5},
                hoverinfo="skip",
            )
    if not plotted:
        return empty_figure(title, t("no_data", lang), theme)
    unit = frames[0][0]
    figure.update_yaxes(ticksuffix="%" if unit.is_ratio else "", rangemode="tozero")
    figure.update_layout(hovermode="x unified", clickmode="event")
    return figure


def share(
    frame: pd.DataFrame, metric: Metric, dimension: str, *, title: str, lang: str = "zh", theme: str = "light"
) -> go.Figure:
    """A KPI's split over a few groups as a donut (channel mix, partner kinds)."""
    data = frame[frame["value"].fillna(0) > 0]
    if data.empty:
        return empty_figure(title, t("no_data", lang), theme)
    figure = base_figure(title, theme)
    figure.add_pie(
        labels=list(data["label"]),
        values=list(data["value"].astype(float)),
        hole=0.55,
        customdata=[str(k) for k in data[dimension]],
        sort=False,
        textinfo="label+percent",
        hovertemplate="%{label}: %{value:,.0f}" + unit_suffix(metric.unit, lang) + " (%{percent})<extra></extra>",
    )
    figure.update_layout(showlegend=False)
    return figure


def funnel(stages: Sequence[tuple[Metric, float | None]], *, title: str, lang: str = "zh", theme: str = "light"):
    """Counts along a process (received → … → closed), each stage a KPI; the share of the first shown."""
    if not stages or all(value in (None, 0) for _, value in stages):
        return empty_figure(title, t("no_data", lang), theme)
    figure = base_figure(title, theme, 340)
    figure.add_funnel(
        y=[metric_name(metric, lang) for metric, _ in stages],
        x=[0 if value is None else float(value) for _, value in stages],
        customdata=[metric.id for metric, _ in stages],
        textinfo="value+percent initial",
        texttemplate="%{value:,.0f} (%{percentInitial:.1%})",
        hovertemplate="%{y}: %{value:,.0f}<extra></extra>",
    )
    return figure


def hierarchy(tree: pd.DataFrame, *, value: str, title: str, lang: str = "zh", theme: str = "light") -> go.Figure:
    """The grid system as a treemap: community → comprehensive/dedicated grid → micro grid, sized by `value`."""
    if tree.empty:
        return empty_figure(title, t("no_data", lang), theme)
    figure = base_figure(title, theme, 460)
    figure.add_treemap(
        ids=list(tree["id"]),
        labels=list(tree["label"]),
        parents=list(tree["parent"]),
        values=list(tree[value].fillna(0).astype(float)),
        branchvalues="total",
        maxdepth=2,
        customdata=list(tree["dimension"]),
        hovertemplate="%{label}: %{value:,.0f}<extra></extra>",
    )
    figure.update_layout(margin={"l": 4, "r": 4, "t": 36, "b": 4})
    return figure
