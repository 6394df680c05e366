"""Typed application keys shared by the web modules."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.web.sessions import SessionSigner
from ctiserver.web.throttle import LoginThrottle

CORE = web.AppKey("core", Any)
SESSIONS = web.AppKey("sessions", SessionSigner)
THROTTLE = web.AppKey("login_throttle", LoginThrottle)
# Open websockets by session token, so that logging out closes that session's sockets too.
SOCKETS = web.AppKey("session_sockets", dict)

# The signed-in account, set by the auth middleware (RequestKey exists from aiohttp 3.12).
ACCOUNT: Any = web.RequestKey("account", Any) if hasattr(web, "RequestKey") else "account"
