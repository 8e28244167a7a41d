"""预测预警 panels: surge alarms, the 未诉先办 list, and the words the wall and the brief say about them.

The numbers come from `Warehouse.surges` / `proactive` / `forecast` (cockpit/metrics/warning.py says how
each is computed). A surge is a link that narrows the page to its category, community and days, so the
record table below lists the tickets behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from dash import dcc, html

from cockpit.components.format import count_change, format_value, unit_suffix
from cockpit.i18n import t
from cockpit.metrics.warning import TICKETS_KPI, CategoryForecast, Forecast, Proactive, Surge
from cockpit.view import View


def warning_names(warehouse, lang: str) -> dict[str, dict[str, str]]:
    """The category and community names a warning prints, in `lang` (the warehouse's code lists)."""
    return {listed: warehouse.code_list_names(listed, lang) for listed in ("category", "community")}


def expected_text(value: float, lang: str) -> str:
    """An expected count, to one decimal: it is a mean ('0.7件', '0.7')."""
    return f"{value:,.1f}{unit_suffix('件', lang)}"


def day_text(day: date, lang: str) -> str:
    """'11月19日' / 'Nov 19'."""
    return f"{day:%b} {day.day}" if lang == "en" else f"{day.month}月{day.day}日"


def days_text(start: date, end: date, lang: str) -> str:
    """One day, or a run of days: '11月18日–20日', '11月30日–12月1日' / 'Nov 18–20'."""
    if start == end:
        return day_text(start, lang)
    if start.month == end.month:
        return f"{day_text(start, lang)}–{end.day}" + ("" if lang == "en" else "日")
    return f"{day_text(start, lang)}–{day_text(end, lang)}"


def surge_words(surge: Surge, names: Mapping[str, Mapping[str, str]], lang: str) -> str:
    """'11月19日 澳韵社区 噪音扰民 12件（预期1.3件）' / 'Nov 19 Aoyun Community, noise: 12 (expected 1.3)'."""
    category = names["category"].get(surge.category, surge.category)
    community = names["community"].get(surge.community_id, surge.community_id)
    observed = format_value(surge.observed, "件", lang)
    expected = expected_text(surge.expected, lang)
    if lang == "en":
        return f"{days_text(surge.start, surge.end, lang)} {community}, {category}: {observed} (expected {expected})"
    return f"{days_text(surge.start, surge.end, lang)} {community} {category} {observed}（预期{expected}）"


# Where a warning's link leads: the dispatch page, whose record table lists the tickets behind it.
TICKETS_PATH = "/dispatch"


def surge_view(view: View, surge: Surge) -> View:
    """The view narrowed to a surge: its category, community and days, the received tickets in focus."""
    narrowed = view.with_filter("category", surge.category).with_filter("community", surge.community_id)
    return narrowed.with_period("custom", surge.end, surge.start, surge.end).with_kpi(TICKETS_KPI)


def surge_cells(surge: Surge, names: Mapping[str, Mapping[str, str]], lang: str) -> tuple[str, ...]:
    """An alarm's row as text, for the panel and the brief: days, community, category, observed, expected, ×."""
    return (
        days_text(surge.start, surge.end, lang),
        names["community"].get(surge.community_id, surge.community_id),
        names["category"].get(surge.category, surge.category),
        format_value(surge.observed, "件", lang),
        expected_text(surge.expected, lang),
        f"×{surge.ratio:.1f}" if surge.expected else "—",
    )


def proactive_cells(item: Proactive, names: Mapping[str, Mapping[str, str]], lang: str) -> tuple[str, ...]:
    """A 未诉先办 row as text, for the panel and the brief: community, category, same month, usual month, ×."""
    return (
        names["community"].get(item.community_id, item.community_id),
        names["category"].get(item.category, item.category),
        expected_text(item.same_month, lang),
        expected_text(item.usual, lang),
        f"×{item.ratio:.1f}",
    )


def surge_table(
    surges: Sequence[Surge],
    names: Mapping[str, Mapping[str, str]],
    view: View,
    title: str,
    lang: str,
    *,
    top: int = 10,
) -> html.Div:
    """The alarms, newest first: days, community, category, observed, expected, ×; each a link to its tickets."""
    heading = html.H6(
        [title, html.Span(f" · {t('surge_count', lang, count=len(surges))}", className="panel-count")],
        className="panel-title",
    )
    if not surges:
        return html.Div([heading, html.P(t("no_surges", lang), className="no-data")], className="surge-panel")
    rows = []
    for surge in surges[:top]:
        days, community, category, observed, expected, ratio = surge_cells(surge, names, lang)
        link = TICKETS_PATH + surge_view(view, surge).to_search()
        rows.append(
            html.Tr(
                [
                    html.Td(dcc.Link(days, href=link)),
                    html.Td(community),
                    html.Td(category),
                    html.Td(observed, className="num"),
                    html.Td(expected, className="num"),
                    html.Td(ratio, className="num surge-ratio"),
                ]
            )
        )
    header = html.Tr(
        [html.Th(t(key, lang)) for key in ("surge_days", "community", "category", "observed", "expected", "ratio")]
    )
    return html.Div(
        [heading, html.Table([html.Thead(header), html.Tbody(rows)], className="cockpit-table surge-list")],
        className="surge-panel",
    )


def outlook_table(
    found: Sequence[CategoryForecast], names: Mapping[str, Mapping[str, str]], view: View, lang: str
) -> html.Div:
    """Each category's forecast next 7 days beside its last 7; a category links to its forecast chart."""
    heading = html.H6(t("category_forecasts", lang), className="panel-title")
    if not found:
        return html.Div([heading, html.P(t("no_data_period", lang), className="no-data")], className="surge-panel")
    chosen = view.filters.get("category")
    rows = []
    for item in found:
        narrowed = view.with_filter("category", None if item.category == chosen else item.category)
        fc = item.forecast
        rows.append(
            html.Tr(
                [
                    html.Td(
                        dcc.Link(
                            names["category"].get(item.category, item.category),
                            href=TICKETS_PATH + narrowed.to_search(),
                        )
                    ),
                    html.Td(format_value(item.last, "件", lang), className="num"),
                    html.Td(format_value(round(fc.total), "件", lang), className="num"),
                    html.Td(count_change(fc.total, item.last, item.change, lang), className="num"),
                ],
                className="chosen" if item.category == chosen else None,
            )
        )
    header = html.Tr([html.Th(t(key, lang)) for key in ("category", "last_7_days", "next_7_days", "mom")])
    return html.Div(
        [heading, html.Table([html.Thead(header), html.Tbody(rows)], className="cockpit-table surge-list")],
        className="surge-panel",
    )


def month_text(month: date, lang: str) -> str:
    return f"{month:%B %Y}" if lang == "en" else f"{month.year}年{month.month}月"


def proactive_table(
    month: date,
    items: Sequence[Proactive] | None,
    names: Mapping[str, Mapping[str, str]],
    view: View,
    lang: str,
) -> html.Div:
    """未诉先办 for `month`: the cells high in that month of past years; None says a year's data is needed."""
    heading = html.H6(f"{t('proactive', lang)} · {month_text(month, lang)}", className="panel-title")
    if items is None:
        return html.Div(
            [heading, html.P(t("proactive_needs_year", lang), className="no-data")], className="surge-panel"
        )
    if not items:
        return html.Div([heading, html.P(t("proactive_none", lang), className="no-data")], className="surge-panel")
    rows = []
    for item in items:
        narrowed = view.with_filter("category", item.category).with_filter("community", item.community_id)
        narrowed = narrowed.with_kpi(TICKETS_KPI)
        community, category, *numbers = proactive_cells(item, names, lang)
        rows.append(
            html.Tr(
                [
                    html.Td(community),
                    html.Td(dcc.Link(category, href=TICKETS_PATH + narrowed.to_search())),
                    *(html.Td(number, className="num") for number in numbers),
                ]
            )
        )
    years = "、".join(str(year) for year in items[0].years)
    header = html.Tr(
        [
            html.Th(t("community", lang)),
            html.Th(t("category", lang)),
            html.Th(t("same_month_past", lang, years=years)),
            html.Th(t("usual_month", lang)),
            html.Th(t("ratio", lang)),
        ]
    )
    return html.Div(
        [heading, html.Table([html.Thead(header), html.Tbody(rows)], className="cockpit-table surge-list")],
        className="surge-panel",
    )


def forecast_words(fc: Forecast, lang: str) -> str:
    """'预计未来7天（11月26日–12月2日）受理工单约1,234件，日均176件，最多的一天是11月30日（约190件）'."""
    days = len(fc.mean)
    total = format_value(round(fc.total), "件", lang)
    daily = format_value(round(fc.total / days), "件", lang)
    peak = fc.mean.idxmax().date()
    most = format_value(round(float(fc.mean.max())), "件", lang)
    span = days_text(fc.mean.index[0].date(), fc.mean.index[-1].date(), lang)
    if lang == "en":
        return (
            f"Next {days} days ({span}): about {total} tickets forecast, {daily} a day, "
            f"the most on {day_text(peak, lang)} (about {most})"
        )
    return f"预计未来{days}天（{span}）受理工单约{total}，日均{daily}，最多的一天是{day_text(peak, lang)}（约{most}）"


def surge_sentence(
    surges: Sequence[Surge], names: Mapping[str, Mapping[str, str]], lang: str = "zh", top: int = 3
) -> str:
    """'本期发现诉求激增2起：…；…。' or '本期未发现诉求激增。' (or in English)."""
    if not surges:
        return "本期未发现诉求激增。" if lang == "zh" else "No surge in the period."
    shown = ("；" if lang == "zh" else "; ").join(surge_words(surge, names, lang) for surge in surges[:top])
    if lang == "en":
        more = f" (the first {top} of {len(surges)})" if len(surges) > top else ""
        return f"{len(surges)} surge{'s' if len(surges) > 1 else ''} in the period{more}: {shown}."
    more = f"等{len(surges)}起" if len(surges) > top else f"{len(surges)}起"
    return f"本期发现诉求激增{more}：{shown}。"


def recent(surges: Sequence[Surge], through: date, days: int) -> list[Surge]:
    """The alarms still running in the last `days` days through `through` (the wall's ticker)."""
    return [surge for surge in surges if surge.end > through - timedelta(days=days)]
