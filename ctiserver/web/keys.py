"""Typed application keys: one per service the routes use (no service locator)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.agents.accounts import Accounts
from ctiserver.agents.service import AgentService
from ctiserver.calls.commands import CallCommands
from ctiserver.calls.conference import Conferences
from ctiserver.calls.consult import Consults
from ctiserver.calls.recording import Recorder
from ctiserver.complaints.service import ComplaintWatch
from ctiserver.config import Config
from ctiserver.customers.records import CustomerRecords
from ctiserver.marquee.service import MarqueeService
from ctiserver.metrics.collector import Metrics
from ctiserver.push.hub import PushHub
from ctiserver.push.link import LinkStatus
from ctiserver.push.snapshot import Snapshots
from ctiserver.reports.service import Reports
from ctiserver.stats.service import StatsService
from ctiserver.supervision.service import Supervision
from ctiserver.wallboard.service import Wallboard
from ctiserver.web.sessions import SessionSigner
from ctiserver.web.throttle import LoginThrottle
from ctiserver.workorders.actions import WorkOrderActions
from ctiserver.workorders.service import WorkOrderQueries

CONFIG = web.AppKey("config", Config)
# Origins beyond 'self' the panel's pages may connect to, given the request (the browser phone's
# websocket to Asterisk): added to the Content-Security-Policy's connect-src.
CONNECT_SOURCES: Any = web.AppKey("connect_sources", object)
HUB = web.AppKey("hub", PushHub)
ACCOUNTS = web.AppKey("accounts", Accounts)
AGENTS = web.AppKey("agents", AgentService)
CALLS = web.AppKey("calls", CallCommands)
CONSULTS = web.AppKey("consults", Consults)
CONFERENCES = web.AppKey("conferences", Conferences)
RECORDINGS = web.AppKey("recordings", Recorder)
WORKORDERS = web.AppKey("workorders", WorkOrderQueries)
WORKORDER_ACTIONS = web.AppKey("workorder_actions", WorkOrderActions)
MARQUEE = web.AppKey("marquee", MarqueeService)
STATS = web.AppKey("stats", StatsService)
LINK = web.AppKey("link", LinkStatus)
SNAPSHOTS = web.AppKey("snapshots", Snapshots)
SUPERVISION = web.AppKey("supervision", Supervision)
METRICS = web.AppKey("metrics", Metrics)
WALLBOARD = web.AppKey("wallboard", Wallboard)
COMPLAINTS = web.AppKey("complaints", ComplaintWatch)
REPORTS = web.AppKey("reports", Reports)
CUSTOMERS = web.AppKey("customers", CustomerRecords)
# Read-only queries of the store that no service wraps (the supervision audit)
STORE_READER = web.AppKey("store_reader", Any)
SESSIONS = web.AppKey("sessions", SessionSigner)
THROTTLE = web.AppKey("login_throttle", LoginThrottle)
# Open websockets by session token, so that logging out closes that session's sockets too.
SOCKETS = web.AppKey("session_sockets", dict)

# The signed-in account, set by the auth middleware (RequestKey exists from aiohttp 3.12).
ACCOUNT: Any = web.RequestKey("account", Any) if hasattr(web, "RequestKey") else "account"
