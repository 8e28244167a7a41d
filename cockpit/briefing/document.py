"""A briefing as one print-styled HTML page (templates/brief.html), which Chromium prints to PDF.

The same page is served by the app at /briefs/preview, so what is printed can be
looked at in a browser first. Charts are drawn by the Plotly.js the app already
ships, with the zh-CN locale the app serves from its assets; nothing is fetched
from outside.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import jinja2
import plotly
import plotly.io as pio

from cockpit import labels
from cockpit.briefing.bulletin import EDGE_ROWS
from cockpit.briefing.content import Brief
from cockpit.components.format import format_value, metric_definition, plotly_config, threshold_text
from cockpit.components.table import format_cell
from cockpit.i18n import t

TEMPLATES = files("cockpit.briefing") / "templates"
PLOTLY_JS = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
# Plotly's Chinese months and weekdays: the app's own asset (served at /assets/ to pages and the wall).
PLOTLY_LOCALE_FILE = "plotly-locale-zh-cn.js"
PLOTLY_LOCALE_JS = Path(str(files("cockpit") / "assets" / PLOTLY_LOCALE_FILE))
# A brief is printed: static charts, no mode bar, in Chinese.
PLOT_CONFIG = {"staticPlot": True, "displayModeBar": False, **plotly_config("zh")}
NUMERALS = "一二三四五六七八九十"
# Copies of the watermark down each printed page (a fixed element fills one page).
WATERMARK_ROWS = 4
STATUS_WORDS = {"green": "正常", "amber": "关注", "red": "预警"}
# The overdue tickets' columns (titled from schema.yaml), then how many days each is past its deadline.
OVERDUE_COLUMNS = ("ticket_id", "category", "title", "community_id", "department_id", "deadline_at")

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True
)


def _figure_json(figure: dict) -> str:
    # Inside <script type="application/json">: only "</" could end the element early.
    return pio.to_json(figure, validate=False, engine="json").replace("</", "<\\/")


def _overdue_rows(brief: Brief) -> list[list[str]]:
    """The overdue tickets as the brief prints them; codes arrive as names (the records were read with a language)."""
    frame = brief.overdue
    if frame.empty:
        return []
    end = brief.spec.period.end_before
    rows = []
    for record in frame.to_dict("records"):
        record["title"] = record.get("title") or _shorten(record.get("content"))
        overdue_days = max(0, (end - record["deadline_at"]).days)
        rows.append([*(format_cell(record.get(column)) for column in OVERDUE_COLUMNS), format_cell(overdue_days)])
    return rows


def _shorten(text, length: int = 24) -> str:
    text = re.sub(r"\s+", " ", str(text or "")).strip()
    return text if len(text) <= length else text[: length - 1] + "…"


def render_html(brief: Brief, plotly_src: str | None = None, locale_src: str | None = None) -> str:
    """The briefing page; `plotly_src` and `locale_src` are where it loads Plotly.js and its zh-CN locale from
    (default: the files themselves)."""
    template = _environment.get_template("brief.html")
    return template.render(
        brief=brief,
        css=(TEMPLATES / "brief.css").read_text(encoding="utf-8"),
        plotly_src=plotly_src or PLOTLY_JS.as_uri(),
        locale_src=locale_src or PLOTLY_LOCALE_JS.as_uri(),
        plot_config=json.dumps(PLOT_CONFIG),
        numerals=NUMERALS,
        status_words=STATUS_WORDS,
        watermark_rows=WATERMARK_ROWS,
        street=brief.street or "街道",  # an unconfigured street: the neutral 街道数字驾驶舱
        figure_json=_figure_json,
        overdue_columns=[*(labels.header(column) for column in OVERDUE_COLUMNS), t("overdue_days", "zh")],
        overdue_rows=_overdue_rows(brief),
        edge_rows=EDGE_ROWS,
        overdue_total=format_value(brief.overdue_total, "件"),
        definition=lambda metric: metric_definition(metric, "zh"),
        thresholds=lambda metric: threshold_text(metric, "zh"),
    )
