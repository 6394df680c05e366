"""The line's fallbacks on the real Asterisk (SIPp parties, the project's FastAGI IVR):

* the IVR down (nothing on its port): AGI() fails, the dialplan's ``failsafe`` queues the caller;
* the IVR stalled (its loop blocked in a session): Asterisk would wait on the AGI socket for
  ever; the IVR's watchdog ends the process, the socket closes, ``failsafe`` queues the caller;
* nobody signed in: the queue refuses twice (JOINEMPTY), the IVR goes back to the menu once,
  then to voicemail;
* the member never answers: the queue lets the caller go after 45 s (TIMEOUT), back to the menu;
* a holiday: the closed node, then voicemail.

The caller is tests/integration/fallbacks/uac_caller_keys_1_twice.xml (1 at 1.5 s, 1 again 5 s
later), agent 1001 a SIPp phone of the shared traces (02: answers after 1.5 s; 03: rings until
cancelled). Needs sipp, an Asterisk on this machine running asterisk_conf/ and the IVR port free.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

import pytest

from ctiserver.ami.errors import AmiActionFailed
from ctiserver.hours import schedule
from ivr.agi import IvrServer
from ivr.policy import LinePolicy
from tests.integration.conftest import HOST, EventLog
from tests.integration.test_line_asterisk import _in_application
from tests.integration.test_vip_priority_asterisk import (
    IVR_PORT,
    SIPP,
    _listening,
    _remove_quietly,
    _sipp,
)
from tests.support.process import ROOT, wait_for_line
from tests.support.traces import TRACES

pytestmark = [
    pytest.mark.skipif(not SIPP or HOST not in ("127.0.0.1", "localhost"),
                       reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)"),
    pytest.mark.timeout(150),
]

CALLER = str(Path(__file__).parent / "fallbacks" / "uac_caller_keys_1_twice.xml")
ANSWERS = str(Path(TRACES) / "02_ivr_queue_answer_uas_1001.xml")
RINGS_ON = str(Path(TRACES) / "03_ring_no_answer_uas_1001.xml")


@pytest.fixture
def free_ivr_port() -> int:
    if _listening(IVR_PORT):
        pytest.skip(f"port {IVR_PORT} is taken: this test decides what answers there")
    return IVR_PORT


class Parties:
    """The SIPp processes of one test, killed at the end whatever happened."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        proc = await _sipp(*args)
        self.procs.append(proc)
        return proc

    async def phone_1001(self, scenario: str, calls: int = 1) -> None:
        await self.start("-sf", scenario, "-i", "127.0.0.1", "-p", "5011", "-m", str(calls))

    async def caller(self) -> None:
        await self.start("127.0.0.1:5060", "-sf", CALLER, "-i", "127.0.0.1", "-p", "5061", "-m", "1")

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@pytest.fixture
async def parties(ami):
    for agent in ("1001", "1002", "1003"):
        await _remove_quietly(ami, f"PJSIP/{agent}")
    p = Parties()
    yield p
    await p.close()
    # a test that failed half-way leaves its channels up (SIPp killed sends no BYE): end them, so
    # the next test's 1001 is not busy
    reply = await ami.send({"Action": "CoreShowChannels"})
    for m in reply.events:
        if (m.get("Channel") or "").startswith("PJSIP/"):
            try:
                await ami.send({"Action": "Hangup", "Channel": m.get("Channel")})
            except AmiActionFailed:
                pass  # already gone
    await _remove_quietly(ami, "PJSIP/1001")


async def _sign_in_1001(ami) -> None:
    await ami.send({"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/1001",
                    "StateInterface": "PJSIP/1001", "MemberName": "Agent Alice"})


def _var(log: EventLog, uid: str, name: str) -> list[str]:
    return [m.get("Value") for m in log.events("VarSet") if m.get("Uniqueid") == uid and m.get("Variable") == name]


async def _caller_joins(log: EventLog) -> str:
    """The caller's Uniqueid once it entered the dialplan's IVR step."""
    agi = await log.wait_for("Newexten", lambda m: m.get("Application") == "AGI"
                             and (m.get("Channel") or "").startswith("PJSIP/caller-"), timeout=20)
    return agi.get("Uniqueid")


async def _hang_up(ami, log: EventLog, uid: str) -> None:
    channel = next(m.get("Channel") for m in log.events("Newchannel") if m.get("Uniqueid") == uid)
    if not log.events("Hangup") or not any(m.get("Uniqueid") == uid for m in log.events("Hangup")):
        await ami.send({"Action": "Hangup", "Channel": channel})
    await log.wait_for("Hangup", lambda m: m.get("Uniqueid") == uid, timeout=20)


async def test_with_the_ivr_down_the_caller_is_queued_and_answered(ami, parties, free_ivr_port) -> None:
    log: EventLog = ami.log
    await _sign_in_1001(ami)
    await parties.phone_1001(ANSWERS)
    await parties.caller()
    uid = await _caller_joins(log)
    await log.wait_for("AgentConnect", lambda m: m.get("Uniqueid") == uid, timeout=30)
    assert "failsafe" in _var(log, uid, "CTI_IVR_PATH")  # (AGISTATUS=FAILURE: not in the cti user's filter)
    await _hang_up(ami, log, uid)


