"""The administration page's SIP accounts in Chromium: the admin adds an agent and reads the SIP
secret once (the one Asterisk's digest is made from), the phone column says whether it is
registered, and "Reset SIP secret" shows a new one that replaces it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.system.test_admin import cli, one_time
from tests.system.test_panel_admin import sign_in_changing_password
from tests.system.test_sip_accounts import realtime_of, register

pytestmark = pytest.mark.browser


def digest(secret: str) -> str:
    return hashlib.md5(f"2001:asterisk:{secret}".encode()).hexdigest()


async def test_the_admin_reads_an_agents_sip_secret_once_and_resets_it(
    db_dsn: str, tmp_path: Path, browser: Any
) -> None:
    code, out, err = await cli(db_dsn, "create", "--login", "boss", "--role", "admin")
    assert code == 0, err
    async with running(stack_config(db_dsn, tmp_path), seed=False) as stack:
        await stack.core.link_ready.wait()
        admin = await sign_in_changing_password(
            browser, stack.url, "boss", one_time(out), "Quiet-harbour-41"
        )
        await admin.goto(stack.url + "admin")
        await admin.get_by_role("button", name="Add · 新增").click()
        await admin.get_by_label("Login · 工号").fill("2001")
        await admin.get_by_label("Name · 姓名").fill("赵六 Zhao Liu")
        await admin.get_by_label("Phone · 分机 (e.g. PJSIP/1004)").fill("PJSIP/2001")
        await admin.get_by_role("button", name="Save · 保存").first.click()
        row = admin.locator("#people-table tr[data-login='2001']")
        await expect(row).to_contain_text("not registered · 未注册", timeout=WAIT_MS)
        await expect(admin.locator("#sip-username")).to_have_text("2001")
        first = await admin.locator("#sip-value").text_content()
        assert first and len(first) >= 20
        auth = (await realtime_of(db_dsn, "2001"))["ps_auths"]
        assert auth["md5_cred"] == digest(first)  # what the softphone is given works

        await register(db_dsn, "2001")
        await admin.get_by_role("button", name="Search · 查询").click()
        await expect(row).to_contain_text("registered · 已注册", timeout=WAIT_MS)
        await expect(row).not_to_contain_text("not registered", timeout=WAIT_MS)
        await row.get_by_role("button", name="Reset SIP secret · 重置分机密码").click()
        await expect(admin.locator("#sip-value")).not_to_have_text(
            first, timeout=WAIT_MS
        )
        second = await admin.locator("#sip-value").text_content()
        assert second and (await realtime_of(db_dsn, "2001"))["ps_auths"][
            "md5_cred"
        ] == digest(second)
        await expect(row).to_contain_text("not registered · 未注册", timeout=WAIT_MS)
        await expect(admin.locator("#audit-table")).to_contain_text("sip.secret_reset")
        assert first not in await admin.locator("#audit-table").text_content()
        assert admin.js_errors == []
