"""Chinese formats in headless Chromium: time axes read 月 on Chinese screens (Plotly's zh-CN locale, served by
the app), English months in English, and a wall KPI's value always fits its tile."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import signed_in_context

ENGLISH_MONTHS = [name for name in calendar.month_abbr if name]  # Jan … Dec, from the standard library
CHINESE_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
QUIET = "alarm_hours=1&rotate=600"  # no alarm interrupts, no board rotates away during the test


@contextmanager
def opened(browser, base_url: str, path: str, lang: str, size=(1600, 1000)) -> Iterator[tuple[Page, list[str]]]:
    """A page of the app in `lang`, with every request that left the app recorded."""
    context = signed_in_context(browser, base_url, viewport=size)
    context.add_cookies([{"name": "cockpit_lang", "value": lang, "url": base_url}])
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((base_url, "data:", "blob:")) else outside.append(r.url))
    page.goto(f"{base_url}{path}")
    try:
        yield page, outside
    finally:
        context.close()


def into_view(page: Page, selector: str) -> None:
    """Scroll the first element matching `selector` to the middle of the window: a chart below the first screen
    is a placeholder until it comes into view (the placeholder and the graph it becomes share the id)."""
    page.wait_for_selector(selector, state="attached", timeout=90_000)
    page.evaluate("selector => document.querySelector(selector).scrollIntoView({block: 'center'})", selector)


def tick_texts(page: Page, graph: str) -> list[str]:
    """The x-axis tick labels Plotly drew in the graph matched by the CSS selector `graph`, once it has its lines."""
    into_view(page, graph)
    drawn = page.locator(graph).first
    drawn.locator(".scatterlayer .trace").first.wait_for(timeout=90_000)  # the figure, not the blank placeholder
    return [text for text in drawn.locator(".xaxislayer-above .xtick text").all_text_contents() if text.strip()]


# The dispatch page's trend chart: a drill graph whose id names a time bucket.
PAGE_TREND = '[id*=\'"dim":"day"\'], [id*=\'"dim":"week"\'], [id*=\'"dim":"month"\']'
WALL_TREND = '[data-board="overview"] .wall-chart.kind-trend'


@pytest.mark.parametrize(("path", "graph"), [("/dispatch", PAGE_TREND), (f"/wall?board=overview&{QUIET}", WALL_TREND)])
def test_time_axes_read_chinese_dates_on_chinese_screens_and_english_months_in_english(browser, base_url, path, graph):
    with opened(browser, base_url, path, "zh") as (page, outside):
        chinese = tick_texts(page, graph)
        assert outside == []
    assert chinese and any("月" in tick for tick in chinese), chinese
    assert not any(month in tick for tick in chinese for month in ENGLISH_MONTHS), chinese
    with opened(browser, base_url, path, "en") as (page, _):
        english = tick_texts(page, graph)
    assert any(month in tick for tick in english for month in ENGLISH_MONTHS), english
    assert not any("月" in tick for tick in english), english


# A plot drawn by the page's Plotly in zh-CN, with weekday and month names only the zh-CN dictionary knows:
# its tick labels.
ZH_CN_TICKS = """async () => {
    const box = document.createElement('div');
    box.style.width = '600px';
    document.body.appendChild(box);
    await Plotly.newPlot(box, [{x: ['2026-11-02', '2026-11-09'], y: [1, 2]}],
                         {xaxis: {tickformat: '%a %B'}}, {locale: 'zh-CN'});
    const ticks = Array.from(box.querySelectorAll('.xtick text'), t => t.textContent);
    box.remove();
    return ticks;
}"""


def test_the_zh_cn_locale_is_served_by_the_app_and_registered_with_the_plotly_the_page_loaded(browser, base_url):
    with opened(browser, base_url, "/dispatch", "zh") as (page, outside):
        into_view(page, PAGE_TREND)
        page.locator(f"{PAGE_TREND.split(',')[0]} .main-svg").first.wait_for(timeout=60_000)
        scripts = page.evaluate("() => Array.from(document.scripts, s => s.src).filter(Boolean)")
        # Weekday and month names that only the zh-CN dictionary knows, drawn by the page's own Plotly.
        drawn = page.evaluate(ZH_CN_TICKS)
        assert outside == []
    locale = [src for src in scripts if "plotly-locale-zh-cn" in src]
    assert locale and locale[0].startswith(base_url), scripts
    assert "周一 十一月" in drawn, drawn


def test_a_chinese_hover_names_the_weekday(browser, base_url):
    with opened(browser, base_url, "/dispatch", "zh") as (page, _):
        into_view(page, PAGE_TREND)
        graph = page.locator(PAGE_TREND.split(",")[0]).first
        point = graph.locator(".scatterlayer .trace .points path").nth(3)
        point.wait_for(timeout=60_000)
        hover = ""
        for _ in range(10):  # charts drawn above it as they come into view may move it: hover again until shown
            point.scroll_into_view_if_needed()
            point.hover(force=True)
            page.wait_for_timeout(300)
            hover = " ".join(graph.locator(".hoverlayer").all_text_contents())
            if hover.strip():
                break
    assert "月" in hover and any(day in hover for day in CHINESE_WEEKDAYS), hover


def kpi_overflow(page: Page) -> list[dict]:
    """Every wall KPI value (all boards, shown or not) whose text is wider than its box."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.wall .wall-kpi-value'))
            .filter(v => v.scrollWidth > v.clientWidth + 0.5 || v.getBoundingClientRect().right >
                         v.closest('.wall-kpi').getBoundingClientRect().right + 0.5)
            .map(v => ({kpi: v.closest('.wall-kpi').dataset.kpi, text: v.textContent,
                        scroll: v.scrollWidth, client: v.clientWidth}))"""
    )


# (wall parameters, window): one screen, a row of screens the height of one, and a narrow LED canvas.
WALL_SIZES = [
    ("layout=1080p", (1920, 1080)),
    ("canvas=3840x1080", (3840, 1080)),
    ("canvas=1280x1080", (1280, 1080)),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("query", "size"), WALL_SIZES)
def test_every_wall_kpi_value_fits_its_tile(browser, base_url, query, size, lang):
    with opened(browser, base_url, f"/wall?{query}&{QUIET}", lang, size) as (page, _):
        page.wait_for_function("document.querySelectorAll('.wall-kpi-value').length === 36", timeout=60_000)
        assert kpi_overflow(page) == []


LONG_VALUES = {"zh": "12,345,678.9万元", "en": "123,456.79M CNY"}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("query", "size"), WALL_SIZES[:2])
def test_a_deliberately_long_value_shrinks_to_fit_its_tile(browser, base_url, app, query, size, lang):
    """The value a tile renders for an enormous penalty sum, put in place of a tile on the live wall."""
    from cockpit.components.wall import wall_tile
    from cockpit.metrics import get_metric

    penalties = get_metric("penalties_yuan")
    tile = wall_tile(penalties, {"value": 123_456_789_012.0, "status": "red", "change_mom": 0.5}, lang)
    (value,) = [child for child in tile.children if "wall-kpi-value" in child.className]
    assert value.children == LONG_VALUES[lang]  # the formatting this test relies on
    props = {"text": value.children, "style": value.style or {}}
    with opened(browser, base_url, f"/wall?{query}&{QUIET}", lang, size) as (page, _):
        page.wait_for_function("document.querySelectorAll('.wall-kpi-value').length === 36", timeout=60_000)
        page.evaluate(
            """props => {
                const node = document.querySelector('.wall-board.active .wall-kpi-value');
                node.textContent = props.text;
                node.removeAttribute('style');
                for (const [key, value] of Object.entries(props.style)) { node.style.setProperty(key, value); }
            }""",
            props,
        )
        assert kpi_overflow(page) == [], json.dumps(props, ensure_ascii=False)
        size_px = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('.wall-board.active .wall-kpi-value')).fontSize)"
        )
    assert size_px >= 12  # shrunk, still readable
