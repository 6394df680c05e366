"""Supervision API (supervisors and admins; 403 for agents, nothing sent to Asterisk).

``GET /api/supervision``: the monitoring sessions now. ``POST /api/supervision/monitor``
``{"linkedid", "mode": "listen"|"whisper"|"barge"}``: the supervisor's phone rings, then the
session is live (pushed as ``supervision``). ``POST /api/supervision/mode`` ``{"mode"}``,
``POST /api/supervision/stop`` ``{}``, ``POST /api/supervision/intercept`` ``{"linkedid"}``.
``GET /api/supervision/audit?date=YYYY-MM-DD``: every supervision step of that day.
Wrong state 409 with a code, bad input 400 naming the field, Asterisk away 503.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from aiohttp import web

from ctiserver.supervision.model import Session
from ctiserver.web import validate as v
from ctiserver.web.common import json, query, read_body, require_supervisor
from ctiserver.web.keys import ACCOUNT, STORE_READER, SUPERVISION
from ctiserver.web.openapi import (
    ANY_OBJ,
    DATE,
    INT,
    STR,
    TIME,
    array,
    enum,
    nullable,
    obj,
    operation,
)

AUDIT_KINDS = ("monitor_requested", "monitor_started", "monitor_mode", "monitor_ended", "monitor_failed",
               "intercept", "intercept_failed", "intercept_confirmed")

routes = web.RouteTableDef()

# One supervision step (a work order's history entry): data says who, which mode, why it ended.
AUDIT_ENTRY = obj({"id": INT, "kind": enum(*AUDIT_KINDS), "at": TIME, "data": ANY_OBJ, "linkedid": STR,
                   "ref": nullable(STR)}, closed=True)
AUDIT = obj({"date": DATE, "entries": array(AUDIT_ENTRY)}, closed=True)


@routes.get("/api/supervision")
@operation("The monitoring sessions now", returns=obj({"sessions": array(Session.VIEW)}, closed=True))
async def sessions(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "see the monitoring sessions")
    return json({"sessions": request.app[SUPERVISION].views()})


@routes.post("/api/supervision/monitor")
@operation("Monitor a call (listen, whisper or barge): the supervisor's phone rings first", body={"linkedid": v.Field(str), "mode": v.Field(str)}, ok=202,
           returns=Session.VIEW)
async def monitor(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "monitor calls")  # before the body: an agent learns nothing more
    body = await read_body(request)
    return json(await request.app[SUPERVISION].start(request[ACCOUNT], body["linkedid"], body["mode"]), 202)


@routes.post("/api/supervision/mode")
@operation("Switch the monitoring mode without ringing again", body={"mode": v.Field(str)}, ok=202, returns=Session.VIEW)
async def mode(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "monitor calls")
    body = await read_body(request)
    return json(await request.app[SUPERVISION].switch(request[ACCOUNT], body["mode"]), 202)


@routes.post("/api/supervision/stop")
@operation("Stop monitoring", body={}, ok=202, returns=Session.VIEW)
async def stop(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "monitor calls")
    await read_body(request)
    return json(await request.app[SUPERVISION].stop(request[ACCOUNT]), 202)


@routes.post("/api/supervision/intercept")
@operation("Take the caller over from the agent", body={"linkedid": v.Field(str)}, ok=202, returns=Session.VIEW)
async def intercept(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "intercept calls")
    body = await read_body(request)
    return json(await request.app[SUPERVISION].intercept(request[ACCOUNT], body["linkedid"]), 202)


@routes.get("/api/supervision/audit")
@operation(query=("date",), returns=AUDIT)
async def audit(request: web.Request) -> web.Response:
    """Who monitored or intercepted which call, in which mode, when (from the work orders' history)."""
    require_supervisor(request[ACCOUNT], "read the supervision log")
    q = query(request)
    day = v.iso_date(q["date"], "date") if "date" in q else datetime.now(UTC).date()
    start = datetime.combine(day, dtime(0), UTC)
    entries = await request.app[STORE_READER].events_of_kinds(AUDIT_KINDS, start, start + timedelta(days=1))
    return json({"date": day.isoformat(), "entries": entries})
