"""Small report tables (pipeline status, short record lists): cells formatted as a report writes them."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime

import pandas as pd
from dash import html


def format_cell(value) -> str:
    """Dates without a midnight time, counts without a trailing .0, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, datetime):
        return (
            f"{value:%Y-%m-%d}" if (value.hour, value.minute, value.second) == (0, 0, 0) else f"{value:%Y-%m-%d %H:%M}"
        )
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def report_table(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    row_class: Callable[[dict], str | None] | None = None,
    caption: str | None = None,
    class_name: str = "cockpit-table",
) -> html.Table:
    """`frame`'s `columns` (column → header) as an HTML table, optionally with a caption and row classes."""
    head = html.Thead(html.Tr([html.Th(label) for label in columns.values()]))
    rows = []
    for record in frame.to_dict("records"):
        cells = [html.Td(format_cell(record.get(column))) for column in columns]
        rows.append(html.Tr(cells, className=row_class(record) if row_class else None))
    parts = [html.Caption(caption)] if caption else []
    return html.Table([*parts, head, html.Tbody(rows)], className=class_name)
