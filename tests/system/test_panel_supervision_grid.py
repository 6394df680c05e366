"""Monitoring from the supervisor's agent grid, and the monitored agent's banner across a reload
(Chromium, whole server, simulator).

The agent grid offers Listen / Whisper / Barge / Intercept for an agent on a call, with the same
rules as the Live calls rows (disabled with the reason beside them while the call is on hold).
The agent's banner is part of the agent's snapshot: a reload of the panel while a supervisor
whispers still shows it, and it goes when the supervisor stops.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import Phone
from tests.support.browser import WAIT_MS
from tests.system.test_panel_supervision import CALLER, agent_on_call, spies
from tests.system.test_panel_supervisor_calls import open_console

pytestmark = pytest.mark.browser


async def test_the_agent_grid_monitors_the_agents_call_and_follows_its_state(
        stack: Any, browser: Any, artifacts: Path) -> None:
    agent, _ = await agent_on_call(stack, browser)
    boss = await open_console(browser, stack.url)
    row = boss.locator('#agents-body tr[data-agent="1001"]')
    idle = boss.locator('#agents-body tr[data-agent="1002"]')
    await expect(row.locator(".badge")).to_have_text(re.compile("On call"), timeout=WAIT_MS)
    group = row.get_by_role("group", name="Monitor 1001")
    await expect(group).to_be_visible()
    await expect(idle.locator(".monitor-actions")).to_be_hidden()  # no call, no monitor buttons
    listen = group.get_by_role("button", name=re.compile(r"^Listen · 监听 — .*\(1001\)$"))
    await expect(listen).to_be_enabled()

    # held: the buttons say why they cannot be used, as the server would refuse (409 held)
    await agent.locator("#btn-hold").click()
    await expect(agent.locator("#state-badge")).to_have_text("On hold", timeout=WAIT_MS)
    await expect(listen).to_be_disabled(timeout=WAIT_MS)
    await expect(row.locator(".row-why")).to_contain_text("On hold")
    await agent.locator("#btn-hold").click()  # Retrieve
    await expect(listen).to_be_enabled(timeout=WAIT_MS)
    await expect(row.locator(".row-why")).to_be_hidden()

    # Whisper from the grid: the supervisor's phone rings, then the session is live on that call
    stack.sim.set_phone("1900", Phone(answer_after=0.3))
    await group.get_by_role("button", name=re.compile(r"^Whisper · 耳语 — ")).click()
    await expect(boss.locator("#monitor-state")).to_have_text("Live · 监控中", timeout=WAIT_MS)
    await expect(boss.locator("#monitor-what")).to_have_text(re.compile(r"^Whisper · 耳语 — .*\(1001\) with "
                                                                         + CALLER + "$"))
    assert spies(stack) == [("PJSIP/1001", "whisper")]
    await expect(row.locator(".monitors")).to_have_text(re.compile("Monitored: .*Whisper · 耳语"))
    await expect(listen).to_be_disabled()  # one session per supervisor
    await expect(row.locator(".row-why")).to_contain_text("You are monitoring this call")
    await expect(group.get_by_role("button", name=re.compile(r"^Intercept · 拦截"))).to_be_enabled()
    await boss.screenshot(path=str(artifacts / "panel_supervisor_grid_monitoring.png"), full_page=True)
    await boss.locator("#monitor-strip").get_by_role("button", name="Stop · 停止").click()
    await expect(boss.locator("#monitor-strip")).to_be_hidden(timeout=WAIT_MS)
    await expect(listen).to_be_enabled(timeout=WAIT_MS)

    # Intercept from the grid: asked first, then the supervisor has the caller and the agent is busy
    await group.get_by_role("button", name=re.compile(r"^Intercept · 拦截")).click()
    await expect(row.locator(".row-intercept-confirm")).to_contain_text("caller over?")
    await row.get_by_role("button", name="Yes, take the caller · 确认拦截").click()
    await expect(boss.locator("#monitor-state")).to_contain_text("Intercepted · 已拦截", timeout=WAIT_MS)
    await expect(agent.locator("#state-badge")).to_have_text("Busy (intercepted)", timeout=WAIT_MS)
    await expect(group).to_be_hidden(timeout=WAIT_MS)  # the agent has no call any more
    await boss.locator("#monitor-strip").get_by_role("button", name="Hang up · 挂机").click()
    await expect(boss.locator("#monitor-strip")).to_be_hidden(timeout=WAIT_MS)
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_the_agents_banner_survives_a_reload_while_whispered_and_goes_on_stop(
        stack: Any, browser: Any, artifacts: Path) -> None:
    agent, call = await agent_on_call(stack, browser)
    boss = await open_console(browser, stack.url)
    row = boss.locator(f'#calls-body tr[data-linkedid="{call.uniqueid}"]')
    stack.sim.set_phone("1900", Phone(answer_after=0.2))
    await row.get_by_role("button", name=f"Whisper · 耳语 — {CALLER}").click()
    await expect(boss.locator("#monitor-state")).to_have_text("Live · 监控中", timeout=WAIT_MS)
    banner = agent.locator("#monitor-banner")
    whispering = "陈主管 Supervisor Chen is whispering to you · 主管耳语中"
    await expect(banner).to_have_text(whispering, timeout=WAIT_MS)

    await agent.reload()  # a new socket: the snapshot carries the banner
    await expect(agent.locator("#state-badge")).to_have_text("On call", timeout=WAIT_MS)
    await expect(banner).to_have_text(whispering, timeout=WAIT_MS)
    await agent.screenshot(path=str(artifacts / "panel_agent_whispered_after_reload.png"), full_page=True)

    # listening is not shown to the agent: switched to listen, a reload shows no banner either
    await boss.locator("#monitor-strip").get_by_role("button", name="Listen · 监听").click()
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await agent.reload()
    await expect(agent.locator("#state-badge")).to_have_text("On call", timeout=WAIT_MS)
    await expect(banner).to_be_hidden()

    await boss.locator("#monitor-strip").get_by_role("button", name="Barge · 强插").click()
    await expect(banner).to_have_text("陈主管 Supervisor Chen is barging in · 主管强插中", timeout=WAIT_MS)
    await agent.reload()
    await expect(banner).to_have_text("陈主管 Supervisor Chen is barging in · 主管强插中", timeout=WAIT_MS)
    await boss.locator("#monitor-strip").get_by_role("button", name="Stop · 停止").click()
    await expect(banner).to_be_hidden(timeout=WAIT_MS)
    await agent.reload()
    await expect(agent.locator("#state-badge")).to_have_text("On call", timeout=WAIT_MS)
    await expect(banner).to_be_hidden()
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]
