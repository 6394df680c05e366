"""Sessions: log in (throttled), log out, who am I, link health. Resources have their routes in their packages."""

from __future__ import annotations

import structlog
from aiohttp import web

from ctiserver import errors
from ctiserver.web import validate as v
from ctiserver.web.common import ACCOUNT_JSON, account_json, read_body
from ctiserver.web.keys import ACCOUNT, ACCOUNTS, LINK, SESSIONS, SOCKETS, THROTTLE
from ctiserver.web.middleware import (
    PUBLIC_API,
    SESSION_COOKIE,
    error_response,
    session_token,
)
from ctiserver.web.openapi import (
    ANY_OBJ,
    INT,
    document,
    enum,
    mapping,
    obj,
    operation,
)
from ctiserver.web.ws import CLOSE_TAKEN_OVER, close_session_sockets, live_sockets_of

log = structlog.get_logger(__name__)

ADDRESS_FAILURES = 30  # from one address, across logins (a shared office NAT has many agents)

routes = web.RouteTableDef()

OK = obj({"ok": enum(True)}, closed=True)
_LINK = enum("up", "down")
HEALTH = obj({"ami": _LINK, "db": _LINK}, closed=True)


@routes.get("/api/openapi.json")
@operation(
    "The OpenAPI document of this API (made from the routes the server serves)",
    returns=obj({"openapi": enum("3.1.0"), "info": ANY_OBJ, "paths": mapping(ANY_OBJ), "components": ANY_OBJ}),
)
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(document(request.app, public=PUBLIC_API))


@routes.post("/api/login")
@operation(
    body={"login": v.Field(str), "password": v.Field(str), "take_over": v.Field(bool, required=False)},
    returns=obj({"me": ACCOUNT_JSON, "other_sessions": INT}, closed=True),
)
async def login(request: web.Request) -> web.Response:
    """Check login and password; set the signed session cookie.

    ``other_sessions`` counts the account's panels open elsewhere (live websockets):
    the panel then offers to take over. ``take_over: true`` ends those sessions
    (their sockets close with 4002); queue membership is not touched either way.
    """
    body = await read_body(request)
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
        account = await request.app[ACCOUNTS].authenticate(login_name, password)
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
@operation(returns=OK)
async def logout(request: web.Request) -> web.Response:
    """Revoke the session and clear the cookie (succeeds even without a session)."""
    token = session_token(request)
    request.app[SESSIONS].revoke(token)
    await close_session_sockets(request.app, token)
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get("/api/health")
@operation(returns=HEALTH, also={503: HEALTH})
async def health(request: web.Request) -> web.Response:
    """Link health of Asterisk and PostgreSQL; 503 while either is down."""
    status = request.app[LINK].status()
    body = {name: ("up" if status.get(name) else "down") for name in ("ami", "db")}
    return web.json_response(body, status=200 if all(status.get(n) for n in ("ami", "db")) else 503)


@routes.get("/api/me")
@operation(returns=obj({"me": ACCOUNT_JSON}, closed=True))
async def me(request: web.Request) -> web.Response:
    """The signed-in account."""
    return web.json_response({"me": account_json(request[ACCOUNT])})
