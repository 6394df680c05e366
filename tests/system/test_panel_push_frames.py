"""The panel in a real headless Chromium reads push frames that carry several messages.

The server sends what is queued for a socket as one frame (a JSON array, in order) and lets a
supervisor's socket gather a burst. What the pages receive is recorded as Chromium saw it:
an agent's panel and a supervisor's console follow a call through array frames, in order,
without asking for a resync, and a burst of marquee pushes shows the last one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Page, expect

from ctiserver.push.hub import ALL
from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS

pytestmark = pytest.mark.browser


async def open_recorded(browser: Any, url: str, login: str, width: int = 400) -> Page:
    """A signed-in panel whose push frames (received and sent) are kept as ``page.frames_in/out``."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    frames_in: list[Any] = []
    frames_out: list[Any] = []
    errors: list[str] = []

    def on_socket(ws: Any) -> None:
        if ws.url.endswith("/ws"):
            ws.on("framereceived", lambda payload: frames_in.append(json.loads(payload)))
            ws.on("framesent", lambda payload: frames_out.append(payload))

    page.on("websocket", on_socket)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.frames_in, page.frames_out, page.js_errors = frames_in, frames_out, errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(login)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-login")).to_have_text(login)
    return page


def messages(page: Page) -> list[dict]:
    return [m for f in page.frames_in for m in (f if isinstance(f, list) else [f])]  # type: ignore[attr-defined]


def arrays(page: Page) -> list[list[dict]]:
    return [f for f in page.frames_in if isinstance(f, list)]  # type: ignore[attr-defined]


def assert_in_order_and_no_resync(page: Page) -> None:
    seqs = [m["seq"] for m in messages(page)]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert not any("resync" in str(f) for f in page.frames_out), page.frames_out  # type: ignore[attr-defined]
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_panels_follow_a_call_and_a_burst_carried_in_array_frames(stack: Any, browser: Any) -> None:
    agent = await open_recorded(browser, stack.url, "1001")
    boss = await open_recorded(browser, stack.url, "1900", width=1400)
    await expect(boss.locator("#supervisor-view")).to_be_visible()
    badge = agent.locator("#state-badge")
    await agent.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)

    # A call: its events reach the supervisor as bursts (its socket lingers under load).
    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    row = boss.locator(f'#calls-body tr[data-linkedid="{call.uniqueid}"]')
    await expect(row.locator("td").nth(2)).to_have_text("answered", timeout=WAIT_MS)
    await expect(row.locator("td").nth(3)).to_contain_text("1001")
    assert any(len(f) > 1 for f in arrays(boss)), [type(f).__name__ for f in boss.frames_in]  # type: ignore[attr-defined]

    # Three marquee pushes queued at once reach the agent's panel as one frame; the last one shows.
    before = len(agent.frames_in)  # type: ignore[attr-defined]
    for text in ("first notice", "second notice", "third notice"):
        stack.app.hub.publish("marquee", {"items": [{"id": 1, "text": text}]}, ALL)
    await expect(agent.locator("#marquee-text")).to_contain_text("third notice", timeout=WAIT_MS)
    burst = [f for f in agent.frames_in[before:] if isinstance(f, list)  # type: ignore[attr-defined]
             and [m["type"] for m in f] == ["marquee"] * 3]
    assert len(burst) == 1 and [m["data"]["items"][0]["text"] for m in burst[0]] == [
        "first notice", "second notice", "third notice"]

    # After the bursts the pages still apply single messages: the call ends everywhere.
    await call.hangup()
    await expect(row).to_have_count(0, timeout=WAIT_MS)
    await expect(badge).not_to_have_text("On call", timeout=WAIT_MS)
    for page in (agent, boss):
        assert_in_order_and_no_resync(page)
