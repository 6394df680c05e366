"""The simulator against the recordings of Atxfer (08 part B), ChanSpy (09),
ConfBridge (10), MixMonitor (13) and click-to-dial through a Local channel (14).

Same method as test_traces.py: the recorded actions are sent (by ActionID; channel names
replaced by the live ones), the parties are played by Phone/CallerScript with the recorded
timings, and the AMI stream is compared with the recording per channel / bridge / member
plus the call's milestones (tests/conformance/compare.py). Three adaptations, each for a
reason in the recordings:

- Local channel names carry their own counter (``Local/1001@agents-00000002;1``: the
  recording Asterisk had made two Local pairs before), so Local names are replaced by
  ``-L<n>`` in order of appearance on both sides, as compare.py aliases PJSIP suffixes;
- trace 13 was stored with LF line ends (the others keep AMI's CRLF): it is read as CRLF;
- whether a dialled leg's Ringing comes before or after its DialBegin is a race (the
  recordings differ): the Ringing is put after the DialBegin on both sides;
- which leg leaves the queue bridge first on a dual Redirect is a race (07 A vs 10), and
  the emptied bridge's BridgeDestroy comes when its thread gets to it;
- trace 08 holds three scenarios: part B is the slice between its driver notes, and the
  actions are sent one after the other without the recorder's pauses, so the TalkTime of
  AgentComplete (which measured those pauses) is not compared in 09 and 13; nor are its
  Dest* fields there, present or not depending on a race (traces 12 and 13 differ).
"""

from __future__ import annotations

import re

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim
from tests.conformance.compare import assert_same_call, caller_apps, list_items, replies
from tests.conformance.recorder import Recorder
from tests.conformance.trace import Headers, TraceChunk, messages, parse_trace, trace_path

_LOCAL = re.compile(r"(Local/[^;\s]+?-)([0-9a-f]{8})(;[12])")


