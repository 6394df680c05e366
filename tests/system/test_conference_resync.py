"""Consult -> conference, what a conference call refuses, and conferences and consults across a lost AMI
link or a restart of the server, against the simulator with the whole product running."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable

from ivr.server import IvrServer
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conftest import ROOT, running, stack_config
from tests.support.calls import (answered_call, answered_with_colleague_ready, channels_of, is_state, panels,
                                             ready, workorder)
from tests.system.test_consult_conference import in_sync, step


async def members(sim: Any, room: str, count: int) -> None:
    """Wait until the simulator's room has ``count`` members."""
    joined = asyncio.Event()

    def seen(name: str, fields: dict) -> None:
        if len(sim.truth()["conferences"].get(room, [])) == count:
            joined.set()

    sim.listeners.append(seen)
    try:
        if len(sim.truth()["conferences"].get(room, [])) != count:
            await asyncio.wait_for(joined.wait(), 15)
    finally:
        sim.listeners.remove(seen)


def people(body: dict) -> set[tuple[str, str]]:
    return {(x["kind"], x["who"]) for x in body["participants"]}


EVERYONE = {("customer", "13800138000"), ("agent", "1001"), ("agent", "1002")}


async def consulting(stack: Any, a: Any, b: Any) -> tuple[Any, str]:
    """1001 on a customer call consults 1002, who answers."""
    call, linkedid = await answered_with_colleague_ready(stack, a, b)
    status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"})
    assert status == 202, body
    await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult")
                   and d["consult"]["answered"])
    return call, linkedid


async def test_consult_becomes_a_conference_of_all_three_on_one_work_order(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await consulting(stack, a, b)

        status, body = await a.post(f"/api/calls/{linkedid}/consult/conference", {})
        assert status == 202, body
        room = body["room"]
        await members(stack.sim, room, 3)
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("conference") == room
                       and d.get("consult") is None)
        await in_sync(stack)
        status, body = await a.get(f"/api/calls/{linkedid}/conference")
        assert status == 200 and people(body) == EVERYONE, body
        assert stack.core.book.view("1001")["state"] == "on_call"
        assert stack.core.book.view("1002")["state"] == "on_call"
        # nobody left on music or in a consult leg: the three channels there are, are the room's
        assert len(stack.sim.truth()["channels"]) == len(stack.sim.truth()["conferences"][room]) == 3

        # a conference is everyone's: it is not held, transferred, sent to the IVR or consulted on
        for path, data in (("hold", {}), ("transfer", {"kind": "queue", "target": "support"}),
                           ("ivr", {"node": "main"}), ("consult", {"kind": "external", "target": "5550100"}),
                           ("consult/conference", {})):
            status, body = await a.post(f"/api/calls/{linkedid}/{path}", data)
            assert status == 409 and body["error"]["code"] in ("conference", "no_consult"), (path, body)
        assert people((await a.get(f"/api/calls/{linkedid}/conference"))[1]) == EVERYONE

        await call.hangup()  # the caller leaves: the conference ends, both agents are let go
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        assert channels_of(stack, linkedid) == [] and stack.sim.truth()["channels"] == []
        wo = await workorder(stack, a, linkedid, ("consult", "conference_from_consult", "ended"))
        consult = step(wo, "consult")
        assert (consult["from"], consult["to"], consult["outcome"]) == ("1001", "1002", "conference")
        joined = [e["data"] for e in wo["events"] if e["kind"] == "conference_joined"]
        assert {(j["kind"], j["who"]) for j in joined} == EVERYONE
        assert wo["agent_id"] == "1001" and wo["disposition"] == "answered"


