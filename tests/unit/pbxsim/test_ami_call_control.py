"""The simulator's call control at the AMI level, as Asterisk 22.10.1's source says where no
trace shows it: the after-bridge goto of an AMI ``Bridge``, a consult turned into a
conference, the ChannelId of a conference participant's Originate, a dial-out recorded by
MixMonitor in ``cti-outbound``.

Each test runs the simulator on a copy of the product's dialplan (asterisk_conf/, edited
where a test says so) and drives it over TCP as the CTI server does. The FastAGI IVR is
not running (its port is closed), so callers take the dialplan's failsafe path straight
into queue ``support``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import socket
import wave
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest

from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import Recorder
from tests.conformance.trace import Headers
from tests.support.wholestream import whole_stream

# the whole stream (MusicOnHold*, BridgeDestroy, DialBegin...), not the CTI user's filtered one
PRODUCT_CONF = whole_stream(Path(__file__).resolve().parents[3] / "asterisk_conf")
WAIT = 10.0
# what a channel's story is told with (not VarSet, Cdr, device states...)
STORY = ("Newexten", "BridgeEnter", "BridgeLeave", "HangupRequest", "SoftHangupRequest", "Hangup", "Hold", "Unhold",
         "MusicOnHoldStart", "MusicOnHoldStop", "ConfbridgeJoin", "ConfbridgeLeave", "DialBegin", "DialEnd")
_ids = itertools.count(1)


def closed_port() -> int:
    """A local TCP port nobody listens on (the IVR is down: callers go to the failsafe queue)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def product_conf(tmp_path: Path, edit: Callable[[str], str] | None = None) -> str:
    """A copy of asterisk_conf/ (extensions.conf changed by ``edit``)."""
    conf = tmp_path / "conf"
    shutil.copytree(PRODUCT_CONF, conf)
    if edit is not None:
        path = conf / "extensions.conf"
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return str(conf)


def context_block(text: str, context: str) -> str:
    """The lines of ``[context]`` in extensions.conf text, up to the blank line that ends it."""
    m = re.search(rf"^\[{re.escape(context)}\]\n.*?(?=\n\n|\Z)", text, flags=re.S | re.M)
    assert m is not None, f"no [{context}] in the dialplan"
    return m.group(0)


class Ami:
    """A logged-in AMI session on the simulator; every message it receives is kept."""

    def __init__(self, rec: Recorder):
        self.rec = rec

    async def act(self, action: str, **fields: str) -> Headers:
        aid = f"{action.lower()}-{next(_ids)}"
        self.rec.send([("Action", action), ("ActionID", aid)] + list(fields.items()))
        return await self.rec.reply(aid)

    async def ok(self, action: str, **fields: str) -> Headers:
        reply = await self.act(action, **fields)
        assert reply.get("Response") == "Success", reply
        return reply

    async def event(self, name: str, count: int = 1, **fields: str) -> Headers:
        return await self.rec.event(name, count, **fields)

    def events(self, *names: str, **fields: str) -> list[Headers]:
        return [h for h in self.rec.received if h.get("Event") in names
                and all(h.get(k) == v for k, v in fields.items())]

    def index(self, name: str, last: bool = False, **fields: str) -> int:
        """Position of the first (``last``: the last) such event in everything received (to check order)."""
        hits = [i for i, h in enumerate(self.rec.received)
                if h.get("Event") == name and all(h.get(k) == v for k, v in fields.items())]
        if not hits:
            raise AssertionError(f"no {name} {fields}")
        return hits[-1] if last else hits[0]

    def of(self, channel: str, *names: str) -> list[tuple[str, ...]]:
        """(event, context, exten, priority) of one channel's events, in order (``names``: these only)."""
        names = names or STORY
        return [(h.get("Event"), h.get("Context"), h.get("Exten"), h.get("Priority")) for h in self.rec.received
                if h.get("Channel") == channel and h.get("Event") in names]

    async def channels(self) -> dict[str, Headers]:
        aid = f"csc-{next(_ids)}"
        self.rec.send([("Action", "CoreShowChannels"), ("ActionID", aid)])
        await self.rec.reply(aid)
        return {h.get("Channel"): h for h in self.rec.received
                if h.get("ActionID") == aid and h.get("Event") == "CoreShowChannel"}


