"""Monitoring from the supervisor page, the monitored agent's banner, and the alerts (Chromium,
whole server, simulator).

Supervisor 1900 presses Listen on a live call: the monitoring strip says the phone is ringing,
then live, with who, which call and a running timer; the Live calls table and the agent grid say
who monitors the call in which mode; Stop clears it. Whisper (from the row, or switched to from
the strip) shows the agent a banner that Stop clears too. A refusal is shown with the server's
message, the audit view lists the day's steps, and a hold past the limit raises an alert whose
"Listen when retrieved" starts monitoring once the agent takes the call back.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import Page, expect

from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import open_panel
from tests.system.test_panel_supervisor_calls import open_console

pytestmark = pytest.mark.browser
HOLD_WARNING = 2.0  # seconds: the hold limit in the alert test (30 by default)
CALLER = "13800138000 Zhang Wei"


@pytest.fixture
async def hold_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The ``stack`` with a short hold limit, so that a hold alert shows within a test."""
    cfg = stack_config(db_dsn, tmp_path, **{"callcenter.hold_warning_seconds": HOLD_WARNING})
    async with running(cfg) as s:
        await s.core.link_ready.wait()
        yield s


async def agent_on_call(stack: Any, browser: Any) -> tuple[Page, Any]:
    """Agent 1001's panel, ready, then on an answered customer call that lasts: (page, sim call)."""
    agent = await open_panel(browser, stack.url, "1001")
    badge = agent.locator("#state-badge")
    await agent.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
    await expect(badge).to_have_text("On call", timeout=WAIT_MS)
    return agent, call


def spies(stack: Any) -> list[tuple[str, str]]:
    """(spied-on endpoint, mode) of every ChanSpy the simulator runs."""
    return [(s["spyee"].split("-")[0], s["mode"]) for s in stack.sim.truth()["spies"]]


