"""The Dash app factory: create_app() builds the cockpit for one COCKPIT_HOME.

Everything the browser loads is served by the app itself: Dash serves its own
JS; Plotly is one of the cockpit's partial bundles in assets/: the charts, or on
a page with a map the charts and SVG maps, or over configured tiles MapLibre's
maps too (built from tools/plotly-bundle by `make install`; without them Dash
serves Plotly's full bundle); Bootstrap comes from the Bootstrap-Flask package under /vendor/; our
CSS is in assets/. The cockpit runs on an intranet with no
internet. Language and theme are per-browser preferences kept in cookies;
everything else a view shows lives in its URL (see cockpit/view.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

import dash
import dash_bootstrap_components as dbc
import flask
import flask_bootstrap
from dash import Input, Output, callback, html
from dash._utils import split_callback_id
from dash.fingerprint import check_fingerprint

from cockpit.access.accounts import Permission
from cockpit.access.principal import Unauthenticated, current_principal
from cockpit.access.web import guard_layouts, may_open, requires, user_menu, watermark
from cockpit.access.web import install as install_gate
from cockpit.answers import ANSWERS_FOLDER, KeptAnswers, stamp_for
from cockpit.components.audit_trail import register_audit_routes
from cockpit.components.briefs import brief_modal, register_routes
from cockpit.components.filters import LOCATION
from cockpit.components.records import register_export_routes
from cockpit.data import NoRelease, Warehouse, current_warehouse, use_warehouse
from cockpit.i18n import (
    LANG_COOKIE,
    LANGUAGES,
    THEME_COOKIE,
    THEMES,
    current_language,
    current_theme,
    street_name,
    t,
)
from cockpit.settings import Settings
from cockpit.view import InvalidView
from pipelines.freshness import freshness_status

# Our CSS and clientside JS are package data (cockpit/assets), so an installed wheel serves them too.
ASSETS = files("cockpit") / "assets"
# tools/plotly-bundle builds them (make install); served in place of Plotly's full bundle. A page loads the charts'
# bundle, or, when it draws a map, the SVG maps' (a few hundred kB more); the tile maps' (MapLibre, more than half
# of the whole) only where an intranet tile server is configured (plotly_url).
PLOTLY_BUNDLE = Path(str(ASSETS / "plotly-cockpit.min.js"))
PLOTLY_GEO_BUNDLE = Path(str(ASSETS / "plotly-cockpit-geo.min.js"))
PLOTLY_MAPS_BUNDLE = Path(str(ASSETS / "plotly-cockpit-maps.min.js"))
PLOTLY_URL = "/_dash-component-suites/plotly/package_data/plotly.min.js"
PLOTLY_GEO_URL = "/_dash-component-suites/plotly/package_data/plotly-geo.min.js"
PLOTLY_MAPS_URL = "/_dash-component-suites/plotly/package_data/plotly-maps.min.js"
# The page's Plotly, preloaded from the head; lazy-charts.js loads the one it names (and the map bundle it
# names too, when a page reached without a reload needs a map).
PLOTLY_PRELOAD_SLOT = "<!-- plotly preload -->"
PLOTLY_PRELOAD = '<link rel="preload" href="{url}" as="script" data-plotly data-plotly-maps="{maps}">'
# Served in place of dash_ag_grid's bundle: it loads the real one (?whole=1) when a grid comes into view.
LAZY_GRID = Path(str(ASSETS / "lazy-grid.js"))
# Built with the Plotly bundle; served in place of Dash's @babel/polyfill (see tools/plotly-bundle/build.js).
REGENERATOR = Path(str(ASSETS / "regenerator-runtime.min.js"))
# Our scripts answering a library's URL (_serve_in_place): (the URL, as a pattern; our file).
AG_GRID_URL = "/_dash-component-suites/dash_ag_grid/dash_ag_grid."
IN_PLACE = (
    (re.compile(re.escape(PLOTLY_URL)), PLOTLY_BUNDLE),
    (re.compile(re.escape(PLOTLY_GEO_URL)), PLOTLY_GEO_BUNDLE),
    (re.compile(re.escape(PLOTLY_MAPS_URL)), PLOTLY_MAPS_BUNDLE),
    (re.compile(re.escape(AG_GRID_URL) + r"(v\w+\.)?min\.js"), LAZY_GRID),
    (re.compile(r"/_dash-component-suites/dash/deps/polyfill@7(\.v\w+)?\.12\.1\.min\.js"), REGENERATOR),
)
VENDOR = Path(flask_bootstrap.__file__).with_name("static") / "bootstrap5"
ASSET_MAX_AGE_S = 365 * 24 * 3600  # a fingerprinted asset URL never changes what it serves
# Vendor CSS goes in external_stylesheets so that it loads before assets/ (ours must win). No icon font: the
# buttons say what they do in words, and the font was 130 kB of every first visit for three icons.
VENDOR_STYLESHEETS = ["/vendor/css/bootstrap.min.css"]
NAV = (
    "overview",
    "party",
    "approvals",
    "enforcement",
    "grid",
    "dispatch",
    "scorecards",
    "metrics",
    "pipeline",
    "briefs",
    "audit",
    "wall",
)
NAV_PATHS = {"overview": "/", "metrics": "/metrics", "pipeline": "/pipeline", "briefs": "/briefs", "wall": "/wall"}
CALLBACK_PATH = "/_dash-update-component"


# The freshness scale (pipelines/freshness.py) in Bootstrap's badge colours.
BADGE_COLOURS = {"green": "success", "amber": "warning", "red": "danger"}


def freshness(warehouse: Warehouse, lang: str, now: datetime | None = None) -> tuple[str, str]:
    """The badge text and its colour on the freshness scale (the wall's banner uses the same one)."""
    try:
        info = warehouse.info
    except NoRelease:
        return t("no_release", lang), "danger"
    text = t("freshness", lang, through=f"{info.data_through:%Y-%m-%d}", built=f"{info.built_at:%m-%d %H:%M}")
    age_hours = warehouse.age_hours(now)
    status = freshness_status(age_hours, warehouse.stale_after_hours)
    if status != "green":
        text += " · " + t("stale", lang, hours=int(age_hours))
    return text, BADGE_COLOURS[status]


def _topbar(lang: str, theme: str) -> html.Header:
    warehouse = current_warehouse()
    badge_text, badge_colour = freshness(warehouse, lang)
    try:
        is_demo = warehouse.info.is_demo
    except NoRelease:
        is_demo = False
    principal = current_principal()
    links = [
        dbc.NavLink(t(key, lang), href=NAV_PATHS.get(key, f"/{key}"), active="exact", id=f"nav-{key}")
        for key in NAV
        if may_open(principal, key)
    ]
    other_lang = "en" if lang == "zh" else "zh"
    other_theme = "dark" if theme == "light" else "light"
    # An unconfigured street shows the neutral title alone (街道数字驾驶舱), never another street's name.
    street = street_name(lang)
    return html.Header(
        [
            html.Div(
                [
                    *([html.Span(street, className="street-name")] if street else []),
                    html.Span(t("app_title", lang), className="app-name"),
                    *(
                        [dbc.Badge(t("demo", lang), color="warning", className="demo-label", id="demo-label")]
                        if is_demo
                        else []
                    ),
                ],
                className="brand",
            ),
            # On a phone the links and tools fold behind this button: they show while it (or they) hold the focus.
            html.Button(
                "☰", className="nav-toggle", id="nav-toggle", title=t("menu", lang), **{"aria-label": t("menu", lang)}
            ),
            dbc.Nav(links, pills=True, className="main-nav"),
            html.Div(
                [
                    dbc.Badge(badge_text, color=badge_colour, id="freshness-badge", className="freshness"),
                    *([brief_modal(lang)] if principal.may(Permission.BRIEFS) else []),
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
                    *user_menu(principal, lang),
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
    try:
        current_principal()
    except Unauthenticated:
        # Dash checks the layout once in its first-request set-up, before the sign-in gate has run:
        # that check gets the bare frame, never a page (every real request has a principal).
        return html.Div(html.Main(dash.page_container), id="cockpit-root")
    lang, theme = current_language(), current_theme()
    problem = release_problem(current_warehouse(), lang)
    banner = [html.Div(problem, id="release-banner", className="alert alert-danger", role="alert")] if problem else []
    principal = current_principal()
    marks = [watermark(principal, lang)] if flask.current_app.config.get("COCKPIT_WATERMARK") else []
    return html.Div(
        [_topbar(lang, theme), *banner, html.Main(dash.page_container), *marks],
        className=f"cockpit theme-{theme}",
        id="cockpit-root",
        **{"data-bs-theme": theme, "lang": "en" if lang == "en" else "zh-CN"},
    )


def _back_to(referrer: str | None) -> str:
    """Where /preference sends the reader back to: the referring page's path on this site, never another site.

    Only the path and query of the Referer are kept, so neither a forged Host header nor a
    Referer on another site can turn the redirect into one off-site.
    """
    if not referrer:
        return "/"
    parts = urlsplit(referrer)
    path = parts.path or "/"
    # "//evil.example" or "/\\evil.example" would be read by a browser as another host.
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")


def _preference() -> flask.Response:
    """GET /preference?lang=en|zh&theme=light|dark: remember the choice in a cookie and go back."""
    response = flask.redirect(_back_to(flask.request.referrer))
    # A relative Location: werkzeug must not make it absolute from the (forgeable) Host header.
    response.autocorrect_location_header = False
    lang = flask.request.args.get("lang")
    theme = flask.request.args.get("theme")
    year = 365 * 24 * 3600
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=year, samesite="Lax")
    if theme in THEMES:
        response.set_cookie(THEME_COOKIE, theme, max_age=year, samesite="Lax")
    return response


def _bad_request(reason: str) -> flask.Response:
    return flask.Response(reason.splitlines()[0][:300] + "\n", status=400, mimetype="text/plain")


def _outputs_match(output: str, outputs) -> bool:
    """Whether a request's `outputs` are the ones its `output` names (Dash checks it too, but answers a 500)."""
    expected = split_callback_id(output)
    if isinstance(expected, dict):
        expected, outputs = [expected], [outputs]
    elif not isinstance(outputs, list) or len(outputs) != len(expected):
        return False
    for want, spec in zip(expected, outputs, strict=True):
        pattern = json.loads(want["id"]) if want["id"].startswith("{") else want["id"]
        for each in spec if isinstance(spec, list) else [spec]:
            if not isinstance(each, Mapping) or not isinstance(each.get("property"), str):
                return False
            # "prop@hash" names a duplicate output of the same property.
            if each["property"].split("@")[0] != want["property"].split("@")[0]:
                return False
            got = each.get("id")
            if isinstance(pattern, dict):
                # Wildcards (["ALL"], ["MATCH"]) match any value; the other keys must be equal.
                if not isinstance(got, Mapping) or set(got) != set(pattern):
                    return False
                if any(not isinstance(value, list) and got[key] != value for key, value in pattern.items()):
                    return False
            elif got != pattern:
                return False
    return True


def _check_callback_envelope() -> flask.Response | None:
    """Refuse a callback request whose JSON envelope the Dash renderer would never send (400, one line).

    Dash reads the envelope's keys without checking them (a missing `output` is a KeyError, a 500);
    what each callback then reads from its inputs is checked where it is parsed (e.g. View.from_dict).
    """
    if flask.request.path != CALLBACK_PATH or flask.request.method != "POST":
        return None
    body = flask.request.get_json(silent=True)
    if not isinstance(body, Mapping):
        return _bad_request("callback request: the body must be a JSON object")
    if not isinstance(body.get("output"), str) or not isinstance(body.get("outputs"), list | Mapping):
        return _bad_request("callback request: needs `output` (text) and `outputs`")
    if body["output"] not in dash.get_app().callback_map:
        return _bad_request("callback request: unknown output")
    if not _outputs_match(body["output"], body["outputs"]):
        return _bad_request("callback request: `outputs` do not match `output`")
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list):
            return _bad_request(f"callback request: `{key}` must be a list")
        flat = [each for item in items for each in (item if isinstance(item, list) else [item])]
        if not all(
            isinstance(each, Mapping) and "id" in each and isinstance(each.get("property"), str) for each in flat
        ):
            return _bad_request(f"callback request: every item of `{key}` needs an id and a property")
    if not isinstance(body.get("changedPropIds", []), list):
        return _bad_request("callback request: `changedPropIds` must be a list")
    return None


def _invalid_view(error: InvalidView) -> flask.Response:
    return _bad_request(str(error))


def _security_headers(app: dash.Dash, map_tiles: str | None):
    """An after-request hook adding the security headers to every response.

    The CSP is built at the first response, not at start-up: Dash Pages adds an inline script in
    its first-request set-up, and every inline script must be in the policy by hash.
    """
    policy: list[str] = []

    def add(response: flask.Response) -> flask.Response:
        if not policy:
            policy.append(content_security_policy(app, map_tiles))
        response.headers.setdefault("Content-Security-Policy", policy[0])
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return add


def _cache_fingerprinted_assets(response: flask.Response) -> flask.Response:
    """Our assets a page links with Dash's fingerprint (`?m=<mtime>`) are kept a year by the browser.

    Their URL changes whenever the file does, as Dash's own bundles' URLs do (which it serves the same way);
    without this, every visit asked again for each asset before the renderer could start.
    """
    if flask.request.path.startswith("/assets/") and "m" in flask.request.args and response.status_code == 200:
        response.cache_control.max_age = ASSET_MAX_AGE_S
    return response


class CompressedStatic:
    """Flask-Compress's cache: each static file compressed once per worker and encoding, for every reader.

    At level 9 a first visit's fifteen scripts, compressed anew for each browser on two cores, took
    0.9 s to arrive from localhost, where they take 0.1 s compressed; the cost grew with every reader
    opening the cockpit at once (the morning meeting). Only keys `_static_key` gives are kept: a callback
    answer, an export or a page (the reader's own data) gets an empty key and is compressed per response.
    """

    def __init__(self) -> None:
        self._kept: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._kept.get(key)

    def set(self, key: str, value: bytes) -> None:
        if key.partition(";")[2]:  # "<encoding>;<what _static_key gave>"
            self._kept[key] = value

    def __len__(self) -> int:
        return len(self._kept)


def _static_key(request: flask.Request) -> str:
    """Which static file a request reads, as a key that a file has once; "" for anything else.

    Bounded by the files there are, whatever a client sends: Dash's fingerprint (in a library's file name)
    and the query are left out, except `whole` (_serve_in_place); our assets are keyed by their
    modification time, so an edited asset is compressed again.
    """
    path = request.path
    if request.method != "GET":
        return ""
    if path.startswith("/_dash-component-suites/"):
        return check_fingerprint(path)[0] + ("?whole" if "whole" in request.args else "")
    if path.startswith("/vendor/"):
        return path
    if path.startswith("/assets/"):
        try:
            return f"{path}@{Path(str(ASSETS), path.removeprefix('/assets/')).stat().st_mtime_ns}"
        except (OSError, ValueError):
            return ""
    return ""


def _keep_whole(response: flask.Response) -> flask.Response:
    """A static file served as a stream (Flask's send_file) read whole, so that CompressedStatic keeps it.

    Flask-Compress compresses a streamed response chunk by chunk, every time, past its cache; reading a
    file of a few MB costs far less than compressing it. Runs before Flask-Compress (registered after it).
    """
    if response.status_code == 200 and response.is_streamed and _static_key(flask.request):
        response.direct_passthrough = False
        response.set_data(response.get_data())
    return response


def precompress(app: dash.Dash, encodings: tuple[str, ...] = ("zstd", "br", "gzip")) -> int:
    """Compress what a first visit loads into the worker's cache now; how many files.

    The page's scripts and stylesheets, Plotly (loaded by the first graph) and AG Grid's whole bundle (by
    the first record table in view). Run while a worker loads (cockpit/wsgi.py), so that even the first
    browser after a restart does not wait for compression. Needs Dash's first-request set-up done.
    """
    with app.server.test_request_context("/"):
        tags = app._generate_scripts_html() + app._generate_css_dist_html()
    tiles = app.server.config.get("COCKPIT_MAP_TILES")
    urls = {*re.findall(r'(?:src|href)="(/[^"]+)"', tags), PLOTLY_URL, plotly_url(maps=True, tiles=tiles)}
    urls |= {f"{url}?whole=1" for url in urls if url.startswith(AG_GRID_URL)}
    with app.server.test_client() as client:
        for url in urls:
            for encoding in encodings:
                client.get(url, headers={"Accept-Encoding": encoding})
    return len(urls)


def content_security_policy(app: dash.Dash, map_tiles: str | None) -> str:
    """The CSP the cockpit works under: everything from this origin, Dash's inline scripts by hash.

    No 'unsafe-eval' and no inline script without its hash: pages, the map and the wall render
    without either (tests/browser/test_csp.py). Dash, Plotly and AG Grid set inline styles, and an
    intranet tile server, when configured, may serve the map's images.
    """
    tiles = ""
    if map_tiles:
        parts = urlsplit(map_tiles)
        tiles = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    policy = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", "'report-sample'", *app.csp_hashes()]),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": f"'self' data: blob:{tiles}",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'self'",
    }
    return "; ".join(f"{key} {value}" for key, value in policy.items())


def _vendor(filename: str) -> flask.Response:
    return flask.send_from_directory(VENDOR, filename, max_age=7 * 24 * 3600)


def _serve_in_place() -> flask.Response | None:
    """Our script where a library's is asked for (IN_PLACE), unless the request asks for the whole library.

    - Plotly: dcc.Graph loads Plotly itself, asynchronously, when a graph mounts, from the URL of Plotly's full
      bundle. Answering that URL with the partial bundle keeps the load asynchronous (a script tag would hold up
      every page's start while 3 MB are parsed) and a third of the size. Without the bundle built (a checkout
      where `make install` did not run), Dash answers with the full one.
    - AG Grid: every page's script tags include its bundle, half a megabyte compressed with the chunk it loads,
      for a record table below the first screen; the stand-in loads it with `?whole=1` (lazy-grid.js).
    - Dash's @babel/polyfill: only its regenerator runtime is needed by Dash's bundles in the browsers the
      cockpit supports (those of React 18 and Plotly); its core-js slowed every page (build.js says how).
    """
    request = flask.request
    if "whole" in request.args:
        return None
    for url, ours in IN_PLACE:
        if url.fullmatch(request.path) and ours.is_file():
            return flask.send_file(ours, mimetype="text/javascript", max_age=24 * 3600)
    return None


def plotly_url(*, maps: bool, tiles: str | None = None) -> str:
    """The URL of the Plotly a page loads: the charts', or for a page that draws a map, the SVG maps' or, over an
    intranet tile server (`tiles`), the tile maps'.

    A checkout where the bundles were not built serves Dash's full Plotly at PLOTLY_URL, maps included.
    """
    url, bundle = (PLOTLY_MAPS_URL, PLOTLY_MAPS_BUNDLE) if tiles else (PLOTLY_GEO_URL, PLOTLY_GEO_BUNDLE)
    return url if maps and bundle.is_file() else PLOTLY_URL


def draws_map(path: str) -> bool:
    """Whether the page at `path` draws a map: its `register_page` says so (`plotly_maps`, see page_options)."""
    return any(page.get("plotly_maps") and page["relative_path"] == path for page in dash.page_registry.values())


class CockpitDash(dash.Dash):
    """Dash with each page's Plotly preloaded in its head: the map bundle where the page draws a map."""

    def interpolate_index(self, **kwargs) -> str:
        maps = flask.has_request_context() and draws_map(flask.request.path)
        tiles = self.server.config.get("COCKPIT_MAP_TILES")
        preload = PLOTLY_PRELOAD.format(url=plotly_url(maps=maps, tiles=tiles), maps=plotly_url(maps=True, tiles=tiles))
        return super().interpolate_index(**kwargs).replace(PLOTLY_PRELOAD_SLOT, preload, 1)


def create_app(settings: Settings | None = None, *, keep_answers: bool = False) -> dash.Dash:
    """The cockpit's Dash app on `settings` (default: read from the home and the environment).

    `keep_answers` keeps the boards' answers on disk beside each release for every worker (cockpit/answers.py):
    what a server does (cockpit.wsgi); off, each process keeps its own in memory.
    """
    settings = settings or Settings.load()
    warehouse = Warehouse(settings.paths, settings.stale_after_hours)
    if keep_answers:
        folder = settings.paths.cache / ANSWERS_FOLDER
        warehouse.answers = KeptAnswers(folder, stamp_for(settings), settings.paths.releases)
    use_warehouse(warehouse)
    server = flask.Flask("cockpit")
    compressed = server.extensions["compressed_static"] = CompressedStatic()
    # Set before Dash installs Flask-Compress, which reads them then. Level 9 instead of Flask-Compress's 3:
    # a tenth less for a first visit's scripts (Plotly, AG Grid), each compressed once (CompressedStatic);
    # callback answers are small and cost nothing more.
    server.config.update(
        COMPRESS_ZSTD_LEVEL=9,
        COMPRESS_BR_LEVEL=9,
        COMPRESS_CACHE_BACKEND=lambda: compressed,
        COMPRESS_CACHE_KEY=_static_key,
    )
    app = CockpitDash(
        # The package name, so that Dash imports pages as cockpit.pages.<page>: the same modules
        # the rest of the code imports (as pages.<page> they would register twice).
        "cockpit",
        server=server,
        use_pages=True,
        pages_folder=str(Path(__file__).with_name("pages")),
        assets_folder=str(ASSETS),
        # Not script tags: they answer libraries' URLs (_serve_in_place).
        assets_ignore="|".join(re.escape(ours.name) for _, ours in IN_PLACE),
        external_stylesheets=VENDOR_STYLESHEETS,
        serve_locally=True,
        compress=True,
        title=t("app_title"),
        suppress_callback_exceptions=True,
    )
    app.server.config["COCKPIT_MAP_TILES"] = settings.map_tiles
    app.server.config["COCKPIT_WATERMARK"] = settings.watermark
    app.server.config["COCKPIT_STREET"] = settings.street
    # lazy-charts.js runs the page's Plotly when the board's first graph mounts: fetched from the start, it is in
    # the cache by then. Which Plotly depends on the page (CockpitDash).
    app.index_string = app.index_string.replace("{%css%}", f"{{%css%}}\n        {PLOTLY_PRELOAD_SLOT}", 1)
    app.layout = shell
    guard_layouts()
    app.server.add_url_rule("/vendor/<path:filename>", "vendor", _vendor)
    app.server.add_url_rule("/preference", "preference", _preference)
    register_export_routes(app.server, settings)
    register_routes(app.server, settings.paths.briefs, settings.chromium)
    register_audit_routes(app.server)
    # After Dash's own first-request hooks (they fill the callback map the checks look outputs up in);
    # the sign-in gate first, so that a request without a session learns that before anything else.
    install_gate(app.server, settings)
    app.server.before_request(_serve_in_place)
    app.server.before_request(_check_callback_envelope)
    app.server.register_error_handler(InvalidView, _invalid_view)
    app.server.after_request(_security_headers(app, settings.map_tiles))
    app.server.after_request(_cache_fingerprinted_assets)
    app.server.after_request(_keep_whole)
    return app


@callback(
    Output("freshness-badge", "children"),
    Output("freshness-badge", "color"),
    Input(LOCATION, "pathname"),
)
@requires(None, screens=True)
def _refresh_freshness(_pathname):
    # The shell is built once per full page load; navigation within the app refreshes the badge.
    return freshness(current_warehouse(), current_language())
