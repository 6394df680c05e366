"""The HTTP API and websocket as a browser or script meets them: auth, validation, roles, push.

Runs the whole server (``stack``: PostgreSQL, PBX simulator, IVR, core, web) and talks
to it over real sockets with :class:`tests.support.panel.PanelClient`.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from yarl import URL
import pytest

from ctiserver.push.hub import messages_of
from tests.support.document import assert_matches_document
from tests.support.panel import PanelClient


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


async def test_without_a_session_everything_but_login_and_health_is_401(stack: Any, clients) -> None:
    anon = clients()
    for path in ("/api/me", "/api/agents", "/api/workorders", "/api/marquee"):
        status, body = await anon.get(path)
        assert status == 401, path
        assert error(body)["code"] == "unauthenticated"
    status, body = await anon.post("/api/agent/state", {"state": "ready"})
    assert status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await anon.http.ws_connect(stack.url.rstrip("/") + "/ws")
    assert info.value.status == 401
    status, body = await anon.get("/api/health")
    assert (status, body) == (200, {"ami": "up", "db": "up"})
    # The panel page itself is public: it shows the sign-in form.
    async with anon.http.get(stack.url) as resp:
        assert resp.status == 200 and "Sign in" in await resp.text()


async def test_login_sets_a_strict_httponly_cookie_and_logout_revokes_it(stack: Any, clients) -> None:
    c = clients()
    status, body = await c.post("/api/login", {"login": "1001", "password": "wrong"})
    assert status == 401 and error(body)["message"] == "wrong login or password"
    status, body = await c.post("/api/login", {"login": "nobody", "password": "x"})
    assert status == 401 and error(body)["message"] == "wrong login or password"  # no account probing
    status, body = await c.post("/api/login", {"login": "1001"})
    assert status == 400 and error(body)["field"] == "password"
    status, body = await c.post("/api/login", {"login": "10\r\n01", "password": "x"})
    assert status == 400 and error(body)["field"] == "login"

    async with c.http.post(stack.url + "api/login", json={"login": "1001", "password": "1001"}) as resp:
        assert resp.status == 200
        me = (await resp.json())["me"]
        cookie = resp.headers["Set-Cookie"]
    assert me["id"] == "1001" and me["role"] == "agent" and "password" not in str(me)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, body = await c.get("/api/me")
    assert status == 200 and body["me"]["login"] == "1001"

    token = c.http.cookie_jar.filter_cookies(URL(stack.url))["cti_session"].value
    ws = await c.http.ws_connect(stack.url.rstrip("/") + "/ws")
    assert messages_of((await ws.receive(timeout=5)).data)[0]["type"] == "snapshot"
    assert (await c.post("/api/logout", {}))[0] == 200
    closing = await ws.receive(timeout=5)  # the session's open push stream ends with it
    assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4001
    await ws.close()
    status, _ = await c.get("/api/me")
    assert status == 401
    # The old token, replayed by hand, is dead too.
    replay = clients()
    replay.http.cookie_jar.update_cookies({"cti_session": token})
    assert (await replay.get("/api/me"))[0] == 401


async def test_repeated_wrong_passwords_make_that_login_wait(stack: Any, clients) -> None:
    c = clients()
    for _ in range(5):
        status, body = await c.post("/api/login", {"login": "1001", "password": "guess"})
        assert status == 401
    async with c.http.post(stack.url + "api/login", json={"login": "1001", "password": "1001"}) as resp:
        assert resp.status == 429  # even the right password, for a while
        assert 0 < int(resp.headers["Retry-After"]) <= 300
        assert error(await resp.json()) == {"code": "too_many_attempts", "field": "login",
                                            "message": f"too many wrong passwords; try again in "
                                                       f"{resp.headers['Retry-After']} seconds"}
    await c.login("1002")  # another agent at the same desk is not locked out


async def test_a_forged_cookie_and_a_cross_site_form_are_refused(stack: Any, clients) -> None:
    c = clients()
    c.http.cookie_jar.update_cookies({"cti_session": "MTAwMXw5OTk5OTk5OTk5fGFh.AAAA"})
    assert (await c.get("/api/me"))[0] == 401
    await c.login("1001")
    async with c.http.post(stack.url + "api/agent/state", data={"state": "ready"}) as resp:
        assert resp.status == 415
        assert error(await resp.json())["field"] == "Content-Type"
    async with c.http.post(stack.url + "api/agent/state", data='{"state": "ready"}',
                           headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await c.http.ws_connect(stack.url.rstrip("/") + "/ws", headers={"Origin": "http://evil.example"})
    assert info.value.status == 403


async def test_state_changes_are_validated_and_confirmed_by_asterisk(stack: Any, clients) -> None:
    agent = clients()
    await agent.login("1001")
    snapshot = await agent.connect()
    assert snapshot["me"]["state"] == "logged_out"
    assert "lunch" in snapshot["busy_reasons"]

    bad = [({"state": "sleeping"}, "state"), ({}, "state"), ({"state": 1}, "state"),
           ({"state": "not_ready"}, "reason"), ({"state": "not_ready", "reason": "nap"}, "reason"),
           ({"state": "not_ready", "reason": "lunch\r\nAction: Originate"}, "reason"),
           ({"state": "ready", "colour": "red"}, "colour"), ({"state": "ready", "agent": "10 01"}, "agent")]
    for payload, field in bad:
        status, body = await agent.post("/api/agent/state", payload)
        assert status == 400, payload
        assert error(body)["field"] == field, (payload, body)

    status, body = await agent.post("/api/agent/state", {"state": "ready"})
    assert status == 202, body
    await assert_matches_document(agent, "POST", "/api/agent/state", status, body)
    view = await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")
    assert view["queues"] == ["support"]
    status, body = await agent.post("/api/agent/state", {"state": "ready"})
    assert status == 409 and error(body)["code"] == "already_ready"

    status, body = await agent.post("/api/agent/state", {"state": "not_ready", "reason": "lunch"})
    assert status == 202
    await agent.expect("agent_state", lambda d: d["state"] == "not_ready" and d["reason"] == "lunch")


async def test_only_supervisors_act_on_other_agents(stack: Any, clients) -> None:
    agent, other, boss = clients(), clients(), clients()
    await agent.login("1001")
    await other.login("1002")
    await boss.login("1900", "1900")
    await other.connect()

    status, body = await agent.post("/api/agent/state", {"state": "ready", "agent": "1002"})
    assert status == 403 and error(body)["code"] == "forbidden"
    assert (await agent.get("/api/agents"))[0] == 403
    status, body = await agent.get("/api/workorders", agent="1002")
    assert status == 403 and error(body)["field"] == "agent"
    status, body = await agent.post("/api/marquee", {"text": "hello"})
    assert status == 403

    status, body = await boss.post("/api/agent/state", {"state": "ready", "agent": "1002"})
    assert status == 202, body
    await other.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "ready")
    status, body = await boss.get("/api/agents")
    assert status == 200
    by_id = {a["id"]: a for a in body["agents"]}
    assert by_id["1002"]["state"] == "ready" and by_id["1001"]["state"] == "logged_out"
    status, body = await boss.post("/api/agent/state", {"state": "ready", "agent": "4242"})
    assert status == 404 and error(body)["field"] == "agent"


async def test_marquee_and_work_order_queries_validate_their_input(stack: Any, clients) -> None:
    agent, boss = clients(), clients()
    await agent.login("1001")
    await agent.connect()
    await boss.login("1900", "1900")

    bad = [({"text": ""}, "text"), ({"text": "a\nb"}, "text"), ({"text": "x" * 501}, "text"),
           ({"text": "hi", "ttl_seconds": 0}, "ttl_seconds"), ({"text": "hi", "ttl_seconds": "60"}, "ttl_seconds"),
           ({"text": "hi", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
           ({"text": "hi", "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
           ({"text": "hi", "ttl_seconds": 60, "expires_at": "2099-01-01T00:00:00Z"}, "ttl_seconds")]
    for payload, field in bad:
        status, body = await boss.post("/api/marquee", payload)
        assert status == 400, payload
        assert error(body)["field"] == field, (payload, body)

    status, item = await boss.post("/api/marquee", {"text": "今天下午三点系统维护", "ttl_seconds": 3600})
    assert status == 201 and item["text"] == "今天下午三点系统维护"
    pushed = await agent.expect("marquee", lambda d: any(i["text"] == "今天下午三点系统维护" for i in d["items"]))
    assert pushed["items"][-1]["expires_at"]
    status, body = await agent.get("/api/marquee")
    assert status == 200 and [i["text"] for i in body["items"]] == ["今天下午三点系统维护"]

    for params, field in [({"date": "2026-13-01"}, "date"), ({"limit": "0"}, "limit"), ({"sort": "x"}, "sort"),
                          ({"disposition": "lost"}, "disposition"), ({"caller": "13800;DROP"}, "caller")]:
        status, body = await boss.get("/api/workorders", **params)
        assert status == 400, params
        assert error(body)["field"] == field
    status, body = await agent.get("/api/workorders")
    assert status == 200 and body["workorders"] == [] and body["limit"] == 50
    status, body = await agent.get("/api/workorders/NOPE-1")
    assert status == 404


async def test_a_call_is_listed_and_fetched_as_a_work_order_with_filters(stack: Any, clients) -> None:
    from datetime import datetime, timedelta, timezone

    from pbxsim.scripts import CallerScript, Phone

    agent, boss = clients(), clients()
    await agent.login("1001")
    await agent.connect()
    await boss.login("1900", "1900")
    assert (await agent.post("/api/agent/state", {"state": "ready"}))[0] == 202
    await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")

    stack.sim.set_phone("1001", Phone(answer_after=0.5))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.5, "1"),),
                                                   hangup_after_answer=0.5))
    ended = await agent.expect("call_ended", lambda d: d["linkedid"] == call.uniqueid)
    ref = ended["workorder_ref"]
    await stack.store.flush()

    today = datetime.now(timezone.utc).date()
    status, body = await boss.get("/api/workorders", caller="13800138000", date=today.isoformat())
    assert status == 200
    await assert_matches_document(boss, "GET", "/api/workorders", status, body)
    [order] = body["workorders"]
    assert order["ref"] == ref and order["agent_id"] == "1001" and order["disposition"] == "answered"
    assert order["queue"] == "support" and order["customer_class"] == "vip"
    for params in ({"disposition": "abandoned"}, {"agent": "1002"},
                   {"date": (today - timedelta(days=1)).isoformat()}, {"caller": "13900000000"}):
        status, body = await boss.get("/api/workorders", **params)
        assert (status, body["workorders"]) == (200, []), params
    status, body = await agent.get("/api/workorders")  # an agent sees their own
    assert status == 200 and [w["ref"] for w in body["workorders"]] == [ref]

    status, body = await agent.get(f"/api/workorders/{ref}")
    assert status == 200 and body["workorder"]["ref"] == ref
    await assert_matches_document(agent, "GET", f"/api/workorders/{ref}", status, body)
    other = clients()
    await other.login("1002")
    status, body = await other.get(f"/api/workorders/{ref}")
    assert status == 404  # another agent's call: not told it exists (docs/security.md)
