"""Supervision on the simulator as trace 18 shows Asterisk 22.10.1 doing it with asterisk_conf/:
ChanSpy's ``d`` option switched by ``PlayDTMF Receive=true``, and the intercept: an AMI ``Bridge`` of
a queue's caller (bridged with the agent) and of the supervisor's channel running ChanSpy.

The product's dialplan runs with the FastAGI IVR down (its port closed), so the caller reaches
the queue through ``[ivr] failsafe`` (Queue() in the dialplan itself); trace 18's path through
the IVR's EXEC Queue is compared in tests/conformance/test_supervision_trace.py. Events are read
in-process (``sim.listeners``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path
from typing import AsyncIterator

import pytest

from pbxsim.kernel.actions import ActionError, Request
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig

CONF = str(Path(__file__).resolve().parents[3] / "asterisk_conf")
WAIT = 10.0


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Seen:
    """Every event of the simulator, and a way to wait for one."""

    def __init__(self, sim: PbxSim) -> None:
        self.events: list[tuple[str, dict[str, str]]] = []
        self.changed = asyncio.Event()
        sim.listeners.append(self.add)

    def add(self, event: str, fields: list[tuple[str, str]]) -> None:
        self.events.append((event, dict(fields)))
        self.changed.set()

    async def wait(self, event: str, **match: str) -> dict[str, str]:
        async def find() -> dict[str, str]:
            while True:
                for ev, f in self.events:
                    if ev == event and all(f.get(k) == v for k, v in match.items()):
                        return f
                self.changed.clear()
                await self.changed.wait()
        return await asyncio.wait_for(find(), WAIT)

    def since(self, mark: int, *names: str) -> list[tuple[str, dict[str, str]]]:
        return [(ev, f) for ev, f in self.events[mark:] if not names or ev in names]


@pytest.fixture
async def sim() -> AsyncIterator[PbxSim]:
    s = PbxSim(SimConfig(conf_dir=CONF, time_scale=20.0, agi_host="127.0.0.1", agi_port=closed_port()))
    s.queues.add_member("support", "PJSIP/1001", "Agent Alice", "PJSIP/1001", 0, False, "")
    s.set_phone("1001", Phone(answer_after=0.3))
    s.set_phone("1900", Phone(answer_after=0.2))
    try:
        yield s
    finally:
        await s.stop()


async def spying(sim: PbxSim, seen: Seen, flag: str = "") -> tuple[object, str]:
    """A customer answered by 1001, and 1900 Originated into cti-spy,1001 (the server's monitor)."""
    call = await sim.place_call(CallerScript(keys="", hangup_after_answer=600))
    await asyncio.wait_for(call.answered.wait(), WAIT)
    spy = await asyncio.wait_for(sim.originate("1900", "cti-spy", "1001", cid_num="1001", cid_name="Monitor 1001",
                                               variables={"CTI_SPY_MODE": flag}, uniqueid="cti-spy-0001"), WAIT)
    assert spy is not None
    await seen.wait("ChanSpyStart", SpyerChannel=spy.name)
    return call, spy.name


async def play(sim: PbxSim, channel: str, digit: str, **more: str) -> list[tuple[str, str]]:
    msg = {"action": "PlayDTMF", "channel": channel, "digit": digit, **{k.lower(): v for k, v in more.items()}}
    return (await sim.dtmf.action_playdtmf(Request(msg, [("ActionID", "x")])))[0]


def modes(sim: PbxSim) -> list[str]:
    return [s["mode"] for s in sim.truth()["spies"]]


async def test_playdtmf_received_switches_chanspy_modes_with_option_d(sim: PbxSim) -> None:
    seen = Seen(sim)
    _, spy = await spying(sim, seen)
    assert modes(sim) == ["listen"]
    for digit, mode in (("5", "whisper"), ("6", "barge"), ("4", "listen"), ("6", "barge")):
        mark = len(seen.events)
        reply = await play(sim, spy, digit, Receive="true")
        assert reply == [("Response", "Success"), ("ActionID", "x"), ("Message", "DTMF successfully queued")]
        await asyncio.sleep(0.05)
        assert modes(sim) == [mode]
        (dtmf,) = seen.since(mark, "DTMFEnd", "DTMFBegin")  # no DTMFBegin: a lone DTMF end, as recorded
        assert dtmf[0] == "DTMFEnd" and (dtmf[1]["Channel"], dtmf[1]["Digit"], dtmf[1]["DurationMs"],
                                         dtmf[1]["Direction"]) == (spy, digit, "0", "Received")
        assert dtmf[1]["Privilege"] == "dtmf,all" and dtmf[1]["Uniqueid"] == "cti-spy-0001"
    mark = len(seen.events)
    await play(sim, spy, "7", Receive="yes", Duration="250")  # not a mode digit: nothing changes
    assert seen.since(mark, "DTMFEnd")[0][1]["DurationMs"] == "250"
    await asyncio.sleep(0.05)
    assert modes(sim) == ["barge"]
    assert [ev for ev, _ in seen.events].count("ChanSpyStart") == 1  # the same spy all along


async def test_playdtmf_sent_to_the_phone_shows_nothing_and_bad_requests_are_refused(sim: PbxSim) -> None:
    seen = Seen(sim)
    _, spy = await spying(sim, seen)
    mark = len(seen.events)
    started = sim.clock.now()
    assert (await play(sim, spy, "5"))[-1] == ("Message", "DTMF successfully queued")
    assert sim.clock.now() - started >= 0.1  # the default 100 ms digit is played before the reply
    await asyncio.sleep(0.05)
    assert seen.since(mark, "DTMFEnd", "DTMFBegin") == [] and modes(sim) == ["listen"]  # the phone got it
    for msg, error in (({"channel": "PJSIP/nobody-00000009", "digit": "5"}, "Channel not found"),
                       ({"channel": spy}, "No digit specified"),
                       ({"channel": spy, "digit": "5", "duration": "soon"}, "Could not convert Duration parameter")):
        with pytest.raises(ActionError, match=error):
            await sim.dtmf.action_playdtmf(Request(msg, []))


async def test_without_option_d_a_received_digit_does_not_switch(sim: PbxSim) -> None:
    seen = Seen(sim)
    call = await sim.place_call(CallerScript(keys="", hangup_after_answer=600))
    await asyncio.wait_for(call.answered.wait(), WAIT)
    steps = sim.kernel.contexts["cti-spy"]["_X."].steps
    steps[2] = dataclasses.replace(steps[2], data="PJSIP/${EXTEN},qES${CTI_SPY_MODE}")  # no d
    spy = await asyncio.wait_for(sim.originate("1900", "cti-spy", "1001", variables={"CTI_SPY_MODE": "w"}), WAIT)
    assert spy is not None
    await seen.wait("ChanSpyStart", SpyerChannel=spy.name)
    assert modes(sim) == ["whisper"]
    await play(sim, spy.name, "6", Receive="true")
    await asyncio.sleep(0.05)
    assert modes(sim) == ["whisper"]


async def intercept(sim: PbxSim, seen: Seen) -> tuple[object, str, str, int]:
    call, spy = await spying(sim, seen)
    agent = next(n for n in sim.channels if n.startswith("PJSIP/1001-"))
    mark = len(seen.events)
    assert sim.moves.bridge(call.channel_name, spy) == "Channels have been bridged"
    await seen.wait("BridgeEnter", Channel=spy)
    return call, spy, agent, mark


def story(seen: Seen, mark: int) -> list[tuple[str, str]]:
    keep = ("BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy", "HangupRequest", "SoftHangupRequest",
            "Hangup", "AgentComplete", "ChanSpyStop", "Newexten")
    return [(ev, (f.get("Channel") or "").split("-")[0]) for ev, f in seen.since(mark, *keep)]


async def test_intercept_moves_the_caller_with_its_queue_hangs_up_the_agent_leg_and_yanks_the_spy(
        sim: PbxSim) -> None:
    seen = Seen(sim)
    call, spy, agent, mark = await intercept(sim, seen)
    await asyncio.sleep(0.05)
    assert story(seen, mark) == [
        ("BridgeCreate", ""), ("BridgeLeave", "PJSIP/caller"), ("BridgeEnter", "PJSIP/caller"),
        ("BridgeLeave", "PJSIP/1001"), ("BridgeDestroy", ""), ("Hangup", "PJSIP/1001"),
        ("BridgeEnter", "PJSIP/1900")]  # no HangupRequest for the agent's leg, no ChanSpyStop, no AgentComplete
    hangup = next(f for ev, f in seen.since(mark, "Hangup"))
    assert (hangup["Channel"], hangup["Cause"]) == (agent, "16")
    enter = next(f for ev, f in seen.since(mark, "BridgeEnter") if f["Channel"] == spy)
    # the spy's after-bridge goto is its next priority; the bridge gives it the customer's Linkedid
    assert (enter["Priority"], enter["Uniqueid"], enter["Linkedid"], enter["BridgeNumChannels"]) == (
        "4", "cti-spy-0001", call.uniqueid, "2")
    status = next(f for ev, f in seen.since(mark, "QueueMemberStatus"))  # the member's call is over
    assert (status["Status"], status["CallsTaken"], status["InCall"]) == ("1", "1", "0")
    truth = sim.truth()
    assert truth["spies"] == []
    chans = {c["channel"]: c for c in truth["channels"]}
    assert set(chans) == {call.channel_name, spy} and chans[call.channel_name]["bridge"] == chans[spy]["bridge"]
    customer = sim.channels[call.channel_name]
    assert (customer.app, customer.context, customer.exten, customer.priority) == ("Queue", "ivr", "failsafe", 7)
    assert (sim.channels[spy].app, sim.channels[spy].priority) == ("", 4)
    with pytest.raises(Exception, match="does not exist"):
        sim.moves.bridge(agent, spy)  # gone

    mark = len(seen.events)
    await call.hangup()  # the customer hangs up: the supervisor's channel runs Hangup() at its after-bridge goto
    await call.ended()
    await seen.wait("Hangup", Channel=spy)
    assert story(seen, mark) == [
        ("HangupRequest", "PJSIP/caller"), ("AgentComplete", "PJSIP/caller"), ("BridgeLeave", "PJSIP/caller"),
        ("BridgeLeave", "PJSIP/1900"), ("BridgeDestroy", ""), ("SoftHangupRequest", "PJSIP/caller"),
        ("Hangup", "PJSIP/caller"), ("Newexten", "PJSIP/1900"), ("SoftHangupRequest", "PJSIP/1900"),
        ("Hangup", "PJSIP/1900")]
    (complete,) = [f for ev, f in seen.since(mark, "AgentComplete")]
    assert complete["Reason"] == "caller" and complete["Interface"] == "PJSIP/1001"
    assert not [k for k in complete if k.startswith("Dest")]  # the agent's leg is long gone
    assert not sim.channels and not sim.bridges


async def test_supervisor_hanging_up_sends_the_caller_on_after_its_queue(sim: PbxSim) -> None:
    seen = Seen(sim)
    call, spy, _, _ = await intercept(sim, seen)
    mark = len(seen.events)
    sim.channels[spy].request_hangup(16)  # the supervisor's phone hangs up
    await call.ended()
    assert story(seen, mark)[:4] == [("HangupRequest", "PJSIP/1900"), ("BridgeLeave", "PJSIP/1900"),
                                     ("BridgeLeave", "PJSIP/caller"), ("BridgeDestroy", "")]
    steps = [(f["Priority"], f["Application"]) for ev, f in seen.since(mark, "Newexten")
             if f["Channel"] == call.channel_name]
    # the goto shows the next priority while Queue still runs; that step itself runs without a Newexten
    assert steps[0] == ("8", "Queue") and steps[1][0] == "9" and steps[-1][1] == "Hangup"
    ends = [ev for ev, f in seen.since(mark, "SoftHangupRequest", "AgentComplete", "Hangup")
            if f.get("Channel") == call.channel_name]
    assert ends == ["SoftHangupRequest", "AgentComplete", "Hangup"]  # the late AgentComplete comes with its end


async def test_bridge_refuses_the_agent_leg_of_a_queue_call(sim: PbxSim) -> None:
    seen = Seen(sim)
    _, spy = await spying(sim, seen)
    agent = next(n for n in sim.channels if n.startswith("PJSIP/1001-"))
    with pytest.raises(Exception, match="Redirect it first"):
        sim.moves.bridge(agent, spy)
    assert modes(sim) == ["listen"]
