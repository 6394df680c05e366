"""Trace 25 (the callback key pressed while the queue rings an agent for the caller, recorded on
Asterisk 22.10.1 with the shipped eventfilter) replayed into the whole server.

app_queue cancels the ring (DialEnd CANCEL, QueueCallerLeave, the agent's leg hangs up; no
AgentRingNoAnswer, no abandon) and the caller goes on to the IVR's callback node. The agent's pop
ends and they are ready again at once, the ring is not counted as their miss; the request keeps
the caller's place from the time they joined; the recorded attempt (cti-cb-trace25a) connects it;
the caller is never both connected to an agent and called back, and nobody stays reserved."""

from __future__ import annotations

from pathlib import Path

from tests.replay.test_replay import replayed, settle, states

NUMBER = "0215551234"
CALLER = "1796393105.0"  # the caller's linkedid in the trace


async def test_25_the_key_while_ringing_frees_the_agent_and_the_callback_keeps_the_place(
    db_dsn: str, tmp_path: Path
) -> None:
    async with replayed("25", db_dsn, tmp_path) as (stack, replay, panels):
        agent, boss = panels["1001"], panels["1900"]
        await replay.play()
        await settle(stack)
        assert await stack.app.callbacks.repo.flush()

        # rung for the caller, ready again when the caller left, then reserved for the callback
        assert states(agent, "1001") == [
            "ready",
            "ringing",
            "ready",
            "not_ready(callback)",
            "on_call",
            "wrap_up",
            "ready",
            "logged_out",
        ]
        ended = [d for d in agent.of_type("call_ended") if d["linkedid"] == CALLER]
        assert [d["disposition"] for d in ended] == ["caller_left_queue"]

        listed = [n for n in boss.of_type("notice") if n.get("kind") == "callbacks"]
        pending = next(
            q["pending"][0] for n in listed for q in n["queues"] if q["pending"]
        )
        assert (pending["number"], pending["place"], pending["linkedid"]) == (
            NUMBER,
            1,
            CALLER,
        )
        assert pending["joined_at"] < pending["requested_at"]
        rows = await stack.store.fetch(
            "SELECT state, attempts, agent_id, call_linkedid FROM callbacks"
        )
        assert [tuple(r) for r in rows] == [("connected", 1, "1001", "cti-cb-trace25a")]
        assert not stack.app.callbacks.reserved  # nobody left held for a callback

        status, full = await boss.get(
            "/api/workorders/"
            + await stack.store.fetchval(
                "SELECT ref FROM work_orders WHERE linkedid = $1", CALLER
            )
        )
        assert status == 200, full
        original = full["workorder"]
        # the caller was called back, never connected to the agent rung for them
        assert original["agent_id"] is None and original["answered_at"] is None
        rings = [e["data"] for e in original["events"] if e["kind"] == "ring_ended"]
        assert [(r["agent"], r["why"]) for r in rings] == [
            ("1001", "caller_left_queue")
        ]
        kinds = [e["kind"] for e in original["events"]]
        assert kinds.index("ring_ended") < kinds.index("callback_requested")
        assert "callback_connected" in kinds

        missed = await stack.store.fetchval(
            "SELECT count(*) FROM work_order_events WHERE kind = 'ring_ended' "
            "AND data->>'why' IN ('no_answer', 'declined')"
        )
        assert missed == 0  # the agent's figures count no missed call
