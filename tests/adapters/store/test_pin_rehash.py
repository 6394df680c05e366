"""PINs hashed at the old (agents' password) cost move to the PIN cost as callers type them right."""

from __future__ import annotations

import asyncio

from ctiserver.agents.passwords import hash_password
from ctiserver.customers import pins
from ctiserver.store import Store
from ctiserver.store.guards import PinLocks


async def _old_pin(store: Store, no: str, pin: str) -> str:
    old = await asyncio.to_thread(hash_password, pin)
    await store.execute(
        "UPDATE customers SET pin_hash = $2 WHERE customer_no = $1", no, old
    )
    return old


async def _pin_hash(store: Store, no: str) -> str:
    return await store.fetchval(
        "SELECT pin_hash FROM customers WHERE customer_no = $1", no
    )


async def test_the_seed_hashes_pins_at_the_pin_cost(seeded: Store) -> None:
    stored = await _pin_hash(seeded, "C0001")
    assert not pins.needs_rehash(stored) and pins.verify_pin("1234", stored)


async def test_a_right_pin_on_an_old_hash_is_stored_again_at_the_pin_cost(
    seeded: Store,
) -> None:
    old = await _old_pin(seeded, "C0001", "1234")
    locks = PinLocks(seeded, max_failures=5, lock_seconds=60)

    assert (await locks.check("C0001", "9999")).outcome == "wrong"
    assert await _pin_hash(seeded, "C0001") == old  # a wrong PIN changes nothing

    assert (await locks.check("c0001", "1234")).outcome == "ok"
    new = await _pin_hash(seeded, "C0001")
    assert new != old and not pins.needs_rehash(new)
    # the new hash is the same PIN: it keeps working, and the wrong one stays wrong
    assert (await locks.check("C0001", "1234")).outcome == "ok"
    assert (await locks.check("C0001", "1235")).outcome == "wrong"
    assert await _pin_hash(seeded, "C0001") == new


async def test_a_locked_number_keeps_its_old_hash_even_for_the_right_pin(
    seeded: Store,
) -> None:
    old = await _old_pin(seeded, "C0001", "1234")
    locks = PinLocks(seeded, max_failures=2, lock_seconds=60)
    for _ in range(2):
        await locks.check("C0001", "0000")
    assert (await locks.check("C0001", "1234")).outcome == "locked"
    assert await _pin_hash(seeded, "C0001") == old


async def test_verify_customer_pin_upgrades_an_old_hash_too(seeded: Store) -> None:
    old = await _old_pin(seeded, "C0001", "1234")
    assert not await seeded.verify_customer_pin("C0001", "4321")
    assert await _pin_hash(seeded, "C0001") == old
    assert await seeded.verify_customer_pin("C0001", "1234")
    new = await _pin_hash(seeded, "C0001")
    assert not pins.needs_rehash(new) and await seeded.verify_customer_pin(
        "C0001", "1234"
    )
