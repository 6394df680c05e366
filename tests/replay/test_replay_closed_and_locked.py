"""Trace 20 (Asterisk 22.10.1, tests/traces/20_closed_and_locked.md) replayed into the whole server: the
caller who met the closed line has a work order saying why (the service_hours step, the IVR path
closed,voicemail, no queue); the caller whose wrong PIN locked C0001 pops at agent 1001 as locked, with
C0001's record, and their work order has the pin step; the PIN is in no pop and no work order."""

from __future__ import annotations

import json
from pathlib import Path

from tests.replay.test_replay import replayed, settle


async def test_20_the_closed_line_and_the_locked_pin_are_on_the_work_orders_and_the_pop(
    db_dsn: str, tmp_path: Path
) -> None:
    async with replayed("20", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        status, body = await panels["1900"].get("/api/workorders", caller="caller")
        assert status == 200 and len(body["workorders"]) == 2, body
        orders = []
        for row in body["workorders"]:
            status, full = await panels["1900"].get(f"/api/workorders/{row['ref']}")
            assert status == 200, full
            orders.append(full["workorder"])
        closed = next(
            w for w in orders if any(e["kind"] == "service_hours" for e in w["events"])
        )
        locked = next(w for w in orders if w is not closed)
        [step] = [e["data"] for e in closed["events"] if e["kind"] == "service_hours"]
        assert step == {
            "outcome": "closed",
            "reason": "closed_now",
            "hotline": "hotline",
        }
        assert closed["ivr_path"] == ["closed", "voicemail"] and not closed["queue"]
        [pin] = [e["data"] for e in locked["events"] if e["kind"] == "pin"]
        assert (pin["outcome"], pin["customer"]) == ("locked", "C0001")
        assert locked["ivr_keys"] == "9" and locked["disposition"] == "answered"

        pop = await panels["1001"].expect("call_ringing")
        assert pop["auth"] == "locked" and pop["authenticated"] is False
        # the locked number is who the caller says they are: the agent sees that record, marked locked
        assert pop["customer"] is None or pop["customer"]["customer_no"] == "C0001"
        found = await panels["1001"].expect(
            "call_ringing", lambda d: (d.get("customer") or {}).get("customer_no") == "C0001"
        )
        assert found["auth"] == "locked" and found["authenticated"] is False
        assert "9999" not in json.dumps(orders) + json.dumps(panels["1001"].received)
