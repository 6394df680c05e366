"""Service hours API (supervisors and admins; 403 for agents).

``GET /api/hours``: each hotline, open or closed now (``closed_reason``: closed_now, holiday,
after_hours, or null), its week and its emergency switch. ``POST /api/hours/{hotline}/switch``
``{"closed": true|false, "reason": "..."}``: close the line now / reopen it to its hours (a
reason is required to close). ``GET /api/hours/{hotline}/history``: who flipped it, when, why.
Bad input 400 naming the field, unknown hotline 404, database away 503.
"""

from __future__ import annotations

from aiohttp import web

from ctiserver.errors import InvalidInput
from ctiserver.hours.schedule import HOTLINE
from ctiserver.hours.service import HOTLINE_VIEW, REASON_MAX, SWITCH, HoursService
from ctiserver.web import validate as v
from ctiserver.web.common import json, read_body, require_supervisor
from ctiserver.web.keys import ACCOUNT
from ctiserver.web.openapi import array, obj, operation

HOURS = web.AppKey("hours", HoursService)

routes = web.RouteTableDef()


def _hotline(request: web.Request) -> str:
    return v.token(
        request.match_info["hotline"],
        "hotline",
        pattern=HOTLINE.pattern.strip("^$"),
        max_len=64,
        what="a hotline name",
    )


@routes.get("/api/hours")
@operation(
    "Each hotline, open or closed now and why, its week and its emergency switch",
    returns=obj({"hotlines": array(HOTLINE_VIEW)}, closed=True),
)
async def hours(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "see the service hours")
    return json({"hotlines": await request.app[HOURS].views()})


@routes.post("/api/hours/{hotline}/switch")
@operation(
    "Close a hotline now (a reason is required) or reopen it to its hours",
    body={"closed": v.Field(bool), "reason": v.Field(str, required=False)},
    returns=HOTLINE_VIEW,
)
async def switch(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "close or reopen a hotline")
    hotline = _hotline(request)
    body = await read_body(request)
    reason = body.get("reason") or ""
    reason = v.text(reason, "reason", max_len=REASON_MAX) if reason.strip() else ""
    if body["closed"] and not reason:
        raise InvalidInput(
            "reason: say why the hotline is closed (callers' work orders and the audit show it)",
            code="missing",
            field="reason",
        )
    return json(
        await request.app[HOURS].set_switch(
            request[ACCOUNT], hotline, body["closed"], reason
        )
    )


@routes.get("/api/hours/{hotline}/history")
@operation("Who closed or reopened the hotline, when, why", returns=obj({"history": array(SWITCH)}, closed=True))
async def history(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "see the service hours")
    return json({"history": await request.app[HOURS].history(_hotline(request))})