def _chunks(prefix: str) -> list[TraceChunk]:
    """The trace's chunks with CRLF line ends (13 was stored with LF only)."""
    return [TraceChunk(c.t, c.direction, c.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            for c in parse_trace(trace_path(prefix))]


def recorded(prefix: str, start: float = 0.0, end: float = float("inf"),
             keep_ids: tuple[str, ...] = ()) -> list[Headers]:
    """What Asterisk sent, between ``start`` and ``end`` (plus the replies to ``keep_ids``)."""
    return [h for t, h in messages(_chunks(prefix), "<<") if start <= t < end or h.get("ActionID") in keep_ids]


def local_names(msgs: list[Headers]) -> list[Headers]:
    """Local channel names with their counter replaced by L<n> in order of appearance."""
    seen: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        return m.group(1) + seen.setdefault(m.group(2), f"L{len(seen) + 1}") + m.group(3)

    return [Headers((k, _LOCAL.sub(sub, v)) for k, v in h) for h in msgs]


def without(msgs: list[Headers], *keys: str) -> list[Headers]:
    return [Headers((k, v) for k, v in h if k not in keys) for h in msgs]


def dial_order(msgs: list[Headers]) -> list[Headers]:
    """A dialled leg's ``AgentCalled``, ``DialBegin`` and ``Newstate`` Ringing in one order
    (with no DestChannelState): their order is a race between threads (the recordings differ:
    02 AgentCalled, DialBegin, Ringing; 08 B DialBegin, Ringing, AgentCalled; 14 both ways)."""
    out = [Headers((k, v) for k, v in h if k != "DestChannelState") if h.get("Event") in ("DialBegin", "AgentCalled")
           else h for h in msgs]
    dests = [h.get("DestChannel") for h in out if h.get("Event") == "DialBegin" and h.get("DestChannel")]
    for dest in dests:
        def rank(m: Headers) -> int | None:
            ev = m.get("Event")
            if ev == "AgentCalled" and m.get("DestChannel") == dest:
                return 0
            if ev == "DialBegin" and m.get("DestChannel") == dest:
                return 1
            if ev == "Newstate" and m.get("Channel") == dest and m.get("ChannelState") == "5":
                return 2
            return None
        idx = [i for i, m in enumerate(out) if rank(m) is not None]
        if not idx:
            continue
        picked = sorted((out[i] for i in idx), key=lambda m: rank(m))
        for i in reversed(idx):
            out.pop(i)
        for k, m in enumerate(picked):
            out.insert(idx[0] + k, m)
    return out


def redirect_leaves(msgs: list[Headers]) -> list[Headers]:
    """The two BridgeLeave of a dual Redirect out of the queue bridge in one order, without
    counts: which leg leaves first is a race (07 A: the agent's, 10: the customer's)."""
    out = list(msgs)
    first = next((h.get("BridgeUniqueid") for h in out if h.get("Event") == "BridgeCreate"), None)
    idx = [i for i, h in enumerate(out) if h.get("Event") == "BridgeLeave" and h.get("BridgeUniqueid") == first]
    if len(idx) == 2:
        a, b = (Headers((k, v) for k, v in out[i] if k != "BridgeNumChannels") for i in idx)
        a, b = sorted((a, b), key=lambda h: h.get("Channel"))
        out[idx[0]], out[idx[1]] = a, b
    # the emptied queue bridge is dissolved by its own thread: in 10 after the conference's
    # BridgeCreate; the simulator dissolves it at once
    creates = [i for i, h in enumerate(out) if h.get("Event") == "BridgeCreate"]
    gone = next((i for i, h in enumerate(out) if h.get("Event") == "BridgeDestroy" and h.get("BridgeUniqueid") == first),
                None)
    if gone is not None and len(creates) > 1 and gone < creates[1]:
        out.insert(creates[1], out.pop(gone))
    return out


def drop(msgs: list[Headers], event: str) -> list[Headers]:
    return [h for h in msgs if h.get("Event") != event]


def complete_without_dest(msgs: list[Headers]) -> list[Headers]:
    """AgentComplete without its Dest* block: after an AMI Hangup of the customer Asterisk
    sends it before the agent leg's Hangup, with Dest* (12), or after it, without (13)."""
    return [Headers((k, v) for k, v in h if not k.startswith("Dest")) if h.get("Event") == "AgentComplete" else h
            for h in msgs]


async def session(sim: PbxSim, prefix: str) -> Recorder:
    rec = Recorder()
    rec.actions = {h.get("ActionID"): h for _, h in messages(_chunks(prefix), ">>") if h.get("ActionID")}
    await rec.connect(sim.ami_port)
    await rec.act("a1")
    return rec


def action(rec: Recorder, aid: str, **fields: str) -> None:
    """Send the recorded action ``aid`` with some fields replaced (live channel names)."""
    rec.send([(k, fields.get(k, v)) for k, v in rec.actions[aid]])


async def finish(rec: Recorder, *action_ids: str) -> list[Headers]:
    for aid in action_ids:
        await rec.act(aid)
    await rec.closed.wait()
    return rec.received


def agent_channel(sim: PbxSim, endpoint: str) -> str:
    (name,) = sim.truth()["interfaces"][f"PJSIP/{endpoint}"]["channels"]
    return name


async def test_13_mixmonitor_start_mute_stop_refused_and_ended_by_hangup_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "13")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.8))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    agent, customer = agent_channel(sim, "1001"), call.channel_name
    action(rec, "a6", Channel=agent, File=f"cti-lab-13-{agent.replace('/', '_')}.wav")
    await rec.reply("a6")
    for aid in ("a7", "a8", "a9"):
        action(rec, aid, Channel=agent)
        await rec.reply(aid)
    action(rec, "a10", Channel=agent)  # no File: refused
    await rec.reply("a10")
    action(rec, "a11", Channel=customer, File=f"cti-lab-13b-{customer.replace('/', '_')}.wav")
    await rec.reply("a11")
    action(rec, "a12", Channel=customer)  # AMI Hangup: ends the second recording (no MixMonitorStop)
    await call.ended()
    await rec.event("Hangup", count=2)
    got = await finish(rec, "a13", "a14", "a15", "a16")
    want = recorded("13")
    assert replies(got) == replies(want)
    assert_same_call(complete_without_dest(without(want, "TalkTime")), complete_without_dest(without(got, "TalkTime")))
    files = [(r.file.rsplit("/", 1)[1].split("-PJSIP")[0], r.ended_by) for r in sim.mixmonitor.recordings]
    assert files == [("cti-lab-13", "stop"), ("cti-lab-13b", "hangup")]
    assert [r.muted for r in sim.mixmonitor.recordings][0] == {"read": False, "write": False}  # unmuted again (a8)


