"""Asterisk restarting under live calls, the simulator's truth(), and endpoints for load runs."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import Recorder
from tests.support.traces import RECORDED_CONF

CONF = RECORDED_CONF
WAIT = 10.0
LOGIN = [("Action", "Login"), ("ActionID", "l1"), ("Username", "cti"), ("Secret", "cti-secret")]


@pytest.fixture
async def sim() -> AsyncIterator[PbxSim]:
    s = PbxSim(SimConfig(conf_dir=str(CONF), time_scale=20.0))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


async def logged_in(port: int) -> Recorder:
    rec = Recorder()
    await rec.connect(port)
    rec.send(LOGIN)
    await rec.reply("l1")
    return rec


async def test_restart_drops_sessions_calls_and_members_silently_and_listens_again(sim: PbxSim) -> None:
    rec = await logged_in(sim.ami_port)
    port = sim.ami_port
    for n, ep in enumerate(("1001", "1002"), 1):
        rec.send([("Action", "QueueAdd"), ("ActionID", f"a{n}"), ("Queue", "support"), ("Interface", f"PJSIP/{ep}"),
                  ("Paused", "true" if ep == "1002" else "false"), ("Reason", "lunch")])
        await rec.reply(f"a{n}")
    sim.set_phone("1001", Phone(answer_after=0.5))
    talking = await sim.place_call(CallerScript(keys="1"))
    await rec.event("BridgeEnter", count=2)
    waiting = await sim.place_call(CallerScript(keys="1"))  # 1002 paused, 1001 busy: waits in the queue
    await rec.event("QueueCallerJoin", count=2)
    heard: list[str] = []
    sim.listeners.append(lambda event, fields: heard.append(event))
    before = {c["uniqueid"] for c in sim.truth()["channels"]}

    await sim.restart()

    await asyncio.wait_for(rec.closed.wait(), WAIT)
    assert not [h for h in rec.received if h.get("Event") in ("Hangup", "QueueMemberRemoved", "AgentComplete")]
    assert heard == []  # the link went first: nobody hears the calls end
    await asyncio.wait_for(asyncio.gather(talking.ended(), waiting.ended()), WAIT)
    truth = sim.truth()
    assert truth["interfaces"] == {} and truth["members"] == [] and truth["channels"] == []
    assert truth["waiting"] == {"support": []}

    again = await logged_in(port)  # the same port
    again.send([("Action", "QueueStatus"), ("ActionID", "q1")])
    assert (await again.reply("q1")).get("ListItems") == "1"  # QueueParams only: persistentmembers=no
    again.send([("Action", "CoreShowChannels"), ("ActionID", "c1")])
    assert (await again.reply("c1")).get("ListItems") == "0"
    again.send([("Action", "QueueSummary"), ("ActionID", "s1")])
    await again.reply("s1")
    summary = [h for h in again.received if h.get("Event") == "QueueSummary"][0]
    assert (summary.get("LoggedIn"), summary.get("Callers")) == ("0", "0")

    # the restarted Asterisk takes calls again, with Uniqueids that never repeat
    again.send([("Action", "QueueAdd"), ("ActionID", "a3"), ("Queue", "support"), ("Interface", "PJSIP/1001")])
    await again.reply("a3")
    sim.set_phone("1001", Phone(answer_after=0.5, hangup_after_answer=1.0))
    after = await sim.place_call(CallerScript(keys="1"))
    await again.event("AgentComplete")
    assert after.answered_by == "PJSIP/1001" and after.uniqueid not in before
    assert float(after.uniqueid.split(".")[1]) > max(float(u.split(".")[1]) for u in before)
    await again.close()


async def test_sim_restart_action_answers_then_drops_the_link(sim: PbxSim) -> None:
    rec = await logged_in(sim.ami_port)
    sim.queues.add_member("support", "PJSIP/1003", "Agent Carol")
    rec.send([("Action", "SimRestart"), ("ActionID", "r1")])
    assert (await rec.reply("r1")).get("Response") == "Success"
    await asyncio.wait_for(rec.closed.wait(), WAIT)
    assert sim.restart_task is not None
    await asyncio.wait_for(sim.restart_task, WAIT)  # the listener is back once the restart is done
    again = await logged_in(sim.ami_port)
    assert sim.truth()["members"] == []
    await again.close()


async def test_truth_tells_per_interface_queues_pause_ringing_call_and_hold(sim: PbxSim) -> None:
    rec = await logged_in(sim.ami_port)
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice", penalty=3)
    sim.queues.add_member("support", "PJSIP/1002", "Agent Bob", paused=True, reason="training")
    sim.set_phone("1001", Phone(ring_forever=True))
    call = await sim.place_call(CallerScript(keys="1"))
    await rec.event("AgentCalled")
    t = sim.truth()["interfaces"]
    assert t["PJSIP/1001"]["ringing"] and not t["PJSIP/1001"]["in_call"]
    assert t["PJSIP/1001"]["queues"] == {"support": {"penalty": 3, "paused": False, "reason": "", "status": 6,
                                                     "in_call": False, "ringing": True, "calls_taken": 0}}
    assert (t["PJSIP/1002"]["paused"], t["PJSIP/1002"]["reason"], t["PJSIP/1002"]["ringing"]) == (True, "training",
                                                                                                 False)
    # pausing the ringing member does not stop the ring (trace 05)
    sim.queues.pause_member("PJSIP/1001", True, "lunch")
    t = sim.truth()["interfaces"]["PJSIP/1001"]
    assert t["paused"] and t["reason"] == "lunch" and t["ringing"]
    await call.hangup()
    await asyncio.wait_for(call.ended(), WAIT)

    sim.queues.pause_member("PJSIP/1001", False)
    sim.set_phone("1001", Phone(answer_after=0.5))
    call = await sim.place_call(CallerScript(keys="1"))
    await rec.event("BridgeEnter", count=2)
    t = sim.truth()["interfaces"]["PJSIP/1001"]
    assert t["in_call"] and t["in_queue_call"] and not t["on_hold"] and t["device"] == "INUSE"
    await sim.phone_hold("1001", True)
    assert sim.truth()["interfaces"]["PJSIP/1001"]["on_hold"]
    with pytest.raises(ValueError):
        await sim.phone_hold("1003", True)  # no call to hold
    with pytest.raises(KeyError):
        await sim.phone_hold("9999", True)
    await call.hangup()
    await asyncio.wait_for(call.ended(), WAIT)
    t = sim.truth()["interfaces"]["PJSIP/1001"]
    assert not (t["in_call"] or t["on_hold"] or t["ringing"]) and t["channels"] == []
    await rec.close()


async def test_extra_agents_are_endpoints_that_can_be_queued_and_rung() -> None:
    sim = PbxSim(SimConfig(conf_dir=str(CONF), time_scale=50.0, extra_agents=3, extra_agent_first=2000,
                           default_phone=Phone(answer_after=0.5, hangup_after_answer=1.0)))
    await sim.start()
    try:
        assert {"2000", "2001", "2002"} <= set(sim.endpoints) and "2003" not in sim.endpoints
        assert sim.endpoints["2001"].context == sim.endpoints["1001"].context
        rec = await logged_in(sim.ami_port)
        rec.send([("Action", "QueueAdd"), ("ActionID", "a1"), ("Queue", "support"), ("Interface", "PJSIP/2001")])
        await rec.reply("a1")
        added = await rec.event("QueueMemberAdded")
        assert added.get("Status") == "1"  # a known, free device (not INVALID)
        call = await sim.place_call(CallerScript(keys="1"))
        connect = await rec.event("AgentConnect")
        assert connect.get("DestCallerIDName") == "Agent 2001" and call.answered_by == "PJSIP/2001"
        await asyncio.wait_for(call.ended(), WAIT)
        await rec.close()
    finally:
        await sim.stop()
    with pytest.raises(ValueError):
        PbxSim(SimConfig(conf_dir=str(CONF), extra_agents=2, extra_agent_first=1000))  # 1001 is in pjsip.conf
    with pytest.raises(ValueError):
        SimConfig(conf_dir=str(CONF), extra_agents=-1)
