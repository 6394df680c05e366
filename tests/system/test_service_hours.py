"""The supervisors' "closed now" switch through the whole server (store, core, IVR, simulator on
asterisk_conf/, web): refused to agents and without a reason, stored with its trail, pushed to
supervisors, in force for the next caller (the closed node, voicemail), the work order saying why."""

from __future__ import annotations

from typing import Any

from pbxsim.scripts import CallerScript
from tests.support.calls import workorder


async def test_a_supervisor_closes_the_line_and_the_next_caller_hears_it_and_leaves_a_message(
    stack: Any,
) -> None:
    sup, agent = stack.client(), stack.client()
    try:
        await sup.login("1900")
        await sup.connect()
        await agent.login("1001")

        status, body = await agent.post(
            "/api/hours/hotline/switch", {"closed": True, "reason": "drill"}
        )
        assert status == 403, body
        status, body = await sup.post("/api/hours/hotline/switch", {"closed": True})
        assert status == 400 and body["error"]["field"] == "reason", body
        status, body = await sup.post(
            "/api/hours/hotline/switch", {"closed": "yes", "reason": "drill"}
        )
        assert status == 400 and body["error"]["field"] == "closed", body
        status, body = await sup.post(
            "/api/hours/nowhere/switch", {"closed": True, "reason": "drill"}
        )
        assert status == 404, body
        status, body = await sup.post(
            "/api/hours/hotline/switch", {"closed": True, "reason": "line\r\nbroken"}
        )
        assert status == 400 and body["error"]["field"] == "reason", body

        status, body = await sup.post(
            "/api/hours/hotline/switch", {"closed": True, "reason": "typhoon"}
        )
        assert status == 200 and body["closed_reason"] == "closed_now", body
        pushed = await sup.expect("service_hours", lambda d: d["switch"]["closed"])
        assert (
            pushed["switch"]["changed_by"] == "1900"
            and pushed["switch"]["reason"] == "typhoon"
        )
        status, body = await sup.get("/api/hours")
        assert [(h["hotline"], h["closed_reason"]) for h in body["hotlines"]] == [
            ("hotline", "closed_now")
        ]

        # The caller presses 1 for the support queue out of habit: here 1 is voicemail.
        await stack.sim.place_call(
            CallerScript(
                number="13912345678", name="Li", keys="1", keys_at=2.5, hangup_at=8.0
            )
        )
        ended = await sup.expect("call_ended", timeout=20)
        wo = await workorder(stack, sup, ended["linkedid"], kinds=("service_hours",))
        step = next(e for e in wo["events"] if e["kind"] == "service_hours")
        assert step["data"] == {
            "outcome": "closed",
            "reason": "closed_now",
            "hotline": "hotline",
        }
        assert wo["ivr_path"] == ["closed", "voicemail"] and wo["queue"] in (None, "")

        status, body = await sup.post("/api/hours/hotline/switch", {"closed": False})
        assert status == 200 and body["closed_reason"] is None, body
        status, body = await sup.get("/api/hours/hotline/history")
        assert [(h["closed"], h["reason"]) for h in body["history"]] == [
            (False, ""),
            (True, "typhoon"),
        ]
    finally:
        await sup.close()
        await agent.close()