async def test_14_click_to_dial_through_local_channel_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "14")
    for aid in ("a2", "a3", "a4"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.7))
    sim.set_phone("outside", Phone(answer_after=1.5, hangup_after_answer=4.0))
    await rec.act("a5")  # Originate Channel=Local/1001@agents ... ChannelId / OtherChannelId
    await rec.event("Hangup", count=4)  # the Local pair optimised away, then the outside party and 1001
    got = await finish(rec, "a6")
    want = recorded("14")
    assert replies(got) == replies(want)
    assert_same_call(dial_order(local_names(want)), dial_order(local_names(got)))

    def originated(msgs: list[Headers]) -> list[tuple]:
        keys = ("Response", "Reason", "Channel", "Context", "Exten", "Uniqueid")
        return [tuple(h.get(k) for k in keys) for h in local_names(msgs) if h.get("Event") == "OriginateResponse"]

    assert originated(got) == originated(want) == [
        ("Success", "4", "Local/1001@agents-L1;1", "agents", "0215551234", "c2d-local-0001")]
    # after the optimisation 1001 talks to the outside party directly, in the first bridge
    enters = [(h.get("Channel", "").split("-")[0], h.get("BridgeNumChannels")) for h in local_names(got)
              if h.get("Event") == "BridgeEnter"]
    assert enters == [("PJSIP/1001", "1"), ("Local/1001@agents", "2"), ("PJSIP/outside", "1"),
                      ("Local/1001@agents", "2"), ("PJSIP/outside", "2")]
    assert not sim.channels and not sim.bridges


async def test_08b_atxfer_consult_then_transferer_hangs_up_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "08")
    await rec.act("a10")
    sim.set_phone("1001", Phone(answer_after=0.8, hangup_after_answer=7.0))  # BYE ~5 s after the Atxfer
    sim.set_phone("1002", Phone(answer_after=1.0, hangup_after_answer=6.0))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    action(rec, "a11", Channel=agent_channel(sim, "1001"))  # Atxfer Context=agents Exten=1002
    assert (await rec.reply("a11")).get("Message") == "Atxfer successfully queued"
    await call.ended()
    await rec.event("Hangup", Channel=call.channel_name)
    got = await finish(rec, "a12", "a13", "a14", "a22")
    want = recorded("08", 10.679, 23.725, keep_ids=("a1", "a22"))
    assert replies(got) == replies(want)
    assert_same_call(dial_order(local_names(want)), dial_order(local_names(got)))
    assert call.answered_by == "PJSIP/1001"
    digits = [h.get("Digit") for h in got if h.get("Event") == "DTMFEnd" and h.get("Channel", "").startswith("PJSIP/1001")]
    assert digits == ["*", "2", "1", "0", "0", "2"]  # features.conf atxfer code, then the target
    completes = [h.get("Reason") for h in got if h.get("Event") == "AgentComplete"]
    assert completes == ["transfer"]


