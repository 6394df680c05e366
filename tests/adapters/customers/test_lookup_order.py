"""Who the caller is, on the work order, whatever the database's speed (real PostgreSQL, demo seed).

The lookup by the caller's number runs while the IVR still talks to them. The IVR may report a
customer number before that lookup returns: a number it checked (a right PIN, or one locked after
wrong PINs) replaces the lookup by phone; a number it did not check (``CTI_AUTHENTICATED=no``) is
only the caller's claim, and the lookup by phone still decides. The phone lookup is held here until
the IVR has reported, the order a slow database gives.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ctiserver.calls import model as cm
from ctiserver.customers.lookup import CustomerLookup
from ctiserver.store import Store

ZHANG_WEI = "13800138000"  # C0001 in the demo seed, a VIP


class HeldPhoneLookup:
    """The real store, its lookup by phone waiting until ``release`` is set."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.release = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def find_customer_by_phone(self, phone: str) -> Any:
        await self.release.wait()
        return await self.store.find_customer_by_phone(phone)


@pytest.fixture
async def store(db_dsn: str):
    s = await Store.open(db_dsn, journal_path=None, pool_size=2)
    await s.migrate()
    await s.seed_demo()
    yield s
    await s.close()


async def steps_after_ivr_reports(store: Store, auth: str, customer_no: str) -> list[cm.CallStep]:
    held = HeldPhoneLookup(store)
    steps: list[cm.CallStep] = []
    tasks: list[asyncio.Task] = []
    lookup = CustomerLookup(held, recent=5, is_live=lambda linkedid: True,
                            run=lambda coro: tasks.append(asyncio.ensure_future(coro)), record=steps.append)
    call = cm.Call("1700000000.1", time.time(), caller_num=ZHANG_WEI, caller_name="Zhang Wei")
    lookup.on_call_event(cm.CallStarted(call, call.started_at))
    # the IVR reports, as the tracker applies its VarSets, before the phone lookup returns
    call.customer_no, call.auth, call.authenticated = customer_no, auth, auth == "yes"
    if call.identified:
        lookup.on_call_event(cm.CallIdentified(call, time.time()))
    held.release.set()
    while not all(t.done() for t in tasks):
        await asyncio.gather(*tasks)
    return [s for s in steps if s.kind == "customer"]


async def test_a_number_the_ivr_did_not_check_leaves_the_caller_found_by_phone(store: Store) -> None:
    steps = await steps_after_ivr_reports(store, "no", "C0017")
    assert [(s.data["customer_no"], s.fields["customer_class"]) for s in steps] == [("C0001", "vip")]


async def test_a_number_the_ivr_checked_replaces_the_lookup_by_phone(store: Store) -> None:
    steps = await steps_after_ivr_reports(store, "yes", "C0002")
    assert [(s.data["customer_no"], s.data["authenticated"]) for s in steps] == [("C0002", True)]
