"""A supervisor controls calls from the Live calls table (Chromium, whole server, simulator).

Supervisor 1900 hangs up an agent's call after a confirmation, is refused a transfer to an
agent who is not ready (shown in the row), and sends a call back to the queue: the agent's
panel shows the call ended / moved, the row shows what Asterisk confirmed.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import channels_of, open_panel

pytestmark = pytest.mark.browser


async def open_console(browser: Any, url: str) -> Page:
    page = await open_panel(browser, url, "1900")
    await page.set_viewport_size({"width": 1400, "height": 1000})
    await expect(page.locator("#supervisor-view")).to_be_visible()
    return page


async def test_supervisor_hangs_up_and_transfers_calls_from_the_live_calls_table(stack: Any, browser: Any,
                                                                                 artifacts: Path) -> None:
    agent = await open_panel(browser, stack.url, "1001")
    boss = await open_console(browser, stack.url)
    badge = agent.locator("#state-badge")
    await agent.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone("1001", Phone(answer_after=0.3))

    # 1. Hang up, asked first.
    first = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    row = boss.locator(f'#calls-body tr[data-linkedid="{first.uniqueid}"]')
    await expect(row.locator("td").nth(2)).to_have_text("answered", timeout=WAIT_MS)
    await expect(row.locator("td").nth(3)).to_contain_text("1001")
    hangup = row.get_by_role("button", name="Hang up 13800138000 Zhang Wei")
    await hangup.click()
    forms = boss.locator(f'#calls-body tr[data-forms-for="{first.uniqueid}"]')
    await expect(forms.get_by_text("Hang up this call? · 确认挂机？")).to_be_visible()
    await forms.get_by_role("button", name="Cancel").click()
    await expect(forms).to_be_hidden()
    await expect(badge).to_have_text("On call")  # nothing sent
    await hangup.click()
    await forms.get_by_role("button", name="Yes, hang up").click()
    await asyncio.wait_for(first.ended(), WAIT_MS / 1000)
    await expect(row).to_have_count(0, timeout=WAIT_MS)  # gone from the table once Asterisk ended it
    await expect(agent.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)
    await expect(agent.locator("#pop")).to_be_hidden()
    await expect(badge).to_have_text("Wrap-up")
    assert channels_of(stack, first.uniqueid) == []

    # 2. Transfer: refused to an agent who is not ready (said in the row); then back to the queue.
    await agent.locator("#btn-ready").click()  # ends the wrap-up early
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    second = await stack.sim.place_call(CallerScript(number="13900139000", name="Li Lei", dtmf=((1.0, "1"),)))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    row = boss.locator(f'#calls-body tr[data-linkedid="{second.uniqueid}"]')
    forms = boss.locator(f'#calls-body tr[data-forms-for="{second.uniqueid}"]')
    transfer = row.get_by_role("button", name="Transfer 13900139000 Li Lei")
    await expect(transfer).to_be_enabled(timeout=WAIT_MS)
    await transfer.click()
    await forms.get_by_label("Transfer to").select_option("agent")
    target = forms.locator("input.row-target")
    await target.fill("1001")
    await forms.get_by_role("button", name="Transfer", exact=True).click()
    await expect(row.locator(".row-error")).to_contain_text("1001 already has the call")  # checked in the page
    await target.fill("1002")
    await forms.get_by_role("button", name="Transfer", exact=True).click()
    await expect(row.locator(".row-error")).to_contain_text("agent 1002 is not ready", timeout=WAIT_MS)
    await transfer.click()  # open again: the ready-agent picker says nobody else is ready
    await expect(forms.locator(".picker-note")).to_have_text("No other agent is ready now.", timeout=WAIT_MS)
    await expect(forms.locator(".picker .choice")).to_have_count(0)
    await boss.screenshot(path=str(artifacts / "panel_supervisor_live_calls.png"), full_page=True)
    await forms.get_by_role("button", name="Cancel").click()
    await expect(badge).to_have_text("On call")  # nothing moved
    assert channels_of(stack, second.uniqueid) == ["PJSIP/1001", "PJSIP/caller"]

    # Wang Fang (1002) signs in: the queue has someone to give the call to (with nobody ready, the
    # queue's joinempty would send the caller away, as Asterisk does).
    wang = stack.client()
    try:
        await wang.login("1002")
        await wang.connect()
        stack.sim.set_phone("1002", Phone(answer_after=0.3))
        status, body = await wang.post("/api/agent/state", {"state": "ready"})
        assert status < 300, body
        await wang.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "ready")
        await to_the_queue(boss, agent, row, forms, transfer, target)
        await wang.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "on_call")
        await expect(row.locator("td").nth(3)).to_contain_text("1002", timeout=WAIT_MS)
        assert channels_of(stack, second.uniqueid) == ["PJSIP/1002", "PJSIP/caller"]
        await second.hangup()
        await expect(row).to_have_count(0, timeout=WAIT_MS)
    finally:
        await wang.close()
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def to_the_queue(boss: Page, agent: Page, row: Any, forms: Any, transfer: Any, target: Any) -> None:
    """The supervisor sends the row's call to the support queue; the agent's panel lets it go."""
    await transfer.click()
    await forms.get_by_label("Transfer to").select_option("queue")
    await target.fill("support")
    await forms.get_by_role("button", name="Transfer", exact=True).click()
    await expect(row.locator(".row-error")).to_be_hidden()
    await expect(row.locator(".row-status")).to_contain_text("Transferred · 已转接", timeout=WAIT_MS)
    await expect(row.locator("td").nth(3)).not_to_contain_text("1001")
    await expect(agent.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)  # the call left the agent
    await expect(agent.locator("#pop")).to_be_hidden()
    await expect(agent.locator("#state-badge")).not_to_have_text(re.compile("On call|On hold"))