@pytest.fixture
def conf_edit() -> Callable[[str], str] | None:
    return None


@pytest.fixture
async def sim(tmp_path: Path, conf_edit) -> AsyncIterator[PbxSim]:
    s = PbxSim(SimConfig(conf_dir=product_conf(tmp_path, conf_edit), time_scale=50.0, agi_port=closed_port(),
                         monitor_dir=str(tmp_path / "monitor")))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


@pytest.fixture
async def ami(sim: PbxSim) -> AsyncIterator[Ami]:
    rec = Recorder()
    await rec.connect(sim.ami_port)
    session = Ami(rec)
    assert (await session.act("Login", Username="cti", Secret="cti-secret")).get("Response") == "Success"
    try:
        yield session
    finally:
        await rec.close()


async def queue_call(ami: Ami) -> tuple[str, str]:
    """A customer through the failsafe queue, answered by 1001: (customer, agent) channels."""
    added = await ami.act("QueueAdd", Queue="support", Interface="PJSIP/1001", MemberName="Agent 1001")
    assert added.get("Response") == "Success" or "Already there" in (added.get("Message") or ""), added
    await ami.ok("SimSetPhone", Endpoint="1001", AnswerAfter="0.3")
    customer = (await ami.ok("SimPlaceCall", Number="13800138000", Name="Zhang Wei")).get("Channel")
    connect = await ami.event("AgentConnect", Channel=customer)
    agent = connect.get("DestChannel")
    await ami.event("BridgeEnter", Channel=customer)
    return customer, agent


async def hold_and_retrieve(ami: Ami, customer: str, agent: str) -> None:
    """The panel's hold (dual Redirect, trace 07 A) and retrieve (AMI Bridge)."""
    reply = await ami.ok("Redirect", Channel=customer, Context="hold", Exten="s", Priority="1",
                         ExtraChannel=agent, ExtraContext="agent-wait", ExtraExten="s", ExtraPriority="1")
    assert reply.get("Message") == "Dual Redirect successful"
    await ami.event("MusicOnHoldStart", Channel=customer, Context="hold")
    await ami.event("Newexten", Channel=agent, Context="agent-wait", Application="Wait")
    reply = await ami.ok("Bridge", Channel1=customer, Channel2=agent, Tone="no")
    assert reply.get("Message") == "Channels have been bridged"
    # features.c action_bridge: each enters at the priority after the one it was running
    await ami.event("BridgeEnter", Channel=customer, Context="hold", Priority="4")
    await ami.event("BridgeEnter", Channel=agent, Context="agent-wait", Priority="4")


async def until_no_channels(ami: Ami) -> None:
    """Wait (on Hangup events) until CoreShowChannels lists nothing."""
    async def poll() -> None:
        while True:
            seen = len(ami.events("Hangup"))
            if not await ami.channels():
                return
            await ami.rec.wait_for(lambda h: h.get("Event") == "Hangup", count=seen + 1)
    await asyncio.wait_for(poll(), WAIT)


# --- 1. the after-bridge goto of the AMI Bridge action -------------------------------------

def music_again(text: str) -> str:
    """A hold context that plays music again after MusicOnHold returns (instead of Hangup)."""
    hold = context_block(text, "hold")
    again = hold.replace(" same => n,MusicOnHold(default)\n", " same => n,MusicOnHold(default)\n"
                         " same => n,MusicOnHold(default)\n", 1)
    assert again != hold and "s,1,NoOp" in hold, "asterisk_conf's [hold] changed: update this test"
    return text.replace(hold, again)


