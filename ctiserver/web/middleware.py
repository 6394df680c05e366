"""Error mapping, session check and security headers for every request.

Domain errors (ctiserver.errors) become JSON with a status chosen here only:
the domain never speaks HTTP.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import structlog
from aiohttp import web

from ctiserver import errors
from ctiserver.web.keys import ACCOUNT, ACCOUNTS, CONNECT_SOURCES, SESSIONS

log = structlog.get_logger(__name__)

SESSION_COOKIE = "cti_session"

STATUS = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unavailable: 503,
}

# Codes whose HTTP status is more precise than their class's.
STATUS_BY_CODE = {"unsupported_media_type": 415, "body_too_large": 413}

# Reachable without a session: the sign-in itself, sign-out, the health probe and the API's document.
PUBLIC_API = frozenset({"/api/login", "/api/logout", "/api/health", "/api/openapi.json"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    """The one JSON error shape: {"error": {"code", "message", "field"?}}."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


def _status_for(exc: errors.CtiError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/ws"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn domain errors and unexpected exceptions into the JSON error shape."""
    try:
        return await handler(request)
    except errors.CtiError as exc:
        status = _status_for(exc)
        if status == 500:
            log.error("http_unmapped_domain_error", path=request.path, error=repr(exc))
            return error_response(500, "internal_error", "internal server error")
        return error_response(status, exc.code, exc.message, exc.field)
    except web.HTTPException as exc:
        if not _is_api(request) or exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason)
    except Exception:
        log.exception("http_unhandled_error", method=request.method, path=request.path)
        return error_response(500, "internal_error", "internal server error")


def session_token(request: web.Request) -> str | None:
    """The session cookie's value, if any."""
    return request.cookies.get(SESSION_COOKIE)


def current_account(request: web.Request) -> Any | None:
    """The account behind the request's session cookie, or None."""
    agent_id = request.app[SESSIONS].verify(session_token(request))
    if agent_id is None:
        return None
    return request.app[ACCOUNTS].get(agent_id)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Everything under /api (but the public few) and /ws needs a valid session."""
    if _is_api(request) and request.path not in PUBLIC_API:
        account = current_account(request)
        if account is None:
            raise errors.Unauthenticated("sign in first (no valid session)")
        request[ACCOUNT] = account
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers that keep the panel from being framed, sniffed or fed foreign scripts."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if not _is_api(request):
        response.headers.setdefault("X-Frame-Options", "DENY")
        sources = request.app.get(CONNECT_SOURCES)
        connect = " ".join(["'self'", *(sources(request) if sources else ())])
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; connect-src {connect}; img-src 'self' data:; frame-ancestors 'none'")
    elif isinstance(response, web.Response):
        response.headers.setdefault("Cache-Control", "no-store")