async def test_added_party_is_on_the_customers_work_order_and_none_of_its_own(stack) -> None:
    async with panels(stack, "1001", "1002", "1900") as p:
        a, b, boss = p["1001"], p["1002"], p["1900"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)
        status, body = await a.post(f"/api/calls/{linkedid}/conference/add", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await members(stack.sim, body["room"], 3)
        await b.expect("agent_state", is_state("1002", "on_call"))
        await call.hangup()
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        wo = await workorder(stack, boss, linkedid, ("conference_add", "conference_joined", "ended"))
        assert ("agent", "1002") in {(e["data"]["kind"], e["data"]["who"]) for e in wo["events"]
                                     if e["kind"] == "conference_joined"}
        status, body = await boss.get("/api/workorders")
        assert status == 200
        assert [w["linkedid"] for w in body["workorders"]] == [linkedid]  # no outbound work order for 1002


async def link_lost_until(stack: Any, boss: Any, happened) -> None:
    """Cut the AMI link, wait (in the simulator) until ``happened()``, then let the server reconnect."""
    mark = len(boss.received)
    await stack.sim.ami_down()
    await boss.expect("link", lambda d: d["ami"] is False, after=mark, timeout=20)
    seen = asyncio.Event()

    def check(name: str, fields: dict) -> None:
        if happened():
            seen.set()

    stack.sim.listeners.append(check)
    try:
        if not happened():
            await asyncio.wait_for(seen.wait(), 15)
    finally:
        stack.sim.listeners.remove(check)
    await stack.sim.ami_up()
    await boss.expect("link", lambda d: d["ami"] is True, after=mark, timeout=20)
    await stack.core.settled()


def up(stack: Any, prefix: str) -> bool:
    return any(c["channel"].startswith(prefix) and c["state"] == 6 for c in stack.sim.truth()["channels"])


async def test_what_a_consult_and_a_conference_did_while_the_ami_link_was_down_is_caught_up(stack) -> None:
    async with panels(stack, "1001", "1002", "1900") as p:
        a, b, boss = p["1001"], p["1002"], p["1900"]
        call, linkedid = await answered_with_colleague_ready(stack, a, b)
        stack.sim.set_phone("1002", Phone(answer_after=0.5))
        status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await link_lost_until(stack, boss, lambda: up(stack, "PJSIP/1002"))  # 1002 answered, unseen
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult")
                       and d["consult"]["answered"])
        await b.expect("agent_state", is_state("1002", "on_call"))
        status, body = await a.post(f"/api/calls/{linkedid}/consult/conference", {})
        assert status == 202, body
        room = body["room"]
        await members(stack.sim, room, 3)
        await in_sync(stack)
        assert people((await a.get(f"/api/calls/{linkedid}/conference"))[1]) == EVERYONE

        # 1002 leaves and 1003 is added while the link is down: the rebuilt room is what Asterisk has
        colleague = next(c["channel"] for c in stack.sim.truth()["channels"] if c["channel"].startswith("PJSIP/1002"))
        mark = len(boss.received)
        await stack.sim.ami_down()
        await boss.expect("link", lambda d: d["ami"] is False, after=mark, timeout=20)
        stack.sim.find_channel(colleague).request_hangup(16)  # the colleague hangs up their phone
        await members(stack.sim, room, 2)
        await stack.sim.ami_up()
        await boss.expect("link", lambda d: d["ami"] is True, after=mark, timeout=20)
        await b.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        await in_sync(stack)
        status, body = await a.get(f"/api/calls/{linkedid}/conference")
        assert status == 200 and people(body) == {("customer", "13800138000"), ("agent", "1001")}, body

        async with panels(stack, "1003") as q:
            c3 = q["1003"]
            assert (await c3.post("/api/agent/state", {"state": "ready"}))[0] < 300
            await c3.expect("agent_state", is_state("1003", "ready"))
            stack.sim.set_phone("1003", Phone(answer_after=0.5))
            status, body = await a.post(f"/api/calls/{linkedid}/conference/add", {"kind": "agent", "target": "1003"})
            assert status == 202, body
            await link_lost_until(stack, boss, lambda: len(stack.sim.truth()["conferences"].get(room, [])) == 3)
            await c3.expect("agent_state", is_state("1003", "on_call"))
            await in_sync(stack)
            assert people((await a.get(f"/api/calls/{linkedid}/conference"))[1]) == {
                ("customer", "13800138000"), ("agent", "1001"), ("agent", "1003")}
            await call.hangup()
            await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
            await c3.expect("agent_state", lambda d: d["id"] == "1003" and d["state"] in ("wrap_up", "ready"))
        assert stack.sim.truth()["channels"] == []
        wo = await workorder(stack, boss, linkedid, ("conference_joined", "ended"))
        joined = {(e["data"]["kind"], e["data"]["who"]) for e in wo["events"] if e["kind"] == "conference_joined"}
        assert ("agent", "1003") in joined and ("agent", "1002") in joined
        status, body = await boss.get("/api/workorders")
        assert [w["linkedid"] for w in body["workorders"]] == [linkedid]


