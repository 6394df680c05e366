"""The whole server against a real Asterisk: a supervisor monitors a SIPp call (listen, whisper,
barge, stop) and intercepts one, from the API, with the actions trace 18 recorded.

The parties are trace 18's SIPp scenarios (tests/traces/): the caller presses 1 in the IVR and
waits, phone 1001 answers, phone 1900 answers the server's Originate into ``cti-spy``. What is
checked is what Asterisk itself reports (CoreShowChannels: the supervisor's channel in ChanSpy,
then bridged with the customer, the agent's leg gone) and the steps on the call's work order.
A mode switch is confirmed by the DTMFEnd Asterisk reports on the spy channel (PlayDTMF
Receive=true; trace 18 shows ChanSpy really switching).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import running
from tests.integration.conftest import HOST, live_config
from tests.integration.test_asterisk import SIPP, _sipp
from tests.integration.test_call_control_asterisk import (
    _hang_up_everything,
    _ready,
    _until,
    channels,
)
from tests.support.traces import OWN_TRACES

SCENARIO = str(Path(OWN_TRACES) / "18_supervision_switch_intercept")

needs_local_asterisk = pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost"),
    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)")


def session_in(state: str, **more):
    return lambda d: d.get("state") == state and all(d.get(k) == v for k, v in more.items())


def by_prefix(chans: list[dict], prefix: str) -> list[dict]:
    return [c for c in chans if c["Channel"].startswith(prefix)]


async def _workorder(stack, client, ref: str) -> dict:
    await stack.core.settled()
    await stack.store.flush()
    status, wo = await client.get(f"/api/workorders/{ref}")
    assert status == 200, wo
    return wo["workorder"]


class Parties:
    """The SIPp processes of one test, killed at the end if still running."""

    def __init__(self) -> None:
        self.procs: list = []

    async def start(self, *args: str) -> None:
        self.procs.append(await _sipp(*args))

    async def phone(self, role: str, port: str) -> None:
        await self.start("-sf", f"{SCENARIO}_{role}.xml", "-i", "127.0.0.1", "-p", port)

    async def caller(self, role: str) -> None:
        await self.start("127.0.0.1:5060", "-sf", f"{SCENARIO}_{role}.xml", "-i", "127.0.0.1", "-p", "5061")

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def _answered_call(stack, agent, parties: Parties, caller: str, supervisor_phone: str) -> str:
    """1001 ready and on a SIPp customer's call; 1900's phone waiting for the Originate. The linkedid."""
    await _ready(agent, "1001")
    await parties.phone("uas_1001", "5011")
    await parties.phone(supervisor_phone, "5091")
    await parties.caller(caller)
    pop = await agent.expect("call_ringing", timeout=30)
    await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call", timeout=30)
    return pop["linkedid"]


async def _signed_in(stack, *logins: str) -> list:
    clients = []
    for login in logins:
        client = stack.client()
        clients.append(client)
        await client.login(login)
        await client.connect()
    if stack.core.book.view("1001")["state"] != "logged_out":
        await clients[0].post("/api/agent/state", {"state": "logged_out"})
        await clients[0].expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "logged_out")
    return clients


def _config(db_dsn: str, tmp_path: Path):
    return live_config(db_dsn, tmp_path)


@needs_local_asterisk
@pytest.mark.timeout(150)
async def test_monitor_listen_then_whisper_then_barge_then_stop_on_asterisk(db_dsn: str, tmp_path: Path) -> None:
    parties = Parties()
    async with running(_config(db_dsn, tmp_path), seed=True) as stack:
        await stack.core.link_ready.wait()
        await _hang_up_everything(stack)
        agent, boss = await _signed_in(stack, "1001", "1900")
        try:
            linkedid = await _answered_call(stack, agent, parties, "uac_caller_A", "uas_1900_intercept")
            status, body = await boss.post("/api/supervision/monitor", {"linkedid": linkedid, "mode": "listen"})
            assert status == 202 and body["state"] == "ringing", body
            await boss.expect("supervision", session_in("active", mode="listen"), timeout=20)
            chans = await channels(stack)
            (spy,) = by_prefix(chans, "PJSIP/1900-")
            assert (spy["Application"], spy["Context"], spy["Exten"]) == ("ChanSpy", "cti-spy", "1001")
            assert spy["ApplicationData"] == "PJSIP/1001,qdES"  # listen: no w / B, switching by DTMF (d)
            assert spy["Uniqueid"].startswith("cti-spy-")
            (customer,) = by_prefix(chans, "PJSIP/caller-")
            (leg,) = by_prefix(chans, "PJSIP/1001-")
            assert customer["BridgeId"] and customer["BridgeId"] == leg["BridgeId"]  # the call goes on untouched

            for mode in ("whisper", "barge"):
                status, body = await boss.post("/api/supervision/mode", {"mode": mode})
                assert status == 202 and body["switching_to"] == mode, body
                # confirmed by the DTMFEnd Asterisk reports on the spy channel
                await boss.expect("supervision", session_in("active", mode=mode, switching_to=None), timeout=15)
                notice = await agent.expect("notice", lambda d, m=mode: d.get("kind") == "monitoring"
                                            and d.get("mode") == m, timeout=15)
                assert notice["active"]
                (again,) = by_prefix(await channels(stack), "PJSIP/1900-")
                assert again["Channel"] == spy["Channel"] and again["Application"] == "ChanSpy"  # no new call

            status, body = await boss.post("/api/supervision/stop", {})
            assert status == 202, body
            ended = await boss.expect("supervision", session_in("ended"), timeout=15)
            assert ended["end_reason"] == "stopped"
            await _until(stack, lambda cs: not by_prefix(cs, "PJSIP/1900-") and len(cs) == 2,
                         "the spy channel gone, the customer and 1001 still talking")

            status, body = await agent.post(f"/api/calls/{linkedid}/hangup", {})
            assert status == 202, body
            done = await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=15)
            await _until(stack, lambda cs: cs == [], "no channel left")
            wo = await _workorder(stack, boss, done["workorder_ref"])
            steps = [(e["kind"], e["data"].get("mode") or e["data"].get("to")) for e in wo["events"]
                     if e["kind"].startswith("monitor_")]
            assert steps == [("monitor_requested", "listen"), ("monitor_started", "listen"),
                             ("monitor_mode", "whisper"), ("monitor_mode", "barge"), ("monitor_ended", "barge")]
            await agent.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await _hang_up_everything(stack)
            await agent.close()
            await boss.close()
            await parties.stop()


@needs_local_asterisk
@pytest.mark.timeout(150)
@pytest.mark.parametrize("who_hangs_up", ["supervisor", "customer"])
async def test_intercept_on_asterisk(who_hangs_up: str, db_dsn: str, tmp_path: Path) -> None:
    """The customer ends up with 1900, the agent's leg is gone and 1001 is left busy (intercepted);
    whoever hangs up then, nothing is left behind: no customer queued again, no spy channel."""
    caller, phone = (("uac_caller_A", "uas_1900_intercept_hangs_up") if who_hangs_up == "supervisor"
                     else ("uac_caller_C", "uas_1900_intercept"))  # 1900 hangs up 14 s in; the caller 13 s
    parties = Parties()
    async with running(_config(db_dsn, tmp_path), seed=True) as stack:
        await stack.core.link_ready.wait()
        await _hang_up_everything(stack)
        agent, boss = await _signed_in(stack, "1001", "1900")
        try:
            linkedid = await _answered_call(stack, agent, parties, caller, phone)
            status, body = await boss.post("/api/supervision/intercept", {"linkedid": linkedid})
            assert status == 202 and body["intercepting"], body
            await boss.expect("supervision", session_in("intercepted"), timeout=20)
            chans = await _until(stack, lambda cs: len(cs) == 2 and not by_prefix(cs, "PJSIP/1001-"),
                                 "the customer and 1900 only")
            (customer,) = by_prefix(chans, "PJSIP/caller-")
            (spy,) = by_prefix(chans, "PJSIP/1900-")
            assert customer["BridgeId"] and customer["BridgeId"] == spy["BridgeId"]  # they talk
            assert customer["Application"] == "Queue"  # moved with its Queue() still running (trace 18)
            assert (spy["Context"], spy["Exten"], spy["Priority"]) == ("cti-spy", "1001", "4")  # its after-goto
            assert spy["Linkedid"] == customer["Linkedid"] == linkedid  # the bridge gave it the call's
            # the agent's part of the call is over (moved to the supervisor)
            await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid and d["disposition"] == "moved",
                               timeout=15)
            busy = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "not_ready"
                                      and d["reason"] == "intercepted", timeout=30)
            assert busy["reason"] == "intercepted"
            status_reply = await stack.core.ami.send({"Action": "QueueStatus", "Queue": "support"})
            member = next(m for m in status_reply.events if m.name == "QueueMember"
                          and m.get("Location") == "PJSIP/1001")
            assert (member.get("Paused"), member.get("PausedReason")) == ("1", "intercepted")

            done = await boss.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=40)
            assert done["disposition"] == "answered"
            # nobody left: the customer was not queued again nor sent to voicemail, no spy channel
            await _until(stack, lambda cs: cs == [], "no channel left")
            ended = await boss.expect("supervision", session_in("ended"), timeout=15)
            assert ended["linkedid"] == linkedid
            wo = await _workorder(stack, boss, done["workorder_ref"])
            kinds = [e["kind"] for e in wo["events"]]
            assert "intercept" in kinds and "intercept_failed" not in kinds, kinds
            assert [e["data"].get("supervisor") for e in wo["events"] if e["kind"] == "intercept"] == ["1900"]
            assert wo["agent_id"] == "1900", wo  # the rest of the call was the supervisor's
            await agent.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await _hang_up_everything(stack)
            await agent.close()
            await boss.close()
            await parties.stop()
