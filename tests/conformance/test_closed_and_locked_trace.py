"""The closed line and the PIN lockout as Asterisk 22 recorded them (tests/traces/20_closed_and_locked.md):
with the supervisors' switch closed, a caller is sent to the closed node (the service_hours step),
presses 1 and is in VoiceMail until the recorder hangs up; with the line open again, a caller keys
9, 0001# and a wrong PIN (9999#) with ``ivr.pin_lockout_after = 1``: C0001 is locked
(CTI_AUTHENTICATED=locked, the pin step) and the caller still reaches agent 1001. The simulator, with
the same IVR and store, tells the same story (the recorder's CoreShowChannels polls are not replayed)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ctiserver.hours import schedule
from ctiserver.store.guards import HotlineSwitches
from ivr import IvrServer
from ivr.policy import LinePolicy
from pbxsim.scripts import CallerScript, Phone
from tests.conformance.compare import assert_same_call
from tests.conformance.lab import SIGN_IN, demo_store, ivr_lab, recorded_stream
from tests.conformance.trace import Headers

SPEED = 5.0  # the IVR reads the switch and checks the PIN in PostgreSQL while simulated time runs
TRACE_20 = Path(__file__).resolve().parents[1] / "traces" / "20_closed_and_locked.ami"
CONF = (
    Path(__file__).resolve().parents[2] / "asterisk_conf"
)  # recorded through the cti user's eventfilter
PIN_KEYS = (
    (1.5, "9"),
    (4.0, "0"),
    (4.3, "0"),
    (4.6, "0"),
    (4.9, "1"),
    (5.2, "#"),
    (8.2, "9"),
    (8.5, "9"),
    (8.8, "9"),
    (9.1, "9"),
    (9.4, "#"),
)


def story(msgs: list[Headers]) -> list[tuple[str, ...]]:
    """What the line decided, in order: the IVR's steps, its reports, the queue."""
    out: list[tuple[str, ...]] = []
    for h in msgs:
        ev = h.get("Event")
        if ev == "UserEvent" and h.get("UserEvent") == "CtiStep":
            out.append(
                (
                    ev,
                    h.get("Step") or "",
                    h.get("Outcome") or "",
                    h.get("Reason") or h.get("Customer") or "",
                )
            )
        elif ev == "VarSet" and h.get("Variable") in (
            "CTI_IVR_PATH",
            "CTI_AUTHENTICATED",
            "CTI_CUSTOMER_NO",
        ):
            out.append((ev, h.get("Variable") or "", h.get("Value") or ""))
        elif ev in ("QueueCallerJoin", "AgentConnect"):
            out.append((ev, h.get("Queue") or ""))
    return out


def trimmed(msgs: list[Headers]) -> list[Headers]:
    """Without the ends of AMI-hung-up calls (see test_vip_priority_trace.py) and list replies."""
    return [
        Headers([(k, v) for k, v in h if k != "HoldTime"])
        for h in msgs
        if h.get("Event")
        not in (
            "AgentComplete",
            "SoftHangupRequest",
            "CoreShowChannel",
            "CoreShowChannelsComplete",
        )
    ]


async def test_20_a_closed_line_then_a_locked_pin_as_recorded(db_dsn: str) -> None:
    async with contextlib.AsyncExitStack() as lab:
        store = await lab.enter_async_context(demo_store(db_dsn))
        switches = HotlineSwitches(store)
        await switches.set("hotline", True, "trace 20", "1900")
        policy = LinePolicy(
            schedule.build((), (), (), "UTC"), {"vip": 10}, store, 1, 600
        )
        sim, rec = await lab.enter_async_context(
            ivr_lab(
                CONF,
                SPEED,
                TRACE_20,
                IvrServer(store=store, host="127.0.0.1", port=0, policy=policy),
            )
        )
        for aid in SIGN_IN:
            await rec.act(aid)
        sim.set_phone("1001", Phone(answer_after=1.5))
        closed = await sim.place_call(
            CallerScript(number="caller", name="Closed Line", keys="1", keys_at=4.0)
        )
        await rec.event("VarSet", Variable="CTI_IVR_PATH", Value="closed,voicemail")
        await sim.clock.sleep(2.0)
        await rec.act("a15")  # Hangup of the caller in VoiceMail
        await closed.ended()
        await switches.set("hotline", False, "", "1900")
        locked = await sim.place_call(
            CallerScript(number="caller", name="Wrong PIN", dtmf=PIN_KEYS)
        )
        await rec.event("AgentConnect")
        await sim.clock.sleep(3.0)
        await rec.act("a16")  # Hangup of the caller talking to 1001
        await locked.ended()
        await sim.clock.sleep(1.5)
        for aid in ("a17", "a18"):  # QueueRemove 1001, Logoff
            await rec.act(aid)
        await rec.closed.wait()
        got = rec.received
    want = recorded_stream(TRACE_20)
    assert story(got) == story(want)
    assert ("UserEvent", "service_hours", "closed", "closed_now") in story(want)
    assert ("VarSet", "CTI_AUTHENTICATED", "locked") in story(want)
    # Cause compared too: an AMI Hangup of a caller outside a bridge (here in VoiceMail) ends with
    # Hangup Cause 0 on Asterisk 22.10.1, as trace 18's spy channel
    assert_same_call(trimmed(want), trimmed(got), also=("CallerIDNum",))
