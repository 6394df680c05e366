"""The server's alerts on the supervisor page (Chromium, whole server, simulator).

An agent busy past the limit of their reason shows on the supervisor's page as the server raised it
(also after a reload: it is in the snapshot), and its Force ready makes the agent ready, after which
the server clears it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import open_panel
from tests.system.test_panel_supervisor_calls import open_console

pytestmark = pytest.mark.browser


@pytest.fixture
async def alert_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    cfg = stack_config(db_dsn, tmp_path, **{"supervision.alert_busy_seconds": 1.0,
                                            "supervision.alert_busy_per_reason": ("lunch=600",),
                                            "supervision.alert_check_seconds": 0.2})
    async with running(cfg) as s:
        await s.core.link_ready.wait()
        yield s


async def test_a_busy_agent_alert_from_the_server_is_listed_survives_a_reload_and_force_ready_clears_it(
        alert_stack: Any, browser: Any, artifacts: Path) -> None:
    stack = alert_stack
    agent = await open_panel(browser, stack.url, "1001")
    badge = agent.locator("#state-badge")
    await agent.locator("#btn-signin").click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    await agent.locator("#btn-busy").click()
    await expect(badge).to_have_text(re.compile("^Busy"), timeout=WAIT_MS)

    boss = await open_console(browser, stack.url)
    alert = boss.locator('#alert-list li[data-alert="busy:1001"]')
    await expect(alert).to_be_visible(timeout=WAIT_MS)
    await expect(alert.locator(".alert-text")).to_have_text(re.compile(r"\(1001\) busy \(.+\) · 示忙过长"))
    await expect(alert.locator(".alert-time")).to_contain_text("(limit 0:01)")
    await expect(boss.locator("#alerts-count")).to_have_text("1")

    await boss.reload()  # the alert is in the supervisor's snapshot
    await expect(alert).to_be_visible(timeout=WAIT_MS)
    await boss.screenshot(path=str(artifacts / "panel_supervisor_busy_alert.png"), full_page=True)

    await alert.get_by_role("button", name=re.compile("^Force ready")).click()
    await expect(badge).to_have_text("Ready", timeout=WAIT_MS)
    await expect(alert).to_have_count(0, timeout=WAIT_MS)
    await expect(boss.locator("#alerts-empty")).to_be_visible()
    assert agent.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]
