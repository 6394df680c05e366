"""The HTTP API's OpenAPI 3.1 document, made from the routes themselves.

A handler declares what it takes with :func:`operation`: a summary, the JSON body's fields
(the very :class:`~ctiserver.web.validate.Field` map :func:`ctiserver.web.common.read_body`
checks the request against), its query parameters (what :func:`ctiserver.web.common.query`
accepts) and what it answers: its success status, media type and, for JSON, the answer's
schema (``returns``), written with the helpers of :mod:`ctiserver.apischema` (re-exported here:
``obj``, ``array``, ``nullable``, ``enum``, ``mapping``) next to the handler or beside the
builder that makes the payload. :func:`document` walks the application's router, so every
route is in the document, with or without a declaration, and nothing is described that the
server does not serve. ``GET /api/openapi.json`` serves it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ctiserver.apischema import (
    ANY_OBJ,
    BOOL,
    DATE,
    INT,
    JSON_TYPES,
    NUM,
    STR,
    TIME,
    array,
    enum,
    mapping,
    nullable,
    obj,
)
from ctiserver.web import validate as v

__all__ = [
    "ANY_OBJ",
    "BOOL",
    "DATE",
    "INT",
    "NUM",
    "STR",
    "TIME",
    "array",
    "document",
    "enum",
    "mapping",
    "nullable",
    "obj",
    "operation",
    "spec_of",
]

OPENAPI_ATTR = "__openapi__"

# What any API call may answer besides its success: the one error shape of the error
# middleware, under each status it uses.
ERROR_STATUSES = {
    400: "bad input: the field is named",
    401: "no valid session",
    403: "the role may not do this",
    404: "no such thing",
    405: "method not allowed",
    409: "the current state does not allow it (or a newer version exists)",
    413: "request body too large",
    415: "the body must be application/json",
    429: "too many attempts",
    503: "Asterisk or PostgreSQL is away: nothing was done",
}


@dataclass(frozen=True)
class Operation:
    """What one handler takes and answers."""

    summary: str
    body: Mapping[str, v.Field] | None = None
    query: tuple[str, ...] = ()
    ok: int = 200
    produces: str = "application/json"
    consumes: str = "application/json"
    tags: tuple[str, ...] = field(default=())
    returns: Mapping[str, Any] | None = None
    also: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)


def operation(
    summary: str = "",
    *,
    body: Mapping[str, v.Field] | None = None,
    query: tuple[str, ...] = (),
    ok: int = 200,
    produces: str = "application/json",
    consumes: str = "application/json",
    returns: Mapping[str, Any] | None = None,
    also: Mapping[int, Mapping[str, Any] | None] | None = None,
) -> Callable[[Callable], Callable]:
    """Declare a handler's body fields, query parameters, success status and answer (the document and the checks).

    ``returns`` is the JSON schema of the success answer. ``also`` names other statuses the
    handler answers with their own schema (``None``: the same schema as the success), e.g. 202
    when a write went to the journal only, or a 503 whose body is not the error shape.
    The summary defaults to the first line of the handler's docstring."""
    extra = {
        status: dict(returns or {}) if schema is None else dict(schema)
        for status, schema in (also or {}).items()
    }
    spec = Operation(
        summary,
        dict(body) if body is not None else None,
        tuple(query),
        ok,
        produces,
        consumes,
        returns=dict(returns) if returns is not None else None,
        also=extra,
    )

    def mark(handler: Callable) -> Callable:
        setattr(handler, OPENAPI_ATTR, spec)
        return handler

    return mark


def spec_of(handler: Any) -> Operation | None:
    """The declaration of a handler, if it has one."""
    return getattr(handler, OPENAPI_ATTR, None)


def _field_schema(spec: v.Field) -> dict[str, Any]:
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    names = [JSON_TYPES.get(k, "string") for k in kinds]
    if "number" in names and "integer" in names:
        names.remove("integer")
    return {"type": names[0] if len(names) == 1 else names}


