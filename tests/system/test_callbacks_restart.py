"""A pending callback survives the CTI server's restart and a dropped AMI link (the simulator and the
IVR run on as their own services, as in docker-compose): it is made in turn afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr.server import IvrServer
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conftest import ROOT, running, stack_config
from tests.support.calls import is_state

CALLER = "13800138000"
WAIT = 30.0
OVERRIDES = {
    "callcenter.wrapup_seconds": 1.0,
    "callbacks.agent_ring_seconds": 5,
    "callbacks.dial_seconds": 5,
    "ivr.enabled": False,
}


async def request_callback(stack: Any, sim: PbxSim) -> tuple[Any, Any, dict]:
    """1001 ready, then busy with caller B; caller A waits, presses 5, keeps their number: one pending callback."""
    agent, boss = stack.client(), stack.client()
    await agent.login("1001")
    await boss.login("1900")
    await agent.connect()
    await boss.connect()
    assert (await agent.post("/api/agent/state", {"state": "ready"}))[0] < 300
    sim.set_phone("1001", Phone(answer_after=0.2))
    busy = await sim.place_call(
        CallerScript(number="13900000002", keys="1", keys_at=0.2)
    )
    await agent.expect("agent_state", is_state("1001", "on_call"), timeout=WAIT)
    await sim.place_call(
        CallerScript(number=CALLER, dtmf=((0.2, "1"), (3.0, "5"), (11.0, "1")))
    )
    listed = await boss.expect(
        "notice",
        lambda d: (
            d.get("kind") == "callbacks" and any(q["pending"] for q in d["queues"])
        ),
        timeout=WAIT,
    )
    entry = next(q for q in listed["queues"] if q["queue"] == "support")["pending"][0]
    await agent.close()
    await boss.close()
    return busy, agent, entry


async def made_in_turn(stack: Any, sim: PbxSim, entry: dict) -> None:
    """The callback is made by 1001 (rung first, then the caller dialled) and ends connected, in PostgreSQL too."""
    boss = stack.client()
    await boss.login("1900")
    snap = await boss.connect()
    assert snap["callbacks"] is not None
    await boss.expect(
        "notice",
        lambda d: (
            d.get("kind") == "callbacks"
            and any(
                r["id"] == entry["id"] and r["state"] == "connected"
                for r in d["recent"]
            )
        ),
        timeout=WAIT,
    )
    await stack.core.settled()
    assert await stack.app.callbacks.repo.flush()
    rows = await stack.store._fetch(
        "SELECT state, agent_id, joined_at FROM callbacks WHERE id = $1", entry["id"]
    )
    assert [(r["state"], r["agent_id"]) for r in rows] == [("connected", "1001")]
    assert (
        rows[0]["joined_at"].timestamp() == entry["joined_at"]
    )  # its place in line was kept
    await boss.close()


async def test_a_pending_callback_survives_a_restart_of_the_server(
    db_dsn: str, tmp_path: Path
) -> None:
    ivr = IvrServer(port=0)
    await ivr.start()
    sim = PbxSim(
        SimConfig(
            conf_dir=str(ROOT / "asterisk_conf"),
            timestamp_events=True,
            agi_host="127.0.0.1",
            agi_port=ivr.port,
        )
    )
    await sim.start()
    try:

        def cfg():
            return stack_config(
                db_dsn,
                tmp_path,
                **{"ami.host": "127.0.0.1", "ami.port": sim.ami_port, **OVERRIDES},
            )

        async with running(cfg(), seed=True) as first:
            await first.core.link_ready.wait()
            busy, _, entry = await request_callback(first, sim)
            await first.core.settled()
        # the server is down; the agent's call ends meanwhile
        sim.set_phone("outside", Phone(answer_after=0.3, hangup_after_answer=2.0))
        await busy.hangup()
        async with running(cfg(), seed=True) as second:
            await second.core.link_ready.wait()
            assert [cb.id for cb in second.app.callbacks.callbacks.values()] == [
                entry["id"]
            ]
            await made_in_turn(second, sim, entry)
    finally:
        await sim.stop()
        await ivr.stop()


async def test_a_pending_callback_survives_a_dropped_ami_link(
    db_dsn: str, tmp_path: Path
) -> None:
    ivr = IvrServer(port=0)
    await ivr.start()
    sim = PbxSim(
        SimConfig(
            conf_dir=str(ROOT / "asterisk_conf"),
            timestamp_events=True,
            agi_host="127.0.0.1",
            agi_port=ivr.port,
        )
    )
    await sim.start()
    try:
        cfg = stack_config(
            db_dsn,
            tmp_path,
            **{"ami.host": "127.0.0.1", "ami.port": sim.ami_port, **OVERRIDES},
        )
        async with running(cfg, seed=True) as stack:
            await stack.core.link_ready.wait()
            busy, _, entry = await request_callback(stack, sim)
            await (
                sim.ami_down()
            )  # Asterisk's AMI goes away; the agent's call ends meanwhile
            sim.set_phone("outside", Phone(answer_after=0.3, hangup_after_answer=2.0))
            await busy.hangup()
            assert (
                entry["id"] in stack.app.callbacks.callbacks
            )  # nothing is tried while the link is down
            await sim.ami_up()
            await made_in_turn(stack, sim, entry)
    finally:
        await sim.stop()
        await ivr.stop()
