"""The line's decisions in the IVR against the real store: a closed hotline (hours, holiday, the
supervisors' switch) where the call enters, a VIP's queue priority, and the PIN lockout that a
new call does not reset. Demo customers: C0001 (VIP, 13800138000, PIN 1234), C0002 (ordinary)."""

from __future__ import annotations

import datetime as dt

import pytest
from structlog.testing import capture_logs

from ctiserver.hours import schedule
from ctiserver.store import Store
from ctiserver.store.guards import HotlineSwitches
from ivr.agi import IvrServer
from ivr.menu import load_menu, parse_menu
from ivr.policy import LinePolicy
from tests.unit.ivr import agi_peer
from tests.unit.ivr.agi_peer import ANSWERED, HANGUP, FakeAsteriskCall

MONDAY_NOON = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
MONDAY_NIGHT = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC)  # 22:00
NATIONAL_DAY = dt.datetime(2026, 10, 1, 4, 0, tzinfo=dt.UTC)  # a Thursday, noon
HOURS = schedule.build(
    ("hotline: mon-fri=08:00-20:00",), ("2026-10-01..2026-10-07",), (), "Asia/Shanghai"
)


@pytest.fixture
async def store(db_dsn):
    s = await Store.open(db_dsn, journal_path=None, pool_size=2)
    await s.migrate()
    await s.seed_demo()
    yield s
    await s.close()


def policy(store, now=MONDAY_NOON, **kw) -> LinePolicy:
    return LinePolicy(
        HOURS,
        {"vip": 10},
        store,
        kw.pop("max_failures", 3),
        kw.pop("lock_seconds", 600),
        clock=lambda: now,
    )


async def call(store, pol: LinePolicy, menu=None, **script) -> FakeAsteriskCall:
    server = IvrServer(store=store, menu=menu, port=0, policy=pol)
    await server.start()
    try:
        c = FakeAsteriskCall(server.port, **script)
        await c.run()
    finally:
        await server.stop()
    return c


def steps(c: FakeAsteriskCall) -> list[str]:
    return [e for e in c.user_events if e.startswith("CtiStep")]


async def test_in_hours_the_caller_gets_the_menu(store):
    c = await call(store, policy(store), keys=["1"], queue=[ANSWERED])
    assert c.named("GET DATA")[0][2] == "beep" and c.named("EXEC Queue")
    assert not any("service_hours" in e for e in steps(c))


@pytest.mark.parametrize(
    ("now", "reason"), [(MONDAY_NIGHT, "after_hours"), (NATIONAL_DAY, "holiday")]
)
async def test_out_of_hours_the_caller_hears_closed_and_leaves_a_voicemail(
    store, now, reason
):
    c = await call(store, policy(store, now), keys=["1"])

    assert c.named("STREAM FILE")[0][2] == "im-sorry"
    assert c.named("GET DATA")[0][2] == "vm-leavemsg"  # never the menu's greeting
    assert c.named("EXEC VoiceMail") and not c.named("EXEC Queue")
    assert (
        steps(c)[0]
        == f"CtiStep,Step: service_hours,Outcome: closed,Reason: {reason},Hotline: hotline"
    )
    assert c.variables["CTI_IVR_PATH"] == "closed,voicemail"
    assert c.variables["CTI_IVR_DONE"] == "yes"


async def test_the_supervisors_switch_closes_an_open_line_for_the_next_caller(store):
    await HotlineSwitches(store).set("hotline", True, "fire drill", "1900")
    c = await call(
        store, policy(store), keys=[None, None]
    )  # no key: voicemail all the same
    assert "Reason: closed_now" in steps(c)[0] and c.named("EXEC VoiceMail")

    await HotlineSwitches(store).set("hotline", False, "", "1900")
    c = await call(store, policy(store), keys=["1"], queue=[ANSWERED])
    assert c.named("EXEC Queue") and not steps(c)


async def test_a_closed_line_offers_the_callback_when_the_menu_has_one(store):
    data = load_menu_data()
    data["nodes"]["callback"] = {"type": "hangup", "prompt": "vm-tocallback"}
    c = await call(
        store, policy(store, MONDAY_NIGHT), menu=parse_menu(data), keys=["2"]
    )
    assert (
        c.variables["CTI_IVR_PATH"] == "closed,callback"
        and c.variables["CTI_IVR_KEYS"] == "2"
    )
    assert not c.named("EXEC VoiceMail")


async def test_without_a_callback_node_key_2_is_not_offered_and_ends_in_voicemail(
    store,
):
    data = load_menu_data()
    data["nodes"].pop("callback", None)
    c = await call(
        store, policy(store, MONDAY_NIGHT), menu=parse_menu(data), keys=["2", "2"]
    )
    assert c.variables["CTI_IVR_PATH"] == "closed,voicemail" and c.named(
        "EXEC VoiceMail"
    )


