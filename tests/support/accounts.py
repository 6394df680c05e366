"""Accounts the demo data lacks, added to a running stack's store by the tests that need them."""

from __future__ import annotations

import asyncio
from typing import Any

from ctiserver.agents.passwords import hash_password

ADMIN = "9000"  # not in the demo data: its password is its login


async def add_admin(stack: Any, login: str = ADMIN) -> None:
    """An admin account (the demo has agents and a supervisor only)."""
    await stack.store.upsert_agents(
        [
            (
                login,
                "管理员 Admin",
                "admin",
                await asyncio.to_thread(hash_password, login),
                "",
                {},
            )
        ]
    )
