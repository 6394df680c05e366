"""The simulator's AMI session rules, as Asterisk 22's manager.c applies them, over plain TCP."""

from __future__ import annotations

import asyncio
import re
from typing import AsyncIterator

import pytest

from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import WAIT, Recorder
from tests.conformance.test_traces import RECORDED_CONF

LOGIN = [("Action", "Login"), ("ActionID", "l1"), ("Username", "cti"), ("Secret", "cti-secret")]


async def started(**kw) -> PbxSim:
    s = PbxSim(SimConfig(conf_dir=str(RECORDED_CONF), time_scale=20.0, **kw))
    await s.start()
    return s


@pytest.fixture
async def sim() -> AsyncIterator[PbxSim]:
    s = await started()
    try:
        yield s
    finally:
        await s.stop()


async def test_wrong_secret_is_refused_and_the_connection_closed(sim: PbxSim) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.ami_port)
    assert await reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
    writer.write(b"Action: Login\r\nActionID: x1\r\nUsername: cti\r\nSecret: wrong\r\n\r\n")
    rest = await asyncio.wait_for(reader.read(), WAIT)  # read() returns only once the peer closes
    assert rest == b"Response: Error\r\nActionID: x1\r\nMessage: Authentication failed\r\n\r\n"
    writer.close()


async def test_actions_before_login_are_denied_and_unknown_actions_named(sim: PbxSim) -> None:
    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send([("Action", "QueueStatus"), ("ActionID", "p1")])
    assert (await rec.reply("p1")).get("Message") == "Permission denied"
    rec.send(LOGIN)
    assert (await rec.reply("l1")).get("Message") == "Authentication accepted"
    rec.send([("Action", "Frobnicate"), ("ActionID", "u1")])
    reply = await rec.reply("u1")
    assert reply.get("Response") == "Error"
    assert reply.get("Message") == ("Invalid/unknown command: Frobnicate. "
                                    "Use Action: ListCommands to show available commands.")
    rec.send([("Action", "Ping"), ("ActionID", "g1")])
    pong = await rec.reply("g1")
    assert pong.get("Ping") == "Pong" and re.fullmatch(r"\d+\.\d{6}", pong.get("Timestamp") or "")
    rec.send([("Action", "QueuePause"), ("ActionID", "q1"), ("Interface", "PJSIP/1001")])
    assert (await rec.reply("q1")).get("Message") == "Need 'Interface' and 'Paused' parameters."
    rec.send([("Action", "Hangup"), ("ActionID", "h1"), ("Channel", "PJSIP/9999-00000000")])
    assert (await rec.reply("h1")).get("Message") == "No such channel"
    rec.send([("Action", "Logoff"), ("ActionID", "o1")])
    assert (await rec.reply("o1")).get("Response") == "Goodbye"
    await asyncio.wait_for(rec.closed.wait(), WAIT)


async def test_events_off_stops_events_and_events_on_resumes(sim: PbxSim) -> None:
    quiet, watcher = Recorder(), Recorder()
    for r in (quiet, watcher):
        await r.connect(sim.ami_port)
        r.send(LOGIN)
        await r.reply("l1")
    quiet.send([("Action", "Events"), ("ActionID", "e1"), ("EventMask", "off")])
    assert (await quiet.reply("e1")).get("Events") == "Off"
    quiet.send([("Action", "QueueAdd"), ("ActionID", "a1"), ("Queue", "support"), ("Interface", "PJSIP/1001")])
    await quiet.reply("a1")
    await watcher.event("QueueMemberAdded", Interface="PJSIP/1001")
    quiet.send([("Action", "Events"), ("ActionID", "e2"), ("EventMask", "on")])
    await quiet.reply("e2")
    quiet.send([("Action", "QueueRemove"), ("ActionID", "a2"), ("Queue", "support"), ("Interface", "PJSIP/1001")])
    await quiet.event("QueueMemberRemoved", Interface="PJSIP/1001")
    assert not [h for h in quiet.received if h.get("Event") == "QueueMemberAdded"]
    for r in (quiet, watcher):
        await r.close()


