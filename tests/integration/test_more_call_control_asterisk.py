"""More buttons against a real Asterisk, the whole server driving it: dial out (and its recording),
transfer into the queue, consult cancelled and completed, an outside number added to a conference.

The SIPp parties are trace 07's: the caller presses 1 and stays, each phone answers and stays
until it gets a BYE. What is checked is what Asterisk itself reports (CoreShowChannels) and
what the work order says.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import running
from tests.integration.conftest import HOST, live_config
from tests.integration.test_asterisk import SIPP, _sipp
from tests.integration.test_call_control_asterisk import (
    SCENARIO,
    _hang_up_everything,
    _ready,
    _until,
)
from tests.support.traces import TRACES

pytestmark = [pytest.mark.skipif(not SIPP or HOST not in ("127.0.0.1", "localhost"),
                                 reason="needs sipp and an Asterisk on this machine (its SIP is bound to 127.0.0.1)"),
              pytest.mark.timeout(120)]

PHONE_PORTS = {"1001": "5011", "1002": "5021", "outside": "5071"}


class Lab:
    """The server on the real Asterisk, agents' panels, and SIPp parties started on demand."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.panels: dict[str, Any] = {}
        self.procs: list[Any] = []

    async def phone(self, who: str) -> None:
        """Phone ``who`` (1001, 1002, outside) answers the next call and stays until a BYE."""
        uas = str(Path(TRACES) / f"{SCENARIO}_uas_1001.xml")
        self.procs.append(await _sipp("-sf", uas, "-i", "127.0.0.1", "-p", PHONE_PORTS[who]))

    async def caller(self) -> None:
        self.procs.append(await _sipp("127.0.0.1:5060", "-sf", str(Path(TRACES) / f"{SCENARIO}_uac_caller.xml"),
                                      "-i", "127.0.0.1", "-p", "5061"))

    async def answered(self, agent: str = "1001") -> str:
        """A SIPp customer call through the IVR that ``agent`` (ready, phone started) answers: its linkedid."""
        await self.caller()
        panel = self.panels[agent]
        pop = await panel.expect("call_ringing", timeout=30)
        await panel.expect("agent_state", lambda d: d["id"] == agent and d["state"] == "on_call", timeout=30)
        return pop["linkedid"]

    async def on_call_with_colleague_ready(self) -> str:
        """1001 answers a customer call, then 1002 is ready with its phone up: the call's linkedid."""
        await _ready(self.panels["1001"], "1001")
        await self.phone("1001")
        linkedid = await self.answered()
        await _ready(self.panels["1002"], "1002")
        await self.phone("1002")
        return linkedid

    async def workorder(self, panel: Any, ref: str) -> dict:
        await self.stack.core.settled()
        await self.stack.store.flush()
        status, body = await panel.get(f"/api/workorders/{ref}")
        assert status == 200, body
        return body["workorder"]


@contextlib.asynccontextmanager
async def lab(db_dsn: str, tmp_path: Path, *agents: str) -> AsyncIterator[Lab]:
    cfg = live_config(db_dsn, tmp_path)
    async with running(cfg, seed=True) as stack:
        await stack.core.link_ready.wait()
        it = Lab(stack)
        try:
            await _hang_up_everything(stack)
            for login in agents:
                panel = it.panels[login] = stack.client()
                await panel.login(login)
                await panel.connect()
                if stack.core.book.view(login)["state"] != "logged_out":  # left over by an earlier run
                    await panel.post("/api/agent/state", {"state": "logged_out"})
                    await panel.expect("agent_state", lambda d, x=login: d["id"] == x and d["state"] == "logged_out")
            yield it
        finally:
            await _hang_up_everything(stack)  # before the SIPp parties go: every BYE is answered
            for login, panel in it.panels.items():
                if stack.core.book.view(login)["state"] != "logged_out":
                    await panel.post("/api/agent/state", {"state": "logged_out"})
                await panel.close()
            for proc in it.procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


def bridged(chans: list[dict], *prefixes: str) -> bool:
    """Asterisk has exactly these channels up, all in one bridge."""
    found = [c for c in chans if any(c["Channel"].startswith(p) for p in prefixes)]
    return (len(found) == len(prefixes) == len(chans) and all(c.get("ChannelState") == "6" for c in found)
            and len({c.get("BridgeId") for c in found}) == 1 and bool(found[0].get("BridgeId")))


async def test_dial_out_rings_the_agent_then_the_number_and_records_the_agents_channel(db_dsn: str,
                                                                                     tmp_path: Path) -> None:
    async with lab(db_dsn, tmp_path, "1001") as it:
        a = it.panels["1001"]
        await _ready(a, "1001")
        await it.phone("1001")
        await it.phone("outside")
        status, body = await a.post("/api/calls/dial", {"number": "5550100"})
        assert status == 202, body
        linkedid = body["linkedid"]
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call"
                       and d["call"] == linkedid, timeout=20)
        chans = await _until(it.stack, lambda cs: bridged(cs, "PJSIP/1001", "PJSIP/outside"),
                             "the agent talking to the number")
        assert {c["Linkedid"] for c in chans} == {linkedid}  # the ChannelId is the call's linkedid
        assert (await a.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
        ended = await a.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=15)
        await _until(it.stack, lambda cs: cs == [], "no channel left")
        wo = await it.workorder(a, ended["workorder_ref"])
        assert (wo["direction"], wo["disposition"], wo["agent_id"]) == ("outbound", "answered", "1001")
        kinds = [e["kind"] for e in wo["events"]]
        assert "dial_out" in kinds and "recording" in kinds and "recording_ended" in kinds, kinds
        rec = next(e["data"] for e in wo["events"] if e["kind"] == "recording")
        assert rec["file"] == f"cti-{linkedid}.wav" and rec["channel"].startswith("PJSIP/1001")


