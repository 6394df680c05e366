"""Store fixtures: a migrated Store on its own fresh database, and a TCP proxy that cuts the link."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from typing import AsyncIterator

import pytest

from ctiserver.store import Store
from tests.support.tcpproxy import TcpProxy

FAST = {"retry_min": 0.02, "retry_max": 0.2, "probe_interval": 0.2}


@pytest.fixture
async def proxy(db_dsn: str) -> AsyncIterator[TcpProxy]:
    """PostgreSQL behind a TCP proxy the test can take down and bring back."""
    parts = urlsplit(db_dsn)
    p = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await p.start()
    yield p
    await p.stop()


def via(dsn: str, proxy: TcpProxy) -> str:
    """``dsn`` reached through ``proxy``."""
    parts = urlsplit(dsn)
    return parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()


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
