"""Trace 19 (Asterisk 22.10.1, tests/traces/19_vip_priority.md) replayed into the whole server: an
ordinary caller waits while agent 1001 talks to a first caller, the VIP C0001 joins ahead of them (the
IVR's QUEUE_PRIO=10), and when 1001 is free it gets the VIP first. The agent's pops come in that order, the VIP's with its class, and
the VIP's work order has the priority step the IVR sent (UserEvent CtiStep) and the shorter wait."""

from __future__ import annotations

from pathlib import Path

from tests.replay.test_replay import replayed, settle

VIP, ORDINARY, WARM_UP = "13800138000", "13900000000", "13700000000"


async def work_order(panel, caller: str) -> dict:
    status, body = await panel.get("/api/workorders", caller=caller)
    assert status == 200 and len(body["workorders"]) == 1, body
    status, full = await panel.get(f"/api/workorders/{body['workorders'][0]['ref']}")
    assert status == 200, full
    return full["workorder"]


async def test_19_the_vip_who_joined_second_is_popped_and_answered_first(
    db_dsn: str, tmp_path: Path
) -> None:
    async with replayed("19", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        pops = panels["1001"].of_type("call_ringing")
        assert [p["caller_number"] for p in pops] == [WARM_UP, VIP, ORDINARY]
        assert [p["customer_class"] for p in pops] == [
            "not_customer",
            "vip",
            "not_customer",
        ]
        vip, ordinary = (
            await work_order(panels["1900"], VIP),
            await work_order(panels["1900"], ORDINARY),
        )
        steps = [e["data"] for e in vip["events"] if e["kind"] == "priority"]
        assert steps == [{"class": "vip", "prio": "10", "queue": "support"}]
        assert not [e for e in ordinary["events"] if e["kind"] == "priority"]
        assert (vip["customer_class"], vip["disposition"], ordinary["disposition"]) == (
            "vip",
            "answered",
            "answered",
        )
        assert (
            vip["queued_at"] > ordinary["queued_at"]
            and vip["answered_at"] < ordinary["answered_at"]
        )
