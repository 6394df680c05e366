"""The API behind the panel's states, queue choice and take-over, over real sockets against the
whole server and the simulator.

Forcing another agent's state is for supervisors only (an agent gets 403 and nothing
happens); sign-in may choose queues, validated with a 400 naming ``queues``; a login
says how many panels of that account are open elsewhere, and ``take_over`` ends them
(their sockets close with 4002) without touching queue membership.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ctiserver.web.ws import CLOSE_TAKEN_OVER


def members_of(stack: Any, login: str) -> list[dict]:
    return [m for m in stack.sim.truth()["members"] if m["interface"] == f"PJSIP/{login}"]


async def test_an_agent_cannot_force_another_agent(stack: Any) -> None:
    agent, other = stack.client(), stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        status, body = await agent.post("/api/agent/state", {"state": "ready"})
        assert status == 202, body
        await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")
        seen = len(agent.received)

        await other.login("1002")
        for state, reason in (("logged_out", None), ("not_ready", "meeting"), ("ready", None)):
            payload = {"agent": "1001", "state": state, **({"reason": reason} if reason else {})}
            status, body = await other.post("/api/agent/state", payload)
            assert status == 403, body
            assert body["error"]["code"] == "forbidden"
            assert "supervisor" in body["error"]["message"]
        # Nothing happened: the core, Asterisk's own truth and the pushed stream all agree.
        await stack.core.drained()
        assert stack.core.book.view("1001")["state"] == "ready"
        assert [m["paused"] for m in members_of(stack, "1001")] == [False]
        assert agent.received[seen:] == []
    finally:
        await agent.close()
        await other.close()


BAD_QUEUES = [
    ("support", "queues must be an array"),
    ([], "1 to 10 queue names"),
    (["support"] * 11, "1 to 10 queue names"),
    (["sup port"], "queue names (letters, digits, _ and -"),
    (["x" * 41], "at most 40 characters"),
    ([7], "queues must be a string"),
    (["support\r\nAction: Originate"], "control characters"),
    (["sales"], "unknown queue 'sales'"),
]


async def test_sign_in_queues_are_validated(stack: Any) -> None:
    agent = stack.client()
    try:
        await agent.login("1001")
        for queues, says in BAD_QUEUES:
            status, body = await agent.post("/api/agent/state", {"state": "ready", "queues": queues})
            assert status == 400, (queues, body)
            assert body["error"]["field"] == "queues", (queues, body)
            assert says in body["error"]["message"], (queues, body)
        assert members_of(stack, "1001") == []
    finally:
        await agent.close()


async def test_sign_in_with_chosen_queues(stack: Any) -> None:
    agent = stack.client()
    try:
        await agent.login("1001")
        await agent.connect()
        status, body = await agent.post("/api/agent/state", {"state": "not_ready", "reason": "training",
                                                             "queues": ["support", "support"]})
        assert status == 202, body
        view = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["reason"] == "training")
        assert view["queues"] == ["support"] and view["state"] == "not_ready"
        assert [(m["queue"], m["paused"]) for m in members_of(stack, "1001")] == [("support", True)]
    finally:
        await agent.close()


async def test_login_counts_open_panels_and_take_over_ends_them(stack: Any) -> None:
    first, second, third = stack.client(), stack.client(), stack.client()
    try:
        body = await first.login("1001")
        status, body = await first.post("/api/login", {"login": "1001", "password": "1001"})
        assert status == 200 and body["other_sessions"] == 0  # no panel open yet
        await first.connect()
        status, body = await first.post("/api/agent/state", {"state": "ready"})
        assert status == 202, body
        await first.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")

        status, body = await second.post("/api/login", {"login": "1001", "password": "1001"})
        assert status == 200, body
        assert body["other_sessions"] == 1 and body["me"]["id"] == "1001"
        status, body = await second.post("/api/login", {"login": "1001", "password": "1001", "take_over": "yes"})
        assert status == 400 and body["error"]["field"] == "take_over"

        status, body = await third.post("/api/login", {"login": "1001", "password": "1001", "take_over": True})
        assert status == 200 and body["other_sessions"] == 0, body
        assert first.ws is not None and first._reader is not None
        await asyncio.wait_for(first._reader, 5)  # the server closed it
        assert first.ws.close_code == CLOSE_TAKEN_OVER
        status, body = await first.get("/api/me")
        assert status == 401, body  # that session is over, not just its socket
        status, body = await third.get("/api/me")
        assert status == 200 and body["me"]["id"] == "1001"
        # Taking over changed nothing in Asterisk: still in the queue, still ready.
        await stack.core.drained()
        assert stack.core.book.view("1001")["state"] == "ready"
        assert [m["paused"] for m in members_of(stack, "1001")] == [False]
    finally:
        for c in (first, second, third):
            await c.close()
