"""The aiohttp application factory: API, websocket push and the static agent panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from ctiserver.web.keys import CORE, SESSIONS, SOCKETS, THROTTLE
from ctiserver.web.middleware import auth_middleware, error_middleware, security_headers
from ctiserver.web.call_routes import routes as call_routes
from ctiserver.web.ivr_routes import routes as ivr_routes
from ctiserver.web.recording_routes import routes as recording_routes
from ctiserver.web.routes import routes
from ctiserver.web.stats_routes import routes as stats_routes
from ctiserver.web.sessions import SessionSigner
from ctiserver.web.throttle import LoginThrottle
from ctiserver.web.ws import websocket

#: The panel's files in a source checkout (agent_web/ beside ctiserver/).
DEFAULT_STATIC_DIR = Path(__file__).resolve().parents[2] / "agent_web"


def create_app(core: Any, static_dir: Path | str | None = None) -> web.Application:
    """Build the web application around a core (see ctiserver/core.py)."""
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=64 * 1024)
    app[CORE] = core
    http = core.config.http
    app[SESSIONS] = SessionSigner(http.session_secret, http.session_hours)
    app[THROTTLE] = LoginThrottle()
    app[SOCKETS] = {}
    app.add_routes(routes)
    app.add_routes(stats_routes)
    app.add_routes(call_routes)
    app.add_routes(recording_routes)
    app.add_routes(ivr_routes)
    app.router.add_get("/ws", websocket)

    static = Path(static_dir) if static_dir is not None else DEFAULT_STATIC_DIR
    index = static / "index.html"

    async def panel(request: web.Request) -> web.FileResponse:
        """The panel page: public, it shows the sign-in form until a session exists."""
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", panel)
    app.router.add_static("/static/", static, follow_symlinks=False, append_version=False)
    if (static / "wallboard.html").exists():
        async def wallboard(request: web.Request) -> web.FileResponse:
            """The wall display page."""
            return web.FileResponse(static / "wallboard.html", headers={"Cache-Control": "no-cache"})

        app.router.add_get("/wallboard", wallboard)
    app.on_response_prepare.append(security_headers)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    # Open websockets would otherwise hold shutdown until aiohttp's timeout.
    await app[CORE].hub.close_all()
