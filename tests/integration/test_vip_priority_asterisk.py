"""A VIP jumps the line on the real Asterisk: agent 1001 talks to a first caller, an ordinary caller
waits, then a caller who keys customer number C0001 and its PIN joins with QUEUE_PRIO=10 (set by the IVR
from the customer's class) ahead of them; when 1001 is free Asterisk's app_queue offers the VIP first
(the SIPp parties of trace 19; here every caller is the carrier 'caller', so the VIP is found by PIN).

Needs sipp, an Asterisk on this machine running asterisk_conf/, PostgreSQL (the tests' throwaway one)
and the IVR port free: the test serves the IVR there with the line policy (priorities) and the store.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path

import pytest

from ctiserver.ami.errors import AmiActionFailed
from ctiserver.hours import schedule
from ctiserver.store import Store
from ivr.agi import IvrServer
from ivr.policy import LinePolicy
from tests.integration.conftest import HOST, EventLog
from tests.support.traces import OWN_TRACES, TRACES

SIPP = os.environ.get("CTI_TEST_SIPP") or shutil.which("sipp")
IVR_PORT = int(os.environ.get("CTI_TEST_IVR_PORT", "4573"))
NAME = "19_vip_priority"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def _sipp(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        SIPP,
        *args,
        "-nostdin",
        "-timeout",
        "90",
        cwd=str(TRACES),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


def _own(name: str) -> str:
    return str(Path(OWN_TRACES) / f"{NAME}_{name}")


async def _remove_quietly(ami, interface: str) -> None:
    try:
        await ami.send(
            {"Action": "QueueRemove", "Queue": "support", "Interface": interface}
        )
    except AmiActionFailed:
        pass


@pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost"),
    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)",
)
@pytest.mark.timeout(150)
async def test_a_vip_who_keys_the_pin_is_answered_before_the_caller_already_waiting(
    ami, db_dsn
):
    if _listening(IVR_PORT):
        pytest.skip(
            f"port {IVR_PORT} is taken: this test serves the IVR with its own line policy"
        )
    log: EventLog = ami.log
    store = await Store.open(db_dsn, journal_path=None, pool_size=2)
    await store.migrate()
    await store.seed_demo()
    policy = LinePolicy(schedule.build((), (), (), "UTC"), {"vip": 10}, store)
    ivr = IvrServer(store=store, port=IVR_PORT, policy=policy)
    await ivr.start()
    procs: list[asyncio.subprocess.Process] = []
    for i in ("1001", "1002", "1003"):
        await _remove_quietly(ami, f"PJSIP/{i}")
    try:
        await ami.send(
            {
                "Action": "QueueAdd",
                "Queue": "support",
                "Interface": "PJSIP/1001",
                "StateInterface": "PJSIP/1001",
                "MemberName": "Agent Alice",
            }
        )
        procs.append(
            await _sipp(
                "-sf", _own("uas_1001.xml"), "-i", "127.0.0.1", "-p", "5011", "-m", "3"
            )
        )
        procs.append(
            await _sipp(
                "127.0.0.1:5060",
                "-sf",
                _own("uac_callers.xml"),
                "-inf",
                _own("warmup.csv"),
                "-i",
                "127.0.0.1",
                "-p",
                "5063",
                "-m",
                "1",
            )
        )
        warm = await log.wait_for(
            "AgentConnect", timeout=30
        )  # 1001 is busy with a first caller
        procs.append(
            await _sipp(
                "127.0.0.1:5060",
                "-sf",
                _own("uac_callers.xml"),
                "-inf",
                _own("ordinary.csv"),
                "-i",
                "127.0.0.1",
                "-p",
                "5062",
                "-m",
                "1",
            )
        )
        ordinary = await log.wait_for(
            "QueueCallerJoin",
            lambda m: m.get("Uniqueid") != warm.get("Uniqueid"),
            timeout=30,
        )
        assert (ordinary.get("Position"), ordinary.get("Count")) == ("1", "1")
        procs.append(
            await _sipp(
                "127.0.0.1:5060",
                "-sf",
                _own("uac_vip_pin.xml"),
                "-inf",
                _own("vip_pin.csv"),
                "-i",
                "127.0.0.1",
                "-p",
                "5061",
                "-m",
                "1",
            )
        )
        step = await log.wait_for(
            "UserEvent",
            lambda m: m.get("UserEvent") == "CtiStep" and m.get("Step") == "priority",
            timeout=40,
        )
        assert (step.get("Class"), step.get("Prio")) == ("vip", "10")
        vip = await log.wait_for(
            "QueueCallerJoin",
            lambda m: m.get("Uniqueid") == step.get("Uniqueid"),
            timeout=20,
        )
        assert (vip.get("Position"), vip.get("Count")) == (
            "1",
            "2",
        )  # ahead of the caller already waiting
        authenticated = [
            m
            for m in log.events("VarSet")
            if m.get("Uniqueid") == vip.get("Uniqueid")
            and m.get("Variable") == "CTI_AUTHENTICATED"
        ]
        assert authenticated and authenticated[-1].get("Value") == "yes"

        await ami.send(
            {"Action": "Hangup", "Channel": warm.get("Channel")}
        )  # 1001 free after its wrap-up
        first = await log.wait_for(
            "AgentConnect",
            lambda m: m.get("Uniqueid") != warm.get("Uniqueid"),
            timeout=30,
        )
        assert first.get("Uniqueid") == vip.get("Uniqueid")  # the VIP is answered first
        await ami.send({"Action": "Hangup", "Channel": first.get("Channel")})
        second = await log.wait_for(
            "AgentConnect",
            lambda m: m.get("Uniqueid") == ordinary.get("Uniqueid"),
            timeout=30,
        )
        await ami.send({"Action": "Hangup", "Channel": second.get("Channel")})
        for proc in procs:
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await _remove_quietly(ami, "PJSIP/1001")
        await ivr.stop()
        await store.close()
