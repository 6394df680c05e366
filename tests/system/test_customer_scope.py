"""Customer records scoped by role, on the whole server: an agent reads the customer of the call
they have (rung, on it, wrapping it up) and no other, by customer number or by phone number;
a handler reads the customers of the work orders they handle; supervisors read every one."""

from __future__ import annotations

from typing import Any

from tests.support.calls import answered_call, is_state, panels, ready
from tests.support.document import assert_matches_document

DENIED = "not_your_customer"


def code(body: dict) -> str:
    return (body.get("error") or {}).get("code", "")


async def test_an_agent_reads_the_caller_of_their_call_and_no_one_else(
    stack: Any,
) -> None:
    async with panels(stack, "1001", "1002", "1900") as p:
        agent, other, boss = p["1001"], p["1002"], p["1900"]
        # Nobody's call yet: an agent reads no customer; the supervisor reads any.
        status, body = await agent.get("/api/customers/C0001")
        assert status == 403 and code(body) == DENIED, body
        status, body = await boss.get("/api/customers/C0002")
        assert status == 200 and body["name"] == "李强", body
        status, body = await boss.get("/api/customers/C9999")
        assert status == 404, body

        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, number="13800138000")
        await agent.expect(
            "pop_update",
            lambda d: (
                d.get("linkedid") == linkedid
                and (d.get("customer") or {}).get("customer_no") == "C0001"
            ),
        )
        status, body = await agent.get("/api/customers/C0001")
        assert status == 200 and body["name"] == "张伟", body
        await assert_matches_document(agent, "GET", "/api/customers/C0001", status, body)
        status, body = await agent.get("/api/customers/C0001/history", kind="calls")
        assert status == 200 and body["items"][0]["linkedid"] == linkedid, body
        await assert_matches_document(agent, "GET", "/api/customers/C0001/history", status, body)
        status, body = await agent.get("/api/customers", phone="138 0013 8000")
        assert status == 200 and body["customer_no"] == "C0001", body
        await assert_matches_document(agent, "GET", "/api/customers", status, body)

        # Someone else's record, by number or by phone, and one that does not exist: the same 403.
        for path, params in [
            ("/api/customers/C0002", {}),
            ("/api/customers/C0002/history", {}),
            ("/api/customers/C9999", {}),
            ("/api/customers", {"phone": "13900139000"}),
            ("/api/customers", {"phone": "13500000000"}),
        ]:
            status, body = await agent.get(path, **params)
            assert status == 403 and code(body) == DENIED, (path, params, body)
        # A colleague not on the call does not read the caller.
        status, body = await other.get("/api/customers/C0001")
        assert status == 403 and code(body) == DENIED, body
        status, body = await agent.get("/api/customers", phone="not a number")
        assert status == 400 and body["error"]["field"] == "phone", body

        # Hung up: the agent wraps the call up and still reads its customer...
        await call.hangup()
        await agent.expect("agent_state", is_state("1001", "wrap_up"))
        status, body = await agent.get("/api/customers/C0001")
        assert status == 200, body
        # ...until their wrap-up ends.
        status, body = await agent.post("/api/agent/state", {"state": "ready"})
        assert status < 300, body
        await agent.expect("agent_state", is_state("1001", "ready"))
        status, body = await agent.get("/api/customers/C0001")
        assert status == 403 and code(body) == DENIED, body


async def test_a_handler_reads_the_customer_of_a_work_order_of_their_department(
    stack: Any,
) -> None:
    async with panels(stack, "1001", "1002", "1003") as p:
        agent, deposits, cards = p["1001"], p["1002"], p["1003"]
        status, body = await agent.post(
            "/api/workorders",
            {
                "channel": "letter",
                "customer_no": "C0003",
                "category": "consultation",
                "subcategory": "card",
                "request": "A letter",
            },
        )
        assert status == 201, body
        wo = body["workorder"]
        for who in (deposits, cards):
            status, body = await who.get("/api/customers/C0003")
            assert status == 403 and code(body) == DENIED, body
        status, body = await agent.post(
            f"/api/workorders/{wo['ref']}/submit",
            {"version": wo["version"], "resolved": False, "department": "deposits"},
        )
        assert status == 200, body
        status, body = await deposits.get("/api/customers/C0003")
        assert status == 200 and body["name"] == "陈静", body
        status, body = await deposits.get(
            "/api/customers/C0003/history", kind="workorders"
        )
        assert status == 200 and [i["ref"] for i in body["items"]] == [wo["ref"]], body
        # 1003 handles cards and audit, not deposits: still not theirs.
        status, body = await cards.get("/api/customers/C0003")
        assert status == 403 and code(body) == DENIED, body


async def test_the_record_page_says_why_an_agent_may_not_see_a_customer(
    stack: Any, browser: Any
) -> None:
    from playwright.async_api import expect

    from tests.support.browser import WAIT_MS
    from tests.system.test_panel_complaints_reports import signed_in

    panel = await signed_in(browser, stack.url, "1001", width=500)
    record = await panel.context.new_page()
    record.on("pageerror", lambda exc: panel.js_errors.append(str(exc)))  # type: ignore[attr-defined]
    await record.goto(f"{stack.url}customer?no=C0002")
    await expect(record.locator("#page-error")).to_contain_text(
        "not on a call of yours", timeout=WAIT_MS
    )
    await expect(record.locator("#customer")).to_be_hidden()

    async with panels(stack, "1001") as p:
        await ready(p["1001"], "1001")
        await answered_call(
            stack, p["1001"], number="13900139000", hangup_after_answer=60
        )
        await record.reload()  # the caller of the agent's call: shown
        await expect(record.locator("#c-name")).to_have_text("李强", timeout=WAIT_MS)
        await expect(record.locator("#page-error")).to_be_hidden()
    assert panel.js_errors == []  # type: ignore[attr-defined]
