"""The agent's "Survey · 转满意度" button in the panel (whole server, simulator, Chromium): it shows
on an answered call when the served menu has a survey node, sends the caller there (the agent's
leg is released, the toolbar goes), and the caller's rating lands on the call's work order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import calls_posted, open_panel

pytestmark = pytest.mark.browser


async def test_the_survey_button_sends_the_caller_to_rate_the_call(stack: Any, browser: Any) -> None:
    page = await open_panel(browser, stack.url, "1001")
    badge = page.locator("#state-badge")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    # key 1 to the queue; the 4 pressed later waits in the channel for the survey's question
    call = await stack.sim.place_call(CallerScript(number="13800138000", dtmf=((1.0, "1"), (5.0, "4"))))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    survey = page.locator("#btn-survey")
    await expect(survey).to_be_visible()
    await expect(survey).to_have_text("Survey · 转满意度")

    sent = len(calls_posted(page))
    await survey.click()
    await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)  # the caller left this agent
    assert calls_posted(page)[sent:] == [f"calls/{call.uniqueid}/ivr"]
    await asyncio.wait_for(call.ended(), WAIT_MS / 1000)  # rated, thanked, hung up by the dialplan

    await stack.core.settled()
    await stack.store.flush()
    wo = await stack.store.get_work_order(call.uniqueid)
    rated = [e.data for e in wo.events if e.kind == "survey"]
    assert rated == [{"outcome": "rated", "rating": 4, "scale": 5, "agent": "1001", "queue": "support"}]
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_no_survey_button_when_the_menu_has_no_survey_node(stack: Any, browser: Any) -> None:
    page = await open_panel(browser, stack.url, "1001")
    await page.route("**/api/ivr/nodes", lambda route: route.fulfill(
        json={"menu": "m", "start": "main", "nodes": [{"name": "main", "label": "main", "type": "menu"}]}))
    await page.reload()
    await page.locator("#btn-signin").click()
    await expect(page.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    await stack.sim.place_call(CallerScript(number="13800138000", dtmf=((1.0, "1"),), hangup_after_answer=3))
    await expect(page.locator("#btn-ivr")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#btn-survey")).to_be_hidden()
