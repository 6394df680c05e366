"""Call control from the panel against the simulator: hold, retrieve, transfers, IVR, dial out, hang up.

The whole product runs (PostgreSQL, simulator over AMI, IVR, web); each test presses the
buttons through the HTTP API and watches what a user would: the pushes to the panels, what
Asterisk (the simulator's truth) really does with the channels, and the work order.
"""

from __future__ import annotations

import asyncio

from pbxsim.scripts import Phone
from tests.support.calls import (WAIT, answered_call, answered_with_colleague_ready, channels_of, is_state, panels, ready, sim_event, workorder)
from tests.support.document import assert_matches_document


async def test_hold_and_retrieve_from_the_panel_keep_both_legs_and_go_on_the_work_order(stack) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent)

        status, body = await agent.post(f"/api/calls/{linkedid}/retrieve", {})
        assert status == 409 and body["error"]["code"] == "not_held", body

        status, body = await agent.post(f"/api/calls/{linkedid}/hold", {})
        assert status == 202, body
        await assert_matches_document(agent, "POST", f"/api/calls/{linkedid}/hold", status, body)
        status, body = await boss.get("/api/agents")
        await assert_matches_document(boss, "GET", "/api/agents", status, body)
        held = await agent.expect("agent_state", is_state("1001", "on_hold"))
        assert held["call"] == linkedid
        pop = await agent.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("held") is True)
        assert pop["held_since"] and pop["hold_warning_seconds"] == 30.0 and pop["holds"] == 1
        view = await boss.expect("call_update", lambda d: d.get("linkedid") == linkedid and d.get("state") == "held")
        assert view["agent"] == "1001"
        # Asterisk really holds: the customer and the agent's leg are both still up (no hang-up of the agent)
        assert channels_of(stack, linkedid) == ["PJSIP/1001", "PJSIP/caller"]

        status, body = await agent.post(f"/api/calls/{linkedid}/hold", {})
        assert status == 409 and body["error"]["code"] == "already_held", body

        status, body = await agent.post(f"/api/calls/{linkedid}/retrieve", {})
        assert status == 202, body
        await agent.expect("agent_state", is_state("1001", "on_call"))
        back = await agent.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("held") is False
                                  and d.get("holds") == 1)
        assert back["hold_seconds"] > 0
        bridges = {c["bridge"] for c in stack.sim.truth()["channels"] if c["linkedid"] == linkedid}
        assert len(bridges) == 1 and "" not in bridges  # talking again, in one bridge

        await call.hangup()
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, agent, linkedid, ("hold", "retrieve", "ended"))
        kinds = [e["kind"] for e in wo["events"]]
        assert kinds.index("hold") < kinds.index("retrieve") < kinds.index("ended")
        assert next(e for e in wo["events"] if e["kind"] == "hold")["data"]["by"] == "panel"
        ended = next(e for e in wo["events"] if e["kind"] == "ended")
        assert ended["data"]["holds"] == 1 and ended["data"]["hold_seconds"] > 0
        assert wo["agent_id"] == "1001" and wo["disposition"] == "answered"


