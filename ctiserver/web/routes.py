"""HTTP API handlers: validate, call the core, answer JSON. No business rules here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import structlog
from aiohttp import web

from ctiserver import errors
from ctiserver.push.hub import encode as _dumps  # same encoding as the push (datetimes, enums)
from ctiserver.web import validate as v
from ctiserver.web.keys import ACCOUNT, CORE, SESSIONS, SOCKETS, THROTTLE
from ctiserver.web.middleware import SESSION_COOKIE, error_response, session_token
from ctiserver.web.ws import CLOSE_TAKEN_OVER, close_session_sockets, live_sockets_of

log = structlog.get_logger(__name__)

SUPERVISORS = frozenset({"supervisor", "admin"})
AGENT_ID = r"[A-Za-z0-9_.-]+"
CALLER = r"[A-Za-z0-9+*#_.-]+"
DISPOSITIONS = ("answered", "abandoned", "no_agent")
STATES = ("ready", "not_ready", "logged_out")
QUEUE = r"[A-Za-z0-9_-]{1,40}"
MAX_QUEUES = 10
MAX_TTL = 7 * 24 * 3600
ADDRESS_FAILURES = 30  # from one address, across logins (a shared office NAT has many agents)

routes = web.RouteTableDef()


def role_of(account: Any) -> str:
    """The account's role as a plain string (it may be an enum)."""
    return str(getattr(account.role, "value", account.role))


def account_json(account: Any) -> dict[str, Any]:
    """What the browser learns about an account (never the password hash)."""
    return {"id": str(account.id), "login": account.login, "name": account.name, "role": role_of(account)}


def _require_supervisor(account: Any, what: str) -> None:
    if role_of(account) not in SUPERVISORS:
        raise errors.Forbidden(f"only supervisors may {what}")


async def _body(request: web.Request, fields: dict[str, v.Field]) -> dict[str, Any]:
    # A cross-site form can only send form or text content types without a CORS
    # preflight; requiring JSON makes every state-changing POST CSRF-safe.
    v.json_content_type(request.content_type)
    raw = await request.content.read(v.MAX_BODY_BYTES + 1)
    return v.check_fields(v.parse_json_object(raw), fields)


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    """Check login and password; set the signed session cookie.

    ``other_sessions`` counts the account's panels open elsewhere (live websockets):
    the panel then offers to take over. ``take_over: true`` ends those sessions
    (their sockets close with 4002); queue membership is not touched either way.
    """
    body = await _body(request, {"login": v.Field(str), "password": v.Field(str),
                                 "take_over": v.Field(bool, required=False)})
    login_name = v.text(body["login"], "login", max_len=64)
    password = body["password"]
    if not password or len(password) > 256:
        raise errors.InvalidInput("password must be 1 to 256 characters", field="password")
    throttle = request.app[THROTTLE]
    keys = (f"login:{login_name}", f"addr:{request.remote}")
    wait = max(throttle.retry_after(keys[0]), throttle.retry_after(keys[1], ADDRESS_FAILURES))
    if wait > 0:
        response = error_response(429, "too_many_attempts",
                                  f"too many wrong passwords; try again in {int(wait) + 1} seconds", field="login")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    try:
        account = await request.app[CORE].authenticate(login_name, password)
    except errors.Unauthenticated:
        for key in keys:
            throttle.failed(key)
        log.info("login_failed", login=login_name, remote=request.remote)
        raise
    throttle.succeeded(keys[0])
    signer = request.app[SESSIONS]
    if body.get("take_over"):
        taken = await close_account_sessions(request.app, str(account.id))
        log.info("login_took_over", agent=str(account.id), remote=request.remote, closed=taken)
    others = len(live_sockets_of(request.app, str(account.id)))
    log.info("login", agent=str(account.id), remote=request.remote, other_sessions=others)
    response = web.json_response({"me": account_json(account), "other_sessions": others})
    response.set_cookie(SESSION_COOKIE, signer.issue(str(account.id)), max_age=signer.lifetime,
                        path="/", httponly=True, samesite="Strict", secure=request.secure)
    return response


async def close_account_sessions(app: web.Application, agent_id: str) -> int:
    """End every session of this account that has a panel open: revoke, close with 4002."""
    signer = app[SESSIONS]
    closed = 0
    for token in [t for t in app[SOCKETS] if signer.verify(t) == agent_id]:
        signer.revoke(token)
        closed += await close_session_sockets(app, token, CLOSE_TAKEN_OVER, "signed in elsewhere")
    return closed


