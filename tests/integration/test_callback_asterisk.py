"""The whole server against a real Asterisk: a caller waiting in the queue presses 5, keys in the
number to call back and hangs up; when the busy agent is free the server reserves them (pause
``callback``), rings their phone and dials the number; SIPp parties of trace 21.

Caller B (From ``caller``, :5062) keeps 1001 busy; caller A (:5061) waits, presses 5, keys
0215551234# at the callback node (their From is no phone number), confirms with 1. Phone 1001
(:5011) answers B and then the callback; the "outside" number (:5071) answers and hangs up 4 s later.
What is checked is what Asterisk reports (the pause reasons, the channels, DialEnd) and what the
server shows and stores.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import running
from tests.integration.conftest import HOST, live_config, own_trace_sipp
from tests.integration.test_asterisk import SIPP

NUMBER = "0215551234"


async def _sipp(scenario: str, *args: str) -> asyncio.subprocess.Process:
    return await own_trace_sipp(f"21_callback_in_turn_{scenario}.xml", *args)


@pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost"),
    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)",
)
@pytest.mark.timeout(150)
async def test_a_keyed_in_callback_is_made_in_turn_by_the_reserved_agent(
    db_dsn: str, tmp_path: Path
) -> None:
    cfg = live_config(
        db_dsn,
        tmp_path,
        {
            "callcenter.wrapup_seconds": 1.0,
            "callbacks.dial_seconds": 20,
        },
    )
    procs: list[asyncio.subprocess.Process] = []
    async with running(cfg, seed=True) as stack:
        await stack.core.link_ready.wait()
        agent, boss = stack.client(), stack.client()
        try:
            await agent.login("1001")
            await boss.login("1900")
            await agent.connect()
            await boss.connect()
            if stack.core.book.view("1001")["state"] != "logged_out":
                await agent.post("/api/agent/state", {"state": "logged_out"})
                await agent.expect(
                    "agent_state",
                    lambda d: d["id"] == "1001" and d["state"] == "logged_out",
                )
            assert (await agent.post("/api/agent/state", {"state": "ready"}))[0] < 300
            await agent.expect(
                "agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready"
            )
            procs.append(
                await _sipp("uas_1001", "-i", "127.0.0.1", "-p", "5011", "-m", "2")
            )
            procs.append(
                await _sipp("uas_outside_A", "-i", "127.0.0.1", "-p", "5071", "-m", "1")
            )
            await asyncio.sleep(0.5)  # the UAS sockets bind (no event tells)
            procs.append(
                await _sipp(
                    "uac_caller_B",
                    "127.0.0.1:5060",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    "5062",
                    "-m",
                    "1",
                )
            )
            await agent.expect(
                "agent_state",
                lambda d: d["id"] == "1001" and d["state"] == "on_call",
                timeout=30,
            )
            procs.append(
                await _sipp(
                    "uac_caller_keyed",
                    "127.0.0.1:5060",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    "5061",
                    "-m",
                    "1",
                )
            )
            listed = await boss.expect(
                "notice",
                lambda d: (
                    d.get("kind") == "callbacks"
                    and any(q["pending"] for q in d["queues"])
                ),
                timeout=60,
            )
            entry = next(q for q in listed["queues"] if q["queue"] == "support")[
                "pending"
            ][0]
            assert entry["number"] == NUMBER

            pop = await agent.expect(
                "notice",
                lambda d: d.get("kind") == "callback" and d.get("state") == "ringing",
                timeout=60,
            )
            assert pop["number"] == NUMBER
            await boss.expect(
                "notice",
                lambda d: (
                    d.get("kind") == "callbacks"
                    and any(
                        r["id"] == entry["id"] and r["state"] == "connected"
                        for r in d["recent"]
                    )
                ),
                timeout=60,
            )
            await agent.expect(
                "agent_state",
                lambda d: d["id"] == "1001" and d["state"] == "ready",
                timeout=60,
                after=len(agent.received),
            )
            reply = await stack.core.ami.send(
                {"Action": "QueueStatus", "Queue": "support"}
            )
            member = next(
                m
                for m in reply.events
                if m.name == "QueueMember" and m.get("Location") == "PJSIP/1001"
            )
            assert (
                member.get("Paused") == "0"
            )  # the reservation and the wrap-up after it are over
            await stack.core.settled()
            assert await stack.app.callbacks.repo.flush()
            rows = await stack.store._fetch(
                "SELECT state, agent_id, number FROM callbacks WHERE id = $1",
                entry["id"],
            )
            assert [tuple(r) for r in rows] == [("connected", "1001", NUMBER)]
            for proc in procs:
                out, _ = await asyncio.wait_for(proc.communicate(), 90)
                assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
            await agent.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await agent.close()
            await boss.close()
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