async def test_only_the_agent_on_the_call_or_a_supervisor_controls_it_and_bad_input_is_refused(stack) -> None:
    async with panels(stack, "1001", "1003", "1900") as p:
        agent, other, boss = p["1001"], p["1003"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent)

        status, body = await other.post(f"/api/calls/{linkedid}/hold", {})
        assert status == 403, body
        for payload, field in (({"kind": "fax", "target": "1002"}, "kind"),
                               ({"kind": "agent", "target": "1001"}, "target"),  # to oneself
                               ({"kind": "agent", "target": "9999"}, "target"),
                               ({"kind": "queue", "target": "sales"}, "target"),
                               ({"kind": "external", "target": "12ab"}, "target"),
                               ({"kind": "external", "target": "1" * 33}, "target"),
                               ({"kind": "external", "target": "123\r\nAction: Originate"}, "target"),
                               ({"kind": "agent"}, "target")):
            status, body = await agent.post(f"/api/calls/{linkedid}/transfer", payload)
            assert status == 400 and body["error"]["field"] == field, (payload, body)
        status, body = await agent.post(f"/api/calls/{linkedid}/ivr", {"node": "nowhere"})
        assert status == 400 and body["error"]["field"] == "node", body
        status, body = await agent.post("/api/calls/dial", {"number": "0215551234\n"})
        assert status == 400 and body["error"]["field"] == "number", body
        status, body = await agent.post("/api/calls/dial", {"number": "0215551234"})
        assert status == 409 and body["error"]["code"] == "busy", body  # already on a call
        # 1002 is signed out: a transfer to them is refused with the reason, and nothing moved
        status, body = await agent.post(f"/api/calls/{linkedid}/transfer", {"kind": "agent", "target": "1002"})
        assert status == 409 and body["error"]["code"] == "agent_not_ready", body
        assert "logged_out" in body["error"]["message"]
        # nobody but 1001 (who hands the call over) is in the queue: Asterisk would turn the caller away
        status, body = await agent.post(f"/api/calls/{linkedid}/transfer", {"kind": "queue", "target": "support"})
        assert status == 409 and body["error"]["code"] == "queue_empty", body
        assert channels_of(stack, linkedid) == ["PJSIP/1001", "PJSIP/caller"]
        status, body = await agent.post("/api/calls/nosuchcall/hold", {})
        assert status == 409 and body["error"]["code"] == "no_call", body

        # a supervisor may hang up any call
        status, body = await boss.post(f"/api/calls/{linkedid}/hangup", {})
        assert status == 202, body
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, boss, linkedid)
        assert wo["hangup_by"] == "supervisor"
        await asyncio.wait_for(call.ended(), WAIT)


async def test_blind_transfer_to_a_ready_agent_moves_the_call_and_the_work_order_follows(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)

        status, body = await a.post(f"/api/calls/{linkedid}/transfer", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        ring = await b.expect("call_ringing", lambda d: d["linkedid"] == linkedid)
        assert ring["caller_number"] == "13800138000"
        await b.expect("agent_state", is_state("1002", "on_call"))
        gone = await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        assert gone["call"] is None
        moved = await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)  # off 1001's panel at once
        assert moved["disposition"] == "moved"
        assert channels_of(stack, linkedid) == ["PJSIP/1002", "PJSIP/caller"]
        # the call is 1002's now: 1001 may not touch it any more, 1002 may hold and retrieve it
        status, body = await a.post(f"/api/calls/{linkedid}/hold", {})
        assert status == 403, body
        assert (await b.post(f"/api/calls/{linkedid}/hold", {}))[0] == 202
        await b.expect("agent_state", is_state("1002", "on_hold"))
        mark = len(b.received)
        assert (await b.post(f"/api/calls/{linkedid}/retrieve", {}))[0] == 202
        await b.expect("agent_state", is_state("1002", "on_call"), after=mark)

        await call.hangup()
        await b.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, b, linkedid, ("transfer", "retrieve", "ended"))  # now 1002's work order
        transfer = next(e for e in wo["events"] if e["kind"] == "transfer")
        assert transfer["data"] == {"kind": "agent", "agent": "1002", "from": "1001", "by": "1001"}
        assert wo["agent_id"] == "1002" and wo["hangup_by"] == "caller"
        ended = next(e for e in wo["events"] if e["kind"] == "ended")
        assert ended["data"]["agents"] == ["1001", "1002"]


async def test_transfer_to_an_agent_who_does_not_take_it_goes_back_to_the_calls_queue(stack) -> None:
    async with panels(stack, "1001", "1002", "1003") as p:
        a, b, c = p["1001"], p["1002"], p["1003"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)
        stack.sim.set_phone("1002", Phone(decline_after=0.3))  # 1002 is ready, but rejects it on the phone
        await ready(c, "1003")
        stack.sim.set_phone("1003", Phone(answer_after=0.3))
        fallback: list[str] = []
        stack.sim.listeners.append(lambda name, f: fallback.append(dict(f)["Value"]) if name == "VarSet"
                                   and dict(f).get("Variable") == "CTI_FALLBACK_QUEUE" else None)
        status, body = await a.post(f"/api/calls/{linkedid}/transfer", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await b.expect("call_ringing", lambda d: d["linkedid"] == linkedid)
        assert fallback == ["support"]  # set on the customer's channel before the Redirect
        # not dropped: back in the queue it came from, where 1003 answers it
        await c.expect("agent_state", lambda d: d["id"] == "1003" and d["state"] == "on_call"
                       and d["call"] == linkedid)
        assert channels_of(stack, linkedid) == ["PJSIP/1003", "PJSIP/caller"]
        await call.hangup()
        await c.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, c, linkedid, ("transfer", "ring_ended", "ended"))
        declined = [e["data"] for e in wo["events"] if e["kind"] == "ring_ended"]
        assert {"agent": "1002", "why": "declined"} in declined, declined
        assert wo["agent_id"] == "1003" and wo["queue"] == "support" and wo["disposition"] == "answered"
        assert next(e for e in wo["events"] if e["kind"] == "ended")["data"]["agents"] == ["1001", "1003"]


