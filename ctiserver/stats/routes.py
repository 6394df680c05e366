"""Statistics API: an agent's own day, every agent's and every queue's day for supervisors."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from aiohttp import web

from ctiserver import errors
from ctiserver.stats.service import AGENTS_DAY, QUEUES_DAY
from ctiserver.web import validate as v
from ctiserver.web.common import AGENT_ID, SUPERVISORS, dumps, query, role_of
from ctiserver.web.keys import ACCOUNT, STATS
from ctiserver.web.openapi import operation

routes = web.RouteTableDef()


def _day(q: dict[str, str]) -> date:
    """?date=YYYY-MM-DD, today (UTC) when absent."""
    return v.iso_date(q["date"], "date") if "date" in q else datetime.now(timezone.utc).date()


@routes.get("/api/stats/agents")
@operation(query=("date", "agent"), returns=AGENTS_DAY)
async def agent_stats(request: web.Request) -> web.Response:
    """Per-agent figures of a day; an agent gets only its own, supervisors anyone's."""
    account = request[ACCOUNT]
    q = query(request)
    day = _day(q)
    agent = v.token(q["agent"], "agent", pattern=AGENT_ID, max_len=32, what="an agent id") if "agent" in q else None
    if role_of(account) not in SUPERVISORS:
        if agent not in (None, str(account.id)):
            raise errors.Forbidden("agents may only see their own figures", field="agent")
        agent = str(account.id)
    body: dict[str, Any] = await request.app[STATS].agents(day, agent)
    return web.json_response(body, dumps=dumps)


@routes.get("/api/stats/queues")
@operation(query=("date",), returns=QUEUES_DAY)
async def queue_stats(request: web.Request) -> web.Response:
    """Per-queue figures of a day (supervisors and admins only)."""
    if role_of(request[ACCOUNT]) not in SUPERVISORS:
        raise errors.Forbidden("only supervisors may see queue figures")
    q = query(request)
    body = await request.app[STATS].queues_day(_day(q))
    return web.json_response(body, dumps=dumps)
