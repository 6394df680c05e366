"""Caller ratings on the supervisor's figure cards (whole server, simulator, Chromium): each queue's
surveys asked and rated today, the average rating and the share of low ratings (at or under
survey.low_rating), updated on the open page as callers rate their calls."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS
from tests.support.calls import is_state
from tests.system.test_panel_calls import open_panel

pytestmark = pytest.mark.browser


async def rated_call(stack: Any, agent: Any, key: str) -> None:
    """A caller answered by 1001, sent to the survey by the agent, who rates it ``key``."""
    seen = len(agent.received)
    call = await stack.sim.place_call(
        CallerScript(number="13800138000", dtmf=((1.0, "1"), (5.0, key)))
    )
    await agent.expect(
        "agent_state", is_state("1001", "on_call"), timeout=WAIT_MS / 1000, after=seen
    )
    answered = len(agent.received)
    status, _ = await agent.post(f"/api/calls/{call.uniqueid}/ivr", {"node": "survey"})
    assert status < 300
    await asyncio.wait_for(
        call.ended(), WAIT_MS / 1000
    )  # rated, thanked, hung up by the dialplan
    await agent.expect(
        "agent_state", is_state("1001", "ready"), timeout=WAIT_MS / 1000, after=answered
    )


async def test_the_supervisor_sees_todays_ratings_per_queue_change_as_callers_rate(
    stack: Any, browser: Any
) -> None:
    page = await open_panel(browser, stack.url, "1900")
    card = page.locator("#survey-figures")
    await expect(card).to_be_hidden()  # nobody rated anything today yet
    agent = stack.client()
    await agent.login("1001")
    await agent.connect()
    assert (await agent.post("/api/agent/state", {"state": "ready"}))[0] < 300
    await agent.expect("agent_state", is_state("1001", "ready"), timeout=WAIT_MS / 1000)
    stack.sim.set_phone("1001", Phone(answer_after=0.3))

    await rated_call(stack, agent, "4")
    row = page.locator('#survey-body tr[data-queue="support"]')
    await expect(card).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#survey-low-head")).to_have_text("Low (≤ 2)")
    await expect(row.locator("td")).to_have_text(
        ["1", "1", "4.00", "0% (0)"], timeout=WAIT_MS
    )

    await rated_call(
        stack, agent, "1"
    )  # a low rating: on the same page, without a reload
    await expect(row.locator("td")).to_have_text(
        ["2", "2", "2.50", "50% (1)"], timeout=WAIT_MS
    )
    await agent.close()
    assert page.js_errors == []  # type: ignore[attr-defined]
