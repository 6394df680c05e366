"""The queue's callback key with asterisk_conf/, driven by the simulator: a waiting caller who presses 5
leaves the queue without an abandon, and when the IVR cannot be reached at that moment they are
queued again (the failsafe), never dropped."""

from __future__ import annotations

from pbxsim.scripts import CallerScript, Phone
from tests.support.postgres import free_port
from tests.unit.ivr.test_hotline_dialplan import pbx  # noqa: F401 - the fixture


async def test_the_exit_key_without_the_ivr_puts_the_caller_back_in_the_queue(
    pbx,  # noqa: F811 - the fixture imported above
) -> None:
    sim, events, ami = await pbx(free_port())  # nothing listens there: the IVR is away
    await ami.send(
        {
            "Action": "QueueAdd",
            "Queue": "support",
            "Interface": "PJSIP/1001",
            "StateInterface": "PJSIP/1001",
            "MemberName": "Agent Alice",
        }
    )
    sim.set_phone("1001", Phone(answer_after=0.2))
    busy = await sim.place_call(
        CallerScript(number="13900000002")
    )  # 1001 busy with it: the next caller waits
    await events.wait("AgentConnect", Uniqueid=busy.uniqueid)
    waiting = await sim.place_call(
        CallerScript(number="13800138000", dtmf=((3.0, "5"),), hangup_at=12.0)
    )
    uid = waiting.uniqueid
    await events.wait(
        "Newexten",
        Uniqueid=uid,
        Context="cti-queue-exit",
        Priority="3",
        Application="AGI",
    )
    left = events.find("QueueCallerLeave", Uniqueid=uid)
    assert (
        left is not None
        and events.find(
            "Newexten", Uniqueid=uid, Context="cti-queue-exit", Priority="0"
        )
        < left
    )
    await events.wait("Hangup", Uniqueid=uid, timeout=20)
    joins = [
        f
        for n, f in events.items
        if n == "QueueCallerJoin" and f.get("Uniqueid") == uid
    ]
    abandons = [
        f
        for n, f in events.items
        if n == "QueueCallerAbandon" and f.get("Uniqueid") == uid
    ]
    assert (
        len(joins) == 2
        and joins[1]["Context"] == "ivr"
        and joins[1]["Exten"] == "failsafe"
    )
    assert len(abandons) == 1  # only the hang-up at the end, once queued again
    await busy.hangup()
