"""Signing in: an unknown login costs the same password check as a known one with a wrong password."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ctiserver.agents import accounts as accounts_mod
from ctiserver.agents.accounts import Accounts
from ctiserver.agents.book import AgentBook
from ctiserver.agents.passwords import hash_password
from ctiserver.errors import Unauthenticated


@dataclass
class Row:
    id: str
    login: str
    name: str
    role: str
    interface: str
    password_hash: str
    queues: dict


class Store:
    def __init__(self, rows: list[Row]) -> None:
        self.rows = {r.login: r for r in rows}

    async def list_agents(self) -> list[Row]:
        return list(self.rows.values())

    async def get_agent_by_login(self, login: str) -> Row | None:
        return self.rows.get(login)


async def test_unknown_logins_and_wrong_passwords_run_the_same_check(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real = accounts_mod.verify_password

    def counting(password: str, stored: str) -> bool:
        checked.append(stored.split("$")[0])
        return real(password, stored)

    monkeypatch.setattr(accounts_mod, "verify_password", counting)
    accounts = Accounts(Store([Row("1001", "1001", "Li Na", "agent", "PJSIP/1001", hash_password("right"), {})]),
                        AgentBook())
    for login, password in (("1001", "wrong"), ("nobody", "wrong"), ("nobody", "never-a-password")):
        with pytest.raises(Unauthenticated) as refused:
            await accounts.authenticate(login, password)
        assert refused.value.message == "wrong login or password"
    assert checked == ["scrypt", "scrypt", "scrypt"]  # a full scrypt check each time, known login or not
    account = await accounts.authenticate("1001", "right")
    assert account.id == "1001"
