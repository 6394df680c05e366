"""Complaint early warning, reports and customer records over HTTP and the push socket, on the whole
server: who may do what (403 for agents on supervisor and admin routes), refusals naming the field,
a warning pushed to supervisors when a complaint submitted through the work-order API crosses a
threshold, CSV exports, and a customer created from a live call's pop that the pop then shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.accounts import ADMIN, add_admin
from tests.support.calls import answered_call, panels, ready


def err(body: dict) -> dict:
    return body.get("error") or {}


@pytest.fixture
async def admin_stack(stack: Any) -> AsyncIterator[Any]:
    """The stack with an admin account (the demo has agents and a supervisor only)."""
    await add_admin(stack)
    yield stack


async def csv_of(client: Any, path: str) -> tuple[int, str, str]:
    async with client.http.get(client.base + path) as r:
        return (
            r.status,
            r.headers.get("Content-Type", ""),
            (await r.read()).decode("utf-8"),
        )


async def test_roles_and_refusals(admin_stack: Any) -> None:
    async with panels(admin_stack, "1001", "1900", ADMIN) as p:
        agent, boss, admin = p["1001"], p["1900"], p[ADMIN]
        good = {
            "name": "Complaints today",
            "measure": "count",
            "period": "day",
            "limit": 5,
        }
        for path in (
            "/api/complaints/thresholds",
            "/api/complaints/warnings",
            "/api/complaints/audit",
            "/api/complaints/stats",
            "/api/reports",
        ):
            status, body = await agent.get(path)
            assert status == 403 and err(body)["code"] == "forbidden", (path, body)
        status, _, _ = await csv_of(agent, "/api/reports/overdue.csv")
        assert status == 403
        for who in (agent, boss):
            status, body = await who.post("/api/complaints/thresholds", good)
            assert status == 403 and "admins" in err(body)["message"], body
        for payload, field in [
            ({**good, "period": "fortnight"}, "period"),
            ({**good, "limit": -1}, "limit"),
            ({**good, "queue": "nope"}, "queue"),
            ({**good, "extra": 1}, "extra"),
            ({**good, "limit": [5]}, "limit"),
            ({**good, "measure": "rate", "limit": 3}, "limit"),
            ({k: v for k, v in good.items() if k != "name"}, "name"),
        ]:
            status, body = await admin.post("/api/complaints/thresholds", payload)
            assert status == 400 and err(body)["field"] == field, (payload, body)
        status, body = await admin.post("/api/complaints/thresholds", good)
        assert (
            status == 201 and body["limit"] == 5.0 and body["category"] == "complaint"
        ), body
        status, changed = await admin.post(
            f"/api/complaints/thresholds/{body['id']}", {"version": 1, "limit": 7}
        )
        assert status == 200 and changed["version"] == 2, changed
        status, stale = await admin.post(
            f"/api/complaints/thresholds/{body['id']}", {"version": 1, "limit": 8}
        )
        assert status == 409 and err(stale)["code"] == "stale_version"
        status, listed = await boss.get("/api/complaints/thresholds")
        assert status == 200 and [t["limit"] for t in listed["thresholds"]] == [7.0]
        status, body = await boss.post("/api/complaints/warnings/999/acknowledge", {})
        assert status == 404 and err(body)["field"] == "id"
        status, body = await boss.get("/api/complaints/stats", period="year")
        assert status == 400 and err(body)["field"] == "period"
        status, body = await boss.get("/api/reports", **{"from": "2026-02-30"})
        assert status == 400 and err(body)["field"] == "from"
        status, body = await boss.get("/api/customers/C0001/history", size="1000")
        assert status == 400 and err(body)["field"] == "size"
        status, body = await agent.post(
            "/api/customers", {"name": "x", "phones": "13512345678"}
        )
        assert status == 400 and err(body)["field"] == "phones"


async def test_a_submitted_complaint_crossing_a_threshold_warns_the_supervisors(
    admin_stack: Any,
) -> None:
    async with panels(admin_stack, "1001", "1900", ADMIN) as p:
        agent, boss, admin = p["1001"], p["1900"], p[ADMIN]
        status, t = await admin.post(
            "/api/complaints/thresholds",
            {
                "name": "Any complaint today",
                "measure": "count",
                "period": "day",
                "limit": 1,
            },
        )
        assert status == 201, t
        status, body = await agent.post(
            "/api/workorders",
            {
                "channel": "letter",
                "customer_no": "C0002",
                "category": "complaint",
                "subcategory": "fees",
                "request": "charged twice",
            },
        )
        assert status == 201, body
        ref = body["workorder"]["ref"]
        assert not [
            n for n in boss.of_type("notice") if n.get("kind") == "complaint_warning"
        ]  # a draft counts not
        status, body = await agent.post(
            f"/api/workorders/{ref}/submit",
            {"version": 1, "resolved": False, "department": "cards"},
        )
        assert status == 200, body
        notice = await boss.expect(
            "notice", lambda d: d.get("kind") == "complaint_warning"
        )
        warning = notice["warning"]
        assert (warning["threshold_id"], warning["complaints"], warning["name"]) == (
            t["id"],
            1,
            "Any complaint today",
        )
        assert not [
            n for n in agent.of_type("notice") if n.get("kind") == "complaint_warning"
        ]  # agents never
        # a supervisor connecting now finds it in the snapshot, until someone acknowledges it
        async with panels(admin_stack, "1900") as late:
            snap = late["1900"].of_type("snapshot")[0]
            assert [w["id"] for w in snap["complaint_warnings"]] == [warning["id"]]
        status, body = await agent.post(
            f"/api/complaints/warnings/{warning['id']}/acknowledge", {}
        )
        assert status == 403
        status, body = await boss.post(
            f"/api/complaints/warnings/{warning['id']}/acknowledge",
            {"comment": "fees team told"},
        )
        assert status == 200 and body["acknowledged_by"] == "1900", body
        await admin.expect(
            "notice", lambda d: d.get("kind") == "complaint_warning_acknowledged"
        )
        status, body = await boss.post(
            f"/api/complaints/warnings/{warning['id']}/acknowledge", {}
        )
        assert status == 409 and err(body)["code"] == "already_acknowledged"
        status, audit = await boss.get("/api/complaints/audit")
        assert [a["action"] for a in audit["audit"]][:2] == [
            "warning_acknowledged",
            "threshold_created",
        ]
        status, kind, text = await csv_of(boss, "/api/complaints/stats.csv?period=week")
        assert status == 200 and kind.startswith("text/csv"), text
        lines = text.lstrip("\ufeff").splitlines()
        assert lines[0].startswith(
            "period_start,complaints,repeats,answered,rate,service,fees"
        )
        assert sum(int(line.split(",")[1]) for line in lines[1:]) == 1
        status, report = await boss.get("/api/reports")
        assert (
            status == 200
            and {"category": "complaint", "status": "submitted", "count": 1}
            in report["by_category_status"]
        )
        status, kind, text = await csv_of(boss, "/api/reports/by_category_status.csv")
        assert status == 200 and "complaint,submitted,1" in text


async def test_a_customer_created_from_the_pop_is_shown_by_the_pop(stack: Any) -> None:
    async with panels(stack, "1001") as p:
        agent = p["1001"]
        await ready(agent, "1001")
        _, linkedid = await answered_call(stack, agent, number="13512345678")
        pop = await agent.expect("pop_update", lambda d: d.get("lookup") == "done")
        assert pop["customer"] is None
        status, made = await agent.post(
            "/api/customers",
            {
                "name": "王先生",
                "class": "ordinary",
                "phones": ["13512345678"],
                "linkedid": linkedid,
            },
        )
        assert status == 201 and made["pop_refreshed"] is True, made
        shown = await agent.expect(
            "pop_update",
            lambda d: (
                (d.get("customer") or {}).get("customer_no") == made["customer_no"]
            ),
        )
        assert shown["customer"]["name"] == "王先生"
        status, body = await agent.get(
            f"/api/customers/{made['customer_no']}/history", kind="calls"
        )
        assert (
            status == 200
            and body["total"] >= 1
            and body["items"][0]["linkedid"] == linkedid
        ), body
        status, body = await agent.post(
            "/api/customers", {"name": "again", "phones": ["135 1234 5678"]}
        )
        assert status == 409 and err(body)["field"] == "phones[0]"
