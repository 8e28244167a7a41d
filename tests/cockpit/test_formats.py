"""Chinese formats and honest empty charts: axes labelled as the tiles are, and words where a period has no data.

The builders are called with hand-made frames; the pages and the wall are asked through the real app.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest

from cockpit.components import charts
from cockpit.components.board import HTML_KINDS
from cockpit.components.format import date_axis, format_time, format_value, value_axis
from cockpit.components.wall import BOARDS as WALL_BOARDS
from cockpit.data import current_warehouse
from cockpit.metrics import get_metric
from cockpit.view import View
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_pages import board, render
from tests.fixtures.accounts import signed_context

NO_DATA = {"zh": "本期无数据", "en": "No data in this period"}
EMPTY_PERIOD = "2025-01-01:2025-01-31"  # the test street's data starts in September 2026


def says_no_data(figure: dict, lang: str) -> bool:
    """A figure that draws nothing and says, in words, that the period has no data (no axes shown)."""
    layout = figure["layout"]
    words = [note["text"] for note in layout.get("annotations", [])]
    axes_hidden = all(layout.get(axis, {}).get("visible") is False for axis in ("xaxis", "yaxis"))
    return not figure["data"] and words == [NO_DATA[lang]] and axes_hidden


def plain(figure) -> dict:
    return charts.as_dict(figure)


# --- builders ---------------------------------------------------------------------------------


def test_every_builder_says_no_data_for_an_empty_or_all_null_frame():
    tickets, rate, hours = get_metric("tickets_received"), get_metric("on_time_rate"), get_metric("volunteer_hours")
    days = pd.to_datetime(["2026-11-01", "2026-11-02"])
    null_trend = pd.DataFrame({"day": days, "value": [None, None]})
    null_groups = pd.DataFrame(
        {"community": ["C1", "C2"], "label": ["甲社区", "乙社区"], "value": [None, None], "status": ["none", "none"]}
    )
    zero_counts = null_groups.assign(value=[0.0, 0.0])
    for lang in ("zh", "en"):
        built = [
            charts.trend([(hours, null_trend)], "day", title="t", lang=lang),
            charts.trend([(tickets, null_trend.iloc[0:0])], "day", title="t", lang=lang),
            charts.bar(null_groups, rate, "community", title="t", lang=lang),
            charts.bar(zero_counts, tickets, "community", title="t", lang=lang),
            charts.share(null_groups, tickets, "community", title="t", lang=lang),
            charts.funnel([(tickets, None), (get_metric("tickets_closed"), float("nan"))], title="t", lang=lang),
            charts.hierarchy(
                pd.DataFrame({"id": ["a"], "label": ["甲"], "parent": [""], "residents": [None], "dimension": ["a"]}),
                value="residents",
                title="t",
                lang=lang,
            ),
        ]
        for figure in built:
            assert says_no_data(plain(figure), lang), plain(figure)["layout"].get("annotations")


def test_a_ratio_of_zero_is_a_value_and_is_drawn():
    frame = pd.DataFrame({"community": ["C1"], "label": ["甲社区"], "value": [0.0], "status": ["red"]})
    figure = plain(charts.bar(frame, get_metric("on_time_rate"), "community", title="t"))
    assert figure["data"] and list(figure["data"][0]["x"]) == [0.0]
    assert list(figure["data"][0]["text"]) == ["0.0%"]


def test_a_trend_axis_reads_days_as_a_chinese_report_writes_them_and_counts_in_wan():
    days = pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-03"])
    frame = pd.DataFrame({"day": days, "value": [152_000.0, 98_000.0, None]})
    zh = plain(charts.trend([(get_metric("tickets_received"), frame)], "day", title="t", lang="zh"))
    assert zh["layout"]["xaxis"]["type"] == "date"
    # d3-time-format: %-m and %-d are the month and day without a leading zero.
    assert "月" in zh["layout"]["xaxis"]["tickformat"] and "%b" not in zh["layout"]["xaxis"]["tickformat"]
    assert zh["layout"]["yaxis"]["ticksuffix"] == "万"
    assert list(zh["data"][0]["y"])[:2] == pytest.approx([15.2, 9.8])  # plotted in 万, labelled as the tiles are
    assert list(zh["data"][0]["text"])[:2] == ["15.2万件", "98,000件"]
    en = plain(charts.trend([(get_metric("tickets_received"), frame)], "day", title="t", lang="en"))
    assert en["layout"]["xaxis"]["tickformat"].startswith("%b")  # Nov 1
    assert en["layout"]["yaxis"].get("ticksuffix", "") == "" and list(en["data"][0]["y"])[:2] == [152_000, 98_000]
    assert en["layout"]["yaxis"]["exponentformat"] == "none"  # 152,000, never 152k


def test_a_year_ago_line_shares_the_axis_of_this_year():
    days = pd.to_datetime(["2026-11-01", "2026-11-02"])
    frame = pd.DataFrame({"day": days, "value": [90_000.0, 80_000.0], "year_ago": [120_000.0, 60_000.0]})
    figure = plain(charts.trend([(get_metric("tickets_received"), frame)], "day", title="t", lang="zh"))
    this_year, year_ago = figure["data"]
    assert figure["layout"]["yaxis"]["ticksuffix"] == "万"  # the axis reaches 12万
    assert list(this_year["y"]) == pytest.approx([9.0, 8.0]) and list(year_ago["y"]) == pytest.approx([12.0, 6.0])


def test_value_axis_follows_the_unit_of_the_kpi():
    assert value_axis([0.961, None], "%", "zh") == ([pytest.approx(96.1), None], {"ticksuffix": "%"})
    scaled, settings = value_axis([250_000, 40_000], "人", "zh")
    assert scaled == [25.0, 4.0] and settings["ticksuffix"] == "万"
    scaled, settings = value_axis([99_999], "人", "zh")  # below 10万: as it is, with separators
    assert scaled == [99_999] and settings["ticksuffix"] == "" and settings["separatethousands"] is True
    scaled, settings = value_axis([382_400.0], "小时", "zh")  # hours are no count: never in 万
    assert scaled == [382_400.0] and settings["ticksuffix"] == ""
    assert value_axis([2_500_000], "元", "en")[0] == [2.5]
    # The tiles say the same: 万 from 10万 in Chinese, millions in English.
    assert format_value(250_000, "人", "zh") == "25.0万人" and format_value(2_500_000, "元", "en") == "2.50M CNY"


def test_each_time_bucket_has_its_own_axis_format_in_each_language():
    november_first = datetime(2026, 11, 1)
    for bucket in ("day", "week", "month"):
        zh, en = date_axis(bucket, "zh"), date_axis(bucket, "en")
        assert zh["type"] == en["type"] == "date"
        assert "月" in zh["tickformat"] and "月" not in en["tickformat"]
    assert date_axis("month", "zh")["tickformat"] != date_axis("day", "zh")["tickformat"]  # 2026年11月, not 11月1日
    assert format_time(november_first) == "2026-11-01 00:00"
    assert format_time(november_first, "short") == "11-01 00:00"
    assert format_time(pd.NaT, "clock") == "" and format_time(None) == ""


# --- the real app -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", ["dispatch", "party", "approvals"])
def test_a_page_for_a_period_with_no_data_says_so_in_words_not_axes(app, page, lang):
    client = DashClient(app, language=lang)
    query = {"period": EMPTY_PERIOD}
    layout = render(app, page, query, cookies=f"cockpit_lang={lang}")
    figures, panels = {}, {}
    for output, outputs, inputs in client.page_updates(layout, page):
        for component, props in client.update(output, outputs, inputs).items():
            if component.startswith("{"):
                figures[component] = props["figure"]
            else:
                panels[component] = props
    # (a forecast is of the days after the last one loaded, whatever the period: it is drawn)
    charted = [
        (i, c) for i, c in enumerate(board(page).charts) if c.kind not in (*HTML_KINDS, "map", "tree", "forecast")
    ]
    # What happened in the period (counts of tickets, pledges, meetings) has nothing to show; a stock
    # (party organisations today) or a rate over a register (visit coverage: 0 %) still has values.
    flows = [i for i, c in charted if all(get_metric(k).period_column and not get_metric(k).is_ratio for k in c.kpis)]
    assert flows, page
    for index in flows:
        (figure,) = [f for output, f in figures.items() if f'"{page}-chart-{index}"' in output]
        assert says_no_data(figure, lang), (index, figure["layout"].get("annotations"), figure["data"][:1])
    # Topic lists and surge alarms (dispatch) say so in words too.
    says = {
        "topics": {"zh": "本期无热点话题", "en": "No hot topics in this period"}[lang],
        "rising": {"zh": "本期无明显上升的话题", "en": "No topic rose in this period"}[lang],
        "surges": {"zh": "本期未发现诉求激增", "en": "No surge in this period"}[lang],
    }
    for index, chart in enumerate(board(page).charts):
        if chart.kind in says:
            assert says[chart.kind] in json.dumps(panels[f"{page}-chart-{index}"], ensure_ascii=False), index


def test_a_wall_board_whose_chart_has_no_data_says_so(app):
    """The party board's ranking of pledges delivered: none delivered in the period (the source is monthly)."""
    from cockpit.pages.wall import wall_figure

    party = next(b for b in WALL_BOARDS if b.id == "party")
    chart = next(c for c in party.charts if c.kpis == ("pledges_delivered",))
    with signed_context(app):
        warehouse = current_warehouse()
        view = View.from_query({}, warehouse.info.data_through)
        frame = warehouse.metric("pledges_delivered", view.period, group_by="community")
        assert frame["value"].fillna(0).eq(0).all()  # the fixture's precondition: nothing delivered
        from cockpit.components.board import render_chart

        figure = wall_figure(render_chart(party, chart, view, "zh", "dark"), chart)
    assert says_no_data(figure, "zh")