@contextlib.asynccontextmanager
async def own_pbx(db_dsn: str, tmp_path: Path) -> AsyncIterator[tuple[PbxSim, Callable[[], Any]]]:
    """A simulator and IVR of their own, so that servers can come and go while calls go on."""
    ivr = IvrServer(port=0)
    await ivr.start()
    sim = PbxSim(SimConfig(conf_dir=str(ROOT / "asterisk_conf"), timestamp_events=True, agi_host="127.0.0.1",
                           agi_port=ivr.port))
    await sim.start()
    try:
        yield sim, lambda: stack_config(db_dsn, tmp_path, **{"ami.host": "127.0.0.1", "ami.port": sim.ami_port,
                                                             "ivr.enabled": False})
    finally:
        await sim.stop()
        await ivr.stop()


async def before_restart(cfg: Callable[[], Any], sim: PbxSim,
                         step: Callable[[Any, Any, str], Awaitable[None]]) -> tuple[str, Any]:
    """A first server: 1001 and 1002 ready, 1001 answers a customer call, then ``step(a, b, linkedid)``
    (the panels of 1001 and 1002); the server then stops while Asterisk and the call go on."""
    async with running(cfg(), seed=True) as first:
        await first.core.link_ready.wait()
        async with panels(first, "1001", "1002") as p:
            a, b = p["1001"], p["1002"]
            for login, panel in (("1001", a), ("1002", b)):
                assert (await panel.post("/api/agent/state", {"state": "ready"}))[0] < 300
                await panel.expect("agent_state", is_state(login, "ready"))
            sim.set_phone("1001", Phone(answer_after=0.2))
            sim.set_phone("1002", Phone(answer_after=0.2))
            call = await sim.place_call(CallerScript(number="13800138000", keys="1", keys_at=0.2))
            pop = await a.expect("pop_update", lambda d: "workorder_ref" in d and d.get("state") == "answered")
            await step(a, b, pop["linkedid"])
        await first.core.settled()
        await first.store.flush()
    return pop["linkedid"], call


async def test_restarted_server_finds_a_consult_under_way_and_completes_it(db_dsn: str, tmp_path: Path) -> None:
    async def start_consult(a: Any, b: Any, linkedid: str) -> None:
        status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult")
                       and d["consult"]["answered"])

    async with own_pbx(db_dsn, tmp_path) as (sim, cfg):
        linkedid, call = await before_restart(cfg, sim, start_consult)
        async with running(cfg(), seed=True) as second:  # the server is back; the consult went on
            await second.core.link_ready.wait()
            await second.core.settled()
            async with panels(second, "1001", "1002") as p:
                a, b = p["1001"], p["1002"]
                consult = second.core.tracker.calls[linkedid].consult
                assert consult is not None and consult.active and consult.answered_at is not None
                assert (consult.kind, consult.target) == ("agent", "1002")
                assert second.core.book.view("1001")["state"] == "on_call"
                assert second.core.book.view("1002")["state"] == "on_call"
                status, body = await a.post(f"/api/calls/{linkedid}/consult/complete", {})
                assert status == 202, body
                await a.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] in ("wrap_up", "ready"))
                await in_sync(second)
                assert channels_of(SimpleNamespace(sim=sim), linkedid) == ["PJSIP/1002", "PJSIP/caller"]
                await call.hangup()
                await b.expect("call_ended", lambda d: d["linkedid"] == linkedid)
                assert sim.truth()["channels"] == []


