"""Callbacks API.

``GET /api/callbacks`` (supervisors and admins): the pending callbacks per queue in line order
(``place``), the ones being made now, the last closed ones. ``POST /api/callbacks/{id}/cancel``
``{}``: a supervisor takes a pending one off the list (409 ``callback_ringing`` while it is being
made, ``no_callback`` when it is not open). Agents get 403. The same list is pushed to supervisors
as a ``notice`` of kind ``callbacks`` on every change; the agent rung for one gets a ``notice`` of
kind ``callback`` (the pop, marked callback).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.callbacks.model import CALLBACK
from ctiserver.web.common import json, read_body, require_supervisor
from ctiserver.web.keys import ACCOUNT
from ctiserver.web.openapi import INT, STR, array, obj, operation

CALLBACKS = web.AppKey("callbacks", Any)

routes = web.RouteTableDef()

# CallbackService.per_queue(): a callback in a line carries its place in it (0 once being made).
IN_LINE = obj(CALLBACK["properties"] | {"place": INT}, closed=True)
PER_QUEUE = obj(
    {"queues": array(obj({"queue": STR, "pending": array(IN_LINE), "ringing": array(IN_LINE), "count": INT},
                         closed=True)),
     "recent": array(CALLBACK)},
    closed=True,
)


@routes.get("/api/callbacks")
@operation(returns=PER_QUEUE)
async def pending(request: web.Request) -> web.Response:
    """The pending callbacks per queue in line order, the ones being made, the last closed ones."""
    require_supervisor(request[ACCOUNT], "see the callbacks")
    return json(request.app[CALLBACKS].per_queue())


@routes.post("/api/callbacks/{id}/cancel")
@operation("Take a pending callback off the list", body={}, returns=CALLBACK)
async def cancel(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "cancel callbacks")
    await read_body(request, {})
    return json(
        request.app[CALLBACKS].cancel(request[ACCOUNT], request.match_info["id"])
    )
