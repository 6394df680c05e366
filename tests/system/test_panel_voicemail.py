"""Voicemail in the panel (whole server, simulator, Chromium): a message left in the IVR shows on
every agent's panel with the caller's number and length; one agent claims it (the other's panel
then says who has it and offers no Claim, no Play), calls the caller back with one click (the
panel's dial command), records the outcome, and the message leaves the list."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import open_panel

pytestmark = pytest.mark.browser


async def test_claim_call_back_and_close_a_voicemail_from_the_panel(
    stack: Any, browser: Any
) -> None:
    a = await open_panel(browser, stack.url, "1001")
    b = await open_panel(browser, stack.url, "1002")
    for page in (a, b):
        await expect(page.locator("#voicemail")).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#voicemail-empty")).to_be_visible()

    call = await stack.sim.place_call(
        CallerScript(number="13800138000", keys="2", keys_at=0.3, hangup_at=11.5)
    )
    item_a = a.locator("#voicemail-list li").first
    item_b = b.locator("#voicemail-list li").first
    await expect(item_a.locator(".voicemail-who")).to_have_text(
        "13800138000", timeout=WAIT_MS
    )
    await expect(item_a.locator(".voicemail-when")).to_contain_text(
        "0:0"
    )  # ~3 s after the ~7.5 s greeting
    await expect(item_b.locator(".voicemail-status")).to_have_text("waiting · 待认领")
    await call.ended()

    await item_a.get_by_role("button", name="Claim · 认领").click()
    await expect(item_a.locator(".voicemail-status")).to_have_text(
        "yours · 已认领", timeout=WAIT_MS
    )
    await expect(item_b.locator(".voicemail-status")).to_have_text(
        "claimed by 1001 · 已被认领", timeout=WAIT_MS
    )
    await expect(item_b.get_by_role("button", name="Claim · 认领")).to_have_count(0)
    await expect(item_b.get_by_role("button", name="Play · 播放")).to_have_count(0)

    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    await item_a.get_by_role("button", name="Call back · 回拨").click()
    await expect(a.locator("#state-badge")).not_to_have_text(
        "Signed out", timeout=WAIT_MS
    )
    assert "calls/dial" in a.posts  # type: ignore[attr-defined]

    await item_a.get_by_label("Outcome · 结果").select_option("reached")
    await item_a.get_by_role("button", name="Record · 记录").click()
    for page in (a, b):
        await expect(page.locator("#voicemail-list li")).to_have_count(
            0, timeout=WAIT_MS
        )
        await expect(page.locator("#voicemail-empty")).to_be_visible()

    await stack.core.settled()
    await stack.store.flush()
    wo = await stack.store.get_work_order(call.uniqueid)
    assert [
        e.data.get("outcome") for e in wo.events if e.kind == "voicemail_outcome"
    ] == ["reached"]
    assert a.js_errors == [] and b.js_errors == []  # type: ignore[attr-defined]
