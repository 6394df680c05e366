"""The aiohttp application factory: API, websocket push and the static agent panel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ctiserver.agents.accounts import Accounts
from ctiserver.agents.routes import routes as agent_routes
from ctiserver.agents.service import AgentService
from ctiserver.calls.commands import CallCommands
from ctiserver.calls.conference import Conferences
from ctiserver.calls.consult import Consults
from ctiserver.calls.ivr_routes import routes as ivr_routes
from ctiserver.calls.recording import Recorder
from ctiserver.calls.routes import routes as call_routes
from ctiserver.config import Config
from ctiserver.marquee.routes import routes as marquee_routes
from ctiserver.marquee.service import MarqueeService
from ctiserver.metrics.collector import Metrics
from ctiserver.metrics.routes import routes as metrics_routes
from ctiserver.push.hub import PushHub
from ctiserver.push.link import LinkStatus
from ctiserver.push.snapshot import Snapshots
from ctiserver.stats.routes import routes as stats_routes
from ctiserver.stats.service import StatsService
from ctiserver.supervision.routes import routes as supervision_routes
from ctiserver.supervision.service import Supervision
from ctiserver.wallboard.routes import routes as wallboard_routes
from ctiserver.wallboard.service import Wallboard
from ctiserver.web import keys
from ctiserver.web.keys import HUB, SESSIONS, SOCKETS, THROTTLE
from ctiserver.web.middleware import auth_middleware, error_middleware, security_headers
from ctiserver.web.routes import routes
from ctiserver.web.sessions import SessionSigner
from ctiserver.web.throttle import LoginThrottle
from ctiserver.web.ws import websocket
from ctiserver.workorders.routes import routes as workorder_routes
from ctiserver.workorders.service import WorkOrderQueries

#: The panel's files in a source checkout (agent_web/ beside ctiserver/).
DEFAULT_STATIC_DIR = Path(__file__).resolve().parents[2] / "agent_web"


@dataclass(frozen=True)
class WebServices:
    """The services the routes reach, each under its own typed key."""

    config: Config
    hub: PushHub
    accounts: Accounts
    agents: AgentService
    calls: CallCommands
    consults: Consults
    conferences: Conferences
    recordings: Recorder
    workorders: WorkOrderQueries
    marquee: MarqueeService
    stats: StatsService
    link: LinkStatus
    snapshots: Snapshots
    supervision: Supervision
    store: Any
    metrics: Metrics
    wallboard: Wallboard
    workorder_actions: Any = None  # ctiserver.workorders.actions.WorkOrderActions


def create_app(services: WebServices, static_dir: Path | str | None = None) -> web.Application:
    """Build the web application around the server's services (see ctiserver/app.py)."""
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=64 * 1024)
    app[keys.CONFIG] = services.config
    app[keys.HUB] = services.hub
    app[keys.ACCOUNTS] = services.accounts
    app[keys.AGENTS] = services.agents
    app[keys.CALLS] = services.calls
    app[keys.CONSULTS] = services.consults
    app[keys.CONFERENCES] = services.conferences
    app[keys.RECORDINGS] = services.recordings
    app[keys.WORKORDERS] = services.workorders
    app[keys.MARQUEE] = services.marquee
    app[keys.STATS] = services.stats
    app[keys.LINK] = services.link
    app[keys.SNAPSHOTS] = services.snapshots
    app[keys.SUPERVISION] = services.supervision
    app[keys.STORE_READER] = services.store
    app[keys.METRICS] = services.metrics
    if services.workorder_actions is not None:
        app[keys.WORKORDER_ACTIONS] = services.workorder_actions
    app[keys.WALLBOARD] = services.wallboard
    http = services.config.http
    app[SESSIONS] = SessionSigner(http.session_secret, http.session_hours)
    app[THROTTLE] = LoginThrottle()
    app[SOCKETS] = {}
    for table in (routes, agent_routes, workorder_routes, marquee_routes, stats_routes, call_routes, ivr_routes,
                  supervision_routes, wallboard_routes):
        app.add_routes(table)
    if services.config.http.metrics:
        app.add_routes(metrics_routes)
    app.router.add_get("/ws", websocket)

    static = Path(static_dir) if static_dir is not None else DEFAULT_STATIC_DIR
    index = static / "index.html"

    async def panel(request: web.Request) -> web.FileResponse:
        """The panel page: public, it shows the sign-in form until a session exists."""
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", panel)
    app.router.add_static("/static/", static, follow_symlinks=False, append_version=False)
    app.on_response_prepare.append(security_headers)
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    # Open websockets would otherwise hold shutdown until aiohttp's timeout.
    await app[HUB].close_all()
