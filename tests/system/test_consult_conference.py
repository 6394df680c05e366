"""Consult (attended transfer, AMI Atxfer) from the panel against the simulator.

The whole product runs; each test presses the buttons through the HTTP API and watches
what a user would: the agents' states on the panels, the channels Asterisk (the
simulator's truth) really has, and the steps on the call's work order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import Phone
from tests.support.browser import WAIT_MS
from tests.support.calls import (answered_call, answered_with_colleague_ready, channels_of, colleague_ready,
                                             is_state, panels, ready, workorder)
from tests.system.test_panel_calls import panel_on_call


def step(wo: dict, kind: str) -> dict:
    return next(e for e in wo["events"] if e["kind"] == kind)["data"]


async def test_consult_a_colleague_then_complete_gives_them_the_call(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)

        status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await b.expect("call_ringing", lambda d: d["linkedid"] == linkedid)
        await b.expect("agent_state", is_state("1002", "on_call"))
        # the consulting agent stays on the call (not "on hold"), the customer waits on music
        assert stack.core.book.view("1001")["state"] == "on_call"
        pop = await a.expect("pop_update", lambda d: (d["linkedid"] == linkedid and d.get("consult")
                                                       and d["consult"]["answered"]))
        assert pop["consult"]["kind"] == "agent" and pop["consult"]["target"] == "1002"
        # a second consult, or a wrong state, is refused
        status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1003"})
        assert status == 409, body

        status, body = await a.post(f"/api/calls/{linkedid}/consult/complete", {})
        assert status == 202, body
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid and d["disposition"] == "moved")
        await b.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult") is None
                       and d["state"] == "answered")
        assert stack.core.book.view("1002")["state"] == "on_call"
        assert channels_of(stack, linkedid) == ["PJSIP/1002", "PJSIP/caller"]
        # the call is 1002's now
        assert (await a.post(f"/api/calls/{linkedid}/hold", {}))[0] == 403

        await call.hangup()
        await b.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        wo = await workorder(stack, b, linkedid, ("consult_started", "consult", "ended"))
        assert step(wo, "consult_started") == {"kind": "agent", "agent": "1002", "from": "1001", "by": "1001"}
        consult = step(wo, "consult")
        assert (consult["kind"], consult["from"], consult["to"], consult["outcome"]) == (
            "agent", "1001", "1002", "completed")
        assert wo["agent_id"] == "1002" and wo["hangup_by"] == "caller"
        assert step(wo, "ended")["agents"] == ["1001", "1002"]
        assert "hold" not in [e["kind"] for e in wo["events"]]


async def test_consult_cancel_brings_the_agent_back_to_the_customer(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)
        assert (await a.post(f"/api/calls/{linkedid}/consult/cancel", {}))[0] == 409  # no consult yet

        assert (await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"}))[0] == 202
        await b.expect("agent_state", is_state("1002", "on_call"))
        mark = len(a.received)
        status, body = await a.post(f"/api/calls/{linkedid}/consult/cancel", {})
        assert status == 202, body
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult") is None, after=mark)
        assert stack.core.book.view("1001")["state"] == "on_call"
        assert channels_of(stack, linkedid) == ["PJSIP/1001", "PJSIP/caller"]
        # back with the customer: the agent can hold it again as usual
        assert (await a.post(f"/api/calls/{linkedid}/hold", {}))[0] == 202
        await a.expect("agent_state", is_state("1001", "on_hold"))

        await call.hangup()
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, a, linkedid, ("consult", "ended"))
        assert step(wo, "consult")["outcome"] == "cancelled"
        assert wo["agent_id"] == "1001"


async def test_consult_no_answer_comes_back_by_itself_and_bad_targets_are_refused(stack) -> None:
    async with panels(stack, "1001", "1002") as p:  # 1002 signs in but is not ready
        a = p["1001"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        for body, field in (({"kind": "agent", "target": "1001"}, "target"),
                            ({"kind": "agent", "target": "nobody"}, "target"),
                            ({"kind": "external", "target": "12\r\nAction: Hangup"}, "target"),
                            # keyed into Asterisk as DTMF: no + (and # would end the number early)
                            ({"kind": "external", "target": "+8621555"}, "target"),
                            ({"kind": "external", "target": "86#21"}, "target"),
                            ({"kind": "queue", "target": "support"}, "kind")):
            status, answer = await a.post(f"/api/calls/{linkedid}/consult", body)
            assert status == 400 and answer["error"]["field"] == field, (body, answer)
        # 1002 is signed in but not ready
        status, answer = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"})
        assert status == 409 and answer["error"]["code"] == "agent_not_ready", answer

        # an outside expert who does not take the call: the agent is back with the customer by itself
        stack.sim.set_phone("outside", Phone(decline_after=0.3))
        mark = len(a.received)
        assert (await a.post(f"/api/calls/{linkedid}/consult", {"kind": "external", "target": "8621555"}))[0] == 202
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult") is not None,
                       after=mark)
        assert (await a.post(f"/api/calls/{linkedid}/consult/complete", {}))[0] == 409  # not answered
        mark = len(a.received)
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult") is None, after=mark)
        assert stack.core.book.view("1001")["state"] == "on_call"
        assert channels_of(stack, linkedid) == ["PJSIP/1001", "PJSIP/caller"]
        await call.hangup()
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, a, linkedid, ("consult", "ended"))
        consult = step(wo, "consult")
        assert (consult["kind"], consult["to"], consult["outcome"]) == ("external", "8621555", "no_answer")
        assert "consult_failed" not in [e["kind"] for e in wo["events"]]


async def test_caller_hangs_up_mid_consult_agents_talk_on_then_nobody_is_left_on_call(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)
        mark = len(a.received)
        assert (await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"}))[0] == 202
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and (d.get("consult") or {}).get("answered"),
                       after=mark)
        mark = len(a.received)
        await call.hangup()  # the customer gives up while the agent consults
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult") is None, after=mark)
        assert channels_of(stack, linkedid) == ["PJSIP/1001", "PJSIP/1002"]  # the colleagues still talk
        assert stack.core.book.view("1001")["state"] == "on_call"
        assert stack.core.book.view("1002")["state"] == "on_call"
        assert (await a.post(f"/api/calls/{linkedid}/consult/complete", {}))[0] == 409  # nothing to transfer

        assert (await a.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        assert channels_of(stack, linkedid) == []
        wo = await workorder(stack, a, linkedid, ("consult", "ended"))
        assert step(wo, "consult")["outcome"] == "caller_gone"
        assert wo["hangup_by"] == "caller" and wo["agent_id"] == "1001"


@pytest.mark.browser
async def test_consult_from_the_toolbar_back_to_the_caller_then_hand_over(stack: Any, browser: Any) -> None:
    page, call = await panel_on_call(stack, browser)
    badge = page.locator("#state-badge")
    async with panels(stack, "1002") as p:
        colleague = p["1002"]
        await colleague_ready(stack, colleague)
        line = page.locator("#consult-line")

        # the panel refuses consulting oneself before asking the server
        await page.locator("#btn-consult").click()
        await page.locator("#consult-target").fill("1001")
        await page.locator("#consult-submit").click()
        await expect(page.locator("#call-error")).to_contain_text("already yours")
        await page.get_by_label("Consult", exact=True).select_option("agent")
        await page.locator("#consult-target").fill("1002")
        await page.locator("#consult-submit").click()
        await expect(line).to_contain_text("talking", timeout=WAIT_MS)
        await expect(badge).to_have_text("On call")
        await expect(page.locator("#btn-hold")).to_be_hidden()  # while consulting: its outcomes only
        await colleague.expect("agent_state", is_state("1002", "on_call"))

        await page.locator("#btn-consult-cancel").click()
        await expect(line).to_be_hidden(timeout=WAIT_MS)
        await expect(page.locator("#btn-hold")).to_be_visible()
        await colleague.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        assert channels_of(stack, call.uniqueid) == ["PJSIP/1001", "PJSIP/caller"]

        await ready(colleague, "1002")
        await page.locator("#btn-consult").click()
        await page.locator("#consult-target").fill("1002")
        await page.locator("#consult-submit").click()
        await expect(page.locator("#btn-consult-complete")).to_be_visible(timeout=WAIT_MS)
        await page.locator("#btn-consult-complete").click()
        await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)  # the colleague has it now
        await expect(badge).not_to_have_text("On call")
        assert channels_of(stack, call.uniqueid) == ["PJSIP/1002", "PJSIP/caller"]
        await call.hangup()
        await colleague.expect("call_ended", lambda d: d["linkedid"] == call.uniqueid)
    assert page.js_errors == []  # type: ignore[attr-defined]


async def in_sync(stack: Any) -> None:
    """Everything the simulator sent so far has been applied (a Ping's reply follows the events before it)."""
    await stack.core.ami.send({"Action": "Ping"})
    await stack.core.drained()


async def test_conference_add_list_remove_then_it_ends_when_the_caller_leaves(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        assert (await a.get(f"/api/calls/{linkedid}/conference"))[0] == 409  # not a conference yet
        await colleague_ready(stack, b)
        status, body = await a.post(f"/api/calls/{linkedid}/conference/add", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        room = body["room"]
        await b.expect("agent_state", is_state("1002", "on_call"))

        joined = asyncio.Event()
        stack.sim.listeners.append(lambda name, fields: joined.set() if name == "ConfbridgeJoin"
                                   and len(stack.sim.truth()["conferences"].get(room, [])) == 3 else None)
        if len(stack.sim.truth()["conferences"].get(room, [])) < 3:
            await asyncio.wait_for(joined.wait(), 15)
        await in_sync(stack)
        status, body = await a.get(f"/api/calls/{linkedid}/conference")
        assert status == 200, body
        people = {(x["kind"], x["who"]) for x in body["participants"]}
        assert people == {("customer", "13800138000"), ("agent", "1001"), ("agent", "1002")}
        assert stack.core.book.view("1001")["state"] == "on_call"
        colleague = next(x["participant"] for x in body["participants"] if x["who"] == "1002")

        status, answer = await a.post(f"/api/calls/{linkedid}/conference/remove", {"participant": "PJSIP/9-x"})
        assert status == 400 and answer["error"]["field"] == "participant", answer
        assert (await a.post(f"/api/calls/{linkedid}/conference/remove", {"participant": colleague}))[0] == 202
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        await in_sync(stack)
        status, body = await a.get(f"/api/calls/{linkedid}/conference")
        assert {x["kind"] for x in body["participants"]} == {"customer", "agent"}
        assert stack.core.book.view("1001")["state"] == "on_call"

        await call.hangup()  # the caller leaves: the conference ends, nobody stays in the room
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        assert channels_of(stack, linkedid) == []
        assert room not in stack.sim.truth()["conferences"] or not stack.sim.truth()["conferences"][room]
        wo = await workorder(stack, a, linkedid, ("conference_add", "conference_remove", "ended"))
        add = step(wo, "conference_add")
        assert (add["kind"], add["agent"], add["by"]) == ("agent", "1002", "1001")
        assert step(wo, "conference_remove")["participant"] == colleague
        assert wo["agent_id"] == "1001" and wo["call_state"] == "ended"


async def test_conference_ends_when_only_one_party_is_left(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)
        status, body = await a.post(f"/api/calls/{linkedid}/conference/add", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        room = body["room"]
        joined = asyncio.Event()
        stack.sim.listeners.append(lambda name, fields: joined.set() if name == "ConfbridgeJoin"
                                   and len(stack.sim.truth()["conferences"].get(room, [])) == 3 else None)
        if len(stack.sim.truth()["conferences"].get(room, [])) < 3:
            await asyncio.wait_for(joined.wait(), 15)
        await in_sync(stack)

        # the first agent leaves: customer and colleague talk on in the room
        assert (await a.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        await in_sync(stack)
        assert sorted((x["kind"], x["who"]) for x in stack.app.conferences.participants(room)) == [
            ("agent", "1002"), ("customer", "13800138000")]
        assert stack.core.book.view("1002")["state"] == "on_call"
        assert "PJSIP/caller" in channels_of(stack, linkedid)

        # the colleague hangs up their phone: the customer would be alone in the room, so it ends
        colleague = next(c["channel"] for c in stack.sim.truth()["channels"] if c["channel"].startswith("PJSIP/1002"))
        await stack.core.ami.send({"Action": "Hangup", "Channel": colleague})
        await asyncio.wait_for(call.ended(), 15)
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, a, linkedid, ("conference_add", "conference_left", "ended"))
        assert wo["call_state"] == "ended" and wo["disposition"] == "answered"



@pytest.mark.browser
async def test_conference_from_the_toolbar_lists_participants_and_removes_one(stack: Any, browser: Any) -> None:
    page, call = await panel_on_call(stack, browser)
    badge = page.locator("#state-badge")
    async with panels(stack, "1002") as p:
        colleague = p["1002"]
        await colleague_ready(stack, colleague)
        await page.locator("#btn-conference").click()
        await page.get_by_label("Add to the conference").select_option("agent")
        await page.locator("#conference-target").fill("1002")
        await page.locator("#conference-submit").click()
        people = page.locator("#conference-list li")
        await expect(people).to_have_count(3, timeout=WAIT_MS)
        await expect(page.locator("#conference-list")).to_contain_text("Agent · 座席 1002")
        await expect(page.locator("#btn-hold")).to_be_hidden()  # a conference is not held or transferred
        await page.get_by_role("button", name="Remove 1002").click()
        await colleague.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        await expect(people).to_have_count(2, timeout=WAIT_MS)
        await expect(badge).to_have_text("On call")
        await call.hangup()
        await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_conference_with_an_outside_number(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        stack.sim.set_phone("outside", Phone(answer_after=0.3))
        status, body = await a.post(f"/api/calls/{linkedid}/conference/add", {"kind": "external", "target": "+86215"})
        assert status == 202, body
        room = body["room"]
        joined = asyncio.Event()
        stack.sim.listeners.append(lambda name, fields: joined.set() if name == "ConfbridgeJoin"
                                   and len(stack.sim.truth()["conferences"].get(room, [])) == 3 else None)
        if len(stack.sim.truth()["conferences"].get(room, [])) < 3:
            await asyncio.wait_for(joined.wait(), 15)
        await in_sync(stack)
        status, body = await a.get(f"/api/calls/{linkedid}/conference")
        assert sorted((x["kind"], x["who"]) for x in body["participants"]) == [
            ("agent", "1001"), ("customer", "13800138000"), ("external", "+86215")]
        await call.hangup()  # the caller leaves: the agent and the outside party are let go
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        assert stack.sim.truth()["channels"] == []
        wo = await workorder(stack, a, linkedid, ("conference_add", "ended"))
        assert step(wo, "conference_add")["number"] == "+86215"
