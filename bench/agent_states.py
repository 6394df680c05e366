"""2,000 agents changing state under call load: confirming AMI event → supervisor websocket.

Starts, each in its own process: the PBX simulator with --agents extra endpoints
(PJSIP/2000…) and inbound calls at --rate per minute, the CTI server against it, and a
bare panoramisk 1.4 client reading the same AMI stream (the baseline). The bench creates
the agent accounts, signs every agent in through the API (as the supervisor would force
them), then keeps --changes per second of random busy/ready changes going while the calls
flow. The supervisor's websocket receives every agent's update. Measured:

  * update latency: supervisor websocket receiving `agent_state` minus the Timestamp of the
    AMI event that confirmed it (its `since`), p50/p99;
  * baseline: the bare panoramisk client receiving the same kinds of events
    (QueueMember*, AgentCalled/Connect, Hangup) minus their Timestamp;
  * the supervisor page's update rate (messages/s), and CPU of each process.

    .venv/bin/python bench/agent_states.py --agents 2000 --rate 300 --changes 50 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from pathlib import Path

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pop_latency import start_product, cpu_seconds, fresh_dsn, pct, spawn  # noqa: E402
from ctiserver.push.hub import messages_of  # noqa: E402

BARE = """
import asyncio, json, signal, sys, time
from panoramisk import Manager
KINDS = {"QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved", "AgentCalled", "AgentConnect", "Hangup"}
async def main(port):
    lat, count = [], 0
    def on_event(manager, msg):
        nonlocal count
        count += 1
        if msg.get("Event") in KINDS and msg.get("Timestamp"):
            lat.append((time.time() - float(msg["Timestamp"])) * 1000)
    m = Manager(host="127.0.0.1", port=port, username="cti", secret="cti-secret", ping_delay=60,
                loop=asyncio.get_running_loop())
    m.register_event("*", on_event)
    await m.connect()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, lambda: (lat.clear(), None))
    await stop.wait()
    print(json.dumps({"events": count, "lat": lat}), flush=True)
asyncio.run(main(int(sys.argv[1])))
"""


async def run(agents: int, rate: float, changes: float, seconds: float) -> None:
    from ctiserver.agents.passwords import hash_password
    from ctiserver.store import Store

    dsn = await fresh_dsn()
    store = await Store.open(dsn)
    pw = hash_password("bench")
    ids = [str(2000 + i) for i in range(agents)]
    await store.upsert_agents([(i, f"Agent {i}", "agent", pw, f"PJSIP/{i}", {"support": 0}) for i in ids])
    await store.close()

    product = await start_product(dsn, rate, ["--seed", "11", "--talk", "5:20", "--ring", "0.5:2", "--extra-agents", str(agents),
                                     "--extra-agent-first", "2000"],
                                  {"CTI_CALLCENTER_WRAPUP_SECONDS": "3", "CTI_DB_POOL_SIZE": "10"}, "bench-states-journal.jsonl", timeout=120)
    sim, server, ami_port, http_port = product.sim, product.server, product.ami_port, product.http_port
    bare = await spawn(sys.executable, "-c", BARE, str(ami_port))
    base = f"http://127.0.0.1:{http_port}"

    received: list[tuple[float, dict]] = []
    stop = asyncio.Event()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(base + "/api/login", json={"login": "1900", "password": "1900"}) as r:
            r.raise_for_status()
            cookie = r.cookies["cti_session"].value
        ws = await websockets.connect(base.replace("http", "ws") + "/ws", max_size=None,
                                      additional_headers={"Cookie": f"cti_session={cookie}"})

        async def reader() -> None:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                now = time.time()
                received.extend((now, msg["data"]) for msg in messages_of(raw) if msg["type"] == "agent_state")

        read_task = asyncio.create_task(reader())
        sem = asyncio.Semaphore(20)
        refused = 0

        async def force(agent: str, body: dict) -> None:
            nonlocal refused
            async with sem:
                async with http.post(base + "/api/agent/state", json={"agent": agent, **body}) as r:
                    if r.status >= 400:
                        refused += 1

        t_signin = time.time()
        await asyncio.gather(*(force(a, {"state": "ready"}) for a in ids))
        print(f"bench: {agents} agents signed in through the API in {time.time() - t_signin:.1f} s "
              f"({refused} refused)", file=sys.stderr)
        received.clear()
        bare.send_signal(signal.SIGUSR1)  # the baseline, too, counts from here
        rng = random.Random(5)
        cpu0 = {p.pid: cpu_seconds(p.pid) for p in (server, sim, bare)}
        t0 = time.time()
        pending: set[asyncio.Task] = set()
        n = 0
        while time.time() - t0 < seconds:
            agent = rng.choice(ids)
            body = {"state": "not_ready", "reason": rng.choice(["break", "lunch", "meeting"])} \
                if rng.random() < 0.5 else {"state": "ready"}
            task = asyncio.create_task(force(agent, body))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            if n % int(max(changes * 10, 1)) == 0:
                print(f"bench: {time.time() - t0:.0f}/{seconds:.0f} s, {len(received)} updates", file=sys.stderr)
            await asyncio.sleep(1 / changes)  # the offered load, not a synchronisation
        wall = time.time() - t0
        cpu = {p.pid: cpu_seconds(p.pid) - cpu0[p.pid] for p in (server, sim, bare)}
        await asyncio.gather(*pending, return_exceptions=True)
        stop.set()
        await read_task
        await ws.close()

    bare.send_signal(signal.SIGTERM)
    out, _ = await bare.communicate()
    base_rec = json.loads(out.decode().strip().splitlines()[-1])
    await product.stop()

    lat = [(at - d["since"]) * 1000 for at, d in received if d.get("since")]
    bl = base_rec["lat"]
    print(f"\n{agents} agents, {rate:g} calls/min, {changes:g} state changes/s requested, {wall:.0f} s measured")
    print(f"{'path':<46} {'n':>7} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'bare panoramisk client (baseline)':<46} {len(bl):>7} {pct(bl, 50):>8.2f} {pct(bl, 99):>8.2f}")
    print(f"{'CTI server: AMI event → supervisor websocket':<46} {len(lat):>7} {pct(lat, 50):>8.2f} "
          f"{pct(lat, 99):>8.2f}")
    if bl and lat:
        print(f"{'ratio server / baseline':<46} {'':>7} {pct(lat, 50) / pct(bl, 50):>8.1f} "
              f"{pct(lat, 99) / pct(bl, 99):>8.1f}")
    print(f"\nsupervisor page: {len(received) / wall:.0f} agent updates/s; AMI stream "
          f"{base_rec['events'] / wall:.0f} events/s; API changes refused {refused} (409: already in that state, or on a call)")
    print(f"CPU (share of one core): server {cpu[server.pid] / wall:.0%}, bare panoramisk client "
          f"{cpu[bare.pid] / wall:.0%}, simulator {cpu[sim.pid] / wall:.0%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=2000)
    p.add_argument("--rate", type=float, default=300.0, help="simulated inbound calls per minute")
    p.add_argument("--changes", type=float, default=50.0, help="random agent state changes per second")
    p.add_argument("--seconds", type=float, default=60.0)
    ns = p.parse_args()
    asyncio.run(run(ns.agents, ns.rate, ns.changes, ns.seconds))


if __name__ == "__main__":
    main()