def body_schema(fields: Mapping[str, v.Field]) -> dict[str, Any]:
    """The JSON schema of a body that ``check_fields`` accepts: these fields, no others."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: _field_schema(spec) for name, spec in fields.items()},
        "additionalProperties": False,
    }
    required = [name for name, spec in fields.items() if spec.required]
    if required:
        schema["required"] = required
    return schema


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}


def _path_and_params(
    resource: web.AbstractResource,
) -> tuple[str, list[dict[str, Any]]]:
    info = resource.get_info()
    path = info.get("path") or info.get("formatter") or resource.canonical
    pattern = info.get("pattern")
    params = []
    for name in _placeholders(path):
        schema: dict[str, Any] = {"type": "string"}
        choices = _choices(pattern.pattern, name) if pattern is not None else None
        if choices:
            schema["enum"] = choices
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return path, params


def _choices(regex: str, name: str) -> list[str] | None:
    """The words of a path placeholder written as alternatives, ``{action:(submit|accept)}``."""
    start = regex.find(f"(?P<{name}>")
    if start < 0:
        return None
    depth, i = 0, start
    while i < len(regex):
        depth += {"(": 1, ")": -1}.get(regex[i], 0)
        if depth == 0:
            break
        i += 1
    body = regex[start + len(f"(?P<{name}>") : i].strip("()")
    words = body.split("|")
    return (
        words
        if len(words) > 1 and all(w.replace("_", "").isalnum() for w in words)
        else None
    )


def _placeholders(path: str) -> list[str]:
    names, rest = [], path
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        names.append(rest[start + 1 : end].split(":", 1)[0])
        rest = rest[end + 1 :]
    return names


def _operation(
    method: str, handler: Any, path_params: list[dict[str, Any]], public: bool
) -> dict[str, Any]:
    spec = spec_of(handler)
    doc = (handler.__doc__ or "").strip()
    summary = (spec.summary if spec else "") or (
        doc.splitlines()[0] if doc else f"{method} (undeclared)"
    )
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": f"{handler.__module__}.{handler.__name__}",
    }
    module = handler.__module__.split(".")
    op["tags"] = [module[1] if len(module) > 2 else "web"]
    params = list(path_params)
    for name in spec.query if spec else ():
        params.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
            }
        )
    if params:
        op["parameters"] = params
    if spec and spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {spec.consumes: {"schema": body_schema(spec.body)}},
        }
    elif spec and spec.consumes != "application/json":
        op["requestBody"] = {
            "required": True,
            "content": {spec.consumes: {"schema": {"type": "string"}}},
        }
    ok = spec.ok if spec else 200
    produces = spec.produces if spec else "application/json"
    success: dict[str, Any] = {"description": "done"}
    if ok != 204:
        if produces == "application/json":
            schema = dict(spec.returns) if spec and spec.returns is not None else {}
        else:
            schema = {"type": "string"}
        success["content"] = {produces: {"schema": schema}}
    responses: dict[str, Any] = {str(ok): success}
    for status, why in ERROR_STATUSES.items():
        if status == 401 and public:
            continue
        responses[str(status)] = {
            "description": why,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
            },
        }
    for status, schema in (spec.also if spec else {}).items():
        why = ERROR_STATUSES.get(
            status,
            "done (see the summary)" if status < 300 else "refused, with details",
        )
        responses[str(status)] = {
            "description": why,
            "content": {"application/json": {"schema": dict(schema)}},
        }
    op["responses"] = responses
    if public:
        op["security"] = []
    return op


def document(
    app: web.Application,
    *,
    title: str = "Contact-center CTI server",
    version: str = "1",
    public: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every ``/api/`` route of ``app`` (and of its sub-applications)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        method = route.method.upper()
        if method in {"HEAD", "*"}:
            continue
        path, params = (
            _path_and_params(route.resource) if route.resource is not None else ("", [])
        )
        if not path.startswith("/api/"):
            continue
        paths.setdefault(path, {})[method.lower()] = _operation(
            method, route.handler, params, path in public
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every route of the server's HTTP API. Errors share one shape; a session "
            "cookie (POST /api/login) authenticates the rest.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "cti_session"}
            },
        },
        "security": [{"session": []}],
    }