async def test_10_conference_redirect_originate_list_kick_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "10")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.8))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    agent = agent_channel(sim, "1001")
    action(rec, "a6", Channel=call.channel_name, ExtraChannel=agent)  # dual Redirect into agents,7001
    await rec.reply("a6")
    await rec.event("ConfbridgeJoin", count=2)
    sim.set_phone("1002", Phone(answer_after=0.8, hangup_after_answer=5.0))
    await rec.act("a7")  # Originate PJSIP/1002 into agents,7001
    await rec.event("ConfbridgeJoin", count=3)
    await rec.act("a8")  # ConfbridgeList
    await rec.act("a9")  # ConfbridgeListRooms
    await rec.event("ConfbridgeLeave")  # 1002 hangs up
    await rec.act("a10")  # ConfbridgeKick Channel=all
    await call.ended()
    await rec.event("Hangup", count=3)
    got = await finish(rec, "a11", "a12", "a13", "a14")
    want = recorded("10")
    assert replies(got) == replies(want)
    for aid in ("a8", "a9"):
        assert list_items(got, aid) == list_items(want, aid)
    listed = [h.get("Channel", "").split("-")[0] for h in got if h.get("Event") == "ConfbridgeList"]
    assert listed == ["PJSIP/1001", "PJSIP/caller", "PJSIP/1002"]
    # AgentComplete after a dual Redirect is unreliable (README): never in 07 A, late here
    # with Reason=caller (Reason=agent in an earlier run); pbxsim/moves.py models 07 A
    assert_same_call(redirect_leaves(drop(want, "AgentComplete")), redirect_leaves(drop(got, "AgentComplete")),
                     dialplan=False)

    def path(msgs: list[Headers]) -> list[tuple]:
        # the first Newexten after an AMI Redirect names the application the channel left
        # (Asterisk: "Queue" at agents,7001,1): the application there is not compared
        return [(c, e, p, "*" if (e, p) == ("7001", "1") else a) for c, e, p, a in caller_apps(msgs)]

    assert path(got) == path(want)
    assert not sim.channels and not sim.bridges


async def test_09_supervisor_listen_whisper_barge_with_chanspy_as_recorded(sim: PbxSim) -> None:
    rec = await session(sim, "09")
    for aid in ("a2", "a3", "a4", "a5"):
        await rec.act(aid)
    sim.set_phone("1001", Phone(answer_after=0.8))
    sim.set_phone("1900", Phone(answer_after=0.5, hangup_after_answer=3.0))
    call = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
    await rec.event("BridgeEnter", count=2)
    for n, aid in enumerate(("a6", "a7", "a8"), 1):  # Originate 1900 into spyq / spyw / spyb-1001
        await rec.act(aid)
        await rec.event("ChanSpyStop", count=n)
        await rec.event("Hangup", count=n)
    action(rec, "a9", Channel=call.channel_name)  # AMI Hangup of the customer
    await call.ended()
    await rec.event("Hangup", count=5)
    got = await finish(rec, "a10", "a11", "a12", "a13")
    want = recorded("09")
    assert replies(got) == replies(want)
    # the recorder paused between the three sessions; TalkTime measured those pauses
    assert_same_call(complete_without_dest(dial_order(without(want, "TalkTime"))),
                     complete_without_dest(dial_order(without(got, "TalkTime"))))

    def spied(msgs: list[Headers]) -> list[tuple]:
        return [(h.get("Event"), h.get("SpyerExten"), (h.get("SpyeeChannel") or "").split("-")[0]) for h in msgs
                if h.get("Event", "").startswith("ChanSpy")]

    assert spied(got) == spied(want) == [
        ("ChanSpyStart", "spyq-1001", "PJSIP/1001"), ("ChanSpyStop", "spyq-1001", "PJSIP/1001"),
        ("ChanSpyStart", "spyw-1001", "PJSIP/1001"), ("ChanSpyStop", "spyw-1001", "PJSIP/1001"),
        ("ChanSpyStart", "spyb-1001", "PJSIP/1001"), ("ChanSpyStop", "spyb-1001", "PJSIP/1001")]
