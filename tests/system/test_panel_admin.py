"""The administration page in Chromium, from an empty database: the admin the CLI made signs in
(forced to change the one-time password first), adds an agent in the page and reads the agent's
one-time password once; the agent signs in to the panel, changes it, and sees the queues given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.system.test_admin import cli, one_time

pytestmark = pytest.mark.browser


async def sign_in_changing_password(
    browser: Any, url: str, login: str, password: str, new: str
) -> Any:
    context = await browser.new_context(
        viewport={"width": 1200, "height": 900}, locale="zh-CN"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#pwchange-form")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#who-login")).to_be_hidden()
    await page.get_by_label("New password · 新密码").fill(
        login + "-too-weak"
    )  # contains the login
    await page.get_by_label("Again · 再次输入").fill(login + "-too-weak")
    await page.get_by_role("button", name="Change · 修改").click()
    await expect(page.locator("#pwchange-error")).to_contain_text(
        "login", timeout=WAIT_MS
    )
    await page.get_by_label("New password · 新密码").fill(new)
    await page.get_by_label("Again · 再次输入").fill(new)
    await page.get_by_role("button", name="Change · 修改").click()
    await expect(page.locator("#who-login")).to_have_text(login, timeout=WAIT_MS)
    return page


async def test_the_cli_admin_adds_an_agent_in_the_page_who_signs_in_and_sees_the_queues(
    db_dsn: str, tmp_path: Path, browser: Any
) -> None:
    code, out, err = await cli(db_dsn, "create", "--login", "boss", "--role", "admin")
    assert code == 0, err
    async with running(
        stack_config(db_dsn, tmp_path), seed=False
    ) as stack:  # an empty database
        await stack.core.link_ready.wait()
        admin = await sign_in_changing_password(
            browser, stack.url, "boss", one_time(out), "Quiet-harbour-41"
        )
        await admin.goto(stack.url + "admin")
        await expect(
            admin.locator("#people-table tr[data-login='boss']")
        ).to_be_visible(timeout=WAIT_MS)
        await admin.get_by_role("button", name="Add · 新增").click()
        await admin.get_by_label("Login · 工号").fill("2001")
        await admin.get_by_label("Name · 姓名").fill("赵六 Zhao Liu")
        await admin.get_by_label("Phone · 分机 (e.g. PJSIP/1004)").fill("PJSIP/2001")
        await admin.get_by_label("Queues · 技能队列 (queue:penalty; …)").fill(
            "nowhere:0"
        )
        await admin.get_by_role("button", name="Save · 保存").first.click()
        await expect(admin.locator("#person-error")).to_contain_text(
            "queues", timeout=WAIT_MS
        )
        await admin.get_by_label("Queues · 技能队列 (queue:penalty; …)").fill(
            "support:3"
        )
        await admin.get_by_role("button", name="Save · 保存").first.click()
        row = admin.locator("#people-table tr[data-login='2001']")
        await expect(row).to_contain_text("support:3", timeout=WAIT_MS)
        await expect(admin.locator("#otp-login")).to_have_text("2001")
        password = await admin.locator("#otp-value").text_content()
        assert password and len(password) >= 10
        await expect(admin.locator("#audit-table")).to_contain_text("person.create")

        agent = await sign_in_changing_password(
            browser, stack.url, "2001", password, "Blue-lantern-77"
        )
        await expect(agent.locator("#queue-options")).to_contain_text(
            "support", timeout=WAIT_MS
        )
        await expect(agent.locator("#queue-picker")).to_be_visible()
        assert admin.js_errors == [] and agent.js_errors == []
