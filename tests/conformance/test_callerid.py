"""A caller whose number the product's dialplan shortens, as Asterisk 22 reports it.

asterisk_conf/ [from-trunk] strips a leading ``+86`` (or ``0086``) with
``Set(CALLERID(num)=${CALLERID(num):3})``. What real Asterisk does then: the ``Set``
step's Newexten still shows the old number, then ``NewCallerid`` (Privilege call,all, the
channel block with the new number, ``CID-CallingPres: 0 (Presentation Allowed, Not
Screened)``; as in trace 08 line ~8330), then the next step's Newexten with the new number,
and everything after (Answer's Newexten and Newstate, QueueCallerJoin, AgentCalled, the
agent leg's connected line) carries the new number. No NewCallerid when nothing changes.

tests/traces/17_callerid_normalized.ami recorded exactly this on Asterisk 22.10.1 with
asterisk_conf/ (its .md: call A from +8613812345678 "Zhang Wei", call B from
008613900001111 with no name, both through the FastAGI IVR to 1001). The first test replays
it on the simulator and compares the streams with compare.py, NewCallerid included (its
position among the call's milestones and on the caller's channel) and the CallerIDNum of
every event; the others check the sequence in detail and that a national number gets no
NewCallerid. The IVR runs without a database here (the recording's identified call A as
customer C0017: only its VarSets differ, and VarSet is not compared).
"""

from __future__ import annotations

from pathlib import Path

from pbxsim.scripts import CallerScript, Phone
from tests.conformance.compare import assert_same_call, replies
from tests.conformance.lab import SIGN_IN, ivr_lab, recorded_stream
from tests.conformance.test_agi_ivr import CONF, SPEED
from tests.conformance.trace import Headers, trace_path

NATIONAL = "13812345678"
TRACE_17 = Path(__file__).resolve().parents[1] / "traces" / "17_callerid_normalized.ami"


async def test_17_numbers_normalised_by_the_dialplan_as_recorded() -> None:
    async with ivr_lab(CONF, SPEED, TRACE_17) as (sim, rec):
        for aid in SIGN_IN:
            await rec.act(aid)
        sim.set_phone("1001", Phone(answer_after=1.5))  # the SIPp UAS: rings 1.5 s, answers
        # as recorded: the caller keys 1 (SIP INFO) 1.5 s in, hangs up 3.5 s after the agent answered
        a = await sim.place_call(CallerScript(number="+8613812345678", name="Zhang Wei", keys="1", keys_at=1.5,
                                              hangup_after_answer=3.5))
        await a.ended()
        await sim.clock.sleep(7.0)  # the recorder's pause: wrapuptime = 5 keeps 1001 out that long
        b = await sim.place_call(CallerScript(number="008613900001111", name="", keys="1", keys_at=1.5,
                                              hangup_after_answer=3.5))
        await b.ended()
        assert (a.answered_by, b.answered_by) == ("PJSIP/1001", "PJSIP/1001")
        for aid in ("a6", "a7"):  # QueueRemove 1001, Logoff
            await rec.act(aid)
        await rec.closed.wait()
        got = rec.received
    want = recorded_stream(TRACE_17)
    assert replies(got) == replies(want)
    assert_same_call(want, got, keep=frozenset({"NewCallerid"}), also=("CallerIDNum",))

    def changes(msgs: list[Headers]) -> list[tuple]:
        keys = ("Channel", "CallerIDNum", "CallerIDName", "Priority", "CID-CallingPres")
        return [tuple((h.get(k) or "").split("-")[0] if k == "Channel" else h.get(k) for k in keys)
                for h in msgs if h.get("Event") == "NewCallerid"]

    assert changes(got) == changes(want) == [
        ("PJSIP/caller", NATIONAL, "Zhang Wei", "3", "0 (Presentation Allowed, Not Screened)"),
        ("PJSIP/caller", "13900001111", "<unknown>", "5", "0 (Presentation Allowed, Not Screened)")]


