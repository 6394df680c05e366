"""A migrated, seeded Store on its own fresh PostgreSQL database, and work orders written straight in."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ctiserver.store import Store
from tests.adapters.store.conftest import FAST

_ids = itertools.count(1)


@pytest.fixture
async def store(db_dsn: str, tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_dsn, journal_path=str(tmp_path / "journal.jsonl"), **FAST)
    await s.migrate()
    await s.seed_demo()
    try:
        yield s
    finally:
        await s.close()


async def work_order(
    dsn: str,
    at: dt.datetime,
    *,
    category: str | None = None,
    status: str | None = "submitted",
    queue: str | None = "support",
    answered: bool = True,
    **cols: Any,
) -> str:
    """One work order as the projection and the lifecycle leave it (the columns the reports read)."""
    n = next(_ids)
    linkedid = f"t.{n:06d}"
    values = {
        "linkedid": linkedid,
        "ref": f"WO-T-{n:08d}",
        "created_at": at,
        "updated_at": at,
        "category": category,
        "status": status,
        "queue": queue,
        "answered_at": at if answered else None,
        **cols,
    }
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            f"INSERT INTO work_orders ({', '.join(values)}) "
            f"VALUES ({', '.join(f'${i + 1}' for i in range(len(values)))})",
            *values.values(),
        )
    finally:
        await conn.close()
    return linkedid


async def sql(dsn: str, query: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()
