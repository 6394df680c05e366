"""Supervision latency under call load, against a bare AMI client doing the same on the same simulator.

Starts, with bench/pop_latency.py's helpers, the PBX simulator (`python -m pbxsim`, inbound demo
calls at --rate per minute) and the CTI server against it (real AMI over loopback TCP, real
PostgreSQL); agents 1001-1003 sign in through the API and keep their websockets open, supervisor
1900 signs in with the page's websocket. A bare panoramisk 1.4 client reads the same AMI stream
and sends the baseline's actions itself. On each call an agent answers, the supervisor does, in
turn through the server's API and as the bare client would do it directly over AMI:

  monitor    POST /api/supervision/monitor {listen}   bare: Originate PJSIP/1900 into cti-spy
             until ChanSpyStart of that call (the supervisor's phone rings first: the simulator's
             --ring, the same for both)
  switch     POST /api/supervision/mode {whisper}     bare: PlayDTMF 5 Receive=true
             until DTMFEnd received on the spy channel (ChanSpy's d option has switched)
  intercept  POST /api/supervision/intercept          bare: Bridge customer + spy channel
             (from a live listen) until BridgeEnter of the spy channel into the customer's bridge
             (every other call: the intercept ends the call for the agent)

Times run from just before the HTTP request (the bare action) to the bare client receiving the
AMI event, and for the server also to the supervisor's websocket push confirming it (session
active / mode / intercepted). p50/p99 of each, and the ratio server/bare of the medians.

    .venv/bin/python bench/supervision.py --rate 30 --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.call_control import Watch
from bench.pop_latency import AGENTS, cpu_seconds, fresh_dsn, pct, start_product
from ctiserver.push.hub import messages_of

SUPERVISOR = "1900"
STEP_TIMEOUT = 10.0
SERVER_STEPS = ("monitor", "switch", "intercept")
ids = itertools.count(1)


class Bare:
    """The bare panoramisk client: every AMI event into ``watch``, the customer's channel per call."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch
        self.customer: dict[str, str] = {}  # linkedid -> the caller's channel (the call's first)
        self.channel: dict[str, str] = {}  # Uniqueid -> channel name, of the bare client's own spy channels
        self.manager: Any = None

    async def connect(self, port: int) -> None:
        from panoramisk import Manager

        def on_event(manager: Any, msg: Any) -> None:
            m = dict(msg.items())
            if m.get("Event") == "Newchannel" and m.get("Uniqueid") == m.get("Linkedid"):
                self.customer[m["Linkedid"]] = m.get("Channel", "")
            if m.get("Event") == "Newchannel" and m.get("Uniqueid", "").startswith("cti-spy-bench"):
                self.channel[m["Uniqueid"]] = m.get("Channel", "")
            self.watch.feed(m, time.time())

        self.manager = Manager(host="127.0.0.1", port=port, username="cti", secret="cti-secret", ping_delay=60,
                               loop=asyncio.get_running_loop())
        self.manager.register_event("*", on_event)
        await self.manager.connect()

    async def send(self, action: dict) -> Any:
        return await self.manager.send_action(action)


def ami(event: str, **fields: str):
    return lambda m: m.get("Event") == event and all(m.get(k) == v for k, v in fields.items())


def session(**fields: Any):
    return lambda m: (m.get("type") == "supervision"
                      and all((m.get("data") or {}).get(k) == v for k, v in fields.items()))


async def until(fut: asyncio.Future, t0: float, what: str = "") -> float:
    try:
        return (await asyncio.wait_for(fut, STEP_TIMEOUT) - t0) * 1000
    except TimeoutError:
        raise RuntimeError(f"no {what} within {STEP_TIMEOUT:g} s") from None


