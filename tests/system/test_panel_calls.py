"""The call-control toolbar in a real headless Chromium against the whole server and the simulator.

What an agent sees and does on a call: Hold (the badge says On hold, a hold timer runs and
turns into a warning past the configured limit, Asterisk really keeps both legs up),
Retrieve (back to On call), a transfer the panel itself refuses and one the server refuses
(shown inline), Hang up after a confirmation; and, when idle, dialling out from the header
(the agent's phone rings first; the toolbar then offers Hang up).
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
from tests.conftest import running, stack_config

pytestmark = pytest.mark.browser
HOLD_WARNING = 2.0  # seconds: the server's hold_warning_seconds in these tests (30 by default)


@pytest.fixture
async def warn_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The ``stack`` of tests/conftest.py with a short hold warning, so the warning shows within a test."""
    cfg = stack_config(db_dsn, tmp_path, **{"callcenter.hold_warning_seconds": HOLD_WARNING})
    async with running(cfg) as s:
        await s.core.link_ready.wait()
        yield s


async def open_panel(browser: Any, url: str, login: str) -> Page:
    """A fresh browser context signed in as ``login``, recording what it POSTs."""
    context = await browser.new_context(viewport={"width": 400, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    posts: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: posts.append(r.url.split("/api/", 1)[-1]) if r.method == "POST" else None)
    page.js_errors = errors  # type: ignore[attr-defined]
    page.posts = posts  # type: ignore[attr-defined]
    await page.goto(url)
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(login)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-login")).to_have_text(login)
    return page

async def panel_on_call(stack: Any, browser: Any, login: str = "1001") -> tuple[Page, Any]:
    """The panel of ``login``, signed in (Ready), on a simulated customer call it answered: (page, call)."""
    page = await open_panel(browser, stack.url, login)
    badge = page.locator("#state-badge")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone(login, Phone(answer_after=0.3))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    return page, call



def calls_posted(page: Page) -> list[str]:
    """The call-control requests the page sent (API paths after /api/)."""
    return [p for p in page.posts if p.startswith("calls/")]  # type: ignore[attr-defined]


def channels_of(stack: Any, linkedid: str) -> list[str]:
    return sorted(c["channel"].rsplit("-", 1)[0] for c in stack.sim.truth()["channels"] if c["linkedid"] == linkedid)


async def test_hold_retrieve_transfer_refusals_and_hang_up_from_the_toolbar(warn_stack: Any, browser: Any,
                                                                            artifacts: Path) -> None:
    stack = warn_stack
    page = await open_panel(browser, stack.url, "1001")
    badge = page.locator("#state-badge")
    tools = page.locator("#call-tools")
    dial = page.locator("#dial-form")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    await expect(dial).to_be_visible()  # idle: dialling out is offered
    await expect(tools).to_be_hidden()

    stack.sim.set_phone("1001", Phone(answer_after=0.5))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    await expect(tools).to_be_visible()
    await expect(dial).to_be_hidden()
    linkedid = call.uniqueid
    hold = page.locator("#btn-hold")
    await expect(hold).to_have_text("Hold · 保持")

    # Hold: the badge and the button follow Asterisk's confirmation; a timer runs, then warns.
    await hold.click()
    await expect(badge).to_have_text("On hold", timeout=WAIT_MS)
    await expect(hold).to_have_text("Retrieve · 恢复")
    await expect(hold).to_be_enabled()
    line = page.locator("#hold-line")
    await expect(line).to_be_visible()
    await expect(page.locator("#hold-time")).to_have_text(re.compile(r"^0:0\d$"))
    await expect(page.locator("#pop-phase")).to_have_text("On hold")
    await expect(line).to_have_class(re.compile(r"\bwarn\b"), timeout=WAIT_MS)  # past the 2 s limit
    await expect(page.locator("#hold-warn")).to_contain_text("over 2 s")
    assert channels_of(stack, linkedid) == ["PJSIP/1001", "PJSIP/caller"]  # both legs still up
    await page.screenshot(path=str(artifacts / "panel_toolbar.png"), full_page=True)

    await hold.click()
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    await expect(line).to_be_hidden()
    await expect(hold).to_have_text("Hold · 保持")
    await expect(page.locator("#pop-phase")).to_have_text("On call")

    # Transfer: to oneself is refused by the panel (nothing sent); to a signed-out agent by the server.
    await page.locator("#btn-transfer").click()
    await expect(page.locator("#transfer-form")).to_be_visible()
    await page.get_by_label("Transfer to").select_option("agent")
    target = page.locator("#transfer-target")
    await target.fill("1001")
    sent = len(calls_posted(page))
    await page.locator("#transfer-submit").click()
    await expect(page.locator("#call-error")).to_contain_text("already yours")
    await page.get_by_label("Transfer to").select_option("external")
    await target.fill("12ab")
    await page.locator("#transfer-submit").click()
    await expect(page.locator("#call-error")).to_contain_text("0-9 + * #")
    assert len(calls_posted(page)) == sent
    await page.get_by_label("Transfer to").select_option("agent")
    await target.fill("1002")
    await page.locator("#transfer-submit").click()
    await expect(page.locator("#call-error")).to_contain_text("1002 is not ready", timeout=WAIT_MS)
    assert calls_posted(page)[-1] == f"calls/{linkedid}/transfer"
    await expect(badge).to_have_text("On call")  # nothing moved
    assert channels_of(stack, linkedid) == ["PJSIP/1001", "PJSIP/caller"]
    await page.locator("#transfer-cancel").click()
    await expect(page.locator("#transfer-form")).to_be_hidden()

    # Hang up asks first; Cancel keeps the call, Yes ends it.
    await page.locator("#btn-hangup").click()
    confirm = page.locator("#hangup-confirm")
    await expect(confirm).to_be_visible()
    await page.locator("#hangup-no").click()
    await expect(confirm).to_be_hidden()
    await expect(badge).to_have_text("On call")
    await page.locator("#btn-hangup").click()
    await page.get_by_role("button", name="Yes, hang up").click()
    await asyncio.wait_for(call.ended(), WAIT_MS / 1000)
    await expect(tools).to_be_hidden(timeout=WAIT_MS)
    await expect(page.locator("#pop")).to_be_hidden()
    await expect(badge).to_have_text("Wrap-up")
    await expect(dial).to_be_visible()
    assert channels_of(stack, linkedid) == []
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_dial_out_from_the_header_then_hang_up(stack: Any, browser: Any) -> None:
    page = await open_panel(browser, stack.url, "1001")
    badge = page.locator("#state-badge")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)

    number = page.get_by_label("Number to call · 呼出号码")
    await number.fill("021-abc")
    await page.get_by_role("button", name="Call · 呼出").click()
    await expect(page.locator("#dial-error")).to_contain_text("(number)")
    assert calls_posted(page) == []  # refused in the panel

    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    stack.sim.set_phone("outside", Phone(answer_after=0.3))
    await number.fill("021 5555 1234")
    await page.get_by_role("button", name="Call · 呼出").click()
    await expect(page.locator("#dial-error")).to_be_hidden()
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    assert calls_posted(page) == ["calls/dial"]
    tools = page.locator("#call-tools")
    await expect(tools).to_be_visible()
    await expect(page.locator("#btn-hangup")).to_be_visible()
    await expect(page.locator("#btn-hold")).to_be_hidden()  # an outbound call: hang up only
    await expect(page.locator("#dial-form")).to_be_hidden()

    async def outside_up() -> str:  # the number answered
        while True:
            for c in stack.sim.truth()["channels"]:
                if c["channel"].startswith("PJSIP/outside-") and c["state"] == 6:
                    return c["linkedid"]
            await asyncio.sleep(0.02)  # polling the simulator's truth, not synchronising on time

    linkedid = await asyncio.wait_for(outside_up(), WAIT_MS / 1000)
    await page.locator("#btn-hangup").click()
    await page.get_by_role("button", name="Yes, hang up").click()
    await expect(tools).to_be_hidden(timeout=WAIT_MS)
    await expect(badge).not_to_have_text("On call")
    await expect(page.locator("#dial-form")).to_be_visible()

    async def gone() -> None:
        while channels_of(stack, linkedid):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(gone(), WAIT_MS / 1000)
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_a_transfer_to_a_ready_agent_takes_the_call_off_the_panel(stack: Any, browser: Any) -> None:
    page, call = await panel_on_call(stack, browser)
    badge = page.locator("#state-badge")
    colleague = stack.client()
    try:
        await colleague.login("1002")
        await colleague.connect()
        status, body = await colleague.post("/api/agent/state", {"state": "ready"})
        assert status < 300, body
        await colleague.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "ready")
        stack.sim.set_phone("1002", Phone(answer_after=0.3))

        await page.locator("#btn-transfer").click()
        await page.get_by_label("Transfer to").select_option("agent")
        await page.locator("#transfer-target").fill("1002")
        await page.locator("#transfer-submit").click()
        await colleague.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "on_call")
        # the call left 1001: the toolbar and the card go although the call goes on elsewhere
        await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)
        await expect(page.locator("#pop")).to_be_hidden()
        await expect(badge).not_to_have_text(re.compile("On call|On hold"))
        await expect(page.locator("#call-error")).to_be_hidden()
        assert channels_of(stack, call.uniqueid) == ["PJSIP/1002", "PJSIP/caller"]
        await call.hangup()
        await colleague.expect("call_ended", lambda d: d["linkedid"] == call.uniqueid)
    finally:
        await colleague.close()
    assert page.js_errors == []  # type: ignore[attr-defined]
