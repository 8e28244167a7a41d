"""The sign-in gate in front of every route and callback, and the pages that sign a user in and out.

Every request but the login page and static files must come from a principal:
a session cookie (after /login), a wall screen's token cookie (after
/wall?token=…), or a trusted gateway's user header (single sign-on, only from
the configured proxy addresses). Without one, a page answers a redirect to
/login and anything else 401. With one, what it may do is checked here, in one
place, against the permissions declared once below (pages, routes) and on the
callbacks themselves (`requires`); the scope of the data it sees is applied by
the warehouse (`cockpit.data.current_warehouse`). Refusals are audited.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import logging
import math
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape as xml_escape

import dash
import flask

from cockpit.access import audit, sessions
from cockpit.access.accounts import AccessError, Accounts, LoginResult, Permission, find
from cockpit.access.audit import Action, Outcome
from cockpit.access.principal import Principal, PrincipalKind, current_principal
from cockpit.access.state import connect
from cockpit.i18n import current_language, street_name, t
from cockpit.settings import Settings

SESSION_COOKIE = "cockpit_session"
SCREEN_COOKIE = "cockpit_screen"
CSRF_COOKIE = "cockpit_csrf"
LOGIN_PATH, LOGOUT_PATH, PASSWORD_PATH, LOGOUT_ALL_PATH = (
    "/login",
    "/logout",
    "/account/password",
    "/account/logout-everywhere",
)
CALLBACK_PATH = "/_dash-update-component"
# Open without signing in: the login page, what it and every page load, and the language/theme
# switch (it only sets a cookie), none holding any data.
PUBLIC_PATHS = frozenset({LOGIN_PATH, "/_favicon.ico", "/preference"})
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/vendor/")
# What a signed-in principal needs for each page (by its page id; every other page needs VIEW) …
PAGE_PERMISSIONS: dict[str, Permission] = {
    "pipeline": Permission.PIPELINE,
    "briefs": Permission.BRIEFS,
    "audit": Permission.AUDIT,
}
# … and for the routes outside Dash, by path prefix.
ROUTE_PERMISSIONS: tuple[tuple[str, Permission], ...] = (
    ("/export/", Permission.EXPORT),
    ("/briefs/", Permission.BRIEFS),
    ("/audit/", Permission.AUDIT),
)
# The pages a wall screen signed in by its token may open.
SCREEN_PAGES = frozenset({"wall"})
# Which Dash callbacks any principal may call: the pages router (each page's layout checks itself).
OPEN_CALLBACK_IDS = ("_pages_content", "_pages_store", "_pages_dummy")

log = logging.getLogger(__name__)


# ---- what a principal may do ----------------------------------------------------------------------


def requires(permission: Permission | None, *, screens: bool = False) -> Callable:
    """Declare what a Dash callback needs (put it under @callback); None: any signed-in principal.

    An undeclared callback needs VIEW and is closed to wall screens; `screens=True` opens it to them.
    """

    def mark(function: Callable) -> Callable:
        function.cockpit_permission = permission
        function.cockpit_screens = screens
        return function

    return mark


def page_permission(page: str) -> Permission:
    return PAGE_PERMISSIONS.get(page, Permission.VIEW)


def may_open(principal: Principal, page: str) -> bool:
    """Whether the principal may open the page (by page id: overview, party, …, wall, audit)."""
    if principal.kind is PrincipalKind.SCREEN and page not in SCREEN_PAGES:
        return False
    return principal.may(page_permission(page))


def _page_id(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def _page_at(path: str) -> str | None:
    """The page id a browser path opens (None: no page of ours)."""
    path = path.rstrip("/") or "/"
    for module, page in dash.page_registry.items():
        if page["path"] == path:
            return _page_id(module)
    return None


def home_path(principal: Principal) -> str | None:
    """The first page the principal may open, in the order of the page registry (None: none at all)."""
    for module, page in sorted(dash.page_registry.items(), key=lambda item: item[1].get("order") or 0):
        if may_open(principal, _page_id(module)):
            return page["path"]
    return None


def _callback_rule(output: str) -> tuple[Permission | None, bool]:
    """(permission, open to screens) for the callback that writes `output`."""
    if any(output.lstrip(".").startswith(each) or f"..{each}" in output for each in OPEN_CALLBACK_IDS):
        return None, True
    entry = dash.get_app().callback_map.get(output)
    function = entry.get("callback") if entry else None
    if function is None or not hasattr(function, "cockpit_permission"):
        return Permission.VIEW, False
    return function.cockpit_permission, function.cockpit_screens


def guard_layouts() -> None:
    """Wrap every registered page's layout so that it renders only for a principal who may open it."""
    for module, page in dash.page_registry.items():
        layout = page["layout"]
        if getattr(layout, "cockpit_guarded", False):
            continue
        page["layout"] = _guarded_layout(_page_id(module), layout)


