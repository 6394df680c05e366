"""Callbacks keeping the caller's place in line, against the simulator (the whole product runs).

A caller waiting in the queue presses 5, keeps their own number (1) and is let go; when the
callback's turn comes the server reserves a ready agent (queue pause ``callback``), rings the
agent's phone with a pop marked callback, then dials the caller. What a user would notice is
checked: the pushes to the agent's and the supervisor's panels, what the simulator's Asterisk
really does (the agent paused, the calls made) and the work orders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config
from tests.support.calls import is_state, panels, ready, workorder
from tests.support.wait import eventually

CALLER = "13800138000"
BUSY_CALLER = "13900000002"
WAIT = 30.0


@pytest.fixture
async def cbstack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    overrides = {
        "callcenter.wrapup_seconds": 1.0,
        "callbacks.retries": 1,
        "callbacks.retry_seconds": 0.5,
        "callbacks.agent_ring_seconds": 5,
        "callbacks.dial_seconds": 5,
    }
    async with running(stack_config(db_dsn, tmp_path, **overrides)) as s:
        await s.core.link_ready.wait()
        yield s


def paused_reason(stack: Any, interface: str) -> str | None:
    """The pause reason the simulator's queues really have for ``interface`` (None: not paused)."""
    truth = stack.sim.interface_truth(interface)
    return truth["reason"] if truth["paused"] else None


async def busy_agent_and_waiting_caller(stack: Any, agent: Any) -> tuple[Any, Any]:
    """1001 ready then talking to another caller; a second caller waits in the queue, presses 5, keeps
    their number (1) and is let go by the IVR."""
    stack.sim.set_phone("1001", Phone(answer_after=0.2))
    busy = await stack.sim.place_call(
        CallerScript(number=BUSY_CALLER, name="Li Na", keys="1", keys_at=0.2)
    )
    await agent.expect("agent_state", is_state("1001", "on_call"))
    # 5 while waiting (the queue's exit key), then 1 to keep the number the IVR says back
    waiting = await stack.sim.place_call(
        CallerScript(
            number=CALLER, name="Zhang Wei", dtmf=((0.2, "1"), (3.0, "5"), (11.0, "1"))
        )
    )
    return busy, waiting


async def test_a_caller_who_presses_5_is_called_back_in_turn_by_a_reserved_agent(
    cbstack,
) -> None:
    stack = cbstack
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        busy, _ = await busy_agent_and_waiting_caller(stack, agent)

        # the request is in line, for the supervisor, and the caller is gone (no channel left behind)
        listed = await boss.expect(
            "notice",
            lambda d: (
                d.get("kind") == "callbacks" and any(q["pending"] for q in d["queues"])
            ),
            timeout=WAIT,
        )
        entry = next(q for q in listed["queues"] if q["queue"] == "support")["pending"][
            0
        ]
        assert (entry["number"], entry["place"], entry["state"]) == (
            CALLER,
            1,
            "pending",
        )
        original = entry["linkedid"]
        await eventually(
            lambda: (
                not [
                    c
                    for c in stack.sim.truth()["channels"]
                    if c["linkedid"] == original
                ]
            ),
            timeout=WAIT,
        )
        status, body = await boss.get("/api/callbacks")
        assert status == 200 and body["queues"][0]["pending"][0]["id"] == entry["id"], (
            body
        )
        assert (await agent.get("/api/callbacks"))[0] == 403

        # the agent's call ends: after wrap-up the agent is reserved (paused 'callback') and rung first
        stack.sim.set_phone("outside", Phone(answer_after=0.3))
        await busy.hangup()
        pop = await agent.expect(
            "notice",
            lambda d: d.get("kind") == "callback" and d.get("state") == "ringing",
            timeout=WAIT,
        )
        assert (pop["number"], pop["queue"], pop["original"]) == (
            CALLER,
            "support",
            original,
        )
        assert pop["joined_at"] < pop["requested_at"]
        attempt = pop["linkedid"]
        # then the caller is dialled and answers: the callback is done, the agent talks to the caller
        done = await boss.expect(
            "notice",
            lambda d: (
                d.get("kind") == "callbacks"
                and any(
                    r["id"] == entry["id"] and r["state"] == "connected"
                    for r in d["recent"]
                )
            ),
            timeout=WAIT,
        )
        assert not any(q["pending"] or q["ringing"] for q in done["queues"])
        talking = [c for c in stack.sim.truth()["channels"] if c["linkedid"] == attempt]
        assert sorted(c["channel"].rsplit("-", 1)[0] for c in talking) == [
            "PJSIP/1001",
            "PJSIP/outside",
        ]
        await agent.expect(
            "agent_state",
            lambda d: (
                d["id"] == "1001" and d["state"] == "on_call" and d["call"] == attempt
            ),
            timeout=WAIT,
        )

        # the agent hangs up: the 'callback' pause becomes the wrap-up, which ends by itself
        assert paused_reason(stack, "PJSIP/1001") == "callback"
        outside = next(
            c["channel"] for c in talking if c["channel"].startswith("PJSIP/outside")
        )
        mark = len(agent.received)
        stack.sim.find_channel(outside).request_hangup(16)  # the caller hangs up
        await agent.expect(
            "agent_state", is_state("1001", "wrap_up"), after=mark, timeout=WAIT
        )
        await agent.expect(
            "agent_state", is_state("1001", "ready"), after=mark, timeout=WAIT
        )
        await eventually(
            lambda: paused_reason(stack, "PJSIP/1001") is None, timeout=WAIT
        )

        wo = await workorder(
            stack,
            boss,
            original,
            ("callback_requested", "callback_attempt", "callback_connected"),
        )
        steps = {e["kind"]: e["data"] for e in wo["events"]}
        assert (
            steps["callback_requested"]["number"] == CALLER
            and steps["callback_attempt"]["agent"] == "1001"
        )
        call_wo = await workorder(stack, boss, attempt, ("callback_call",))
        assert (call_wo["direction"], call_wo["agent_id"]) == ("outbound", "1001")
        rows = await stack.store._fetch(
            "SELECT state, attempts, agent_id FROM callbacks WHERE id = $1", entry["id"]
        )
        assert [tuple(r) for r in rows] == [("connected", 1, "1001")]

        # the day's figures: the caller called back counts answered (not abandoned), waited from joining
        # the queue until they answered the callback
        status, body = await boss.get("/api/stats/queues")
        assert status == 200, body
        support = next(q for q in body["queues"] if q["queue"] == "support")
        assert (support["offered"], support["answered"], support["abandoned"]) == (
            2,
            2,
            0,
        )
        assert support["callbacks"] == {
            "requested": 1,
            "connected": 1,
            "waiting": 0,
            "failed": 0,
        }
        assert support["max_wait_seconds"] >= pop["requested_at"] - pop["joined_at"]


