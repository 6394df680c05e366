"""Signing in to the panel: accounts from the store, checked passwords, the book kept up to date."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ctiserver.agents.book import Account, AgentBook
from ctiserver.agents.passwords import hash_password, verify_password
from ctiserver.errors import Unauthenticated


class AccountStore(Protocol):
    async def list_agents(self) -> list: ...
    async def get_agent_by_login(self, login: str) -> Any: ...


def account_from_row(row: Any) -> Account:
    queues = dict(getattr(row, "queues", None) or {})
    return Account(id=row.id, login=row.login, name=row.name, role=row.role, interface=row.interface or "",
                   queues=tuple(queues), penalties=tuple(int(v or 0) for v in queues.values()))


class Accounts:
    def __init__(self, store: AccountStore, book: AgentBook) -> None:
        self.store = store
        self.book = book
        # An unknown login is checked against this, so it takes as long as a wrong password:
        # the answer's timing does not tell which logins exist.
        self._decoy = hash_password("never-a-password")
        # Filled by the administration: disabled accounts cannot sign in and are not in the book;
        # accounts that must change their password first (a reset, a CLI-made admin).
        self.disabled: set[str] = set()
        self.must_change: set[str] = set()

    async def load(self) -> None:
        """Every account from the store into the book."""
        self.book.set_accounts(account_from_row(r) for r in await self.store.list_agents()
                               if r.id not in self.disabled)

    async def authenticate(self, login: str, password: str) -> Account:
        """Check a login and password; raises Unauthenticated (same message for both failures)."""
        row = await self.store.get_agent_by_login(login)
        stored = row.password_hash if row is not None else self._decoy
        ok = await asyncio.to_thread(verify_password, password, stored) and row is not None
        ok = ok and row.id not in self.disabled
        if not ok:
            raise Unauthenticated("wrong login or password")
        account = account_from_row(row)
        if account.id not in self.book.by_id:  # created after start
            self.book.set_accounts([*self.book.by_id.values(), account])
        return self.book.by_id[account.id]

    def get(self, agent_id: str) -> Account | None:
        """The account, or None when unknown or disabled (its sessions end at once)."""
        if agent_id in self.disabled:
            return None
        return self.book.by_id.get(agent_id)