class Supervisor:
    """Supervisor 1900 through the server's API, and the same through the bare client."""

    def __init__(self, base: str, bare: Bare, amiw: Watch) -> None:
        self.base, self.bare, self.amiw = base, bare, amiw
        self.wsw = Watch()
        self.answered: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (linkedid, agent)
        self.server: dict[str, list[tuple[float, float]]] = {k: [] for k in SERVER_STEPS}
        self.baseline: dict[str, list[float]] = {k: [] for k in SERVER_STEPS}
        self.http: aiohttp.ClientSession | None = None

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        assert self.http is not None
        async with self.http.post(self.base + path, json=body) as r:
            return r.status, await r.json()

    async def run(self, stop: asyncio.Event, ready: asyncio.Event) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as self.http:
            async with self.http.post(self.base + "/api/login",
                                      json={"login": SUPERVISOR, "password": SUPERVISOR}) as r:
                r.raise_for_status()
                name, morsel = next(iter(r.cookies.items()))
            async with websockets.connect(self.base.replace("http", "ws") + "/ws", max_size=None,
                                          additional_headers={"Cookie": f"{name}={morsel.value}"}) as ws:
                reader = asyncio.create_task(self.read(ws))
                ready.set()
                n = 0
                while not stop.is_set():
                    try:
                        linkedid, agent = await asyncio.wait_for(self.answered.get(), 0.5)
                    except TimeoutError:
                        continue
                    n += 1
                    try:
                        await self.one_call(linkedid, agent, intercept="server" if n % 2 else "bare")
                    except (TimeoutError, RuntimeError) as exc:  # the caller hung up meanwhile
                        print(f"bench: call {linkedid} skipped ({exc!r})", file=sys.stderr)
                        await self.post("/api/supervision/stop", {})
                reader.cancel()

    async def read(self, ws: Any) -> None:
        seen: set[str] = set()
        async for raw in ws:
            at = time.time()
            for msg in messages_of(raw):  # a frame holds one message or an array of them
                self.wsw.feed(msg, at)
                d = msg.get("data") or {}
                if (msg.get("type") == "call_update" and d.get("state") == "answered" and d.get("agent")
                        and d["linkedid"] not in seen and not d.get("held")):
                    seen.add(d["linkedid"])
                    if self.answered.qsize() < 2:  # keep to calls that just started: they last long enough
                        self.answered.put_nowait((d["linkedid"], str(d["agent"])))

    async def one_call(self, linkedid: str, agent: str, intercept: str) -> None:
        # the server: monitor, switch, then stop (or, every other call, intercept from a live listen)
        spy, started = self.amiw.arm(ami("ChanSpyStart", SpyeeLinkedid=linkedid)), self.wsw.arm(
            session(linkedid=linkedid, state="active"))
        t0 = time.time()
        status, body = await self.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
        if status != 202:
            raise RuntimeError(f"monitor refused: {body}")
        self.server["monitor"].append((await until(spy, t0, "ChanSpyStart"), await until(started, t0, "active push")))
        sid = body["id"]
        dtmf, switched = self.amiw.arm(ami("DTMFEnd", Uniqueid=sid, Digit="5")), self.wsw.arm(
            session(id=sid, mode="whisper"))
        t0 = time.time()
        status, body = await self.post("/api/supervision/mode", {"mode": "whisper"})
        if status != 202:
            raise RuntimeError(f"switch refused: {body}")
        self.server["switch"].append((await until(dtmf, t0, "DTMFEnd"), await until(switched, t0, "mode push")))
        if intercept != "server":
            ended = self.wsw.arm(session(id=sid, state="ended"))
            await self.post("/api/supervision/stop", {})
            await until(ended, 0, "ended push")
        else:
            await self.post("/api/supervision/mode", {"mode": "listen"})
            bridged, taken = self.amiw.arm(ami("BridgeEnter", Uniqueid=sid)), self.wsw.arm(
                session(id=sid, state="intercepted"))
            t0 = time.time()
            status, body = await self.post("/api/supervision/intercept", {"linkedid": linkedid})
            if status != 202:
                raise RuntimeError(f"intercept refused: {body}")
            self.server["intercept"].append((await until(bridged, t0, "BridgeEnter"), await until(taken, t0, "intercepted push")))
            ended = self.wsw.arm(session(id=sid, state="ended"))
            await self.post("/api/supervision/stop", {})  # the supervisor hangs up: the call ends
            await until(ended, 0, "ended push")
            return

        # the bare client on the same call: the same actions, straight over AMI (a cti-spy- ChannelId,
        # so the server takes the channel for a supervisor's and leaves it alone)
        bid = f"cti-spy-bench{next(ids):06d}"
        spy = self.amiw.arm(ami("ChanSpyStart", SpyerUniqueid=bid))
        t0 = time.time()
        await self.bare.send({"Action": "Originate", "Channel": f"PJSIP/{SUPERVISOR}", "Context": "cti-spy",
                              "Exten": agent, "Priority": "1", "Async": "true", "ChannelId": bid,
                              "Timeout": "20000", "Variable": "CTI_SPY_MODE="})
        self.baseline["monitor"].append(await until(spy, t0, "bare ChanSpyStart"))
        channel = self.bare.channel.pop(bid)
        dtmf = self.amiw.arm(ami("DTMFEnd", Uniqueid=bid, Digit="5"))
        t0 = time.time()
        # (Async: panoramisk 1.4 reads any "... successfully queued" reply as an async Originate's
        # and fails on an action without that header; Asterisk ignores it)
        await self.bare.send({"Action": "PlayDTMF", "Channel": channel, "Digit": "5", "Receive": "true",
                              "Async": "false"})
        self.baseline["switch"].append(await until(dtmf, t0, "bare DTMFEnd"))
        gone = self.amiw.arm(ami("Hangup", Uniqueid=bid))
        if intercept == "bare":
            customer = self.bare.customer.get(linkedid, "")
            bridged = self.amiw.arm(ami("BridgeEnter", Uniqueid=bid))
            t0 = time.time()
            await self.bare.send({"Action": "Bridge", "Channel1": customer, "Channel2": channel, "Tone": "no"})
            self.baseline["intercept"].append(await until(bridged, t0, "bare BridgeEnter"))
            await self.bare.send({"Action": "Hangup", "Channel": customer})
        await self.bare.send({"Action": "Hangup", "Channel": channel})
        await until(gone, 0, "bare Hangup")


