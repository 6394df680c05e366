"""The wall display: its page, its figures (supervisors), and its push socket.

``GET /wallboard`` is the page (no data in it). ``GET /wallboard/ws`` streams ``queue_stats``
(and the marquee) to a supervisor's session or to a display holding the read-only token
(``wallboard.token``, given as ``?token=``): that connection sees nothing else, no caller, no
call, no agent's name. ``GET /api/wallboard``: the figures now (supervisors).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ctiserver import errors
from ctiserver.wallboard.service import WALL_FIGURES
from ctiserver.web.common import json, require_supervisor
from ctiserver.web.keys import ACCOUNT, CONFIG, HUB, WALLBOARD
from ctiserver.web.middleware import current_account
from ctiserver.web.openapi import operation
from ctiserver.web.ws import serve_socket

routes = web.RouteTableDef()
PAGE = Path(__file__).resolve().parents[2] / "agent_web" / "wallboard.html"


@dataclass(frozen=True)
class Display:
    """The wall display's connection: a role that only the wall's pushes address."""

    id: str = "wall-display"
    role: str = "display"


@routes.get("/api/wallboard")
@operation("The wall display's figures now (supervisors)", returns=WALL_FIGURES)
async def figures(request: web.Request) -> web.Response:
    require_supervisor(request[ACCOUNT], "see the wallboard's figures")
    return json(request.app[WALLBOARD].compute())


@routes.get("/wallboard")
async def page(request: web.Request) -> web.FileResponse:
    """The page: public, it shows nothing until its socket is let in."""
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-cache"})


@routes.get("/wallboard/ws")
async def socket(request: web.Request) -> web.WebSocketResponse:
    wall = request.app[WALLBOARD]
    token = request.app[CONFIG].wallboard.token
    given = request.query.get("token", "")
    account = current_account(request)
    if account is not None and account.is_supervisor:
        user = account
    elif token and given and hmac.compare_digest(given.encode(), token.encode()):
        user = Display()
    else:
        raise errors.Unauthenticated("the wall display needs a supervisor's session or its token")
    return await serve_socket(request, request.app[HUB], user, lambda: {"wall": wall.compute()})