async def test_an_unanswered_callback_is_retried_then_becomes_a_manual_work_order(
    cbstack,
) -> None:
    stack = cbstack
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        await ready(agent, "1001")
        busy, _ = await busy_agent_and_waiting_caller(stack, agent)
        listed = await boss.expect(
            "notice",
            lambda d: (
                d.get("kind") == "callbacks" and any(q["pending"] for q in d["queues"])
            ),
            timeout=WAIT,
        )
        entry = next(q for q in listed["queues"] if q["queue"] == "support")["pending"][
            0
        ]

        stack.sim.set_phone("outside", Phone(decline_after=0.3))  # busy, every time
        await busy.hangup()
        failed = await boss.expect(
            "notice",
            lambda d: (
                d.get("kind") == "callbacks"
                and any(
                    r["id"] == entry["id"] and r["state"] == "failed"
                    for r in d["recent"]
                )
            ),
            timeout=60,
        )
        last = next(r for r in failed["recent"] if r["id"] == entry["id"])
        assert (
            last["attempts"] == 2 and last["outcome"] == "BUSY"
        )  # the first try and one retry
        # the agent was rung twice (once per attempt), and is free again
        pops = [
            n
            for n in agent.of_type("notice")
            if n.get("kind") == "callback" and n.get("state") == "ringing"
        ]
        assert len(pops) == 2
        await eventually(
            lambda: paused_reason(stack, "PJSIP/1001") is None, timeout=WAIT
        )

        wo = await workorder(
            stack, boss, entry["linkedid"], ("callback_requested", "callback_failed")
        )
        kinds = [e["kind"] for e in wo["events"]]
        assert (
            kinds.count("callback_not_reached") == 2
            and kinds.count("callback_attempt") == 2
        )
        _, body = await boss.get("/api/stats/queues")
        support = next(q for q in body["queues"] if q["queue"] == "support")
        assert (support["answered"], support["abandoned"]) == (
            1,
            1,
        )  # the center did not reach the caller
        assert support["callbacks"] == {
            "requested": 1,
            "connected": 0,
            "waiting": 0,
            "failed": 1,
        }
        manual = await stack.store._fetch(
            "SELECT summary FROM work_orders WHERE created_by = 'callback' "
            "AND caller_number = $1",
            CALLER,
        )
        assert [r["summary"] for r in manual] == [
            f"Callback failed: call {CALLER} back"
        ]


async def test_an_agent_left_paused_for_a_callback_that_is_not_theirs_is_made_ready_again(
    cbstack,
) -> None:
    # e.g. a sign-in restored with its last pause after Asterisk restarted mid-reservation
    stack = cbstack
    async with panels(stack, "1001") as p:
        agent = p["1001"]
        await ready(agent, "1001")
        mark = len(agent.received)
        await stack.core.ami.send(
            {
                "Action": "QueuePause",
                "Interface": "PJSIP/1001",
                "Paused": "true",
                "Reason": "callback",
            }
        )
        await agent.expect("agent_state", is_state("1001", "not_ready"), after=mark)
        await agent.expect("agent_state", is_state("1001", "ready"), after=mark)
        assert paused_reason(stack, "PJSIP/1001") is None