MOVES = {"queue": ("/transfer", {"kind": "queue", "target": "support"}),
         "agent": ("/transfer", {"kind": "agent", "target": "1002"}),  # Setvar, then Redirect to cti-transfer
         "ivr": ("/ivr", {"node": "support"})}  # the IVR's queue node: back into the queue from there


@pytest.mark.parametrize("move", list(MOVES))
async def test_a_moved_caller_reaches_the_next_agent(move: str, db_dsn: str, tmp_path: Path) -> None:
    async with lab(db_dsn, tmp_path, "1001", "1002") as it:
        a, b = it.panels["1001"], it.panels["1002"]
        linkedid = await it.on_call_with_colleague_ready()
        path, data = MOVES[move]
        status, body = await a.post(f"/api/calls/{linkedid}{path}", data)
        assert status == 202, body
        moved = await a.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=15)
        assert moved["disposition"] == "moved"
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "on_call", timeout=30)
        await _until(it.stack, lambda cs: bridged(cs, "PJSIP/caller", "PJSIP/1002"), "the caller with 1002")
        assert (await b.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
        ended = await b.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=15)
        await _until(it.stack, lambda cs: cs == [], "no channel left")
        wo = await it.workorder(b, ended["workorder_ref"])
        assert wo["agent_id"] == "1002" and wo["disposition"] == "answered"
        assert next(e for e in wo["events"] if e["kind"] == "ended")["data"]["agents"] == ["1001", "1002"]
        assert {"queue": "transfer", "agent": "transfer", "ivr": "ivr"}[move] in [e["kind"] for e in wo["events"]]
        if move == "ivr":  # what the IVR did the second time is added to the first
            assert wo["ivr_path"] == ["main", "support", "support"], wo["ivr_path"]


@pytest.mark.parametrize("how", ["cancel", "complete"])
async def test_consult_a_colleague_then_cancel_or_complete(how: str, db_dsn: str, tmp_path: Path) -> None:
    async with lab(db_dsn, tmp_path, "1001", "1002") as it:
        a, b = it.panels["1001"], it.panels["1002"]
        linkedid = await it.on_call_with_colleague_ready()
        status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult")
                       and d["consult"]["answered"], timeout=20)
        assert it.stack.core.book.view("1001")["state"] == "on_call"  # consulting, not holding
        status, body = await a.post(f"/api/calls/{linkedid}/consult/{how}", {})
        assert status == 202, body
        if how == "cancel":  # Asterisk puts 1001 back with the caller; 1002 is let go
            await _until(it.stack, lambda cs: bridged(cs, "PJSIP/caller", "PJSIP/1001"), "the caller with 1001 again")
            await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"),
                           timeout=15)
            owner, panel = "1001", a
        else:  # the colleague has the call; 1001 is free
            await _until(it.stack, lambda cs: bridged(cs, "PJSIP/caller", "PJSIP/1002"), "the caller with 1002")
            await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"),
                           timeout=15)
            owner, panel = "1002", b
        await it.stack.core.settled()
        assert it.stack.core.book.view(owner)["state"] == "on_call"
        assert (await panel.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
        ended = await panel.expect("call_ended", lambda d: d["linkedid"] == linkedid and d["disposition"] != "moved",
                                   timeout=15)
        await _until(it.stack, lambda cs: cs == [], "no channel left")
        wo = await it.workorder(panel, ended["workorder_ref"])
        consult = next(e["data"] for e in wo["events"] if e["kind"] == "consult")
        assert consult["outcome"] == {"cancel": "cancelled", "complete": "completed"}[how], consult
        assert wo["agent_id"] == owner


async def test_an_outside_number_added_to_a_conference_and_the_room_ends_with_the_caller(db_dsn: str,
                                                                                         tmp_path: Path) -> None:
    async with lab(db_dsn, tmp_path, "1001") as it:
        a = it.panels["1001"]
        await _ready(a, "1001")
        await it.phone("1001")
        linkedid = await it.answered()
        await it.phone("outside")
        status, body = await a.post(f"/api/calls/{linkedid}/conference/add", {"kind": "external", "target": "5550100"})
        assert status == 202, body
        room = body["room"]
        in_room = await _until(it.stack, lambda cs: sum(c.get("Application") == "ConfBridge" for c in cs) == 3,
                               "customer, 1001 and the outside number in the room")
        assert all(c["Exten"] == room for c in in_room if c.get("Application") == "ConfBridge")
        await it.stack.core.settled()
        status, body = await a.get(f"/api/calls/{linkedid}/conference")
        assert status == 200 and sorted(p["kind"] for p in body["participants"]) == ["agent", "customer",
                                                                                       "external"], body
        caller = next(c for c in in_room if c["Channel"].startswith("PJSIP/caller"))
        await it.stack.core.ami.send({"Action": "Hangup", "Channel": caller["Channel"]})  # the caller leaves
        ended = await a.expect("call_ended", lambda d: d["linkedid"] == linkedid, timeout=15)
        await _until(it.stack, lambda cs: cs == [], "nobody left in the room")
        wo = await it.workorder(a, ended["workorder_ref"])
        kinds = [e["kind"] for e in wo["events"]]
        assert "conference_add" in kinds and kinds.count("conference_joined") >= 3, kinds
        status, body = await a.get("/api/workorders")
        assert [w["linkedid"] for w in body["workorders"] if w["linkedid"] != linkedid] == []  # none of its own
