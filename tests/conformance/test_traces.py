"""The simulator against real Asterisk 22.10.1 recordings (../shared/ami-traces).

Each test drives the simulator as the trace's .md describes (the same AMI actions, sent
verbatim by ActionID; the SIPp parties played by Phone/CallerScript with the recorded
timings), records the AMI stream over a plain TCP socket and compares it with the recording:
every action reply, every list item, and the call's events per channel / bridge / member
(what is ignored and why: tests/conformance/compare.py). Simulated time runs 5x faster.
"""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.compare import assert_same_call, caller_apps, list_items, replies
from tests.conformance.recorder import Recorder
from tests.conformance.trace import Headers, messages, parse_trace, trace_path
from tests.support.traces import RECORDED_CONF

REPO = Path(__file__).resolve().parents[2]
CONF_DIRS = [RECORDED_CONF] + ([REPO / "asterisk_conf"] if (REPO / "asterisk_conf" / "queues.conf").exists() else [])
# Simulated seconds per real second. The recorder acts when it has read an event while
# simulated time runs on; at 5x a 100 ms stall of a loaded machine is half a simulated
# second, well inside the recordings' margins (a ring timeout, a talk time).
SPEED = 5.0


def recorded(prefix: str, reconnect: bool = False) -> list[Headers]:
    return [h for _, h in messages(parse_trace(trace_path(prefix, reconnect)), "<<")]


@pytest.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[PbxSim]:
    speed = getattr(request, "param", SPEED)
    s = PbxSim(SimConfig(conf_dir=str(RECORDED_CONF), time_scale=speed))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


async def session(sim: PbxSim, prefix: str, reconnect: bool = False) -> Recorder:
    rec = Recorder(trace_path(prefix, reconnect))
    await rec.connect(sim.ami_port)
    await rec.act("a1")
    return rec


async def finish(rec: Recorder, *action_ids: str) -> list[Headers]:
    for aid in action_ids:
        await rec.act(aid)
    await rec.closed.wait()
    return rec.received


def assert_replies(got: list[Headers], want: list[Headers]) -> None:
    assert replies(got) == replies(want)


def assert_lists(got: list[Headers], want: list[Headers], *action_ids: str) -> None:
    for aid in action_ids:
        assert list_items(got, aid) == list_items(want, aid), f"list reply of {aid} differs"


async def test_01_member_login_pause_logout_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "01")
    assert rec.greeting == b"Asterisk Call Manager/11.0.0\r\n"
    got = await finish(rec, *[f"a{i}" for i in range(2, 21)])
    want = recorded("01")
    assert_replies(got, want)
    assert_lists(got, want, "a6", "a7", "a9", "a17", "a18", "a19")
    assert_same_call(want, got)


async def test_02_ivr_queue_answer_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "02")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=1.5))
    call = await sim.place_call(CallerScript(number="caller", name="Customer caller", keys="1", keys_at=1.5,
                                             hangup_after_answer=4.5))
    await rec.event("Hangup", count=2)
    assert call.answered_by == "PJSIP/1001"
    got = await finish(rec, "a6", "a7")
    want = recorded("02")
    assert_replies(got, want)
    assert_same_call(want, got)


async def test_03_ring_no_answer_moves_to_next_member_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "03")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(ring_forever=True))
    sim.set_phone("1002", Phone(answer_after=1.0))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.5, hangup_at=29.5))
    await rec.event("AgentCalled", MemberName="Agent Alice")
    await rec.act("a6")  # QueueAdd PJSIP/1002 while 1001 rings, as the recorder did
    await rec.event("Hangup", count=3)
    assert call.answered_by == "PJSIP/1002"
    got = await finish(rec, "a7", "a8", "a9", "a10")
    want = recorded("03")
    assert_replies(got, want)
    assert_same_call(want, got)


async def test_04_caller_abandons_while_agent_rings_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "04")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(ring_forever=True))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.5, hangup_at=7.5))
    await rec.event("Hangup", count=2)
    assert call.answered_by is None
    got = await finish(rec, "a6", "a7", "a8", "a9")
    want = recorded("04")
    assert_replies(got, want)
    assert_same_call(want, got)


