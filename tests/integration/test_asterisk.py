"""The slice against a real Asterisk 22 running asterisk_conf/ (see conftest.py for the settings).

AMI through our AmiClient: login, QueueStatus, the least-privilege user, an agent's
sign-in / busy / ready / sign-out confirmed by the QueueMember* events; and, with SIPp,
one inbound call through the FastAGI IVR to agent 1001 (the scenarios recorded beside
the traces in shared/ami-traces).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path

import pytest

from ctiserver.ami.client import AmiClient
from ctiserver.ami.errors import AmiActionFailed, AmiAuthError
from ivr.agi import IvrServer
from tests.integration.conftest import HOST, EventLog, ami_config
from tests.support.traces import TRACES

AGENT = "PJSIP/1003"           # no SIPp phone listens for 1003: sign-in/out only


async def test_login_and_queue_status(ami):
    status = await ami.send({"Action": "QueueStatus", "Queue": "support"})

    assert status.ok
    params = [m for m in status.events if m.name == "QueueParams"]
    assert [p.get("Queue") for p in params] == ["support"]
    assert params[0].get("Strategy") == "rrmemory"
    assert status.events[-1].name == "QueueStatusComplete"


async def test_a_wrong_secret_is_refused_with_a_clear_error():
    client = AmiClient(ami_config(secret="not-the-secret"), EventLog())
    with pytest.raises(AmiAuthError, match="refused"):
        await client.start()
    await client.close()


async def test_the_cti_user_may_rebuild_state_but_not_run_cli_commands(ami):
    channels = await ami.send({"Action": "CoreShowChannels"})       # 'reporting' is enough
    assert channels.ok and channels.events[-1].name == "CoreShowChannelsComplete"

    with pytest.raises(AmiActionFailed) as refused:                  # no 'command' class
        await ami.send({"Action": "Command", "Command": "core show version"})
    assert "permission denied" in refused.value.message.lower()


async def test_agent_sign_in_busy_ready_and_out_are_confirmed_by_events(ami):
    log: EventLog = ami.log
    is_agent = lambda m: m.get("Interface") == AGENT  # noqa: E731
    await _remove_quietly(ami, AGENT)
    try:
        await ami.send({"Action": "QueueAdd", "Queue": "support", "Interface": AGENT,
                        "StateInterface": AGENT, "MemberName": "Agent Carol", "Paused": "false"})
        added = await log.wait_for("QueueMemberAdded", is_agent)
        assert added.get("Queue") == "support" and added.get("Paused") == "0"
        assert added.get("Timestamp")                                 # timestampevents = yes

        await ami.send({"Action": "QueuePause", "Interface": AGENT, "Paused": "true", "Reason": "lunch"})
        paused = await log.wait_for("QueueMemberPause", lambda m: is_agent(m) and m.get("Paused") == "1")
        assert paused.get("PausedReason") == "lunch"

        await ami.send({"Action": "QueuePause", "Interface": AGENT, "Paused": "false"})
        await log.wait_for("QueueMemberPause", lambda m: is_agent(m) and m.get("Paused") == "0")

        status = await ami.send({"Action": "QueueStatus", "Queue": "support"})
        members = [m for m in status.events if m.name == "QueueMember" and m.get("Location") == AGENT]
        assert len(members) == 1 and members[0].get("Paused") == "0"
    finally:
        await ami.send({"Action": "QueueRemove", "Queue": "support", "Interface": AGENT})
    await log.wait_for("QueueMemberRemoved", is_agent)


async def _remove_quietly(ami, interface: str) -> None:
    try:
        await ami.send({"Action": "QueueRemove", "Queue": "support", "Interface": interface})
    except AmiActionFailed:
        pass   # not a member: the usual case


# --- one real call: SIPp caller -> 96588 -> FastAGI IVR -> queue -> SIPp phone 1001 -------------

SIPP = os.environ.get("CTI_TEST_SIPP") or shutil.which("sipp")
IVR_PORT = int(os.environ.get("CTI_TEST_IVR_PORT", "4573"))
SCENARIO = "02_ivr_queue_answer"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def _sipp(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        SIPP, *args, "-m", "1", "-nostdin", "-timeout", "60", cwd=str(TRACES),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


@pytest.mark.skipif(not SIPP or HOST not in ("127.0.0.1", "localhost"),
                    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)")
@pytest.mark.timeout(90)
async def test_an_inbound_call_goes_through_the_ivr_to_agent_1001(ami):
    log: EventLog = ami.log
    ivr = None
    if not _listening(IVR_PORT):
        ivr = IvrServer(port=IVR_PORT)
        await ivr.start()
    phone = caller = None
    await _remove_quietly(ami, "PJSIP/1001")
    try:
        await ami.send({"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/1001",
                        "StateInterface": "PJSIP/1001", "MemberName": "Agent Alice"})
        phone = await _sipp("-sf", str(Path(TRACES) / f"{SCENARIO}_uas_1001.xml"), "-i", "127.0.0.1", "-p", "5011")
        caller = await _sipp("127.0.0.1:5060", "-sf", str(Path(TRACES) / f"{SCENARIO}_uac_caller.xml"),
                             "-i", "127.0.0.1", "-p", "5061")

        keys = await log.wait_for("VarSet", lambda m: m.get("Variable") == "CTI_IVR_KEYS" and m.get("Value") == "1",
                                  timeout=20)
        caller_uid = keys.get("Uniqueid")
        path = await log.wait_for("VarSet", lambda m: m.get("Uniqueid") == caller_uid
                                  and m.get("Variable") == "CTI_IVR_PATH" and m.get("Value") == "main,support")
        called = await log.wait_for("AgentCalled", lambda m: m.get("Uniqueid") == caller_uid, timeout=20)
        assert called.get("Interface") == "PJSIP/1001" and called.get("Queue") == "support"
        # the pop's data was there before the phone rang
        assert log.items.index(path) < log.items.index(called)
        await log.wait_for("AgentConnect", lambda m: m.get("Uniqueid") == caller_uid, timeout=20)
        await log.wait_for("Hangup", lambda m: m.get("Uniqueid") == caller_uid, timeout=30)
        assert not [m for m in log.events("VarSet") if m.get("Uniqueid") == caller_uid
                    and m.get("Variable") == "AGISTATUS" and m.get("Value") == "FAILURE"]

        caller_out, _ = await asyncio.wait_for(caller.communicate(), 30)
        phone_out, _ = await asyncio.wait_for(phone.communicate(), 30)
        assert caller.returncode == 0, caller_out.decode(errors="replace")[-2000:]
        assert phone.returncode == 0, phone_out.decode(errors="replace")[-2000:]
    finally:
        for proc in (caller, phone):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
        await _remove_quietly(ami, "PJSIP/1001")
        if ivr is not None:
            await ivr.stop()
