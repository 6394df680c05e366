"""Supervision as Asterisk 22.10.1 did it with asterisk_conf/ (tests/traces/18_supervision_switch_intercept).

The recorded actions are the CTI server's: Originate of 1900 into ``cti-spy`` (``ChanSpy(PJSIP/1001,qdES)``),
``PlayDTMF Receive=true`` 5 / 6 / 4 (ChanSpy's ``d`` option: whisper, barge, listen), a PlayDTMF
without Receive, AMI Hangup of the spy; then the intercept three times: QueuePause (intercepted),
[Setvar CTI_IVR_DONE=yes], ``Bridge`` customer + spy channel, Hangup of the agent's leg (already gone:
``No such channel``), after which the supervisor hangs up (B: the customer goes back to the IVR's
failsafe and ends in voicemail; D: with CTI_IVR_DONE the dialplan hangs it up) or the customer does (C).

The recorded actions are sent (live channel names), the parties are played with the recorded
timings, the streams are compared as in test_feature_traces.py (per channel / bridge / member plus
the milestones and the caller's dialplan path), and so are the CoreShowChannels replies taken
along the way. The simulator runs the same configuration with its whole event stream (the recorder
had no eventfilter) and the project's IVR without a database (only its VarSets differ).
TalkTime of the AgentCompletes measured the recorder's pauses and is not compared.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim
from tests.conformance.compare import assert_same_call, list_items, replies
from tests.conformance.lab import SIGN_IN, ivr_lab, recorded_stream
from tests.conformance.recorder import Recorder
from tests.conformance.test_feature_traces import dial_order, without
from tests.conformance.trace import Headers

TRACE_18 = Path(__file__).resolve().parents[1] / "traces" / "18_supervision_switch_intercept.ami"
ASTERISK_CONF = Path(__file__).resolve().parents[2] / "asterisk_conf"
# slower than the other traces' 20: the IVR's FastAGI round trips are real time, and at 20 a busy
# machine stretched the 0.8 s ring to 2 simulated seconds (RingTime is compared)
SPEED = 5.0


def recorded_conf(tmp: Path) -> Path:
    """asterisk_conf/ as the recording Asterisk ran it: manager.conf without ``eventfilter`` lines."""
    conf = tmp / "asterisk_conf"
    shutil.copytree(ASTERISK_CONF, conf)
    manager = conf / "manager.conf"
    manager.write_text("".join(line for line in manager.read_text(encoding="utf-8").splitlines(keepends=True)
                               if not line.lstrip().startswith("eventfilter")), encoding="utf-8")
    return conf


def action(rec: Recorder, aid: str, **fields: str) -> None:
    rec.send([(k, fields.get(k, v)) for k, v in rec.actions[aid]])


def channel_of(sim: PbxSim, prefix: str) -> str:
    (name,) = [n for n in sim.channels if n.startswith(prefix)]
    return name


def modes(sim: PbxSim) -> list[str]:
    return [s["mode"] for s in sim.truth()["spies"]]


async def spy_started(rec: Recorder, sim: PbxSim, n: int) -> str:
    """The spy channel, once the ``n``-th ChanSpyStart came."""
    started = await rec.event("ChanSpyStart", count=n)
    return started.get("SpyerChannel") or ""


async def intercept(rec: Recorder, sim: PbxSim, customer: str, spy: str, ids: tuple[str, ...]) -> None:
    """QueuePause, [Setvar,] Bridge, then the Hangup of the agent's leg Asterisk already hung up."""
    agent = channel_of(sim, "PJSIP/1001-")
    *first, bridge, hangup = ids
    for aid in first:
        action(rec, aid, Channel=customer)
        await rec.reply(aid)
    action(rec, bridge, Channel1=customer, Channel2=spy)
    assert (await rec.reply(bridge)).get("Message") == "Channels have been bridged"
    await rec.event("Hangup", Channel=agent)
    action(rec, hangup, Channel=agent)
    await rec.reply(hangup)


