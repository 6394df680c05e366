"""A callback keeping the place in line as Asterisk 22.10.1 did it with asterisk_conf/ (tests/traces/21).

Recorded with manager.conf's eventfilter on (the CTI user's stream). Caller B (From ``caller``)
keeps agent 1001 busy; caller A (13800138000) joins the queue behind, presses 5: app_queue's
``context = cti-queue-exit`` lets them out (a Newexten at ``5`` priority 0 while Queue() still runs,
QueueCallerLeave there, no abandon); the IVR's Queue() returns, the IVR ends (CTI_IVR_DONE=yes), the
dialplan runs ``cti-queue-exit,5``: the IVR's callback node keeps A's number (key 1) and sends
UserEvent CtiCallback, then the dialplan hangs A up. B hangs up; the recorded actions are then the
CTI server's: QueuePause wrap-up, QueuePause callback (the reservation), Originate of 1001 into
``cti-callback`` (ChannelId cti-cb-trace21a): 1001 answers, the caller's number is dialled through
``outside``, answers and hangs up 4 s later; QueuePause wrap-up, unpause, QueueRemove.

The simulator runs the same configuration and the project's IVR without a database; the parties are
played with the recorded timings and the streams compared as the other traces are.
"""

from __future__ import annotations

from pathlib import Path

from pbxsim.scripts import CallerScript, Phone
from tests.conformance.compare import assert_same_call, replies
from tests.conformance.lab import SIGN_IN, ivr_lab, recorded_stream
from tests.conformance.test_feature_traces import dial_order, without
from tests.conformance.trace import Headers

TRACE_21 = Path(__file__).resolve().parents[1] / "traces" / "21_callback_in_turn.ami"
ASTERISK_CONF = Path(__file__).resolve().parents[2] / "asterisk_conf"
SPEED = 5.0
CALLER = "13800138000"


def ring_order(msgs: list[Headers]) -> list[Headers]:
    """A rung agent's ``AgentCalled`` and its channel's ``Newstate`` Ringing in one order: a race between
    threads (here Ringing came first; the eventfilter leaves out the DialBegin dial_order keys on)."""
    out = list(msgs)
    for dest in [h.get("DestChannel") for h in msgs if h.get("Event") == "AgentCalled"]:
        idx = [
            i
            for i, m in enumerate(out)
            if (m.get("Event") == "AgentCalled" and m.get("DestChannel") == dest)
            or (
                m.get("Event") == "Newstate"
                and m.get("Channel") == dest
                and m.get("ChannelState") == "5"
            )
        ]
        picked = sorted(
            (out[i] for i in idx), key=lambda m: m.get("Event") != "AgentCalled"
        )
        for i, m in zip(idx, picked):
            out[i] = m
    return out


async def test_21_callback_kept_in_line_then_made_as_recorded() -> None:
    async with ivr_lab(ASTERISK_CONF, SPEED, TRACE_21) as (sim, rec):
        for aid in SIGN_IN:
            await rec.act(aid)
        sim.set_phone("1001", Phone(answer_after=1.5))
        b = await sim.place_call(
            CallerScript(
                number="caller", name="Li Na", keys="1", keys_at=1.5, hangup_at=27.5
            )
        )
        await rec.event("AgentConnect")
        a = await sim.place_call(
            CallerScript(
                number=CALLER,
                name="Zhang Wei",
                dtmf=((1.5, "1"), (5.5, "5"), (16.5, "1")),
            )
        )
        request = await rec.event("UserEvent")
        assert (
            request.get("UserEvent"),
            request.get("Number"),
            request.get("Queue"),
        ) == ("CtiCallback", CALLER, "support")
        await a.ended()
        await b.ended()
        await rec.act("a6")  # wrap-up
        await rec.act("a7")  # the reservation: pause reason callback
        sim.set_phone("outside", Phone(answer_after=0.5, hangup_after_answer=4.0))
        await rec.act("a8")  # Originate 1001 into cti-callback
        await rec.event("Hangup", Uniqueid="cti-cb-trace21a")
        for aid in ("a9", "a10", "a11", "a12"):  # wrap-up, unpause, QueueRemove, Logoff
            await rec.act(aid)
        await rec.closed.wait()
        got = rec.received
    # the lab's IVR had a customer database: caller A, a VIP there, got a priority step the
    # database-less IVR here does not send
    want = [h for h in recorded_stream(TRACE_21) if h.get("UserEvent") != "CtiStep"]
    assert replies(got) == replies(want)
    assert_same_call(
        ring_order(dial_order(without(want, "TalkTime"))),
        ring_order(dial_order(without(got, "TalkTime"))),
    )

    def exit_steps(msgs: list) -> list[tuple]:
        """Caller A's way out of the queue: the goto at priority 0, the leave, then cti-queue-exit."""
        return [
            (
                h.get("Event"),
                h.get("Exten"),
                h.get("Priority"),
                h.get("Application") or h.get("Queue") or "",
            )
            for h in msgs
            if (h.get("Channel") or "").startswith("PJSIP/caller-")
            and h.get("Exten") == "5"
            and h.get("Event") in ("Newexten", "QueueCallerLeave")
        ]

    assert (
        exit_steps(got)
        == exit_steps(want)
        == [
            ("Newexten", "5", "0", "Queue"),
            ("QueueCallerLeave", "5", "0", "support"),
            ("Newexten", "5", "1", "NoOp"),
            ("Newexten", "5", "2", "Set"),
            ("Newexten", "5", "3", "AGI"),
            ("Newexten", "5", "4", "GotoIf"),
            ("Newexten", "5", "5", "Hangup"),
        ]
    )