async def call_from(number: str) -> list[Headers]:
    """The AMI stream of a call from ``number`` to 96588, 1 pressed in the IVR, answered by 1001."""
    async with ivr_lab(CONF, SPEED, trace_path("02")) as (sim, rec):
        for aid in SIGN_IN:
            await rec.act(aid)
        sim.set_phone("1001", Phone(answer_after=1.5))
        call = await sim.place_call(CallerScript(number=number, name="Li Na", keys="1", keys_at=1.5,
                                                 hangup_after_answer=4.5))
        await rec.event("Hangup", count=2)
        assert call.answered_by == "PJSIP/1001"
        for aid in ("a6", "a7"):
            await rec.act(aid)
        await rec.closed.wait()
        return rec.received


def caller_story(got: list[Headers]) -> list[tuple[str, str, str]]:
    """(event, application or state, CallerIDNum) of the caller's channel up to its answer."""
    out = []
    for h in got:
        ev = h.get("Event")
        if not (h.get("Channel") or "").startswith("PJSIP/caller-") or ev not in ("Newchannel", "Newexten",
                                                                               "NewCallerid", "Newstate"):
            continue
        out.append((ev, h.get("Application") or h.get("ChannelStateDesc") or "", h.get("CallerIDNum") or ""))
        if ev == "Newstate" and h.get("ChannelState") == "6":
            break
    return out


async def test_a_plus_86_caller_is_shortened_with_newcallerid_where_asterisk_sends_it() -> None:
    got = await call_from("+8613812345678")
    assert caller_story(got) == [
        ("Newchannel", "Ring", "+8613812345678"),
        ("Newexten", "NoOp", "+8613812345678"),
        ("Newexten", "GotoIf", "+8613812345678"),
        ("Newexten", "Set", "+8613812345678"),
        ("NewCallerid", "Ring", NATIONAL),
        ("Newexten", "GotoIf", NATIONAL),
        ("Newexten", "Answer", NATIONAL),
        ("Newstate", "Up", NATIONAL)]
    [changed] = [h for h in got if h.get("Event") == "NewCallerid" and h.get("Channel", "").startswith("PJSIP/caller-")]
    assert [k for k, _ in changed] == [
        "Event", "Privilege", "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
        "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority",
        "Uniqueid", "Linkedid", "CID-CallingPres"]
    assert (changed.get("Privilege"), changed.get("Context"), changed.get("Exten"), changed.get("Priority"),
            changed.get("CallerIDName"), changed.get("CID-CallingPres")) == (
        "call,all", "from-trunk", "96588", "3", "Li Na", "0 (Presentation Allowed, Not Screened)")
    # the queue and the agent's ring come after it and carry the national number
    order = [h.get("Event") for h in got if h.get("Event") in ("NewCallerid", "QueueCallerJoin", "AgentCalled")]
    assert order == ["NewCallerid", "QueueCallerJoin", "AgentCalled"]
    for ev in ("QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete"):
        [h] = [h for h in got if h.get("Event") == ev]
        assert h.get("CallerIDNum") == NATIONAL, ev
    ringing = next(h for h in got if h.get("Event") == "Newstate" and h.get("Channel", "").startswith("PJSIP/1001-"))
    assert ringing.get("ConnectedLineNum") == NATIONAL
    ivr_vars = {h.get("Variable"): h.get("Value") for h in got if h.get("Event") == "VarSet"}
    assert ivr_vars.get("CTI_IVR_PATH") == "main,support"  # the IVR ran as for any caller


async def test_a_national_caller_gets_no_newcallerid() -> None:
    got = await call_from(NATIONAL)
    assert [h for h in got if h.get("Event") == "NewCallerid"] == []
    assert [a for ev, a, _ in caller_story(got) if ev == "Newexten"] == ["NoOp", "GotoIf", "GotoIf", "Answer"]