async def test_a_stalled_ivr_ends_itself_and_its_caller_is_queued_and_answered(ami, parties, free_ivr_port) -> None:
    log: EventLog = ami.log
    env = {**os.environ, "CTI_LOG_FORMAT": "json", "CTI_IVR_STALL_EXIT_SECONDS": "2", "CTI_DB_DSN": ""}
    ivr = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.stalling_ivr", "--port", str(free_ivr_port), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_for_line(ivr, "ivr_ready")
        await _sign_in_1001(ami)
        await parties.phone_1001(ANSWERS)
        await parties.caller()
        uid = await _caller_joins(log)
        assert await asyncio.wait_for(ivr.wait(), 30) == 70  # the watchdog ended it
        await log.wait_for("AgentConnect", lambda m: m.get("Uniqueid") == uid, timeout=30)
        assert "failsafe" in _var(log, uid, "CTI_IVR_PATH")
        await _hang_up(ami, log, uid)
    finally:
        if ivr.returncode is None:
            ivr.kill()
            await ivr.wait()


@pytest.fixture
async def ivr(free_ivr_port):
    server = IvrServer(store=None, port=free_ivr_port)
    await server.start()
    yield server
    await server.stop()


def _fallbacks(log: EventLog, uid: str) -> list[str]:
    return [m.get("QueueStatus") for m in log.events("UserEvent")
            if m.get("Uniqueid") == uid and m.get("UserEvent") == "IvrFallback"]


async def test_with_nobody_signed_in_the_caller_is_sent_back_to_the_menu_then_to_voicemail(ami, parties, ivr) -> None:
    log: EventLog = ami.log
    await parties.caller()
    uid = await _caller_joins(log)
    await log.wait_for("VarSet", lambda m: m.get("Uniqueid") == uid and m.get("Variable") == "CTI_IVR_PATH"
                       and (m.get("Value") or "").endswith("voicemail"), timeout=30)
    assert _fallbacks(log, uid) == ["JOINEMPTY", "JOINEMPTY"]
    await _in_application(ami, uid, "VoiceMail")
    assert not [m for m in log.events("QueueCallerJoin") if m.get("Uniqueid") == uid]
    await _hang_up(ami, log, uid)


@pytest.mark.timeout(200)
async def test_a_queue_nobody_answers_lets_the_caller_go_back_to_the_menu_after_its_timeout(
        ami, parties, ivr) -> None:
    log: EventLog = ami.log
    await _sign_in_1001(ami)
    await parties.phone_1001(RINGS_ON, calls=10)  # rung 15 s at a time (queues.conf timeout), never answers
    await parties.caller()
    uid = await _caller_joins(log)
    joined = await log.wait_for("QueueCallerJoin", lambda m: m.get("Uniqueid") == uid, timeout=30)
    await log.wait_for("AgentCalled", lambda m: m.get("Uniqueid") == uid, timeout=10)
    fallback = await log.wait_for("UserEvent", lambda m: m.get("Uniqueid") == uid
                                  and m.get("UserEvent") == "IvrFallback", timeout=70)
    assert fallback.get("QueueStatus") == "TIMEOUT"
    left = await log.wait_for("QueueCallerLeave", lambda m: m.get("Uniqueid") == uid)
    assert 40 <= left.received_at - joined.received_at <= 55  # Queue(support,t,,,45)
    assert not [m for m in log.events("AgentConnect") if m.get("Uniqueid") == uid]
    await _hang_up(ami, log, uid)


async def test_on_a_holiday_the_caller_hears_the_closed_message_then_voicemail(ami, parties, free_ivr_port) -> None:
    log: EventLog = ami.log
    today = dt.datetime.now(dt.UTC).date().isoformat()
    hours = schedule.build(("hotline: mon-sun=00:00-23:59",), (today,), (), "UTC")
    server = IvrServer(store=None, port=free_ivr_port, policy=LinePolicy(hours, {}, None))
    await server.start()
    try:
        await _sign_in_1001(ami)  # an agent is there: the holiday closes the line all the same
        await parties.caller()
        step = await log.wait_for("UserEvent", lambda m: m.get("UserEvent") == "CtiStep"
                                  and m.get("Step") == "service_hours", timeout=20)
        assert (step.get("Outcome"), step.get("Reason")) == ("closed", "holiday")
        uid = step.get("Uniqueid")
        await log.wait_for("VarSet", lambda m: m.get("Uniqueid") == uid and m.get("Variable") == "CTI_IVR_PATH"
                           and m.get("Value") == "closed,voicemail", timeout=40)
        await _in_application(ami, uid, "VoiceMail")
        assert not [m for m in log.events("QueueCallerJoin") if m.get("Uniqueid") == uid]
        await _hang_up(ami, log, uid)
    finally:
        await server.stop()
