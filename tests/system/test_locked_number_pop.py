"""A caller from a number nobody knows keys in a customer number that is locked after wrong PINs:
the agent's pop shows that customer's record, marked locked and not authenticated, so the agent
can check the caller; the work order is the customer's and has the pin step."""

from __future__ import annotations

import json
from typing import Any

from pbxsim.scripts import CallerScript
from tests.support.calls import is_state, workorder


async def test_the_pop_of_a_caller_whose_customer_number_is_locked_has_the_customer(
    stack: Any,
) -> None:
    await stack.store.execute(
        "INSERT INTO customer_pin_locks (customer_no, failures, locked_until) "
        "VALUES ('C0003', 0, now() + interval '30 minutes')"
    )
    agent = stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        status, body = await agent.post("/api/agent/state", {"state": "ready"})
        assert status == 202, body
        await agent.expect("agent_state", is_state("1001", "ready"))

        # 9: customer number + PIN; the number is typed (this phone is nobody's), the PIN is not checked
        await stack.sim.place_call(
            CallerScript(
                number="13312345678",
                keys="9",
                dtmf=((3.0, "0003#"), (6.5, "864208#")),
                hangup_after_answer=0.5,
            )
        )
        ringing = await agent.expect("call_ringing", timeout=30)
        assert ringing["auth"] == "locked" and ringing["authenticated"] is False
        pop = await agent.expect(
            "call_ringing",
            lambda d: (d.get("customer") or {}).get("customer_no") == "C0003",
            timeout=10,
        )
        assert pop["customer"]["name"] == "陈静" and pop["customer"]["class"] == "vip"
        assert pop["auth"] == "locked" and pop["authenticated"] is False

        ended = await agent.expect("call_ended", timeout=20)
        wo = await workorder(stack, agent, ended["linkedid"], kinds=("pin",))
        [pin] = [e["data"] for e in wo["events"] if e["kind"] == "pin"]
        assert (pin["outcome"], pin["customer"]) == ("locked", "C0003")
        assert (wo["customer_no"], wo["customer_class"]) == ("C0003", "vip")
        assert "864208" not in json.dumps(wo) + json.dumps(
            agent.received
        )  # the PIN is nowhere
    finally:
        await agent.close()
