"""Recorded Asterisk traffic replayed into the whole server over a real AMI TCP link.

Each test starts the production server (store, core, web, AMI client) against
``ReplayAmi``, which streams what Asterisk 22.10.1 really sent in a recorded scenario
(../shared/ami-traces). Agents 1001 and 1002 are signed in to the panel over a real
websocket, so the assertions are what an agent or supervisor would see: state badges,
who got the screen-pop, what the work order says. Durations come from the recorded
timing (the replay stamps each event with its recorded time), so a replay 50 times faster
than real life still yields the recorded waits and talk times.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import AsyncIterator

import pytest

from tests.conftest import Stack, running, stack_config
from tests.support.panel import PanelClient
from tests.support.traces import ReplayAmi, list_reply, trace_path, unsolicited


@contextlib.asynccontextmanager
async def replayed(trace: str, db_dsn: str, tmp_path: Path, lists_from: Path | None = None,
                   events_after: float = -1.0) -> AsyncIterator[tuple[Stack, ReplayAmi, dict[str, PanelClient]]]:
    path = trace_path(trace)
    lists = {}
    if lists_from is not None:
        lists = {a: list_reply(lists_from, a) for a in ("QueueStatus", "CoreShowChannels")}
    replay = ReplayAmi(unsolicited(lists_from or path, after=events_after), lists=lists)
    await replay.start()
    cfg = stack_config(db_dsn, tmp_path, **{"ami.host": "127.0.0.1", "ami.port": replay.port})
    try:
        async with running(cfg, seed=True) as stack:
            await stack.core.link_ready.wait()
            panels = {}
            for login in ("1001", "1002", "1900"):
                panels[login] = stack.client()
                await panels[login].login(login)
                await panels[login].connect()
            try:
                yield stack, replay, panels
            finally:
                for p in panels.values():
                    await p.close()
    finally:
        await replay.stop()


async def settle(stack: Stack) -> None:
    """Everything replayed so far is applied and written.

    A Ping's reply comes after every event sent before it on the same TCP stream, and the
    AMI adapter hands those events to the core before it resolves the reply.
    """
    await stack.core.ami.send({"Action": "Ping"})
    await stack.core.settled()
    await stack.store.flush()


async def final_state(panel: PanelClient, agent: str, state: str) -> None:
    """Wait until the panel has been pushed the agent's last state of the scenario."""
    await panel.expect("agent_state", lambda d: d["id"] == agent and d["state"] == state)


def states(panel: PanelClient, agent: str) -> list[str]:
    """The agent's state badge over time, as its own panel showed it (repeats collapsed)."""
    seen: list[str] = []
    for d in panel.of_type("agent_state"):
        if d["id"] == agent:
            label = d["state"] + (f"({d['reason']})" if d.get("reason") else "")
            if not seen or seen[-1] != label:
                seen.append(label)
    return seen


async def only_work_order(panel: PanelClient) -> dict:
    status, body = await panel.get("/api/workorders", caller="caller")
    assert status == 200, body
    assert len(body["workorders"]) == 1, body
    status, full = await panel.get(f"/api/workorders/{body['workorders'][0]['ref']}")
    assert status == 200, full
    return full["workorder"]


