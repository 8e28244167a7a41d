"""Numbers as a Chinese report writes them: 万 for large counts, percentages with one decimal."""

from __future__ import annotations

import math
from typing import Any

from cockpit.i18n import t
from cockpit.metrics import Metric
from cockpit.metrics.catalog import PLACE_DIMENSIONS, UNKNOWN_PLACE

COUNT_UNITS = ("件", "个", "人", "户", "次", "元")
UNIT_EN = {"件": "", "个": "", "人": "", "户": " hh", "次": "", "元": " CNY", "小时": " h", "分钟": " min", "天": " d"}


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
        if lang == "zh" and abs(number) >= 100_000:
            return f"{number / 10_000:,.1f}万"
        if lang == "en" and abs(number) >= 1_000_000:
            return f"{number / 1_000_000:,.2f}M"
        return f"{number:,.0f}"
    return f"{number:,.1f}"


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
    """A group's name on screen: the unknown place in the reader's language (未定位 / Unlocated), else `label`."""
    if is_unplaced(dimension, key):
        return t("unlocated", lang)
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
