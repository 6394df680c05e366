"""The reports' tables and the customer record on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from ctiserver.customers.records import CustomerRecords
from ctiserver.errors import Conflict, Forbidden, InvalidInput, NotFound
from ctiserver.reports.service import Reports
from tests.adapters.complaints.conftest import sql, work_order

SH = ZoneInfo("Asia/Shanghai")
CHEN = SimpleNamespace(id="1900", role="supervisor")
AGENT = SimpleNamespace(id="1001", role="agent")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH)


async def callback(dsn: str, linkedid: str, at: dt.datetime, satisfaction: str) -> None:
    await sql(
        dsn,
        "INSERT INTO work_order_history (op_id, linkedid, at, actor, role, action, from_status, "
        "to_status, version, data) VALUES ($1, $2, $3, '1001', 'agent', 'callback', 'completed', $4, 9, "
        "$5::jsonb)",
        uuid.uuid4(),
        linkedid,
        at,
        "submitted" if satisfaction == "unsatisfied" else "closed",
        f'{{"satisfaction": "{satisfaction}"}}',
    )


async def test_the_report_counts_what_happened_in_the_period(
    store, db_dsn: str
) -> None:
    reports = Reports(store, timezone="Asia/Shanghai", now=lambda: NOW)
    day = dt.datetime(2026, 11, 27, 11, 0, tzinfo=SH)
    early = await work_order(
        db_dsn,
        day,
        category="complaint",
        status="closed",
        closed_at=day,
        due_at=day + dt.timedelta(hours=1),
    )
    late = await work_order(
        db_dsn,
        day,
        category="complaint",
        status="closed",
        closed_at=day,
        due_at=day - dt.timedelta(hours=1),
    )
    await work_order(
        db_dsn, day, category="consultation", status="closed", closed_at=day
    )  # no deadline
    repeat = await work_order(
        db_dsn, day, category="complaint", status="submitted", repeats=1
    )
    await work_order(
        db_dsn,
        day,
        category="fault_report",
        status="assigned",
        due_at=NOW - dt.timedelta(hours=2),
        department="cards",
    )
    await work_order(
        db_dsn, day - dt.timedelta(days=10), category="praise", status="closed"
    )  # before the period
    await work_order(db_dsn, day, category=None, status=None)  # a call nobody wrote up
    await callback(db_dsn, early, day, "satisfied")
    await callback(db_dsn, late, day, "basically_satisfied")
    await callback(db_dsn, repeat, day, "unsatisfied")
    report = await reports.report(CHEN, dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    assert report["by_category_status"] == [
        {"category": "complaint", "status": "closed", "count": 2},
        {"category": "complaint", "status": "submitted", "count": 1},
        {"category": "consultation", "status": "closed", "count": 1},
        {"category": "fault_report", "status": "assigned", "count": 1},
    ]
    assert report["on_time"][0] == {
        "category": "complaint",
        "closed": 2,
        "with_deadline": 2,
        "on_time": 1,
    }
    assert report["on_time_rate"] == 0.5
    assert [o["ref"] for o in report["overdue"]] and report["overdue"][0][
        "late_seconds"
    ] == 7200
    assert report["overdue"][0]["department"] == "cards"
    assert {(s["satisfaction"], s["count"]) for s in report["satisfaction"]} == {
        ("satisfied", 1),
        ("basically_satisfied", 1),
        ("unsatisfied", 1),
    }
    assert report["satisfaction_rate"] == pytest.approx(2 / 3)
    assert [r["repeats"] for r in report["repeats"]] == [1]
    assert report["totals"]["work_orders"] == 5
    with pytest.raises(Forbidden):
        await reports.report(AGENT, dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    with pytest.raises(InvalidInput) as refused:
        await reports.report(CHEN, dt.date(2026, 11, 30), dt.date(2026, 11, 23))
    assert refused.value.field == "to"
    nothing = await reports.report(CHEN, dt.date(2025, 1, 1), dt.date(2025, 1, 2))
    assert nothing["on_time_rate"] is None and nothing["satisfaction_rate"] is None


async def test_a_customer_is_created_and_their_calls_are_paged(
    store, db_dsn: str
) -> None:
    refreshed: list[str] = []
    records = CustomerRecords(
        store, refresh_pop=lambda linkedid: refreshed.append(linkedid) or True
    )
    for i in range(25):
        await work_order(
            db_dsn,
            NOW - dt.timedelta(minutes=i),
            caller_number="+86 135 1234 5678",
            caller_key="13512345678",
            status="submitted" if i % 5 == 0 else None,
        )
    made = await records.create(
        AGENT,
        {
            "name": "<img src=x onerror=alert(1)>王",
            "class": "vip",
            "phones": ["+86 135-1234-5678", "010 6234 9999"],
            "note": "walk-in",
            "linkedid": "1700000000.1",
        },
    )
    assert made["customer_no"].startswith("C") and made["phones"] == [
        "01062349999",
        "13512345678",
    ]
    assert (
        made["name"] == "<img src=x onerror=alert(1)>王"
        and made["pop_refreshed"] is True
    )
    assert refreshed == ["1700000000.1"]
    assert (await store.find_customer_by_phone("13512345678")).no == made["customer_no"]
    page1 = await records.history(AGENT, made["customer_no"].lower(), "all", 1, 10)
    assert (page1["total"], page1["pages"], len(page1["items"])) == (25, 3, 10)
    page3 = await records.history(AGENT, made["customer_no"], "all", 3, 10)
    assert (
        len(page3["items"]) == 5
        and page3["items"][0]["created_at"] < page1["items"][-1]["created_at"]
    )
    orders = await records.history(AGENT, made["customer_no"], "workorders", 1, 10)
    assert orders["total"] == 5
    with pytest.raises(Conflict) as taken:
        await records.create(
            AGENT, {"name": "Other", "phones": ["13900000001", "13512345678"]}
        )
    assert (
        taken.value.field == "phones[1]" and made["customer_no"] in taken.value.message
    )
    for body, field in [
        ({"name": "", "phones": ["13900000001"]}, "name"),
        ({"name": "x", "phones": []}, "phones"),
        ({"name": "x", "phones": ["12"]}, "phones[0]"),
        ({"name": "x", "phones": ["13900000001", "139-0000-0001"]}, "phones[1]"),
        ({"name": "x", "phones": ["abc"]}, "phones[0]"),
        ({"name": "x", "class": "gold", "phones": ["13900000001"]}, "class"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await records.create(AGENT, body)
        assert refused.value.field == field, body
    with pytest.raises(NotFound):
        await records.get(AGENT, "C9999")
    assert (await records.get(AGENT, "C0001"))["name"] == "张伟"
