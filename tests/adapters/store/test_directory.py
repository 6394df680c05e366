"""Accounts, customers, the marquee and the schema, as the server and its users rely on them."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg

from ctiserver.agents.passwords import verify_password
from ctiserver.store import DEMO_CALLERS, Store
from ctiserver.store.migrate import load_migrations
from ctiserver.store.phones import normalize_phone

UTC = dt.timezone.utc


async def test_migrations_apply_once_even_when_two_servers_start_together(db_dsn: str, tmp_path) -> None:
    a = await Store.open(db_dsn, journal_path=str(tmp_path / "a.jsonl"))
    b = await Store.open(db_dsn, journal_path=str(tmp_path / "b.jsonl"))
    try:
        first, second = await asyncio.gather(a.migrate(), b.migrate())
        assert sorted(first + second) == [m.version for m in load_migrations()]
        assert await a.migrate() == []  # and again: nothing to do
    finally:
        await a.close()
        await b.close()
    conn = await asyncpg.connect(db_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
    finally:
        await conn.close()


async def test_demo_seed_is_idempotent_and_gives_working_logins(store: Store) -> None:
    await store.seed_demo()
    await store.seed_demo()
    agents = await store.list_agents()
    assert [a.login for a in agents] == ["1001", "1002", "1003", "1900"]
    li_na = await store.get_agent_by_login("1001")
    assert (li_na.id, li_na.role, li_na.interface, dict(li_na.queues)) == ("1001", "agent", "PJSIP/1001", {"support": 0})
    assert verify_password("1001", li_na.password_hash) and not verify_password("1002", li_na.password_hash)
    sup = await store.get_agent_by_login("1900")
    assert sup.role == "supervisor" and verify_password("1900", sup.password_hash)
    assert "password_hash" not in li_na.to_json()
    assert await store.get_agent_by_login("nobody") is None


async def test_a_customer_is_found_by_any_usual_form_of_the_number(seeded: Store) -> None:
    for written in ("13800138000", "+86 138 0013 8000", "+86-138-0013-8000", "008613800138000", "8613800138000",
                    "013800138000"):
        c = await seeded.find_customer_by_phone(written)
        assert c is not None, written
        assert c.to_json() == {"id": c.id, "customer_no": "C0001", "name": "张伟", "class": "vip",
                               "phones": ["13800138000"], "note": c.note}


async def test_landlines_unknown_numbers_and_sip_users(seeded: Store) -> None:
    assert (await seeded.find_customer_by_phone("010-6234-5678")).no == "C0003"
    assert (await seeded.find_customer_by_phone("+86 10 6234 5678")).no == "C0003"
    assert (await seeded.find_customer_by_phone("13512345678")) is None
    assert (await seeded.find_customer_by_phone("caller")) is None
    assert (await seeded.find_customer_by_phone("")) is None
    assert (await seeded.find_customer_by_no("c0002")).class_ == "ordinary"
    assert (await seeded.find_customer_by_no("C9999")) is None


def test_phone_normalisation() -> None:
    assert normalize_phone("+1 415 555 0100") == "14155550100"
    assert normalize_phone("01012345678") == "01012345678"
    assert normalize_phone(None) == ""


async def test_demo_callers_mix_customers_and_strangers(seeded: Store) -> None:
    found = [await seeded.find_customer_by_phone(number) for number, _ in DEMO_CALLERS]
    assert sum(f is not None for f in found) >= 4
    assert sum(f is None for f in found) >= 2
    assert any(f is not None and f.class_ == "vip" for f in found)


async def test_customer_pin(seeded: Store) -> None:
    assert await seeded.verify_customer_pin("C0001", "1234")
    assert await seeded.verify_customer_pin("c0001", "1234")
    assert not await seeded.verify_customer_pin("C0001", "4321")
    assert not await seeded.verify_customer_pin("C0001", "")
    assert not await seeded.verify_customer_pin("C9999", "1234")


async def test_marquee_items_show_until_they_expire(seeded: Store) -> None:
    now = dt.datetime.now(UTC)
    lasting = await seeded.post_marquee("系统维护 tonight 22:00", "1900", None)
    brief = await seeded.post_marquee("Queue busy: keep calls short", "1900", now + dt.timedelta(minutes=5))
    assert [m.id for m in await seeded.active_marquee(now)] == [lasting.id, brief.id]
    assert [m.id for m in await seeded.active_marquee(now + dt.timedelta(minutes=6))] == [lasting.id]
    j = brief.to_json()
    assert j["text"] == "Queue busy: keep calls short" and j["posted_by"] == "1900"
    assert dt.datetime.fromisoformat(j["expires_at"]) == brief.expires_at


async def test_upsert_agents_creates_and_updates_accounts(store) -> None:
    from ctiserver.agents.passwords import hash_password, verify_password

    pw = hash_password("s3cret")
    assert await store.upsert_agents([("2000", "Agent 2000", "agent", pw, "PJSIP/2000", {"support": 1}),
                                      ("2001", "Agent 2001", "agent", pw, "PJSIP/2001", {"support": 0})]) == 2
    a = await store.get_agent_by_login("2000")
    assert (a.name, a.interface, dict(a.queues)) == ("Agent 2000", "PJSIP/2000", {"support": 1})
    assert verify_password("s3cret", a.password_hash)
    await store.upsert_agents([("2000", "Renamed", "supervisor", pw, "PJSIP/2000", {})])
    b = await store.get_agent_by_login("2000")
    assert (b.name, b.role, dict(b.queues)) == ("Renamed", "supervisor", {})
