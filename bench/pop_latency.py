"""Screen-pop latency under simulated load, beside a bare panoramisk client (`make bench`).

Starts, each in its own process: the PBX simulator generating inbound calls at --rate per
minute (talk 2-5 s, ring 0.5-1.5 s, so three agents turn calls over quickly), the CTI server against it (real AMI over loopback TCP, real PostgreSQL), and a bare
panoramisk 1.4 client reading the same AMI stream. The agents sign in through the API
and listen on their websockets (the `websockets` package, independent of the server's
stack). For every AgentCalled the simulator stamps (Timestamp: its wall clock at
emission) it measures

  * pop latency: the rung agent's websocket receiving `call_ringing` minus the emission;
  * baseline: the bare panoramisk client receiving the AgentCalled minus the emission;

and prints p50/p95/p99 of both, their ratio, the AMI events per second of the stream
(every one of them is handled by the server), and the CPU each process used.

    .venv/bin/python bench/pop_latency.py --rate 60 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ctiserver.push.hub import messages_of  # noqa: E402

AGENTS = ("1001", "1002", "1003")
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def fresh_dsn() -> str:
    """A new, empty bench database with the schema and the demo data."""
    import asyncpg

    from ctiserver.app import local_database

    # CTI_BENCH_DB names it: two benchmarks run at once on the shared cluster must not drop each other's.
    name = os.environ.get("CTI_BENCH_DB", "cti_bench")
    if not name.replace("_", "").isalnum():
        raise ValueError(f"CTI_BENCH_DB={name!r}: letters, digits and _ only")
    base = await asyncio.to_thread(local_database)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    dsn = base.rsplit("/", 1)[0] + "/" + name
    from ctiserver.store import Store

    store = await Store.open(dsn)  # the schema and the demo agents, queue and customers
    try:
        await store.migrate()
        await store.seed_demo()
    finally:
        await store.close()
    return dsn


async def spawn(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*args, cwd=ROOT, env={**os.environ, **(env or {})},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def wait_line(stream: asyncio.StreamReader, needle: str, timeout: float = 60) -> None:
    async def scan() -> None:
        while line := await stream.readline():
            if needle in line.decode("utf-8", "replace"):
                return
        raise RuntimeError(f"process ended before {needle!r}")
    await asyncio.wait_for(scan(), timeout)


async def drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


@dataclass
class Product:
    """The simulator and the CTI server, each in its own process, wired over loopback."""

    sim: asyncio.subprocess.Process
    server: asyncio.subprocess.Process
    ami_port: int
    http_port: int
    drains: list[asyncio.Task]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def stop(self) -> None:
        for p in (self.server, self.sim):
            p.send_signal(signal.SIGTERM)
            await p.wait()
        for d in self.drains:
            d.cancel()


async def start_product(dsn: str, rate: float, sim_args: list[str], env: dict[str, str], journal: str,
                        timeout: float = 60) -> Product:
    """Start pbxsim (demo calls at ``rate``/min, event Timestamps on) and `python -m ctiserver` against it."""
    ami_port, ivr_port, http_port = free_port(), free_port(), free_port()
    sim = await spawn(sys.executable, "-m", "pbxsim", "--conf", "asterisk_conf", "--ami-port", str(ami_port),
                      "--agi", f"127.0.0.1:{ivr_port}", "--demo-rate", f"{rate}/min", "--timestamp-events",
                      *sim_args)
    await wait_line(sim.stdout, "pbxsim: AMI on")
    server = await spawn(sys.executable, "-m", "ctiserver", env={
        "CTI_AMI_HOST": "127.0.0.1", "CTI_AMI_PORT": str(ami_port), "CTI_DB_DSN": dsn, "CTI_SERVER_MODE": "lab",
        "CTI_HTTP_PORT": str(http_port), "CTI_IVR_PORT": str(ivr_port), "CTI_LOG_LEVEL": "warning",
        "CTI_LOG_FORMAT": "json", "CTI_DB_JOURNAL_PATH": str(ROOT / ".run" / journal), **env})
    await wait_line(server.stderr, "Agent panel:", timeout=timeout)
    drains = [asyncio.create_task(drain(s)) for s in (sim.stdout, sim.stderr, server.stdout, server.stderr)]
    return Product(sim, server, ami_port, http_port, drains)


async def agent_session(base: str, login: str, pops: dict, ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(base + "/api/login", json={"login": login, "password": login}) as r:
            r.raise_for_status()
            cookie = r.cookies["cti_session"].value if "cti_session" in r.cookies else \
                next(iter(r.cookies.values())).value
            name = "cti_session" if "cti_session" in r.cookies else next(iter(r.cookies.keys()))
        async with websockets.connect(base.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": f"{name}={cookie}"}) as ws:
            async with http.post(base + "/api/agent/state", json={"state": "ready"}) as r:
                if r.status >= 400:
                    raise RuntimeError(f"agent {login} could not sign in: {await r.text()}")
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                recv = time.time()
                for msg in messages_of(raw):  # a frame holds one message or an array of them
                    if (msg["type"] == "agent_state" and msg["data"].get("id") == login
                            and msg["data"]["state"] == "ready"):
                        ready.set()
                    if msg["type"] == "call_ringing":
                        pops.setdefault((msg["data"]["linkedid"], f"PJSIP/{login}"), recv)


async def run(rate: float, seconds: float) -> None:
    dsn = await fresh_dsn()

    product = await start_product(dsn, rate, ["--seed", "7", "--talk", "2:5", "--ring", "0.5:1.5"],
                                  {"CTI_CALLCENTER_WRAPUP_SECONDS": "1"}, "bench-journal.jsonl")
    sim, server, ami_port, http_port = product.sim, product.server, product.ami_port, product.http_port
    bare = await spawn(sys.executable, str(ROOT / "bench" / "bare_reader.py"), "127.0.0.1", str(ami_port),
                       "cti", "cti-secret")

    pops: dict = {}
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in AGENTS]
    base = f"http://127.0.0.1:{http_port}"
    sessions = [asyncio.create_task(agent_session(base, a, pops, r, stop)) for a, r in zip(AGENTS, readies)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    print(f"bench: {len(AGENTS)} agents ready, simulator at {rate:g} calls/min, measuring {seconds:g} s",
          file=sys.stderr)
    cpu0 = {p.pid: cpu_seconds(p.pid) for p in (server, sim, bare)}
    t0 = time.time()
    for i in range(int(seconds)):
        await asyncio.sleep(1)  # the measurement window, not a synchronisation
        if i % 10 == 9:
            print(f"bench: {i + 1}/{int(seconds)} s, {len(pops)} pops so far", file=sys.stderr)
    wall = time.time() - t0
    cpu = {p.pid: cpu_seconds(p.pid) - cpu0[p.pid] for p in (server, sim, bare)}
    stop.set()
    await asyncio.gather(*sessions, return_exceptions=True)
    bare.send_signal(signal.SIGTERM)
    out, _ = await bare.communicate()
    called, events = [], 0
    for line in out.decode().splitlines():
        rec = json.loads(line)
        if "events" in rec:
            events = rec["events"]
        elif t0 <= rec["ts"] <= t0 + wall:
            called.append(rec)
    await product.stop()

    pop_lat = [(pops[(c["linkedid"], c["interface"])] - c["ts"]) * 1000 for c in called
               if (c["linkedid"], c["interface"]) in pops]
    bare_lat = [(c["recv"] - c["ts"]) * 1000 for c in called]
    rows = [("bare panoramisk client (baseline)", bare_lat), ("CTI server: AgentCalled → websocket pop", pop_lat)]
    print(f"\n{'path':<42} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, lat in rows:
        print(f"{name:<42} {len(lat):>5} {pct(lat, 50):>8.2f} {pct(lat, 95):>8.2f} {pct(lat, 99):>8.2f}")
    if bare_lat and pop_lat:
        print(f"{'ratio server / baseline':<42} {'':>5} {pct(pop_lat, 50) / pct(bare_lat, 50):>8.1f} "
              f"{pct(pop_lat, 95) / pct(bare_lat, 95):>8.1f} {pct(pop_lat, 99) / pct(bare_lat, 99):>8.1f}")
    print(f"\nAMI events in the stream: {events} ({events / wall:.1f}/s over {wall:.0f} s, all handled by the server);"
          f" AgentCalled: {len(called)}, pops matched: {len(pop_lat)}")
    print(f"CPU (share of one core): server {cpu[server.pid] / wall:.1%}, bare panoramisk client "
          f"{cpu[bare.pid] / wall:.1%} (ratio {cpu[server.pid] / max(cpu[bare.pid], 1e-9):.1f}x), "
          f"simulator {cpu[sim.pid] / wall:.1%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=60.0, help="simulated inbound calls per minute")
    p.add_argument("--seconds", type=float, default=60.0, help="measurement window")
    ns = p.parse_args()
    asyncio.run(run(ns.rate, ns.seconds))


if __name__ == "__main__":
    main()