async def test_a_caller_sent_back_to_a_node_by_an_agent_is_not_turned_away(
    store, monkeypatch
):
    original = agi_peer.agi_environment
    monkeypatch.setattr(
        agi_peer,
        "agi_environment",
        lambda *a, **k: original(*a, **{**k, "script": "hotline?node=main"}),
    )
    c = await call(store, policy(store, MONDAY_NIGHT), keys=["1"], queue=[ANSWERED])
    assert c.named("EXEC Queue") and not steps(c)


async def test_a_caller_hanging_up_in_the_closed_node_leaves_nothing_behind(store):
    c = await call(store, policy(store, MONDAY_NIGHT), keys=[HANGUP])
    assert c.dead and not c.named("EXEC VoiceMail")
    assert "service_hours" in steps(c)[0]


async def test_the_switch_unreadable_leaves_the_line_as_its_hours_say(store):
    pol = policy(store)
    await store.close()
    c = await call(None, pol, keys=["1"], queue=[ANSWERED])
    assert c.named("EXEC Queue")


async def test_a_vip_found_by_phone_queues_with_the_vip_priority_and_an_ordinary_caller_without(
    store,
):
    vip = await call(
        store, policy(store), callerid="13800138000", keys=["1"], queue=[ANSWERED]
    )
    assert vip.snapshots[0]["QUEUE_PRIO"] == "10"
    assert "CtiStep,Step: priority,Class: vip,Prio: 10,Queue: support" in steps(vip)

    someone = await call(
        store, policy(store), callerid="13900000000", keys=["1"], queue=[ANSWERED]
    )
    assert "QUEUE_PRIO" not in someone.snapshots[0] and not steps(someone)


async def test_a_vip_who_authenticates_by_customer_number_gets_the_priority(store):
    c = await call(
        store,
        policy(store),
        callerid="13900000000",
        keys=["9", "0001", "1234"],
        queue=[ANSWERED],
    )
    assert (
        c.snapshots[0]["CTI_AUTHENTICATED"] == "yes"
        and c.snapshots[0]["QUEUE_PRIO"] == "10"
    )


async def test_wrong_pins_lock_the_number_across_calls_and_the_pin_is_never_logged(
    store,
):
    with capture_logs() as logs:
        first = await call(
            store,
            policy(store),
            callerid="13900000000",
            keys=["9", "0001", "1111", "0001", "2222"],
            queue=[ANSWERED],
        )
        assert (
            first.snapshots[0]["CTI_AUTHENTICATED"] == "no"
        )  # two wrong: not locked yet
        assert "CtiStep,Step: pin,Outcome: failed,Customer: C0001,Attempt: 3" in steps(
            first
        )

        second = await call(
            store,
            policy(store),
            callerid="13900000000",
            keys=["9", "0001", "3333"],
            queue=[ANSWERED],
        )
        assert (
            second.snapshots[0]["CTI_AUTHENTICATED"] == "locked"
        )  # the third wrong PIN, in a new call
        assert second.named("STREAM FILE vm-sorry")
        assert any(
            e.startswith("CtiStep,Step: pin,Outcome: locked,Customer: C0001")
            for e in steps(second)
        )
        assert second.named("EXEC Queue")  # still reaches an agent

        third = await call(
            store,
            policy(store),
            callerid="13900000000",
            keys=["9", "0001", "1234"],
            queue=[ANSWERED],
        )
        assert (
            third.snapshots[0]["CTI_AUTHENTICATED"] == "locked"
        )  # the right PIN does not open it
        assert "QUEUE_PRIO" not in third.snapshots[0]
    text = repr(logs)
    for pin in ("1111", "2222", "3333", "1234"):
        assert pin not in text
    assert any(e.get("event") == "ivr_pin_locked" for e in logs)


async def test_the_lock_ends_after_its_time(store):
    pol = policy(store, max_failures=1, lock_seconds=0.2)
    c = await call(
        store, pol, callerid="13900000000", keys=["9", "0001", "9999"], queue=[ANSWERED]
    )
    assert c.snapshots[0]["CTI_AUTHENTICATED"] == "locked"
    await store._run(
        lambda conn: conn.execute(
            "UPDATE customer_pin_locks SET locked_until = now() - interval '1 second'"
        )
    )  # its time has passed
    c = await call(
        store, pol, callerid="13900000000", keys=["9", "0001", "1234"], queue=[ANSWERED]
    )
    assert c.snapshots[0]["CTI_AUTHENTICATED"] == "yes"


async def test_every_flip_of_the_switch_is_kept_and_the_trail_cannot_be_rewritten(
    store,
):
    switches = HotlineSwitches(store)
    await switches.set("hotline", True, "typhoon", "1900")
    await switches.set("hotline", False, "", "1901")
    assert [
        (h.closed, h.reason, h.changed_by) for h in await switches.history("hotline")
    ] == [(False, "", "1901"), (True, "typhoon", "1900")]
    with pytest.raises(Exception, match="append-only"):
        await store._run(lambda conn: conn.execute("DELETE FROM hotline_switch_log"))


def load_menu_data() -> dict:
    import tomllib

    from ivr.menu import DEFAULT_MENU

    assert load_menu()  # the shipped menu loads with its closed node
    return tomllib.loads(DEFAULT_MENU.read_text())