async def test_01_sign_in_pause_sign_out_follow_asterisk(db_dsn: str, tmp_path: Path) -> None:
    async with replayed("01", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        await final_state(panels["1001"], "1001", "logged_out")
        await final_state(panels["1900"], "1001", "logged_out")
        assert states(panels["1001"], "1001") == [
            "ready", "not_ready(lunch)", "ready", "not_ready(break)", "ready", "logged_out"]
        # the supervisor sees the same changes; agent 1002 sees none of 1001's
        assert states(panels["1900"], "1001")[-1] == "logged_out"
        assert states(panels["1002"], "1001") == []


async def test_02_answered_call_pops_for_the_rung_agent_only(db_dsn: str, tmp_path: Path) -> None:
    async with replayed("02", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        pop = await panels["1001"].expect("call_ringing")
        assert pop["caller_number"] == "caller"
        assert pop["caller_name"] == "Customer caller"
        assert pop["customer_class"] == "not_customer"
        assert pop["ivr_keys"] == "1"
        assert pop["queue"] == "support"
        ended = await panels["1001"].expect("call_ended", lambda d: d["linkedid"] == pop["linkedid"])
        assert ended["disposition"] == "answered"
        assert panels["1002"].of_type("call_ringing") == []
        await final_state(panels["1001"], "1001", "logged_out")
        # after the call: wrap-up (after-call work) until the recorder signs the agent out
        assert states(panels["1001"], "1001") == ["ready", "ringing", "on_call", "wrap_up", "logged_out"]
        assert "QueuePause" in [a.get("action") for a in replay.actions]  # the wrap-up pause stops routing

        wo = await only_work_order(panels["1900"])
        assert wo["disposition"] == "answered"
        assert wo["agent_id"] == "1001"
        assert wo["queue"] == "support"
        assert wo["wait_seconds"] == pytest.approx(1.51, abs=0.05)   # QueueCallerJoin 2.158 → AgentConnect 3.668
        assert wo["talk_seconds"] == pytest.approx(4.50, abs=0.05)   # AgentConnect 3.668 → Hangup 8.164
        today = await panels["1001"].expect("workorder_update")
        assert today["ref"] == wo["ref"]


async def test_03_ring_no_answer_moves_the_pop_to_the_next_agent(db_dsn: str, tmp_path: Path) -> None:
    async with replayed("03", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        first = await panels["1001"].expect("call_ringing")
        gone = await panels["1001"].expect("call_ended", lambda d: d["linkedid"] == first["linkedid"])
        assert gone["disposition"] == "no_answer"
        second = await panels["1002"].expect("call_ringing")
        await final_state(panels["1001"], "1001", "logged_out")
        await final_state(panels["1002"], "1002", "logged_out")
        assert second["linkedid"] == first["linkedid"]
        assert second["waited_seconds"] >= 17.0  # it had waited through 1001's 15 s ring and the 2 s retry
        assert states(panels["1001"], "1001")[:3] == ["ready", "ringing", "ready"]
        assert "on_call" not in states(panels["1001"], "1001")
        assert "on_call" in states(panels["1002"], "1002")

        wo = await only_work_order(panels["1900"])
        assert wo["disposition"] == "answered"
        assert wo["agent_id"] == "1002"
        assert wo["wait_seconds"] == pytest.approx(18.02, abs=0.05)  # join 2.153 → AgentConnect 20.169


async def test_04_caller_abandon_clears_the_pop_and_is_a_work_order(db_dsn: str, tmp_path: Path) -> None:
    async with replayed("04", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        pop = await panels["1001"].expect("call_ringing")
        ended = await panels["1001"].expect("call_ended", lambda d: d["linkedid"] == pop["linkedid"])
        assert ended["disposition"] in ("abandoned", "caller_gone")
        await final_state(panels["1001"], "1001", "logged_out")
        assert states(panels["1001"], "1001") == ["ready", "ringing", "ready", "logged_out"]

        wo = await only_work_order(panels["1900"])
        assert wo["disposition"] == "abandoned"
        assert not wo.get("agent_id")
        assert wo["wait_seconds"] == pytest.approx(6.0, abs=0.05)  # join 2.153 → abandon 8.158
        assert not wo.get("talk_seconds")


async def test_16_declined_ring_is_told_apart_from_a_timeout(db_dsn: str, tmp_path: Path) -> None:
    async with replayed("16", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        first = await panels["1001"].expect("call_ringing")
        gone = await panels["1001"].expect("call_ended", lambda d: d["linkedid"] == first["linkedid"])
        assert gone["disposition"] == "declined"  # cause 17 on the agent leg, RingTime 1000 ms
        await panels["1002"].expect("call_ringing", lambda d: d["linkedid"] == first["linkedid"])
        wo = await only_work_order(panels["1900"])
        assert wo["disposition"] == "answered"
        assert wo["agent_id"] == "1002"
        history = [e["kind"] for e in wo.get("events", [])]
        assert history.count("ringing") == 2 and "ring_ended" in history


async def test_12_server_started_during_a_live_call_rebuilds_it(db_dsn: str, tmp_path: Path) -> None:
    """A fresh AMI session (the server restarted) while 1001 talks and 1002 is paused for lunch."""
    reconnect = trace_path("12").with_name("12_status_snapshot_reconnect.reconnect.ami")
    async with replayed("12", db_dsn, tmp_path, lists_from=reconnect) as (stack, replay, panels):
        await settle(stack)
        snap_1001 = next(m["data"] for m in panels["1001"].received if m["type"] == "snapshot")
        assert snap_1001["me"]["state"] == "on_call"
        assert snap_1001["pop"] is not None and snap_1001["pop"]["caller_number"] == "caller"
        snap_1900 = next(m["data"] for m in panels["1900"].received if m["type"] == "snapshot")
        by_id = {a["id"]: a for a in snap_1900["agents"]}
        assert (by_id["1002"]["state"], by_id["1002"]["reason"]) == ("not_ready", "lunch")
        assert [c["state"] for c in snap_1900["calls"]] == ["answered"]

        await replay.play()  # the recorder hangs the customer up, then removes the members
        await settle(stack)
        ended = await panels["1001"].expect("call_ended")
        assert ended["disposition"] == "answered"
        wo = await only_work_order(panels["1900"])
        assert wo["disposition"] == "answered"
        assert wo["agent_id"] == "1001"
        assert wo["talk_seconds"] > 0


async def test_link_loss_shows_in_every_panel_and_state_is_rebuilt_on_return(db_dsn: str, tmp_path: Path) -> None:
    """Asterisk goes away mid-call: panels say so, the server reconnects by itself and re-polls."""
    reconnect = trace_path("12").with_name("12_status_snapshot_reconnect.reconnect.ami")
    async with replayed("12", db_dsn, tmp_path, lists_from=reconnect) as (stack, replay, panels):
        await settle(stack)
        mark = len(panels["1001"].received)
        await replay.drop_link()
        for p in panels.values():
            await p.expect("link", lambda d: d["ami"] is False)
        up = await panels["1001"].expect("link", lambda d: d["ami"] is True, after=mark)
        assert up == {"ami": True, "db": True}
        assert replay.logins == 2
        polled = [a["action"] for a in replay.actions if a.get("action") in ("QueueStatus", "CoreShowChannels")]
        assert polled == ["QueueStatus", "CoreShowChannels"] * 2  # after each login
        # nothing was lost or duplicated by the rebuild: still one call, still on it
        status, agents = await panels["1900"].get("/api/agents")
        by_id = {a["id"]: a for a in agents["agents"]}
        assert by_id["1001"]["state"] == "on_call"
        assert (by_id["1002"]["state"], by_id["1002"]["reason"]) == ("not_ready", "lunch")
        assert len(stack.core.tracker.calls) == 1


async def test_11_click_to_dial_shows_the_agent_busy_with_the_number(db_dsn: str, tmp_path: Path) -> None:
    async with replayed("11", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        busy = await panels["1001"].expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call")
        assert busy["outside_call"] is True
        assert busy["caller"] == {"number": "0215551234", "name": "Click2Dial"}
        await final_state(panels["1001"], "1001", "logged_out")
        assert panels["1001"].of_type("call_ringing") == []  # no screen-pop for one's own outbound call
        status, body = await panels["1900"].get("/api/workorders", caller="1001")
        assert status == 200 and len(body["workorders"]) == 1, body
        wo = body["workorders"][0]
        assert (wo["direction"], wo["disposition"]) == ("outbound", "answered")
        assert wo["talk_seconds"] == pytest.approx(4.01, abs=0.05)


async def test_05_empty_queue_calls_are_no_agent_work_orders(db_dsn: str, tmp_path: Path) -> None:
    async with replayed("05", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        status, body = await panels["1900"].get("/api/workorders", disposition="no_agent")
        assert status == 200, body
        assert len(body["workorders"]) == 3
        # C: 1001 was rung, then paused while ringing (the ring goes on), then the queue emptied
        pop = await panels["1001"].expect("call_ringing")
        await panels["1001"].expect("call_ended", lambda d: d["linkedid"] == pop["linkedid"])


async def test_17_a_caller_id_the_dialplan_normalised_is_the_one_popped_and_filed(db_dsn: str, tmp_path: Path) -> None:
    """Recorded on Asterisk 22.10.1 with the shipped dialplan: +8613812345678 and 008613900001111 arrive,
    from-trunk strips the prefixes (NewCallerid), 1001 answers both (tests/traces/17_callerid_normalized.md)."""
    async with replayed("17", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        pops = panels["1001"].of_type("call_ringing")
        assert [p["caller_number"] for p in pops] == ["13812345678", "13900001111"]
        assert pops[0]["caller_name"] == "Zhang Wei"
        answered = [p for p in panels["1001"].of_type("pop_update") if p["state"] == "answered"]
        assert {p["caller_number"] for p in answered} == {"13812345678", "13900001111"}
        status, body = await panels["1900"].get("/api/workorders", caller="13812345678")
        assert status == 200 and len(body["workorders"]) == 1, body
        status, full = await panels["1900"].get(f"/api/workorders/{body['workorders'][0]['ref']}")
        wo = full["workorder"]
        assert (wo["caller_number"], wo["caller_name"], wo["disposition"]) == ("13812345678", "Zhang Wei", "answered")
        changes = [e["data"] for e in wo["events"] if e["kind"] == "caller_id"]
        assert changes == [{"from": {"number": "+8613812345678", "name": "Zhang Wei"}}]
