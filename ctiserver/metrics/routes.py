"""``GET /metrics``: Prometheus text format, no session (aggregates only: no caller, no agent name).

Off with ``http.metrics = false`` where the panel's port is reachable by people who should
not see the center's load; scrape it from the operator's network.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from ctiserver.web.keys import METRICS
from ctiserver.web.openapi import operation

routes = web.RouteTableDef()


@routes.get("/metrics")
@operation("The server's metrics for Prometheus", produces="text/plain")
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