@pytest.mark.parametrize("conf_edit", [music_again])
async def test_agent_hanging_up_after_a_retrieve_sends_the_customer_on_in_the_hold_context(ami: Ami) -> None:
    customer, agent = await queue_call(ami)
    await hold_and_retrieve(ami, customer, agent)
    await ami.ok("SimCallerHangup", Channel=agent)  # the agent's phone hangs up (BYE)
    # the customer is not hung up: it leaves the bridge and goes on at hold,s,4 -- music again
    await ami.event("MusicOnHoldStart", Channel=customer, Context="hold", Priority="4")
    await ami.event("Hangup", Channel=agent)
    assert ami.of(agent, "HangupRequest", "BridgeLeave", "Hangup")[-3:] == [
        ("HangupRequest", "agent-wait", "s", "4"), ("BridgeLeave", "agent-wait", "s", "4"),
        ("Hangup", "agent-wait", "s", "4")]
    assert ami.of(customer, "BridgeLeave", "Newexten", "MusicOnHoldStart")[-3:] == [
        ("BridgeLeave", "hold", "s", "4"), ("Newexten", "hold", "s", "4"), ("MusicOnHoldStart", "hold", "s", "4")]
    bridge = ami.events("BridgeEnter", Channel=customer)[-1].get("BridgeUniqueid")
    destroyed = ami.index("BridgeDestroy", BridgeUniqueid=bridge)
    assert ami.index("BridgeLeave", Channel=agent, BridgeUniqueid=bridge) \
        < ami.index("BridgeLeave", Channel=customer, BridgeUniqueid=bridge) < destroyed \
        < ami.index("Newexten", Channel=customer, Context="hold", Priority="4")
    step = ami.events("Newexten", Channel=customer, Context="hold", Priority="4")[-1]
    assert (step.get("Application"), step.get("AppData")) == ("MusicOnHold", "default")  # the real step
    listed = await ami.channels()
    assert list(listed) == [customer]
    assert (listed[customer].get("Context"), listed[customer].get("Priority"),
            listed[customer].get("Application")) == ("hold", "4", "MusicOnHold")
    await ami.ok("Hangup", Channel=customer)
    await ami.event("Hangup", Channel=customer)
    assert not ami.events("AgentComplete")  # a call moved by a dual Redirect never gets one (07 A)


async def test_after_a_retrieve_the_survivor_runs_the_next_priority_of_the_product_dialplan(ami: Ami) -> None:
    # asterisk_conf: hold,s,4 and agent-wait,s,4 are Hangup(): the survivor runs it (07 A)
    customer, agent = await queue_call(ami)
    await hold_and_retrieve(ami, customer, agent)
    await ami.ok("Hangup", Channel=customer)
    await ami.event("Hangup", Channel=agent)
    assert ami.of(agent)[-4:] == [("BridgeLeave", "agent-wait", "s", "4"), ("Newexten", "agent-wait", "s", "4"),
                                   ("SoftHangupRequest", "agent-wait", "s", "4"), ("Hangup", "agent-wait", "s", "4")]
    assert ami.events("Newexten", Channel=agent, Priority="4")[-1].get("Application") == "Hangup"
    assert not [h for h in ami.of(customer) if h[0] in ("HangupRequest", "SoftHangupRequest") and h[3] == "4"]

    # the other way round: the agent's phone hangs up, the customer runs hold,s,4 = Hangup()
    customer, agent = await queue_call(ami)
    await hold_and_retrieve(ami, customer, agent)
    await ami.ok("SimCallerHangup", Channel=agent)
    await ami.event("Hangup", Channel=customer)
    assert ami.of(customer)[-4:] == [("BridgeLeave", "hold", "s", "4"), ("Newexten", "hold", "s", "4"),
                                      ("SoftHangupRequest", "hold", "s", "4"), ("Hangup", "hold", "s", "4")]
    await until_no_channels(ami)


