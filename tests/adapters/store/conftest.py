"""Store fixtures: a migrated Store on its own fresh database, and a TCP proxy that cuts the link."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from ctiserver.store import Store
from tests.support.tcpproxy import TcpProxy  # noqa: F401 - the store tests take it from here

FAST = {"retry_min": 0.02, "retry_max": 0.2, "probe_interval": 0.2}


@pytest.fixture
async def store(db_dsn: str, tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_dsn, journal_path=str(tmp_path / "journal.jsonl"), **FAST)
    await s.migrate()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def seeded(store: Store) -> Store:
    await store.seed_demo()
    return store
