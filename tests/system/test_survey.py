"""The post-call survey in the whole product (store, core, IVR, simulator on asterisk_conf/, web):
the agent's survey button sends the caller to the survey and frees the agent; the agent hanging
up first does the same when the menu says so; the rating is on the work order and in the agent's
and the queue's figures; a low one opens a callback work order; a hang-up is recorded as such."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config
from tests.support.calls import answered_call, is_state, panels, ready, workorder

AUTO_MENU = """
name = "hotline"
start = "main"

[nodes.main]
type = "menu"
prompt = "beep"
keys = { "1" = "support" }

[nodes.support]
type = "queue"
queue = "support"
options = "tc"
after_agent = "survey"
fallback = "main"

[nodes.survey]
type = "survey"
prompt = "beep"
timeout = 3.0
"""


def steps(wo: dict, kind: str) -> list[dict]:
    return [e["data"] for e in wo["events"] if e["kind"] == kind]


async def test_the_agents_button_sends_the_caller_to_the_survey_and_the_rating_is_counted(stack: Any) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, supervisor = p["1001"], p["1900"]
        await ready(agent, "1001")
        # the caller presses 4 once asked (keys pressed earlier wait in the channel, as DTMF does)
        _, linkedid = await answered_call(stack, agent, dtmf=((3.0, "4"),))
        status, body = await agent.post(f"/api/calls/{linkedid}/ivr", {"node": "survey"})
        assert status == 202, body
        await agent.expect("call_ended", lambda d: d.get("linkedid") == linkedid)
        await agent.expect("agent_state", is_state("1001", "wrap_up"))  # the agent is free of the call at once
        wo = await _until_steps(stack, agent, linkedid, "survey")
        assert steps(wo, "survey") == [{"outcome": "rated", "rating": 4, "scale": 5, "agent": "1001",
                                        "queue": "support"}]
        assert steps(wo, "survey_started")[0]["agent"] == "1001"

        status, body = await agent.get("/api/stats/agents")
        assert status == 200, body
        mine = body["agents"][0]["survey"]
        assert (mine["surveys"], mine["rated"], mine["avg_rating"], mine["ratings"]) == (1, 1, 4.0, {"4": 1})
        status, body = await supervisor.get("/api/stats/queues")
        support = next(q for q in body["queues"] if q["queue"] == "support")
        assert support["survey"]["avg_rating"] == 4.0


async def test_a_caller_hanging_up_in_the_survey_is_recorded_as_such(stack: Any) -> None:
    async with panels(stack, "1001") as p:
        agent = p["1001"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent, hangup_at=4.0)
        status, body = await agent.post(f"/api/calls/{linkedid}/ivr", {"node": "survey"})
        assert status == 202, body
        wo = await _until_steps(stack, agent, linkedid, "survey")
        assert steps(wo, "survey")[0]["outcome"] == "hung_up" and steps(wo, "survey")[0]["rating"] is None
        assert "ended" in [e["kind"] for e in wo["events"]]


async def test_the_agent_hanging_up_first_leads_to_the_survey_and_a_low_rating_opens_a_callback(
        db_dsn: str, tmp_path: Path) -> None:
    menu = tmp_path / "hotline.toml"
    menu.write_text(AUTO_MENU)
    cfg = stack_config(db_dsn, tmp_path, **{"ivr.menu_file": str(menu)})
    async with running(cfg) as stack:
        await stack.core.link_ready.wait()
        async with panels(stack, "1001", "1003") as p:
            agent, audit = p["1001"], p["1003"]
            await ready(agent, "1001")
            stack.sim.set_phone("1001", Phone(answer_after=0.2, hangup_after_answer=1.0))
            await stack.sim.place_call(CallerScript(number="13800138000", keys="1", keys_at=0.2,
                                                    dtmf=((4.0, "1"),)))
            pop = await agent.expect("pop_update", lambda d: "workorder_ref" in d and d.get("state") == "answered")
            linkedid = pop["linkedid"]
            wo = await _until_steps(stack, agent, linkedid, "survey")
            assert steps(wo, "survey")[0] == {"outcome": "rated", "rating": 1, "scale": 5, "agent": "1001",
                                              "queue": "support"}
            assert wo["agent_id"] == "1001"

            # rating 1 <= survey.low_rating (2): a callback work order, submitted to the audit department
            found: list[dict] = []
            deadline = time.monotonic() + 15
            while not found:
                assert time.monotonic() < deadline, "no callback work order"
                await stack.store.flush()
                status, body = await audit.get("/api/workorders/tasks")
                assert status == 200, body
                found = [w for group in body.values() if isinstance(group, list) for w in group
                         if isinstance(w, dict) and w.get("created_by") == "survey"]
                if not found:
                    await asyncio.sleep(0.1)
            cb = found[0]
            assert cb["status"] == "submitted" and cb["department"] == "audit"
            assert wo["ref"] in cb["request"] and "1 of 5" in cb["request"] and "agent 1001" in cb["request"]


async def _until_steps(stack: Any, panel: Any, linkedid: str, kind: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        await stack.core.settled()
        await stack.store.flush()
        status, body = await panel.get("/api/workorders")
        hit = next((w for w in body.get("workorders", []) if w["linkedid"] == linkedid), None)
        if hit is not None:
            wo = await workorder(stack, panel, linkedid, kinds=())
            if steps(wo, kind):
                return wo
        assert time.monotonic() < deadline, f"no {kind} step on {linkedid}'s work order"
        await asyncio.sleep(0.1)
