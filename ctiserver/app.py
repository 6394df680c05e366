"""Composition root: builds the store, core, IVR, AMI link and web server and runs them.

Nothing else wires components together. In demo mode (no ``ami.host`` configured) the
built-in PBX simulator is started in-process on a free loopback port with the project's
``asterisk_conf/``, the demo agents 1002 and 1003 are signed in, and simulated callers
arrive at ``demo.rate`` per minute, so a newcomer sees calls flowing in the panel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from ctiserver import security
from ctiserver.admin import plugin as admin_plugin
from ctiserver.agents.accounts import Accounts
from ctiserver.agents.book import AgentBook
from ctiserver.agents.notifier import AgentStateNotifier
from ctiserver.agents.signins import Signins
from ctiserver.agents.wrapup import GatedAgentService, WrapupDue, Wrapups
from ctiserver.ami.client import AmiClient
from ctiserver.ami.gateway import AmiGateway
from ctiserver.calls.commands import CallCommands
from ctiserver.calls.conference import Conferences
from ctiserver.calls.consult import Consults
from ctiserver.calls.desk import CallDesk
from ctiserver.calls.log import CallLog, Directory
from ctiserver.calls.notifier import CallNotifier
from ctiserver.calls.reactions import CallReactions
from ctiserver.calls.recording import Recorder, recordings_dir
from ctiserver.calls.tracker import CallTracker
from ctiserver.callbacks import plugin as callbacks_plugin
from ctiserver.complaints.routes import routes as complaint_routes
from ctiserver.complaints.service import ComplaintWatch
from ctiserver.config import Config
from ctiserver.core import Core, Subscribers
from ctiserver.customers.access import CallerAccess
from ctiserver.customers.lookup import CustomerLookup
from ctiserver.customers.records import CustomerRecords
from ctiserver.customers.routes import routes as customer_routes
from ctiserver.hours import plugin as hours_plugin
from ctiserver.marquee.service import MarqueeService
from ctiserver.metrics.collector import Metrics
from ctiserver.push.hub import ALL, PushHub
from ctiserver.push.link import LinkStatus
from ctiserver.push.snapshot import Snapshots
from ctiserver.reports.routes import routes as report_routes
from ctiserver.reports.service import Reports
from ctiserver.selfservice.steps import IvrSteps
from ctiserver.sipaccounts import plugin as sip_plugin
from ctiserver.stats.service import StatsService
from ctiserver.survey.callbacks import LowRatingCallbacks
from ctiserver.survey.service import Surveys
from ctiserver.voicemail import plugin as voicemail_plugin
from ctiserver.store import Store, StoreUnavailable
from ctiserver.supervision.alerts import Alerts, thresholds_from
from ctiserver.supervision.service import Supervision
from ctiserver.wallboard.service import Wallboard
from ctiserver.web import keys as web_keys
from ctiserver.web.app import WebServices, create_app
from ctiserver.web.tls import TlsError
from ctiserver.web.tls import server_context as tls_context
from ctiserver.webphone import plugin as webphone_plugin
from ctiserver.workorders import settings as workorder_settings
from ctiserver.workorders.actions import WorkOrderActions
from ctiserver.workorders.projection import WorkOrderRecorder
from ctiserver.workorders.service import WorkOrderQueries
from ctiserver.workorders.today import TodayLists
from ctiserver.workorders.writeups import WrapupChecks

log = structlog.get_logger(__name__)

ROOT = Path(__file__).resolve().parents[1]
ASTERISK_CONF = ROOT / "asterisk_conf"
PG_SH = ROOT / "scripts" / "pg.sh"


def _ivr_nodes(config: Config) -> frozenset[str]:
    """The IVR menu's node names (where 'back to the IVR' may send a caller); empty if unreadable."""
    try:
        from ivr.menu import load_menu

        return frozenset(load_menu(config.ivr.menu_file or None).nodes)
    except Exception as exc:  # the IVR may run elsewhere with its own menu: accept any well-formed node
        log.warning("ivr_menu_unreadable", error=str(exc))
        return frozenset()


class StartupError(Exception):
    """A start-up failure the user can fix; its message is one clear line."""