async def test_redirecting_one_party_out_of_a_retrieved_call_sends_the_other_on(ami: Ami) -> None:
    customer, agent = await queue_call(ami)
    await hold_and_retrieve(ami, customer, agent)
    # blind transfer back into the queue after a retrieve: the customer alone is redirected
    await ami.ok("QueueRemove", Queue="support", Interface="PJSIP/1001")
    await ami.ok("SimSetPhone", Endpoint="1002", RingForever="yes")
    await ami.ok("QueueAdd", Queue="support", Interface="PJSIP/1002", MemberName="Agent 1002")
    await ami.ok("Redirect", Channel=customer, Context="cti-queue", Exten="support", Priority="1")
    await ami.event("QueueCallerJoin", Channel=customer)
    await ami.event("Hangup", Channel=agent)  # agent-wait,s,4 is Hangup()
    assert ami.of(agent)[-3:] == [("Newexten", "agent-wait", "s", "4"), ("SoftHangupRequest", "agent-wait", "s", "4"),
                                   ("Hangup", "agent-wait", "s", "4")]
    assert ami.index("BridgeLeave", Channel=customer, Context="cti-queue") \
        < ami.index("BridgeLeave", Channel=agent, Priority="4")
    await ami.event("AgentCalled", Channel=customer)
    listed = await ami.channels()
    assert listed[customer].get("Application") == "Queue" and agent not in listed  # waiting in the queue
    await ami.ok("Hangup", Channel=customer)
    await until_no_channels(ami)


# --- 2. a consult turned into a conference -----------------------------------------------

async def consult(ami: Ami, agent: str, context: str, exten: str, endpoint: str) -> str:
    """AMI Atxfer (trace 08 B) to ``exten@context``; returns the consulted party's channel once it answered."""
    reply = await ami.ok("Atxfer", Channel=agent, Context=context, Exten=exten)
    assert reply.get("Message") == "Atxfer successfully queued"
    answered = await ami.rec.wait_for(lambda h: h.get("Event") == "DialEnd" and h.get("DialStatus") == "ANSWER"
                                      and (h.get("DestChannel") or "").startswith(f"PJSIP/{endpoint}-"))
    await ami.rec.wait_for(lambda h: h.get("Event") == "DialEnd" and h.get("DialStatus") == "ANSWER"
                           and (h.get("DestChannel") or "").startswith("Local/"))
    return answered.get("DestChannel")


