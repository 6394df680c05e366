"""The supervisor closes the line from the panel (Chromium, whole server, simulator): a reason is
asked for, the panel shows the switch at once (also one flipped elsewhere, by the push), the next caller hears the closed
message and lands in voicemail, and "Reopen" puts the line back on its hours. An agent sees no switch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import open_panel
from tests.system.test_panel_supervisor_calls import open_console

pytestmark = pytest.mark.browser


async def test_a_supervisor_closes_and_reopens_the_line_from_the_panel(
    stack: Any, browser: Any
) -> None:
    boss = await open_console(browser, stack.url)
    agent = await open_panel(browser, stack.url, "1001")
    line = boss.locator('#service-hours li[data-hotline="hotline"]')
    await expect(line.locator(".hours-state")).to_have_text(
        "Open · 服务中", timeout=WAIT_MS
    )
    await expect(line.locator(".hours-week")).to_have_text("Always open · 全天服务")

    await line.get_by_role(
        "button", name="Close now · 紧急关闭"
    ).click()  # no reason: refused, field named
    await expect(line.locator(".error")).to_contain_text("reason", timeout=WAIT_MS)
    await line.get_by_label("Reason to close hotline").fill("Typhoon · 台风")
    await line.get_by_role("button", name="Close now · 紧急关闭").click()
    await expect(line.locator(".hours-state")).to_have_text(
        "Closed now by a supervisor · 紧急关闭", timeout=WAIT_MS
    )
    await expect(line.locator(".hours-switch")).to_contain_text("Typhoon · 台风 — 1900")
    call = await stack.sim.place_call(
        CallerScript(
            number="13912345678", name="Li", keys="1", keys_at=2.5, hangup_at=8.0
        )
    )
    await asyncio.wait_for(call.ended(), 20)

    await line.get_by_role("button", name="Reopen · 恢复服务").click()
    await expect(line.locator(".hours-state")).to_have_text(
        "Open · 服务中", timeout=WAIT_MS
    )

    # Another supervisor's flip (through the API) reaches this panel by the push alone.
    colleague = stack.client()
    try:
        await colleague.login("1900")
        status, body = await colleague.post(
            "/api/hours/hotline/switch", {"closed": True, "reason": "drill"}
        )
        assert status == 200, body
        await expect(line).to_have_attribute(
            "data-state", "closed_now", timeout=WAIT_MS
        )
        status, body = await colleague.post(
            "/api/hours/hotline/switch", {"closed": False}
        )
        await expect(line).to_have_attribute("data-state", "open", timeout=WAIT_MS)
    finally:
        await colleague.close()
    await expect(agent.locator("#service-hours")).to_be_hidden()
    assert boss.js_errors == [] and agent.js_errors == []  # type: ignore[attr-defined]
