"""Calls the real app's callbacks over HTTP, as the browser's Dash renderer does (POST /_dash-update-component)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dash
from dash.development.base_component import Component

from tests.fixtures.accounts import signed_client


def id_string(component_id: str | dict) -> str:
    """Dash's wire form of an id: dict ids as sorted compact JSON."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def walk(component: Any) -> Iterator[Component]:
    """Every component in a layout tree, depth first."""
    if isinstance(component, Component):
        yield component
        for name in ("children", "body"):
            yield from walk(getattr(component, name, None))
    elif isinstance(component, list | tuple):
        for each in component:
            yield from walk(each)


def find(layout: Any, predicate) -> list[Component]:
    return [c for c in walk(layout) if predicate(getattr(c, "id", None))]


def by_type(kind: str, **keys: str):
    def predicate(component_id) -> bool:
        return (
            isinstance(component_id, dict)
            and component_id.get("type") == kind
            and all(component_id.get(k) == v for k, v in keys.items())
        )

    return predicate


class DashClient:
    def __init__(self, app: dash.Dash, language: str | None = None, **account):
        """A client signed in as `account` (signed_client's name, role, scope, grants; an analyst by default)."""
        self.app = app
        self.client = signed_client(app, **account)
        if language:
            self.client.set_cookie("cockpit_lang", language)
        # The first request registers Dash Pages' router; "/" sends a role without the overview to its own page.
        assert self.client.get("/", follow_redirects=True).status_code == 200
        self.dependencies = self.client.get("/_dash-dependencies").get_json()

    def dependency(self, output_fragment: str) -> dict:
        matches = [d for d in self.dependencies if output_fragment in d["output"]]
        assert len(matches) == 1, f"{output_fragment!r} matches {len(matches)} callbacks"
        return matches[0]

    def route(self, path: str, search: str = ""):
        """Dash Pages' router callback (what renders a page for a URL), as the browser calls it: the response."""
        return self.client.post(
            "/_dash-update-component",
            json={
                "output": self.dependency("_pages_content.children")["output"],
                "outputs": [
                    {"id": "_pages_content", "property": "children"},
                    {"id": "_pages_store", "property": "data"},
                ],
                "inputs": [
                    {"id": "_pages_location", "property": "pathname", "value": path},
                    {"id": "_pages_location", "property": "search", "value": search},
                ],
                "changedPropIds": ["_pages_location.pathname"],
            },
        )

    def post(self, payload: dict) -> dict:
        response = self.client.post("/_dash-update-component", json=payload)
        assert response.status_code in (200, 204), response.get_data(as_text=True)[-2000:]
        return {} if response.status_code == 204 else response.get_json()["response"]

    def payload(
        self,
        output_fragment: str,
        outputs: dict | list,
        inputs: list,
        state: list | None = None,
        changed: list[str] | None = None,
    ) -> dict:
        """The request body the renderer posts for one callback (`inputs`/`state` as {id, property, value})."""
        dependency = self.dependency(output_fragment)
        flat = [i for each in inputs for i in (each if isinstance(each, list) else [each])]
        return {
            "output": dependency["output"],
            "outputs": outputs,
            "inputs": inputs,
            "state": state or [],
            "changedPropIds": changed or [f"{id_string(i['id'])}.{i['property']}" for i in flat],
        }

    def update(self, output_fragment: str, outputs: dict | list, inputs: list, state=None, changed=None) -> dict:
        """Run one callback and return its answer (asserting it was answered)."""
        return self.post(self.payload(output_fragment, outputs, inputs, state, changed))

    def status(self, output_fragment: str, outputs: dict | list, inputs: list, state=None, changed=None) -> int:
        """Run one callback and return only the HTTP status it was answered with (401/403 when refused)."""
        body = self.payload(output_fragment, outputs, inputs, state, changed)
        return self.client.post("/_dash-update-component", json=body).status_code

    def page_updates(self, layout, page: str) -> Iterator[tuple[str, dict | list, list]]:
        """(output, outputs, inputs) of every callback fed by a rendered board page's view store.

        What the browser runs when the page appears: the board's one callback (KPI strips, charts
        and lists). Chart outputs use a wildcard in the id (the drill dimension depends on the
        view), so the concrete graph id is read from the layout.
        """
        view_id = {"page": page, "type": "view"}
        (store,) = find(layout, by_type("view", page=page))
        inputs = [{"id": view_id, "property": "data", "value": store.data}]
        for dependency in self.dependencies:
            if id_string(view_id) not in [each["id"] for each in dependency["inputs"]]:
                continue
            output = dependency["output"]
            specs = output[2:-2].split("...") if output.startswith("..") else [output]
            outputs: list = []
            for spec in specs:
                component, prop = spec.rsplit(".", 1)
                if component.startswith("{"):
                    (graph,) = find(layout, by_type("drill", chart=json.loads(component)["chart"]))
                    outputs.append([{"id": graph.id, "property": prop}])
                else:
                    outputs.append({"id": component, "property": prop})
            yield output, (outputs if len(specs) > 1 else outputs[0]), inputs
