"""Work orders as the call projection writes them, read back as the API and the pop show them."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from ctiserver.calls import model as m
from ctiserver.errors import InvalidInput
from ctiserver.store import Store, WorkOrderOp
from ctiserver.store.ops import op_from_json
from ctiserver.workorders.projection import customer_step, ops_for, ref_for

AGENTS = {"PJSIP/1001": "1001", "PJSIP/1002": "1002"}
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc).timestamp()


def agent_of(interface: str) -> str:
    return AGENTS.get(interface, "")


def answered_call(store: Store, linkedid: str, caller: str, start: float, agent: str = "PJSIP/1001") -> m.Call:
    """Submit the ops of an IVR -> queue -> ring -> answer -> hang-up call; return the call."""
    call = m.Call(linkedid=linkedid, started_at=start, caller_num=caller, caller_name=f"Name {caller}")
    events: list[object] = [m.CallStarted(call, start)]
    call.ivr_keys, call.ivr_path = ["1"], ["main", "support"]
    call.queue, call.queued_at = "support", start + 2
    events.append(m.CallQueued(call, start + 2))
    events.append(m.CallRinging(call, agent, "leg-1", start + 2.1))
    call.answered_at, call.agent_interface = start + 3.5, agent
    events.append(m.CallAnswered(call, agent, "leg-1", start + 3.5))
    call.ended_at, call.hangup_by = start + 8, "caller"
    events.append(m.CallEnded(call, start + 8))
    for e in events:
        for op in ops_for(e, agent_of):
            store.submit(op)
    return call


def abandoned_call(store: Store, linkedid: str, caller: str, start: float) -> m.Call:
    call = m.Call(linkedid=linkedid, started_at=start, caller_num=caller)
    store.submit(ops_for(m.CallStarted(call, start), agent_of)[0])
    call.queue, call.queued_at = "support", start + 1
    store.submit(ops_for(m.CallQueued(call, start + 1), agent_of)[0])
    call.ended_at = start + 7
    store.submit(ops_for(m.CallEnded(call, start + 7), agent_of)[0])
    return call


async def test_a_call_becomes_one_work_order_with_its_history(store: Store) -> None:
    call = answered_call(store, "1700000000.1", "13800138000", T0)
    await store.flush(timeout=10)

    ref = ref_for(call.linkedid, call.started_at)
    wo = await store.get_work_order(ref)
    assert wo is not None
    j = wo.to_json()
    assert j["ref"] == ref and j["linkedid"] == "1700000000.1"
    assert (j["disposition"], j["call_state"], j["agent_id"], j["queue"]) == ("answered", "ended", "1001", "support")
    assert j["wait_seconds"] == pytest.approx(1.5) and j["talk_seconds"] == pytest.approx(4.5)
    assert j["ivr_keys"] == "1" and j["ivr_path"] == ["main", "support"]
    assert j["started_at"] == dt.datetime.fromtimestamp(T0, dt.timezone.utc).isoformat()
    assert dt.datetime.fromisoformat(j["ended_at"]).timestamp() == pytest.approx(T0 + 8)
    assert [e["kind"] for e in j["events"]] == ["created", "queued", "ringing", "answered", "ended"]
    # the same work order by numeric id and by linkedid
    assert (await store.get_work_order(str(wo.id))).ref == ref
    assert (await store.get_work_order(call.linkedid)).ref == ref
    assert await store.get_work_order("WO-20260101-NOSUCH00") is None


async def test_an_op_journaled_before_the_call_state_rename_still_applies(store: Store) -> None:
    """A journal left by an older server names the column status: it lands in call_state."""
    old = op_from_json({"type": "work_order", "op_id": "00000000-0000-4000-8000-000000000001", "at": T0,
                        "linkedid": "1700000000.9", "kind": "created", "fields": {"status": "queued"}, "data": {}})
    store.submit(old)
    await store.flush(timeout=10)
    wo = await store.get_work_order("1700000000.9")
    assert wo.to_json()["call_state"] == "queued"


async def test_a_replayed_op_is_written_once(store: Store) -> None:
    op = WorkOrderOp.new("1700000000.2", "created", {"caller_number": "13900139000", "call_state": "open"}, at=T0)
    store.submit(op)
    store.submit(op)
    await store.flush(timeout=10)
    store.submit(op)  # e.g. replayed from the journal after a crash
    await store.flush(timeout=10)
    wo = await store.get_work_order("1700000000.2")
    assert [e.kind for e in wo.events] == ["created"]
    assert store.pending == 0


async def test_an_abandoned_call_has_no_agent_and_no_talk_time(store: Store) -> None:
    abandoned_call(store, "1700000000.3", "13600136000", T0)
    await store.flush(timeout=10)
    wo = (await store.get_work_order("1700000000.3")).to_json()
    assert wo["disposition"] == "abandoned" and wo["agent_id"] is None and wo["talk_seconds"] is None
    assert wo["wait_seconds"] == pytest.approx(6.0)


async def test_the_customer_found_for_a_call_is_recorded(seeded: Store) -> None:
    call = answered_call(seeded, "1700000000.4", "+86 138 0013 8000", T0)
    customer = (await seeded.find_customer_by_phone(call.caller_num)).to_json()
    seeded.submit(*ops_for(customer_step(call, customer, at=T0 + 1), str))
    unknown = abandoned_call(seeded, "1700000000.5", "caller", T0 + 60)
    seeded.submit(*ops_for(customer_step(unknown, None, at=T0 + 61), str))
    await seeded.flush(timeout=10)
    wo = (await seeded.get_work_order("1700000000.4")).to_json()
    assert (wo["customer_no"], wo["customer_name"], wo["customer_class"]) == ("C0001", "张伟", "vip")
    assert (await seeded.get_work_order("1700000000.5")).customer_class == "not_customer"
    # what the next pop shows for this customer: by customer id, and by the number in another form
    recent = await seeded.recent_work_orders(customer_id=customer["id"], limit=5)
    assert [r.linkedid for r in recent] == ["1700000000.4"]
    recent = await seeded.recent_work_orders(caller_number="013800138000", limit=5)
    assert [r.linkedid for r in recent] == ["1700000000.4"]
    # a call from the customer's number that was never matched to them (lookup impossible) still counts
    abandoned_call(seeded, "1700000000.6", "13800138000", T0 + 120)
    await seeded.flush(timeout=10)
    recent = await seeded.recent_work_orders(customer_id=customer["id"], limit=5)
    assert [r.linkedid for r in recent] == ["1700000000.6", "1700000000.4"]
    assert [r.linkedid for r in await seeded.recent_work_orders(customer_no="C0001", limit=1)] == ["1700000000.6"]
    assert await seeded.recent_work_orders(customer_no="C0002") == []
    assert await seeded.recent_work_orders(caller_number="caller-without-digits") == []


async def test_filters_date_agent_caller_disposition_and_paging(store: Store) -> None:
    day1, day2 = T0, T0 + 86400
    answered_call(store, "a.1", "13800138000", day1, agent="PJSIP/1001")
    answered_call(store, "a.2", "13900139000", day1 + 600, agent="PJSIP/1002")
    abandoned_call(store, "a.3", "13800138000", day1 + 1200)
    answered_call(store, "a.4", "13700137000", day2, agent="PJSIP/1001")
    await store.flush(timeout=10)

    async def ids(**kw: object) -> list[str]:
        return [w.linkedid for w in await store.list_work_orders(**kw)]

    assert await ids() == ["a.4", "a.3", "a.2", "a.1"]  # newest first
    assert await ids(date=dt.date(2026, 11, 23)) == ["a.3", "a.2", "a.1"]
    assert await ids(date="2026-11-24") == ["a.4"]
    assert await ids(agent_id="1001") == ["a.4", "a.1"]
    assert await ids(caller="13800138000") == ["a.3", "a.1"]
    assert await ids(caller="+86 138 0013 8000") == ["a.3", "a.1"]  # another written form
    assert await ids(caller="38001") == ["a.3", "a.1"]  # part of the number
    assert await ids(disposition="abandoned") == ["a.3"]
    assert await ids(date=dt.date(2026, 11, 23), disposition="answered", agent_id="1002") == ["a.2"]
    assert await ids(limit=2) == ["a.4", "a.3"]
    assert await ids(limit=2, offset=2) == ["a.2", "a.1"]
    assert await ids(caller="100%_") == []  # LIKE wildcards are literal


def test_ops_with_bad_values_fail_where_they_are_built() -> None:
    with pytest.raises(InvalidInput) as e:
        WorkOrderOp.new("x.1", "created", {"queued_at": "yesterday"})
    assert e.value.field == "queued_at"
    with pytest.raises(InvalidInput):
        WorkOrderOp.new("x.1", "created", {"queued_at": "2026-11-23T09:00:00"})  # no zone
    with pytest.raises(InvalidInput):
        WorkOrderOp.new("x.1", "created", {"password": "x"})
    with pytest.raises(InvalidInput):
        WorkOrderOp.new("x.1", "created", {"caller_name": "a\x00b"})


async def test_an_op_postgresql_refuses_is_set_aside_and_the_rest_land(store: Store, tmp_path) -> None:
    bad = WorkOrderOp.new("b.1", "created", {"customer_id": 999999, "call_state": "open"}, at=T0)  # no such customer
    good = WorkOrderOp.new("b.2", "created", {"call_state": "open"}, at=T0)
    store.submit(bad)
    store.submit(good)
    await store.flush(timeout=10)
    assert await store.get_work_order("b.1") is None
    assert await store.get_work_order("b.2") is not None
    rejected = (tmp_path / "journal.jsonl.rejected").read_text(encoding="utf-8")
    assert bad.op_id in rejected and "ForeignKeyViolation" in rejected


async def test_agent_state_changes_are_logged(store: Store, db_dsn: str) -> None:
    from ctiserver.store import AgentStateOp

    store.submit(AgentStateOp.new("1001", "logged_out", "ready", at=T0))
    store.submit(AgentStateOp.new("1001", "ready", "not_ready", reason="lunch", at=T0 + 5))
    await store.flush(timeout=10)
    conn = await asyncpg.connect(db_dsn)
    try:
        rows = await conn.fetch("SELECT to_state, reason FROM agent_state_log WHERE agent_id = '1001' ORDER BY at")
    finally:
        await conn.close()
    assert [(r["to_state"], r["reason"]) for r in rows] == [("ready", None), ("not_ready", "lunch")]
