"""What the real app shows of one configured home, every page signed in, printed as JSON (run in a process of its own).

Dash's callbacks and page registry are process-wide: one app per process, and the test session's
app is the session demo's. A test that deploys another street starts a fresh interpreter:

    COCKPIT_HOME=<home> python -m tests.cockpit.street_probe <xlsx to write>

It builds the app from the home's settings (Settings.load, as `cockpit serve` does) and prints
{"login": …, "shell": …, "pages": {path: …}, "wall": …} for each language: the sign-in page, the
frame around every page (top bar), each page as the router renders it plus the answers of the
callbacks that fill it, and the wall with its refresh. It writes one records export (xlsx).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import dash

from cockpit.access.accounts import ROLES
from cockpit.access.web import page_permission
from cockpit.app import create_app
from cockpit.components.board import board_layout
from cockpit.settings import Settings
from tests.cockpit.dash_client import DashClient
from tests.cockpit.test_wall import refresh
from tests.fixtures.accounts import signed_context

# Who opens which page: the first of these roles whose permissions include the page's.
ACCOUNTS = (
    {"name": "probe-analyst", "role": "analyst"},
    {"name": "probe-operator", "role": "operator"},
    {"name": "probe-admin", "role": "admin"},
)
EXPORT_KPI = "tickets_received"


def _route(client: DashClient, path: str) -> str:
    """Dash Pages' router callback for a path: the page as the browser receives it."""
    response = client.route(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return _text(response.get_json())


def _text(answer) -> str:
    """An answer as text with its Chinese as characters (Dash's JSON may escape them as \\uXXXX)."""
    return json.dumps(answer, ensure_ascii=False)


def _login_page(app, lang: str) -> str:
    """The sign-in page as someone not signed in sees it, in their language."""
    client = app.server.test_client()
    client.set_cookie("cockpit_lang", lang)
    return client.get("/login").get_data(as_text=True)


def _board_answers(app, client: DashClient, module: str, lang: str) -> list[dict]:
    """The answers of every callback a board page runs when it appears (KPI strips, charts, lists)."""
    page = importlib.import_module(module)
    board = getattr(page, "BOARD", None)
    if board is None:
        return []
    cookies = f"cockpit_lang={lang}"
    with signed_context(app, cookies, **ACCOUNTS[0]):
        layout = board_layout(board, {})
    name = module.rsplit(".", 1)[-1]
    return [client.update(*update) for update in client.page_updates(layout, name)]


def probe(xlsx: Path) -> dict:
    app = create_app(Settings.load())
    shown: dict = {}
    for lang in ("zh", "en"):
        clients = {}
        for account in ACCOUNTS:
            clients[account["role"]] = DashClient(app, language=lang, **account)
        analyst = clients["analyst"]
        seen: dict = {
            "login": _login_page(app, lang),
            "shell": _text(analyst.client.get("/_dash-layout").get_json()),
            "pages": {},
        }
        for module, page in dash.page_registry.items():
            permission = page_permission(module.rsplit(".", 1)[-1])
            role = next(a["role"] for a in ACCOUNTS if ROLES[a["role"]].may(permission))
            client = clients[role]
            answers = _board_answers(app, client, module, lang)
            seen["pages"][page["path"]] = _route(client, page["path"]) + _text(answers)
        seen["wall"] = _route(analyst, "/wall") + _text(refresh(analyst))
        shown[lang] = seen
        if lang == "zh":
            exporter = analyst
    response = exporter.client.get(f"/export/records.xlsx?kpi={EXPORT_KPI}&period=this_year")
    assert response.status_code == 200, response.get_data(as_text=True)
    xlsx.write_bytes(response.get_data())
    return shown


if __name__ == "__main__":
    print(json.dumps(probe(Path(sys.argv[1])), ensure_ascii=False))
