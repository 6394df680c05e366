"""Call-control latency under the pop benchmark's call load (`make bench` style, issue 4).

Starts, as bench/pop_latency.py does and with its helpers, the PBX simulator generating
inbound calls at --rate per minute, the CTI server against it (real AMI over loopback TCP,
real PostgreSQL) and a bare panoramisk 1.4 client on the same AMI stream. Agents 1001-1003
sign in through the API and keep their websockets open. Each call an agent answers gets the
panel's buttons pressed over HTTP, one after the other:

  hold      POST /api/calls/{id}/hold      AMI: MusicOnHoldStart of the call   panel: pop_update held=true
  retrieve  POST /api/calls/{id}/retrieve  AMI: BridgeEnter of the call        panel: pop_update held=false
  then, in turn,
  hangup    POST /api/calls/{id}/hangup    AMI: Hangup of the call             panel: call_ended
  transfer  POST /api/calls/{id}/transfer  AMI: Newexten in cti-queue          panel: call_ended (moved)
            (kind queue, target support: Redirect of the customer back into the queue)
  conference POST /api/calls/{id}/conference/add (an outside number)
                                           AMI: ConfbridgeJoin of the call     panel: pop_update conference=room
            (dual Redirect of customer and agent into the room; the caller's script ends the call)

For each it measures from just before the HTTP request is sent to (a) the bare panoramisk
client receiving the confirming AMI event (the baseline: when Asterisk has done it) and
(b) the agent's websocket receiving the update, and prints p50/p99 of both.

    .venv/bin/python bench/call_control.py --rate 60 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, Callable

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pop_latency import start_product, AGENTS, cpu_seconds, fresh_dsn, pct  # noqa: E402
from ctiserver.push.hub import messages_of  # noqa: E402

STEP_TIMEOUT = 5.0
Pred = Callable[[dict], bool]


class Watch:
    """Waiters on a stream of dicts, stamped with the local arrival time."""

    def __init__(self) -> None:
        self.waiters: list[tuple[Pred, asyncio.Future]] = []

    def arm(self, pred: Pred) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append((pred, fut))
        return fut

    def feed(self, item: dict, at: float) -> None:
        for pred, fut in list(self.waiters):
            if fut.done():
                self.waiters.remove((pred, fut))
            elif pred(item):
                fut.set_result(at)
                self.waiters.remove((pred, fut))


async def bare_client(port: int, watch: Watch) -> Any:
    from panoramisk import Manager

    def on_event(manager: Any, msg: Any) -> None:
        watch.feed(dict(msg.items()), time.time())

    manager = Manager(host="127.0.0.1", port=port, username="cti", secret="cti-secret", ping_delay=60,
                      loop=asyncio.get_running_loop())
    manager.register_event("*", on_event)
    await manager.connect()
    return manager


def ami(event: str, linkedid: str, **fields: str) -> Pred:
    return lambda m: (m.get("Event") == event and m.get("Linkedid") == linkedid
                      and all(m.get(k) == v for k, v in fields.items()))


def push(type_: str, linkedid: str, **fields: Any) -> Pred:
    return lambda m: (m.get("type") == type_ and (m.get("data") or {}).get("linkedid") == linkedid
                      and all((m.get("data") or {}).get(k) == v for k, v in fields.items()))


async def press(http: aiohttp.ClientSession, base: str, path: str, body: dict, amiw: Watch, ami_pred: Pred,
                wsw: Watch, ws_pred: Pred) -> tuple[float, float] | None:
    """Press one button; (ms to the AMI event at the bare client, ms to the websocket update), None if refused."""
    ami_fut, ws_fut = amiw.arm(ami_pred), wsw.arm(ws_pred)
    t0 = time.time()
    async with http.post(base + path, json=body) as r:
        ok = r.status == 202
        await r.read()
    if not ok:
        ami_fut.cancel(), ws_fut.cancel()
        return None
    try:
        got_ami, got_ws = await asyncio.wait_for(asyncio.gather(ami_fut, ws_fut), STEP_TIMEOUT)
    except asyncio.TimeoutError:  # the caller hung up meanwhile: no sample
        ami_fut.cancel(), ws_fut.cancel()
        return None
    return (got_ami - t0) * 1000, (got_ws - t0) * 1000


async def agent(base: str, login: str, amiw: Watch, results: dict, ready: asyncio.Event,
                stop: asyncio.Event) -> None:
    wsw = Watch()
    answered: asyncio.Queue[str] = asyncio.Queue()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(base + "/api/login", json={"login": login, "password": login}) as r:
            r.raise_for_status()
            name, morsel = next(iter(r.cookies.items()))
        async with websockets.connect(base.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": f"{name}={morsel.value}"}) as ws:
            async def read() -> None:
                seen: set[str] = set()
                async for raw in ws:
                    at = time.time()
                    for msg in messages_of(raw):  # a frame holds one message or an array of them
                        wsw.feed(msg, at)
                        d = msg.get("data") or {}
                        if msg["type"] == "agent_state" and d.get("id") == login and d.get("state") == "ready":
                            ready.set()
                        if (msg["type"] == "pop_update" and d.get("state") == "answered"
                                and d.get("linkedid") not in seen):
                            seen.add(d["linkedid"])
                            answered.put_nowait(d["linkedid"])

            reader = asyncio.create_task(read())
            async with http.post(base + "/api/agent/state", json={"state": "ready"}) as r:
                if r.status >= 400:
                    raise RuntimeError(f"agent {login} could not sign in: {await r.text()}")
            n = 0
            while not stop.is_set():
                try:
                    lid = await asyncio.wait_for(answered.get(), 0.5)
                except asyncio.TimeoutError:
                    continue
                n += 1
                calls = f"/api/calls/{lid}"
                steps = [("hold", "/hold", {}, ami("MusicOnHoldStart", lid), push("pop_update", lid, held=True)),
                         ("retrieve", "/retrieve", {}, ami("BridgeEnter", lid), push("pop_update", lid, held=False))]
                if n % 3 == 1:
                    steps.append(("hangup", "/hangup", {}, ami("Hangup", lid), push("call_ended", lid)))
                elif n % 3 == 2:
                    steps.append(("transfer", "/transfer", {"kind": "queue", "target": "support"},
                                  ami("Newexten", lid, Context="cti-queue"), push("call_ended", lid)))
                else:  # customer and agent into a ConfBridge room, an outside number Originate'd after them
                    steps.append(("conference", "/conference/add", {"kind": "external", "target": "5550100"},
                                  ami("ConfbridgeJoin", lid),
                                  lambda m, lid=lid: (m.get("type") == "pop_update"
                                                      and (m.get("data") or {}).get("linkedid") == lid
                                                      and bool((m.get("data") or {}).get("conference")))))
                for label, path, body, ap, wp in steps:
                    got = await press(http, base, calls + path, body, amiw, ap, wsw, wp)
                    if got is None:
                        break
                    results.setdefault(label, []).append(got)
            reader.cancel()


async def run(rate: float, seconds: float) -> None:
    dsn = await fresh_dsn()

    product = await start_product(dsn, rate, ["--seed", "7", "--talk", "6:10", "--ring", "0.5:1.5"],
                                  {"CTI_CALLCENTER_WRAPUP_SECONDS": "1"}, "bench-cc-journal.jsonl")
    server, ami_port, http_port = product.server, product.ami_port, product.http_port
    amiw = Watch()
    manager = await bare_client(ami_port, amiw)

    results: dict[str, list[tuple[float, float]]] = {}
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in AGENTS]
    base = f"http://127.0.0.1:{http_port}"
    sessions = [asyncio.create_task(agent(base, a, amiw, results, r, stop)) for a, r in zip(AGENTS, readies)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    print(f"bench: {len(AGENTS)} agents ready, simulator at {rate:g} calls/min, measuring {seconds:g} s",
          file=sys.stderr)
    cpu0 = cpu_seconds(server.pid)
    t0 = time.time()
    for i in range(int(seconds)):
        await asyncio.sleep(1)  # the measurement window, not a synchronisation
        if i % 10 == 9:
            print(f"bench: {i + 1}/{int(seconds)} s, {sum(map(len, results.values()))} presses measured",
                  file=sys.stderr)
    wall = time.time() - t0
    cpu = cpu_seconds(server.pid) - cpu0
    stop.set()
    await asyncio.gather(*sessions, return_exceptions=True)
    manager.close()
    await product.stop()

    print(f"\n{'button':<10} {'n':>4} | {'AMI event at bare client':^24} | {'panel websocket update':^24} | "
          f"{'panel lag over AMI':^10}")
    print(f"{'':<10} {'':>4} | {'p50 ms':>11} {'p99 ms':>11}  | {'p50 ms':>11} {'p99 ms':>11}  | {'p50 ms':>10}")
    for label in ("hold", "retrieve", "hangup", "transfer", "conference"):
        rows = results.get(label, [])
        a, w = [r[0] for r in rows], [r[1] for r in rows]
        lag = [r[1] - r[0] for r in rows]
        print(f"{label:<10} {len(rows):>4} | {pct(a, 50):>11.2f} {pct(a, 99):>11.2f}  | {pct(w, 50):>11.2f} "
              f"{pct(w, 99):>11.2f}  | {pct(lag, 50):>10.2f}")
    print(f"\nload: {rate:g} calls/min for {wall:.0f} s; server CPU {cpu / wall:.1%} of one core")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=60.0, help="simulated inbound calls per minute")
    p.add_argument("--seconds", type=float, default=60.0, help="measurement window")
    ns = p.parse_args()
    asyncio.run(run(ns.rate, ns.seconds))


if __name__ == "__main__":
    main()
