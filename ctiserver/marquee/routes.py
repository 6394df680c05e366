"""Marquee API: what scrolls now; supervisors publish a line with an optional expiry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiohttp import web

from ctiserver import errors
from ctiserver.store.models import Marquee
from ctiserver.web import validate as v
from ctiserver.web.common import dumps, read_body, require_supervisor
from ctiserver.web.keys import ACCOUNT, MARQUEE
from ctiserver.web.openapi import array, obj, operation

MAX_TTL = 7 * 24 * 3600

routes = web.RouteTableDef()


@routes.get("/api/marquee")
@operation(returns=obj({"items": array(Marquee.JSON)}, closed=True))
async def get_marquee(request: web.Request) -> web.Response:
    """The marquee items now showing."""
    return web.json_response({"items": request.app[MARQUEE].active()}, dumps=dumps)


@routes.post("/api/marquee")
@operation(
    body={"text": v.Field(str), "expires_at": v.Field(str, required=False), "ttl_seconds": v.Field(int, required=False)},
    ok=201,
    returns=Marquee.JSON,
)
async def post_marquee(request: web.Request) -> web.Response:
    """Publish a marquee line (supervisors and admins), with an optional expiry."""
    account = request[ACCOUNT]
    require_supervisor(account, "post to the marquee")
    body = await read_body(request)
    text = v.text(body["text"], "text", max_len=500)
    if body.get("expires_at") is not None and body.get("ttl_seconds") is not None:
        raise errors.InvalidInput("give expires_at or ttl_seconds, not both", field="ttl_seconds")
    now = datetime.now(timezone.utc)
    expires_at = None
    if body.get("expires_at") is not None:
        expires_at = v.iso_datetime(body["expires_at"], "expires_at")
        if expires_at <= now:
            raise errors.InvalidInput("expires_at is in the past", field="expires_at")
    elif body.get("ttl_seconds") is not None:
        ttl = v.integer(body["ttl_seconds"], "ttl_seconds", minimum=1, maximum=MAX_TTL)
        expires_at = now + timedelta(seconds=ttl)
    item = await request.app[MARQUEE].post(text, by=account, expires_at=expires_at)
    return web.json_response(item, status=201, dumps=dumps)