async def test_timestampevents_puts_timestamp_after_privilege() -> None:
    sim = await started(timestamp_events=True)
    try:
        rec = Recorder()
        await rec.connect(sim.ami_port)
        rec.send(LOGIN)
        await rec.reply("l1")
        rec.send([("Action", "QueueAdd"), ("ActionID", "a1"), ("Queue", "support"), ("Interface", "PJSIP/1002")])
        ev = await rec.event("QueueMemberAdded")
        assert [k for k, _ in ev][:3] == ["Event", "Privilege", "Timestamp"]
        assert ev.get("Privilege") == "agent,all"
        assert re.fullmatch(r"\d{10}\.\d{6}", ev.get("Timestamp") or "")
        await rec.close()
    finally:
        await sim.stop()


async def test_sim_actions_drive_a_call_from_another_process(sim: PbxSim) -> None:
    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send(LOGIN)
    await rec.reply("l1")
    rec.send([("Action", "SimSetPhone"), ("ActionID", "s1"), ("Endpoint", "1003"), ("AnswerAfter", "1"),
              ("HangupAfterAnswer", "2")])
    assert (await rec.reply("s1")).get("Response") == "Success"
    rec.send([("Action", "SimSetPhone"), ("ActionID", "s2"), ("Endpoint", "1003"), ("AnswerAfter", "soon")])
    bad = await rec.reply("s2")
    assert bad.get("Response") == "Error" and "AnswerAfter" in (bad.get("Message") or "")
    rec.send([("Action", "QueueAdd"), ("ActionID", "a1"), ("Queue", "support"), ("Interface", "PJSIP/1003"),
              ("MemberName", "Agent Carol")])
    await rec.reply("a1")
    rec.send([("Action", "SimPlaceCall"), ("ActionID", "c1"), ("Number", "13800138000"), ("Name", "Zhang Wei"),
              ("Keys", "1")])
    placed = await rec.reply("c1")
    assert placed.get("Response") == "Success" and placed.get("Channel", "").startswith("PJSIP/caller-")
    connect = await rec.event("AgentConnect")
    assert connect.get("CallerIDNum") == "13800138000" and connect.get("MemberName") == "Agent Carol"
    complete = await rec.event("AgentComplete")
    assert complete.get("Reason") == "agent"
    await rec.close()


async def test_ami_going_away_leaves_calls_up_and_a_new_session_lists_them(sim: PbxSim) -> None:
    from pbxsim.scripts import CallerScript, Phone

    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send(LOGIN)
    await rec.reply("l1")
    rec.send([("Action", "QueueAdd"), ("ActionID", "a1"), ("Queue", "support"), ("Interface", "PJSIP/1001"),
              ("MemberName", "Agent Alice")])
    await rec.reply("a1")
    sim.set_phone("1001", Phone(answer_after=0.5))
    call = await sim.place_call(CallerScript(keys="1"))
    await rec.event("BridgeEnter", count=2)
    port = sim.ami_port
    await sim.ami_down()
    await asyncio.wait_for(rec.closed.wait(), WAIT)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    await sim.ami_up()
    again = Recorder()
    await again.connect(port)
    again.send(LOGIN)
    await again.reply("l1")
    again.send([("Action", "CoreShowChannels"), ("ActionID", "c1")])
    done = await again.reply("c1")
    assert done.get("ListItems") == "2"
    listed = {h.get("Channel"): h.get("Application") for h in again.received if h.get("Event") == "CoreShowChannel"}
    assert listed[call.channel.name] == "Queue"
    await call.hangup()
    await again.event("Hangup", count=2)
    await again.close()


def test_every_event_carries_the_privilege_asterisk_recorded() -> None:
    import glob

    from pbxsim.kernel.events import privilege_of
    from tests.conformance.trace import messages, parse_trace

    emitted = {"Newchannel", "Newstate", "Hangup", "HangupRequest", "SoftHangupRequest", "Newexten", "VarSet",
               "DTMFEnd", "Cdr", "UserEvent", "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
               "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "QueueMemberAdded",
               "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus", "DialBegin", "DialEnd", "DialState",
               "NewConnectedLine", "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy", "MusicOnHoldStart",
               "MusicOnHoldStop", "DeviceStateChange", "ExtensionStatus", "FullyBooted", "SuccessfulAuth"}
    checked = set()
    for path in glob.glob(str(RECORDED_CONF.parent / "*.ami")):
        for _, h in messages(parse_trace(path), "<<"):
            ev = h.get("Event")
            if ev in emitted and h.get("ActionID") is None:
                assert privilege_of(ev) == h.get("Privilege"), ev
                checked.add(ev)
    assert checked == emitted


