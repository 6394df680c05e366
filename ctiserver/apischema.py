"""Helpers to write the JSON schema of an API answer briefly (JSON Schema 2020-12, as OpenAPI 3.1 takes it).

Imports nothing of the server: a payload's builder (a model's view, a service's summary) keeps
its answer's schema beside it, and the route that serves it hands that schema to
:func:`ctiserver.web.openapi.operation` as ``returns``. One source: the document, the
schemathesis test and the system tests' checks all read the same schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON_TYPES = {  # a Python type -> its JSON Schema type name
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
}

# Answer schemas, JSON Schema 2020-12 as OpenAPI 3.1 takes it.
STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
BOOL: dict[str, Any] = {"type": "boolean"}
ANY_OBJ: dict[str, Any] = {"type": "object"}  # an open-ended object (free-form details)
DATE: dict[str, Any] = {"type": "string", "format": "date"}
TIME: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
}  # ISO 8601 with its offset


def enum(*values: Any) -> dict[str, Any]:
    """One of a closed set of values (all strings, all integers...)."""
    kinds = {JSON_TYPES.get(type(x), "string") for x in values}
    schema: dict[str, Any] = {"enum": list(values)}
    if len(kinds) == 1:
        schema["type"] = kinds.pop()
    return schema


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The same value, or null: ``["string", "null"]`` (and ``null`` added to an enum)."""
    out = dict(schema)
    kind = out.get("type")
    if kind is None:
        return {"anyOf": [out, {"type": "null"}]}
    kinds = list(kind) if isinstance(kind, list) else [kind]
    out["type"] = kinds if "null" in kinds else [*kinds, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def array(item: Mapping[str, Any]) -> dict[str, Any]:
    """A list of ``item``."""
    return {"type": "array", "items": dict(item)}


def mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    """An object whose keys are data (queue names, agent ids, days), each value a ``value``."""
    return {"type": "object", "additionalProperties": dict(value)}


def obj(
    required: Mapping[str, Any] | None = None,
    optional: Mapping[str, Any] | None = None,
    *,
    closed: bool = False,
) -> dict[str, Any]:
    """An object with these keys always present (``required``) and these sometimes (``optional``).

    ``closed=True`` (``additionalProperties: false``) only for objects the server fully controls,
    where a key off the list is a bug the checks should catch."""
    required = dict(required or {})
    props = {**required, **dict(optional or {})}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {k: dict(s) for k, s in props.items()},
    }
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema
