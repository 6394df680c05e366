"""A migrated, seeded Store on its own fresh PostgreSQL database (as tests/adapters/store does)."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from ctiserver.store import Store
from tests.adapters.store.conftest import FAST


@pytest.fixture
async def store(db_dsn: str, tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_dsn, journal_path=str(tmp_path / "journal.jsonl"), **FAST)
    await s.migrate()
    await s.seed_demo()
    try:
        yield s
    finally:
        await s.close()
