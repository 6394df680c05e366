"""Work orders over HTTP: what each person may do on each one (allowed_actions), their departments,
deferrals, action answers with their history, who hears of a draft, who may read what, search
with keyset pages and the CSV export, the "due soon" push, and the wrap-up gate.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pbxsim.scripts import CallerScript
from tests.conftest import running, stack_config
from tests.support.calls import answered_call, is_state, panels, ready, sim_event


def err(body: dict) -> dict:
    assert set(body) == {"error"}, body
    return body["error"]


async def act(panel: Any, ref: str, action: str, version: int, **body: Any) -> dict:
    status, answer = await panel.post(f"/api/workorders/{ref}/{action}", {"version": version, **body})
    assert status == 200, (action, answer)
    return answer["workorder"]


async def letter(panel: Any, **fields: Any) -> dict:
    status, body = await panel.post("/api/workorders", {"channel": "letter", **fields})
    assert status == 201, body
    return body["workorder"]


async def csv_of(panel: Any, **params: Any) -> tuple[int, str, list[list[str]]]:
    async with panel.http.get(panel.base + "/api/workorders/export.csv", params=params) as r:
        text = await r.text(encoding="utf-8")
        return r.status, r.headers.get("Content-Type", ""), list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


async def test_each_answer_says_what_the_person_may_do_and_who_did_what(stack: Any) -> None:
    async with panels(stack, "1001", "1003", "1900", "1002") as p:
        agent, handler, boss, other = p["1001"], p["1003"], p["1900"], p["1002"]
        assert await handler.get("/api/workorders/my_departments") == (200, {"my_departments": ["audit", "cards"]})
        assert await agent.get("/api/workorders/my_departments") == (200, {"my_departments": []})
        status, form = await agent.get("/api/workorders/form")
        assert form["deferrable"] == {"fault_report": 30, "business_request": 30}

        wo = await letter(agent, category="fault_report", subcategory="atm", request="ATM kept my card")
        ref = wo["ref"]
        assert wo["allowed_actions"] == ["save", "submit", "note"] and [h["action"] for h in wo["history"]] == [
            "create"]
        # A draft saved is pushed to its writer only, never to every supervisor on each keystroke.
        wo = await act(agent, ref, "draft", 1, summary="card kept")
        await agent.expect("workorder_task", lambda d: d["ref"] == ref and d["why"] == "save")
        wo = await act(agent, ref, "submit", 2, resolved=False, department="cards")
        await boss.expect("workorder_task", lambda d: d["ref"] == ref and d["why"] == "submit")
        assert [m["why"] for m in boss.of_type("workorder_task") if m["ref"] == ref] == ["submit"]
        # The answer of an action is the new state with its whole history, names included.
        assert wo["status"] == "submitted" and [h["action"] for h in wo["history"]] == ["create", "save", "submit"]
        names = {a["id"]: a["name"] for a in (await boss.get("/api/agents"))[1]["agents"]}
        assert [h["actor_name"] for h in wo["history"]] == [names["1001"]] * 3
        assert wo["allowed_actions"] == ["withdraw", "note"]  # the agent's part now

        status, body = await handler.get(f"/api/workorders/{ref}")
        assert body["workorder"]["allowed_actions"] == ["accept", "note"]
        status, body = await boss.get(f"/api/workorders/{ref}")
        assert body["workorder"]["allowed_actions"] == ["accept", "withdraw", "note"]
        wo = await act(handler, ref, "accept", 3)
        wo = await act(handler, ref, "start", 4)
        assert "defer" in wo["allowed_actions"]
        for days, field in ((31, "days"), (0, "days"), ("5", "days")):
            status, body = await handler.post(f"/api/workorders/{ref}/defer", {"version": 5, "comment": "parts",
                                                                               "days": days})
            assert status == 400 and err(body)["field"] == field, body
        wo = await act(handler, ref, "defer", 5, comment="waiting for the ATM vendor", days=2)
        assert "defer" not in wo["allowed_actions"] and wo["history"][-1]["data"]["days"] == 2
        assert wo["history"][-1]["actor_name"] == names["1003"]

        # A complaint has no deferral: the button is not offered.
        wo2 = await letter(agent, category="complaint", subcategory="fees", request="charged twice")
        wo2 = await act(agent, wo2["ref"], "submit", 1, resolved=False, department="cards")
        wo2 = await act(handler, wo2["ref"], "accept", 2)
        wo2 = await act(handler, wo2["ref"], "start", 3)
        assert "defer" not in wo2["allowed_actions"] and "complete" in wo2["allowed_actions"]

        # The agent's list filtered by status.
        status, body = await agent.get("/api/workorders", status="in_progress")
        assert status == 200 and {w["ref"] for w in body["workorders"]} == {ref, wo2["ref"]}
        assert (await agent.get("/api/workorders", status="draft,closed"))[1]["workorders"] == []
        status, body = await agent.get("/api/workorders", status="in_progress,lost")
        assert status == 400 and err(body)["field"] == "status"

        # Someone with no part in a work order is not told it exists: the same 404 as a made-up one.
        for path in (f"/api/workorders/{ref}", f"/api/workorders/{wo['id']}", f"/api/workorders/{ref}/history"):
            status, body = await other.get(path)
            assert status == 404 and err(body)["code"] == "not_found", (path, body)
        assert (await other.get("/api/workorders/WO-20990101-AAAAAAAA"))[1] == {"error": {
            "code": "not_found", "message": "no work order 'WO-20990101-AAAAAAAA'", "field": "id"}}
        status, body = await other.post(f"/api/workorders/{ref}/note", {"version": 6, "comment": "hi"})
        assert status == 404


async def test_a_call_nobody_answered_is_not_every_agents_to_read(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", keys="1", keys_at=0.2,
                                                hangup_after=1.0))
        await sim_event(stack.sim, lambda: False, lambda name, fields: name == "Hangup")
        await stack.core.settled()
        await stack.store.flush()
        status, body = await boss.get("/api/workorders/search", caller="13800138000")
        assert status == 200 and [w["disposition"] for w in body["workorders"]] == ["no_agent"], body
        ref = body["workorders"][0]["ref"]
        assert (await boss.get(f"/api/workorders/{ref}"))[0] == 200
        assert (await agent.get(f"/api/workorders/{ref}"))[0] == 404  # it was anyone's to read before


async def test_search_by_text_and_filters_in_keyset_pages_and_the_csv_export(stack: Any) -> None:
    async with panels(stack, "1001", "1002", "1003", "1900") as p:
        agent, other, handler, boss = p["1001"], p["1002"], p["1003"], p["1900"]
        a = await letter(agent, customer_no="C0002", category="complaint", subcategory="fees",
                         request="客户反映重复收费两次", notes="=HYPERLINK(\"http://x\")")
        b = await letter(agent, caller_number="13700137000", category="consultation", subcategory="card",
                         request="How do I activate a card?", answer="Call the card centre")
        c = await letter(other, category="suggestion", request="收费标准请公开")
        await act(agent, a["ref"], "submit", 1, resolved=False, department="cards")

        status, body = await agent.get("/api/workorders/search", q="收费")
        assert status == 200 and [w["ref"] for w in body["workorders"]] == [a["ref"]]  # 1002's is not 1001's
        status, body = await boss.get("/api/workorders/search", q="收费")
        assert [w["ref"] for w in body["workorders"]] == [c["ref"], a["ref"]]  # newest first
        assert body["workorders"][0]["allowed_actions"] == ["save", "submit", "note"]
        for params, refs in [({"q": "CARD centre"}, [b["ref"]]), ({"customer": "c0002"}, [a["ref"]]),
                             ({"caller": "+86 137-0013-7000"}, [b["ref"]]), ({"category": "suggestion"}, [c["ref"]]),
                             ({"status": "submitted"}, [a["ref"]]), ({"status": "draft,closed"}, [c["ref"], b["ref"]]),
                             ({"department": "cards", "status": "submitted,accepted"}, [a["ref"]]),
                             ({"q": "收费", "status": "draft"}, [c["ref"]]), ({"q": "没有这个"}, [])]:
            status, body = await boss.get("/api/workorders/search", **params)
            assert status == 200 and [w["ref"] for w in body["workorders"]] == refs, (params, body)
        status, body = await handler.get("/api/workorders/search")  # a handler: the department's
        assert [w["ref"] for w in body["workorders"]] == [a["ref"]]

        pages, cursor = [], None
        while True:
            params = {"limit": "1", **({"after": cursor} if cursor else {})}
            status, body = await boss.get("/api/workorders/search", **params)
            pages += [w["ref"] for w in body["workorders"]]
            cursor = body["next"]
            if cursor is None:
                break
        status, body = await boss.get("/api/workorders/search", limit="200")
        assert pages == [w["ref"] for w in body["workorders"]] and len(pages) == len(set(pages)) >= 3

        for params, field in [({"q": "x"}, "q"), ({"status": "lost"}, "status"), ({"category": "gossip"}, "category"),
                              ({"limit": "0"}, "limit"), ({"after": "yesterday"}, "after"), ({"from": "monday"}, "from"),
                              ({"caller": "abc"}, "caller"), ({"overdue": "maybe"}, "overdue"), ({"sort": "x"}, "sort")]:
            status, body = await boss.get("/api/workorders/search", **params)
            assert status == 400 and err(body)["field"] == field, (params, body)

        status, ctype, rows = await csv_of(boss, q="收费")
        assert status == 200 and ctype.startswith("text/csv")
        header = rows[0]
        assert header[:3] == ["ref", "status", "channel"] and len(rows) == 3
        one = dict(zip(header, rows[2]))
        assert one["ref"] == a["ref"] and one["request"] == "客户反映重复收费两次"
        assert one["notes"] == "'=HYPERLINK(\"http://x\")"  # a formula is shown as text in a spreadsheet
        status, _, rows = await csv_of(agent, category="suggestion")
        assert status == 200 and rows == [header]  # an agent exports only what is theirs
        status, _, _ = await csv_of(boss, status="lost")
        assert status == 400


async def test_work_about_to_fall_due_is_pushed_amber_to_handler_and_supervisor(db_dsn: str, tmp_path: Path) -> None:
    cfg = stack_config(db_dsn, tmp_path, **{
        "workorders.deadlines": ("complaint.forward=0.2min clock", "complaint.answer=3d"),
        "workorders.amber_fraction": 0.9, "workorders.overdue_scan_seconds": 1.0})
    async with running(cfg) as stack:
        await stack.core.link_ready.wait()
        async with panels(stack, "1001", "1003", "1900", "1002") as p:
            agent, handler, boss, other = p["1001"], p["1003"], p["1900"], p["1002"]
            wo = await letter(agent, category="complaint", subcategory="fees", request="late", department="cards")
            await act(agent, wo["ref"], "submit", 1, resolved=False)
            for panel in (handler, boss):
                pushed = await panel.expect("workorder_task", lambda d: d["ref"] == wo["ref"] and d["why"] == "due_soon")
                assert pushed["colour"] == "amber"
            assert not [m for m in other.of_type("workorder_task") if m["ref"] == wo["ref"]]


async def gate_stack(db_dsn: str, tmp_path: Path, wrapup: float) -> Any:
    return running(stack_config(db_dsn, tmp_path, **{"callcenter.wrapup_seconds": wrapup,
                                                     "workorders.wrapup_required": ("category", "request")}))


async def test_the_agent_cannot_end_wrap_up_before_the_required_fields_are_in(db_dsn: str, tmp_path: Path) -> None:
    async with await gate_stack(db_dsn, tmp_path, 120.0) as stack:
        await stack.core.link_ready.wait()
        async with panels(stack, "1001", "1900") as p:
            agent, boss = p["1001"], p["1900"]
            await ready(agent, "1001")
            _, linkedid = await answered_call(stack, agent, hangup_after_answer=0.5)
            ref = (await agent.expect("pop_update", lambda d: d.get("linkedid") == linkedid))["workorder_ref"]
            await agent.expect("agent_state", is_state("1001", "wrap_up"))
            for state in ("ready", "not_ready", "logged_out"):
                status, body = await agent.post("/api/agent/state", {"state": state, "reason": "break"}
                                                if state == "not_ready" else {"state": state})
                assert status == 409 and err(body)["code"] == "wrapup_incomplete", body
                assert err(body)["field"] == "category" and "category, request missing" in err(body)["message"]
                assert ref in err(body)["message"]
            await act(agent, ref, "draft", 0, category="complaint")
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status == 409 and "subcategory, request missing" in err(body)["message"]
            await act(agent, ref, "draft", 1, subcategory="fees", request="Charged twice")
            mark = len(agent.received)
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status == 202, body
            await agent.expect("agent_state", is_state("1001", "ready"), after=mark)

            # A supervisor may force an agent out of wrap-up whatever the form holds.
            mark = len(agent.received)
            _, linkedid = await answered_call(stack, agent, hangup_after_answer=0.5)
            await agent.expect("agent_state", is_state("1001", "wrap_up"), after=mark)
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status == 409 and err(body)["code"] == "wrapup_incomplete"
            mark = len(agent.received)
            status, body = await boss.post("/api/agent/state", {"state": "ready", "agent": "1001"})
            assert status == 202, body
            await agent.expect("agent_state", is_state("1001", "ready"), after=mark)


async def test_wrap_up_time_running_out_flags_the_work_order(db_dsn: str, tmp_path: Path) -> None:
    async with await gate_stack(db_dsn, tmp_path, 1.0) as stack:
        await stack.core.link_ready.wait()
        async with panels(stack, "1001", "1900") as p:
            agent, boss = p["1001"], p["1900"]
            await ready(agent, "1001")
            _, linkedid = await answered_call(stack, agent, hangup_after_answer=2.0)
            ref = (await agent.expect("pop_update", lambda d: d.get("linkedid") == linkedid))["workorder_ref"]
            await act(agent, ref, "draft", 0, category="suggestion")  # during the call
            await agent.expect("agent_state", is_state("1001", "wrap_up"))
            mark = len(agent.received)
            for panel in (agent, boss):  # the queue has its agent back; the agent and supervisors are told
                pushed = await panel.expect("workorder_task", lambda d: d["ref"] == ref
                                            and d["why"] == "wrapup_incomplete")
                assert pushed["missing"] == ["request"] and pushed["agent"] == "1001"
            await agent.expect("agent_state", is_state("1001", "ready"), after=mark)
            await stack.store.flush()
            _, body = await agent.get(f"/api/workorders/{ref}/history")
            flag = body["history"][-1]
            assert (flag["action"], flag["actor"], flag["data"]["missing"], flag["actor_name"]) == (
                "wrapup_incomplete", "system", ["request"], "system")
            wo = await act(agent, ref, "draft", body["version"], request="written later")  # still the agent's draft
            assert wo["request"] == "written later"
