"""The simulator's Redirect and Bridge against real Asterisk 22.10.1 (traces 07 and 08 C).

Driven like tests/conformance/test_traces.py: the recorded actions by ActionID (Redirect,
Bridge and Hangup name the simulator's own channels, the rest is verbatim), the SIPp
parties as Phone/CallerScript with the recorded timings; the pauses the recording driver
made between actions are reproduced on the simulated clock (pacing, not synchronisation:
every step waits for its event). Then the streams are compared with compare.py.
"""

from __future__ import annotations

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim
from tests.conformance.compare import assert_same_call, list_items, replies
from tests.conformance.recorder import Recorder
from tests.conformance.test_traces import finish, recorded, session
from tests.conformance.trace import Headers, messages, parse_trace, trace_path


def agent_channel(sim: PbxSim, endpoint: str) -> str:
    return next(c.name for c in sim.channels.values() if c.endpoint == endpoint and not c.gone)


def recorded_from(prefix: str, note: str) -> list[Headers]:
    """What Asterisk sent from the driver's annotation containing ``note`` on."""
    chunks = parse_trace(trace_path(prefix))
    start = next(c.t for c in chunks if c.direction == "--" and note.encode() in c.data)
    return [h for t, h in messages(chunks, "<<") if t >= start]


def recorded_until(prefix: str, note: str) -> list[Headers]:
    """What Asterisk sent before the driver's annotation containing ``note``."""
    chunks = parse_trace(trace_path(prefix))
    end = next(c.t for c in chunks if c.direction == "--" and note.encode() in c.data)
    return [h for t, h in messages(chunks, "<<") if t < end]


def same_replies(got: list[Headers], want: list[Headers], sent: set[str]) -> None:
    assert {k: v for k, v in replies(got).items() if k in sent} == \
        {k: v for k, v in replies(want).items() if k in sent}


async def send(rec: Recorder, aid: str, *fields: tuple[str, str]) -> Headers:
    rec.send([("Action", rec.actions[aid].get("Action")), ("ActionID", aid), *fields])
    return await rec.reply(aid)


async def test_07_hold_by_dual_redirect_then_bridge_and_customer_only_redirect_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "07")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.8))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    customer, agent = call.channel.name, agent_channel(sim, "1001")
    await sim.clock.sleep(2.0)
    # A: the customer to music on hold, the agent's leg to agent-wait: both survive
    reply = await send(rec, "a6", ("Channel", customer), ("Context", "hold"), ("Exten", "s"), ("Priority", "1"),
                       ("ExtraChannel", agent), ("ExtraContext", "agent-wait"), ("ExtraExten", "s"),
                       ("ExtraPriority", "1"))
    assert reply.get("Message") == "Dual Redirect successful"
    await rec.event("MusicOnHoldStart", count=2)
    await sim.clock.sleep(4.0)
    await send(rec, "a7", ("Channel1", customer), ("Channel2", agent), ("Tone", "no"))
    await rec.event("BridgeEnter", count=4)
    await sim.clock.sleep(3.0)
    await rec.act("a8")
    await send(rec, "a9", ("Channel", customer))  # after a Bridge action the agent's leg goes too
    await rec.event("Hangup", count=2)
    await rec.act("a10")
    for aid in ("a11", "a12", "a13", "a14"):
        await rec.act(aid)
    # B: the customer only: Asterisk hangs the agent's leg up at once
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=6)
    await sim.clock.sleep(2.0)
    reply = await send(rec, "a15", ("Channel", call.channel.name), ("Context", "hold"), ("Exten", "s"),
                       ("Priority", "1"))
    assert reply.get("Message") == "Redirect successful"
    await rec.event("Hangup", count=3)
    await sim.clock.sleep(4.0)
    await rec.act("a16")
    await send(rec, "a17", ("Channel", call.channel.name))
    await rec.event("Hangup", count=4)
    got = await finish(rec, "a18", "a19", "a20", "a21")
    want = recorded("07")
    same_replies(got, want, {f"a{i}" for i in range(1, 22)})
    assert_same_call(want, got)
    # what CoreShowChannels lists: both legs bridged after the Bridge action; the held customer alone in B
    for aid in ("a8", "a10", "a16"):
        assert list_items(got, aid) == list_items(want, aid), f"list reply of {aid} differs"
    complete = [h for h in got if h.get("Event") == "AgentComplete"]
    assert len(complete) == 1 and complete[0].get("Reason") == "caller" and complete[0].get("DestChannel") is None


async def test_08c_redirect_back_into_the_queue_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "08")
    await rec.act("a15")  # QueueAdd 1001 (part C starts with only 1001 in the queue)
    sim.set_phone("1001", Phone(answer_after=0.8))
    sim.set_phone("1002", Phone(answer_after=1.0, hangup_after_answer=4.0))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    await sim.clock.sleep(2.0)
    await rec.act("a16")  # QueueRemove 1001
    await rec.act("a17")  # QueueAdd 1002
    await send(rec, "a18", ("Channel", call.channel.name), ("Context", "agents"), ("Exten", "8000"),
               ("Priority", "1"))
    await rec.event("Hangup", count=3)
    got = await finish(rec, "a19", "a20", "a21", "a22")
    want = recorded_from("08", "part C")
    same_replies(got, want, {f"a{i}" for i in range(15, 23)})
    assert_same_call(want, got, dialplan=False)  # the caller's path starts before part C in the recording
    late = [h for h in got if h.get("Event") == "AgentComplete"][-1]
    assert late.get("Channel") is None and late.get("Reason") == "caller"  # the moved call's late AgentComplete


async def test_08a_blind_transfer_from_the_agent_leg_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "08")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.8))
    sim.set_phone("1002", Phone(answer_after=1.0, hangup_after_answer=4.0))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    await sim.clock.sleep(2.0)
    reply = await send(rec, "a6", ("Channel", agent_channel(sim, "1001")), ("Context", "agents"), ("Exten", "1002"))
    assert reply.get("Message") == "Transfer succeeded"
    await rec.event("Hangup", count=3)
    assert call.channel.gone
    got = await finish(rec, "a7", "a8", "a9", "a22")  # a22: the recording's Logoff (part A ends here)
    want = recorded_until("08", "part B")
    same_replies(got, want, {f"a{i}" for i in range(1, 10)})
    assert_same_call(want, got)

    def story(msgs: list[Headers]) -> list[tuple]:
        keep = ("Unhold", "BlindTransfer", "AgentComplete")
        return [(h.get("Event"), h.get("Reason") or h.get("Extension") or "") for h in msgs if h.get("Event") in keep]

    assert story(got) == story(want) == [("Unhold", ""), ("BlindTransfer", "1002"), ("AgentComplete", "transfer")]
