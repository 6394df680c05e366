"""The scale benchmark (`make bench`): 2,000 signed-in agents, recorded real calls at a chosen rate.

Each run starts, each in its own process: the load source (bench/trace_load.py: a real AMI
server replaying trace-02 calls with fresh ids at ``--rates`` calls per second for
``--seconds``), the CTI server (``python -m ctiserver`` against it, PostgreSQL from
scripts/pg.sh with a fresh bench database), and a bare panoramisk 1.4 client reading the
same stream *unfiltered* (the baseline). The bench provisions ``--agents`` agents
(PJSIP/2000...) and signs every one in through the API (a supervisor forcing them ready:
QueueAdd, confirmed by QueueMemberAdded), opens the panel websocket of ``--ws-agents`` of
them (spread evenly, so they are rung in turn) and a supervisor's, then starts the calls.

Measured, per run, between the start of the calls and the moment both readers have
every event the source sent them:

  * events: per call and per second to the server (after ``eventfilter``, if on) and to the
    baseline (everything Asterisk emits for the call);
  * CPU per call of the server (everything: state, pops, supervisor updates, work orders in
    PostgreSQL) and of the bare baseline reading the unfiltered events, and their ratio
    (the issue's goal: <= 1.5). Both in the same run: other load on the machine moves both;
  * pop latency: rung agent's websocket receiving ``call_ringing`` minus the emission time
    the source stamped on AgentCalled (``Timestamp``), p50/p95/p99 (goal p99 <= 50 ms);
  * events lost (sent by the source minus received: the server's ``cti_ami_events_total``,
    the baseline's count) and work orders in PostgreSQL for the calls placed (lost, duplicated).

``--filter on`` gives the server's AMI user asterisk_conf/manager.conf's eventfilter lines
(Asterisk sends only the events the server reads), ``off`` the same user without them,
``both`` runs each rate twice. ``--profile DIR`` records the server with py-spy during the
calls and prints its hot spots.

    .venv/bin/python bench/scale.py --rates 25,50,100 --seconds 60 --filter both
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pop_latency import cpu_seconds, fresh_dsn, pct
from ctiserver.push.hub import messages_of
from tests.support.wholestream import without_eventfilters

MANAGER_CONF = ROOT / "asterisk_conf" / "manager.conf"
SUPERVISOR = "1900"  # the demo data's supervisor (password = login)

BARE = r"""
import asyncio, json, signal, sys
from panoramisk import Manager
async def main(port):
    count = 0
    def on_event(manager, msg):
        nonlocal count
        count += 1
    m = Manager(host="127.0.0.1", port=port, username="baseline", secret="baseline", ping_delay=60,
                loop=asyncio.get_running_loop())
    m.register_event("*", on_event)
    await m.connect()
    print(json.dumps({"ready": True}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: print(json.dumps({"events": count}), flush=True))
    await stop.wait()
    print(json.dumps({"events": count}), flush=True)
    m.close()
asyncio.run(main(int(sys.argv[1])))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


@dataclass
class Result:
    filtered: bool
    rate: float
    seconds: float
    calls: int = 0
    ev_call_server: float = 0.0
    ev_call_base: float = 0.0
    ev_s_server: float = 0.0
    cpu_call_server: float = 0.0
    cpu_call_base: float = 0.0
    pops: list[float] = field(default_factory=list)
    pops_expected: int = 0
    lost_server: int = 0
    lost_base: int = 0
    wo_found: int = 0
    wo_dup: int = 0
    wo_answered: int = 0
    supervisor_msgs: int = 0
    supervisor_frames: int = 0
    wall: float = 0.0
    source_late_p99: float = 0.0
    server_cpu_share: float = 0.0
    base_cpu_share: float = 0.0
    drained: bool = True
    relogins: int = 0
    hotspots: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.cpu_call_server / self.cpu_call_base if self.cpu_call_base else float("nan")


class Control:
    """An AMI session of the load source's ``control`` user: start the calls, read its counters."""

    def __init__(self) -> None:
        self.r: asyncio.StreamReader | None = None
        self.w: asyncio.StreamWriter | None = None
        self.n = 0

    async def open(self, port: int) -> None:
        self.r, self.w = await asyncio.open_connection("127.0.0.1", port)
        await self.r.readline()
        await self.act("Login", Username="control", Secret="control", Events="off")

    async def act(self, action: str, **fields: str) -> dict[str, str]:
        assert self.r is not None and self.w is not None
        self.n += 1
        aid = f"c{self.n}"
        self.w.write((f"Action: {action}\r\nActionID: {aid}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
                      + "\r\n").encode())
        while True:
            block = (await self.r.readuntil(b"\r\n\r\n")).decode()
            head = dict(ln.split(": ", 1) for ln in block.strip().split("\r\n") if ": " in ln)
            if head.get("ActionID") == aid:
                return head

    async def stats(self) -> dict:
        return json.loads((await self.act("LoadStats"))["Message"])

    def close(self) -> None:
        if self.w is not None:
            self.w.close()


async def spawn(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*args, cwd=cwd, env={**os.environ, **(env or {})},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                limit=1 << 20)


async def wait_line(stream: asyncio.StreamReader, needle: str, timeout: float = 120) -> str:
    async def scan() -> str:
        while line := await stream.readline():
            text = line.decode("utf-8", "replace")
            if needle in text:
                return text
        raise RuntimeError(f"process ended before {needle!r}")
    return await asyncio.wait_for(scan(), timeout)


async def drain(stream: asyncio.StreamReader, keep: list[str] | None = None, path: Path | None = None) -> None:
    out = open(path, "ab") if path is not None else None  # noqa: SIM115, ASYNC230 - a log file, appended line by line
    try:
        while line := await stream.readline():
            if out is not None:
                out.write(line)
            if keep is not None and len(keep) < 200:
                keep.append(line.decode("utf-8", "replace"))
    finally:
        if out is not None:
            out.close()


async def server_events(http: aiohttp.ClientSession, base: str, server: asyncio.subprocess.Process) -> int:
    if server.returncode is not None:
        raise RuntimeError(f"the server exited (code {server.returncode}) during the run")
    async with http.get(base + "/metrics") as r:
        text = await r.text()
    return int(sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln.startswith("cti_ami_events_total{")))