async def test_listen_from_live_calls_rings_then_goes_live_and_whisper_shows_the_agent_a_banner(
        stack: Any, browser: Any, artifacts: Path) -> None:
    agent, call = await agent_on_call(stack, browser)
    boss = await open_console(browser, stack.url)
    row = boss.locator(f'#calls-body tr[data-linkedid="{call.uniqueid}"]')
    strip = boss.locator("#monitor-strip")
    await expect(row.locator("td").nth(2)).to_have_text("answered", timeout=WAIT_MS)
    listen = row.get_by_role("button", name=f"Listen · 监听 — {CALLER}")
    await expect(listen).to_be_enabled()
    await expect(strip).to_be_hidden()

    # A refusal is shown in the row with the server's message: the request is held back until the
    # agent has put the call on hold, so the server sees a held call (409) while the page did not.
    release = asyncio.Event()

    async def after_hold(route: Any) -> None:
        await release.wait()
        await route.continue_()

    await boss.route("**/api/supervision/monitor", after_hold)
    await listen.click()
    await expect(listen).to_be_disabled()  # waiting
    await agent.locator("#btn-hold").click()
    await expect(agent.locator("#state-badge")).to_have_text("On hold", timeout=WAIT_MS)
    release.set()
    error = row.locator(".row-error")
    await expect(error).to_have_text("the call is on hold", timeout=WAIT_MS)
    await boss.unroute("**/api/supervision/monitor")
    await expect(row.locator(".row-why")).to_contain_text("On hold")
    await agent.locator("#btn-hold").click()  # Retrieve
    await expect(agent.locator("#state-badge")).to_have_text("On call", timeout=WAIT_MS)
    await expect(listen).to_be_enabled(timeout=WAIT_MS)

    # A phone that declines: the session ends at once and the page says why.
    stack.sim.set_phone("1900", Phone(decline_after=0.2))
    await listen.click()
    await expect(boss.locator("#monitor-note")).to_have_text("Monitoring ended — your phone did not answer · 监控已结束",
                                                             timeout=WAIT_MS)
    await expect(strip).to_be_hidden()
    await expect(error).to_be_hidden()

    # Listen: the supervisor's phone rings first, then the session is live.
    stack.sim.set_phone("1900", Phone(answer_after=1.5))
    await listen.click()
    await expect(strip).to_be_visible(timeout=WAIT_MS)
    await expect(boss.locator("#monitor-state")).to_contain_text("Ringing your phone", timeout=WAIT_MS)
    await expect(boss.locator("#monitor-modes-why")).to_contain_text("Answer your phone first")
    await expect(error).to_be_hidden()
    await expect(boss.locator("#monitor-state")).to_have_text("Live · 监控中", timeout=WAIT_MS)
    await expect(boss.locator("#monitor-what")).to_have_text(re.compile(r"^Listen · 监听 — .*\(1001\) with "
                                                                         + CALLER + "$"))
    await expect(boss.locator("#monitor-since")).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=WAIT_MS)
    await expect(strip.get_by_role("button", name="Listen · 监听")).to_have_attribute("aria-pressed", "true")
    assert spies(stack) == [("PJSIP/1001", "listen")]
    # who monitors which call, in which mode: in the Live calls table and the agent grid
    watched = re.compile(r"Monitored: 陈主管 Supervisor Chen — Listen · 监听")
    await expect(row.locator(".monitors")).to_have_text(watched)
    await expect(boss.locator('#agents-body tr[data-agent="1001"] .monitors')).to_have_text(watched)
    await expect(listen).to_be_disabled()  # one session per supervisor; the reason is beside the buttons
    await expect(row.locator(".row-why")).to_contain_text("You are monitoring this call")
    await expect(agent.locator("#monitor-banner")).to_be_hidden()  # listening is not shown to the agent
    await boss.screenshot(path=str(artifacts / "panel_supervisor_monitoring.png"), full_page=True)

    await strip.get_by_role("button", name="Stop · 停止").click()
    await expect(strip).to_be_hidden(timeout=WAIT_MS)
    await expect(boss.locator("#monitor-note")).to_have_text("Monitoring ended — you stopped it · 监控已结束")
    await expect(row.locator(".monitors")).to_be_hidden()
    assert spies(stack) == []

    # Whisper from the row: the agent's panel says so; Stop clears the strip and the banner.
    stack.sim.set_phone("1900", Phone(answer_after=0.2))
    await row.get_by_role("button", name=f"Whisper · 耳语 — {CALLER}").click()
    await expect(boss.locator("#monitor-state")).to_have_text("Live · 监控中", timeout=WAIT_MS)
    await expect(boss.locator("#monitor-note")).to_be_hidden()
    banner = agent.locator("#monitor-banner")
    await expect(banner).to_have_text("陈主管 Supervisor Chen is whispering to you · 主管耳语中", timeout=WAIT_MS)
    await expect(row.locator(".monitors")).to_have_text(re.compile("Whisper · 耳语"))
    await agent.screenshot(path=str(artifacts / "panel_agent_whispered_to.png"), full_page=True)
    await strip.get_by_role("button", name="Stop · 停止").click()
    await expect(strip).to_be_hidden(timeout=WAIT_MS)
    await expect(banner).to_be_hidden(timeout=WAIT_MS)

    # The day's supervision steps, newest first.
    await boss.get_by_role("button", name="Show today's · 查看今日").click()
    audit = boss.locator("#audit-body tr")
    await expect(audit.first).to_be_visible(timeout=WAIT_MS)
    await expect(boss.locator('#audit-body tr[data-kind="monitor_ended"]')).to_have_count(3, timeout=WAIT_MS)
    started = boss.locator('#audit-body tr[data-kind="monitor_started"]')
    await expect(started).to_have_count(2)
    await expect(started.first.locator("td").nth(1)).to_have_text("陈主管 Supervisor Chen (1900)")
    await expect(started.first.locator("td").nth(2)).to_contain_text("(1001)")
    await expect(started.first.locator("td").nth(5)).to_have_text("Whisper · 耳语")
    await expect(started.last.locator("td").nth(5)).to_have_text("Listen · 监听")
    await expect(started.first.locator("td").nth(3)).not_to_be_empty()
    declined = boss.locator('#audit-body tr[data-kind="monitor_ended"]').last
    await expect(declined.locator("td").nth(4)).to_contain_text("your phone did not answer")
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_switching_mode_from_the_strip_waits_for_asterisk_and_the_banner_follows(
        stack: Any, browser: Any, artifacts: Path) -> None:
    agent, call = await agent_on_call(stack, browser)
    boss = await open_console(browser, stack.url)
    row = boss.locator(f'#calls-body tr[data-linkedid="{call.uniqueid}"]')
    strip = boss.locator("#monitor-strip")
    banner = agent.locator("#monitor-banner")
    stack.sim.set_phone("1900", Phone(answer_after=0.2))
    await row.get_by_role("button", name=f"Listen · 监听 — {CALLER}").click()
    await expect(boss.locator("#monitor-state")).to_have_text("Live · 监控中", timeout=WAIT_MS)

    whisper = strip.get_by_role("button", name="Whisper · 耳语")
    await whisper.click()
    await expect(boss.locator("#monitor-error")).to_be_hidden()
    await expect(whisper).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
    await expect(boss.locator("#monitor-what")).to_contain_text("Whisper · 耳语 —")
    await expect(banner).to_have_text("陈主管 Supervisor Chen is whispering to you · 主管耳语中", timeout=WAIT_MS)
    assert spies(stack) == [("PJSIP/1001", "whisper")]  # the same spy: the phone did not ring again

    await strip.get_by_role("button", name="Barge · 强插").click()
    await expect(banner).to_have_text("陈主管 Supervisor Chen is barging in · 主管强插中", timeout=WAIT_MS)
    await strip.get_by_role("button", name="Listen · 监听").click()
    await expect(banner).to_be_hidden(timeout=WAIT_MS)  # listening is not shown
    await expect(row.locator(".monitors")).to_have_text(re.compile("Listen · 监听"))

    await strip.get_by_role("button", name="Stop · 停止").click()
    await expect(strip).to_be_hidden(timeout=WAIT_MS)
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_a_long_hold_raises_an_alert_whose_listen_starts_once_the_call_is_retrieved(
        hold_stack: Any, browser: Any, artifacts: Path) -> None:
    stack = hold_stack
    agent, call = await agent_on_call(stack, browser)
    boss = await open_console(browser, stack.url)
    row = boss.locator(f'#calls-body tr[data-linkedid="{call.uniqueid}"]')
    await expect(row.locator("td").nth(2)).to_have_text("answered", timeout=WAIT_MS)
    await expect(boss.locator("#alerts-empty")).to_be_visible()

    await agent.locator("#btn-hold").click()
    await expect(agent.locator("#state-badge")).to_have_text("On hold", timeout=WAIT_MS)
    await expect(row.locator(".row-why")).to_contain_text("On hold", timeout=WAIT_MS)  # a held call cannot be monitored
    await expect(row.get_by_role("button", name=f"Listen · 监听 — {CALLER}")).to_be_disabled()
    alert = boss.locator(f'#alert-list li[data-alert="hold:{call.uniqueid}"]')
    await expect(alert).to_be_visible(timeout=WAIT_MS)
    await expect(alert.locator(".alert-text")).to_have_text(re.compile(CALLER + r" on hold by .*\(1001\)"))
    await expect(boss.locator("#alerts-count")).to_have_text("1")
    await boss.screenshot(path=str(artifacts / "panel_supervisor_hold_alert.png"), full_page=True)

    stack.sim.set_phone("1900", Phone(answer_after=0.2))
    await alert.get_by_role("button", name=re.compile("^Listen when retrieved")).click()
    await expect(alert.locator(".alert-status")).to_contain_text("Will listen as soon as the call is retrieved")
    assert [p for p in boss.posts if p.startswith("supervision/")] == []  # type: ignore[attr-defined]

    await agent.locator("#btn-hold").click()  # Retrieve
    await expect(agent.locator("#state-badge")).to_have_text("On call", timeout=WAIT_MS)
    await expect(alert).to_have_count(0, timeout=WAIT_MS)  # the condition ended
    await expect(boss.locator("#alerts-empty")).to_be_visible()
    await expect(boss.locator("#monitor-state")).to_have_text("Live · 监控中", timeout=WAIT_MS)
    assert spies(stack) == [("PJSIP/1001", "listen")]
    await boss.locator("#monitor-strip").get_by_role("button", name="Stop · 停止").click()
    await expect(boss.locator("#monitor-strip")).to_be_hidden(timeout=WAIT_MS)
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_intercept_from_a_row_is_asked_first_and_leaves_the_supervisor_with_the_caller(
        stack: Any, browser: Any) -> None:
    agent, call = await agent_on_call(stack, browser)
    boss = await open_console(browser, stack.url)
    row = boss.locator(f'#calls-body tr[data-linkedid="{call.uniqueid}"]')
    forms = boss.locator(f'#calls-body tr[data-forms-for="{call.uniqueid}"]')
    intercept = row.get_by_role("button", name=f"Intercept · 拦截 — {CALLER}")
    await expect(intercept).to_be_enabled(timeout=WAIT_MS)
    await intercept.click()
    await expect(forms.locator(".row-intercept-confirm")).to_contain_text("Take this caller over from")
    await forms.get_by_role("button", name="Cancel").click()
    assert [p for p in boss.posts if p.startswith("supervision/")] == []  # type: ignore[attr-defined]

    stack.sim.set_phone("1900", Phone(answer_after=0.2))
    await intercept.click()
    await forms.get_by_role("button", name="Yes, take the caller · 确认拦截").click()
    strip = boss.locator("#monitor-strip")
    await expect(boss.locator("#monitor-state")).to_contain_text("Intercepted · 已拦截", timeout=WAIT_MS)
    await expect(strip.get_by_role("button", name="Hang up · 挂机")).to_be_visible()
    await expect(strip.get_by_role("button", name="Whisper · 耳语")).to_be_hidden()
    await expect(agent.locator("#state-badge")).to_have_text("Busy (intercepted)", timeout=WAIT_MS)
    await expect(agent.locator("#monitor-banner")).to_be_hidden()
    await strip.get_by_role("button", name="Hang up · 挂机").click()
    await expect(strip).to_be_hidden(timeout=WAIT_MS)
    await expect(row).to_have_count(0, timeout=WAIT_MS)  # the supervisor's hang-up ends the caller's call
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]
