"""简报 · briefs made so far (from any page's "生成简报" or by `cockpit brief`), to download again.

Only the briefs the reader's scope covers are listed (a community reader sees their communities' briefs).
"""

import dash
import flask
from dash import html

from cockpit.access.principal import current_principal
from cockpit.briefing.jobs import readable_briefs
from cockpit.i18n import current_language, t


def layout(**_query) -> html.Div:
    lang = current_language()
    briefs = readable_briefs(flask.current_app.config["COCKPIT_BRIEFS"], current_principal())
    if not briefs:
        body = html.P(t("brief_none", lang), className="text-secondary")
    else:
        head = html.Thead(
            html.Tr(
                [
                    html.Th(t("brief_title", lang)),
                    html.Th(t("brief_period", lang)),
                    html.Th(t("brief_scope", lang)),
                    html.Th(t("brief_generated", lang)),
                    html.Th(t("brief_author", lang)),
                    html.Th(t("brief_size", lang)),
                    html.Th(""),
                ]
            )
        )
        rows = [
            html.Tr(
                [
                    html.Td(brief.title),
                    html.Td(brief.period),
                    html.Td(brief.scope),
                    html.Td(brief.generated_at),
                    html.Td(brief.author),
                    html.Td(f"{brief.size / 1024:,.0f} KB"),
                    html.Td(
                        html.A(
                            t("brief_download", lang),
                            href=f"/briefs/file/{brief.path.name}",
                            className="btn btn-sm btn-outline-primary",
                        )
                    ),
                ],
                className="brief-row",
            )
            for brief in briefs
        ]
        body = html.Table([head, html.Tbody(rows)], className="cockpit-table briefs-table")
    return html.Div(
        [
            html.H2(t("brief_list", lang), className="page-title"),
            html.P(t("brief_help", lang), className="text-secondary"),
            body,
        ],
        className="page",
        id="briefs-page",
    )


dash.register_page(__name__, path="/briefs", name=t("brief", "zh"), order=80)