async def agent(base: str, login: str, ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(base + "/api/login", json={"login": login, "password": login}) as r:
            r.raise_for_status()
            name, morsel = next(iter(r.cookies.items()))
        async with websockets.connect(base.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": f"{name}={morsel.value}"}) as ws:
            async with http.post(base + "/api/agent/state", json={"state": "ready"}) as r:
                if r.status >= 400:
                    raise RuntimeError(f"agent {login} could not sign in: {await r.text()}")
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                for msg in messages_of(raw):  # a frame holds one message or an array of them
                    d = msg.get("data") or {}
                    if msg.get("type") == "agent_state" and d.get("id") == login and d.get("state") == "ready":
                        ready.set()
                    if (msg.get("type") == "agent_state" and d.get("id") == login
                            and d.get("reason") == "intercepted"):
                        # an intercepted agent is left busy and makes themselves ready again
                        async with http.post(base + "/api/agent/state", json={"state": "ready"}) as r:
                            await r.read()


async def run(rate: float, seconds: float) -> None:
    dsn = await fresh_dsn()
    product = await start_product(dsn, rate, ["--seed", "9", "--talk", "8:12", "--ring", "0.3:0.6"],
                                  {"CTI_CALLCENTER_WRAPUP_SECONDS": "1"}, "bench-supervision-journal.jsonl")
    amiw = Watch()
    bare = Bare(amiw)
    await bare.connect(product.ami_port)
    base = f"http://127.0.0.1:{product.http_port}"
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in (*AGENTS, SUPERVISOR)]
    boss = Supervisor(base, bare, amiw)
    tasks = [asyncio.create_task(agent(base, a, r, stop)) for a, r in zip(AGENTS, readies)]
    tasks.append(asyncio.create_task(boss.run(stop, readies[-1])))
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
        print(f"bench: {len(AGENTS)} agents and supervisor {SUPERVISOR} ready, simulator at {rate:g} calls/min, "
              f"measuring {seconds:g} s", file=sys.stderr)
        cpu0 = cpu_seconds(product.server.pid)
        t0 = time.time()
        for i in range(int(seconds)):
            await asyncio.sleep(1)  # the measurement window, not a synchronisation
            if i % 15 == 14:
                done = sum(len(v) for v in boss.server.values())
                print(f"bench: {i + 1}/{int(seconds)} s, {done} server steps measured", file=sys.stderr)
        wall = time.time() - t0
        cpu = cpu_seconds(product.server.pid) - cpu0
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        bare.manager.close()
        await product.stop()

    print(f"\n{'step':<10} | {'server: AMI event':^21} | {'server: page push':^21} | {'bare AMI client':^21} "
          f"| {'p50 ratio':>9}")
    print(f"{'':<10} | {'n':>3} {'p50 ms':>8} {'p99 ms':>8} | {'':>3} {'p50 ms':>8} {'p99 ms':>8} "
          f"| {'n':>3} {'p50 ms':>8} {'p99 ms':>8} | {'server/bare':>9}")
    for step in SERVER_STEPS:
        rows, base_ms = boss.server[step], boss.baseline[step]
        a, w = [r[0] for r in rows], [r[1] for r in rows]
        ratio = pct(a, 50) / pct(base_ms, 50) if a and base_ms else float("nan")
        print(f"{step:<10} | {len(a):>3} {pct(a, 50):>8.1f} {pct(a, 99):>8.1f} | {'':>3} {pct(w, 50):>8.1f} "
              f"{pct(w, 99):>8.1f} | {len(base_ms):>3} {pct(base_ms, 50):>8.1f} {pct(base_ms, 99):>8.1f} "
              f"| {ratio:>9.2f}")
    print(f"\nload: {rate:g} calls/min for {wall:.0f} s, {len(AGENTS)} agents; server CPU {cpu / wall:.1%} of one core;"
          " monitor includes the supervisor's phone ringing (simulator --ring 0.3-0.6 s) on both sides")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=30.0, help="simulated inbound calls per minute")
    p.add_argument("--seconds", type=float, default=120.0, help="measurement window")
    ns = p.parse_args()
    asyncio.run(run(ns.rate, ns.seconds))


if __name__ == "__main__":
    main()
