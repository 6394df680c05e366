"""Queue behaviours no recording covers: ringall, the queue's own timeout, an unreachable phone."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.support.traces import RECORDED_CONF

CONF = RECORDED_CONF


async def run_call(conf: Path, phones: dict[str, Phone], members: list[str], script: CallerScript,
                   speed: float = 50.0) -> tuple[list[tuple[str, dict]], object]:
    sim = PbxSim(SimConfig(conf_dir=str(conf), time_scale=speed))
    seen: list[tuple[str, dict]] = []
    sim.listeners.append(lambda ev, fields: seen.append((ev, dict(fields))))
    for ep, phone in phones.items():
        sim.set_phone(ep, phone)
    for m in members:
        sim.queues.add_member("support", f"PJSIP/{m}", f"Agent {m}")
    try:
        call = await sim.place_call(script)
        await asyncio.wait_for(call.ended(), 10)
    finally:
        await sim.stop()
    return seen, call


async def test_ringall_rings_every_free_member_and_cancels_the_others(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf, copy_function=shutil.copyfile)  # writable copies: the traces are read-only
    q = (conf / "queues.conf").read_text().replace("strategy = rrmemory", "strategy = ringall")
    (conf / "queues.conf").write_text(q)
    seen, call = await run_call(conf, {"1001": Phone(answer_after=3.0), "1002": Phone(answer_after=1.0)},
                                ["1001", "1002"], CallerScript(keys="1", hangup_after_answer=1.0))
    assert call.answered_by == "PJSIP/1002"
    assert sorted(f["Interface"] for ev, f in seen if ev == "AgentCalled") == ["PJSIP/1001", "PJSIP/1002"]
    ends = {f["DestChannel"].split("-")[0]: f["DialStatus"] for ev, f in seen if ev == "DialEnd"}
    assert ends == {"PJSIP/1002": "ANSWER", "PJSIP/1001": "CANCEL"}
    cancelled = [f for ev, f in seen if ev == "Hangup" and f["Channel"].startswith("PJSIP/1001-")]
    assert cancelled[0]["Cause"] == "26"


async def test_nobody_answers_within_the_queue_timeout_so_the_ivr_falls_back() -> None:
    seen, call = await run_call(CONF, {"1001": Phone(ring_forever=True)}, ["1001"],
                                CallerScript(keys="1", hangup_at=60.0), speed=100.0)
    assert call.answered_by is None
    statuses = [f["QueueStatus"] for ev, f in seen if ev == "UserEvent"]
    assert statuses[0] == "TIMEOUT"
    assert [ev for ev, _ in seen if ev.startswith("QueueCaller")][:2] == ["QueueCallerJoin", "QueueCallerLeave"]
    assert "QueueCallerAbandon" not in [ev for ev, _ in seen][:[ev for ev, _ in seen].index("UserEvent")]
    rna = [f for ev, f in seen if ev == "AgentRingNoAnswer"]
    assert len(rna) >= 2  # rung, retried, rung again until the 45 s queue timeout


async def test_an_unregistered_phone_is_never_rung_and_an_empty_queue_is_refused() -> None:
    seen, call = await run_call(CONF, {"1001": Phone(registered=False)}, ["1001"],
                                CallerScript(keys="1", hangup_at=4.0))
    assert not [ev for ev, _ in seen if ev == "AgentCalled"]
    assert [f["Status"] for ev, f in seen if ev == "QueueMemberAdded"] == ["5"]
    assert [f["QueueStatus"] for ev, f in seen if ev == "UserEvent"] == ["JOINEMPTY"]