@pytest.mark.parametrize("target", ["agent", "outside"])
async def test_consult_then_conference_by_redirecting_the_target_then_the_customer_and_agent(
        ami: Ami, target: str) -> None:
    customer, agent = await queue_call(ami)
    room = "cf7a3e"
    if target == "agent":
        await ami.ok("SimSetPhone", Endpoint="1002", AnswerAfter="0.3")
        colleague = await consult(ami, agent, "agents", "1002", "1002")
    else:
        await ami.ok("SimSetPhone", Endpoint="outside", AnswerAfter="0.3")
        colleague = await consult(ami, agent, "cti-outbound", "0215551234", "outside")
    two = next(h.get("Channel") for h in ami.events("Newchannel") if h.get("Channel", "").endswith(";2"))
    one = two[:-1] + "1"
    orig = ami.events("BridgeEnter", Channel=customer)[-1].get("BridgeUniqueid")
    consult_bridge = ami.events("BridgeEnter", Channel=one)[-1].get("BridgeUniqueid")
    await ami.event("MusicOnHoldStart", Channel=customer)  # the customer waits on music

    # (a) the consulted party into the room
    reply = await ami.ok("Redirect", Channel=colleague, Context="cti-conference", Exten=room, Priority="1")
    assert reply.get("Message") == "Redirect successful"
    await ami.event("ConfbridgeJoin", Channel=colleague, Conference=room)
    # (b) its Dial's bridge dissolves: ;2's Dial fails and its dialplan ends (no next priority);
    # ;1 goes, and the attended transfer re-bridges the agent with the customer (bridge_basic.c REBRIDGE)
    await ami.event("Unhold", Channel=agent)
    await ami.event("BridgeDestroy", BridgeUniqueid=consult_bridge)
    dial_bridge = ami.events("BridgeEnter", Channel=two)[-1].get("BridgeUniqueid")
    assert [e[0] for e in ami.of(two)][-4:] == ["BridgeEnter", "BridgeLeave", "SoftHangupRequest", "Hangup"]
    assert ami.index("BridgeLeave", Channel=colleague, BridgeUniqueid=dial_bridge) \
        < ami.index("BridgeLeave", Channel=two, BridgeUniqueid=dial_bridge) \
        < ami.index("BridgeDestroy", BridgeUniqueid=dial_bridge) < ami.index("Hangup", Channel=two)
    assert ami.index("BridgeLeave", Channel=one, BridgeUniqueid=consult_bridge) \
        < ami.index("BridgeLeave", Channel=agent, BridgeUniqueid=consult_bridge) \
        < ami.index("BridgeEnter", last=True, Channel=agent, BridgeUniqueid=orig) < ami.index("Unhold", Channel=agent) \
        < ami.index("BridgeDestroy", BridgeUniqueid=consult_bridge)
    await ami.event("MusicOnHoldStop", Channel=customer)
    first = ami.events("Newexten", Channel=colleague, Context="cti-conference")[0]
    assert (first.get("Priority"), first.get("Application")) == ("1", "AppDial")  # as a redirected leg shows it
    listed = await ami.channels()
    assert sorted(listed) == sorted([customer, agent, colleague])
    assert listed[agent].get("BridgeId") == listed[customer].get("BridgeId") == orig

    # (c) the customer and the agent into the same room
    reply = await ami.ok("Redirect", Channel=customer, Context="cti-conference", Exten=room, Priority="1",
                         ExtraChannel=agent, ExtraContext="cti-conference", ExtraExten=room, ExtraPriority="1")
    assert reply.get("Message") == "Dual Redirect successful"
    await ami.event("ConfbridgeJoin", Channel=customer, Conference=room)
    await ami.event("ConfbridgeJoin", Channel=agent, Conference=room)
    await ami.event("BridgeDestroy", BridgeUniqueid=orig)
    await ami.act("ConfbridgeList", Conference=room)
    members = sorted(h.get("Channel") for h in ami.events("ConfbridgeList"))
    assert members == sorted([customer, agent, colleague])
    assert not ami.events("AgentComplete", "AttendedTransfer", "LocalOptimizationBegin")
    # asterisk_conf records a dial-out's agent leg (CTI_DIAL_BY), not a consult's Local ;2
    assert [h.get("Channel") for h in ami.events("MixMonitorStart")] == [customer]
    call_id = ami.events("Newchannel", Channel=customer)[0].get("Uniqueid")
    assert {h.get("Linkedid") for h in ami.events("ConfbridgeJoin")} == {call_id}  # one call throughout
    for ch in (agent, colleague, customer):
        await ami.ok("Hangup", Channel=ch)
    await ami.event("ConfbridgeEnd", Conference=room)
    await until_no_channels(ami)


# --- 3. Originate of a conference participant ----------------------------------------------

