"""Recorded call control (traces 07, 08 and 10) replayed into the whole server.

What a user sees when Asterisk moves calls: a hold by Redirect shows the agent on hold and
lands on the work order; a customer-only Redirect hangs the agent's leg up; transfers
(BlindTransfer, Atxfer, Redirect back into the queue) end the first agent's part and the
work order follows the call to the next agent, ending on hangups, never on AgentComplete.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.replay.test_replay import final_state, replayed, settle, states


async def work_orders(panel) -> list[dict]:
    status, body = await panel.get("/api/workorders", caller="caller")
    assert status == 200, body
    out = []
    for row in sorted(body["workorders"], key=lambda w: w["created_at"]):
        status, full = await panel.get(f"/api/workorders/{row['ref']}")
        assert status == 200, full
        out.append(full["workorder"])
    return out


def kinds(wo: dict) -> list[str]:
    return [e["kind"] for e in wo["events"]]


def event(wo: dict, kind: str) -> dict:
    return next(e["data"] for e in wo["events"] if e["kind"] == kind)


async def test_07_hold_by_redirect_shows_on_hold_and_is_counted_on_the_work_order(db_dsn: str,
                                                                                  tmp_path: Path) -> None:
    async with replayed("07", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        await final_state(panels["1001"], "1001", "logged_out")
        seen = states(panels["1001"], "1001")
        # A: held by the dual Redirect, back on the call after the Bridge; B: held, then its leg is gone
        assert seen[:5] == ["ready", "ringing", "on_call", "on_hold", "on_call"], seen
        assert seen.count("on_hold") == 2, seen
        assert stack.core.tracker.calls == {}  # no call left open, though no AgentComplete came for A
        a, b = await work_orders(panels["1900"])
        assert kinds(a).index("hold") < kinds(a).index("retrieve") < kinds(a).index("ended")
        assert event(a, "retrieve")["seconds"] == pytest.approx(4.0, abs=0.05)  # Redirect 4.461 -> Bridge 8.464
        assert (event(a, "ended")["holds"], a["call_state"], a["disposition"]) == (1, "ended", "answered")
        assert a["agent_id"] == "1001"
        # B: the customer alone on music: the server asked to put them back into the queue
        assert event(b, "held_party_gone")["who"] == "agent"
        assert event(b, "requeued")["queue"] == "support"
        assert any(a.get("action") == "Redirect" and a.get("context") == "cti-queue" for a in replay.actions)
        assert (b["call_state"], b["disposition"], b["agent_id"]) == ("ended", "answered", "1001")


async def test_08_transfers_end_the_first_agent_and_the_work_order_follows_the_call(db_dsn: str,
                                                                                    tmp_path: Path) -> None:
    async with replayed("08", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        await final_state(panels["1002"], "1002", "logged_out")
        assert stack.core.tracker.calls == {}
        wos = await work_orders(panels["1900"])
        assert len(wos) == 3
        blind, attended, requeued = wos
        # A: BlindTransfer to agents,1002 -> Dial(PJSIP/1002): 1002 rang, answered and has the call
        assert blind["agent_id"] == "1002" and blind["disposition"] == "answered"
        assert event(blind, "ended")["agents"] == ["1001", "1002"]
        # C: Redirect back into the queue, 1002 answers from the queue; the late AgentComplete changes nothing
        assert requeued["agent_id"] == "1002" and requeued["hangup_by"] == "agent"
        assert event(requeued, "ended")["agents"] == ["1001", "1002"]
        # B: Atxfer: 1002 is rung and answers inside the call while 1001 consults; 1001's leg ends later.
        # It was not asked from the panel: the Hold Asterisk sends first turns out to be the consult's
        assert attended["agent_id"] == "1002" and event(attended, "ended")["agents"] == ["1001", "1002"]
        assert event(attended, "consult_started") == {"kind": "agent", "target": "1002", "from": "1001",
                                                      "by": "phone"}
        assert (event(attended, "consult")["outcome"], event(attended, "consult")["to"]) == ("completed", "1002")
        assert event(attended, "ended")["holds"] == 0
        assert all(w["call_state"] == "ended" for w in wos)
        # nobody stuck: each part leaves 1001 free (wrap-up, or signed out as the recorder did)
        assert states(panels["1001"], "1001") == [
            "ready", "ringing", "on_call", "wrap_up", "logged_out",
            "ready", "ringing", "on_call", "on_hold", "on_call", "wrap_up", "logged_out",
            "ready", "ringing", "on_call", "logged_out"]
        assert states(panels["1002"], "1002")[-3:] == ["on_call", "wrap_up", "logged_out"]


async def test_10_conference_keeps_both_agents_on_the_call_and_frees_them_when_it_ends(db_dsn: str,
                                                                                       tmp_path: Path) -> None:
    async with replayed("10", db_dsn, tmp_path) as (stack, replay, panels):
        await replay.play()
        await settle(stack)
        await final_state(panels["1001"], "1001", "logged_out")
        assert stack.core.tracker.calls == {}
        wos = await work_orders(panels["1900"])
        # one call, one work order: the customer's, answered by 1001, ended by hangups (not AgentComplete)
        assert len(wos) == 1
        wo = wos[0]
        assert (wo["call_state"], wo["disposition"], wo["agent_id"]) == ("ended", "answered", "1001")
        assert kinds(wo)[-1] == "ended"
        # 1001 stays on the call while it moves into the conference, and is free when it ends;
        # 1002, Originate'd into the room, is on a call while there
        assert states(panels["1001"], "1001") == ["ready", "ringing", "on_call", "wrap_up", "logged_out"]
        assert states(panels["1002"], "1002") == ["on_call", "logged_out"]