@routes.post("/api/logout")
async def logout(request: web.Request) -> web.Response:
    """Revoke the session and clear the cookie (succeeds even without a session)."""
    token = session_token(request)
    request.app[SESSIONS].revoke(token)
    await close_session_sockets(request.app, token)
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get("/api/health")
async def health(request: web.Request) -> web.Response:
    """Link health of Asterisk and PostgreSQL; 503 while either is down."""
    status = request.app[CORE].link_status()
    body = {name: ("up" if status.get(name) else "down") for name in ("ami", "db")}
    return web.json_response(body, status=200 if all(status.get(n) for n in ("ami", "db")) else 503)


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    """The signed-in account."""
    return web.json_response({"me": account_json(request[ACCOUNT])})


@routes.post("/api/agent/state")
async def change_state(request: web.Request) -> web.Response:
    """Ask Asterisk to sign in / ready / not ready / sign out; 202 once it accepted.

    ``queues`` (optional, when signing in) picks some of the agent's queues; without
    it the agent's profile queues are used.
    """
    account = request[ACCOUNT]
    body = await _body(request, {"state": v.Field(str), "reason": v.Field(str, required=False),
                                 "agent": v.Field(str, required=False), "queues": v.Field(list, required=False)})
    state = v.choice(body["state"], "state", STATES)
    reason = v.text(body["reason"], "reason", max_len=64) if body.get("reason") is not None else None
    target = str(account.id)
    if body.get("agent") is not None:  # a supervisor forcing another agent's state
        target = v.token(body["agent"], "agent", pattern=AGENT_ID, max_len=32, what="an agent id")
        if target != str(account.id):
            _require_supervisor(account, "change another agent's state")
    core = request.app[CORE]
    extra: dict[str, Any] = {}
    if body.get("queues") is not None:
        agent = core.account(target)
        allowed = set(getattr(agent, "queues", None) or ()) | set(core.config.callcenter.queues)
        extra["queues"] = queue_list(body["queues"], allowed)
    await core.agents.change_state(target, state, reason, by=account, **extra)
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
async def agents(request: web.Request) -> web.Response:
    """Every agent's live view (supervisors and admins only)."""
    _require_supervisor(request[ACCOUNT], "see all agents")
    return web.json_response({"agents": request.app[CORE].agents.views()}, dumps=_dumps)


@routes.get("/api/agents/available")
async def available_agents(request: web.Request) -> web.Response:
    """The other agents a call could go to now (state ready), by id: the panel's transfer / consult picker."""
    me = str(request[ACCOUNT].id)
    ready = [{"id": a["id"], "name": a["name"], "queues": a["queues"]} for a in request.app[CORE].agents.views()
             if a["state"] == "ready" and str(a["id"]) != me]
    return web.json_response({"agents": sorted(ready, key=lambda a: str(a["id"]))}, dumps=_dumps)


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
    items = await request.app[CORE].workorders.list(**kwargs)
    return web.json_response({"workorders": items, "limit": kwargs["limit"], "offset": kwargs["offset"]},
                             dumps=_dumps)


@routes.get("/api/workorders/{id}")
async def get_workorder(request: web.Request) -> web.Response:
    """One work order by numeric id or reference."""
    account = request[ACCOUNT]
    ident = v.token(request.match_info["id"], "id", pattern=r"[A-Za-z0-9_-]+", max_len=40,
                    what="a work order id or reference")
    item = await request.app[CORE].workorders.get(int(ident) if ident.isdigit() else ident)
    owner = item.get("agent_id", item.get("agent"))
    if role_of(account) not in SUPERVISORS and owner is not None and str(owner) != str(account.id):
        raise errors.Forbidden("this work order belongs to another agent")
    return web.json_response({"workorder": item}, dumps=_dumps)


@routes.get("/api/marquee")
async def get_marquee(request: web.Request) -> web.Response:
    """The marquee items now showing."""
    return web.json_response({"items": request.app[CORE].marquee.active()}, dumps=_dumps)


@routes.post("/api/marquee")
async def post_marquee(request: web.Request) -> web.Response:
    """Publish a marquee line (supervisors and admins), with an optional expiry."""
    account = request[ACCOUNT]
    _require_supervisor(account, "post to the marquee")
    body = await _body(request, {"text": v.Field(str), "expires_at": v.Field(str, required=False),
                                 "ttl_seconds": v.Field(int, required=False)})
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
    item = await request.app[CORE].marquee.post(text, by=account, expires_at=expires_at)
    return web.json_response(item, status=201, dumps=_dumps)
