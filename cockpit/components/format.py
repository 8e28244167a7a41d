"""Numbers, times and chart axes as a Chinese report writes them, for pages, the wall and briefs alike.

万 for large counts, percentages with one decimal, dates like 11月1日 on time axes
(Plotly's zh-CN locale, served from cockpit/assets/, names months and weekdays).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from cockpit.i18n import romanise, t
from cockpit.labels import PLACE_LISTS
from cockpit.metrics import Metric
from cockpit.metrics.catalog import PLACE_DIMENSIONS, UNKNOWN_PLACE

COUNT_UNITS = ("件", "个", "人", "户", "次", "元")
# A count's 环比/同比 against fewer than this many is shown as a difference, not a percentage (`shown_change`).
SMALL_BASE = 5
UNIT_EN = {"件": "", "个": "", "人": "", "户": " hh", "次": "", "元": " CNY", "小时": " h", "分钟": " min", "天": " d"}
# From which size a count is written in 万 (Chinese) or in millions (English), and by what it is divided.
LARGE_COUNT = {"zh": (100_000, 10_000, "万"), "en": (1_000_000, 1_000_000, "M")}

# Plotly's locale per reader language; English is Plotly's own default, so it needs none.
PLOTLY_LOCALES = {"zh": "zh-CN"}
# A time axis per trend bucket: (tick labels, hover label), in d3-time-format; %a and %b follow the locale.
DATE_AXIS_FORMATS = {
    "zh": {
        "day": ("%-m月%-d日", "%Y年%-m月%-d日 %a"),
        "week": ("%-m月%-d日", "%Y年%-m月%-d日起当周"),
        "month": ("%Y年%-m月", "%Y年%-m月"),
    },
    "en": {
        "day": ("%b %-d", "%a %b %-d, %Y"),
        "week": ("%b %-d", "week of %b %-d, %Y"),
        "month": ("%b %Y", "%B %Y"),
    },
}
# Times in lists, banners and briefs: to the minute, the same within a year, a clock time.
TIME_FORMATS = {"stamp": "%Y-%m-%d %H:%M", "short": "%m-%d %H:%M", "clock": "%H:%M", "day": "%Y-%m-%d"}


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: Any, unit: str, lang: str = "zh") -> str:
    """The value alone, without its unit: '40.2万', '96.1%', '1,234', '3.5'."""
    if is_missing(value):
        return "—"
    number = float(value)
    if unit == "%":
        return f"{number * 100:.1f}%"
    if unit in COUNT_UNITS:
        divisor, suffix = count_scale(number, lang)
        if suffix:
            return f"{number / divisor:,.{1 if lang == 'zh' else 2}f}{suffix}"
        return f"{number:,.0f}"
    return f"{number:,.1f}"


def count_scale(largest: float, lang: str = "zh") -> tuple[float, str]:
    """(divisor, suffix) for counts as large as `largest`: (10000, '万') from 10万 in Chinese, else (1, '')."""
    threshold, divisor, suffix = LARGE_COUNT["en" if lang == "en" else "zh"]
    return (divisor, suffix) if abs(largest) >= threshold else (1, "")


def value_scale(values: Sequence[Any], unit: str, lang: str = "zh") -> tuple[float, dict]:
    """(factor, axis settings) for plotting a KPI's `values`: multiply by factor, label the axis with the settings.

    Ratios are drawn in percent ('96%'); counts of 10万 and more in 万 ('40万'), so an axis never
    reads '400k'; other numbers with thousands separators, never an SI prefix.
    """
    if unit == "%":
        return 100.0, {"ticksuffix": "%"}
    largest = max((abs(float(value)) for value in values if not is_missing(value)), default=0.0)
    divisor, suffix = count_scale(largest, lang) if unit in COUNT_UNITS else (1, "")
    return 1 / divisor, {"ticksuffix": suffix, "separatethousands": True, "exponentformat": "none"}


def value_axis(values: Sequence[Any], unit: str, lang: str = "zh") -> tuple[list[float | None], dict]:
    """`values` as a chart plots them (value_scale) and the axis settings that label them as the tiles do."""
    factor, settings = value_scale(values, unit, lang)
    return [None if is_missing(value) else float(value) * factor for value in values], settings


def date_axis(bucket: str, lang: str = "zh") -> dict:
    """Axis settings for a time axis of `bucket` (day, week, month) in `lang`: '11月1日' or 'Nov 1'."""
    formats = DATE_AXIS_FORMATS["en" if lang == "en" else "zh"]
    ticks, hover = formats.get(bucket, formats["day"])
    return {"type": "date", "tickformat": ticks, "hoverformat": hover}


def plotly_config(lang: str = "zh") -> dict:
    """The part of a graph's Plotly config that depends on the reader's language (its locale)."""
    locale = PLOTLY_LOCALES.get(lang)
    return {"locale": locale} if locale else {}


def format_time(value: Any, style: str = "stamp") -> str:
    """A date or time as the cockpit prints it (TIME_FORMATS: stamp, short, clock, day); '' when missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return f"{value:{TIME_FORMATS[style]}}"