def _guarded_layout(page: str, layout: Any) -> Callable:
    @functools.wraps(layout)
    def guarded(*args, **query):
        if not may_open(current_principal(), page):
            return dash.html.Div(t("access_denied_page", current_language()), className="access-denied")
        return layout(*args, **query) if callable(layout) else layout

    guarded.cockpit_guarded = True
    return guarded


# ---- what every page shows of the principal -------------------------------------------------------------

WATERMARK_FONT_PX = 17  # the watermark's text size on screen
WATERMARK_ANGLE = -24  # degrees: diagonal, like the printed brief's


def watermark_text(principal: Principal, when: datetime | None = None, *, minutes: bool = False) -> str:
    """The text of the screen and PDF watermarks: who, and the day (the convention of government systems).

    `minutes` adds the time of day (HH:MM): a printed brief is one moment, a screen a whole day.
    """
    return f"{principal.label} {(when or datetime.now()):{'%Y-%m-%d %H:%M' if minutes else '%Y-%m-%d'}}"


def watermark_tile(text: str) -> str:
    """One tile of the screen watermark as a CSS url(): an SVG with the text once, turned diagonally.

    The page repeats the tile as the mask of one fixed element, so the watermark costs the browser one
    box whatever the screen's size (copies of the text as elements cost a 4K wall hundreds, each laid
    out and re-rendered with every update). The text is XML-escaped and the SVG base64-encoded: a
    display name cannot break out of either.
    """
    width_px = sum(
        WATERMARK_FONT_PX if unicodedata.east_asian_width(ch) in "WF" else WATERMARK_FONT_PX * 0.6 for ch in text
    )
    angle = math.radians(abs(WATERMARK_ANGLE))
    width = round(width_px * math.cos(angle) + 7 * WATERMARK_FONT_PX)
    height = round(width_px * math.sin(angle) + 5 * WATERMARK_FONT_PX)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<text x="50%" y="50%" text-anchor="middle" dominant-baseline="middle" font-size="{WATERMARK_FONT_PX}" '
        f'font-family="sans-serif" transform="rotate({WATERMARK_ANGLE} {width / 2} {height / 2})">'
        f"{xml_escape(text)}</text></svg>"
    )
    return f'url("data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}")'


def watermark(principal: Principal, lang: str) -> dash.html.Div:
    """A faint diagonal watermark over the whole page: the reader's name and the date, deterring photos."""
    text = watermark_text(principal)
    tile = watermark_tile(text)
    return dash.html.Div(
        className="watermark",
        id="watermark",
        style={"maskImage": tile, "WebkitMaskImage": tile},
        **{"aria-hidden": "true", "data-text": text},
    )


