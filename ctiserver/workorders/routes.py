"""Work-order API: search (agents see only their own), one work order with its history."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver import errors
from ctiserver.web import validate as v
from ctiserver.web.common import AGENT_ID, SUPERVISORS, dumps, ref_param, role_of
from ctiserver.web.keys import ACCOUNT, WORKORDERS

CALLER = r"[A-Za-z0-9+*#_.-]+"
DISPOSITIONS = ("answered", "abandoned", "no_agent")

routes = web.RouteTableDef()


@routes.get("/api/workorders")
async def list_workorders(request: web.Request) -> web.Response:
    """Search work orders; agents only ever see their own."""
    account = request[ACCOUNT]
    q = v.query(request.query, ("date", "agent", "caller", "disposition", "limit", "offset"))
    kwargs: dict[str, Any] = {
        "date": v.iso_date(q["date"], "date") if "date" in q else None,
        "agent": v.token(q["agent"], "agent", pattern=AGENT_ID, max_len=32, what="an agent id")
        if "agent" in q else None,
        "caller": v.token(q["caller"], "caller", pattern=CALLER, max_len=40,
                          what="a phone number (digits, +, *, #)") if "caller" in q else None,
        "disposition": v.choice(q["disposition"], "disposition", DISPOSITIONS) if "disposition" in q else None,
        "limit": v.integer(q.get("limit", "50"), "limit", minimum=1, maximum=200),
        "offset": v.integer(q.get("offset", "0"), "offset", minimum=0, maximum=1_000_000),
    }
    if role_of(account) not in SUPERVISORS:
        if kwargs["agent"] not in (None, str(account.id)):
            raise errors.Forbidden("agents may only list their own work orders", field="agent")
        kwargs["agent"] = str(account.id)
    items = await request.app[WORKORDERS].list(**kwargs)
    return web.json_response({"workorders": items, "limit": kwargs["limit"], "offset": kwargs["offset"]},
                             dumps=dumps)


@routes.get("/api/workorders/{id}")
async def get_workorder(request: web.Request) -> web.Response:
    """One work order by numeric id or reference."""
    account = request[ACCOUNT]
    item = await request.app[WORKORDERS].get(ref_param(request))
    owner = item.get("agent_id", item.get("agent"))
    if role_of(account) not in SUPERVISORS and owner is not None and str(owner) != str(account.id):
        raise errors.Forbidden("this work order belongs to another agent")
    return web.json_response({"workorder": item}, dumps=dumps)
