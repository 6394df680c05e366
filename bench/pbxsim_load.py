"""The simulator's own cost with 2,000 queue members under call load (no CTI server).

Starts PbxSim in-process with ``--agents`` extra endpoints (PJSIP/2000...), signs them all
into queue ``support`` over AMI (QueueAdd, as the CTI server would), keeps one AMI session
reading every event (as the CTI server would), and places calls at ``--rate`` per simulated
minute (DemoTraffic: IVR key 1, ring 0.5-1.5 s, talk ``--talk``) while agents go busy and
ready again (``--state-changes`` QueuePause actions per second). Prints the calls and AMI
events handled, the CPU the process used per simulated minute and per event, and the event
loop's lag (how late a 20 ms ticker wakes: what a slow simulator would add to every
latency measured through it). ``--profile out.prof`` also writes a cProfile of the run and
prints its top functions.

    .venv/bin/python bench/pbxsim_load.py --agents 2000 --rate 300 --seconds 60
    .venv/bin/python bench/pbxsim_load.py --agents 2000 --rate 300 --seconds 30 --time-scale 4 --profile /tmp/sim.prof
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import resource
import shutil
import tempfile
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pbxsim.demo import DemoTraffic, parse_range  # noqa: E402
from pbxsim.sim import PbxSim, SimConfig  # noqa: E402

CONF = Path(__file__).resolve().parents[2] / "shared" / "ami-traces" / "conf"  # Background/WaitExten IVR: no FastAGI server needed


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


class Reader:
    """One AMI session counting every message (the CTI server's place)."""

    def __init__(self) -> None:
        self.events = 0
        self.replies: dict[str, asyncio.Future] = {}
        self.writer: asyncio.StreamWriter | None = None

    async def start(self, port: int) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        asyncio.ensure_future(self._read(reader))
        await self.act([("Action", "Login"), ("Username", "cti"), ("Secret", "cti-secret")], "login")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                block = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the simulator stopped
            if block.startswith(b"Event:"):
                self.events += 1
            elif b"ActionID: " in block:
                aid = block.split(b"ActionID: ", 1)[1].split(b"\r\n", 1)[0].decode()
                fut = self.replies.pop(aid, None)
                if fut is not None and not fut.done():
                    fut.set_result(block)

    async def act(self, fields: list[tuple[str, str]], aid: str) -> bytes:
        fut = asyncio.get_running_loop().create_future()
        self.replies[aid] = fut
        assert self.writer is not None
        self.writer.write(("".join(f"{k}: {v}\r\n" for k, v in fields + [("ActionID", aid)]) + "\r\n").encode())
        return await asyncio.wait_for(fut, 30)


async def state_changes(reader: Reader, agents: int, per_second: float, stop: asyncio.Event,
                        seen: list[float]) -> None:
    """Agents going busy (QueuePause with a reason) and ready again, as the CTI server sends them."""
    import random
    rng = random.Random(11)
    paused: set[int] = set()
    n = 0
    while not stop.is_set() and per_second > 0:
        await asyncio.sleep(rng.expovariate(per_second))
        agent = 2000 + rng.randrange(agents)
        pause = agent not in paused
        (paused.add if pause else paused.discard)(agent)
        n += 1
        t0 = time.monotonic()
        await reader.act([("Action", "QueuePause"), ("Interface", f"PJSIP/{agent}"),
                          ("Paused", "true" if pause else "false"), ("Reason", "lunch" if pause else "")], f"p{n}")
        seen.append((time.monotonic() - t0) * 1000)


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    period = 0.02
    while not stop.is_set():
        t0 = time.monotonic()
        await asyncio.sleep(period)
        lags.append((time.monotonic() - t0 - period) * 1000)


async def run(ns: argparse.Namespace) -> None:
    conf = Path(tempfile.mkdtemp(prefix="pbxsim-load-")) / "conf"
    shutil.copytree(CONF, conf)
    queues = (conf / "queues.conf").read_text().replace("wrapuptime = 0", f"wrapuptime = {ns.wrapuptime:g}")
    (conf / "queues.conf").write_text(queues.replace("maxlen = 20", "maxlen = 0"))
    sim = PbxSim(SimConfig(conf_dir=str(conf), time_scale=ns.time_scale, extra_agents=ns.agents,
                           extra_agent_first=2000))
    await sim.start()
    completes = 0

    def count(event: str, fields) -> None:
        nonlocal completes
        if event == "AgentComplete":
            completes += 1

    sim.listeners.append(count)
    reader = Reader()
    await reader.start(sim.ami_port)
    t0 = time.monotonic()
    for n in range(2000, 2000 + ns.agents):
        await reader.act([("Action", "QueueAdd"), ("Queue", "support"), ("Interface", f"PJSIP/{n}"),
                          ("MemberName", f"Agent {n}"), ("Penalty", str(n % 3))], f"add{n}")
    signin = time.monotonic() - t0
    print(f"bench: {ns.agents} members added over AMI in {signin:.2f} s", flush=True)

    demo = DemoTraffic(sim, ns.rate, seed=7, abandon_ratio=0.05, talk=parse_range(ns.talk), ring=(0.5, 1.5))
    lags: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.ensure_future(ticker(lags, stop))
    pause_ms: list[float] = []
    changes = asyncio.ensure_future(state_changes(reader, ns.agents, ns.state_changes, stop, pause_ms))
    prof = cProfile.Profile() if ns.profile else None
    c0, e0, w0 = cpu(), reader.events, time.monotonic()
    if prof:
        prof.enable()
    demo.start()
    await asyncio.sleep(ns.seconds / ns.time_scale)  # the measured run: simulated seconds of traffic
    await demo.stop()
    if prof:
        prof.disable()
    used, events, wall = cpu() - c0, reader.events - e0, time.monotonic() - w0
    stop.set()
    await tick
    await changes
    sim_minutes = ns.seconds / 60
    busy = sum(1 for i in sim.truth()["interfaces"].values() if i["in_call"])
    print(f"bench: {ns.seconds:g} simulated s ({wall:.1f} real s, time scale {ns.time_scale:g}): "
          f"{demo.placed} calls placed, {completes} completed, {busy} agents on a call at the end")
    print(f"bench: {events} AMI events ({events / wall:.0f}/s real); CPU {used:.2f} s = "
          f"{used / sim_minutes:.2f} s per simulated minute, {used / max(events, 1) * 1e6:.0f} us per event, "
          f"{used / wall * 100:.0f}% of one core")
    print(f"bench: event-loop lag p50 {pct(lags, 50):.1f} ms, p99 {pct(lags, 99):.1f} ms, "
          f"max {max(lags, default=0):.1f} ms, mean {statistics.fmean(lags) if lags else 0:.1f} ms")
    if pause_ms:
        print(f"bench: {len(pause_ms)} QueuePause round trips: p50 {pct(pause_ms, 50):.2f} ms, "
              f"p99 {pct(pause_ms, 99):.2f} ms")
    await sim.stop()
    shutil.rmtree(conf.parent, ignore_errors=True)
    if prof:
        prof.dump_stats(ns.profile)
        pstats.Stats(prof).sort_stats("tottime").print_stats(ns.top)


def main() -> None:
    import structlog
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", type=int, default=2000)
    p.add_argument("--rate", type=float, default=300.0, help="calls per simulated minute")
    p.add_argument("--seconds", type=float, default=60.0, help="simulated seconds of traffic")
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--talk", default="20:120", help="talk time range (s), e.g. 2:5")
    p.add_argument("--state-changes", type=float, default=20.0, help="QueuePause/unpause actions per real second")
    p.add_argument("--wrapuptime", type=float, default=5.0, help="queue wrapuptime (asterisk_conf's is 5)")
    p.add_argument("--profile", default="", help="write a cProfile here and print the top functions")
    p.add_argument("--top", type=int, default=25)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
