"""Nothing the call flow writes is lost when PostgreSQL goes away, or when the server restarts.

PostgreSQL is taken away for real: the store talks to it through a TCP proxy that
the test stops (new connections refused, open ones cut) and starts again.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Callable

import asyncpg
import pytest

from ctiserver.store import Store, StoreUnavailable, WorkOrderOp
from ctiserver.store.ops import op_to_json
from tests.support.postgres import free_port
from tests.adapters.store.conftest import FAST, TcpProxy, via

T0 = 1_795_000_000.0


async def events_in_db(dsn: str, linkedid: str) -> list[str]:
    """The work order's history as PostgreSQL has it, read on a connection of the test's own."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT kind FROM work_order_events WHERE linkedid = $1 ORDER BY id", linkedid)
    finally:
        await conn.close()
    return [r["kind"] for r in rows]


def call_ops(linkedid: str) -> list[WorkOrderOp]:
    return [
        WorkOrderOp.new(linkedid, "created", {"caller_number": "13800138000", "call_state": "open"}, at=T0),
        WorkOrderOp.new(linkedid, "queued", {"queue": "support", "queued_at": T0 + 2, "call_state": "queued"}, at=T0 + 2),
        WorkOrderOp.new(linkedid, "ended", {"ended_at": T0 + 9, "call_state": "ended", "disposition": "abandoned",
                                            "wait_seconds": 7.0}, at=T0 + 9),
    ]