async def test_queueadd_penalty_is_listed_and_queuepenalty_changes_it(sim: PbxSim) -> None:
    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send(LOGIN)
    await rec.reply("l1")
    rec.send([("Action", "QueueAdd"), ("ActionID", "a1"), ("Queue", "support"), ("Interface", "PJSIP/1001"),
              ("MemberName", "Agent Alice"), ("Penalty", "2")])
    await rec.reply("a1")
    assert (await rec.event("QueueMemberAdded")).get("Penalty") == "2"
    rec.send([("Action", "QueuePenalty"), ("ActionID", "p1"), ("Interface", "PJSIP/1001"), ("Penalty", "5"),
              ("Queue", "support")])
    assert (await rec.reply("p1")).get("Message") == "Interface penalty set successfully"
    changed = await rec.event("QueueMemberPenalty")
    assert (changed.get("Interface"), changed.get("Penalty"), changed.get("MemberName")) == ("PJSIP/1001", "5",
                                                                                           "Agent Alice")
    rec.send([("Action", "QueueStatus"), ("ActionID", "q1"), ("Member", "PJSIP/1001")])
    await rec.reply("q1")
    listed = [h for h in rec.received if h.get("Event") == "QueueMember" and h.get("ActionID") == "q1"]
    assert [h.get("Penalty") for h in listed] == ["5"]
    for aid, fields in (("p2", [("Interface", "PJSIP/1002"), ("Penalty", "1")]),  # not a member
                        ("p3", [("Interface", "PJSIP/1001"), ("Penalty", "-1")]),
                        ("p4", [("Interface", "PJSIP/1001"), ("Penalty", "lots")]),
                        ("p5", [("Interface", "PJSIP/1001")])):
        rec.send([("Action", "QueuePenalty"), ("ActionID", aid)] + fields)
        assert (await rec.reply(aid)).get("Response") == "Error", aid
    rec.send([("Action", "QueueAdd"), ("ActionID", "a2"), ("Queue", "support"), ("Interface", "PJSIP/1002"),
              ("Penalty", "-3")])
    assert (await rec.reply("a2")).get("Response") == "Error"
    await rec.close()


async def test_sim_hold_holds_and_resumes_the_agents_call_from_another_process(sim: PbxSim) -> None:
    from pbxsim.scripts import CallerScript, Phone

    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send(LOGIN)
    await rec.reply("l1")
    sim.queues.add_member("support", "PJSIP/1002", "Agent Bob")
    sim.set_phone("1002", Phone(answer_after=0.5))
    rec.send([("Action", "SimHold"), ("ActionID", "h0"), ("Endpoint", "1002")])
    refused = await rec.reply("h0")
    assert refused.get("Response") == "Error" and "no answered call" in (refused.get("Message") or "")
    call = await sim.place_call(CallerScript(keys="1"))
    await rec.event("BridgeEnter", count=2)
    rec.send([("Action", "SimHold"), ("ActionID", "h1"), ("Endpoint", "1002"), ("Held", "yes")])
    assert (await rec.reply("h1")).get("Response") == "Success"
    hold = await rec.event("Hold")
    assert hold.get("Channel", "").startswith("PJSIP/1002-") and hold.get("MusicClass") == "default"
    moh = await rec.event("MusicOnHoldStart", count=2)
    assert moh.get("Channel") == call.channel_name
    rec.send([("Action", "SimHold"), ("ActionID", "h2"), ("Endpoint", "1002"), ("Held", "no")])
    await rec.reply("h2")
    await rec.event("Unhold")
    await rec.event("MusicOnHoldStop", count=2)
    await call.hangup()
    await rec.event("Hangup", count=2)
    await rec.close()
