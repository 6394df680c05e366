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

from tests.conftest import running
from tests.integration.conftest import HOST, live_config
from tests.integration.test_asterisk import SIPP, _sipp
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
    cfg = live_config(db_dsn, tmp_path)
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


async def _ready(agent, login: str) -> None:
    status, body = await agent.post("/api/agent/state", {"state": "ready"})
    assert status < 300, body
    await agent.expect("agent_state", lambda d: d["id"] == login and d["state"] == "ready")


async def _until(stack, check, what: str, timeout: float = 15.0) -> list[dict]:
    """Poll Asterisk's CoreShowChannels (a real PBX gives no event for 'all three are in the room')."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        chans = await channels(stack)
        if check(chans):
            return chans
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: {[(c['Channel'], c.get('Application'), c.get('BridgeId')) for c in chans]}")
        await asyncio.sleep(0.2)


async def _hang_up_everything(stack) -> None:
    """End whatever calls are still up (before the SIPp parties go, so that each BYE is answered
    and no late one reaches the next test's phones)."""
    for c in await channels(stack):
        try:
            await stack.core.ami.send({"Action": "Hangup", "Channel": c["Channel"]})
        except Exception:  # gone meanwhile
            pass
    await _until(stack, lambda cs: cs == [], "no channel left")


@pytest.mark.skipif(not SIPP or HOST not in ("127.0.0.1", "localhost"),
                    reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)")
@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["agent", "external"])
async def test_consult_then_conference_of_all_three_on_asterisk(kind: str, db_dsn: str, tmp_path: Path) -> None:
    """Consult (Atxfer) of 1002 or of an outside number, then everyone in the ConfBridge room: the
    consulted party is Redirected there, Asterisk puts 1001 back with the customer, then both follow.
    Then 1001 leaves, the other party hangs up, and the customer is not left alone in the room."""
    party, port, target = ("PJSIP/1002", "5021", "1002") if kind == "agent" else ("PJSIP/outside", "5071", "5550100")
    cfg = live_config(db_dsn, tmp_path)
    procs = []
    async with running(cfg, seed=True) as stack:
        await stack.core.link_ready.wait()
        a, b = stack.client(), stack.client()
        try:
            await _hang_up_everything(stack)
            for client, login in ((a, "1001"), (b, "1002")):
                await client.login(login)
                await client.connect()
            for login, client in (("1002", b), ("1001", a)):
                if stack.core.book.view(login)["state"] != "logged_out":
                    await client.post("/api/agent/state", {"state": "logged_out"})
                    await client.expect("agent_state", lambda d, x=login: d["id"] == x and d["state"] == "logged_out")
            await _ready(a, "1001")
            uas = str(Path(TRACES) / f"{SCENARIO}_uas_1001.xml")  # answers, then waits for a BYE
            procs.append(await _sipp("-sf", uas, "-i", "127.0.0.1", "-p", "5011"))
            procs.append(await _sipp("-sf", uas, "-i", "127.0.0.1", "-p", port))  # phone 1002, or the outside one
            procs.append(await _sipp("127.0.0.1:5060", "-sf", str(Path(TRACES) / f"{SCENARIO}_uac_caller.xml"),
                                     "-i", "127.0.0.1", "-p", "5061"))
            pop = await a.expect("call_ringing", timeout=30)
            linkedid = pop["linkedid"]
            await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call", timeout=30)
            await _ready(b, "1002")

            status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": kind, "target": target})
            assert status == 202, body
            await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult")
                           and d["consult"]["answered"], timeout=20)
            status, body = await a.post(f"/api/calls/{linkedid}/consult/conference", {})
            assert status == 202, body
            room = body["room"]
            in_room = await _until(stack, lambda cs: sum(c.get("Application") == "ConfBridge" for c in cs) == 3
                                   and len(cs) == 3, "customer, 1001 and the consulted party in the room")
            assert {c["Channel"].split("-")[0] for c in in_room} == {"PJSIP/caller", "PJSIP/1001", party}
            assert all(c["Exten"] == room for c in in_room)
            await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("conference") == room
                           and d.get("consult") is None, timeout=15)
            await stack.core.settled()
            status, body = await a.get(f"/api/calls/{linkedid}/conference")
            assert status == 200, body
            assert sorted(p["kind"] for p in body["participants"]) == sorted(["agent", "customer", kind]), body
            named = {(p["kind"], p["who"]) for p in body["participants"] if p["kind"] != "customer"}
            assert named == {("agent", "1001"), (kind, target)}, body
            assert stack.core.book.view("1001")["state"] == "on_call"
            assert kind == "external" or stack.core.book.view("1002")["state"] == "on_call"

            # 1001 leaves: customer and the other party talk on; then it hangs up: the customer is let go too
            assert (await a.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
            await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"),
                           timeout=15)
            await _until(stack, lambda cs: len(cs) == 2, "customer and the consulted party left in the room")
            colleague = next(c for c in await channels(stack) if c["Channel"].startswith(party))
            await stack.core.ami.send({"Action": "Hangup", "Channel": colleague["Channel"]})
            ended = await a.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=15)
            assert ended["disposition"] == "answered"
            await _until(stack, lambda cs: cs == [], "no channel left")
            await stack.core.settled()
            await stack.store.flush()
            status, wo = await a.get(f"/api/workorders/{ended['workorder_ref']}")
            assert status == 200, wo
            events = wo["workorder"]["events"]
            consult = next(e["data"] for e in events if e["kind"] == "consult")
            assert consult["outcome"] == "conference", consult
            joined = {(e["data"]["kind"], e["data"]["who"]) for e in events if e["kind"] == "conference_joined"}
            assert {("agent", "1001"), (kind, target)} <= joined and "customer" in {k for k, _ in joined}
            for client, login in ((a, "1001"), (b, "1002")):
                await client.post("/api/agent/state", {"state": "logged_out"})
        finally:
            await _hang_up_everything(stack)
            await a.close()
            await b.close()
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