class Panels:
    """The websockets: ``sample`` rung agents (their pops) and one supervisor (every update)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pops: dict[tuple[str, str], float] = {}
        self.supervisor_msgs = 0
        self.supervisor_frames = 0
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        self.opened = 0

    async def _login(self, http: aiohttp.ClientSession, login: str, password: str) -> str:
        async with http.post(self.base + "/api/login", json={"login": login, "password": password}) as r:
            r.raise_for_status()
            return r.cookies["cti_session"].value

    async def agent(self, login: str, ready: asyncio.Semaphore) -> None:
        interface = f"PJSIP/{login}"
        async with aiohttp.ClientSession() as http:
            async with ready:
                cookie = await self._login(http, login, "bench")
            async with websockets.connect(self.base.replace("http", "ws") + "/ws", max_size=None,
                                          additional_headers={"Cookie": f"cti_session={cookie}"}) as ws:
                self.opened += 1
                while not self.stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    now = time.time()
                    if '"call_ringing"' in raw:
                        for msg in messages_of(raw):  # a frame holds one message or an array of them
                            if msg.get("type") == "call_ringing":
                                self.pops.setdefault((msg["data"]["linkedid"], interface), now)

    async def supervisor(self) -> None:
        async with aiohttp.ClientSession() as http:
            cookie = await self._login(http, SUPERVISOR, SUPERVISOR)
            async with websockets.connect(self.base.replace("http", "ws") + "/ws", max_size=None,
                                          additional_headers={"Cookie": f"cti_session={cookie}"}) as ws:
                self.opened += 1
                while not self.stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    self.supervisor_frames += 1
                    self.supervisor_msgs += len(messages_of(raw))

    async def open(self, logins: list[str]) -> None:
        gate = asyncio.Semaphore(10)
        self.tasks = [asyncio.create_task(self.supervisor())] + [
            asyncio.create_task(self.agent(a, gate)) for a in logins]
        deadline = time.time() + 120
        while self.opened < len(self.tasks):
            failed = [t for t in self.tasks if t.done() and t.exception() is not None]
            if failed:
                raise RuntimeError(f"a panel could not connect: {failed[0].exception()!r}")
            if time.time() > deadline:
                raise RuntimeError(f"only {self.opened}/{len(self.tasks)} panels connected")
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def sign_in(base: str, ids: list[str]) -> int:
    refused = 0
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(base + "/api/login", json={"login": SUPERVISOR, "password": SUPERVISOR}) as r:
            r.raise_for_status()
        sem = asyncio.Semaphore(20)

        async def one(agent: str) -> None:
            nonlocal refused
            async with sem, http.post(base + "/api/agent/state", json={"agent": agent, "state": "ready"}) as r:
                if r.status >= 400:
                    refused += 1
        await asyncio.gather(*(one(a) for a in ids))
    return refused


async def work_orders(dsn: str, linkedids: list[str], expected: int, timeout: float = 90) -> tuple[int, int, int]:
    """(distinct calls with a work order, duplicated rows, answered) once the count stops moving."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        last, since = -1, time.time()
        deadline = time.time() + timeout
        while True:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, count(DISTINCT linkedid) AS d, "
                "count(*) FILTER (WHERE disposition = 'answered') AS a FROM work_orders WHERE linkedid = ANY($1)",
                linkedids)
            n, d, a = row["n"], row["d"], row["a"]
            if (d >= expected and a >= expected) or time.time() > deadline:
                return d, n - d, a
            if (n, a) != last:
                last, since = (n, a), time.time()
            elif time.time() - since > 15:
                return d, n - d, a
            await asyncio.sleep(1.0)
    finally:
        await conn.close()


