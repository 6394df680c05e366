"""IVR API: the menu's nodes, where "back to the IVR" may send a caller.

``GET /api/ivr/nodes`` (any signed-in account; the auth middleware checks the session)
answers ``{"menu", "start", "nodes": [{"name", "label", "type"}]}`` in the menu file's
order. The panel asks once after signing in and offers these nodes; a menu the server
cannot read answers 200 with no nodes (the IVR may run elsewhere with its own menu), and
the panel then takes a typed node name.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from ctiserver.web.keys import CONFIG
from ctiserver.web.openapi import STR, array, nullable, obj, operation
from ivr.menu import Menu, Node, load_menu

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()


def node_json(node: Node) -> dict[str, str]:
    """One node for the panel: its name, a label for people and what kind of node it is.

    A menu file has no title per node and its prompts are sound file names ("beep"), so the
    label is the node's name; the panel adds what the type does ("Queue · 人工队列").
    """
    return {"name": node.name, "label": node.name, "type": node.type}


def menu_json(menu: Menu) -> dict[str, Any]:
    """The menu as the panel's IVR picker needs it."""
    return {"menu": menu.name, "start": menu.start, "nodes": [node_json(n) for n in menu.nodes.values()]}


NODE = obj({"name": STR, "label": STR, "type": STR}, closed=True)
MENU = obj({"menu": nullable(STR), "start": nullable(STR), "nodes": array(NODE)}, closed=True)


@routes.get("/api/ivr/nodes")
@operation(returns=MENU)
async def ivr_nodes(request: web.Request) -> web.Response:
    """The IVR menu's nodes; none (still 200) when the menu file cannot be read."""
    source = request.app[CONFIG].ivr.menu_file or None
    try:
        body = menu_json(load_menu(source))
    except (ValueError, OSError) as exc:  # MenuError is a ValueError, as is a file that is not UTF-8
        log.warning("ivr_menu_unreadable", menu_file=source, error=str(exc))
        body = {"menu": None, "start": None, "nodes": []}
    return web.json_response(body)