def user_menu(principal: Principal, lang: str) -> list:
    """Who is signed in, and the ways out: change password, sign out, sign out everywhere."""
    if principal.kind is PrincipalKind.SCREEN:
        return [dash.html.Span(principal.display_name, className="user-name screen-name", id="user-name")]
    if principal.kind is not PrincipalKind.USER:
        return []
    role = principal.role.label if principal.role else ""
    return [
        dash.html.Span(f"{principal.label} · {role}", className="user-name", id="user-name"),
        dash.html.A(t("password_change", lang), href=PASSWORD_PATH, className="btn btn-sm btn-outline-light"),
        dash.html.Form(
            dash.html.Button(t("sign_out", lang), type="submit", className="btn btn-sm btn-outline-light", id="logout"),
            method="POST",
            action=LOGOUT_PATH,
            className="logout-form",
        ),
    ]


# ---- who is asking --------------------------------------------------------------------------------


class Gate:
    """Resolves the principal of a request and answers the requests that may not go on."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.home = settings.paths
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.absolute = timedelta(hours=settings.session_max_hours)
        self.proxies = tuple(ipaddress.ip_network(each, strict=False) for each in settings.sso_proxies)

    def conn(self):
        return connect(self.home)

    def client(self) -> str:
        return (flask.request.remote_addr or "")[:64]

    # -- resolving --

    def resolve(self) -> Principal | None:
        """The principal of the current request, from its session, its screen token or a trusted SSO header."""
        flask.g.session_ended = None
        sso_name = self._sso_name()
        token = flask.request.cookies.get(SESSION_COOKIE, "")
        if token:
            found = sessions.look_up(self.conn(), token, idle=self.idle, absolute=self.absolute)
            if found.session is not None:
                account = found.session.account
                if sso_name is None or sso_name.lower() == account.name:
                    return Principal.for_account(account, account.grants, found.session.id_hash)
                sessions.end(self.conn(), found.session.id_hash, sessions.Ended.LOGOUT, actor=account.name)
            flask.g.session_ended = found.ended
        if sso_name is not None:
            return self._sso_session(sso_name)
        screen = flask.request.cookies.get(SCREEN_COOKIE, "")
        if screen:
            return self._screen(screen, record_use=False)
        return None

    def _sso_name(self) -> str | None:
        """The user a trusted gateway vouches for; a header from any other address is ignored (and logged)."""
        header = self.settings.sso_header
        if not header:
            return None
        name = flask.request.headers.get(header, "").strip()
        if not name:
            return None
        try:
            address = ipaddress.ip_address(flask.request.remote_addr or "")
        except ValueError:
            address = None
        if address is None or not any(address in network for network in self.proxies):
            log.warning("ignored the %s header from %s: not a configured SSO proxy", header, address)
            return None
        return name[:64]

    def _sso_session(self, name: str) -> Principal | None:
        """A session for the user the gateway names, begun here; only an existing, enabled account gets one."""
        conn = self.conn()
        account = find(conn, name)
        if account is None or account.disabled:
            audit.append(
                conn,
                name.lower(),
                Action.LOGIN_FAILED,
                detail={"method": "sso", "client": self.client(), "reason": "unknown or disabled account"},
                outcome=Outcome.FAILED,
            )
            return None
        token = sessions.begin(conn, account, client=self.client())
        audit.append(conn, account.name, Action.LOGIN, detail={"method": "sso", "client": self.client()})
        flask.g.new_session = token
        found = sessions.look_up(conn, token, idle=self.idle, absolute=self.absolute)
        return Principal.for_account(account, account.grants, found.session.id_hash if found.session else None)

    def _screen(self, secret: str, *, record_use: bool) -> Principal | None:
        from cockpit.access.tokens import ScreenTokens

        token = ScreenTokens(self.conn(), self.settings).verify(secret, client=self.client(), record_use=record_use)
        return token.principal() if token is not None else None

    # -- the gate itself --

    def check(self) -> flask.Response | None:
        """Before every request: let it through, or answer it (login redirect, 401, 403)."""
        request = flask.request
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(STATIC_PREFIXES):
            return None
        if path == "/wall" and request.args.get("token"):
            return self._pair_screen(request.args["token"])
        principal = self.resolve()
        if principal is None:
            return self._unauthenticated()
        flask.g.principal = principal
        if path in (LOGOUT_PATH, LOGOUT_ALL_PATH, PASSWORD_PATH):
            return None
        if principal.must_change_password:
            return flask.redirect(PASSWORD_PATH) if request.method == "GET" else _plain(t("must_change", "en"), 403)
        if path == CALLBACK_PATH:
            return self._check_callback(principal)
        for prefix, permission in ROUTE_PERMISSIONS:
            if path.startswith(prefix) and not principal.may(permission):
                return self.deny(principal, path, f"needs the {permission.value} permission")
        page = _page_at(path)
        if page is not None and not may_open(principal, page):
            home = home_path(principal)
            if path == "/" and home is not None:
                return _redirect(home)
            return self.deny(principal, path, f"may not open the {page} page")
        return None

    def _check_callback(self, principal: Principal) -> flask.Response | None:
        body = flask.request.get_json(silent=True)
        output = body.get("output") if isinstance(body, dict) else None
        if not isinstance(output, str):
            return None  # the envelope check answers it with a 400
        permission, screens = _callback_rule(output)
        if principal.kind is PrincipalKind.SCREEN and not screens:
            return self.deny(principal, f"callback {output[:120]}", "a wall screen may only refresh the wall")
        if permission is not None and not principal.may(permission):
            return self.deny(principal, f"callback {output[:120]}", f"needs the {permission.value} permission")
        return None

    def deny(self, principal: Principal, target: str, reason: str) -> flask.Response:
        """403 with a one-line reason, and an audit entry saying who was refused what."""
        audit.append(
            self.conn(),
            principal.name,
            Action.DENIED,
            target=target[:200],
            detail={"reason": reason, "client": self.client(), "method": flask.request.method},
            outcome=Outcome.DENIED,
        )
        return _plain(f"forbidden: {principal.name} {reason}", 403)

    def _unauthenticated(self) -> flask.Response:
        request = flask.request
        if request.method == "GET" and _page_at(request.path) is not None:
            target = request.full_path.rstrip("?")
            reason = flask.g.get("session_ended")
            query = f"next={quote(target, safe='/')}" + (f"&ended={reason.value}" if reason else "")
            response = _redirect(f"{LOGIN_PATH}?{query}")
        else:
            response = _plain("sign in first: no valid session (see /login)", 401)
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE)
        return response

    def _pair_screen(self, secret: str) -> flask.Response:
        """GET /wall?token=…: a wall PC exchanges its token for a cookie, and the token leaves the address bar."""
        principal = self._screen(secret, record_use=True)
        if principal is None:
            return _plain("this screen token is unknown or revoked: ask an admin for a new one", 401)
        response = _redirect("/wall")
        response.set_cookie(SCREEN_COOKIE, secret, max_age=400 * 24 * 3600, **self.cookie_options())
        return response

    def cookie_options(self) -> dict:
        return {"httponly": True, "samesite": "Lax", "secure": self.settings.session_cookie_secure, "path": "/"}

    def after(self, response: flask.Response) -> flask.Response:
        token = flask.g.get("new_session")
        if token:
            response.set_cookie(SESSION_COOKIE, token, **self.cookie_options())
        return response


def record(action: Action, *, target: str = "", detail: dict | None = None, outcome: Outcome = Outcome.OK) -> None:
    """Append what the current request's principal did to the audit trail (with the client's address)."""
    gate: Gate = flask.current_app.config["COCKPIT_GATE"]
    principal = current_principal()
    audit.append(
        gate.conn(),
        principal.name,
        action,
        target=target[:200],
        detail={**(detail or {}), "client": gate.client()},
        outcome=outcome,
    )


def _plain(message: str, status: int) -> flask.Response:
    return flask.Response(message.splitlines()[0][:300] + "\n", status=status, mimetype="text/plain")


def _redirect(location: str) -> flask.Response:
    response = flask.redirect(location)
    # A relative Location: werkzeug must not make it absolute from the (forgeable) Host header.
    response.autocorrect_location_header = False
    return response


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    path = parts.path or "/"
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    if path in (LOGIN_PATH, LOGOUT_PATH):
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")


# ---- the sign-in pages ------------------------------------------------------------------------------

_FORM_PAGE = """<!doctype html>
<html lang="{{ 'en' if lang == 'en' else 'zh-CN' }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · {{ app_title }}</title>
<link rel="icon" href="/_favicon.ico">
<link rel="stylesheet" href="/vendor/css/bootstrap.min.css">
<link rel="stylesheet" href="/assets/cockpit.css">
</head><body class="login-body">
<main class="login-card card shadow-sm">
  <div class="card-body">
    <div class="login-brand">{% if street %}<span class="street-name">{{ street }}</span> {% endif %}
      <span>{{ app_title }}</span></div>
    <h1 class="h5">{{ title }}</h1>
    {% if notice %}<div class="alert alert-info" role="status" id="login-notice">{{ notice }}</div>{% endif %}
    {% if error %}<div class="alert alert-danger" role="alert" id="login-error">{{ error }}</div>{% endif %}
    <form method="post" action="{{ action }}" autocomplete="off">
      <input type="hidden" name="csrf" value="{{ csrf }}">
      <input type="hidden" name="next" value="{{ next }}">
      {% for name, label, kind in fields %}
      <div class="mb-3"><label class="form-label" for="{{ name }}">{{ label }}</label>
        <input class="form-control" id="{{ name }}" name="{{ name }}" type="{{ kind }}" required
          {% if loop.first %}autofocus{% endif %}></div>
      {% endfor %}
      <button class="btn btn-primary w-100" type="submit" id="login-submit">{{ submit }}</button>
    </form>
    {% if hint %}<p class="text-muted small mt-3">{{ hint }}</p>{% endif %}
  </div>