async def test_conference_participants_originated_with_a_channel_id_carry_it_as_uniqueid_and_linkedid(ami: Ami) -> None:
    room = "cf42"
    await ami.ok("SimSetPhone", Endpoint="1003", AnswerAfter="0.3")
    await ami.ok("SimSetPhone", Endpoint="outside", AnswerAfter="0.3")
    reply = await ami.ok("Originate", Channel="PJSIP/1003", Context="cti-conference", Exten=room, Priority="1",
                         Async="true", ChannelId="cti-conf-0a1b2c")
    assert reply.get("Message") == "Originate successfully queued"
    joined = await ami.event("ConfbridgeJoin", Conference=room)
    assert (joined.get("Uniqueid"), joined.get("Linkedid")) == ("cti-conf-0a1b2c", "cti-conf-0a1b2c")
    resp = await ami.event("OriginateResponse", Uniqueid="cti-conf-0a1b2c")
    assert resp.get("Response") == "Success" and resp.get("Channel").startswith("PJSIP/1003-")

    # an outside number through Local/<number>@cti-outbound: ;1 has the ChannelId, ;2 "<ChannelId>;2"
    # (core_unreal.c), and ;2 and all it dials share ;1's Linkedid
    await ami.ok("Originate", Channel="Local/0215551234@cti-outbound", Context="cti-conference", Exten=room,
                 Priority="1", Async="true", ChannelId="cti-conf-3d4e5f")
    await ami.event("ConfbridgeJoin", count=2, Conference=room)
    made = {h.get("Channel"): (h.get("Uniqueid"), h.get("Linkedid")) for h in ami.events("Newchannel")}
    one = next(c for c in made if c.endswith(";1"))
    two = one[:-1] + "2"
    outside = next(c for c in made if c.startswith("PJSIP/outside-"))
    assert made[one] == ("cti-conf-3d4e5f", "cti-conf-3d4e5f")
    assert made[two] == ("cti-conf-3d4e5f;2", "cti-conf-3d4e5f")
    assert made[outside][1] == "cti-conf-3d4e5f"
    assert ami.events("LocalBridge")[-1].get("LocalTwoUniqueid") == "cti-conf-3d4e5f;2"
    assert (await ami.event("OriginateResponse", Uniqueid="cti-conf-3d4e5f")).get("Channel") == one
    await ami.act("ConfbridgeList", Conference=room)
    assert sorted(h.get("Uniqueid") for h in ami.events("ConfbridgeList")) == ["cti-conf-0a1b2c", "cti-conf-3d4e5f"]
    assert not ami.events("LocalOptimizationBegin")  # a ConfBridge bridge is never optimised into

    # OtherChannelId names ;2 when given
    await ami.ok("Originate", Channel="Local/0215551235@cti-outbound", Context="cti-conference", Exten=room,
                 Priority="1", Async="true", ChannelId="cti-conf-6a", OtherChannelId="cti-conf-6b")
    await ami.event("ConfbridgeJoin", count=3, Conference=room)
    assert {h.get("Uniqueid") for h in ami.events("Newchannel") if h.get("Linkedid") == "cti-conf-6a"} >= \
        {"cti-conf-6a", "cti-conf-6b"}

    too_long = await ami.act("Originate", Channel="PJSIP/1002", Context="cti-conference", Exten=room,
                             Priority="1", Async="true", ChannelId="x" * 150)
    assert (too_long.get("Response"), too_long.get("Message")) == ("Error", "Uniqueid length exceeds maximum of 149")
    await ami.ok("ConfbridgeKick", Conference=room, Channel="all")
    await until_no_channels(ami)


# --- 4. MixMonitor in cti-outbound (the dial-out recording) -------------------------------

def record_dial_outs(text: str) -> str:
    """asterisk_conf's [cti-outbound] records the agent's leg of a dial-out (CTI_DIAL_BY set by the
    Originate); a dialplan from before that line gets it here."""
    block = context_block(text, "cti-outbound")
    if "MixMonitor(cti-${UNIQUEID}.wav,b)" in block:
        return text
    dial = " same => n,Dial(PJSIP/${EXTEN}@outside,30)"
    assert dial in block, "asterisk_conf's [cti-outbound] changed: update this test"
    return text.replace(block, block.replace(dial, " same => n,MixMonitor(cti-${UNIQUEID}.wav,b)\n" + dial))


def record_every_outbound_leg(text: str) -> str:
    """[cti-outbound] recording whoever runs it, the Local ;2 of a consult to an outside number too."""
    block = context_block(text, "cti-outbound")
    return text.replace(block, "[cti-outbound]\n"
                        "exten => _[0-9+*#]!,1,NoOp(CTI outbound call to ${EXTEN})\n"
                        " same => n,MixMonitor(cti-${UNIQUEID}.wav,b)\n"
                        " same => n,Dial(PJSIP/${EXTEN}@outside,30)\n"
                        " same => n,Hangup()")


