"""The agent panel in a real headless Chromium against the whole server and the PBX simulator.

What an agent sees: sign in, press Ready (the badge changes once Asterisk confirms),
a VIP customer calls and the pop card shows who it is, the call ends and lands in
today's list; a supervisor's marquee scrolls in; a dropped push link reconnects.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import Page, expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS

pytestmark = pytest.mark.browser



async def open_panel(browser: Any, url: str, login: str, width: int = 400) -> Page:
    """A fresh browser context (its own cookies) signed in as ``login``."""
    context = await browser.new_context(viewport={"width": width, "height": 860}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(login)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-login")).to_have_text(login)
    return page


@pytest.fixture
async def bystander(stack: Any) -> AsyncIterator[Any]:
    """Agent 1002 with the push stream open, signed in to the panel but not to the queue."""
    client = stack.client()
    try:
        await client.login("1002")
        await client.connect()
        yield client
    finally:
        await client.close()


async def test_agent_takes_a_vip_call_and_sees_the_pop(stack: Any, browser: Any, bystander: Any,
                                                      artifacts: Path) -> None:
    page = await open_panel(browser, stack.url, "1001")
    boss = await open_panel(browser, stack.url, "1900", width=1200)
    badge = page.locator("#state-badge")
    await expect(badge).to_have_text("Signed out")
    await expect(page.locator("#today-empty")).to_be_visible()

    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    members = [m for m in stack.sim.truth()["members"] if m["interface"] == "PJSIP/1001"]
    assert members and not members[0]["paused"]  # Asterisk really has the agent in the queue

    stack.sim.set_phone("1001", Phone(answer_after=1.0))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei",
                                                   dtmf=((1.5, "1"),)))
    pop = page.locator("#pop")
    await expect(pop).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#pop-number")).to_have_text("13800138000")
    await expect(page.locator("#pop-customer")).to_have_text("张伟", timeout=WAIT_MS)
    await expect(page.locator("#pop-class")).to_have_text("VIP")
    await expect(page.locator("#pop-customer-no")).to_have_text("C0001")
    await expect(page.locator("#pop-ivr")).to_have_text("1")
    await expect(page.locator("#pop-queue")).to_have_text("support")
    await expect(page.locator("#pop-phase")).to_have_text("On call", timeout=WAIT_MS)
    await expect(badge).to_have_text("On call")
    await page.screenshot(path=str(artifacts / "panel_pop.png"), full_page=True)
    first_ref = (await page.locator("#pop-ref").text_content() or "").strip()
    assert first_ref
    # The supervisor sees the call live, with the agent on it.
    live = boss.locator(f'#calls-body tr[data-linkedid="{call.uniqueid}"]')
    await expect(live).to_contain_text("13800138000")
    await expect(live).to_contain_text("answered")
    await expect(live).to_contain_text("1001")

    call.channel.request_hangup(16)  # the caller hangs up
    await asyncio.wait_for(call.ended(), 10)
    await expect(pop).to_be_hidden(timeout=WAIT_MS)
    today = page.locator("#today-list li")
    await expect(today).to_have_count(1, timeout=WAIT_MS)
    await expect(today.first).to_contain_text("13800138000")
    await expect(today.first).to_contain_text("answered")
    await expect(badge).to_have_text("Wrap-up")  # after-call work; the agent ends it by pressing Ready
    await expect(page.locator("#wrapup")).to_be_visible()  # with a countdown to the automatic end
    await expect(page.locator("#wrapup-left")).to_have_text(re.compile(r"^0:\d\d$"))
    await page.locator("#btn-ready").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    await expect(page.locator("#wrapup")).to_be_hidden()
    await expect(live).to_have_count(0)
    await expect(boss.locator("#calls-empty")).to_be_visible()

    # The same customer calls again: the pop lists the first call among the recent work orders.
    await stack.store.flush()
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei",
                                                   dtmf=((1.5, "1"),), hangup_after_answer=1.0))
    await expect(page.locator("#pop-recent")).to_contain_text(first_ref, timeout=WAIT_MS)
    await asyncio.wait_for(call.ended(), 15)
    await expect(today).to_have_count(2, timeout=WAIT_MS)

    # Only the agent the call rang got a pop.
    assert bystander.of_type("call_ringing") == []
    assert page.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_busy_reason_marquee_and_reconnect(stack: Any, browser: Any, artifacts: Path) -> None:
    page = await open_panel(browser, stack.url, "1001")
    badge = page.locator("#state-badge")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)

    await page.get_by_label("Busy reason").select_option("lunch")
    await page.locator("#btn-busy").click()
    await expect(badge).to_have_text("Busy (lunch)", timeout=WAIT_MS)
    await expect(page.locator("#btn-ready")).to_be_enabled()

    boss = stack.client()
    try:
        await boss.login("1900", "1900")
        status, body = await boss.post("/api/marquee", {"text": "今天下午三点系统维护，请提前保存工单", "ttl_seconds": 600})
        assert status == 201, body
    finally:
        await boss.close()
    marquee = page.locator("#marquee")
    await expect(marquee).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#marquee-text")).to_have_text("今天下午三点系统维护，请提前保存工单")

    # The server drops every websocket: the panel says so, reconnects, and the
    # snapshot it gets brings back the same state and marquee.
    await stack.app.hub.close_all()
    banner = page.locator("#banner")
    await expect(banner).to_contain_text("reconnecting", timeout=WAIT_MS)
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await expect(badge).to_have_text("Busy (lunch)")
    await expect(page.locator("#marquee-text")).to_have_text("今天下午三点系统维护，请提前保存工单")
    await page.screenshot(path=str(artifacts / "panel_busy_marquee.png"))

    # Asterisk goes away: the panel says so and offers no state change; when it
    # returns, the state rebuilt from QueueStatus is shown again.
    port = stack.sim.ami_port
    await stack.sim.ami.stop()
    await expect(banner).to_contain_text("Asterisk link down", timeout=WAIT_MS)
    await expect(page.locator("#btn-signout")).to_be_disabled()
    await stack.sim.ami.start("127.0.0.1", port)
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await expect(badge).to_have_text("Busy (lunch)")
    await expect(page.locator("#btn-signout")).to_be_enabled()

    # A refusal from the server is shown to the agent, and nothing changes.
    await page.get_by_label("Busy reason").select_option("lunch")
    await page.locator("#btn-busy").click()
    await expect(page.locator("#state-error")).to_contain_text("already busy (lunch)", timeout=WAIT_MS)
    await expect(badge).to_have_text("Busy (lunch)")

    await page.locator("#btn-signout").click()
    await expect(badge).to_have_text("Signed out", timeout=WAIT_MS)
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_supervisor_posts_the_marquee_and_watches_agents(stack: Any, browser: Any, artifacts: Path) -> None:
    agent = await open_panel(browser, stack.url, "1001")
    boss = await open_panel(browser, stack.url, "1900", width=1200)
    await expect(boss.locator("#supervisor-view")).to_be_visible()
    await expect(agent.locator("#supervisor-view")).to_be_hidden()
    row = boss.locator('#agents-body tr[data-agent="1001"]')
    await expect(row).to_contain_text("Signed out")

    await agent.locator("#btn-signin").click()
    await expect(row).to_contain_text("Ready", timeout=WAIT_MS)

    await boss.get_by_label("Marquee text").fill("")
    await boss.get_by_role("button", name="Post").click()
    await expect(boss.locator("#marquee-error")).to_have_text("Write a message first.")
    await boss.get_by_label("Marquee text").fill("VIP 客户优先接听")
    await boss.get_by_label("Shows for").select_option("3600")
    await boss.get_by_role("button", name="Post").click()
    await expect(agent.locator("#marquee-text")).to_have_text("VIP 客户优先接听", timeout=WAIT_MS)

    # Forcing an agent out from the table reaches the agent's own panel.
    await row.get_by_role("button", name="Sign out").click()
    await expect(agent.locator("#state-badge")).to_have_text("Signed out", timeout=WAIT_MS)
    await expect(row).to_contain_text("Signed out")
    await boss.screenshot(path=str(artifacts / "panel_supervisor.png"))

    # Logging out in another tab of the same browser ends this tab's session too.
    other_tab = await boss.context.new_page()
    await other_tab.goto(stack.url)
    await other_tab.get_by_role("button", name="Log out").click()
    await expect(boss.locator("#signin-error")).to_have_text("Your session has ended. Please sign in again.",
                                                             timeout=WAIT_MS)
    await boss.get_by_label("Login · 工号").fill("1900")
    await boss.get_by_label("Password · 密码").fill("1900")
    await boss.get_by_role("button", name="Sign in").click()
    await expect(boss.locator("#supervisor-view")).to_be_visible()

    # Logging out of the panel ends the session: a reload shows the sign-in form.
    await boss.get_by_role("button", name="Log out").click()
    await expect(boss.get_by_role("heading", name="Sign in · 登录")).to_be_visible()
    await boss.reload()
    await expect(boss.get_by_role("heading", name="Sign in · 登录")).to_be_visible()
    await expect(boss.locator("#supervisor-view")).to_be_hidden()
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]