async def test_16_agent_declines_486_next_agent_answers_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "16")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(decline_after=1.0))
    sim.set_phone("1002", Phone(answer_after=1.0, hangup_after_answer=3.0))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.5))
    await rec.event("AgentCalled", MemberName="Agent Alice")
    await rec.act("a6")
    await rec.event("Hangup", count=3)
    assert call.answered_by == "PJSIP/1002"
    got = await finish(rec, "a7", "a8", "a9", "a10")
    want = recorded("16")
    assert_replies(got, want)
    assert_same_call(want, got)
    declined = [h for h in got if h.get("Event") == "Hangup" and (h.get("Channel") or "").startswith("PJSIP/1001-")]
    assert declined[0].get("Cause") == "17" and declined[0].get("Cause-txt") == "User busy"


async def test_12_fresh_session_sees_live_call_in_lists_as_recorded(sim: PbxSim) -> None:
    first = await session(sim, "12")
    for aid in ("a2", "a3", "a4", "a5", "a6", "a7"):
        await first.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.8))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await first.event("BridgeEnter", count=2)
    got_first = await finish(first, "a8")
    want_first = recorded("12")
    assert_replies(got_first, want_first)
    assert_same_call(want_first, got_first)

    second = await session(sim, "12", reconnect=True)
    for aid in ("a2", "a3", "a4", "a7", "a9", "a10", "a11", "a12", "a13", "a14"):
        await second.act(aid)
    caller = call.channel.name
    second.send([("Action", "Status"), ("ActionID", "a8"), ("Channel", caller), ("AllVariables", "true")])
    await second.reply("a8")
    second.send([("Action", "Hangup"), ("ActionID", "a15"), ("Channel", caller)])
    await second.event("Hangup", count=2)
    got = await finish(second, "a16", "a17", "a18", "a19")
    want = recorded("12", reconnect=True)
    sent = {"a1", "a2", "a3", "a4", "a7", "a8", "a9", "a10", "a11", "a12", "a13", "a14", "a15", "a16", "a17", "a18",
            "a19"}
    assert {k: v for k, v in replies(got).items() if k in sent} == {k: v for k, v in replies(want).items() if k in sent}
    assert_lists(got, want, "a2", "a3", "a4", "a7", "a8", "a9", "a10")
    # DeviceStateList comes in hash order and the recording's Asterisk also knew a ConfBridge
    # device: compare the state of every phone and queue device it listed.
    def devices(msgs: list[Headers]) -> dict[str, str]:
        return {h.get("Device"): h.get("State") for h in msgs if h.get("ActionID") == "a11" and h.get("Device")}

    rec_dev, got_dev = devices(want), devices(got)
    phones_and_queues = {d for d in rec_dev if d.startswith(("PJSIP/", "Queue:"))}
    assert {d: got_dev.get(d) for d in phones_and_queues} == {d: rec_dev[d] for d in phones_and_queues}
    assert_same_call(want, got)


async def test_05_ivr_fallback_when_queue_empty_or_emptied_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "05")
    for aid in ("a2", "a3", "a4"):
        await rec.act(aid)
    # A: nobody in the queue -> JOINEMPTY twice -> menu, then voicemail
    a = await sim.place_call(CallerScript(dtmf=((1.5, "1"), (5.0, "1")), hangup_at=9.0))
    await a.ended()
    await rec.act("a5")  # member added paused
    # B: everybody paused -> JOINEMPTY -> back to the menu, caller gives up
    b = await sim.place_call(CallerScript(keys="1", keys_at=1.5, hangup_at=4.5))
    await b.ended()
    await rec.act("a6")  # unpaused
    # C: the ringing member is paused -> rings on to the timeout, then LEAVEEMPTY
    sim.set_phone("1001", Phone(ring_forever=True))
    c = await sim.place_call(CallerScript(keys="1", keys_at=1.5, hangup_at=25.5))
    await rec.event("AgentCalled")
    await rec.act("a7")
    await c.ended()
    got = await finish(rec, "a8", "a9", "a10", "a11")
    want = recorded("05")
    assert_replies(got, want)
    assert_same_call(want, got)
    fallbacks = [h.get("QueueStatus") for h in got if h.get("Event") == "UserEvent"]
    assert fallbacks == ["JOINEMPTY", "JOINEMPTY", "JOINEMPTY", "LEAVEEMPTY"]


