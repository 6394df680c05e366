"""Agent states and supervision in the panel, in a real headless Chromium against the whole
server and the simulator.

Time in state runs on the server's clock (a browser whose clock is hours off still shows
seconds), a supervisor forces an agent busy and the agent's panel says who did it, a
refused force shows next to the row, a second browser signing in as the same agent gets
a clear choice, and today's figures appear after a call.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS

pytestmark = pytest.mark.browser
SUPERVISOR = "陈主管 Supervisor Chen"


async def new_page(browser: Any, url: str, width: int = 400, clock_skew: float = 0.0) -> Page:
    """A fresh browser context (its own cookies) on the panel; its clock ``clock_skew`` s off."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    if clock_skew:
        await page.clock.install(time=time.time() + clock_skew)  # runs on from there, skewed
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    return page


async def fill_sign_in(page: Page, login: str) -> None:
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(login)
    await page.get_by_role("button", name="Sign in").click()


async def open_panel(browser: Any, url: str, login: str, width: int = 400, clock_skew: float = 0.0) -> Page:
    page = await new_page(browser, url, width, clock_skew)
    await fill_sign_in(page, login)
    await expect(page.locator("#who-login")).to_have_text(login)
    return page


async def sign_in_ready(page: Page) -> None:
    await page.locator("#btn-signin").click()
    await expect(page.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)


def member(stack: Any, login: str) -> dict:
    found = [m for m in stack.sim.truth()["members"] if m["interface"] == f"PJSIP/{login}"]
    assert found, f"{login} is in no queue"
    return found[0]


async def test_time_in_state_runs_on_the_server_clock(stack: Any, browser: Any, artifacts: Path) -> None:
    # The agent's PC clock is three hours fast: a timer from the browser clock would show 3:00:0x.
    page = await open_panel(browser, stack.url, "1001", clock_skew=3 * 3600)
    await expect(page.locator("#queue-picker")).to_be_visible()
    support = page.get_by_role("checkbox", name="support")
    await expect(support).to_be_checked()  # the agent's profile queues, all chosen
    await support.uncheck()
    await page.locator("#btn-signin").click()
    await expect(page.locator("#state-error")).to_have_text("Choose at least one queue to sign in to.")
    await support.check()
    await sign_in_ready(page)
    assert member(stack, "1001")["queue"] == "support"
    await expect(page.locator("#queue-picker")).to_be_hidden()
    timer = page.locator("#state-since")
    await expect(timer).to_have_text(re.compile(r"^0:0\d$"))
    first = await timer.text_content()
    await expect(timer).not_to_have_text(first or "")  # it ticks
    await expect(timer).to_have_text(re.compile(r"^0:\d\d$"))

    # The supervisor's grid too, with a clock three hours slow (a naive timer would stay at 0:00).
    boss = await open_panel(browser, stack.url, "1900", width=1280, clock_skew=-3 * 3600)
    cell = boss.locator('#agents-body tr[data-agent="1001"] td.tick')
    await expect(cell).to_have_text(re.compile(r"^0:\d\d$"))
    await expect(cell).not_to_have_text("0:00", timeout=WAIT_MS)
    await page.screenshot(path=str(artifacts / "panel_timer.png"))
    assert page.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_supervisor_forces_states_and_the_agent_sees_who(stack: Any, browser: Any, artifacts: Path) -> None:
    agent = await open_panel(browser, stack.url, "1001")
    boss = await open_panel(browser, stack.url, "1900", width=1280)
    await sign_in_ready(agent)
    row = boss.locator('#agents-body tr[data-agent="1001"]')
    await expect(row).to_contain_text("Ready", timeout=WAIT_MS)

    # Force busy (meeting): 强制示忙.
    await row.get_by_label("Busy reason for 1001").select_option("meeting")
    await row.get_by_role("button", name="Busy 强制示忙").click()
    badge = agent.locator("#state-badge")
    await expect(badge).to_have_text("Busy (meeting)", timeout=WAIT_MS)
    await expect(agent.locator("#state-by")).to_have_text(f"Busy (meeting) — set by {SUPERVISOR}")
    await expect(row).to_contain_text("Busy (meeting)")
    await expect(row).to_contain_text(f"set by {SUPERVISOR}")
    assert member(stack, "1001")["paused"]  # Asterisk really paused the agent
    await agent.screenshot(path=str(artifacts / "panel_forced_busy.png"))
    await boss.screenshot(path=str(artifacts / "panel_supervisor_grid.png"), full_page=True)

    # Force ready (强制示闲); then the agent's own change clears the "set by".
    await row.get_by_role("button", name="Ready 强制示闲").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    await expect(agent.locator("#state-by")).to_have_text(f"Ready — set by {SUPERVISOR}")
    await agent.get_by_label("Busy reason").select_option("lunch")
    await agent.locator("#btn-busy").click()
    await expect(badge).to_have_text("Busy (lunch)", timeout=WAIT_MS)
    await expect(agent.locator("#state-by")).to_be_hidden()
    await expect(row).not_to_contain_text("set by")
    await agent.locator("#btn-ready").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)

    # On a call: the grid shows the caller; a forced sign-out is refused next to the row.
    stack.sim.set_phone("1001", Phone(answer_after=0.5))
    call = await stack.sim.place_call(CallerScript(number="13900139000", name="Li Qiang", dtmf=((1.0, "1"),)))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    await expect(agent.locator("#state-caller")).to_contain_text("13900139000")
    await expect(row).to_contain_text("13900139000")
    await stack.sim.phone_hold("1001")  # the agent puts the caller on hold: "On hold" with the hold timer
    await expect(badge).to_have_text("On hold", timeout=WAIT_MS)
    await expect(agent.locator("#state-since")).to_have_text(re.compile(r"^0:0\d$"))
    await expect(row).to_contain_text("On hold")
    await stack.sim.phone_hold("1001", held=False)
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    await row.get_by_role("button", name="Sign out 强制签出").click()
    await expect(row.locator(".row-error")).to_contain_text("finish the call before signing out")
    await expect(badge).to_have_text("On call")
    call.channel.request_hangup(16)
    await asyncio.wait_for(call.ended(), 10)
    await expect(badge).to_have_text("Wrap-up", timeout=WAIT_MS)

    # Force sign-out after the call (强制签出): the agent is out of the queue.
    await row.get_by_role("button", name="Sign out 强制签出").click()
    await expect(badge).to_have_text("Signed out", timeout=WAIT_MS)
    await expect(agent.locator("#state-by")).to_have_text(f"Signed out — set by {SUPERVISOR}")
    await expect(row.locator(".row-error")).to_be_hidden()
    assert not [m for m in stack.sim.truth()["members"] if m["interface"] == "PJSIP/1001"]
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_a_second_browser_gets_a_clear_choice(stack: Any, browser: Any, artifacts: Path) -> None:
    first = await open_panel(browser, stack.url, "1001")
    await sign_in_ready(first)
    boss = stack.client()
    try:
        await boss.login("1900", "1900")
        await boss.connect()

        # Second browser, cancel: it stays signed out and the first panel is untouched.
        other = await new_page(browser, stack.url)
        await fill_sign_in(other, "1001")
        choice = other.get_by_role("alertdialog")
        await expect(choice).to_contain_text("already has a panel open on another screen")
        await other.screenshot(path=str(artifacts / "panel_take_over.png"))
        await choice.get_by_role("button", name="Cancel").click()
        await expect(other.locator("#signin-error")).to_have_text(
            "Not signed in here: the other panel stays signed in.")
        await expect(other.locator("#signin-form")).to_be_visible()
        await other.reload()
        await expect(other.get_by_role("heading", name="Sign in · 登录")).to_be_visible()  # no session was left
        await expect(first.locator("#state-badge")).to_have_text("Ready")
        await expect(first.locator("#banner")).to_be_hidden()

        # Third browser, take over: the first panel says so, the queue membership is as it was.
        third = await new_page(browser, stack.url)
        await fill_sign_in(third, "1001")
        await third.get_by_role("alertdialog").get_by_role("button", name="Take over here").click()
        await expect(third.locator("#who-login")).to_have_text("1001")
        await expect(third.locator("#state-badge")).to_have_text("Ready")
        await expect(first.locator("#signin-error")).to_contain_text("Signed in elsewhere", timeout=WAIT_MS)
        await expect(first.get_by_role("heading", name="Sign in · 登录")).to_be_visible()
        assert not member(stack, "1001")["paused"]
        assert [v["state"] for v in boss.of_type("agent_state") if v["id"] == "1001"] == []
        # The old session is over, not just its socket: a reload there asks to sign in.
        await first.reload()
        await expect(first.get_by_role("heading", name="Sign in · 登录")).to_be_visible()
        await third.locator("#btn-signout").click()
        await expect(third.locator("#state-badge")).to_have_text("Signed out", timeout=WAIT_MS)
    finally:
        await boss.close()
    assert first.js_errors == [] and other.js_errors == [] and third.js_errors == []  # type: ignore[attr-defined]


