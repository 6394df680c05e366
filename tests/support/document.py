"""Check a real answer against the server's own OpenAPI document (what a client author reads).

The system tests call routes with real data (calls answered, work orders written); handing
those answers to :func:`assert_matches_document` catches a payload that drifted from its
declared schema, which random requests rarely reach.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs

from tests.support.panel import PanelClient

_DOCUMENTS: dict[str, dict[str, Any]] = {}


async def served_document(panel: PanelClient) -> dict[str, Any]:
    """The document the server under test serves (read once per server)."""
    if panel.base not in _DOCUMENTS:
        async with panel.http.get(panel.base + "/api/openapi.json") as r:
            assert r.status == 200, await r.text()
            _DOCUMENTS[panel.base] = await r.json()
    return _DOCUMENTS[panel.base]


def _template_of(doc: dict[str, Any], path: str) -> str:
    """The document's path template that ``path`` (a concrete path, no query) is an instance of."""
    path = path.split("?", 1)[0]
    matches = []
    for template in doc["paths"]:
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(regex, path):
            matches.append(template)
    assert matches, f"{path} is in no path of the document"
    return min(
        matches, key=lambda t: (t.count("{"), -len(t))
    )  # a literal segment wins: /search, not /{id}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def matches_document(
    doc: dict[str, Any], method: str, path: str, status: int, body: Any
) -> list[str]:
    """What is wrong with this answer by the document (empty: it matches)."""
    template = _template_of(doc, path)
    op = doc["paths"][template].get(method.lower())
    if op is None:
        return [f"{method} {template} is not in the document"]
    response = op["responses"].get(str(status))
    if response is None:
        return [
            f"{method} {template} answered {status}, which the document does not list ({sorted(op['responses'])})"
        ]
    content = response.get("content", {}).get("application/json")
    if content is None:
        return [f"{method} {template} {status} is not JSON by the document"]
    schema = _resolve(doc, content["schema"])
    validator = jsonschema_rs.validator_for(schema)
    return [
        f"{'/'.join(map(str, e.instance_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(body)
    ]


async def assert_matches_document(
    panel: PanelClient, method: str, path: str, status: int, body: Any
) -> Any:
    """Fail naming each difference when ``body`` (answered ``status`` to ``method path``) is off the
    document's schema for it; returns ``body`` so a test can go on with it."""
    doc = await served_document(panel)
    problems = matches_document(doc, method, path, status, body)
    assert not problems, (
        f"{method} {path} answered {status} off the document:\n"
        + "\n".join(problems[:20])
    )
    return body