def hotspots(raw: Path, top: int = 18) -> list[str]:
    """py-spy's collapsed stacks -> where the server's busy time goes: by function, self and inclusive.

    Line numbers are dropped (a function is one row); samples waiting in the selector are idle.
    """
    own, incl = Counter(), Counter()
    total = idle = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        if frames[-1].startswith(("EpollSelector.select", "select (")):
            idle += count
            continue
        own[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    busy = max(total - idle, 1)
    out = [f"{total} samples, {idle / max(total, 1):.0%} idle in the selector; share of the busy ones, self:"]
    out += [f"  {c / busy:6.1%}  {f}" for f, c in own.most_common(top)]
    out.append("inclusive (functions of ctiserver, the store driver, aiohttp, structlog):")
    keep = [(f, c) for f, c in incl.most_common()
            if any(k in f for k in ("ctiserver/", "asyncpg", "aiohttp", "structlog")) and "__main__" not in f]
    out += [f"  {c / busy:6.1%}  {f}" for f, c in keep[:top]]
    return out


async def one_run(ns: argparse.Namespace, rate: float, filtered: bool, dsn: str) -> Result:
    """One measured run; whatever happens, its processes are stopped and its panels closed."""
    procs: list[asyncio.subprocess.Process] = []
    hold: dict[str, Panels] = {}
    try:
        return await _one_run(ns, rate, filtered, dsn, procs, hold)
    finally:
        if "panels" in hold:
            await hold["panels"].close()
        for p in procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                await asyncio.wait_for(p.wait(), 20)
            except TimeoutError:
                p.kill()
                await p.wait()


async def _one_run(ns: argparse.Namespace, rate: float, filtered: bool, dsn: str,
                   procs: list[asyncio.subprocess.Process], hold: dict[str, Panels]) -> Result:
    res = Result(filtered, rate, ns.seconds)
    tmp = Path(tempfile.mkdtemp(prefix="cti-scale-"))
    manager = tmp / "manager.conf"
    text = MANAGER_CONF.read_text(encoding="utf-8")
    manager.write_text(text if filtered else without_eventfilters(text), encoding="utf-8")
    called = tmp / "called.txt"
    ami_port, http_port, ivr_port = free_port(), free_port(), free_port()
    source = await spawn(sys.executable, str(ROOT / "bench" / "trace_load.py"), "serve", "--port", str(ami_port),
                         "--rate", str(rate), "--seconds", str(ns.seconds), "--speed", str(ns.speed),
                         "--manager-conf", str(manager), "--called-log", str(called))
    procs.append(source)
    await wait_line(source.stdout, "trace_load: AMI on")
    server_root = Path(ns.server_root)
    server_err: list[str] = []
    server = await spawn(sys.executable, "-m", "ctiserver", cwd=server_root, env={
        "PYTHONPATH": str(server_root), "CTI_AMI_HOST": "127.0.0.1", "CTI_AMI_PORT": str(ami_port), "CTI_SERVER_MODE": "lab",
        "CTI_DB_DSN": dsn, "CTI_HTTP_PORT": str(http_port), "CTI_IVR_PORT": str(ivr_port),
        "CTI_LOG_LEVEL": "warning", "CTI_LOG_FORMAT": "json", "CTI_DB_POOL_SIZE": "10",
        "CTI_CALLCENTER_WRAPUP_SECONDS": str(ns.wrapup), "CTI_DB_JOURNAL_PATH": str(tmp / "journal.jsonl")})
    procs.append(server)
    await wait_line(server.stderr, "Agent panel:")
    drains = [asyncio.create_task(drain(source.stderr)), asyncio.create_task(drain(server.stdout, None, tmp / "server.out")),
              asyncio.create_task(drain(server.stderr, server_err, tmp / "server.log"))]
    log(f"server log: {tmp / 'server.log'}")
    base = f"http://127.0.0.1:{http_port}"
    bare = await spawn(sys.executable, "-c", BARE, str(ami_port))
    procs.append(bare)
    await wait_line(bare.stdout, '"ready"')
    ctl = Control()
    await ctl.open(ami_port)
    ids = [str(2000 + i) for i in range(ns.agents)]
    t = time.time()
    refused = await sign_in(base, ids)
    log(f"{ns.agents} agents signed in in {time.time() - t:.1f} s ({refused} refused)")
    step = max(1, ns.agents // max(1, ns.ws_agents))
    sampled = ids[::step][:ns.ws_agents]
    panels = hold["panels"] = Panels(base)
    await panels.open(sampled)
    log(f"{len(sampled)} agent panels and a supervisor's open; {'with' if filtered else 'without'} eventfilter, "
        f"{rate:g} calls/s for {ns.seconds:g} s")
    profiler = None
    async with aiohttp.ClientSession() as http:
        async def counts() -> tuple[int, int]:
            bare.send_signal(signal.SIGUSR1)
            return await server_events(http, base, server), json.loads(await wait_line(bare.stdout, '"events"'))["events"]

        # nothing flows before the calls: wait until both readers have what the sign-ins caused
        last, still = await counts(), 0
        while still < 3:
            await asyncio.sleep(0.5)
            now = await counts()
            still, last = (still + 1 if now == last else 0), now
        srv0, bare0 = last
        before = await ctl.stats()
        base_sent0, cti0 = before["sent_by_user"].get("baseline", 0), before["sent_by_user"].get("cti", 0)
        logins0 = before["logins"]
        cpu0 = {p.pid: cpu_seconds(p.pid) for p in (server, bare)}
        sup0, frames0 = panels.supervisor_msgs, panels.supervisor_frames
        t0 = time.time()
        await ctl.act("LoadStart")
        if ns.profile:
            Path(ns.profile).mkdir(parents=True, exist_ok=True)
            raw = Path(ns.profile) / f"server-{'filtered' if filtered else 'whole'}-{rate:g}.txt"
            profiler = await asyncio.create_subprocess_exec(  # its own session: no signal of ours reaches it
                str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--pid", str(server.pid), "--format", "raw",
                "--rate", "50", "--nonblocking", "--duration", str(int(ns.seconds)), "-o", str(raw),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
            procs.append(profiler)
        while True:
            await asyncio.sleep(2.0)
            st = await ctl.stats()
            if int(time.time() - t0) % 10 < 2:
                log(f"{time.time() - t0:.0f} s: {st['calls_placed']} calls placed, {st['calls_done']} done, "
                    f"{len(panels.pops)} pops")
            if not st["running"]:
                break
        # both readers have everything the source sent them, the last wrap-ups' unpauses included
        calls_over = time.time()
        deadline = calls_over + ns.drain_timeout
        got_srv = got_base = 0
        while True:
            st = await ctl.stats()
            cti_sent, base_sent = st["sent_by_user"].get("cti", 0), st["sent_by_user"].get("baseline", 0)
            got_srv, got_base = (n - n0 for n, n0 in zip(await counts(), (srv0, bare0)))
            if time.time() > deadline or (got_srv >= cti_sent - cti0 and got_base >= base_sent - base_sent0
                                          and time.time() - calls_over > ns.wrapup + 2):
                break
            await asyncio.sleep(0.5)
        res.relogins = st["logins"] - logins0
        res.drained = got_srv >= cti_sent - cti0 and got_base >= base_sent - base_sent0
        res.wall = time.time() - t0
        cpu = {p.pid: cpu_seconds(p.pid) - cpu0[p.pid] for p in (server, bare)}
        res.supervisor_msgs = panels.supervisor_msgs - sup0
        res.supervisor_frames = panels.supervisor_frames - frames0
    if profiler is not None:
        await profiler.wait()
    await asyncio.sleep(1.0)  # the last pops in flight
    await panels.close()
    res.calls = st["calls_placed"]
    res.ev_call_server = (cti_sent - cti0) / max(res.calls, 1)
    res.ev_call_base = (base_sent - base_sent0) / max(res.calls, 1)
    res.ev_s_server = res.ev_call_server * rate
    res.cpu_call_server = cpu[server.pid] / max(res.calls, 1)
    res.cpu_call_base = cpu[bare.pid] / max(res.calls, 1)
    res.server_cpu_share, res.base_cpu_share = cpu[server.pid] / res.wall, cpu[bare.pid] / res.wall
    res.lost_server = (cti_sent - cti0) - got_srv
    res.lost_base = (base_sent - base_sent0) - got_base
    res.source_late_p99 = st["late_p99_ms"]
    emitted: dict[tuple[str, str], float] = {}
    for line in called.read_text(encoding="utf-8").splitlines():
        linkedid, interface, ts = line.split()
        emitted[(linkedid, interface)] = float(ts)
    watched = {f"PJSIP/{a}" for a in sampled}
    expected = {k: ts for k, ts in emitted.items() if k[1] in watched}
    res.pops_expected = len(expected)
    res.pops = [(panels.pops[k] - ts) * 1000 for k, ts in expected.items() if k in panels.pops]
    if ns.pops_out:
        with open(ns.pops_out, "a", encoding="utf-8") as out:  # noqa: ASYNC230 - once, after the run
            for k, ts in sorted(expected.items(), key=lambda kv: kv[1]):
                got = panels.pops.get(k)
                out.write(f"{rate:g} {ts - t0:.3f} {'' if got is None else f'{(got - ts) * 1000:.1f}'}\n")
    res.wo_found, res.wo_dup, res.wo_answered = await work_orders(dsn, [k[0] for k in emitted], len(emitted))
    ctl.close()
    for p in (bare, server, source):
        if p.returncode is None:
            p.send_signal(signal.SIGTERM)
    for p in (bare, server, source):
        try:
            await asyncio.wait_for(p.wait(), 20)
        except TimeoutError:
            p.kill()
            await p.wait()
    for d in drains:
        d.cancel()
    errors = [ln for ln in server_err if '"level": "error"' in ln or "Traceback" in ln]
    if errors:
        log(f"server errors ({len(errors)}), first: {errors[0][:500]}")
    if profiler is not None:
        res.hotspots = hotspots(raw)
    return res


def table(results: list[Result]) -> str:
    head = (f"{'eventfilter':<11} {'calls/s':>7} {'calls':>6} {'ev/call':>7} {'ev/s':>6} {'base ev/call':>12} "
            f"{'srv ms/call':>11} {'base ms/call':>12} {'ratio':>6} {'pop p50':>8} {'p95':>7} {'p99':>7} "
            f"{'pops':>9} {'lost srv/base':>13} {'WO found/dup':>13} {'sup msg/s':>9} {'frames/s':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{'on' if r.filtered else 'off':<11} {r.rate:>7g} {r.calls:>6} {r.ev_call_server:>7.1f} "
            f"{r.ev_s_server:>6.0f} {r.ev_call_base:>12.1f} {r.cpu_call_server * 1000:>11.2f} "
            f"{r.cpu_call_base * 1000:>12.2f} {r.ratio:>6.2f} {pct(r.pops, 50):>8.1f} {pct(r.pops, 95):>7.1f} "
            f"{pct(r.pops, 99):>7.1f} {len(r.pops):>4}/{r.pops_expected:<4} {r.lost_server:>6}/{r.lost_base:<6} "
            f"{r.wo_found:>6}/{r.wo_dup:<6} {r.supervisor_msgs / max(r.wall, 1e-9):>9.0f} "
            f"{r.supervisor_frames / max(r.wall, 1e-9):>8.0f}")
    notes = []
    for r in results:
        tag = f"{'on' if r.filtered else 'off'} {r.rate:g}/s"
        notes.append(f"{tag}: server {r.server_cpu_share:.0%} of a core, baseline {r.base_cpu_share:.0%}; "
                     f"{r.wo_answered} answered work orders of {r.calls}; source late p99 {r.source_late_p99:.1f} ms"
                     + ("" if r.drained else "; NOT drained within the timeout")
                     + (f"; the server logged in again {r.relogins} time(s) (AMI link lost)" if r.relogins else ""))
    return "\n".join(lines + [""] + notes)


async def run(ns: argparse.Namespace) -> None:
    from ctiserver.agents.passwords import hash_password
    from ctiserver.store import Store

    results: list[Result] = []
    modes = {"on": [True], "off": [False], "both": [False, True]}[ns.filter]
    pw = hash_password("bench")
    for rate in (float(r) for r in ns.rates.split(",")):
        for filtered in modes:
            dsn = await fresh_dsn()
            store = await Store.open(dsn)
            await store.upsert_agents([(str(2000 + i), f"Agent {2000 + i}", "agent", pw, f"PJSIP/{2000 + i}",
                                        {"support": 0}) for i in range(ns.agents)])
            await store.close()
            res = await one_run(ns, rate, filtered, dsn)
            results.append(res)
            print(table([res]).splitlines()[2], flush=True)
            for line in res.hotspots:
                print(f"  {line}", flush=True)
    print()
    print(f"{ns.agents} signed-in agents, {ns.ws_agents} agent panels + 1 supervisor's open, trace-02 calls "
          f"(IVR, queue, ring 1.5 s, talk 4.5 s) for {ns.seconds:g} s per run, pace x{ns.speed:g}. "
          "ev = AMI events; ms/call = CPU milliseconds per call (server: everything; base: a bare panoramisk "
          "1.4 client reading the unfiltered events); ratio = server/base, measured in the same run; pop = "
          "emission of AgentCalled -> the rung agent's websocket, ms; WO = work orders in PostgreSQL for the calls.")
    print(table(results))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", default="25,50,100", help="calls per second, one run each (comma-separated)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long calls are placed in each run")
    p.add_argument("--filter", choices=("on", "off", "both"), default="both")
    p.add_argument("--agents", type=int, default=2000)
    p.add_argument("--ws-agents", type=int, default=200, help="agent panels (websockets) opened, spread evenly")
    p.add_argument("--wrapup", type=float, default=5.0, help="after-call work seconds (CTI_CALLCENTER_WRAPUP_SECONDS)")
    p.add_argument("--speed", type=float, default=1.0, help="call pace (1 = as recorded, a call lasts 7.5 s)")
    p.add_argument("--drain-timeout", type=float, default=120.0)
    p.add_argument("--profile", default="", help="py-spy the server into this directory and print its hot spots")
    p.add_argument("--pops-out", default="", help="append each watched pop (rate, seconds into the run, latency "
                   "ms or nothing if it never came) to this file: where in the run the slow ones fall")
    p.add_argument("--server-root", default=str(ROOT), help="run `python -m ctiserver` from this checkout")
    ns = p.parse_args()
    random.seed(1)
    asyncio.run(run(ns))


if __name__ == "__main__":
    main()
