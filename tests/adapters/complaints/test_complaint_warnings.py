"""Complaint early warning on a real PostgreSQL: thresholds an admin sets, evaluated over the center's
local day, week and month, raised once per period, pushed to supervisors, acknowledged and audited."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from ctiserver.complaints.service import ComplaintWatch
from ctiserver.errors import Conflict, Forbidden, InvalidInput
from tests.adapters.complaints.conftest import sql, work_order

SH = ZoneInfo("Asia/Shanghai")
ADMIN = SimpleNamespace(id="9000", role="admin")
CHEN = SimpleNamespace(id="1900", role="supervisor")
AGENT = SimpleNamespace(id="1001", role="agent")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH)  # a Monday
CATEGORIES = {
    "complaint": ("service", "fees", "waiting"),
    "consultation": ("card",),
    "praise": (),
}


class Pushes:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, object]] = []

    def publish(self, type: str, data: dict, audience: object) -> None:
        self.sent.append((type, data, audience))

    def warnings(self) -> list[dict]:
        return [
            d["warning"]
            for t, d, _ in self.sent
            if t == "notice" and d.get("kind") == "complaint_warning"
        ]


def watch_for(store, hub: Pushes, now: dt.datetime = NOW) -> ComplaintWatch:
    return ComplaintWatch(
        store,
        hub,
        categories=CATEGORIES,
        queues=("support", "vip"),
        timezone="Asia/Shanghai",
        now=lambda: now,
    )


async def test_a_count_threshold_fires_once_in_its_day_and_is_acknowledged(
    store, db_dsn: str
) -> None:
    hub = Pushes()
    watch = watch_for(store, hub)
    t = await watch.create(
        ADMIN,
        {
            "name": "Fees on support",
            "measure": "count",
            "period": "day",
            "limit": 3,
            "subcategory": "fees",
            "queue": "support",
        },
    )
    await watch.idle()
    yesterday = NOW - dt.timedelta(days=1)
    for at, kw in [
        (NOW, {}),
        (NOW, {}),
        (yesterday, {}),
        (NOW, {"queue": "vip"}),
        (NOW, {"subcategory": "service"}),
        (NOW, {"status": "draft"}),
        (NOW, {"status": None}),
    ]:
        await work_order(
            db_dsn, at, category="complaint", **{"subcategory": "fees", **kw}
        )
    assert (
        await watch.evaluate() == []
    )  # two of today's fees complaints on support are written up
    await work_order(
        db_dsn,
        NOW - dt.timedelta(hours=9, minutes=59),
        category="complaint",
        subcategory="fees",
    )
    raised = await watch.evaluate()  # 00:01 local today: the third
    assert [
        (w["threshold_id"], w["complaints"], w["value"], w["limit"]) for w in raised
    ] == [(t["id"], 3, 3.0, 3.0)]
    assert dt.datetime.fromisoformat(raised[0]["period_start"]) == dt.datetime(
        2026, 11, 30, tzinfo=SH
    )
    await work_order(db_dsn, NOW, category="complaint", subcategory="fees")
    assert await watch.evaluate() == []  # once per period
    assert [w["id"] for w in hub.warnings()] == [raised[0]["id"]]
    assert hub.sent[-1][2].role_names == {"supervisor", "admin"}
    assert watch.snapshot(CHEN)["complaint_warnings"][0]["id"] == raised[0]["id"]
    assert watch.snapshot(AGENT) == {}

    with pytest.raises(Forbidden):
        await watch.acknowledge(AGENT, raised[0]["id"], None)
    done = await watch.acknowledge(CHEN, raised[0]["id"], "called the fees team")
    assert (done["acknowledged_by"], done["ack_comment"]) == (
        "1900",
        "called the fees team",
    )
    assert watch.snapshot(CHEN)["complaint_warnings"] == []
    with pytest.raises(Conflict):
        await watch.acknowledge(CHEN, raised[0]["id"], None)
    audit = await watch.audit(CHEN)
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("warning_acknowledged", "1900"),
        ("threshold_created", "9000"),
    ]
    # the next day is a new period: the threshold may fire again
    tomorrow = watch_for(store, hub, NOW + dt.timedelta(days=1))
    await work_order(
        db_dsn, NOW + dt.timedelta(days=1), category="complaint", subcategory="fees"
    )
    assert await tomorrow.evaluate() == []
    # a repeat complaint (reopened by an unsatisfied callback) counts twice: 1 + 2 reaches 3
    await work_order(
        db_dsn,
        NOW + dt.timedelta(days=1),
        category="complaint",
        subcategory="fees",
        repeats=1,
    )
    again = await tomorrow.evaluate()
    assert [w["complaints"] for w in again] == [3]


async def test_a_rate_threshold_waits_for_answered_calls(store, db_dsn: str) -> None:
    hub = Pushes()
    watch = watch_for(store, hub)
    await watch.create(
        ADMIN,
        {
            "name": "Complaint rate this week",
            "measure": "rate",
            "period": "week",
            "limit": 0.2,
            "min_answered": 4,
        },
    )
    await watch.idle()
    await work_order(
        db_dsn, NOW, category="complaint", answered=False, channel="letter"
    )
    assert await watch.evaluate() == []  # one complaint, no answered call: no rate
    for _ in range(3):
        await work_order(db_dsn, NOW, category="consultation")
    assert (
        await watch.evaluate() == []
    )  # 1 of 3 answered, but fewer than min_answered (4)
    # last Sunday 23:59 local belongs to last week: it changes nothing this week
    await work_order(
        db_dsn, dt.datetime(2026, 11, 29, 23, 59, tzinfo=SH), category="consultation"
    )
    assert await watch.evaluate() == []
    await work_order(
        db_dsn, dt.datetime(2026, 11, 30, 0, 0, tzinfo=SH), category="consultation"
    )
    raised = await watch.evaluate()  # 1 complaint / 4 answered = 0.25 >= 0.2
    assert [(w["complaints"], w["answered"], w["value"]) for w in raised] == [
        (1, 4, 0.25)
    ]


async def test_admins_alone_set_thresholds_and_a_change_carries_its_version(
    store,
) -> None:
    watch = watch_for(store, Pushes())
    body = {"name": "Monthly", "measure": "count", "period": "month", "limit": 50}
    for who in (AGENT, CHEN):
        with pytest.raises(Forbidden):
            await watch.create(who, body)
    t = await watch.create(ADMIN, body)
    with pytest.raises(InvalidInput) as refused:
        await watch.change(ADMIN, t["id"], {"version": t["version"], "limit": 0})
    assert refused.value.field == "limit"
    changed = await watch.change(
        ADMIN, t["id"], {"version": 1, "limit": 60, "enabled": False}
    )
    assert (changed["limit"], changed["enabled"], changed["version"]) == (
        60.0,
        False,
        2,
    )
    with pytest.raises(Conflict):
        await watch.change(ADMIN, t["id"], {"version": 1, "limit": 70})
    audit = await watch.audit(CHEN)
    assert audit[0]["action"] == "threshold_changed"
    assert audit[0]["data"]["before"] == {"limit": 50.0, "enabled": True}
    assert audit[0]["data"]["after"] == {"limit": 60.0, "enabled": False}


async def test_the_audit_cannot_be_rewritten(store, db_dsn: str) -> None:
    watch = watch_for(store, Pushes())
    await watch.create(
        ADMIN, {"name": "x", "measure": "count", "period": "day", "limit": 1}
    )
    with pytest.raises(Exception, match="append-only"):
        await sql(db_dsn, "DELETE FROM complaint_audit")


async def test_statistics_by_day_week_and_month(store, db_dsn: str) -> None:
    watch = watch_for(store, Pushes())
    await work_order(
        db_dsn,
        dt.datetime(2026, 11, 29, 23, 30, tzinfo=SH),
        category="complaint",
        subcategory="fees",
    )
    await work_order(
        db_dsn,
        dt.datetime(2026, 11, 30, 0, 30, tzinfo=SH),
        category="complaint",
        subcategory="service",
    )
    await work_order(
        db_dsn, dt.datetime(2026, 11, 30, 9, 0, tzinfo=SH), category="consultation"
    )
    await work_order(
        db_dsn,
        dt.datetime(2026, 12, 1, 9, 0, tzinfo=SH),
        category="complaint",
        queue="vip",
    )
    days = await watch.statistics(
        CHEN, "day", dt.date(2026, 11, 29), dt.date(2026, 12, 1), "complaint", None
    )
    assert [
        (r["period_start"], r["complaints"], r["answered"]) for r in days["rows"]
    ] == [("2026-11-29", 1, 1), ("2026-11-30", 1, 2), ("2026-12-01", 1, 1)]
    assert days["rows"][1]["rate"] == 0.5 and days["rows"][0]["by_subcategory"] == {
        "fees": 1
    }
    weeks = await watch.statistics(
        CHEN, "week", dt.date(2026, 11, 29), dt.date(2026, 12, 1), "complaint", None
    )
    assert [(r["period_start"], r["complaints"]) for r in weeks["rows"]] == [
        ("2026-11-23", 1),
        ("2026-11-30", 2),
    ]
    months = await watch.statistics(
        CHEN,
        "month",
        dt.date(2026, 11, 29),
        dt.date(2026, 12, 1),
        "complaint",
        "support",
    )
    assert [
        (r["period_start"], r["complaints"], r["answered"]) for r in months["rows"]
    ] == [("2026-11-01", 2, 3), ("2026-12-01", 0, 0)]
    assert months["rows"][1]["rate"] is None
    with pytest.raises(Forbidden):
        await watch.statistics(
            AGENT, "day", dt.date(2026, 11, 29), dt.date(2026, 12, 1), "complaint", None
        )


async def test_the_demo_watches_two_thresholds_until_an_admin_sets_some(store) -> None:
    watch = watch_for(store, Pushes())
    await watch.seed_demo()
    await watch.seed_demo()  # once
    assert [
        (t["measure"], t["period"], t["created_by"])
        for t in await watch.thresholds(CHEN)
    ] == [
        ("count", "day", "demo"),
        ("rate", "week", "demo"),
    ]
