"""The whole server against a real Asterisk: a caller presses the callback key while the queue is
ringing agent 1001 for them (the SIPp parties of trace 25). app_queue cancels the ring; the caller
keys 0215551234# in the IVR's callback node and confirms; the server, 1001 being ready and the
caller first in line, reserves 1001 (pause ``callback``), rings its phone and dials the number.

Phone 1001 (:5011) first rings until cancelled, then answers the callback; the "outside" number
(:5071) answers and hangs up 4 s later. Checked: what the agent's panel shows (the pop closed as
``caller_left_queue``, then the callback pop), the stored callback and work order (never connected
to the agent rung for them, called back once), and that no pause is left on 1001 in Asterisk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import running
from tests.integration.conftest import HOST, live_config, own_trace_sipp
from tests.integration.test_asterisk import SIPP
from tests.integration.test_call_control_asterisk import _hang_up_everything

NUMBER = "0215551234"


async def _sipp(scenario: str, *args: str) -> asyncio.subprocess.Process:
    return await own_trace_sipp(f"25_key_while_ringing_{scenario}.xml", *args)


@pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost"),
    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)",
)
@pytest.mark.timeout(150)
async def test_the_callback_key_while_the_agent_rings_frees_the_agent_who_then_calls_back(
    db_dsn: str, tmp_path: Path
) -> None:
    cfg = live_config(
        db_dsn,
        tmp_path,
        {"callcenter.wrapup_seconds": 1.0, "callbacks.dial_seconds": 20},
    )
    procs: list[asyncio.subprocess.Process] = []
    async with running(cfg, seed=True) as stack:
        await stack.core.link_ready.wait()
        await _hang_up_everything(
            stack
        )  # a call an earlier test left up would take 1001 first
        agent = stack.client()
        try:
            await agent.login("1001")
            await agent.connect()
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
            rings = await _sipp(
                "uas_1001_rings", "-i", "127.0.0.1", "-p", "5011", "-m", "1"
            )
            procs.append(rings)
            procs.append(
                await _sipp("uas_outside_A", "-i", "127.0.0.1", "-p", "5071", "-m", "1")
            )
            await asyncio.sleep(0.5)  # the UAS sockets bind (no event tells)
            procs.append(
                await _sipp(
                    "uac_caller_A",
                    "127.0.0.1:5060",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    "5061",
                    "-m",
                    "1",
                )
            )
            pop = await agent.expect("call_ringing", timeout=30)
            ended = await agent.expect(
                "call_ended", lambda d: d["linkedid"] == pop["linkedid"], timeout=30
            )
            assert ended["disposition"] == "caller_left_queue"
            rung = next(
                i
                for i, m in enumerate(agent.received)
                if m.get("type") == "call_ringing"
            )
            await agent.expect(  # ready again as the ring ended, not left ringing
                "agent_state",
                lambda d: d["id"] == "1001" and d["state"] == "ready",
                after=rung,
            )
            # the ringing phone got its CANCEL: it is done; the same port now answers the callback
            out, _ = await asyncio.wait_for(rings.communicate(), 30)
            assert rings.returncode == 0, out.decode(errors="replace")[-2000:]
            procs.append(
                await _sipp("uas_1001", "-i", "127.0.0.1", "-p", "5011", "-m", "1")
            )

            callback = await agent.expect(
                "notice",
                lambda d: d.get("kind") == "callback" and d.get("state") == "ringing",
                timeout=60,
            )
            assert callback["number"] == NUMBER
            assert callback["original"] == pop["linkedid"]
            await agent.expect(
                "notice",
                lambda d: d.get("kind") == "callback" and d.get("state") == "connected",
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
            assert member.get("Paused") == "0"  # neither reserved nor in wrap-up now
            assert not stack.app.callbacks.reserved

            await stack.core.settled()
            assert await stack.app.callbacks.repo.flush()
            await stack.store.flush()
            rows = await stack.store.fetch(
                "SELECT state, attempts, agent_id, number, linkedid FROM callbacks"
            )
            assert [tuple(r)[:4] for r in rows] == [("connected", 1, "1001", NUMBER)]
            assert rows[0]["linkedid"] == pop["linkedid"]
            original = await stack.store.fetchrow(
                "SELECT agent_id, answered_at FROM work_orders WHERE linkedid = $1",
                pop["linkedid"],
            )
            assert tuple(original) == (None, None)  # called back, never connected
            missed = await stack.store.fetchval(
                "SELECT count(*) FROM work_order_events WHERE kind = 'ring_ended' "
                "AND data->>'why' IN ('no_answer', 'declined')"
            )
            assert missed == 0
            for proc in procs:
                out, _ = await asyncio.wait_for(proc.communicate(), 90)
                assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
            await agent.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await _hang_up_everything(stack)
            await agent.close()
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