class HealthLog:
    """Records on_health calls; ``until`` waits (with a timeout) for a given history."""

    def __init__(self) -> None:
        self.seen: list[bool] = []
        self._changed = asyncio.Event()

    def __call__(self, ok: bool) -> None:
        self.seen.append(ok)
        self._changed.set()

    async def until(self, check: Callable[[list[bool]], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not check(self.seen):
                self._changed.clear()
                await self._changed.wait()


async def test_writes_made_while_postgresql_is_away_land_when_it_is_back(
        db_dsn: str, proxy: TcpProxy, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    store = await Store.open(via(db_dsn, proxy), journal_path=str(journal), **FAST)
    await store.migrate()
    await store.seed_demo()
    health = HealthLog()
    store.on_health = health
    try:
        await proxy.stop()
        ops = call_ops("out.1")
        for op in ops:
            store.submit(op)  # returns at once: the call flow never waits for the database
        await health.until(lambda s: s == [False])
        assert store.healthy is False and store.pending == 3
        assert await events_in_db(db_dsn, "out.1") == []
        assert all(op.op_id in journal.read_text(encoding="utf-8") for op in ops)
        with pytest.raises(StoreUnavailable) as e:  # reads say so at once instead of hanging
            await store.find_customer_by_phone("13800138000")
        assert f"127.0.0.1:{proxy.port}" in str(e.value)

        await proxy.start()
        await store.flush(timeout=10)
        await health.until(lambda s: s == [False, True])
        assert store.healthy and store.pending == 0
        assert await events_in_db(db_dsn, "out.1") == ["created", "queued", "ended"]
        assert journal.read_text(encoding="utf-8") == ""  # emptied once everything is written
        assert (await store.find_customer_by_phone("13800138000")).no == "C0001"
    finally:
        await store.close()


async def test_a_long_outage_backlog_lands_complete_and_in_order(db_dsn: str, proxy: TcpProxy, tmp_path: Path) -> None:
    store = await Store.open(via(db_dsn, proxy), journal_path=str(tmp_path / "j.jsonl"), **FAST)
    await store.migrate()
    health = HealthLog()
    store.on_health = health
    try:
        await proxy.stop()
        ops = [WorkOrderOp.new("backlog.1", f"step{i}", {"call_state": "open"}, {"i": i}, at=T0) for i in range(450)]
        for op in ops:  # more than one batch: applied in several transactions
            store.submit(op)
        await health.until(lambda s: s == [False])
        await proxy.start()
        await store.flush(timeout=20)
        # all at the same instant: only the writer's order tells them apart
        assert await events_in_db(db_dsn, "backlog.1") == [f"step{i}" for i in range(450)]
    finally:
        await store.close()


async def test_an_outage_with_nothing_to_write_still_shows(db_dsn: str, proxy: TcpProxy, tmp_path: Path) -> None:
    store = await Store.open(via(db_dsn, proxy), journal_path=str(tmp_path / "j.jsonl"), **FAST)
    await store.migrate()
    health = HealthLog()
    store.on_health = health
    try:
        await proxy.stop()
        await health.until(lambda s: s == [False])  # found by the idle probe
        await proxy.start()
        await health.until(lambda s: s == [False, True])
    finally:
        await store.close()


async def test_writes_left_by_a_stopped_server_are_replayed_at_the_next_start(
        db_dsn: str, proxy: TcpProxy, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    first = await Store.open(via(db_dsn, proxy), journal_path=str(journal), **FAST)
    await first.migrate()
    health = HealthLog()
    first.on_health = health
    await proxy.stop()
    for op in call_ops("restart.1"):
        first.submit(op)
    await health.until(lambda s: s == [False])
    await first.close(timeout=0.5)  # the server stops while PostgreSQL is still away
    assert len(journal.read_text(encoding="utf-8").splitlines()) == 3

    await proxy.start()
    second = await Store.open(via(db_dsn, proxy), journal_path=str(journal), **FAST)
    try:
        assert second.pending == 3
        await second.flush(timeout=10)
        assert await events_in_db(db_dsn, "restart.1") == ["created", "queued", "ended"]
        assert journal.read_text(encoding="utf-8") == ""
        wo = await second.get_work_order("restart.1")
        assert (wo.disposition, wo.queue, wo.wait_seconds) == ("abandoned", "support", 7.0)
    finally:
        await second.close()


async def test_replay_honours_acks_and_survives_a_torn_last_line(store: Store, db_dsn: str, tmp_path: Path) -> None:
    """A journal as a crash leaves it: op 1 acknowledged, op 2 not, op 3 half written."""
    await store.close()
    journal = tmp_path / "crashed.jsonl"
    acked, unacked, torn = call_ops("crash.1")
    lines = [json.dumps({"seq": 1, "op": op_to_json(acked)}), json.dumps({"ack": 1}),
             json.dumps({"seq": 2, "op": op_to_json(unacked)}),
             json.dumps({"seq": 3, "op": {"type": "work_order", "op_id": "not-a-uuid"}}),
             json.dumps({"seq": 4, "op": op_to_json(torn)})[:40]]
    journal.write_text("\n".join(lines), encoding="utf-8")
    again = await Store.open(db_dsn, journal_path=str(journal), **FAST)
    try:
        assert again.pending == 1
        await again.flush(timeout=10)
        # the acknowledged op was already in PostgreSQL before the crash, so it is not written again
        assert await events_in_db(db_dsn, "crash.1") == ["queued"]
        # the entry that no longer reads as an op is kept aside for a person, not dropped silently
        assert "not-a-uuid" in (tmp_path / "crashed.jsonl.rejected").read_text(encoding="utf-8")
    finally:
        await again.close()


async def test_ops_submitted_before_migrate_wait_for_the_schema(db_dsn: str, tmp_path: Path) -> None:
    store = await Store.open(db_dsn, journal_path=str(tmp_path / "j.jsonl"), **FAST)
    try:
        for op in call_ops("early.1"):
            store.submit(op)
        with pytest.raises(RuntimeError):
            await store.flush(timeout=1)  # would never return: nothing writes before the schema exists
        await store.migrate()
        await store.flush(timeout=10)
        assert await events_in_db(db_dsn, "early.1") == ["created", "queued", "ended"]
    finally:
        await store.close()


async def test_one_journal_belongs_to_one_server(store: Store, db_dsn: str, tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable) as e:
        await Store.open(db_dsn, journal_path=str(tmp_path / "journal.jsonl"))
    assert "in use by another process" in str(e.value)


async def test_unreachable_postgresql_is_one_clear_line_without_the_password() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreUnavailable) as e:
        await Store.open(f"postgresql://cti:s3cret-pw@127.0.0.1:{port}/cti")
    msg = str(e.value)
    assert msg == f"cannot reach PostgreSQL at 127.0.0.1:{port}/cti: connection refused"
    assert "\n" not in msg and "s3cret" not in msg


async def test_a_malformed_dsn_is_named_as_such() -> None:
    with pytest.raises(StoreUnavailable) as e:
        await Store.open("postgresql://cti:s3cret@127.0.0.1:notaport/cti")
    assert str(e.value).startswith("invalid PostgreSQL DSN") and "s3cret" not in str(e.value)
    assert "\n" not in str(e.value)
