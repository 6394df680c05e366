"""What every route module shares: reading a JSON body, roles, the JSON encoding of answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver import errors
from ctiserver.agents.book import ROLES
from ctiserver.apischema import STR, enum, obj
from ctiserver.push.hub import (
    encode as dumps,  # same encoding as the push (datetimes, enums)
)
from ctiserver.web import openapi
from ctiserver.web import validate as v

SUPERVISORS = frozenset({"supervisor", "admin"})
AGENT_ID = r"[A-Za-z0-9_.-]+"
REF = r"[A-Za-z0-9_-]+"  # a work order's id or reference


def role_of(account: Any) -> str:
    """The account's role as a plain string (it may be an enum)."""
    return str(getattr(account.role, "value", account.role))


# What account_json answers.
ACCOUNT_JSON = obj(
    {"id": STR, "login": STR, "name": STR, "role": enum(*ROLES)},
    closed=True,
)


def account_json(account: Any) -> dict[str, Any]:
    """What the browser learns about an account (never the password hash)."""
    return {"id": str(account.id), "login": account.login, "name": account.name, "role": role_of(account)}


def require_supervisor(account: Any, what: str) -> None:
    if role_of(account) not in SUPERVISORS:
        raise errors.Forbidden(f"only supervisors may {what}")


async def read_body(request: web.Request, fields: dict[str, v.Field] | None = None) -> dict[str, Any]:
    """The request's JSON object, its fields checked (400 naming the field otherwise).

    ``fields`` defaults to the body the handler declares with ``openapi.operation`` (what the
    API document says). A cross-site form can only send form or text content types without a
    CORS preflight; requiring JSON makes every state-changing POST CSRF-safe."""
    if fields is None:
        fields = _declared(request).body or {}
    v.json_content_type(request.content_type)
    raw = await request.content.read(v.MAX_BODY_BYTES + 1)
    return v.check_fields(v.parse_json_object(raw), fields)


def query(request: web.Request) -> dict[str, str]:
    """The request's query parameters, refused unless the handler declares them (400 naming it)."""
    return v.query(request.query, _declared(request).query)


def _declared(request: web.Request) -> openapi.Operation:
    spec = openapi.spec_of(request.match_info.handler)
    if spec is None:
        raise RuntimeError(f"{request.match_info.handler.__name__} declares no openapi.operation")
    return spec


def json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def ref_param(request: web.Request) -> str | int:
    """The {id} of a work-order path: a numeric id or a reference."""
    ident = v.token(request.match_info["id"], "id", pattern=REF, max_len=40, what="a work order id or reference")
    return int(ident) if ident.isdigit() else ident
