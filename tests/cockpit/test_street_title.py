"""The street's name on the top bar, the sign-in page, the wall and a brief comes from settings; none is neutral."""

from __future__ import annotations

import json
import re

import pytest

from cockpit.access.principal import SYSTEM
from cockpit.briefing import BriefSpec
from cockpit.briefing.content import scope_of_brief
from cockpit.data import current_warehouse
from cockpit.metrics import Period
from cockpit.settings import Street
from tests.cockpit.dash_client import DashClient
from tests.conftest import DEMO_START
from tests.fixtures.accounts import signed_client

CONFIGURED = Street(name="澄湖街道", name_en="Chenghu Street", short_name="澄湖", admin_code="320506120")


def _shell(app, lang: str) -> dict:
    return DashClient(app, language=lang).client.get("/_dash-layout").get_json()


def _class_texts(node, class_name: str) -> list:
    """Children of every component of the layout with this class."""
    found = []

    def visit(each):
        if isinstance(each, dict):
            props = each.get("props", {})
            if class_name in str(props.get("className", "")).split():
                found.append(props.get("children"))
            visit(props.get("children"))
        elif isinstance(each, list):
            for item in each:
                visit(item)

    visit(node)
    return found


def _login(app, lang: str) -> str:
    client = app.server.test_client()
    client.set_cookie("cockpit_lang", lang)
    return client.get("/login").get_data(as_text=True)


def _wall(app, lang: str) -> str:
    client = signed_client(app)
    client.set_cookie("cockpit_lang", lang)
    dependency = DashClient(app).dependency("_pages_content.children")
    response = client.post(
        "/_dash-update-component",
        json={
            "output": dependency["output"],
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [
                {"id": "_pages_location", "property": "pathname", "value": "/wall"},
                {"id": "_pages_location", "property": "search", "value": ""},
            ],
            "changedPropIds": ["_pages_location.pathname"],
        },
    )
    assert response.status_code == 200
    return json.dumps(response.get_json(), ensure_ascii=False)


@pytest.mark.parametrize(("lang", "name"), [("zh", "澄湖街道"), ("en", "Chenghu Street")])
def test_the_configured_street_titles_the_top_bar_login_and_wall(app, monkeypatch, lang, name):
    monkeypatch.setitem(app.server.config, "COCKPIT_STREET", CONFIGURED)
    assert _class_texts(_shell(app, lang), "street-name") == [name]
    assert re.search(rf'<span class="street-name">{name}</span>', _login(app, lang))
    assert f'"children": "{name}", "className": "wall-street"' in _wall(app, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_unconfigured_street_shows_the_neutral_title_alone(app, monkeypatch, lang):
    monkeypatch.setitem(app.server.config, "COCKPIT_STREET", Street())
    shell = _shell(app, lang)
    assert _class_texts(shell, "street-name") == []
    brand = _class_texts(shell, "brand")[0]
    neutral = "街道数字驾驶舱" if lang == "zh" else "Street Command Cockpit"
    assert brand[0]["props"]["children"] == neutral
    assert 'class="street-name"' not in _login(app, lang)
    assert "wall-street" not in _wall(app, lang)


def test_a_brief_of_an_unconfigured_street_names_no_street(app):
    period = Period(DEMO_START, DEMO_START)
    assert scope_of_brief(current_warehouse(), BriefSpec(period), SYSTEM)[0] == "全街道"
    assert scope_of_brief(current_warehouse(), BriefSpec(period), SYSTEM, "澄湖街道")[0] == "澄湖街道"
