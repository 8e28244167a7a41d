"""The hot-topics panel: ranked terms of the period's ticket text with their tickets, 环比 and trend; a term
is a link that narrows the page (and its record table) to the tickets that contain it (`?term=`).

The numbers come from `Warehouse.topics` (cockpit/metrics/topics.py says how topics are counted and when
one rises). The trend is drawn with block characters: no chart library for ten tiny lines, and it reads
the same on a screen, a phone and the wall.
"""

from __future__ import annotations

from collections.abc import Sequence

from dash import dcc, html

from cockpit.components.format import count_change, format_value
from cockpit.i18n import t
from cockpit.metrics.topics import Topic
from cockpit.view import View

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int]) -> str:
    """Counts as block characters, the highest as a full block; an empty trend is ''."""
    if not counts:
        return ""
    top = max(counts)
    if top <= 0:
        return BLOCKS[0] * len(counts)
    return "".join(BLOCKS[round(count / top * (len(BLOCKS) - 1))] for count in counts)


def topic_table(
    topics: Sequence[Topic] | None, view: View, path: str, title: str, lang: str, *, rising: bool = False
) -> html.Div:
    """The panel: one row per topic, the view's term (if any) marked; when there is none it says so in words
    (None: the release was built before ticket text was cut)."""
    heading = html.H6(title, className="panel-title")
    if not topics:
        empty = "topics_next_release" if topics is None else "no_rising_topics" if rising else "no_topics"
        return html.Div([heading, html.P(t(empty, lang), className="no-data")], className="topic-panel")
    chosen = view.filters.get("term")
    rows = []
    for rank, topic in enumerate(topics, start=1):
        narrowed = view.with_filter("term", None if topic.term == chosen else topic.term)
        aliases = "、".join(topic.aliases)
        rows.append(
            html.Tr(
                [
                    html.Td(str(rank), className="rank"),
                    html.Td(
                        dcc.Link(topic.term, href=path + narrowed.to_search(), title=aliases or None),
                        className="term",
                    ),
                    html.Td(format_value(topic.count, "件", lang), className="num"),
                    html.Td(count_change(topic.count, topic.previous, topic.change, lang), className="num"),
                    html.Td(
                        sparkline(topic.trend),
                        className="sparkline",
                        title=" ".join(str(count) for count in topic.trend),
                    ),
                ],
                className="chosen" if topic.term == chosen else None,
            )
        )
    header = html.Tr([html.Th("#"), *(html.Th(t(key, lang)) for key in ("term", "tickets", "mom", "trend"))])
    return html.Div(
        [heading, html.Table([html.Thead(header), html.Tbody(rows)], className="cockpit-table topic-list")],
        className="topic-panel",
    )
