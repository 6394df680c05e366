"""Who can I transfer to? ``GET /api/agents/available`` (the other agents ready now) and the
panel's picker under the transfer target, against the whole server, the simulator and Chromium.

The list is a hint: a colleague who went busy after it was loaded is still refused by the
server ("agent 1002 is not ready"), and the panel says so; refreshing shows who is ready now.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS
from tests.support.panel import PanelClient
from tests.system.test_panel_calls import channels_of, open_panel

pytestmark = pytest.mark.browser


async def set_state(client: PanelClient, watcher: PanelClient, agent: str, state: str) -> None:
    """``agent`` (signed in as ``client``) asks for ``state``; returns once the push confirms it."""
    seen = len(watcher.received)
    status, body = await client.post("/api/agent/state", {"state": state, **({"reason": "meeting"}
                                                                               if state == "not_ready" else {})})
    assert status < 300, body
    await watcher.expect("agent_state", lambda d: d["id"] == agent and d["state"] == state, after=seen)


async def test_available_lists_the_other_ready_agents_to_any_signed_in_account(stack: Any) -> None:
    clients: dict[str, PanelClient] = {}
    try:
        for login in ("1001", "1002", "1003", "1900"):
            clients[login] = stack.client()
            await clients[login].login(login)
        boss = clients["1900"]
        await boss.connect()
        status, body = await clients["1001"].get("/api/agents/available")
        assert (status, body) == (200, {"agents": []})  # nobody signed in yet

        for login in ("1003", "1001", "1002"):
            await set_state(clients[login], boss, login, "ready")
        names = {a["id"]: a["name"] for a in (await boss.get("/api/agents"))[1]["agents"]}
        expected = {i: {"id": i, "name": names[i], "queues": ["support"]} for i in ("1001", "1002", "1003")}

        status, body = await clients["1001"].get("/api/agents/available")  # an agent may ask (not /api/agents)
        assert status == 200
        assert body == {"agents": [expected["1002"], expected["1003"]]}  # not oneself; by id
        assert body["agents"][0]["name"] == "王芳 Wang Fang"
        assert (await clients["1002"].get("/api/agents/available"))[1] == {
            "agents": [expected["1001"], expected["1003"]]}
        assert (await boss.get("/api/agents/available"))[1] == {"agents": list(expected.values())}

        await set_state(clients["1003"], boss, "1003", "not_ready")  # busy: not offered
        assert (await clients["1001"].get("/api/agents/available"))[1] == {"agents": [expected["1002"]]}
        await set_state(clients["1002"], boss, "1002", "logged_out")
        assert (await clients["1001"].get("/api/agents/available"))[1] == {"agents": []}
    finally:
        for c in clients.values():
            await c.close()

    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(stack.url.rstrip("/") + "/api/agents/available") as r:
            assert r.status == 401
            assert "error" in await r.json()


async def test_the_transfer_form_offers_ready_colleagues_and_shows_a_refusal_when_one_went_busy(
        stack: Any, browser: Any, artifacts: Path) -> None:
    page = await open_panel(browser, stack.url, "1001")
    badge = page.locator("#state-badge")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    wang, liu = stack.client(), stack.client()
    try:
        await wang.login("1002")
        await liu.login("1003")
        await wang.connect()
        await set_state(wang, wang, "1002", "ready")
        await liu.connect()
        await set_state(liu, liu, "1003", "not_ready")

        stack.sim.set_phone("1001", Phone(answer_after=0.3))
        call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
        await expect(badge).to_have_text("On call", timeout=WAIT_MS)

        # Opening the form asks who is ready: Wang Fang (1002); Liu Yang is busy, 1001 is me.
        await page.locator("#btn-transfer").click()
        await page.get_by_label("Transfer to").select_option("agent")
        form = page.locator("#transfer-form")
        choices = form.locator(".picker .choice")
        await expect(choices).to_have_text(["王芳 Wang Fang (1002)"], timeout=WAIT_MS)
        await expect(form.locator(".picker datalist option")).to_have_count(1)
        await page.screenshot(path=str(artifacts / "panel_transfer_picker.png"), full_page=True)
        await page.get_by_label("Transfer to").select_option("queue")  # the picker is for agents only
        await expect(form.locator(".picker")).to_be_hidden()
        await page.get_by_label("Transfer to").select_option("agent")
        await expect(form.locator(".picker")).to_be_visible()

        # Wang Fang goes busy meanwhile: picking her still sends, and the server's refusal shows.
        await set_state(wang, wang, "1002", "not_ready")
        await choices.first.click()
        await expect(page.locator("#transfer-target")).to_have_value("1002")
        await page.locator("#transfer-submit").click()
        await expect(page.locator("#call-error")).to_contain_text("agent 1002 is not ready", timeout=WAIT_MS)
        await expect(badge).to_have_text("On call")

        # Refresh: nobody is ready; then Liu Yang is, and the call goes to him from the list.
        await form.get_by_role("button", name="Refresh the ready agents").click()
        await expect(form.locator(".picker-note")).to_have_text("No other agent is ready now.", timeout=WAIT_MS)
        await expect(choices).to_have_count(0)
        stack.sim.set_phone("1003", Phone(answer_after=0.3))
        await set_state(liu, liu, "1003", "ready")
        await form.get_by_role("button", name="Refresh the ready agents").click()
        await expect(choices).to_have_text(["刘洋 Liu Yang (1003)"], timeout=WAIT_MS)
        await choices.first.click()
        await page.locator("#transfer-submit").click()
        await liu.expect("agent_state", lambda d: d["id"] == "1003" and d["state"] == "on_call")
        await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)
        assert channels_of(stack, call.uniqueid) == ["PJSIP/1003", "PJSIP/caller"]
        await call.hangup()
        await asyncio.wait_for(call.ended(), WAIT_MS / 1000)
    finally:
        await wang.close()
        await liu.close()
    assert page.js_errors == []  # type: ignore[attr-defined]
