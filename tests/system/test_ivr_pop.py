"""What the IVR collects reaches the agent's screen-pop (the whole server: store, core, IVR,
simulator on asterisk_conf/, web) — the contract of the CTI_* channel variables."""

from __future__ import annotations

from typing import Any

from pbxsim.scripts import CallerScript


async def test_a_caller_who_entered_the_pin_pops_as_an_authenticated_vip(stack: Any) -> None:
    agent = stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        status, body = await agent.post("/api/agent/state", {"state": "ready"})
        assert status == 202, body
        await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")

        # 9 = identify with a PIN; the caller's number is C0001's, so only the PIN is asked ('#' ends it)
        await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", keys="9",
                                                dtmf=((3.0, "1234#"),), hangup_after_answer=0.5))
        pop = await agent.expect("call_ringing", timeout=20)
        assert pop["authenticated"] is True
        assert pop["customer"]["customer_no"] == "C0001" and pop["customer_class"] == "vip"
        assert pop["ivr_keys"] == "9"                      # the PIN is not shown to the agent
        assert pop["ivr_path"] == ["main", "verify", "support"]
    finally:
        await agent.close()
