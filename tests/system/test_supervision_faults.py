"""Supervision's bad input and faults (the whole product, simulator, PostgreSQL).

Refused requests change nothing and reach no Asterisk: hostile or malformed ids and modes (400
naming the field, CR/LF never sent), a call that ended or is not answered yet, a switch before
the phone answered, a stop or switch without a session, a second call while monitoring. And what
goes wrong half-way is never left half-done: a call that ends while the supervisor's phone still
rings leaves no spy channel, an intercept whose phone declines leaves the caller with the agent
and the agent not busy, and Asterisk away is a 503 that starts nothing.
"""

from __future__ import annotations

from typing import Any

from pbxsim.scripts import Phone
from tests.support.calls import answered_call, panels, ready, workorder


def session_in(state: str, **more: Any):
    return lambda d: d.get("state") == state and all(d.get(k) == v for k, v in more.items())


def boss_channels(stack: Any) -> list[dict]:
    return [c for c in stack.sim.truth()["channels"] if c["channel"].startswith("PJSIP/1900")]


async def test_malformed_and_hostile_input_is_refused_naming_the_field_and_nothing_reaches_asterisk(
        stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        _, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        refused = [
            ("/api/supervision/monitor", {"linkedid": f"{linkedid}\r\nAction: Hangup", "mode": "listen"}, "linkedid"),
            ("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen\r\nAction: Hangup"}, "mode"),
            ("/api/supervision/monitor", {"linkedid": 12345, "mode": "listen"}, "linkedid"),
            ("/api/supervision/monitor", {"linkedid": linkedid}, "mode"),
            ("/api/supervision/monitor", {"linkedid": "x" * 500, "mode": "listen"}, "linkedid"),
            ("/api/supervision/intercept", {"linkedid": ["1.1"]}, "linkedid"),
            ("/api/supervision/intercept", {}, "linkedid"),
            ("/api/supervision/mode", {"mode": None}, "mode"),
        ]
        for path, body, field in refused:
            status, answer = await boss.post(path, body)
            assert status == 400 and answer["error"]["field"] == field, (path, body, answer)
        async with boss.http.post(boss.base + "/api/supervision/monitor", data="linkedid=1&mode=listen",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}) as r:
            assert r.status in (400, 415), r.status  # JSON only
        status, answer = await boss.get("/api/supervision/audit", date="2026-13-40")
        assert status == 400 and answer["error"]["field"] == "date", answer
        status, answer = await boss.get("/api/supervision")
        assert status == 200 and answer["sessions"] == []
        assert stack.sim.truth()["spies"] == [] and boss_channels(stack) == []  # nothing reached Asterisk


async def test_wrong_states_are_409_with_a_code_and_change_nothing(stack: Any) -> None:
    async with panels(stack, "1001", "1002", "1900") as p:
        agent, other, boss = p["1001"], p["1002"], p["1900"]
        status, body = await boss.post("/api/supervision/stop", {})
        assert status == 409 and body["error"]["code"] == "not_monitoring", body
        status, body = await boss.post("/api/supervision/mode", {"mode": "whisper"})
        assert status == 409 and body["error"]["code"] == "not_monitoring", body

        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        # the supervisor's phone rings: a switch must wait for the answer
        stack.sim.set_phone("1900", Phone(answer_after=1.5))
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
        assert status == 202 and body["state"] == "ringing", body
        status, body = await boss.post("/api/supervision/mode", {"mode": "barge"})
        assert status == 409 and body["error"]["code"] == "not_active", body
        await boss.expect("supervision", session_in("active", mode="listen"))

        # a second call while monitoring this one: neither a monitor nor an intercept
        await ready(other, "1002")
        stack.sim.set_phone("1002", Phone(answer_after=0.2))
        _, second = await answered_call(stack, other, agent="1002", number="13700137000", hangup_after_answer=60)
        status, body = await boss.post("/api/supervision/intercept", {"linkedid": second})
        assert status == 409 and body["error"]["code"] == "already_monitoring", body
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": second, "mode": "listen"})
        assert status == 409 and body["error"]["code"] == "already_monitoring", body
        assert [s["spyee"].split("-")[0] for s in stack.sim.truth()["spies"]] == ["PJSIP/1001"]
        status, body = await boss.post("/api/supervision/stop", {})
        assert status == 202, body
        await boss.expect("supervision", session_in("ended"))

        # the call ends: monitoring it or intercepting it afterwards is a 409, nothing rings
        await call.hangup()
        await boss.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        for path, body in (("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"}),
                           ("/api/supervision/intercept", {"linkedid": linkedid})):
            status, answer = await boss.post(path, body)
            assert status == 409 and answer["error"]["code"] == "no_call", answer
        await stack.core.settled()
        assert stack.sim.truth()["spies"] == [] and boss_channels(stack) == []


async def test_a_call_ending_while_the_supervisors_phone_rings_leaves_no_spy_channel(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        stack.sim.set_phone("1900", Phone(ring_forever=True))
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "whisper"})
        assert status == 202, body
        await boss.expect("supervision", lambda d: d.get("state") == "ringing")
        await call.hangup()
        ended = await boss.expect("supervision", session_in("ended"))
        assert ended["end_reason"] == "call_ended"
        await stack.core.settled()
        assert boss_channels(stack) == [] and stack.sim.truth()["spies"] == []  # the ringing leg was hung up
        status, body = await boss.get("/api/supervision")
        assert body["sessions"] == []
        wo = await workorder(stack, boss, linkedid, ("monitor_ended", "ended"))
        steps = [(e["kind"], e["data"].get("why")) for e in wo["events"] if e["kind"].startswith("monitor_")]
        assert steps == [("monitor_requested", None), ("monitor_ended", "call_ended")]


async def test_an_intercept_whose_phone_declines_leaves_the_caller_with_the_agent_who_is_not_made_busy(
        stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        stack.sim.set_phone("1900", Phone(decline_after=0.2))
        status, body = await boss.post("/api/supervision/intercept", {"linkedid": linkedid})
        assert status == 202 and body["intercepting"] is True, body
        ended = await boss.expect("supervision", session_in("ended"))
        assert ended["end_reason"] == "no_answer"
        await stack.core.settled()
        view = stack.core.book.view("1001")
        assert (view["state"], view["call"]) == ("on_call", linkedid)  # still talking, not left busy
        legs = [c for c in stack.sim.truth()["channels"] if c["linkedid"] == linkedid]
        assert len(legs) == 2 and legs[0]["bridge"] and legs[0]["bridge"] == legs[1]["bridge"]
        assert not stack.sim.interface_truth("PJSIP/1001")["paused"]
        assert boss_channels(stack) == []
        await call.hangup()
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)


async def test_with_asterisk_away_monitoring_is_503_and_nothing_is_left_behind(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        _, linkedid = await answered_call(stack, agent, hangup_after_answer=60)
        await stack.sim.ami_down()
        await boss.expect("link", lambda d: d["ami"] is False)
        for path, body in (("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"}),
                           ("/api/supervision/intercept", {"linkedid": linkedid})):
            status, answer = await boss.post(path, body)
            assert status == 503 and answer["error"]["code"] == "ami_down", answer
        status, body = await boss.get("/api/supervision")
        assert body["sessions"] == []  # no session left waiting for an Originate that was never sent
        await stack.sim.ami_up()
        await boss.expect("link", lambda d: d["ami"] is True)
        assert boss_channels(stack) == []
        stack.sim.set_phone("1900", Phone(answer_after=0.2))
        status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
        assert status == 202, body  # the supervisor can monitor as soon as Asterisk is back
        await boss.expect("supervision", session_in("active"))
