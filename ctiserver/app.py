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

from ctiserver.ami.client import AmiClient
from ctiserver.calls.recording import recordings_dir
from ctiserver.config import Config
from ctiserver.core import Core
from ctiserver.push.hub import PushHub
from ctiserver.store import Store, StoreUnavailable
from ctiserver.web import create_app

log = structlog.get_logger(__name__)

ROOT = Path(__file__).resolve().parents[1]
ASTERISK_CONF = ROOT / "asterisk_conf"
PG_SH = ROOT / "scripts" / "pg.sh"


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

    def __init__(self, config: Config, *, demo_traffic: bool = True, seed: bool | None = None) -> None:
        self.config = config
        self.demo = not config.ami.host
        self.seed = self.demo if seed is None else seed
        self.demo_traffic = demo_traffic and self.demo and config.demo.rate > 0
        self.store: Any = None
        self.core: Core | None = None
        self.ami: AmiClient | None = None
        self.ivr: Any = None
        self.sim: Any = None
        self.hub = PushHub()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self.url = ""

    async def start(self) -> None:
        cfg = self.config
        dsn = cfg.db.dsn or await asyncio.to_thread(local_database)
        self.store = await Store.open(dsn, journal_path=cfg.db.journal_path or None, pool_size=cfg.db.pool_size)
        await self.store.migrate()
        if self.seed:
            await self.store.seed_demo()
        self.core = core = Core(cfg, self.store, self.hub)
        await core.load()
        self._tasks.append(asyncio.create_task(core.run(), name="core"))

        if cfg.ivr.enabled or self.demo:
            from ivr.agi import IvrServer

            self.ivr = IvrServer(store=self.store, host=cfg.ivr.host, port=cfg.ivr.port,
                                 menu=cfg.ivr.menu_file or None)
            await self.ivr.start()

        ami_cfg = cfg.ami
        if self.demo:
            ami_cfg = await self._start_sim()
        self.ami = AmiClient(ami_cfg, core.sink)
        core.attach_ami(self.ami)
        await self.ami.start()  # AmiAuthError propagates: a wrong secret is fatal

        app = create_app(core)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.http.host, cfg.http.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{cfg.http.host}:{port}/"
        if self.demo:
            self._tasks.append(asyncio.create_task(self._demo_agents(), name="demo-agents"))
        log.info("started", url=self.url, demo=self.demo, ami=f"{ami_cfg.host}:{ami_cfg.port}")

    async def _start_sim(self) -> Any:
        from pbxsim.sim import PbxSim, SimConfig

        cfg = self.config
        self.sim = PbxSim(SimConfig(conf_dir=str(ASTERISK_CONF), ami_host="127.0.0.1", ami_port=cfg.demo.ami_port,
                                    username=cfg.ami.username, secret=cfg.ami.secret, timestamp_events=True,
                                    time_scale=cfg.demo.time_scale, agi_host=cfg.ivr.host, agi_port=self.ivr.port,
                                    monitor_dir=str(recordings_dir(cfg))))  # issue 4: recordings  # the IVR always runs in demo mode
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
                await core.agents.change_state(account.id, "ready", None, by=account)
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
            await step("core", self.core.close(), 1.0)
        if self.ivr is not None:
            await step("ivr", self.ivr.stop(), 1.0)
        if self.sim is not None:
            await step("simulator", self.sim.stop(), 1.0)
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
