"""The IVR identifies and authenticates callers against the real store (PostgreSQL, demo data).

Demo customer C0001 (张伟, VIP) owns 13800138000 and has PIN 1234.
"""

from __future__ import annotations

import pytest

from ctiserver.store import Store
from ivr.agi import IvrServer
from tests.unit.ivr.agi_peer import ANSWERED, FakeAsteriskCall


@pytest.fixture
async def store(db_dsn):
    s = await Store.open(db_dsn, journal_path=None, pool_size=2)
    await s.migrate()
    await s.seed_demo()
    yield s
    await s.close()


@pytest.fixture
async def ivr(store):
    server = IvrServer(store=store, port=0)
    await server.start()
    yield server
    await server.stop()


async def call(server: IvrServer, **script) -> FakeAsteriskCall:
    c = FakeAsteriskCall(server.port, **script)
    await c.run()
    return c


async def test_a_known_number_is_identified_but_not_authenticated(ivr):
    c = await call(ivr, callerid="13800138000", keys=["1"], queue=[ANSWERED])

    before_queue = c.snapshots[0]
    assert before_queue["CTI_CUSTOMER_NO"] == "C0001"
    assert before_queue["CTI_AUTHENTICATED"] == "no"
    names = [cmd[2] for cmd in c.named("SET VARIABLE")]
    assert names.index("CTI_CUSTOMER_NO") < names.index("CTI_AUTHENTICATED")


async def test_a_known_number_with_the_right_pin_is_authenticated(ivr):
    c = await call(ivr, callerid="13800138000", keys=["9", "1234"], queue=[ANSWERED])

    assert c.named("GET DATA")[1][2:] == ["agent-pass", "8000", "6"]     # straight to the PIN
    before_queue = c.snapshots[0]
    assert before_queue["CTI_CUSTOMER_NO"] == "C0001"
    assert before_queue["CTI_AUTHENTICATED"] == "yes"
    assert before_queue["CTI_IVR_KEYS"] == "9"            # the PIN never leaves the IVR
    assert before_queue["CTI_IVR_PATH"] == "main,verify,support"
    assert "1234" not in " ".join(" ".join(cmd) for cmd in c.named("SET VARIABLE"))


async def test_an_unknown_number_types_the_customer_number_then_the_pin(ivr):
    c = await call(ivr, callerid="13900000000", keys=["9", "0001", "1234"], queue=[ANSWERED])

    assert c.named("GET DATA")[1][2] == "vm-enter-num-to-call"
    assert c.snapshots[0]["CTI_CUSTOMER_NO"] == "C0001"
    assert c.snapshots[0]["CTI_AUTHENTICATED"] == "yes"


async def test_three_wrong_pins_still_reach_an_agent_unauthenticated(ivr):
    c = await call(ivr, callerid="13800138000", keys=["9", "1111", "2222", "3333"], queue=[ANSWERED])

    assert len(c.named("STREAM FILE auth-incorrect")) == 3
    assert c.named("EXEC Queue")
    assert c.snapshots[0]["CTI_CUSTOMER_NO"] == "C0001"
    assert c.snapshots[0]["CTI_AUTHENTICATED"] == "no"


async def test_a_withheld_number_is_simply_not_identified(ivr):
    c = await call(ivr, callerid="unknown", keys=["1"], queue=[ANSWERED])

    assert "CTI_CUSTOMER_NO" not in c.snapshots[0]
    assert "CTI_AUTHENTICATED" not in c.snapshots[0]


async def test_callers_still_reach_the_queue_when_the_database_is_gone(store):
    server = IvrServer(store=store, port=0)
    await server.start()
    try:
        await store.close()                     # every lookup now fails
        c = await call(server, callerid="13800138000", keys=["9", "1234"], queue=[ANSWERED])
    finally:
        await server.stop()
    assert c.named("EXEC Queue")
    assert c.snapshots[0]["CTI_AUTHENTICATED"] == "no"