async def test_restarted_server_finds_the_conference_and_its_added_party(db_dsn: str, tmp_path: Path) -> None:
    async def conference(a: Any, b: Any, linkedid: str) -> None:
        status, body = await a.post(f"/api/calls/{linkedid}/conference/add", {"kind": "agent", "target": "1002"})
        assert status == 202, body
        await members(sim, body["room"], 3)
        await b.expect("agent_state", is_state("1002", "on_call"))

    async with own_pbx(db_dsn, tmp_path) as (sim, cfg):
        linkedid, call = await before_restart(cfg, sim, conference)
        async with running(cfg(), seed=True) as second:  # the server is back; the conference went on
            await second.core.link_ready.wait()
            await second.core.settled()
            async with panels(second, "1001", "1900") as p:
                a, boss = p["1001"], p["1900"]
                status, body = await a.get(f"/api/calls/{linkedid}/conference")
                assert status == 200 and people(body) == EVERYONE, body
                assert second.core.book.view("1002")["state"] == "on_call"
                assert list(second.core.tracker.calls) == [linkedid]  # 1002's leg is on the customer's call
                await call.hangup()
                await boss.expect("call_ended", lambda d: d["linkedid"] == linkedid)
                await second.core.settled()
                await second.store.flush()
                status, body = await boss.get("/api/workorders")
                assert [w["linkedid"] for w in body["workorders"]] == [linkedid]
                assert sim.truth()["channels"] == []


async def test_consult_an_outside_expert_then_conference_all_three(stack) -> None:
    async with panels(stack, "1001") as p:
        a = p["1001"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        stack.sim.set_phone("outside", Phone(answer_after=0.3))
        status, body = await a.post(f"/api/calls/{linkedid}/consult", {"kind": "external", "target": "8621555"})
        assert status == 202, body
        await a.expect("pop_update", lambda d: d["linkedid"] == linkedid and d.get("consult")
                       and d["consult"]["answered"])
        status, body = await a.post(f"/api/calls/{linkedid}/consult/conference", {})
        assert status == 202, body
        room = body["room"]
        await members(stack.sim, room, 3)
        await in_sync(stack)
        status, body = await a.get(f"/api/calls/{linkedid}/conference")
        assert status == 200 and people(body) == {("customer", "13800138000"), ("agent", "1001"),
                                                  ("external", "8621555")}, body
        # the consult's Local pair is gone: the three channels there are, are the room's
        assert len(stack.sim.truth()["channels"]) == 3
        await call.hangup()
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        assert stack.sim.truth()["channels"] == []
        wo = await workorder(stack, a, linkedid, ("consult", "ended"))
        consult = step(wo, "consult")
        assert (consult["kind"], consult["to"], consult["outcome"]) == ("external", "8621555", "conference")


async def test_the_customer_leaving_as_the_colleague_enters_the_room_leaves_nobody_behind(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        call, linkedid = await consulting(stack, a, b)

        def customer_leaves(name: str, fields: list) -> None:  # exactly between the two steps of the move
            f = dict(fields)
            if name == "ConfbridgeJoin" and f.get("Channel", "").startswith("PJSIP/1002"):
                stack.sim.find_channel(call.channel_name).request_hangup(16)

        stack.sim.listeners.append(customer_leaves)
        status, body = await a.post(f"/api/calls/{linkedid}/consult/conference", {})
        assert status == 202, body
        await a.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        for panel, agent in ((a, "1001"), (b, "1002")):
            await panel.expect("agent_state", lambda d, x=agent: d["id"] == x and d["state"] in ("wrap_up", "ready"))
        await in_sync(stack)
        assert stack.sim.truth()["channels"] == []  # the colleague was not left alone in the room
        assert linkedid not in stack.core.tracker.calls
        wo = await workorder(stack, a, linkedid, ("conference_from_consult", "ended"))
        assert wo["call_state"] == "ended" and wo["hangup_by"] == "caller"
