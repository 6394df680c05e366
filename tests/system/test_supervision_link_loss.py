"""The AMI link going away in the middle of an intercept (the whole product, simulator, PostgreSQL).

The simulator's own action handler is wrapped so that the link goes at the worst moment: after
Asterisk bridged the caller with the supervisor but before its answer reached the server, or
before the Bridge was sent at all. After the resync the caller is with the supervisor or back
with the agent, never dropped, and the work order says which.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pbxsim.kernel.actions import Action, ActionError
from pbxsim.scripts import Phone
from tests.support.calls import answered_call, is_state, panels, ready, workorder


def session_in(state: str, **more: Any):
    return lambda d: d.get("state") == state and all(d.get(k) == v for k, v in more.items())


def cut_link(stack: Any, action: str, *, after: bool) -> list[asyncio.Task]:
    """Asterisk goes away while doing ``action``: after doing it (its answer lost) or before.

    Returns where the link's going is put: await it before bringing the link back."""
    ami = stack.sim.ami
    original = ami.action(action)
    going: list[asyncio.Task] = []

    async def handler(req: Any) -> Any:
        ami._own[action] = original  # once
        if after:
            result = original.handler(req)
            if asyncio.iscoroutine(result):
                await result
        # the link goes (in its own task: it waits for this session to end) and no answer is written
        going.append(asyncio.ensure_future(stack.sim.ami_down()))
        await asyncio.Event().wait()  # until the simulator ends this session
        raise ActionError("unreachable")

    ami._own[action] = Action(handler, original.classes)
    return going


async def live_listen(stack: Any, boss: Any, linkedid: str) -> dict:
    stack.sim.set_phone("1900", Phone(answer_after=0.2))
    status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
    assert status == 202, body
    return await boss.expect("supervision", session_in("active"))


def bridged_with(stack: Any, channel: str) -> list[str]:
    """The other channels in ``channel``'s bridge, by endpoint."""
    chans = stack.sim.truth()["channels"]
    mine = next(c for c in chans if c["channel"] == channel)
    return sorted(c["channel"].split("-")[0] for c in chans if c["bridge"] and c["bridge"] == mine["bridge"]
                  and c["channel"] != channel)


async def test_the_bridge_done_but_its_answer_lost_the_caller_stays_with_the_supervisor(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=120)
        live = await live_listen(stack, boss, linkedid)
        going = cut_link(stack, "bridge", after=True)
        status, body = await boss.post("/api/supervision/intercept", {"linkedid": linkedid})
        assert status == 503 and body["error"]["code"] == "ami_down", body  # not confirmed: said so
        unsure = await boss.expect("supervision", session_in("intercepted", unsure=True))
        assert unsure["id"] == live["id"]
        assert bridged_with(stack, call.channel_name) == ["PJSIP/1900"]  # Asterisk did it meanwhile

        await asyncio.gather(*going)
        await stack.sim.ami_up()
        sure = await boss.expect("supervision", session_in("intercepted", unsure=False), timeout=20)
        assert sure["id"] == live["id"]
        await stack.core.settled()
        assert bridged_with(stack, call.channel_name) == ["PJSIP/1900"]  # nobody hung the supervisor up
        assert not [c for c in stack.sim.truth()["channels"] if c["channel"].startswith("PJSIP/1001")]
        await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["reason"] == "intercepted", timeout=20)

        status, body = await boss.post("/api/supervision/stop", {})  # the supervisor hangs up: the call ends
        assert status == 202, body
        await boss.expect("supervision", session_in("ended"))
        wo = await workorder(stack, boss, linkedid, ("intercept_confirmed", "ended"))
        confirmed = next(e for e in wo["events"] if e["kind"] == "intercept_confirmed")
        assert confirmed["data"]["caller_with"] == "supervisor"
        assert wo["agent_id"] == "1900", wo


async def test_the_link_gone_before_the_bridge_the_caller_stays_with_the_agent_who_is_not_left_busy(
        stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=120)
        await live_listen(stack, boss, linkedid)
        going = cut_link(stack, "setvar", after=False)
        status, body = await boss.post("/api/supervision/intercept", {"linkedid": linkedid})
        assert status == 503, body
        await boss.expect("link", lambda d: d["ami"] is False)
        assert stack.sim.interface_truth("PJSIP/1001")["paused"]  # the QueuePause had gone out first

        await asyncio.gather(*going)
        await stack.sim.ami_up()
        await boss.expect("link", lambda d: d["ami"] is True)
        await agent.expect("agent_state", is_state("1001", "on_call"), timeout=20)
        await stack.core.settled()
        assert bridged_with(stack, call.channel_name) == ["PJSIP/1001"]  # still talking with the agent
        assert not stack.sim.interface_truth("PJSIP/1001")["paused"]  # the pause given back
        status, body = await boss.get("/api/supervision")
        assert [(s["state"], s["intercepting"]) for s in body["sessions"]] == [("active", False)]
        await call.hangup()
        await boss.expect("supervision", session_in("ended"))
        wo = await workorder(stack, boss, linkedid, ("intercept_failed", "ended"))
        assert wo["agent_id"] == "1001"
        assert [e["kind"] for e in wo["events"] if e["kind"].startswith("intercept")] == [
            "intercept", "intercept_failed"]


async def test_a_supervisor_hanging_up_while_the_link_is_away_is_seen_after_the_resync(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        _, linkedid = await answered_call(stack, agent, hangup_after_answer=120)
        live = await live_listen(stack, boss, linkedid)
        await stack.sim.ami_down()
        await boss.expect("link", lambda d: d["ami"] is False)
        spy = next(c["channel"] for c in stack.sim.truth()["channels"] if c["channel"].startswith("PJSIP/1900"))
        stack.sim.find_channel(spy).request_hangup(16)  # the supervisor puts the phone down meanwhile
        await stack.sim.ami_up()
        ended = await boss.expect("supervision", session_in("ended", id=live["id"]), timeout=20)
        assert ended["end_reason"] == "hung_up"
        status, body = await boss.get("/api/supervision")
        assert status == 200, body
        assert body["sessions"] == []  # the supervisor may monitor again
        assert stack.core.book.view("1001")["state"] == "on_call"  # the call goes on with the agent
        wo = await workorder(stack, agent, linkedid, ("monitor_ended",))
        assert [e["data"]["why"] for e in wo["events"] if e["kind"] == "monitor_ended"] == ["hung_up"]
