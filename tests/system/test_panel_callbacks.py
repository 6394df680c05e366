"""Callbacks in the panels (whole server, simulator, Chromium): the supervisor's page lists the pending
callback of the queue with its place and number, and the reserved agent's panel pops it marked
"Callback · 回拨" while their phone rings, then says it is connected; a pending one can be cancelled."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS
from tests.system.test_callbacks import CALLER, cbstack  # noqa: F401 - the fixture
from tests.system.test_panel_calls import open_panel

pytestmark = pytest.mark.browser
SLOW = WAIT_MS * 3  # the caller's walk through the IVR takes ~15 s


async def waiting_caller(stack: Any, page: Any) -> Any:
    """1001 (this panel) busy with caller B; caller A waits, presses 5, keeps their number."""
    badge = page.locator("#state-badge")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone("1001", Phone(answer_after=0.2))
    busy = await stack.sim.place_call(
        CallerScript(number="13900000002", keys="1", keys_at=0.2)
    )
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    await stack.sim.place_call(
        CallerScript(number=CALLER, dtmf=((0.2, "1"), (3.0, "5"), (11.0, "1")))
    )
    return busy


async def test_the_supervisor_sees_the_line_and_the_agent_gets_the_callback_pop(
    cbstack: Any,  # noqa: F811
    browser: Any,
) -> None:
    stack = cbstack
    boss = await open_panel(browser, stack.url, "1900")
    agent = await open_panel(browser, stack.url, "1001")
    busy = await waiting_caller(stack, agent)

    item = boss.locator("#callbacks .callback-queue[data-queue=support] li").first
    await expect(item.locator(".callback-number")).to_have_text(CALLER, timeout=SLOW)
    await expect(item.locator(".callback-place")).to_have_text("#1")
    await expect(agent.locator("#callback-pop")).to_be_hidden()

    stack.sim.set_phone("outside", Phone(answer_after=1.0, hangup_after_answer=3.0))
    await busy.hangup()
    pop = agent.locator("#callback-pop")
    await expect(pop).to_be_visible(timeout=SLOW)
    await expect(pop.locator("#callback-facts")).to_contain_text(CALLER)
    await expect(pop.locator("#callback-facts")).to_contain_text("support")
    await expect(pop).to_have_attribute("data-state", "connected", timeout=SLOW)
    await expect(boss.locator("#callbacks .callback-recent li").first).to_contain_text(
        "connected", timeout=SLOW
    )
    await expect(
        boss.locator("#callbacks .callback-queue[data-queue=support] li")
    ).to_have_count(0)
    assert not agent.js_errors and not boss.js_errors


async def test_a_supervisor_cancels_a_pending_callback(
    cbstack: Any,  # noqa: F811 - the fixture imported above
    browser: Any,
) -> None:
    stack = cbstack
    boss = await open_panel(browser, stack.url, "1900")
    agent = await open_panel(browser, stack.url, "1001")
    await waiting_caller(stack, agent)
    item = boss.locator("#callbacks .callback-queue[data-queue=support] li").first
    await expect(item.locator(".callback-number")).to_have_text(CALLER, timeout=SLOW)
    await item.get_by_role("button", name="Cancel · 取消").click()
    await expect(boss.locator("#callbacks .callback-recent li").first).to_contain_text(
        "cancelled", timeout=WAIT_MS
    )
    await expect(
        boss.locator("#callbacks .callback-queue[data-queue=support] li")
    ).to_have_count(0)
    assert "callbacks/" in " ".join(boss.posts)  # type: ignore[attr-defined]
