"""Agent API: state changes (sign in, ready, busy, sign out; forced by supervisors), the live grid, the picker."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver import errors
from ctiserver.agents.book import AgentBook
from ctiserver.web import validate as v
from ctiserver.web.common import AGENT_ID, dumps, read_body, require_supervisor
from ctiserver.web.keys import ACCOUNT, ACCOUNTS, AGENTS, CONFIG
from ctiserver.web.openapi import STR, array, enum, obj, operation

STATES = ("ready", "not_ready", "logged_out")
QUEUE = r"[A-Za-z0-9_-]{1,40}"
MAX_QUEUES = 10

routes = web.RouteTableDef()


@routes.post("/api/agent/state")
@operation(
    body={"state": v.Field(str), "reason": v.Field(str, required=False), "agent": v.Field(str, required=False), "queues": v.Field(list, required=False)},
    ok=202,
    returns=obj({"accepted": enum(True)}, closed=True),
)
async def change_state(request: web.Request) -> web.Response:
    """Ask Asterisk to sign in / ready / not ready / sign out; 202 once it accepted.

    ``queues`` (optional, when signing in) picks some of the agent's queues; without
    it the agent's profile queues are used.
    """
    account = request[ACCOUNT]
    body = await read_body(request)
    state = v.choice(body["state"], "state", STATES)
    reason = v.text(body["reason"], "reason", max_len=64) if body.get("reason") is not None else None
    target = str(account.id)
    if body.get("agent") is not None:  # a supervisor forcing another agent's state
        target = v.token(body["agent"], "agent", pattern=AGENT_ID, max_len=32, what="an agent id")
        if target != str(account.id):
            require_supervisor(account, "change another agent's state")
    extra: dict[str, Any] = {}
    if body.get("queues") is not None:
        agent = request.app[ACCOUNTS].get(target)
        allowed = set(getattr(agent, "queues", None) or ()) | set(request.app[CONFIG].callcenter.queues)
        extra["queues"] = queue_list(body["queues"], allowed)
    await request.app[AGENTS].change_state(target, state, reason, by=account, **extra)
    return web.json_response({"accepted": True}, status=202)


def queue_list(value: list, allowed: set[str]) -> list[str]:
    """1 to 10 queue names, each one the agent may sign in to; duplicates are dropped."""
    if not 1 <= len(value) <= MAX_QUEUES:
        raise errors.InvalidInput(f"queues must list 1 to {MAX_QUEUES} queue names (got {len(value)})",
                                  field="queues")
    out: list[str] = []
    for item in value:
        name = v.token(item, "queues", pattern=QUEUE, max_len=40,
                       what="queue names (letters, digits, _ and -, at most 40)")
        if name not in allowed:
            raise errors.InvalidInput(f"unknown queue {name!r} (this agent's queues: {', '.join(sorted(allowed))})",
                                      field="queues")
        if name not in out:
            out.append(name)
    return out


@routes.get("/api/agents")
@operation(returns=obj({"agents": array(AgentBook.VIEW)}, closed=True))
async def agents(request: web.Request) -> web.Response:
    """Every agent's live view (supervisors and admins only)."""
    require_supervisor(request[ACCOUNT], "see all agents")
    return web.json_response({"agents": request.app[AGENTS].views()}, dumps=dumps)


@routes.get("/api/agents/available")
@operation(returns=obj({"agents": array(obj({"id": STR, "name": STR, "queues": array(STR)}, closed=True))},
                       closed=True))
async def available_agents(request: web.Request) -> web.Response:
    """The other agents a call could go to now (state ready), by id: the panel's transfer / consult picker."""
    me = str(request[ACCOUNT].id)
    ready = [{"id": a["id"], "name": a["name"], "queues": a["queues"]} for a in request.app[AGENTS].views()
             if a["state"] == "ready" and str(a["id"]) != me]
    return web.json_response({"agents": sorted(ready, key=lambda a: str(a["id"]))}, dumps=dumps)