</main></body></html>"""


def _form(title: str, action: str, fields, submit: str, *, error="", notice="", next_path="/", hint="", status=200):
    lang = current_language()
    csrf = flask.request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    html = flask.render_template_string(
        _FORM_PAGE,
        lang=lang,
        title=title,
        app_title=t("app_title", lang),
        street=street_name(lang),
        action=action,
        fields=fields,
        submit=submit,
        error=error,
        notice=notice,
        next=next_path,
        csrf=csrf,
        hint=hint,
    )
    response = flask.make_response(html, status)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Strict", path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


def _csrf_ok() -> bool:
    cookie = flask.request.cookies.get(CSRF_COOKIE, "")
    sent = flask.request.form.get("csrf", "")
    return bool(cookie) and secrets.compare_digest(cookie, sent)


def _login_fields(lang: str):
    return [("username", t("user_name", lang), "text"), ("password", t("password", lang), "password")]


def login() -> flask.Response:
    """GET /login: the form. POST /login: check the password (lockout and audit in Accounts), begin a session."""
    gate: Gate = flask.current_app.config["COCKPIT_GATE"]
    lang = current_language()
    request = flask.request
    next_path = safe_next(request.values.get("next"))

    def form(*, notice: str = "", error: str = "", status: int = 200) -> flask.Response:
        title = t("sign_in", lang)
        fields = _login_fields(lang)
        return _form(title, LOGIN_PATH, fields, title, notice=notice, error=error, next_path=next_path, status=status)

    if request.method == "GET":
        ended = request.args.get("ended")
        return form(notice=t(f"session_{ended}", lang) if ended in {e.value for e in sessions.Ended} else "")
    if not _csrf_ok():
        return form(error=t("form_expired", lang), status=400)
    name = request.form.get("username", "")[:64].strip()
    password = request.form.get("password", "")[:1024]
    accounts = Accounts(gate.conn(), gate.settings)
    result = accounts.authenticate(name, password, client=gate.client())
    if result.account is None:
        return form(error=t("login_failed", lang), status=401)
    token = sessions.begin(gate.conn(), result.account, client=gate.client())
    target = PASSWORD_PATH if result.result is LoginResult.MUST_CHANGE else next_path
    if target == "/":
        target = home_path(Principal.for_account(result.account, result.account.grants)) or "/"
    response = _redirect(target)
    response.set_cookie(SESSION_COOKIE, token, **gate.cookie_options())
    return response


def _password_fields(lang: str):
    return [
        ("current", t("password_current", lang), "password"),
        ("new", t("password_new", lang), "password"),
        ("confirm", t("password_confirm", lang), "password"),
    ]


def change_password() -> flask.Response:
    """GET/POST /account/password: the user's own change (forced after the initial password)."""
    gate: Gate = flask.current_app.config["COCKPIT_GATE"]
    principal = current_principal()
    lang = current_language()
    title = t("password_change", lang)
    if principal.kind is not PrincipalKind.USER:
        return _plain("only a signed-in user has a password to change", 403)
    notice = t("password_must_change", lang) if principal.must_change_password else ""
    hint = t(
        "password_policy", lang, length=gate.settings.password_min_length, classes=gate.settings.password_min_classes
    )
    fields = _password_fields(lang)

    def form(*, error: str = "", status: int = 200) -> flask.Response:
        return _form(
            title, PASSWORD_PATH, fields, t("save", lang), notice=notice, error=error, hint=hint, status=status
        )

    if flask.request.method == "GET":
        return form()
    sent = flask.request.form
    if not _csrf_ok():
        return form(error=t("form_expired", lang), status=400)
    if sent.get("new", "") != sent.get("confirm", ""):
        return form(error=t("password_mismatch", lang), status=400)
    try:
        account = Accounts(gate.conn(), gate.settings).change_password(
            principal.name, sent.get("current", ""), sent.get("new", "")
        )
    except AccessError as exc:
        return form(error=str(exc), status=400)
    # The change ended every session of the account (a thief's too); this browser goes on in a new one.
    response = _redirect(home_path(principal) or "/")
    response.set_cookie(
        SESSION_COOKIE, sessions.begin(gate.conn(), account, client=gate.client()), **gate.cookie_options()
    )
    return response


