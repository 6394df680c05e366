"""The callback key pressed while the queue rings an agent, as Asterisk 22.10.1 did it with
asterisk_conf/ (tests/traces/25): app_queue cancels the ring (DialEnd CANCEL twice, the goto to
``cti-queue-exit,5`` at priority 0, QueueCallerLeave, the agent's leg hangs up with cause 0; no
AgentRingNoAnswer, no abandon), then the caller keys the number to call back in the IVR's
callback node. The recorded actions are then the CTI server's: pause ``callback``, Originate of
1001 into ``cti-callback`` (ChannelId cti-cb-trace25a), 1001 and the called number answer.

The simulator runs the same configuration and the project's IVR without a database; the caller
is played with the recorded timings and the streams compared as the other traces are.
"""

from __future__ import annotations

from pathlib import Path

from pbxsim.scripts import CallerScript, Phone
from tests.conformance.compare import assert_same_call, replies
from tests.conformance.lab import SIGN_IN, ivr_lab, recorded_stream
from tests.conformance.test_callback_trace import ring_order
from tests.conformance.test_feature_traces import dial_order, without
from tests.conformance.trace import Headers

TRACE_25 = Path(__file__).resolve().parents[1] / "traces" / "25_key_while_ringing.ami"
ASTERISK_CONF = Path(__file__).resolve().parents[2] / "asterisk_conf"
SPEED = 5.0
NUMBER = "0215551234"
# the caller's keys as recorded (seconds after the call came in): 1 to the queue, 5 while 1001
# rings, the number to call back, and 1 once the IVR has said it back
KEYS = (
    (1.5, "1"),
    (5.5, "5"),
    *((8.0 + 0.3 * i, d) for i, d in enumerate(NUMBER + "#")),
    (22.4, "1"),
)


def the_cancel(msgs: list[Headers]) -> list[tuple]:
    """From the key to the leave: what the caller's channel and the rung leg report, in order."""
    out = []
    for h in msgs:
        event = h.get("Event")
        if event == "DialEnd" and h.get("Channel", "").startswith("PJSIP/caller-"):
            out.append((event, h.get("DialStatus"), h.get("Context"), h.get("Exten")))
        elif event == "QueueCallerLeave":
            out.append((event, h.get("Context"), h.get("Exten"), h.get("Priority")))
        elif event == "Hangup" and h.get("Channel", "").startswith("PJSIP/1001-"):
            out.append((event, h.get("Cause")))
            break
        elif event in ("AgentRingNoAnswer", "QueueCallerAbandon", "AgentConnect"):
            out.append((event,))
    return out


async def test_25_the_key_cancels_the_ring_as_recorded() -> None:
    async with ivr_lab(ASTERISK_CONF, SPEED, TRACE_25) as (sim, rec):
        for aid in SIGN_IN:
            await rec.act(aid)
        sim.set_phone("1001", Phone(ring_forever=True))
        a = await sim.place_call(
            CallerScript(number="caller", name="Wang Fang", dtmf=KEYS)
        )
        request = await rec.event("UserEvent")
        assert (request.get("UserEvent"), request.get("Number")) == (
            "CtiCallback",
            NUMBER,
        )
        await a.ended()
        sim.set_phone("1001", Phone(answer_after=1.5))
        sim.set_phone("outside", Phone(answer_after=0.5, hangup_after_answer=4.0))
        await rec.act("a6")  # the reservation: pause reason callback
        await rec.act("a7")  # Originate 1001 into cti-callback
        await rec.event("Hangup", Uniqueid="cti-cb-trace25a")
        for aid in ("a8", "a9", "a10", "a11"):  # wrap-up, unpause, QueueRemove, Logoff
            await rec.act(aid)
        await rec.closed.wait()
        got = rec.received
    want = recorded_stream(TRACE_25)
    assert (
        the_cancel(got)
        == the_cancel(want)
        == [
            ("DialEnd", "CANCEL", "cti-queue-exit", "5"),
            ("DialEnd", "CANCEL", "cti-queue-exit", "5"),
            ("QueueCallerLeave", "cti-queue-exit", "5", "0"),
            ("Hangup", "0"),
        ]
    )
    assert replies(got) == replies(want)
    assert_same_call(
        ring_order(dial_order(without(want, "TalkTime"))),
        ring_order(dial_order(without(got, "TalkTime"))),
    )
