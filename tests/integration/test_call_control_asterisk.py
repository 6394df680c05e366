"""The whole server against a real Asterisk: a SIPp call held, retrieved and hung up from the API.

The SIPp parties are the ones recorded for trace 07 (the caller presses 1 and waits; phone
1001 answers and waits). What is checked is what Asterisk itself reports: the customer's
channel really sits in the `hold` context while held and is bridged to the agent again
after retrieve, and the work order counts the hold.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import running, stack_config
from tests.integration.conftest import HOST, PORT, SECRET, USER
from tests.integration.test_asterisk import IVR_PORT, SIPP, _listening, _sipp
from tests.support.traces import TRACES

SCENARIO = "07_ami_redirect_hold"


async def channels(stack) -> list[dict]:
    reply = await stack.core.ami.send({"Action": "CoreShowChannels"})
    return [m.as_dict() for m in reply.events if m.name == "CoreShowChannel"]


@pytest.mark.skipif(not SIPP or HOST not in ("127.0.0.1", "localhost"),
                    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)")
@pytest.mark.timeout(120)
@pytest.mark.parametrize("who_hangs_up", ["panel", "agent_phone"])
async def test_hold_retrieve_and_hang_up(who_hangs_up: str, db_dsn: str, tmp_path: Path) -> None:
    """After retrieve (an AMI Bridge) Asterisk sends a leg left alone back to its dialplan:
    whoever ends the call, the customer must be hung up too, never put back on hold or requeued."""
    if _listening(IVR_PORT):
        pytest.skip(f"something already listens on the IVR port {IVR_PORT}; this test runs its own server's IVR")
    cfg = stack_config(db_dsn, tmp_path, **{"ami.host": HOST, "ami.port": PORT, "ami.username": USER,
                                            "ami.secret": SECRET, "ivr.port": IVR_PORT})
    phone = caller = None
    async with running(cfg, seed=True) as stack:
        await stack.core.link_ready.wait()
        agent = stack.client()
        try:
            await agent.login("1001")
            await agent.connect()
            if stack.core.book.view("1001")["state"] != "logged_out":
                await agent.post("/api/agent/state", {"state": "logged_out"})
                await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "logged_out")
            status, body = await agent.post("/api/agent/state", {"state": "ready"})
            assert status < 300, body
            await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")
            phone = await _sipp("-sf", str(Path(TRACES) / f"{SCENARIO}_uas_1001.xml"), "-i", "127.0.0.1",
                                "-p", "5011")
            caller = await _sipp("127.0.0.1:5060", "-sf", str(Path(TRACES) / f"{SCENARIO}_uac_caller.xml"),
                                 "-i", "127.0.0.1", "-p", "5061")
            pop = await agent.expect("call_ringing", timeout=30)
            linkedid = pop["linkedid"]
            await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call", timeout=30)

            status, body = await agent.post(f"/api/calls/{linkedid}/hold", {})
            assert status == 202, body
            await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_hold", timeout=15)
            chans = await channels(stack)
            customer = next(c for c in chans if c["Channel"].startswith("PJSIP/caller"))
            agent_leg = next(c for c in chans if c["Channel"].startswith("PJSIP/1001"))
            assert customer["Context"] == "hold"  # Asterisk really put the caller on music
            assert agent_leg["Context"] == "agent-wait"  # and the agent's leg survived

            mark = len(agent.received)
            status, body = await agent.post(f"/api/calls/{linkedid}/retrieve", {})
            assert status == 202, body
            await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call",
                               after=mark, timeout=15)
            chans = await channels(stack)
            bridges = {c["Channel"].split("-")[0]: c.get("BridgeId") for c in chans}
            assert bridges["PJSIP/caller"] and bridges["PJSIP/caller"] == bridges["PJSIP/1001"]

            if who_hangs_up == "panel":
                status, body = await agent.post(f"/api/calls/{linkedid}/hangup", {})
                assert status == 202, body
            else:  # as the agent's phone hanging up would: Asterisk hangs up the agent's channel
                leg = next(c for c in await channels(stack) if c["Channel"].startswith("PJSIP/1001"))
                await stack.core.ami.send({"Action": "Hangup", "Channel": leg["Channel"]})
            ended = await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=15)
            assert ended["disposition"] == "answered"
            await stack.core.settled()
            await stack.store.flush()
            status, wo = await agent.get(f"/api/workorders/{ended['workorder_ref']}")
            assert status == 200, wo
            kinds = [e["kind"] for e in wo["workorder"]["events"]]
            assert "hold" in kinds and "retrieve" in kinds, kinds
            assert kinds.count("hold") == 1, kinds  # the customer's way back through `hold` is no new hold
            assert not [c for c in await channels(stack) if c["Channel"].startswith("PJSIP/caller")]
            await agent.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await agent.close()
            for proc in (caller, phone):
                if proc is not None and proc.returncode is None:
                    proc.kill()
                    await proc.wait()
