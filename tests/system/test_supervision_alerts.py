"""Alerts decided by the server and pushed to supervisors (the whole product, simulator, PostgreSQL).

Thresholds come from the configuration (short ones here, so that time passing raises them within a
test): a caller waiting too long names the busy agent a supervisor would free; an agent busy past
the limit of their reason is raised, and the supervisor's force ready clears it; a supervisor who
connects later finds the alerts in the snapshot; agents are sent none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config
from tests.support.calls import is_state, panels, ready


@pytest.fixture
async def alert_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    cfg = stack_config(db_dsn, tmp_path, **{"supervision.alert_wait_seconds": 1.0,
                                            "supervision.alert_busy_seconds": 1.0,
                                            "supervision.alert_busy_per_reason": ("lunch=600",),
                                            "supervision.alert_check_seconds": 0.2})
    async with running(cfg) as s:
        await s.core.link_ready.wait()
        yield s


def raised(key: str, **more: Any):
    return lambda d: d.get("key") == key and d.get("state") == "raised" and all(d.get(k) == v for k, v in more.items())


async def busy(panel: Any, agent: str, reason: str) -> None:
    status, body = await panel.post("/api/agent/state", {"state": "not_ready", "reason": reason})
    assert status < 300, body
    await panel.expect("agent_state", lambda d: d.get("id") == agent and d.get("reason") == reason)


async def test_busy_past_its_reasons_limit_is_raised_and_a_force_ready_clears_it(alert_stack: Any) -> None:
    stack = alert_stack
    async with panels(stack, "1001", "1002", "1900") as p:
        agent, other, boss = p["1001"], p["1002"], p["1900"]
        await busy(agent, "1001", "break")
        await busy(other, "1002", "lunch")  # lunch has a limit of its own (600 s here)
        alert = await boss.expect("alert", raised("busy:1001"))
        assert (alert["kind"], alert["agent"], alert["reason"], alert["limit"]) == ("busy", "1001", "break", 1.0)
        assert alert["action"] == {"kind": "force_ready", "agent": "1001"}
        assert not [a for a in boss.of_type("alert") if a["key"] == "busy:1002"]
        assert agent.of_type("alert") == []  # agents are not sent the supervisors' alerts

        async with panels(stack, "1900") as later:  # a supervisor connecting now finds it in the snapshot
            snapshot = later["1900"].of_type("snapshot")[0]
            assert [a["key"] for a in snapshot["alerts"]] == ["busy:1001"]
            assert snapshot["alert_thresholds"]["busy_seconds"] == {"lunch": 600.0, "*": 1.0}

        status, body = await boss.post("/api/agent/state", {"agent": "1001", "state": "ready"})
        assert status < 300, body
        cleared = await boss.expect("alert", lambda d: d.get("key") == "busy:1001" and d.get("state") == "cleared")
        assert cleared["agent"] == "1001"
        await agent.expect("agent_state", is_state("1001", "ready"))


async def test_a_caller_waiting_too_long_names_the_busy_agent_to_free_and_clears_when_answered(
        alert_stack: Any) -> None:
    stack = alert_stack
    async with panels(stack, "1001", "1002", "1900") as p:
        agent, other, boss = p["1001"], p["1002"], p["1900"]
        await busy(other, "1002", "lunch")
        await ready(agent, "1001")
        stack.sim.set_phone("1001", Phone(ring_forever=True))  # rung, not answering: the caller waits
        await stack.sim.place_call(CallerScript(number="13900139000", name="Li Lei", keys="1", keys_at=0.2))
        alert = await boss.expect("alert", lambda d: d.get("kind") == "wait" and d.get("state") == "raised")
        linkedid = alert["linkedid"]
        assert (alert["caller_number"], alert["queue"]) == ("13900139000", "support")
        assert alert["action"] == {"kind": "force_ready", "agent": "1002"}  # the busy agent of that queue

        stack.sim.set_phone("1001", Phone(answer_after=0.1))
        await agent.expect("agent_state", is_state("1001", "on_call"), timeout=60)
        cleared = await boss.expect("alert", lambda d: d.get("key") == f"wait:{linkedid}"
                                    and d.get("state") == "cleared", timeout=30)
        assert cleared["linkedid"] == linkedid
