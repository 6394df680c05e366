"""Supervisors monitor (listen, whisper, barge), switch mode, stop and intercept live calls.

The whole product against the simulator: the supervisor's phone (1900) rings first, then
ChanSpy starts; each step is pushed to supervisors, shown to the agent as configured (whisper
and barge, not listen), written on the call's work order and listed in the audit log.
"""

from __future__ import annotations

from typing import Any

from pbxsim.scripts import Phone
from tests.support.calls import answered_call, is_state, panels, ready, workorder
from tests.support.document import assert_matches_document


def session_in(state: str, **more: Any):
    return lambda d: d.get("state") == state and all(d.get(k) == v for k, v in more.items())


async def monitoring(stack: Any, boss: Any, linkedid: str, mode: str) -> dict:
    stack.sim.set_phone("1900", Phone(answer_after=0.2))
    status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": mode})
    assert status == 202, body
    assert body["state"] == "ringing" and body["mode"] == mode
    return await boss.expect("supervision", session_in("active", mode=mode))


async def test_listen_then_whisper_then_stop_without_the_phone_ringing_again(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        _, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        live = await monitoring(stack, boss, linkedid, "listen")
        assert (live["agent"], live["supervisor"], live["linkedid"]) == ("1001", "1900", linkedid)
        spies = stack.sim.truth()["spies"]
        assert [(s["spyee"].split("-")[0], s["mode"]) for s in spies] == [("PJSIP/1001", "listen")]
        assert not [n for n in agent.of_type("notice") if n.get("active")]  # listen is not shown to the agent

        status, body = await boss.post("/api/supervision/mode", {"mode": "whisper"})
        assert status == 202, body
        await assert_matches_document(boss, "POST", "/api/supervision/mode", status, body)
        status, body = await boss.get("/api/supervision")
        await assert_matches_document(boss, "GET", "/api/supervision", status, body)
        await boss.expect("supervision", session_in("active", mode="whisper"))
        notice = await agent.expect("notice", lambda d: d.get("kind") == "monitoring" and d.get("active"))
        assert notice["mode"] == "whisper" and "Supervisor" in notice["by"]
        assert [s["mode"] for s in stack.sim.truth()["spies"]] == ["whisper"]  # the same spy, not a new call

        status, body = await boss.post("/api/supervision/stop", {})
        assert status == 202, body
        await assert_matches_document(boss, "POST", "/api/supervision/stop", status, body)
        ended = await boss.expect("supervision", session_in("ended"))
        assert ended["end_reason"] == "stopped"
        await agent.expect("notice", lambda d: d.get("kind") == "monitoring" and not d.get("active"))
        assert stack.sim.truth()["spies"] == []
        status, body = await agent.post("/api/calls/{}/hangup".format(linkedid), {})
        assert status == 202, body
        await assert_matches_document(agent, "POST", f"/api/calls/{linkedid}/hangup", status, body)
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)  # the call's end, then its work order
        wo = await workorder(stack, boss, linkedid)
        steps = [(e["kind"], e["data"].get("mode") or e["data"].get("to")) for e in wo["events"]
                 if e["kind"].startswith("monitor_")]
        assert steps == [("monitor_requested", "listen"), ("monitor_started", "listen"),
                         ("monitor_mode", "whisper"), ("monitor_ended", "whisper")]
        status, body = await boss.get("/api/supervision/audit")
        assert status == 200 and [e["kind"] for e in body["entries"]][:1] == ["monitor_ended"], body
        await assert_matches_document(boss, "GET", "/api/supervision/audit", status, body)


async def test_monitoring_ends_with_the_call_and_leaves_no_spy_channel(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=3)
        await monitoring(stack, boss, linkedid, "barge")
        ended = await boss.expect("supervision", session_in("ended"), timeout=20)
        assert ended["end_reason"] == "call_ended"
        await stack.core.settled()
        assert stack.sim.truth()["spies"] == []
        assert not [c for c in stack.sim.truth()["channels"] if c["channel"].startswith("PJSIP/1900")]


async def test_rules_agents_are_refused_one_session_per_supervisor_no_held_calls(stack: Any) -> None:
    async with panels(stack, "1001", "1002", "1900") as p:
        agent, other, boss = p["1001"], p["1002"], p["1900"]
        await ready(agent, "1001")
        _, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        status, body = await other.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
        assert status == 403, body
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "shout"})
        assert status == 400 and body["error"]["field"] == "mode", body
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": "nope.1", "mode": "listen"})
        assert status == 409 and body["error"]["code"] == "no_call", body
        await monitoring(stack, boss, linkedid, "listen")
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
        assert status == 409 and body["error"]["code"] == "already_monitoring", body
        status, body = await boss.post("/api/supervision/stop", {})
        await boss.expect("supervision", session_in("ended"))
        status, body = await agent.post(f"/api/calls/{linkedid}/hold", {})
        assert status == 202, body
        await agent.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("held") is True)
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
        assert status == 409 and body["error"]["code"] == "held", body
        assert stack.sim.truth()["spies"] == []


async def test_intercept_the_supervisor_takes_the_caller_and_the_agent_is_left_busy(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        stack.sim.set_phone("1900", Phone(answer_after=0.2))
        status, body = await boss.post("/api/supervision/intercept", {"linkedid": linkedid})
        assert status == 202, body
        await boss.expect("supervision", session_in("intercepted"))
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid and d["disposition"] == "moved")
        busy = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "not_ready"
                                  and d["reason"] == "intercepted", timeout=30)
        assert busy["reason"] == "intercepted"
        channels = stack.sim.truth()["channels"]
        caller = next(c for c in channels if c["channel"] == call.channel_name)  # the caller was never dropped
        boss_legs = [c for c in channels if c["channel"].startswith("PJSIP/1900-")]
        assert caller["bridge"] and [c["bridge"] for c in boss_legs] == [caller["bridge"]]  # and talks to 1900
        assert not any(c["channel"].startswith("PJSIP/1001") for c in channels)  # the agent's leg is released
        assert stack.sim.truth()["spies"] == []  # the supervisor's channel left ChanSpy for the bridge

        await call.hangup()
        await call.ended()
        await boss.expect("supervision", session_in("ended"))
        wo = await workorder(stack, boss, linkedid, kinds=("intercept",))
        assert wo["agent_id"] == "1900", wo  # the rest of the call was the supervisor's
        assert not [c for c in stack.sim.truth()["channels"] if c["channel"].startswith("PJSIP/1900")]


async def test_a_supervisor_whose_phone_cannot_ring_is_told_and_can_try_again(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        _, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        stack.sim.set_phone("1900", Phone(registered=False))
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
        assert status == 202, body
        ended = await boss.expect("supervision", session_in("ended"))
        assert ended["end_reason"] == "no_answer"
        status, body = await boss.get("/api/supervision")
        assert body["sessions"] == []  # nothing half-done: no session left ringing
        live = await monitoring(stack, boss, linkedid, "listen")  # registered again: it works
        assert live["state"] == "active"
