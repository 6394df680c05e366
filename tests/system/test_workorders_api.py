"""Work orders as the center's work, over HTTP against the whole server.

An agent writes up a call and submits it; the department's handler accepts, works and
completes it; the agent calls the customer back and closes it; every step is in the
history. Then the refusals: bad input (400 naming the field), a role that may not (403),
a state that does not allow it (409 with the reason), two people on one version (one 409),
and deadlines that fall due (listed, coloured red, pushed).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any


from tests.conftest import running, stack_config
from tests.support.calls import answered_call, panels, ready
from tests.support.document import assert_matches_document


def err(body: dict) -> dict:
    assert set(body) == {"error"}, body
    return body["error"]


async def act(panel: Any, ref: str, action: str, version: int, **body: Any) -> dict:
    status, answer = await panel.post(f"/api/workorders/{ref}/{action}", {"version": version, **body})
    assert status == 200, (action, answer)
    await assert_matches_document(panel, "POST", f"/api/workorders/{ref}/{action}", status, answer)
    assert answer["saved"] == "database"
    return answer["workorder"]


async def test_a_complaint_from_call_to_closing(stack: Any) -> None:
    async with panels(stack, "1001", "1003", "1002") as p:
        agent, handler, other = p["1001"], p["1003"], p["1002"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_after_answer=5)
        status, body = await agent.get("/api/workorders/form")
        assert status == 200 and "complaint" in [c["name"] for c in body["categories"]]
        await assert_matches_document(agent, "GET", "/api/workorders/form", status, body)
        ref = (await agent.expect("pop_update", lambda d: d.get("linkedid") == linkedid))["workorder_ref"]

        # During the call the form is saved as it changes.
        status, body = await agent.post(f"/api/workorders/{ref}/draft",
                                        {"version": 0, "category": "complaint", "subcategory": "fees"})
        assert status == 200 and body["saved"] == "database", body
        wo = body["workorder"]
        assert (wo["status"], wo["version"], wo["colour"], wo["linkedid"]) == ("draft", 1, "grey", linkedid)
        wo = await act(agent, ref, "draft", 1, urgency="high", request="Charged twice for <b>one</b> transfer",
                       department="cards", notes="line one\nline two")
        assert wo["request"] == "Charged twice for <b>one</b> transfer" and wo["notes"] == "line one\nline two"
        same = await act(agent, ref, "draft", 2, urgency="high")  # an autosave with nothing new writes nothing
        assert same["version"] == 2

        wo = await act(agent, ref, "submit", 2, resolved=False)
        assert (wo["status"], wo["department"], wo["submitted_by"], wo["colour"]) == (
            "submitted", "cards", "1001", "orange")
        assert wo["due_at"] and wo["step_started_at"]
        pushed = await handler.expect("workorder_task", lambda d: d["ref"] == ref and d["why"] == "submit")
        assert pushed["status"] == "submitted"
        assert not [m for m in other.of_type("workorder_task") if m["ref"] == ref]  # none of 1002's business

        status, tasks = await handler.get("/api/workorders/tasks")
        assert status == 200 and tasks["counts"]["department"] == 1
        await assert_matches_document(handler, "GET", "/api/workorders/tasks", status, tasks)
        assert [(w["ref"], w["why"]) for w in tasks["workorders"]] == [(ref, "department")]

        wo = await act(handler, ref, "accept", 3)
        wo = await act(handler, ref, "start", 4)
        assert (wo["status"], wo["assignee"]) == ("in_progress", "1003")
        wo = await act(handler, ref, "log", 5, comment="asked the card centre for the statement")
        wo = await act(handler, ref, "complete", 6, comment="The second charge is refunded.")
        assert (wo["status"], wo["resolution"]) == ("completed", "The second charge is refunded.")

        status, tasks = await agent.get("/api/workorders/tasks")
        assert [(w["ref"], w["why"]) for w in tasks["workorders"]] == [(ref, "callback")]
        wo = await act(agent, ref, "callback", 7, satisfaction="satisfied", comment="Thanks, all good")
        assert (wo["status"], wo["satisfaction"], wo["opinion"]) == ("callback", "satisfied", "Thanks, all good")
        wo = await act(agent, ref, "close", 8)
        assert (wo["status"], wo["colour"]) == ("closed", "black") and wo["closed_at"]

        status, body = await agent.get(f"/api/workorders/{ref}/history")
        assert status == 200 and body["version"] == 9
        await assert_matches_document(agent, "GET", f"/api/workorders/{ref}/history", status, body)
        assert [(h["action"], h["actor"], h["from"], h["to"]) for h in body["history"]] == [
            ("save", "1001", "draft", "draft"), ("save", "1001", "draft", "draft"),
            ("submit", "1001", "draft", "submitted"), ("accept", "1003", "submitted", "accepted"),
            ("start", "1003", "accepted", "in_progress"), ("log", "1003", "in_progress", "in_progress"),
            ("complete", "1003", "in_progress", "completed"), ("callback", "1001", "completed", "callback"),
            ("close", "1001", "callback", "closed")]
        assert body["history"][5]["comment"] == "asked the card centre for the statement"
        assert body["history"][0]["data"]["fields"] == {"category": "complaint", "subcategory": "fees"}
        status, one = await handler.get(f"/api/workorders/{ref}")
        assert status == 200 and one["workorder"]["events"] and len(one["workorder"]["history"]) == 9
        await assert_matches_document(handler, "GET", f"/api/workorders/{ref}", status, one)

        # Another agent has no part in it: not to read, not to touch, not even told it exists.
        assert (await other.get(f"/api/workorders/{ref}"))[0] == 404
        status, body = await other.post(f"/api/workorders/{ref}/note", {"version": 9, "comment": "hi"})
        assert status == 404 and err(body)["code"] == "not_found"


async def test_bad_input_roles_states_and_versions_are_refused_with_the_reason(stack: Any) -> None:
    async with panels(stack, "1001", "1003", "1900") as p:
        agent, handler, boss = p["1001"], p["1003"], p["1900"]
        status, body = await agent.post("/api/workorders", {"channel": "letter", "customer_no": "C0002",
                                                            "category": "complaint", "request": "A letter"})
        assert status == 201 and body["saved"] == "database", body
        wo = body["workorder"]
        ref, v = wo["ref"], wo["version"]
        assert (wo["status"], wo["channel"], wo["customer_no"], wo["created_by"], v) == (
            "draft", "letter", "C0002", "1001", 1)

        for payload, field in [
            ({"channel": "pigeon"}, "channel"), ({}, "channel"), ({"channel": "email", "customer_no": "C9999"},
                                                                  "customer_no"),
            ({"channel": "email", "category": "gossip"}, "category"),
            ({"channel": "email", "nonsense": 1}, "nonsense"),
            ({"channel": "email", "caller_number": "call me<script>"}, "caller_number"),
        ]:
            status, body = await agent.post("/api/workorders", payload)
            assert status == 400 and err(body)["field"] == field, (payload, body)
        for payload, field in [
            ({"version": v, "subcategory": "atm"}, "subcategory"),  # not a complaint's
            ({"version": v, "urgency": "yesterday"}, "urgency"),
            ({"version": v, "department": "nowhere"}, "department"),
            ({"version": v, "request": "x" * 4001}, "request"),
            ({"version": v, "notes": "bell\x07"}, "notes"),
            ({"version": v, "summary": "two\nlines"}, "summary"),
            ({"version": "1", "notes": "x"}, "version"),
            ({"notes": "x"}, "version"),
        ]:
            status, body = await agent.post(f"/api/workorders/{ref}/draft", payload)
            assert status == 400 and err(body)["field"] == field, (payload, body)

        status, body = await agent.post(f"/api/workorders/{ref}/submit", {"version": v, "resolved": False})
        assert status == 400 and err(body)["field"] == "subcategory"  # a complaint needs its kind
        wo = await act(agent, ref, "draft", v, subcategory="service")
        status, body = await agent.post(f"/api/workorders/{ref}/accept", {"version": 2})
        assert status == 403 and "agent may not accept" in err(body)["message"]
        wo = await act(agent, ref, "submit", 2, resolved=False, department="cards")
        status, body = await handler.post(f"/api/workorders/{ref}/complete", {"version": 3, "comment": "done"})
        assert status == 409 and "cannot complete a work order that is submitted" in err(body)["message"]
        status, body = await handler.post(f"/api/workorders/{ref}/assign", {"version": 3, "assignee": "nobody"})
        assert status == 400 and err(body)["field"] == "assignee"

        # Two handlers on the same version at once: one wins, the other is told to reload.
        results = await asyncio.gather(handler.post(f"/api/workorders/{ref}/accept", {"version": 3}),
                                       boss.post(f"/api/workorders/{ref}/accept", {"version": 3}))
        assert sorted(s for s, _ in results) == [200, 409]
        loser = next(b for s, b in results if s == 409)
        assert err(loser)["code"] == "stale_version" and err(loser)["field"] == "version"

        wo = await act(boss, ref, "assign", 4, assignee="1003", comment="yours")
        wo = await act(handler, ref, "start", 5)
        status, body = await handler.post(f"/api/workorders/{ref}/defer", {"version": 6, "comment": "later"})
        assert status == 409 and "cannot be deferred" in err(body)["message"]  # complaints have no deferral
        wo = await act(handler, ref, "complete", 6, comment="refunded")

        # Unsatisfied: a repeat complaint, to the reviewers, with its own clock.
        wo = await act(agent, ref, "callback", 7, satisfaction="unsatisfied", comment="still charged")
        assert (wo["status"], wo["repeats"], wo["department"], wo["assignee"]) == ("submitted", 1, "audit", None)
        status, body = await agent.post(f"/api/workorders/{ref}/withdraw", {"version": 8, "comment": "x" * 4001})
        assert status == 400 and err(body)["field"] == "comment"
        wo = await act(agent, ref, "withdraw", 8, comment="the customer withdrew it")
        assert (wo["status"], wo["colour"]) == ("withdrawn", "black")
        status, body = await boss.post(f"/api/workorders/{ref}/reactivate", {"version": 9, "comment": "why"})
        assert status == 409  # a withdrawn one is not reactivated, only a closed one

        # Resolved on the call: closed at once; a supervisor may reactivate it with a reason.
        status, body = await agent.post("/api/workorders", {"channel": "walk_in", "category": "consultation",
                                                            "subcategory": "card", "request": "How to activate?"})
        ref2 = body["workorder"]["ref"]
        wo = await act(agent, ref2, "submit", 1, resolved=True)
        assert (wo["status"], wo["resolved"], wo["due_at"]) == ("closed", True, None)
        status, body = await agent.post(f"/api/workorders/{ref2}/reactivate", {"version": 2, "comment": "again"})
        assert status == 403
        status, body = await boss.post(f"/api/workorders/{ref2}/reactivate", {"version": 2})
        assert status == 400 and err(body)["field"] == "comment"
        wo = await act(boss, ref2, "reactivate", 2, comment="the card still does not work")
        assert wo["status"] == "submitted" and wo["closed_at"] is None
        status, tasks = await boss.get("/api/workorders/tasks")
        assert ref2 in [w["ref"] for w in tasks["workorders"] if w["why"] == "to_forward"]
        wo = await act(agent, ref2, "note", 3, comment="customer phoned again")
        assert wo["version"] == 4 and wo["status"] == "submitted"

        assert (await agent.post("/api/workorders/999999/accept", {"version": 1}))[0] == 404
        assert (await agent.post(f"/api/workorders/{ref2}/explode", {"version": 1}))[0] == 404


async def test_work_that_falls_due_turns_red_is_listed_and_pushed(db_dsn: str, tmp_path: Path) -> None:
    cfg = stack_config(db_dsn, tmp_path, **{
        "workorders.deadlines": ("complaint.forward=0.03min clock", "complaint.answer=3d"),
        "workorders.overdue_scan_seconds": 1.0})
    async with running(cfg) as stack:
        await stack.core.link_ready.wait()
        async with panels(stack, "1001", "1003", "1900") as p:
            agent, handler, boss = p["1001"], p["1003"], p["1900"]
            status, body = await agent.post("/api/workorders", {
                "channel": "email", "caller_number": "13900139000", "category": "complaint",
                "subcategory": "waiting", "request": "Nobody answers", "department": "cards"})
            assert status == 201 and body["workorder"]["customer_no"] == "C0002"  # found by number
            ref = body["workorder"]["ref"]
            wo = await act(agent, ref, "submit", 1, resolved=False)
            assert wo["colour"] in ("orange", "amber")
            for panel in (handler, boss):  # the handler of the department and the supervisor are told
                pushed = await panel.expect("workorder_task", lambda d: d["ref"] == ref and d["why"] == "overdue",
                                            timeout=10)
                assert pushed["colour"] == "red"
            status, body = await boss.get("/api/workorders/overdue")
            assert status == 200 and [(w["ref"], w["colour"]) for w in body["workorders"]] == [(ref, "red")]
            status, body = await handler.get("/api/workorders/overdue")
            assert [w["ref"] for w in body["workorders"]] == [ref]
            assert (await agent.get("/api/workorders/overdue", limit="0"))[0] == 400
            wo = await act(handler, ref, "accept", 2)
            assert wo["colour"] == "red"  # forward step: still late
            wo = await act(handler, ref, "assign", 3, assignee="1003")
            assert wo["colour"] == "orange"  # the department's 3 working days start now