async def test_todays_figures_show_after_a_call(stack: Any, browser: Any, artifacts: Path) -> None:
    page = await open_panel(browser, stack.url, "1001")
    boss = await open_panel(browser, stack.url, "1900", width=1280)
    await sign_in_ready(page)
    figures = page.locator("#figures")
    await expect(figures).to_be_visible(timeout=WAIT_MS)

    stack.sim.set_phone("1001", Phone(answer_after=0.5))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),),
                                                   hangup_after_answer=2.0))
    await asyncio.wait_for(call.ended(), 20)
    await expect(page.locator('#figures-list dd[data-figure="answered"]')).to_have_text("1", timeout=WAIT_MS)
    await expect(page.locator('#figures-list dd[data-figure="talk"]')).to_have_text(re.compile(r"^0:0[1-9]$"))
    await expect(page.locator('#figures-list dd[data-figure="missed"]')).to_have_text("0")
    await page.screenshot(path=str(artifacts / "panel_figures.png"), full_page=True)

    queue = boss.locator('#queue-body tr[data-queue="support"]')
    await expect(queue).to_be_visible(timeout=WAIT_MS)
    await expect(queue.locator("td").nth(1)).to_have_text("1", timeout=WAIT_MS)  # answered
    mine = boss.locator('#agent-figures-body tr[data-agent="1001"]')
    await expect(mine).to_contain_text("李娜 Li Na (1001)")
    await expect(mine.locator("td").nth(6)).to_have_text("1")  # answered
    await boss.screenshot(path=str(artifacts / "panel_supervisor_figures.png"), full_page=True)
    assert page.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]
