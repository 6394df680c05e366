"""The store side of issue 3 on a real PostgreSQL: who forced a change, desired sign-ins that
survive an outage and a restart, and a day's statistics computed from what was written."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ctiserver.errors import InvalidInput, NotFound
from ctiserver.stats import StatsService, day_bounds
from ctiserver.store import AgentStateOp, SigninOp, Store, StoreUnavailable, WorkOrderOp
from ctiserver.store.ops import op_from_json, op_to_json
from tests.adapters.store.conftest import FAST, TcpProxy

DAY = date(2026, 11, 20)
START, END = day_bounds(DAY)


def t(hms: str, day_offset: int = 0) -> float:
    h, m, s = (int(x) for x in hms.split(":"))
    return (START + timedelta(days=day_offset, hours=h, minutes=m, seconds=s)).timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


async def test_a_forced_change_records_the_supervisor_and_old_journal_lines_still_load(store: Store) -> None:
    store.submit(AgentStateOp.new("1001", "ready", "not_ready", "meeting", "forced", at=t("09:00:00"), by="1900"))
    store.submit(AgentStateOp.new("1001", "not_ready", "ready", None, "agent", at=t("09:30:00")))
    await store.flush(5)
    [forced, own] = await store.agent_state_log(START, END, "1001")
    assert (forced.to_state, forced.reason, forced.by_agent_id) == ("not_ready", "meeting", "1900")
    assert own.by_agent_id is None and forced.to_json()["by"] == "1900"

    line = op_to_json(AgentStateOp.new("1001", None, "ready", at=t("08:00:00")))
    del line["by"]  # a journal written before this field existed
    assert op_from_json(json.loads(json.dumps(line))).by is None
    with pytest.raises(InvalidInput):
        AgentStateOp.new("1001", "ready", "not_ready", by="x" * 65)


async def test_desired_sign_ins_are_set_replaced_and_cleared(store: Store) -> None:
    await store.set_signin("1001", {"support": 0, "vip": 2}, paused=True, reason="lunch")
    await store.set_signin("1002", {"support": 1})
    await store.set_signin("1001", {"support": 0, "vip": 2}, paused=False)
    await store.set_signin("1003", {"support": 0})
    await store.clear_signin("1003")
    await store.clear_signin("1002")
    await store.set_signin("1002", {"support": 5}, paused=True, reason="training")
    got = await store.list_signins()  # sees every change submitted before it
    assert [(s.agent_id, dict(s.queues), s.paused, s.reason) for s in got] == [
        ("1001", {"support": 0, "vip": 2}, False, None), ("1002", {"support": 5}, True, "training")]
    assert got[1].to_json()["queues"] == {"support": 5} and got[1].to_json()["updated_at"]

    bad = [(("1001", {}), {}, "queues"), (("1001", {"support": -1}), {}, "queues"),
           (("1001", {"sup\r\nport": 0}), {}, "queues"), (("1001", {"support": True}), {}, "queues"),
           (("1001", {"support": 0}), {"paused": True, "reason": "lunch\nAction: Logoff"}, "reason"),
           (("", {"support": 0}), {}, "agent_id")]
    for args, kwargs, field in bad:
        with pytest.raises(InvalidInput) as info:
            await store.set_signin(*args, **kwargs)
        assert info.value.field == field, (args, kwargs)
    assert len(await store.list_signins()) == 2  # nothing half-written


async def test_a_sign_in_made_while_postgresql_is_away_is_kept_through_a_restart(db_dsn: str, tmp_path: Path) -> None:
    parts = urlsplit(db_dsn)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    via = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    journal = str(tmp_path / "journal.jsonl")
    store = await Store.open(via, journal_path=journal, **FAST)
    try:
        await store.migrate()
        await store.seed_demo()
        await proxy.stop()  # PostgreSQL goes away
        await store.set_signin("1001", {"support": 0}, paused=True, reason="break")  # still accepted
        with pytest.raises(StoreUnavailable):
            await store.list_signins(timeout=0.5)
    finally:
        await store.close(timeout=0.5)  # the op stays in the journal
    await proxy.start()
    again = await Store.open(via, journal_path=journal, **FAST)
    try:
        [signin] = await again.list_signins()
        assert (signin.agent_id, dict(signin.queues), signin.paused, signin.reason) == (
            "1001", {"support": 0}, True, "break")
    finally:
        await again.close()
        await proxy.stop()


async def test_a_replayed_journal_does_not_bring_back_an_older_sign_in(store: Store) -> None:
    old = SigninOp.new("1001", {"support": 0}, at=t("08:00:00"))
    out = SigninOp.new("1001", None, at=t("09:00:00"))
    newer = SigninOp.new("1002", {"support": 0}, at=t("10:00:00"))
    stale = SigninOp.new("1002", {"support": 9}, at=t("09:59:00"))
    for op in (old, out, newer, stale, old, out):  # a crash before the ack replays ops already applied
        store.submit(op)
    assert [(s.agent_id, dict(s.queues)) for s in await store.list_signins()] == [("1002", {"support": 0})]


async def day_of_work(store: Store) -> None:
    """1001 works 00:00-02:00 (signed in since 23:30 the day before), answers one call, misses one."""
    log = [("23:30:00", -1, None, "ready", None), ("00:10:00", 0, "ready", "not_ready", "lunch"),
           ("00:40:00", 0, "not_ready", "ready", None), ("01:00:00", 0, "ready", "ringing", None),
           ("01:00:20", 0, "ringing", "ready", None), ("01:01:00", 0, "ready", "ringing", None),
           ("01:01:10", 0, "ringing", "on_call", None), ("01:05:10", 0, "on_call", "wrap_up", None),
           ("01:05:40", 0, "wrap_up", "ready", None), ("02:00:00", 0, "ready", "logged_out", None)]
    for hms, off, old, new, reason in log:
        store.submit(AgentStateOp.new("1001", old, new, reason, "test", at=t(hms, off)))
    store.submit(AgentStateOp.new("1002", None, "ready", at=t("01:00:00")))
    store.submit(AgentStateOp.new("1900", None, "ready", at=t("08:00:00", -3)))  # a supervisor, days ago
    store.submit(AgentStateOp.new("1900", "ready", "logged_out", at=t("09:00:00", -3)))

    missed = "sim-missed"
    store.submit(WorkOrderOp.new(missed, "created", {"created_at": iso(t("00:59:50"))}, at=t("00:59:50")))
    store.submit(WorkOrderOp.new(missed, "queued", {"queue": "support"}, at=t("00:59:55")))
    store.submit(WorkOrderOp.new(missed, "ring_ended", {}, {"agent": "1001", "why": "no_answer"}, at=t("01:00:20")))
    store.submit(WorkOrderOp.new(missed, "ring_ended", {}, {"agent": "1002", "why": "answered_elsewhere"},
                                 at=t("01:00:20")))
    # A ring that names only the phone rung counts for the account that has that phone.
    store.submit(WorkOrderOp.new(missed, "ring_ended", {}, {"interface": "PJSIP/1002", "why": "declined"},
                                 at=t("01:00:21")))
    store.submit(WorkOrderOp.new(missed, "ended", {"disposition": "abandoned", "wait_seconds": 30.0,
                                                   "ended_at": iso(t("01:00:25"))}, at=t("01:00:25")))
    took = "sim-taken"
    store.submit(WorkOrderOp.new(took, "created", {"created_at": iso(t("01:00:50"))}, at=t("01:00:50")))
    store.submit(WorkOrderOp.new(took, "queued", {"queue": "support"}, at=t("01:00:55")))
    store.submit(WorkOrderOp.new(took, "answered", {"agent_id": "1001", "answered_at": iso(t("01:01:10")),
                                                    "wait_seconds": 15.0}, at=t("01:01:10")))
    store.submit(WorkOrderOp.new(took, "ended", {"agent_id": "1001", "disposition": "answered", "talk_seconds": 240.0,
                                                 "ended_at": iso(t("01:05:10"))}, at=t("01:05:10")))
    store.submit(WorkOrderOp.new(took, "survey", {}, {"agent": "1001", "queue": "support", "outcome": "rated",
                                                      "rating": 4}, at=t("01:05:30")))
    # Yesterday's call and a declined ring at 23:59 are not today's.
    store.submit(WorkOrderOp.new("sim-old", "created", {"created_at": iso(t("23:59:00", -1)), "queue": "support"},
                                 at=t("23:59:00", -1)))
    store.submit(WorkOrderOp.new("sim-old", "ring_ended", {}, {"agent": "1001", "why": "declined"},
                                 at=t("23:59:30", -1)))
    await store.flush(5)


async def test_a_day_of_work_gives_figures_that_add_up(store: Store) -> None:
    await day_of_work(store)
    stats = StatsService(store, service_level_seconds=20, queues=("support",), clock=lambda: END + timedelta(hours=5))
    body = await stats.agents(DAY)
    by_id = {a["agent_id"]: a for a in body["agents"]}
    assert set(by_id) == {"1001", "1002", "1003"} and body["date"] == "2026-11-20"
    three_days_ago = {a["agent_id"]: a for a in (await stats.agents(DAY - timedelta(days=3)))["agents"]}
    assert three_days_ago["1900"]["signed_in_seconds"] == 3600  # listed on the day they signed in
    a = by_id["1001"]
    assert a["name"] and a["signed_in_seconds"] == 7200
    assert a["busy_seconds"] == {"lunch": 1800} and a["ringing_seconds"] == 30
    assert (a["talk_seconds"], a["wrapup_seconds"], a["talk_calls"], a["avg_talk_seconds"]) == (240, 30, 1, 240.0)
    assert a["ready_seconds"] == 7200 - 1800 - 30 - 240 - 30
    assert (a["answered"], a["missed"]) == (1, 1)
    assert a["first_sign_in"] == START.isoformat() and a["last_sign_out"] == iso(t("02:00:00"))
    assert by_id["1002"]["signed_in_seconds"] == 23 * 3600 and by_id["1002"]["last_sign_out"] is None
    assert by_id["1003"]["signed_in_seconds"] == 0 and by_id["1003"]["first_sign_in"] is None

    assert by_id["1002"]["missed"] == 1 and a["survey"]["rated"] == 1 and a["survey"]["avg_rating"] == 4
    # One agent's figures (what each panel asks for, read for that agent alone) are that agent's
    # row of everyone's, for every agent.
    for agent_id, row in by_id.items():
        [only] = (await stats.agents(DAY, agent_id))["agents"]
        assert only == row
    with pytest.raises(NotFound):
        await stats.agents(DAY, "4242")

    [support] = (await stats.queues_day(DAY))["queues"]
    assert (support["offered"], support["answered"], support["abandoned"], support["answered_within_sl"]) == (
        2, 1, 1, 1)
    assert (support["avg_wait_seconds"], support["max_wait_seconds"], support["avg_handle_seconds"]) == (
        15.0, 30.0, 240.0)
    assert support["service_level_pct"] == 50.0


async def test_live_figures_stop_at_now(store: Store) -> None:
    await day_of_work(store)
    now = START + timedelta(hours=1, minutes=3)
    stats = StatsService(store, clock=lambda: now)
    [a] = (await stats.agents(DAY, "1001"))["agents"]
    assert a["signed_in_seconds"] == 3780 and a["talk_seconds"] == 110 and a["last_sign_out"] is None
    [b] = (await StatsService(store, clock=lambda: now).agents(DAY + timedelta(days=1), "1001"))["agents"]
    assert b["signed_in_seconds"] == 0  # tomorrow has not begun
