"""The Dash app factory: create_app() builds the cockpit for one COCKPIT_HOME.

Everything the browser loads is served by the app itself: Dash serves its own
JS and Plotly, Bootstrap and its icons come from the Bootstrap-Flask package
under /vendor/, our CSS is in assets/. The cockpit runs on an intranet with no
internet. Language and theme are per-browser preferences kept in cookies;
everything else a view shows lives in its URL (see cockpit/view.py).
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
import flask_bootstrap
from dash import Input, Output, callback, html

from cockpit.components.briefs import brief_modal, register_routes
from cockpit.components.filters import LOCATION
from cockpit.components.records import register_export_routes
from cockpit.data import NoRelease, Warehouse, current_warehouse, use_warehouse
from cockpit.i18n import LANG_COOKIE, LANGUAGES, THEME_COOKIE, THEMES, current_language, current_theme, t
from cockpit.settings import Settings

# Our CSS and clientside JS are package data (cockpit/assets), so an installed wheel serves them too.
ASSETS = files("cockpit") / "assets"
VENDOR = Path(flask_bootstrap.__file__).with_name("static") / "bootstrap5"
# Vendor CSS goes in external_stylesheets so that it loads before assets/ (ours must win).
VENDOR_STYLESHEETS = ["/vendor/css/bootstrap.min.css", "/vendor/css/font/bootstrap-icons.min.css"]
NAV = ("overview", "party", "approvals", "enforcement", "grid", "dispatch", "metrics", "pipeline", "briefs", "wall")
NAV_PATHS = {"overview": "/", "metrics": "/metrics", "pipeline": "/pipeline", "briefs": "/briefs", "wall": "/wall"}


def freshness(warehouse: Warehouse, lang: str, now: datetime | None = None) -> tuple[str, str]:
    """The badge text and its colour: green when fresh, amber past the stale threshold, red past twice it."""
    try:
        info = warehouse.info
    except NoRelease:
        return t("no_release", lang), "danger"
    text = t("freshness", lang, through=f"{info.data_through:%Y-%m-%d}", built=f"{info.built_at:%m-%d %H:%M}")
    age_hours = warehouse.age_hours(now)
    if age_hours > warehouse.stale_after_hours:
        text += " · " + t("stale", lang, hours=int(age_hours))
        return text, "danger" if age_hours > 2 * warehouse.stale_after_hours else "warning"
    return text, "success"


def _topbar(lang: str, theme: str) -> html.Header:
    warehouse = current_warehouse()
    badge_text, badge_colour = freshness(warehouse, lang)
    try:
        is_demo = warehouse.info.is_demo
    except NoRelease:
        is_demo = False
    links = [
        dbc.NavLink(t(key, lang), href=NAV_PATHS.get(key, f"/{key}"), active="exact", id=f"nav-{key}") for key in NAV
    ]
    other_lang = "en" if lang == "zh" else "zh"
    other_theme = "dark" if theme == "light" else "light"
    return html.Header(
        [
            html.Div(
                [
                    html.Span(t("street", lang), className="street-name"),
                    html.Span(t("app_title", lang), className="app-name"),
                    *(
                        [dbc.Badge(t("demo", lang), color="warning", className="demo-label", id="demo-label")]
                        if is_demo
                        else []
                    ),
                ],
                className="brand",
            ),
            dbc.Nav(links, pills=True, className="main-nav"),
            html.Div(
                [
                    dbc.Badge(badge_text, color=badge_colour, id="freshness-badge", className="freshness"),
                    brief_modal(lang),
                    html.A(
                        t("language", lang),
                        href=f"/preference?lang={other_lang}",
                        id="language-switch",
                        className="btn btn-sm btn-outline-light",
                    ),
                    html.A(
                        t(f"theme_{other_theme}", lang),
                        href=f"/preference?theme={other_theme}",
                        id="theme-switch",
                        className="btn btn-sm btn-outline-light",
                    ),
                ],
                className="topbar-tools",
            ),
        ],
        className="topbar",
    )


def release_problem(warehouse: Warehouse, lang: str) -> str | None:
    """A line saying the release CURRENT names is broken and which one is served instead, or None when all is well."""
    try:
        info = warehouse.info
    except NoRelease as exc:
        return str(exc)
    if info.problem is None:
        return None
    return t("release_problem", lang, problem=info.problem, run_id=info.run_id)


def shell() -> html.Div:
    """The page frame, built per page load so it speaks the reader's language and theme."""
    lang, theme = current_language(), current_theme()
    problem = release_problem(current_warehouse(), lang)
    banner = [html.Div(problem, id="release-banner", className="alert alert-danger", role="alert")] if problem else []
    return html.Div(
        [_topbar(lang, theme), *banner, html.Main(dash.page_container)],
        className=f"cockpit theme-{theme}",
        id="cockpit-root",
        **{"data-bs-theme": theme, "lang": "en" if lang == "en" else "zh-CN"},
    )


def _preference() -> flask.Response:
    """GET /preference?lang=en|zh&theme=light|dark: remember the choice in a cookie and go back."""
    target = flask.request.referrer or "/"
    if not target.startswith(flask.request.host_url):
        target = "/"
    response = flask.redirect(target)
    lang = flask.request.args.get("lang")
    theme = flask.request.args.get("theme")
    year = 365 * 24 * 3600
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=year, samesite="Lax")
    if theme in THEMES:
        response.set_cookie(THEME_COOKIE, theme, max_age=year, samesite="Lax")
    return response


def _vendor(filename: str) -> flask.Response:
    return flask.send_from_directory(VENDOR, filename, max_age=7 * 24 * 3600)


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or Settings.load()
    use_warehouse(Warehouse(settings.paths, settings.stale_after_hours))
    app = dash.Dash(
        # The package name, so that Dash imports pages as cockpit.pages.<page>: the same modules
        # the rest of the code imports (as pages.<page> they would register twice).
        "cockpit",
        use_pages=True,
        pages_folder=str(Path(__file__).with_name("pages")),
        assets_folder=str(ASSETS),
        external_stylesheets=VENDOR_STYLESHEETS,
        serve_locally=True,
        compress=True,
        title=t("app_title"),
        suppress_callback_exceptions=True,
    )
    app.server.config["COCKPIT_MAP_TILES"] = settings.map_tiles
    app.layout = shell
    app.server.add_url_rule("/vendor/<path:filename>", "vendor", _vendor)
    app.server.add_url_rule("/preference", "preference", _preference)
    register_export_routes(app.server, settings)
    register_routes(app.server, settings.paths.briefs, settings.chromium)
    return app


@callback(
    Output("freshness-badge", "children"),
    Output("freshness-badge", "color"),
    Input(LOCATION, "pathname"),
)
def _refresh_freshness(_pathname):
    # The shell is built once per full page load; navigation within the app refreshes the badge.
    return freshness(current_warehouse(), current_language())
