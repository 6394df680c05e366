"""The statistics API as the panel and the supervisor page use it, on the whole running server.

Calls go through the PBX simulator, the figures come back from PostgreSQL: an agent sees only
their own day, a supervisor every agent and every queue, and the figures add up.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.support.document import assert_matches_document
from tests.support.panel import PanelClient

PARTS = ("ready_seconds", "busy_total_seconds", "ringing_seconds", "talk_seconds", "hold_seconds", "wrapup_seconds")


@pytest.fixture
async def clients(stack: Any):
    made: list[PanelClient] = []

    def make() -> PanelClient:
        c = stack.client()
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


def error(body: dict) -> dict:
    assert set(body) == {"error"}, body
    return body["error"]


def adds_up(figures: dict) -> bool:
    return (sum(figures[p] for p in PARTS) == figures["signed_in_seconds"]
            and sum(figures["busy_seconds"].values()) == figures["busy_total_seconds"])


async def test_an_agent_sees_only_their_own_day_and_bad_input_names_the_field(stack: Any, clients) -> None:
    anon, agent = clients(), clients()
    for path in ("/api/stats/agents", "/api/stats/queues"):
        status, body = await anon.get(path)
        assert status == 401 and error(body)["code"] == "unauthenticated"
    await agent.login("1001")

    today = datetime.now(timezone.utc).date().isoformat()
    status, body = await agent.get("/api/stats/agents")
    assert status == 200 and body["date"] == today and body["generated_at"]
    [me] = body["agents"]
    assert me["agent_id"] == "1001" and me["name"] and me["signed_in_seconds"] == 0 and adds_up(me)
    status, body = await agent.get("/api/stats/agents", agent="1001", date=today)
    assert status == 200 and [a["agent_id"] for a in body["agents"]] == ["1001"]

    status, body = await agent.get("/api/stats/agents", agent="1002")
    assert status == 403 and error(body)["field"] == "agent"
    status, body = await agent.get("/api/stats/queues")
    assert status == 403 and error(body)["code"] == "forbidden"

    for params, field in [({"date": "2026-13-01"}, "date"), ({"date": "yesterday"}, "date"), ({"date": ""}, "date"),
                          ({"date": "2026-11-20T00:00"}, "date"), ({"agent": "10 01"}, "agent"),
                          ({"agent": "1001\r\n"}, "agent"), ({"sort": "talk"}, "sort")]:
        status, body = await agent.get("/api/stats/agents", **params)
        assert status == 400, params
        assert error(body)["field"] == field, (params, body)


async def test_supervisors_see_every_agent_and_queue_and_validation_applies(stack: Any, clients) -> None:
    boss = clients()
    await boss.login("1900", "1900")
    status, body = await boss.get("/api/stats/agents")
    assert status == 200
    assert {"1001", "1002", "1003"} <= {a["agent_id"] for a in body["agents"]}
    assert "1900" not in {a["agent_id"] for a in body["agents"]}  # a supervisor who never signed in
    status, body = await boss.get("/api/stats/agents", agent="4242")
    assert status == 404 and error(body)["field"] == "agent"
    status, body = await boss.get("/api/stats/queues", date="2020-02-30")
    assert status == 400 and error(body)["field"] == "date"
    status, body = await boss.get("/api/stats/queues", agent="1001")
    assert status == 400 and error(body)["field"] == "agent"
    status, body = await boss.get("/api/stats/queues", date="2020-02-29")
    assert status == 200 and body["service_level_seconds"] == 20
    [support] = body["queues"]
    assert support["queue"] == "support" and support["offered"] == 0 and support["service_level_pct"] is None


async def test_a_missed_and_an_answered_call_show_in_the_figures(stack: Any, clients) -> None:
    from pbxsim.scripts import CallerScript, Phone

    agent, boss = clients(), clients()
    await agent.login("1001")
    await agent.connect()
    await boss.login("1900", "1900")
    await boss.connect()
    assert (await agent.post("/api/agent/state", {"state": "ready"}))[0] == 202
    await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")

    stack.sim.set_phone("1001", Phone(answer_after=None, decline_after=0.2))
    missed = await stack.sim.place_call(CallerScript(number="13900000001", keys="1", hangup_at=4.0))
    await boss.expect("call_ended", lambda d: d["linkedid"] == missed.uniqueid)
    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    taken = await stack.sim.place_call(CallerScript(number="13800138000", keys="1", hangup_after_answer=2.0))
    await boss.expect("call_ended", lambda d: d["linkedid"] == taken.uniqueid)
    await stack.store.flush(10)

    status, body = await boss.get("/api/stats/agents")
    assert status == 200
    await assert_matches_document(boss, "GET", "/api/stats/agents", status, body)
    mine = {a["agent_id"]: a for a in body["agents"]}["1001"]
    assert mine["answered"] == 1 and mine["missed"] >= 1
    assert mine["signed_in_seconds"] >= mine["talk_seconds"] >= 1 and mine["talk_calls"] == 1
    assert mine["first_sign_in"] and mine["last_sign_out"] is None  # still signed in: live figures
    assert all(adds_up(a) for a in body["agents"])
    status, own = await agent.get("/api/stats/agents")
    await assert_matches_document(agent, "GET", "/api/stats/agents", status, own)
    assert status == 200 and (own["agents"][0]["answered"], own["agents"][0]["missed"]) == (1, mine["missed"])

    status, body = await boss.get("/api/stats/queues")
    assert status == 200
    await assert_matches_document(boss, "GET", "/api/stats/queues", status, body)
    [support] = body["queues"]
    assert (support["offered"], support["answered"], support["abandoned"], support["waiting"]) == (2, 1, 1, 0)
    assert support["answered_within_sl"] == 1 and support["service_level_pct"] == 50.0
    assert support["avg_handle_seconds"] >= 1.5 and support["max_wait_seconds"] >= support["avg_wait_seconds"]

    yesterday = (datetime.now(timezone.utc).date() - timedelta(days=1)).isoformat()
    status, body = await boss.get("/api/stats/queues", date=yesterday)
    assert status == 200 and body["queues"][0]["offered"] == 0
