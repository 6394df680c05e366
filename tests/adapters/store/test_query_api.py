"""The store's public query API (Store.run/fetch/fetchrow/fetchval/execute) that capability
packages use: their own SQL on a pooled connection, StoreUnavailable while PostgreSQL is away
(taken away for real behind a TCP proxy), a failed transaction rolled back, other errors as they are."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from ctiserver.store import Store, StoreUnavailable
from tests.adapters.store.conftest import FAST, TcpProxy, via


async def test_queries_answer_and_errors_other_than_an_outage_pass_through(
    store: Store,
) -> None:
    assert (
        await store.execute(
            "INSERT INTO customers (customer_no, name, class) VALUES ($1, $2, $3)",
            "T1",
            "Test",
            "ordinary",
        )
        == "INSERT 0 1"
    )
    assert (
        await store.fetchval("SELECT name FROM customers WHERE customer_no = $1", "T1")
        == "Test"
    )
    assert (
        await store.fetchrow("SELECT class FROM customers WHERE customer_no = 'T1'")
    )["class"] == "ordinary"
    assert [
        r["customer_no"] for r in await store.fetch("SELECT customer_no FROM customers")
    ] == ["T1"]
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.execute(
            "INSERT INTO customers (customer_no, name, class) VALUES ('T1', 'x', 'vip')"
        )

    async def half_done(conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute(
                "UPDATE customers SET name = 'changed' WHERE customer_no = 'T1'"
            )
            await conn.execute("SELECT no_such_column FROM customers")

    with pytest.raises(asyncpg.UndefinedColumnError):
        await store.run(half_done)
    assert (
        await store.fetchval("SELECT name FROM customers WHERE customer_no = 'T1'")
        == "Test"
    )


async def test_postgresql_away_is_store_unavailable_and_back_answers_again(
    db_dsn: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    store = await Store.open(
        via(db_dsn, proxy), journal_path=str(tmp_path / "journal.jsonl"), **FAST
    )
    try:
        await store.migrate()
        assert await store.fetchval("SELECT 1") == 1
        await proxy.stop()
        for call in (
            lambda: store.fetchval("SELECT 1"),
            lambda: store.fetch("SELECT 1"),
            lambda: store.fetchrow("SELECT 1"),
            lambda: store.execute("SELECT 1"),
            lambda: store.run(lambda c: c.fetchval("SELECT 1")),
        ):
            with pytest.raises(StoreUnavailable, match="unavailable"):
                await call()
        await proxy.start()
        assert await store.fetchval("SELECT 2") == 2
    finally:
        await store.close()
