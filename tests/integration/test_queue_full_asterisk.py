"""A full queue on the real Asterisk: the lab Asterisk restarted with ``[support](+) maxlen = 1``
appended to queues.conf (one waiting caller fills it, instead of the shipped 20), the whole server
serving the IVR (the shipped hotline menu). Agent 1001 is ready and its SIPp phone rings without
answering, so caller A waits in the queue; caller B then keys 1, app_queue refuses them
(QUEUESTATUS=FULL), the IVR sends them back to the menu once, then (1 again, FULL again) to
voicemail, as the README's fallback table says. Checked: what Asterisk reports (IvrFallback twice
with FULL, B never joining, B in VoiceMail), what the server pushes (A's pop only) and B's work
order (its IVR path, no queue wait, no agent).

Restarts the lab Asterisk (``CTI_TEST_ASTERISK_START``, default /opt/asterisk-run/start.sh) with
the overlay and plainly again after. Needs sipp, that Asterisk on this machine, the IVR port free.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import running
from tests.integration.conftest import HOST, EventLog, live_config
from tests.integration.test_call_control_asterisk import _hang_up_everything, _ready
from tests.integration.test_ivr_fallbacks_asterisk import CALLER, RINGS_ON
from tests.integration.test_line_asterisk import _in_application
from tests.integration.test_sip_accounts_asterisk import START, _restart_asterisk
from tests.integration.test_supervision_asterisk import _signed_in, _workorder
from tests.integration.test_vip_priority_asterisk import SIPP, _sipp

pytestmark = [
    pytest.mark.skipif(
        not SIPP or not START or HOST not in ("127.0.0.1", "localhost"),
        reason="needs sipp and a lab Asterisk on this machine that the test may restart",
    ),
    pytest.mark.timeout(180),
]


@pytest.fixture
async def small_queue(tmp_path: Path):
    """The lab Asterisk with a support queue that holds one caller; the plain one again after."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "queues.conf").write_text("[support](+)\nmaxlen = 1\n")
    await asyncio.to_thread(_restart_asterisk, overlay)
    yield
    await asyncio.to_thread(_restart_asterisk, None)


async def _caller(port: str) -> asyncio.subprocess.Process:
    return await _sipp(
        "127.0.0.1:5060", "-sf", CALLER, "-i", "127.0.0.1", "-p", port, "-m", "1"
    )


def _fallbacks(log: EventLog, uid: str) -> list[str]:
    return [
        m.get("QueueStatus")
        for m in log.events("UserEvent")
        if m.get("Uniqueid") == uid and m.get("UserEvent") == "IvrFallback"
    ]


async def test_a_caller_who_finds_the_queue_full_goes_back_to_the_menu_then_to_voicemail(
    small_queue, ami, db_dsn: str, tmp_path: Path
) -> None:
    log: EventLog = ami.log
    cfg = live_config(db_dsn, tmp_path, {"callcenter.wrapup_seconds": 1.0})
    procs: list[asyncio.subprocess.Process] = []
    async with running(cfg, seed=True) as stack:
        await stack.core.link_ready.wait()
        agent, boss = await _signed_in(stack, "1001", "1900")
        try:
            await _ready(agent, "1001")
            # 1001 rung 15 s at a time, never answering: A stays in the queue
            procs.append(
                await _sipp(
                    "-sf", RINGS_ON, "-i", "127.0.0.1", "-p", "5011", "-m", "10"
                )
            )
            procs.append(await _caller("5061"))
            a = await log.wait_for("QueueCallerJoin", timeout=30)
            assert (a.get("Queue"), a.get("Count")) == ("support", "1")

            procs.append(await _caller("5062"))
            first = await log.wait_for(
                "UserEvent",
                lambda m: (
                    m.get("UserEvent") == "IvrFallback"
                    and m.get("Uniqueid") != a.get("Uniqueid")
                ),
                timeout=30,
            )
            b = first.get("Uniqueid")
            await log.wait_for(
                "VarSet",
                lambda m: (
                    m.get("Uniqueid") == b
                    and m.get("Variable") == "CTI_IVR_PATH"
                    and (m.get("Value") or "").endswith("voicemail")
                ),
                timeout=30,
            )
            assert _fallbacks(log, b) == ["FULL", "FULL"]
            await _in_application(ami, b, "VoiceMail")
            assert not [
                m for m in log.events("QueueCallerJoin") if m.get("Uniqueid") == b
            ]
            # A never lost its place: still the one caller waiting, 1001 still being rung for them
            reply = await ami.send({"Action": "QueueStatus", "Queue": "support"})
            waiting = [
                m.get("Uniqueid") for m in reply.events if m.name == "QueueEntry"
            ]
            assert waiting == [a.get("Uniqueid")]
            # the agent's panel popped A alone: B never reached anyone
            pops = [d["linkedid"] for d in agent.of_type("call_ringing")]
            assert pops and set(pops) == {a.get("Linkedid")}

            await _hang_up_everything(stack)
            await stack.core.settled()
            ref = await stack.store.fetchval(
                "SELECT ref FROM work_orders WHERE linkedid = $1",
                first.get("Linkedid"),
            )
            assert ref, "B's call has a work order"
            wo = await _workorder(stack, boss, ref)
            assert wo["ivr_path"] == [
                "main",
                "support",
                "main",
                "support",
                "voicemail",
            ], wo
            assert wo["disposition"] == "no_agent" and wo["queue"] is None, wo
            assert wo["agent_id"] is None and wo["answered_at"] is None, wo
            assert wo["queued_at"] is None and wo["wait_seconds"] in (None, 0), wo
            await agent.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await _hang_up_everything(stack)
            await agent.close()
            await boss.close()
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