async def test_18_monitor_switch_stop_and_intercept_as_recorded(tmp_path: Path) -> None:
    async with ivr_lab(recorded_conf(tmp_path), SPEED, TRACE_18) as (sim, rec):
        for aid in SIGN_IN:
            await rec.act(aid)

        # A: caller -> IVR 1 -> 1001; 1900 listens, whisper / barge / listen by PlayDTMF Receive=true, stop
        sim.set_phone("1001", Phone(answer_after=0.8))
        sim.set_phone("1900", Phone(answer_after=0.5))
        a = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
        await rec.event("BridgeEnter", count=2)
        await rec.act("a6")
        spy = await spy_started(rec, sim, 1)
        assert modes(sim) == ["listen"]
        await rec.act("a7")
        for aid, mode in (("a8", "whisper"), ("a9", "barge"), ("a10", "listen")):
            action(rec, aid, Channel=spy)
            await rec.reply(aid)
            assert modes(sim) == [mode]
        action(rec, "a11", Channel=spy)  # without Receive: played to the phone, nothing on AMI
        await rec.reply("a11")
        assert modes(sim) == ["listen"]
        action(rec, "a12", Channel=spy)
        await rec.event("Hangup", Channel=spy)
        assert sim.truth()["spies"] == []

        # B: intercept; the supervisor hangs up 14 s after answering: the customer ends in voicemail
        sim.set_phone("1900", Phone(answer_after=0.5, hangup_after_answer=14.0))
        await rec.act("a13")
        spy = await spy_started(rec, sim, 2)
        await intercept(rec, sim, a.channel_name, spy, ("a14", "a15", "a16"))
        bridged = {c["channel"]: c["bridge"] for c in sim.truth()["channels"]}
        assert bridged[a.channel_name] and bridged[a.channel_name] == bridged[spy]
        assert sim.truth()["spies"] == []  # yanked out of ChanSpy
        for aid in ("a17", "a18"):
            await rec.act(aid)
        await rec.event("Newexten", Channel=a.channel_name, Application="VoiceMail")
        for aid in ("a19", "a20", "a21", "a22"):
            await rec.act(aid)
        action(rec, "a23", Channel=a.channel_name)
        await a.ended()

        # C: a second call intercepted (CTI_IVR_DONE=yes first); the customer hangs up 13 s after pressing 1
        await rec.act("a24")
        await sim.clock.sleep(5.5)  # queues.conf wrapuptime = 5
        sim.set_phone("1900", Phone(answer_after=0.5))
        c = await sim.place_call(CallerScript(keys="1", keys_at=1.2, hangup_at=14.2))
        await rec.event("BridgeEnter", count=6)
        await rec.act("a25")
        spy = await spy_started(rec, sim, 3)
        await intercept(rec, sim, c.channel_name, spy, ("a26", "a27", "a28", "a29"))
        await rec.act("a30")
        await c.ended()
        await rec.event("Hangup", Channel=spy)
        for aid in ("a31", "a32"):
            await rec.act(aid)

        # D: a third one; the supervisor hangs up: with CTI_IVR_DONE=yes the dialplan ends the customer
        await rec.act("a33")
        await sim.clock.sleep(5.5)
        sim.set_phone("1900", Phone(answer_after=0.5, hangup_after_answer=14.0))
        d = await sim.place_call(CallerScript(keys="1", keys_at=1.2))
        await rec.event("BridgeEnter", count=10)
        await rec.act("a34")
        spy = await spy_started(rec, sim, 4)
        await intercept(rec, sim, d.channel_name, spy, ("a35", "a36", "a37", "a38"))
        await rec.act("a39")
        await d.ended()
        for aid in ("a40", "a41", "a42", "a43"):  # ... QueueRemove, Logoff
            await rec.act(aid)
        await rec.closed.wait()
        got = rec.received
    want = recorded_stream(TRACE_18)
    assert replies(got) == replies(want)
    assert_same_call(dial_order(without(want, "TalkTime")), dial_order(without(got, "TalkTime")))
    def channels(msgs: list[Headers], aid: str) -> list[tuple]:
        """The CoreShowChannels reply (Asterisk lists the newest channel first, the simulator by name)."""
        reply = sorted((h for h in msgs if h.get("ActionID") == aid and h.get("Event")),
                       key=lambda h: (h.get("Event") != "CoreShowChannel", (h.get("Channel") or "").split("-")[0]))
        return list_items(reply, aid)

    for aid in ("a7", "a17", "a18", "a19", "a22", "a30", "a31", "a39", "a40"):
        assert channels(got, aid) == channels(want, aid), aid

    def dtmf(msgs: list[Headers]) -> list[tuple]:
        return [(h.get("Event"), (h.get("Channel") or "").split("-")[0], h.get("Digit"), h.get("DurationMs"),
                 h.get("Direction")) for h in msgs if (h.get("Event") or "").startswith("DTMF")]

    assert dtmf(got) == dtmf(want) == [("DTMFEnd", "PJSIP/caller", "1", "200", "Received")] + [
        ("DTMFEnd", "PJSIP/1900", d, "0", "Received") for d in "564"] + [
        ("DTMFEnd", "PJSIP/caller", "1", "200", "Received")] * 2

    def spying(msgs: list[Headers]) -> list[str]:
        return [h.get("Event") or "" for h in msgs if (h.get("Event") or "").startswith("ChanSpy")]

    # after the intercept nothing says ChanSpy ended: the spy channel was yanked out of it
    assert spying(got) == spying(want) == ["ChanSpyStart", "ChanSpyStop", "ChanSpyStart", "ChanSpyStart",
                                           "ChanSpyStart"]