def local_database() -> str:
    """Start (or find) the project's own PostgreSQL under .run/pg and return its DSN."""
    try:
        out = subprocess.run(["bash", str(PG_SH), "start"], check=True, capture_output=True, text=True, timeout=180)
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise StartupError(f"could not start the local PostgreSQL: {last[0]}") from None
    dsn = out.stdout.strip().splitlines()[-1]
    log.info("local_postgres", dsn=dsn)
    return dsn


class App:
    """The whole server: ``await start()``, then ``await stop()``."""

    def __init__(self, config: Config, *, demo_traffic: bool = True, seed: bool | None = None,
                 refuse_demo_secrets: bool = False) -> None:
        self.config = config
        self.refuse_demo_secrets = refuse_demo_secrets  # production: SIP accounts with a demo secret stop the start
        self.demo = not config.ami.host
        self.seed = self.demo if seed is None else seed
        self.demo_traffic = demo_traffic and self.demo and config.demo.rate > 0
        self.store: Any = None
        self.core: Core | None = None
        self.ami: AmiClient | None = None
        self.ivr: Any = None
        self.sim: Any = None
        self._dsn: str | None = None  # the database the server (and the demo simulator) use
        self.hub = PushHub(linger=config.http.push_linger)
        self.gateway = AmiGateway()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self.url = ""

    def _build(self, store: Any) -> Core:
        """Every service, wired through constructors; each capability subscribes to the events it needs."""
        cfg, cc, hub, gateway = self.config, self.config.callcenter, self.hub, self.gateway
        book = self.book = AgentBook(wrapup_for=cc.wrapup_for)
        tracker = CallTracker(book.is_agent_endpoint)
        subs = Subscribers()
        core = Core(tracker, book, subs, gateway.run)
        directory = Directory(book)
        workorders = WorkOrderRecorder(store, directory.agent_of)
        self.customers = customers = CustomerLookup(store, recent=cc.recent_workorders,
                                                    is_live=tracker.calls.__contains__, run=gateway.run,
                                                    record=workorders.on_call_event)
        notifier = CallNotifier(hub, directory, customers.info.get, tracker.room_call, cc.hold_warning_seconds)
        customers.on_found = notifier.customer_found
        desk = CallDesk(tracker, book, gateway, workorders.on_call_event, notifier, cc.queues)
        self.calls = CallCommands(desk, _ivr_nodes(cfg))
        self.consults = Consults(desk)
        self.conferences = Conferences(desk)
        reactions = CallReactions(desk, self.conferences)
        self.today = today = TodayLists(hub, directory.agent_of)
        wrapups = Wrapups(book, gateway, core.sink, core.agent_changes)
        signins = Signins(book, store, gateway, wrapups.end_pause)
        self.recordings = Recorder(cfg, workorders.on_call_event, WorkOrderQueries(store))
        self.link = link = LinkStatus(hub, lambda: core.ami_up, lambda: bool(getattr(store, "healthy", True)))
        self.marquee = MarqueeService(store, lambda items: hub.publish("marquee", {"items": items}, ALL))
        self.accounts = Accounts(store, book)
        self.workorder_actions = WorkOrderActions(store, workorder_settings.build(cfg.workorders),
                                                  known_account=self.accounts.get, hub=hub,
                                                  agent_of=directory.agent_of, ops_of=workorders.ops_of)
        writeups = WrapupChecks(self.workorder_actions, directory.agent_of)  # the wrap-up gate's work-order side
        wrapups.expired = writeups.expired
        self.agents = GatedAgentService(book, gateway, cc.busy_reasons, cc.queues, missing=writeups.missing)

        sv = cfg.supervision
        self.supervision = Supervision(tracker, book, gateway, workorders.on_call_event, hub,
                                       show_agent_modes=sv.show_agent_modes, ring_seconds=sv.ring_seconds,
                                       take_over=tracker.intend_takeover)
        self.alerts = Alerts(tracker.calls.values, book, hub, thresholds_from(sv, cc.hold_warning_seconds),
                             check_seconds=sv.alert_check_seconds)
        self.callbacks = callbacks_plugin.build(cfg, tracker, book, gateway, store, workorders.on_call_event, hub,
                                                subs, self.workorder_actions)  # callbacks keeping the place in line

        self.metrics = Metrics(tracker, book, ami_up=lambda: core.ami_up, journal_depth=lambda: store.pending,
                               websockets=hub.connections)
        if hasattr(store, "observe_writes"):
            store.observe_writes(self.metrics.on_db_batch)

        subs.names += [self.metrics.on_raw_event]
        subs.ami += [self.recordings, self.supervision]
        ivr_steps = IvrSteps(store)  # what the IVR's nodes did (UserEvent CtiStep) on the work order
        subs.ami += [ivr_steps]
        subs.calls += [ivr_steps]
        self.surveys = self._surveys(workorders.on_call_event, directory.agent_of)
        subs.ami += [self.surveys]
        subs.calls += [self.surveys]
        subs.owners += [self.supervision.owns]
        subs.calls += [workorders, customers, reactions, notifier, today, self.supervision, self.metrics,
                       CallLog(directory), self.workorder_actions, writeups]
        subs.agents += [AgentStateNotifier(book, store, hub), wrapups]
        subs.calls += [self.alerts]  # supervisors' alerts: a call's own end or retrieve clears its alert at once
        subs.agents += [self.alerts]
        subs.members += [signins.changed]
        subs.items[WrapupDue] = wrapups.due
        subs.after_resync += [signins.restore, self.supervision.reconcile]
        subs.link += [link.changed]
        store.on_health = link.changed
        core.followups = lambda: list(gateway.tasks)
        self.stats = StatsService(store, service_level_seconds=cc.service_level_seconds, queues=cc.queues)
        self.wallboard = Wallboard(tracker, book, self.stats, store, hub, self.marquee.active, cfg.wallboard,
                                   cc.queues)
        self.snapshots = Snapshots(book, tracker, notifier, self.marquee, link, today, cfg)
        self.snapshots.extras.append(self.callbacks.snapshot)
        self.snapshots.extras.append(self.surveys.snapshot)  # which survey rating the figure card counts low
        self.snapshots.extras += [self.supervision.snapshot, self.alerts.snapshot]
        self._closers = [wrapups.close, self.marquee.close]
        self._closers.append(self.callbacks.close)
        # Complaint early warning follows the work-order changes people make; reports; customer records.
        self.complaints = ComplaintWatch(store, hub, categories=self.workorder_actions.settings.categories,
                                         queues=cc.queues, timezone=cfg.workorders.timezone)
        self.workorder_actions.hub = self.complaints.observing(hub)
        self.snapshots.extras.append(self.complaints.snapshot)
        self._closers.append(self.complaints.close)
        self.reports = Reports(store, timezone=cfg.workorders.timezone)
        self.hours = hours_plugin.build(cfg, store, hub)
        customers.call_of = tracker.calls.get
        caller_access = CallerAccess(store, book, pop_of=customers.info.get, call_of=tracker.calls.get,
                                     agent_of=directory.agent_of,
                                     departments_of=self.workorder_actions.settings.departments_of)
        subs.calls += [caller_access]  # which customer each agent may read: the caller of their call
        self.customer_records = CustomerRecords(store, access=caller_access, refresh_pop=customers.refresh)
        self.voicemails = voicemail_plugin.build(cfg, store, hub, subs, self.snapshots)  # messages left in the IVR
        self.admin = admin_plugin.build(cfg, store, self.accounts, self.agents, subs)  # people, queues, busy reasons
        self.sip_accounts = sip_plugin.build(store, self.admin)  # each agent's SIP account for Asterisk realtime
        self.web_phones = webphone_plugin.build(cfg, store, self.admin, self.sip_accounts)  # the panel's browser phone
        return core

    def _add_web(self, webapp: web.Application) -> web.Application:
        """The capabilities whose routes live in their own package beside the web layer's."""
        webapp[web_keys.COMPLAINTS] = self.complaints
        webapp[web_keys.REPORTS] = self.reports
        webapp[web_keys.CUSTOMERS] = self.customer_records
        hours_plugin.add_web(webapp, self.hours)  # service hours and the closed-now switch
        for table in (complaint_routes, report_routes, customer_routes):
            webapp.add_routes(table)
        voicemail_plugin.add_web(webapp, self.voicemails)
        admin_plugin.add_web(webapp, self.admin)
        sip_plugin.add_web(webapp, self.sip_accounts)
        webphone_plugin.add_web(webapp, self.web_phones)
        return webapp

    def _surveys(self, record: Any, agent_of: Any) -> Surveys:
        """Post-call survey ratings on the work order; a low one opens a callback work order."""
        sc = self.config.survey
        category, _, sub = sc.callback_category.partition("=")
        callbacks = LowRatingCallbacks(self.workorder_actions, category=category, subcategory=sub or None,
                                       department=sc.callback_department or None)
        return Surveys(record, agent_of, low_rating=sc.low_rating, on_low=callbacks, run=self.gateway.run)

    def web_services(self) -> WebServices:
        return WebServices(config=self.config, hub=self.hub, accounts=self.accounts, agents=self.agents,
                           calls=self.calls, consults=self.consults, conferences=self.conferences,
                           recordings=self.recordings, workorders=WorkOrderQueries(self.store),
                           marquee=self.marquee, link=self.link, snapshots=self.snapshots,
                           supervision=self.supervision, store=self.store, metrics=self.metrics,
                           stats=self.stats, wallboard=self.wallboard,
                           workorder_actions=self.workorder_actions)

    async def start(self) -> None:
        cfg = self.config
        tls = self._tls_context()  # a certificate that cannot be used fails before anything starts
        dsn = cfg.db.dsn or await asyncio.to_thread(local_database)
        self.store = await Store.open(dsn, journal_path=cfg.db.journal_path or None, pool_size=cfg.db.pool_size)
        self._dsn = dsn  # the simulator reads the SIP accounts' endpoints there (ps_endpoints)
        await self.store.migrate()
        if self.refuse_demo_secrets:
            await security.refuse_demo_sip_accounts(self.store)  # DemoSecrets: one line, exit 2
        if self.seed:
            await self.store.seed_demo()
        self.core = core = self._build(self.store)
        await admin_plugin.start(self.admin)  # who is disabled, before the accounts are read
        await self.accounts.load()
        await self.callbacks.load()
        await self.marquee.load()
        await self.today.load(self.store)
        self._tasks.append(asyncio.create_task(core.run(), name="core"))
        self._tasks.append(asyncio.create_task(self.metrics.sample_lag(), name="loop-lag"))
        self._tasks.append(asyncio.create_task(self.wallboard.run(), name="wallboard"))
        self._tasks.append(asyncio.create_task(self.alerts.run(), name="alerts"))
        scan = self.workorder_actions.watch_overdue(cfg.workorders.overdue_scan_seconds)
        self._tasks.append(asyncio.create_task(scan, name="overdue-scan"))
        if self.demo_traffic:  # the demo's callers complain: something to watch
            await self.complaints.seed_demo()
        await self.complaints.load()
        watch = self.complaints.watch(cfg.workorders.complaint_check_seconds)
        self._tasks.append(asyncio.create_task(watch, name="complaint-watch"))
        self._tasks.append(await voicemail_plugin.start(self.voicemails))

        if cfg.ivr.enabled or self.demo:
            from ivr.agi import IvrServer
            from ivr.policy import LinePolicy

            self.ivr = IvrServer(store=self.store, host=cfg.ivr.host, port=cfg.ivr.port,
                                 menu=cfg.ivr.menu_file or None, policy=LinePolicy.from_config(cfg, self.store))
            await self.ivr.start()

        ami_cfg = cfg.ami
        if self.demo:
            ami_cfg = await self._start_sim()
        self.ami = AmiClient(ami_cfg, core.sink)
        core.ami = self.gateway.link = self.ami
        await self.ami.start()  # AmiAuthError propagates: a wrong secret is fatal

        self._runner = web.AppRunner(self._add_web(callbacks_plugin.add_web(create_app(self.web_services()), self.callbacks)), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.http.host, cfg.http.port, ssl_context=tls)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"{'https' if tls else 'http'}://{cfg.http.host}:{port}/"
        if self.demo:
            self._tasks.append(asyncio.create_task(self._demo_agents(), name="demo-agents"))
        log.info("started", url=self.url, demo=self.demo, ami=f"{ami_cfg.host}:{ami_cfg.port}")

    def _tls_context(self) -> Any:
        """https and wss when http.tls_cert is set (ctiserver/web/tls.py), else None (plain http)."""
        http = self.config.http
        if not http.tls_cert:
            return None
        try:
            return tls_context(http.tls_cert, http.tls_key)
        except TlsError as exc:
            raise StartupError(str(exc)) from None

    async def _start_sim(self) -> Any:
        from pbxsim.sim import PbxSim, SimConfig

        cfg = self.config
        self.sim = PbxSim(SimConfig(conf_dir=str(ASTERISK_CONF), ami_host="127.0.0.1", ami_port=cfg.demo.ami_port,
                                    username=cfg.ami.username, secret=cfg.ami.secret, timestamp_events=True,
                                    time_scale=cfg.demo.time_scale, agi_host=cfg.ivr.host, agi_port=self.ivr.port,
                                    monitor_dir=str(recordings_dir(cfg)),
                                    voicemail_dir=str(voicemail_plugin.spool_dir(cfg)),  # the IVR always runs in demo mode
                                    realtime_dsn=self._dsn))  # phones the admin adds are dialable at once
        await self.sim.start()
        if self.demo_traffic:
            from pbxsim.demo import DemoTraffic

            self._demo = DemoTraffic(self.sim, rate_per_minute=cfg.demo.rate)
            self._demo.start()
        return dataclasses.replace(cfg.ami, host="127.0.0.1", port=self.sim.ami_port)

    async def _demo_agents(self) -> None:
        """Sign the demo agents in once the link is up, so demo calls are answered."""
        core = self.core
        assert core is not None
        await core.link_ready.wait()
        for login in self.config.demo.agents:
            account = next((a for a in core.book.by_id.values() if a.login == login), None)
            if account is None:
                continue
            try:
                await self.agents.change_state(account.id, "ready", None, by=account)
            except Exception as exc:  # a demo nicety: never fatal
                log.warning("demo_agent_signin_failed", agent=account.id, error=str(exc))

    async def stop(self) -> None:
        """Stop everything within ``server.stop_timeout`` seconds, whatever state it is in.

        Each part gets a bounded share of the time, the store (which flushes to PostgreSQL)
        what is left; a part that does not finish in time is abandoned and named in the log,
        and records not yet in PostgreSQL stay in the journal for the next start.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.server.stop_timeout
        late: list[str] = []

        async def step(name: str, action: Any, share: float) -> None:
            limit = max(0.05, min(share, deadline - loop.time() - 0.5))
            if not await stop_within(action, limit):
                late.append(name)
                log.warning("stop_step_late", step=name, seconds=round(limit, 2))

        if self._runner is not None:
            await step("http", self._runner.cleanup(), 2.0)
        if getattr(self, "_demo", None) is not None:
            await step("demo_traffic", self._demo.stop(), 1.0)
        if self.ami is not None:
            await step("ami", self.ami.close(), 2.5)
        for task in self._tasks:
            await step(task.get_name(), cancel_and_wait(task), 1.0)
        if self.core is not None:
            for close in self._closers:
                close()
            await step("follow-ups", self.gateway.close(), 1.0)
        if self.ivr is not None:
            await step("ivr", self.ivr.stop(), 1.0)
        if self.sim is not None:
            await step("simulator", self.sim.stop(), 1.0)
        if self.core is not None:  # callbacks' last changes, before the store closes
            await step("callbacks", self.callbacks.repo.close(), 1.0)
        if self.store is not None:
            remaining = deadline - loop.time()
            await step("store", self.store.close(timeout=max(0.1, remaining - 1.0)), remaining)
        log.info("stopped", late=late or None)


async def cancel_and_wait(task: asyncio.Task) -> None:
    """Cancel ``task`` and wait for it, cancelling again while it runs on (one cancellation
    can be lost when it lands just as an awaited future completes)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)


async def stop_within(action: Any, seconds: float) -> bool:
    """Run a stop coroutine for at most ``seconds``; True when it finished (errors are logged)."""
    task = asyncio.ensure_future(action)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        return False
    if not task.cancelled() and task.exception() is not None:
        log.warning("stop_step_failed", error=repr(task.exception()))
    return True


__all__ = ["App", "StartupError", "StoreUnavailable", "local_database"]
