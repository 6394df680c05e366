"""Dial() on the simulator: an agent calls a colleague's extension (asterisk_conf [agents])."""

from __future__ import annotations

import asyncio

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.support.traces import RECORDED_CONF

CONF = str(RECORDED_CONF)


async def run(phone: Phone, **script) -> tuple[list[tuple[str, dict]], object]:
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=50.0))
    seen: list[tuple[str, dict]] = []
    sim.listeners.append(lambda ev, fields: seen.append((ev, dict(fields))))
    sim.set_phone("1002", phone)
    try:
        call = await sim.place_call(CallerScript(number="1001", name="Agent Alice", dial="1002", endpoint="1001",
                                                 **script))
        await asyncio.wait_for(call.ended(), 10)
    finally:
        await sim.stop()
    return seen, call


async def test_answered_internal_call_is_bridged_until_the_callee_hangs_up() -> None:
    seen, call = await run(Phone(answer_after=1.0, hangup_after_answer=2.0))
    assert call.answered_by == "PJSIP/1002"
    names = [ev for ev, _ in seen if ev in ("DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave", "Hangup")]
    assert names == ["DialBegin", "DialEnd", "BridgeEnter", "BridgeEnter", "BridgeLeave", "BridgeLeave",
                     "Hangup", "Hangup"]
    assert [f["DialStatus"] for ev, f in seen if ev == "DialEnd"] == ["ANSWER"]
    hangups = [f["Channel"] for ev, f in seen if ev == "Hangup"]
    assert hangups[0].startswith("PJSIP/1002-") and hangups[1].startswith("PJSIP/1001-")


async def test_declined_internal_call_reports_busy() -> None:
    seen, call = await run(Phone(decline_after=0.5))
    assert call.answered_by is None
    assert [f["DialStatus"] for ev, f in seen if ev == "DialEnd"] == ["BUSY"]
    assert [f["Value"] for ev, f in seen if ev == "VarSet" and f["Variable"] == "DIALSTATUS"] == ["BUSY"]


async def test_unanswered_internal_call_times_out_after_the_dial_timeout() -> None:
    seen, _ = await run(Phone(ring_forever=True))
    assert [f["DialStatus"] for ev, f in seen if ev == "DialEnd"] == ["NOANSWER"]


async def originate(phone: Phone) -> list[tuple[str, dict]]:
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=50.0))
    seen: list[tuple[str, dict]] = []
    sim.listeners.append(lambda ev, fields: seen.append((ev, dict(fields))))
    sim.set_phone("1001", phone)
    try:
        ch = await asyncio.wait_for(sim.originate("1001", "agents", "1002", timeout=5.0, action_id="o1"), 10)
        assert ch is None
    finally:
        await sim.stop()
    return seen


async def test_originate_to_a_phone_that_never_answers_fails_with_reason_3() -> None:
    seen = await originate(Phone(ring_forever=True))
    [resp] = [f for ev, f in seen if ev == "OriginateResponse"]
    assert (resp["Response"], resp["Reason"], resp["ActionID"]) == ("Failure", "3", "o1")
    assert [f["DialStatus"] for ev, f in seen if ev == "DialEnd"] == ["NOANSWER"]


async def test_originate_to_a_phone_that_declines_fails_with_reason_5() -> None:
    seen = await originate(Phone(decline_after=0.5))
    [resp] = [f for ev, f in seen if ev == "OriginateResponse"]
    assert (resp["Response"], resp["Reason"]) == ("Failure", "5")
    assert [f["Cause"] for ev, f in seen if ev == "Hangup"] == ["17"]
