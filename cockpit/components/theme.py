"""One look for every chart: the Plotly templates, the status colours and one colour scale per meaning.

The CJK font is named first in every font stack: Chromium's PDF output drops
CJK glyphs when a system-ui font leads.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from cockpit.components.format import plotly_config
from cockpit.metrics import Metric

FONT_STACK = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
STATUS_COLOURS = {"green": "#2e9d57", "amber": "#e6a700", "red": "#d64545", "none": "#5b6b82"}
# Records with no known place (未定位): a bar apart from the ranked ones, grey and hatched.
UNPLACED_COLOUR = "#9aa5b1"
UNPLACED_PATTERN = "/"
# Behind a note laid over a map (e.g. how many records it cannot place).
NOTE_BACKGROUND = {"light": "rgba(255,255,255,0.85)", "dark": "rgba(22,32,46,0.85)"}
TONE_COLOURS = {"good": STATUS_COLOURS["green"], "bad": STATUS_COLOURS["red"], "neutral": "#7b8794"}
# One series colour per position; the first is the cockpit blue.
SERIES_COLOURS = ["#1f6feb", "#12a4a4", "#f08c2e", "#8e5cd9", "#d6456f", "#5d9c2f", "#b08900", "#6e7781"]
# Sequential scales by meaning: "more is better", "more is worse", "just more".
SCALE_GOOD_UP = [[0, "#d64545"], [0.5, "#f2d16b"], [1, "#2e9d57"]]
SCALE_GOOD_DOWN = [[0, "#2e9d57"], [0.5, "#f2d16b"], [1, "#d64545"]]
SCALE_NEUTRAL = [[0, "#dbe9ff"], [1, "#0b3d91"]]
GRAPH_CONFIG = {"displaylogo": False, "showSendToCloud": False, "showLink": False}

_PAPER = {"light": ("#ffffff", "#1f2933", "#e4e7eb"), "dark": ("#16202e", "#dce3ec", "#2c3a4d")}


def _template(theme: str) -> go.layout.Template:
    paper, ink, grid = _PAPER[theme]
    return go.layout.Template(
        layout={
            "font": {"family": FONT_STACK, "color": ink, "size": 13},
            "paper_bgcolor": paper,
            "plot_bgcolor": paper,
            "colorway": SERIES_COLOURS,
            "margin": {"l": 48, "r": 16, "t": 36, "b": 40},
            "xaxis": {"gridcolor": grid, "zerolinecolor": grid, "automargin": True},
            "yaxis": {"gridcolor": grid, "zerolinecolor": grid, "automargin": True},
            "legend": {"orientation": "h", "y": -0.15},
            "hoverlabel": {"font": {"family": FONT_STACK}},
            "title": {"font": {"size": 15}, "x": 0.01},
        }
    )


for _theme in _PAPER:
    pio.templates[f"cockpit_{_theme}"] = _template(_theme)


def template_name(theme: str) -> str:
    return f"cockpit_{theme if theme in _PAPER else 'light'}"


def colour_scale(metric: Metric) -> list:
    return {"up": SCALE_GOOD_UP, "down": SCALE_GOOD_DOWN}.get(metric.good, SCALE_NEUTRAL)


def graph_config(lang: str) -> dict:
    """GRAPH_CONFIG for a reader of `lang`: in Chinese with Plotly's zh-CN locale (months, weekdays, buttons)."""
    return {**GRAPH_CONFIG, **plotly_config(lang)}
