"""A VIP whose number gets locked by wrong PINs: the agent's pop and the work order say so, the caller
still reaches an agent ahead of the line (QUEUE_PRIO), and the PINs appear nowhere the agent can see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pbxsim.scripts import CallerScript
from tests.conftest import running, stack_config
from tests.support.calls import workorder


@pytest.fixture
async def strict_stack(db_dsn: str, tmp_path: Path):
    async with running(
        stack_config(db_dsn, tmp_path, **{"ivr.pin_lockout_after": 2})
    ) as s:
        await s.core.link_ready.wait()
        yield s


async def test_wrong_pins_lock_the_number_and_the_pop_says_so(
    strict_stack: Any,
) -> None:
    stack = strict_stack
    agent = stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        status, body = await agent.post("/api/agent/state", {"state": "ready"})
        assert status == 202, body
        await agent.expect(
            "agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready"
        )

        await stack.sim.place_call(
            CallerScript(
                number="13800138000",
                name="Zhang Wei",
                keys="9",
                dtmf=((3.0, "1111#"), (6.5, "2222#")),
                hangup_after_answer=0.5,
            )
        )
        pop = await agent.expect("call_ringing", timeout=30)
        assert pop["auth"] == "locked" and pop["authenticated"] is False
        assert pop["customer_class"] == "vip"
        assert pop["ivr_keys"] == "9"  # never a PIN

        ended = await agent.expect("call_ended", timeout=20)
        wo = await workorder(stack, agent, ended["linkedid"], kinds=("pin", "priority"))
        steps = {e["kind"]: e["data"] for e in wo["events"]}
        assert (
            steps["pin"]["outcome"] == "locked" and steps["pin"]["customer"] == "C0001"
        )
        assert steps["priority"] == {
            "class": "vip",
            "prio": "10",
            "queue": "support",
        }
        assert wo["customer_class"] == "vip"
        text = json.dumps(wo) + json.dumps(agent.received)
        assert "1111" not in text and "2222" not in text
    finally:
        await agent.close()
