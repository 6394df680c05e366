"""Agent work states against the simulator: wrap-up, supervisor control, sign-in choices."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config


def member(stack, interface: str, queue: str = "support") -> dict | None:
    return next((m for m in stack.sim.truth()["members"] if m["interface"] == interface and m["queue"] == queue),
                None)


async def test_wrapup_follows_a_call_stops_routing_and_ends_by_itself(db_dsn: str, tmp_path: Path) -> None:
    cfg = stack_config(db_dsn, tmp_path, **{"callcenter.wrapup_seconds": 1.5})
    async with running(cfg) as stack:
        await stack.core.link_ready.wait()
        agent = stack.client()
        try:
            await agent.login("1001")
            await agent.connect()
            assert (await agent.post("/api/agent/state", {"state": "ready"}))[0] < 300
            await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")
            stack.sim.set_phone("1001", Phone(answer_after=0.2))
            call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", keys="1",
                                                           keys_at=0.2, hangup_after_answer=0.5))
            await asyncio.wait_for(call.ended(), 20)
            wrap = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "wrap_up")
            assert wrap["wrapup_ends"] and wrap["wrapup_ends"] > wrap["since"]
            mark = len(agent.received)
            # the wrap-up is a real pause in Asterisk, so no queue call is routed meanwhile...
            await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready", after=mark)
            # ...and once over, Asterisk has the agent available again
            assert member(stack, "PJSIP/1001")["paused"] is False
            seen = [d["state"] for d in agent.of_type("agent_state") if d["id"] == "1001"]
            assert seen[-4:] == ["ringing", "on_call", "wrap_up", "ready"]
        finally:
            await agent.close()


async def test_agent_can_end_wrapup_by_choosing_busy(stack) -> None:
    agent = stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        await agent.post("/api/agent/state", {"state": "ready"})
        await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")
        stack.sim.set_phone("1001", Phone(answer_after=0.2))
        call = await stack.sim.place_call(CallerScript(number="13900000000", keys="1", keys_at=0.2,
                                                       hangup_after_answer=0.3))
        await asyncio.wait_for(call.ended(), 20)
        await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "wrap_up")
        status, body = await agent.post("/api/agent/state", {"state": "not_ready", "reason": "lunch"})
        assert status < 300, body
        busy = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "not_ready")
        assert busy["reason"] == "lunch" and busy["changed_by"] is None
        m = member(stack, "PJSIP/1001")
        assert (m["paused"], m["reason"]) == (True, "lunch")
    finally:
        await agent.close()


async def test_supervisor_force_is_credited_and_agents_cannot_force(stack) -> None:
    agent, other, boss = stack.client(), stack.client(), stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        await other.login("1002")
        await boss.login("1900")
        await agent.post("/api/agent/state", {"state": "ready"})
        await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")

        # an agent may not force a colleague: 403, and Asterisk is not asked anything
        status, body = await other.post("/api/agent/state", {"agent": "1001", "state": "not_ready",
                                                             "reason": "meeting"})
        assert status == 403, body
        assert member(stack, "PJSIP/1001")["paused"] is False

        status, body = await boss.post("/api/agent/state", {"agent": "1001", "state": "not_ready",
                                                            "reason": "meeting"})
        assert status < 300, body
        forced = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "not_ready")
        assert forced["reason"] == "meeting"
        assert forced["changed_by"]["id"] == "1900"
        status, body = await boss.post("/api/agent/state", {"agent": "1001", "state": "logged_out"})
        assert status < 300, body
        out = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "logged_out")
        assert out["changed_by"]["id"] == "1900"
        assert member(stack, "PJSIP/1001") is None
    finally:
        for c in (agent, other, boss):
            await c.close()


async def test_sign_in_chooses_queues_among_the_profile(stack) -> None:
    agent = stack.client()
    try:
        await agent.login("1001")
        status, body = await agent.post("/api/agent/state", {"state": "ready", "queues": ["sales"]})
        assert status == 400 and body["error"]["field"] == "queues", body
        assert member(stack, "PJSIP/1001") is None  # nothing half-done
    finally:
        await agent.close()


async def test_signing_in_busy_shows_the_reason_at_once(stack) -> None:
    """QueueAdd carries the pause reason (real Asterisk 22 puts it in QueueMemberAdded)."""
    agent = stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        status, body = await agent.post("/api/agent/state", {"state": "not_ready", "reason": "training"})
        assert status < 300, body
        busy = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "not_ready")
        assert busy["reason"] == "training"  # never a reasonless "busy" first
        m = member(stack, "PJSIP/1001")
        assert (m["paused"], m["reason"]) == (True, "training")
    finally:
        await agent.close()