def logout() -> flask.Response:
    """POST /logout: end this session (audited) and go back to the login page."""
    gate: Gate = flask.current_app.config["COCKPIT_GATE"]
    principal = current_principal()
    if principal.kind is PrincipalKind.USER and principal.session:
        sessions.end(gate.conn(), principal.session, sessions.Ended.LOGOUT, actor=principal.name)
    response = _redirect(LOGIN_PATH)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def logout_everywhere() -> flask.Response:
    """POST /account/logout-everywhere: end every session of this user, on every device."""
    gate: Gate = flask.current_app.config["COCKPIT_GATE"]
    principal = current_principal()
    if principal.kind is not PrincipalKind.USER:
        return _plain("only a signed-in user can sign out everywhere", 403)
    Accounts(gate.conn(), gate.settings).logout_everywhere(principal.name, actor=principal.name)
    response = _redirect(LOGIN_PATH)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def install(server: flask.Flask, settings: Settings) -> Gate:
    """Put the gate in front of every request of the app, and add the sign-in pages."""
    gate = Gate(settings)
    server.config["COCKPIT_GATE"] = gate
    server.config["COCKPIT_RESOLVE_PRINCIPAL"] = gate.resolve
    server.before_request(gate.check)
    server.after_request(gate.after)
    server.add_url_rule(LOGIN_PATH, "login", login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, "logout", logout, methods=["POST"])
    server.add_url_rule(LOGOUT_ALL_PATH, "logout_everywhere", logout_everywhere, methods=["POST"])
    server.add_url_rule(PASSWORD_PATH, "change_password", change_password, methods=["GET", "POST"])
    return gate