def unit_suffix(unit: str, lang: str = "zh") -> str:
    if unit == "%":
        return ""
    return UNIT_EN.get(unit, "") if lang == "en" else unit


def format_value(value: Any, unit: str, lang: str = "zh") -> str:
    """The value with its unit: '1,234件', '96.1%', '3.5小时' ('3.5 h' in English)."""
    text = format_number(value, unit, lang)
    return text if text == "—" else text + unit_suffix(unit, lang)


def format_change(change: Any, kind: str, lang: str = "zh") -> str:
    """A 环比/同比 change: '↑5.2%' (relative) or '↓1.3个百分点' (points, for '%' KPIs)."""
    if is_missing(change):
        return "—"
    number = float(change) * 100
    if abs(number) < 0.05:
        return t("flat", lang)
    arrow = "↑" if number > 0 else "↓"
    if kind == "points":
        return f"{arrow}{abs(number):.1f}{t('points', lang)}"
    return f"{arrow}{abs(number):.1f}%"


def _small_count_difference(unit: str, value: Any, base: Any, lang: str) -> str | None:
    """'↓1件': the difference from `base`, when `unit` counts and `base` is under SMALL_BASE; else None."""
    if unit not in COUNT_UNITS or is_missing(base) or is_missing(value) or abs(float(base)) >= SMALL_BASE:
        return None
    difference = float(value) - float(base)
    if abs(difference) < 0.05:
        return t("flat", lang)
    return f"{'↑' if difference > 0 else '↓'}{format_value(abs(difference), unit, lang)}"


def shown_change(
    metric: Metric, value: Any, base: Any, change: Any, *, partial: bool = False, lang: str = "zh"
) -> tuple[str, str]:
    """A KPI's 环比 or 同比 as the screens, the wall and the brief show it: (text, tone).

    A count (COUNT_UNITS) against a base under SMALL_BASE is shown as the difference in its unit, in no colour:
    from 1 to 0 is "↓1件", not a red "↓100%", and from 0 to 3 is "↑3件", not "—". A percentage of so few
    says nothing. Otherwise the relative change or, for '%' KPIs, the points (`format_change`, `change_tone`).
    A partial window (`partial`: compute()'s status_reason) and a base before the data began (blank) are not
    compared at all.
    """
    small = None if partial else _small_count_difference(metric.unit, value, base, lang)
    if small is None:
        return format_change(change, metric.change_kind, lang), change_tone(metric, change)
    return small, "neutral"


def count_change(value: Any, base: Any, change: Any, lang: str = "zh") -> str:
    """The 环比 of a count of tickets that is no KPI's (a topic's, a category's forecast against its last days),
    by the rule of `shown_change`: relative, or under SMALL_BASE the difference."""
    return _small_count_difference("件", value, base, lang) or format_change(change, "relative", lang)


def row_change(metric: Metric, row: Any, which: str, lang: str = "zh") -> tuple[str, str]:
    """`shown_change` of a row of compute(): `which` is 'mom' (环比, against `previous`) or 'yoy' (同比,
    against `year_ago`)."""
    if row is None:
        return format_change(None, metric.change_kind, lang), "neutral"
    base = row.get("previous" if which == "mom" else "year_ago")
    partial = isinstance(row.get("status_reason"), str)
    return shown_change(metric, row.get("value"), base, row.get(f"change_{which}"), partial=partial, lang=lang)


def change_tone(metric: Metric, change: Any) -> str:
    """'good' | 'bad' | 'neutral': whether a change moved the KPI the good way."""
    if is_missing(change) or metric.good == "neutral" or abs(float(change)) < 0.0005:
        return "neutral"
    rising = float(change) > 0
    return "good" if rising == (metric.good == "up") else "bad"


def is_unplaced(dimension: str, key: Any) -> bool:
    """Whether `key` of `dimension` is the place member of records with no known place (未定位)."""
    return dimension in PLACE_DIMENSIONS and key == UNKNOWN_PLACE


def group_label(dimension: str, key: Any, label: Any, lang: str = "zh") -> str:
    """A group's name on screen: the unknown place in the reader's language (未定位 / Unlocated), else `label`;
    a place in pinyin for an English reader (places have Chinese names only)."""
    if is_unplaced(dimension, key):
        return t("unlocated", lang)
    if lang == "en" and dimension in PLACE_LISTS:
        return romanise(str(label))
    return str(label)


def metric_name(metric: Metric, lang: str = "zh") -> str:
    return metric.name_en if lang == "en" else metric.name_zh


def metric_definition(metric: Metric, lang: str = "zh") -> str:
    return metric.definition_en if lang == "en" else metric.definition


def threshold_text(metric: Metric, lang: str = "zh") -> str:
    """'绿 95.0% · 黄 90.0%': the colour bounds of a KPI ('' without thresholds)."""
    if metric.thresholds is None:
        return ""
    green = format_value(metric.thresholds.green, metric.unit, lang)
    amber = format_value(metric.thresholds.amber, metric.unit, lang)
    return f"{t('green', lang)} {green} · {t('amber', lang)} {amber}"
