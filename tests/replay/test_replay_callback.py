"""Trace 21 (a callback keeping the place in line, recorded on Asterisk 22.10.1 with the shipped
eventfilter) replayed into the whole server: the caller's request is kept in line at the time they
joined the queue, the recorded attempt (ChannelId cti-cb-…, CTI_CALLBACK_ID on the agent's channel) is
the callback's, its DialEnd ANSWER completes it, and the work orders say so."""

from __future__ import annotations

from pathlib import Path

from tests.replay.test_replay import replayed, settle

CALLER = "13800138000"


async def test_21_the_request_is_kept_in_line_and_the_recorded_attempt_completes_it(
    db_dsn: str, tmp_path: Path
) -> None:
    async with replayed("21", db_dsn, tmp_path) as (stack, replay, panels):
        agent, boss = panels["1001"], panels["1900"]
        await replay.play()
        await settle(stack)
        assert await stack.app.callbacks.repo.flush()

        listed = [n for n in boss.of_type("notice") if n.get("kind") == "callbacks"]
        pending = next(
            q["pending"][0] for n in listed for q in n["queues"] if q["pending"]
        )
        assert (
            pending["number"],
            pending["queue"],
            pending["place"],
            pending["position"],
        ) == (CALLER, "support", 1, 1)
        assert (
            pending["joined_at"] < pending["requested_at"]
        )  # in line from the QueueCallerJoin, not the key
        done = listed[-1]
        assert [r["state"] for r in done["recent"]] == ["connected"] and not done[
            "queues"
        ][0]["pending"]
        pops = [n for n in agent.of_type("notice") if n.get("kind") == "callback"]
        assert pops[0]["state"] == "ringing" and pops[0]["number"] == CALLER
        assert (
            pops[0]["linkedid"] == "cti-cb-trace21a"
            and pops[0]["original"] == pending["linkedid"]
        )

        status, body = await boss.get("/api/workorders", caller=CALLER)
        assert status == 200, body
        original = next(
            w for w in body["workorders"] if w["linkedid"] == pending["linkedid"]
        )
        status, full = await boss.get(f"/api/workorders/{original['ref']}")
        kinds = [e["kind"] for e in full["workorder"]["events"]]
        assert (
            kinds.index("callback_requested")
            < kinds.index("callback_attempt")
            < kinds.index("callback_connected")
        )
        rows = await stack.store._fetch(
            "SELECT state, attempts, agent_id, call_linkedid FROM callbacks"
        )
        assert [tuple(r) for r in rows] == [("connected", 1, "1001", "cti-cb-trace21a")]
