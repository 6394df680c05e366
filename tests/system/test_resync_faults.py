"""Faults at random points of a busy simulated day: agent states must match the PBX's truth.

Each seed runs a random day on the simulator: inbound calls flow, agents sign in and out
and take breaks through the API, a supervisor forces changes, and at random moments the
AMI link is cut (Asterisk unreachable, calls go on) or the whole PBX restarts (calls and
queue members gone). After the day every agent's state as the server shows it is compared
with the simulator's own truth, and agents who were signed in before a restart must be
signed in again (the store remembers who should be). ``CTI_FAULT_SEEDS=50 make test
ARGS=tests/system/test_resync_faults.py`` runs more seeds.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Callable

import pytest

from pbxsim.demo import DemoTraffic
from pbxsim.scripts import Phone
from tests.conftest import running, stack_config

SEEDS = range(int(os.environ.get("CTI_FAULT_SEEDS", "4")))
AGENTS = ("1001", "1002", "1003")
REASONS = ("break", "lunch", "meeting")


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a condition of the running system (checked every 50 ms), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


def truth_state(sim, interface: str) -> tuple[str, str]:
    t = sim.interface_truth(interface)
    if not t["queues"]:
        return "logged_out", ""
    if t["paused"]:
        return "not_ready", t["reason"]
    return "ready", ""


@pytest.mark.parametrize("seed", SEEDS)
async def test_agent_states_match_the_pbx_after_link_cuts_and_restarts(seed: int, db_dsn: str,
                                                                      tmp_path: Path) -> None:
    rng = random.Random(seed)
    cfg = stack_config(db_dsn, tmp_path, **{"callcenter.wrapup_seconds": 0.0, "demo.time_scale": 4.0})
    async with running(cfg) as stack:
        sim, core = stack.sim, stack.core
        await core.link_ready.wait()
        clients = {a: stack.client() for a in AGENTS + ("1900",)}
        try:
            for login, c in clients.items():
                await c.login(login)
            await clients["1900"].connect()
            for a in AGENTS:
                sim.set_phone(a, Phone(answer_after=rng.uniform(0.5, 2.0)))
                await clients[a].post("/api/agent/state", {"state": "ready"})
            traffic = DemoTraffic(sim, rate_per_minute=30, seed=seed, talk=(2.0, 8.0), ring=(0.5, 2.0))
            traffic.start()
            restarts = 0
            for _ in range(14):
                step = rng.random()
                agent = rng.choice(AGENTS)
                if step < 0.45:
                    target = rng.choice(["ready", "not_ready", "not_ready", "logged_out"])
                    body = {"state": target} | ({"reason": rng.choice(REASONS)} if target == "not_ready" else {})
                    who = clients["1900"] if rng.random() < 0.3 else clients[agent]
                    if who is clients["1900"]:
                        body["agent"] = agent
                    status, reply = await who.post("/api/agent/state", body)
                    assert status < 300 or status in (409, 503), reply  # refused cleanly, never a 500
                elif step < 0.75:
                    mark = len(clients["1900"].received)
                    await sim.ami_down()
                    await asyncio.sleep(rng.uniform(0.05, 0.6))  # how long Asterisk stays unreachable
                    await sim.ami_up()
                    await clients["1900"].expect("link", lambda d: d["ami"] is True, after=mark, timeout=20)
                elif step < 0.85:
                    mark = len(clients["1900"].received)
                    await sim.restart()
                    restarts += 1
                    await clients["1900"].expect("link", lambda d: d["ami"] is True, after=mark, timeout=20)
                await asyncio.sleep(rng.uniform(0.0, 0.8))  # pacing the random day, not synchronising

            # End of the day: no new calls; let the last ones finish, then everything settles.
            await traffic.stop()
            await until(lambda: not sim.truth()["channels"], 60, "the simulator has no call left")
            await until(lambda: not core.tracker.calls, 20, "the server has no call left")
            await asyncio.wait_for(core.settled(), 20)

            for a in AGENTS:
                view = core.book.view(a)
                assert (view["state"], view["reason"]) == truth_state(sim, f"PJSIP/{a}"), \
                    f"seed {seed}: agent {a} shows {view['state']}({view['reason']}) but the PBX says " \
                    f"{truth_state(sim, f'PJSIP/{a}')}"
            # the store's memory of who should be signed in agrees with the PBX too
            signins = {s.agent_id: s for s in await stack.store.list_signins()}
            for a in AGENTS:
                state, reason = truth_state(sim, f"PJSIP/{a}")
                if state == "logged_out":
                    assert a not in signins, f"seed {seed}: {a} is signed out but remembered as signed in"
                else:
                    assert a in signins and signins[a].paused == (state == "not_ready")
                    assert (signins[a].reason or "") == reason
        finally:
            for c in clients.values():
                await c.close()