async def test_15_two_callers_waiting_listed_and_moved_up_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "15")
    for aid in ("a2", "a3", "a4", "a5", "a6", "a7"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(ring_forever=True))
    first = await sim.place_call(CallerScript(keys="1", keys_at=1.2, hangup_at=10.2))
    await rec.event("QueueCallerJoin")
    second = await sim.place_call(CallerScript(keys="1", keys_at=1.2, hangup_at=10.2))
    await rec.event("QueueCallerJoin", count=2)
    for aid in ("a8", "a9", "a10"):
        await rec.act(aid)
    await rec.event("AgentCalled", count=2)  # the first caller gave up: the second one rings 1001
    await rec.act("a11")
    await first.ended()
    await second.ended()
    got = await finish(rec, "a12", "a13", "a14", "a15")
    want = recorded("15")
    assert_replies(got, want)
    assert_lists(got, want, "a8", "a9", "a10", "a11")
    assert_same_call(want, got)


async def test_11_click_to_dial_originate_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "11")
    for aid in ("a2", "a3", "a4"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.7))
    sim.set_phone("outside", Phone(answer_after=1.5, hangup_after_answer=4.0))
    await rec.act("a5")
    await rec.event("Hangup", count=2)
    got = await finish(rec, "a6")
    want = recorded("11")
    assert_replies(got, want)
    assert_same_call(want, got)

    def originated(msgs: list[Headers]) -> list[tuple]:
        keys = ("Response", "Reason", "Context", "Exten", "Uniqueid", "CallerIDNum", "CallerIDName")
        return [tuple(h.get(k) for k in keys) for h in msgs if h.get("Event") == "OriginateResponse"]

    assert originated(got) == originated(want) == [("Success", "4", "agents", "0215551234", "c2d-1001-0001",
                                                      "0215551234", "Click2Dial")]
    assert caller_apps(got, "PJSIP/1001-") == caller_apps(want, "PJSIP/1001-")


async def test_06_softphone_hold_and_resume_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "06")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    # the agent answers after 0.8 s, holds, resumes, and hangs up 7 s after answering
    sim.set_phone("1001", Phone(answer_after=0.8, hangup_after_answer=7.0))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    await sim.phone_hold("1001", True)  # re-INVITE a=sendonly from the agent's phone
    await rec.event("MusicOnHoldStart", count=2)
    assert [i["on_hold"] for i in sim.truth()["interfaces"].values()] == [True]
    await sim.phone_hold("1001", False)  # a=sendrecv
    await rec.event("MusicOnHoldStop", count=2)
    await rec.event("Hangup", count=2)
    assert call.answered_by == "PJSIP/1001"
    got = await finish(rec, "a6", "a7", "a8", "a9")
    want = recorded("06")
    assert_replies(got, want)
    assert_same_call(want, got)

    def hold_story(msgs: list[Headers]) -> list[tuple]:
        """Hold/Unhold, the music and the held party's device, in their exact order."""
        out = []
        for h in msgs:
            ev = h.get("Event")
            if ev in ("Hold", "Unhold"):
                out.append((ev, (h.get("Channel") or "").split("-")[0], h.get("MusicClass")))
            elif ev in ("MusicOnHoldStart", "MusicOnHoldStop") and any(o[0] == "Hold" for o in out):
                out.append((ev, (h.get("Channel") or "").split("-")[0], h.get("Class")))
            elif ev == "DeviceStateChange" and h.get("Device") == "PJSIP/caller" and any(o[0] == "Hold" for o in out):
                out.append((ev, h.get("Device"), h.get("State")))
        return out[:6]

    assert hold_story(got) == hold_story(want) == [
        ("Hold", "PJSIP/1001", "default"), ("MusicOnHoldStart", "PJSIP/caller", "default"),
        ("DeviceStateChange", "PJSIP/caller", "ONHOLD"), ("Unhold", "PJSIP/1001", None),
        ("DeviceStateChange", "PJSIP/caller", "INUSE"), ("MusicOnHoldStop", "PJSIP/caller", None)]