async def test_transfer_to_an_outside_number_frees_the_agent(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        stack.sim.set_phone("outside", Phone(answer_after=0.3, hangup_after_answer=0.5))
        call, linkedid = await answered_call(stack, a)
        status, body = await a.post(f"/api/calls/{linkedid}/transfer", {"kind": "external", "target": "+8621*55#"})
        assert status == 202, body
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        await asyncio.wait_for(call.ended(), WAIT)  # the outside party talked, then hung up
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid and d["disposition"] != "moved")
        wo = await workorder(stack, a, linkedid, ("transfer", "ended"))
        transfer = next(e for e in wo["events"] if e["kind"] == "transfer")
        assert transfer["data"]["kind"] == "external" and transfer["data"]["number"] == "+8621*55#"
        assert wo["agent_id"] == "1001" and wo["disposition"] == "answered"


async def test_back_to_the_ivr_node_then_the_queue_on_the_same_work_order(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)
        status, body = await a.post(f"/api/calls/{linkedid}/ivr", {"node": "support"})
        assert status == 202, body
        # the IVR's support node queues the caller again: 1002 (1001 is in wrap-up) gets them
        await b.expect("agent_state", is_state("1002", "on_call"))
        await call.hangup()
        await b.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, b, linkedid, ("ivr", "ended"))
        assert [e["data"]["node"] for e in wo["events"] if e["kind"] == "ivr"] == ["support"]
        assert wo["ivr_path"][-1] == "support" and len(wo["ivr_path"]) >= 3  # the first visit, then the return
        assert wo["agent_id"] == "1002"


async def test_dial_out_rings_the_agent_first_and_is_an_outbound_work_order(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        stack.sim.set_phone("1001", Phone(answer_after=0.2))
        stack.sim.set_phone("outside", Phone(answer_after=0.3))
        status, body = await a.post("/api/calls/dial", {"number": "0215551234"})
        assert status == 202, body
        linkedid = body["linkedid"]
        busy = await a.expect("agent_state", is_state("1001", "on_call"))
        assert busy["outside_call"] is True and busy["call"] == linkedid

        await sim_event(  # the number answered
            stack.sim,
            lambda: any(c["linkedid"] == linkedid and c["channel"].startswith("PJSIP/outside-") and c["state"] == 6
                        for c in stack.sim.truth()["channels"]),
            lambda name, f: (name == "Newstate" and f.get("Linkedid") == linkedid and f.get("ChannelState") == "6"
                             and f.get("Channel", "").startswith("PJSIP/outside-")))
        # the agent may hold the person they called, and take them back
        assert (await a.post(f"/api/calls/{linkedid}/hold", {}))[0] == 202
        await a.expect("agent_state", is_state("1001", "on_hold"))
        mark = len(a.received)
        assert (await a.post(f"/api/calls/{linkedid}/retrieve", {}))[0] == 202
        await a.expect("agent_state", is_state("1001", "on_call"), after=mark)
        status, body = await a.post(f"/api/calls/{linkedid}/hangup", {})
        assert status == 202, body
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] != "on_call"
                       and d["call"] is None)
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, a, linkedid, ("dial_out", "hold", "retrieve", "ended"))
        assert wo["direction"] == "outbound" and wo["agent_id"] == "1001" and wo["talk_seconds"] is not None
        assert wo["events"][0]["kind"] == "dial_out" and wo["events"][0]["data"]["number"] == "0215551234"
        assert channels_of(stack, linkedid) == []


