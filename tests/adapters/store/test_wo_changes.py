"""People's changes to work orders in PostgreSQL: applied once, only over the version they saw,
history that cannot be rewritten, the task-bar and overdue queries, and nothing lost while
PostgreSQL is away (the journal) or across a restart.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest

from ctiserver import config as config_mod
from ctiserver.calls import model as m
from ctiserver.errors import Conflict
from ctiserver.store import Store, WorkOrderOp
from ctiserver.store.ops import WorkOrderChangeOp, op_from_json, op_to_json
from ctiserver.workorders.actions import WorkOrderActions
from ctiserver.workorders.projection import ops_for, ref_for
from ctiserver.workorders.settings import build
from tests.adapters.store.conftest import FAST, TcpProxy, via

T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)  # Monday 09:00 in Shanghai


def call_created(linkedid: str) -> WorkOrderOp:
    return WorkOrderOp.new(linkedid, "created", {"ref": f"WO-20261123-{linkedid[-4:].upper():0>8}",
                                                 "caller_number": "13800138000", "call_state": "open",
                                                 "agent_id": "1001"}, at=T0.timestamp())


def change(linkedid: str, version: int, action: str = "save", **fields) -> WorkOrderChangeOp:
    return WorkOrderChangeOp.new(linkedid, "1001", "agent", action, version, fields, "draft", "draft",
                                 at=T0.timestamp() + version)


async def sql(dsn: str, query: str, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def test_a_change_applies_once_and_only_over_the_version_it_was_made_on(store: Store, db_dsn: str,
                                                                              tmp_path: Path) -> None:
    store.submit(call_created("c.0001"))
    first = change("c.0001", 1, category="complaint", request="card swallowed")
    store.submit(first)
    store.submit(first)  # a replay: no-op
    stale = change("c.0001", 1, category="praise")  # made on version 0 as well: loses
    store.submit(stale)
    store.submit(change("c.0001", 2, notes="called twice"))
    await store.flush(timeout=10)
    wo = await store.work_order_row("c.0001")
    assert (wo.version, wo.category, wo.request, wo.notes, wo.status) == (2, "complaint", "card swallowed",
                                                                          "called twice", None)
    history = await store.work_order_history("c.0001")
    assert [(h.action, h.version) for h in history] == [("save", 1), ("save", 2)]
    rejected = (tmp_path / "journal.jsonl.rejected").read_text(encoding="utf-8")
    assert stale.op_id in rejected and "StaleChange" in rejected and "not at version 0" in rejected


async def test_a_work_order_without_a_call_is_created_once(store: Store) -> None:
    op = WorkOrderChangeOp.new("manual-1", "1001", "agent", "create", 1,
                               {"ref": "WO-20261123-MANUAL01", "channel": "letter", "status": "draft",
                                "created_at": T0.isoformat(), "created_by": "1001",
                                "caller_number": "+86 138 0013 8000"},
                               None, "draft", create=True)
    store.submit(op)
    store.submit(WorkOrderChangeOp.new("manual-1", "1002", "agent", "create", 1, {"channel": "email"},
                                       None, "draft", create=True))  # same linkedid again: refused
    await store.flush(timeout=10)
    wo = await store.work_order_row("WO-20261123-MANUAL01")
    assert (wo.channel, wo.created_by, wo.version, wo.created_at) == ("letter", "1001", 1, T0)
    assert [w.ref for w in await store.recent_work_orders(phone="13800138000")] == ["WO-20261123-MANUAL01"]
    assert op_from_json(json.loads(json.dumps(op_to_json(op)))) == op  # journal round trip


async def test_history_cannot_be_rewritten_and_its_work_order_not_deleted(store: Store, db_dsn: str) -> None:
    store.submit(call_created("c.0002"))
    store.submit(change("c.0002", 1, notes="x"))
    await store.flush(timeout=10)
    for statement in ("UPDATE work_order_history SET comment = 'forged'", "DELETE FROM work_order_history",
                      "DELETE FROM work_orders WHERE linkedid = 'c.0002'"):
        with pytest.raises(asyncpg.PostgresError):
            await sql(db_dsn, statement)
    assert len(await store.work_order_history("c.0002")) == 1


@pytest.mark.parametrize("fields", [{"status": "lost"}, {"status": None}, {"repeats": -1}, {"resolved": "yes"},
                                    {"due_at": "tomorrow"}, {"due_at": "2026-11-23T09:00:00"}, {"ivr_path": []},
                                    {"notes": "a\x00b"}])
def test_a_malformed_change_fails_when_it_is_built(fields: dict) -> None:
    from ctiserver.errors import InvalidInput

    with pytest.raises(InvalidInput):
        change("c.x", 1, **fields)
    with pytest.raises(InvalidInput):
        WorkOrderChangeOp.new("c.x", "1001", "agent", "create", 2, {}, create=True)


async def test_the_task_bar_and_the_overdue_list(store: Store) -> None:
    rows = [  # linkedid, status, department, assignee, submitted_by, due (hours from T0)
        ("t.1", "submitted", "cards", None, "1001", 1),
        ("t.2", "in_progress", "cards", "1004", "1001", -1),
        ("t.3", "assigned", "deposits", "1003", "1002", 2),
        ("t.4", "completed", "cards", "1003", "1001", -2),
        ("t.5", "submitted", None, None, "1002", 3),
        ("t.6", "closed", "cards", None, "1001", -5),
    ]
    for linkedid, status, dept, assignee, by, hours in rows:
        store.submit(call_created(linkedid))
        store.submit(change(linkedid, 1, status=status, department=dept, assignee=assignee, submitted_by=by,
                            due_at=(T0 + dt.timedelta(hours=hours)).isoformat()))
    await store.flush(timeout=10)
    ids = lambda wos: [w.linkedid for w in wos]
    # 1003 handles cards: its open, unassigned work, and what is assigned to them anywhere.
    assert ids(await store.work_orders_waiting("1003", ["cards"])) == ["t.1", "t.3"]
    # 1001 submitted t.4, now completed: its callback is theirs.
    assert ids(await store.work_orders_waiting("1001", [])) == ["t.4"]
    # The center also sees every callback and what went to no department.
    assert ids(await store.work_orders_waiting("1900", [], center=True)) == ["t.4", "t.5"]
    now = T0 + dt.timedelta(minutes=1)
    assert ids(await store.overdue_work_orders(now)) == ["t.4", "t.2"]
    assert ids(await store.overdue_work_orders(now, account_id="1002", departments=["deposits"])) == []
    assert ids(await store.overdue_work_orders(now, account_id="1004", departments=[])) == ["t.2"]
    assert ids(await store.overdue_work_orders(now, since=T0 - dt.timedelta(hours=1, minutes=30))) == ["t.2"]


# -- PostgreSQL away ----------------------------------------------------------------------------------


AGENT = SimpleNamespace(id="1001", role="agent")
HANDLER = SimpleNamespace(id="1003", role="agent")


def service(store: Store) -> WorkOrderActions:
    settings = build(config_mod.load(env={}).workorders)
    return WorkOrderActions(store, settings, known_account=lambda aid: aid in ("1001", "1002", "1003"),
                            agent_of=lambda interface: interface.rpartition("/")[2], settle_seconds=0.5)


async def test_an_agent_writes_up_and_submits_a_call_while_postgresql_is_away(
        db_dsn: str, proxy: TcpProxy, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    store = await Store.open(via(db_dsn, proxy), journal_path=str(journal), **FAST)
    await store.migrate()
    desk = service(store)
    try:
        await proxy.stop()
        call = m.Call(linkedid="out.7", started_at=T0.timestamp(), caller_num="13800138000")
        started = m.CallStarted(call, T0.timestamp())
        for op in ops_for(started, desk.agent_of):  # what the projection writes
            store.submit(op)
        desk.on_call_event(started)  # a new call: known before PostgreSQL has it
        store.submit(WorkOrderOp.new("out.7", "answered", {"agent_id": "1001"}, at=T0.timestamp() + 5))
        desk.sheets.update("out.7", {"agent_id": "1001"})  # as the answered event does
        ref = ref_for("out.7", T0.timestamp())
        saved, where = await desk.act(AGENT, ref, "save",
                                      {"version": 0, "category": "complaint", "subcategory": "fees",
                                       "request": "charged twice", "department": "cards"})
        assert where == "journal" and saved["version"] == 1 and saved["status"] == "draft"
        with pytest.raises(Conflict):  # a second tab on the old version loses, even offline
            await desk.act(AGENT, "out.7", "save", {"version": 0, "notes": "other tab"})
        sent, where = await desk.act(AGENT, "out.7", "submit", {"version": 1, "resolved": False})
        assert where == "journal" and sent["status"] == "submitted" and sent["colour"] == "orange"
        reloaded = await desk.get(AGENT, ref)  # a browser reload, PostgreSQL still away
        assert reloaded["saved"] == "journal" and reloaded["request"] == "charged twice"
        await store.close()  # and the server stops before PostgreSQL is back
        assert journal.read_text(encoding="utf-8").count("work_order_change") == 2

        await proxy.start()
        store = await Store.open(via(db_dsn, proxy), journal_path=str(journal), **FAST)
        await store.flush(timeout=10)
        wo = await store.work_order_row("out.7")
        assert (wo.status, wo.version, wo.department, wo.submitted_by, wo.request) == (
            "submitted", 2, "cards", "1001", "charged twice")
        assert wo.due_at is not None and wo.step_started_at is not None
        history = await store.work_order_history("out.7")
        assert [(h.action, h.from_status, h.to_status) for h in history] == [
            ("save", "draft", "draft"), ("submit", "draft", "submitted")]
        # The department's handler, on a fresh server, accepts it.
        moved, where = await service(store).act(HANDLER, wo.id, "accept", {"version": 2})
        assert where == "database" and moved["status"] == "accepted"
    finally:
        await store.close()
