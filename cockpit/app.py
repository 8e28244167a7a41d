"""The Dash app factory: create_app() builds the cockpit for one COCKPIT_HOME.

Everything the browser loads is served by the app itself (Dash serves its own
JS; our CSS is in assets/): the cockpit runs on an intranet with no internet.
"""

from __future__ import annotations

from pathlib import Path

import dash
import flask
from dash import dcc, html

from cockpit.data import Warehouse, use_warehouse
from cockpit.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or Settings.load()
    use_warehouse(Warehouse(settings.paths, settings.stale_after_hours))
    app = dash.Dash(
        # The package name, so that Dash imports pages as cockpit.pages.<page>: the same modules
        # the rest of the code imports (as pages.<page> they would register twice).
        "cockpit",
        use_pages=True,
        pages_folder=str(Path(__file__).with_name("pages")),
        assets_folder=str(ROOT / "assets"),
        serve_locally=True,
        compress=False,
        title="街道数字驾驶舱",
        suppress_callback_exceptions=True,
    )
    nav = [
        dcc.Link(page["name"], href=page["relative_path"], className="nav-link") for page in dash.page_registry.values()
    ]
    app.layout = html.Div(
        [
            html.Header([html.H1("街道数字驾驶舱"), html.Nav(nav)], className="topbar"),
            html.Main(dash.page_container),
        ]
    )

    @app.server.before_request
    def _home_until_the_overview_exists():
        # Dash owns the "/" route, so a page cannot redirect from it; send visitors to a page that exists.
        if flask.request.path == "/" and not any(p["path"] == "/" for p in dash.page_registry.values()):
            return flask.redirect("/pipeline")
        return None

    return app
