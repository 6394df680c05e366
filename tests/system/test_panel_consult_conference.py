"""Consult → conference from the toolbar (Chromium, whole server, simulator): the agent picks a
ready colleague from the consult form's list, talks to them while the caller waits, then
"Conference all · 会议" brings all three into one room; the panel shows the participants.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.browser import WAIT_MS
from tests.support.calls import colleague_ready, panels
from tests.system.test_panel_calls import panel_on_call

pytestmark = pytest.mark.browser


async def test_consult_a_colleague_picked_from_the_list_then_conference_all(stack: Any, browser: Any) -> None:
    page, call = await panel_on_call(stack, browser)
    badge = page.locator("#state-badge")
    async with panels(stack, "1002") as p:
        colleague = p["1002"]
        await colleague_ready(stack, colleague)

        await page.locator("#btn-consult").click()
        await page.get_by_label("Consult", exact=True).select_option("agent")
        form = page.locator("#consult-form")
        await form.get_by_role("button", name="王芳 Wang Fang (1002)").click()
        await expect(page.locator("#consult-target")).to_have_value("1002")
        await page.locator("#consult-submit").click()
        line = page.locator("#consult-line")
        await expect(line).to_contain_text("talking", timeout=WAIT_MS)
        conference_all = page.get_by_role("button", name="Conference all · 会议")
        await expect(conference_all).to_be_visible()
        await expect(conference_all).to_be_enabled()

        await conference_all.click()
        members = page.locator("#conference-list li")
        await expect(line).to_be_hidden(timeout=WAIT_MS)
        await expect(page.locator("#conference-line")).to_be_visible()
        await expect(members).to_have_count(3, timeout=WAIT_MS)
        await expect(page.locator("#conference-list")).to_contain_text("Customer · 客户 13800138000")
        await expect(page.locator("#conference-list")).to_contain_text("Agent · 座席 1002")
        await expect(page.locator("#call-pending")).to_be_hidden()
        await expect(page.locator("#call-error")).to_be_hidden()
        await expect(badge).to_have_text("On call")
        assert stack.core.book.view("1002")["state"] == "on_call"

        await call.hangup()  # the caller leaves: the conference ends for everyone
        await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)
        await colleague.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] in ("wrap_up", "ready"))
        await asyncio.wait_for(call.ended(), WAIT_MS / 1000)
        assert stack.sim.truth()["channels"] == []
    assert page.js_errors == []  # type: ignore[attr-defined]