@pytest.mark.parametrize("conf_edit", [record_dial_outs])
async def test_a_dial_out_is_recorded_on_the_agents_originated_channel(ami: Ami, sim: PbxSim, tmp_path: Path) -> None:
    await ami.ok("SimSetPhone", Endpoint="1001", AnswerAfter="0.2")
    await ami.ok("SimSetPhone", Endpoint="outside", AnswerAfter="1.0", HangupAfterAnswer="3.0")
    await ami.ok("Originate", Channel="PJSIP/1001", Context="cti-outbound", Exten="0215551234", Priority="1",
                 Async="true", ChannelId="cti-out-77aa", CallerID='"Click2Dial" <0215551234>',
                 Variable="CTI_DIAL_BY=1001")
    started = await ami.event("MixMonitorStart", Uniqueid="cti-out-77aa")
    agent = started.get("Channel")
    assert agent.startswith("PJSIP/1001-") and started.get("Context") == "cti-outbound"
    name = next(h for h in ami.events("VarSet", Channel=agent) if h.get("Variable") == "MIXMONITOR_FILENAME")
    assert name.get("Value") == "/var/spool/asterisk/monitor/cti-cti-out-77aa.wav"
    await ami.event("Hangup", Channel=agent)  # the outside party hangs up after 3 s: the agent's leg too
    assert not ami.events("MixMonitorStop")  # ended by the hangup: no MixMonitorStop (trace 13)
    [rec] = [r for r in sim.truth()["recordings"] if r["uniqueid"] == "cti-out-77aa"]
    assert (rec["channel"], rec["options"], rec["ended_by"]) == (agent, "b", "hangup")
    path = tmp_path / "monitor" / "cti-cti-out-77aa.wav"
    assert rec["written"] == str(path)
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
    # option b: the 3 s of talk only, not the 1 s the number rang before (lower bounds: a loaded
    # machine can only make the simulated spans longer)
    assert seconds > 2.9 and (rec["ended"] - rec["started"]) - seconds > 0.9

    # StopMixMonitor (system,call: the CTI user has call) ends it with MixMonitorStop
    await ami.ok("SimSetPhone", Endpoint="outside", AnswerAfter="0.3")
    await ami.ok("Originate", Channel="PJSIP/1001", Context="cti-outbound", Exten="0215551234", Priority="1",
                 Async="true", ChannelId="cti-out-88bb", Variable="CTI_DIAL_BY=1001")
    await ami.event("MixMonitorStart", Uniqueid="cti-out-88bb")
    agent = (await ami.event("BridgeEnter", Uniqueid="cti-out-88bb")).get("Channel")
    await ami.ok("StopMixMonitor", Channel=agent)
    assert (await ami.event("MixMonitorStop", Channel=agent)).get("Uniqueid") == "cti-out-88bb"
    await ami.ok("Hangup", Channel=agent)
    await until_no_channels(ami)
    assert [r["ended_by"] for r in sim.truth()["recordings"] if r["uniqueid"] == "cti-out-88bb"] == ["stop"]


@pytest.mark.parametrize("conf_edit", [record_every_outbound_leg])
async def test_a_recorded_consult_to_an_outside_number_keeps_its_local_pair_after_the_transfer(ami: Ami) -> None:
    customer, agent = await queue_call(ami)
    await ami.ok("SimSetPhone", Endpoint="outside", AnswerAfter="0.3")
    outside = await consult(ami, agent, "cti-outbound", "0215551234", "outside")
    two = next(h.get("Channel") for h in ami.events("Newchannel") if h.get("Channel", "").endswith(";2"))
    await ami.event("MixMonitorStart", Channel=two)  # ;2 ran cti-outbound: it is the one recorded
    await ami.ok("SimCallerHangup", Channel=agent)  # the agent hangs up: the transfer completes (08 B)
    await ami.event("AttendedTransfer")
    # the recording's audiohook keeps the Local pair from optimising away (main/bridge.c)
    listed = await ami.channels()
    assert two in listed and two[:-1] + "1" in listed and outside in listed
    assert not ami.events("LocalOptimizationBegin")
    await ami.ok("SimCallerHangup", Channel=outside)  # the outside party ends the call: everyone goes
    await ami.event("Hangup", Channel=customer)
    await until_no_channels(ami)
