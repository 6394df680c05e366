"""The line's decisions on the real Asterisk (SIPp caller, the project's IVR with a real store):
the supervisors' closed-now switch sends the caller to the closed node (the step sent, then
VoiceMail), and wrong PINs lock customer C0001 (CTI_AUTHENTICATED=locked, the pin step, the caller
still routed on). Skipped without sipp, a local Asterisk or a free IVR port."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from ctiserver.hours import schedule
from ctiserver.store import Store
from ctiserver.store.guards import HotlineSwitches
from ivr.agi import IvrServer
from ivr.policy import LinePolicy
from tests.integration.conftest import HOST, EventLog
from tests.integration.test_vip_priority_asterisk import (
    IVR_PORT,
    SIPP,
    _listening,
    _own,
    _sipp,
)

pytestmark = [
    pytest.mark.skipif(
        not SIPP or HOST not in ("127.0.0.1", "localhost"),
        reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)",
    ),
    pytest.mark.timeout(120),
]


@pytest.fixture
async def line(db_dsn):
    """The IVR on the dialplan's port with the store and a line policy (3 wrong PINs lock a number)."""
    if _listening(IVR_PORT):
        pytest.skip(
            f"port {IVR_PORT} is taken: this test serves the IVR with its own line policy"
        )
    store = await Store.open(db_dsn, journal_path=None, pool_size=2)
    await store.migrate()
    await store.seed_demo()
    ivr = IvrServer(
        store=store,
        port=IVR_PORT,
        policy=LinePolicy(
            schedule.build((), (), (), "UTC"), {"vip": 10}, store, 1, 600
        ),
    )
    await ivr.start()
    yield store
    await ivr.stop()
    await store.close()


async def _in_application(ami, uid: str, app: str, timeout: float = 10.0) -> None:
    """Poll CoreShowChannels until the channel runs ``app`` (an app EXEC'd from AGI makes no Newexten)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        reply = await ami.send({"Action": "CoreShowChannels"})
        if any(
            m.get("Uniqueid") == uid and m.get("Application") == app
            for m in reply.events
        ):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"channel {uid} never ran {app}")
        await asyncio.sleep(0.1)


async def _finish(ami, proc: asyncio.subprocess.Process, channel: str | None) -> None:
    if channel:
        await ami.send({"Action": "Hangup", "Channel": channel})
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]


async def test_a_closed_line_sends_the_caller_to_the_closed_message_and_voicemail(
    ami, line
):
    log: EventLog = ami.log
    await HotlineSwitches(line).set("hotline", True, "integration test", "1900")
    caller = await _sipp(
        "127.0.0.1:5060",
        "-sf",
        _own("uac_callers.xml"),
        "-inf",
        _own("warmup.csv"),
        "-i",
        "127.0.0.1",
        "-p",
        "5061",
        "-m",
        "1",
    )
    try:
        step = await log.wait_for(
            "UserEvent",
            lambda m: (
                m.get("UserEvent") == "CtiStep" and m.get("Step") == "service_hours"
            ),
            timeout=20,
        )
        assert (step.get("Outcome"), step.get("Reason"), step.get("Hotline")) == (
            "closed",
            "closed_now",
            "hotline",
        )
        uid = step.get("Uniqueid")
        # no key in time (the 1 came during the closed message): voicemail all the same (EXEC VoiceMail
        # from AGI makes no Newexten: the path the IVR reports just before it is the sign)
        await log.wait_for(
            "VarSet",
            lambda m: (
                m.get("Uniqueid") == uid
                and m.get("Variable") == "CTI_IVR_PATH"
                and m.get("Value") == "closed,voicemail"
            ),
            timeout=40,
        )
        await _in_application(
            ami, uid, "VoiceMail"
        )  # the caller records a message, not queued
        assert not [
            m
            for m in log.events("VarSet")
            if m.get("Uniqueid") == uid
            and m.get("Variable") == "AGISTATUS"
            and m.get("Value") == "FAILURE"
        ]
        assert not [
            m for m in log.events("QueueCallerJoin") if m.get("Uniqueid") == uid
        ]
        await _finish(ami, caller, step.get("Channel"))
        await log.wait_for("Hangup", lambda m: m.get("Uniqueid") == uid, timeout=20)
    finally:
        if caller.returncode is None:
            caller.kill()
            await caller.wait()


async def test_a_wrong_pin_locks_the_customer_number_and_the_caller_goes_on(
    ami, line, tmp_path: Path
):
    log: EventLog = ami.log
    scenario = Path(_own("uac_vip_pin.xml")).read_text()
    for cseq, digit in zip(range(8, 12), "9999"):  # the PIN 1234 becomes 9999
        scenario = re.sub(
            rf"(CSeq: {cseq} INFO.*?Signal=)\S",
            rf"\g<1>{digit}",
            scenario,
            count=1,
            flags=re.DOTALL,
        )
    (tmp_path / "wrong_pin.xml").write_text(scenario)
    caller = await _sipp(
        "127.0.0.1:5060",
        "-sf",
        str(tmp_path / "wrong_pin.xml"),
        "-inf",
        _own("vip_pin.csv"),
        "-i",
        "127.0.0.1",
        "-p",
        "5061",
        "-m",
        "1",
    )
    try:
        step = await log.wait_for(
            "UserEvent",
            lambda m: m.get("UserEvent") == "CtiStep" and m.get("Step") == "pin",
            timeout=40,
        )
        assert (step.get("Outcome"), step.get("Customer")) == ("locked", "C0001")
        uid = step.get("Uniqueid")
        auth = [
            m.get("Value")
            for m in log.events("VarSet")
            if m.get("Uniqueid") == uid and m.get("Variable") == "CTI_AUTHENTICATED"
        ]
        assert auth[-1] == "locked"
        assert not [
            m for m in log.events("VarSet") if "9999" in (m.get("Value") or "")
        ]  # the PIN never leaves
        locked = await line._fetchrow(
            "SELECT locked_until > now() AS locked FROM customer_pin_locks "
            "WHERE customer_no = 'C0001'"
        )
        assert locked["locked"]
        # routed on: the queue (nobody signed in: JOINEMPTY, the menu's fallback) or the menu again
        await log.wait_for(
            "VarSet",
            lambda m: (
                m.get("Uniqueid") == uid
                and m.get("Variable") == "CTI_IVR_PATH"
                and m.get("Value", "").startswith("main,verify,support")
            ),
            timeout=20,
        )
        await _finish(ami, caller, step.get("Channel"))
        await log.wait_for("Hangup", lambda m: m.get("Uniqueid") == uid, timeout=20)
    finally:
        if caller.returncode is None:
            caller.kill()
            await caller.wait()