async def test_caller_hangs_up_while_held_the_agent_leg_is_not_left_behind(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        assert (await a.post(f"/api/calls/{linkedid}/hold", {}))[0] == 202
        await a.expect("agent_state", is_state("1001", "on_hold"))
        await call.hangup()
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        assert channels_of(stack, linkedid) == []  # the server hung the waiting agent leg up
        wo = await workorder(stack, a, linkedid, ("hold", "held_party_gone", "ended"))
        assert wo["hangup_by"] == "caller"
        ended = next(e for e in wo["events"] if e["kind"] == "ended")
        assert ended["data"]["holds"] == 1


async def test_ami_drop_mid_transfer_leaves_no_orphan_and_no_agent_stuck(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        await ready(b, "1002")
        stack.sim.set_phone("1002", Phone(answer_after=1.0))
        status, body = await a.post(f"/api/calls/{linkedid}/transfer", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await stack.sim.ami_down()  # the link goes while 1002's phone rings
        await a.expect("link", lambda d: d["ami"] is False)

        await sim_event(  # 1002 answers meanwhile (nobody hears of it on AMI)
            stack.sim,
            lambda: any(c["linkedid"] == linkedid and c["channel"].startswith("PJSIP/1002-") and c["bridge"]
                        for c in stack.sim.truth()["channels"]),
            lambda name, f: (name == "BridgeEnter" and f.get("Linkedid") == linkedid
                             and f.get("Channel", "").startswith("PJSIP/1002-")))
        await stack.sim.ami_up()
        await a.expect("link", lambda d: d["ami"] is True)
        await b.expect("agent_state", is_state("1002", "on_call"))
        status, me = await a.get("/api/me")
        view = stack.core.book.view("1001")
        assert view["state"] != "on_call" and view["call"] is None
        await call.hangup()
        await b.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        assert channels_of(stack, linkedid) == []
        wo = await workorder(stack, b, linkedid, ("transfer", "ended"))
        assert (wo["agent_id"], wo["disposition"], wo["hangup_by"]) == ("1002", "answered", "caller")


async def test_a_hold_from_the_phone_itself_shows_and_counts_the_same_but_is_taken_back_on_the_phone(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        await stack.sim.phone_hold("1001", True)  # re-INVITE sendonly from the agent's softphone
        await a.expect("agent_state", is_state("1001", "on_hold"))
        pop = await a.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("held") is True)
        assert pop["held_since"]
        status, body = await a.post(f"/api/calls/{linkedid}/retrieve", {})
        assert status == 409 and body["error"]["code"] == "held_by_phone", body
        status, body = await a.post(f"/api/calls/{linkedid}/hold", {})
        assert status == 409 and body["error"]["code"] == "already_held", body
        await stack.sim.phone_hold("1001", False)
        await a.expect("agent_state", is_state("1001", "on_call"))
        await call.hangup()
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, a, linkedid, ("hold", "retrieve", "ended"))
        assert next(e for e in wo["events"] if e["kind"] == "hold")["data"]["by"] == "phone"
        assert next(e for e in wo["events"] if e["kind"] == "ended")["data"]["holds"] == 1


async def test_with_asterisk_away_a_button_gets_503_and_nothing_changes(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        await stack.sim.ami_down()
        await a.expect("link", lambda d: d["ami"] is False)
        status, body = await a.post(f"/api/calls/{linkedid}/hold", {})
        assert status == 503 and body["error"]["code"] == "ami_down", body
        legs = [c for c in stack.sim.truth()["channels"] if c["linkedid"] == linkedid]
        assert len(legs) == 2 and all(c["bridge"] for c in legs)  # still talking: nothing was moved
        await stack.sim.ami_up()
        await a.expect("link", lambda d: d["ami"] is True)
        assert (await a.post(f"/api/calls/{linkedid}/hold", {}))[0] == 202
        await a.expect("agent_state", is_state("1001", "on_hold"))
        await call.hangup()
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)


async def test_a_dial_out_the_number_does_not_take_is_no_answer_not_abandoned(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        stack.sim.set_phone("1001", Phone(answer_after=0.2))
        stack.sim.set_phone("outside", Phone(decline_after=0.3))  # busy
        status, body = await a.post("/api/calls/dial", {"number": "0215550000"})
        assert status == 202, body
        linkedid = body["linkedid"]
        ended = await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        assert ended["disposition"] == "no_answer"
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] != "on_call" and d["call"] is None)
        wo = await workorder(stack, a, linkedid, ("dial_out", "ended"))
        assert (wo["direction"], wo["disposition"], wo["agent_id"]) == ("outbound", "no_answer", "1001")
        assert wo["talk_seconds"] is None
