"""The complaint warning pop-up, the reports page and the customer record in a real headless Chromium
against the whole server: a warning pops up on the supervisor's panel as the complaint that crosses
a threshold is submitted and goes once acknowledged; the reports page draws its tables and charts
and exports CSV; an agent creates the caller of a live call as a customer from the pop and opens
the record. Names and text holding HTML are shown as text, never run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.support.accounts import ADMIN, add_admin
from tests.support.browser import WAIT_MS
from tests.support.calls import answered_call, panels, ready

pytestmark = pytest.mark.browser

EVIL = '<img src=x onerror="window.__pwned=1">'


async def signed_in(browser: Any, url: str, login: str, width: int = 1280) -> Page:
    context = await browser.new_context(
        viewport={"width": width, "height": 900}, locale="zh-CN"
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(login)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-login")).to_have_text(login)
    return page


async def submit_complaint(client: Any, request: str = "charged twice") -> str:
    status, body = await client.post(
        "/api/workorders",
        {
            "channel": "letter",
            "customer_no": "C0002",
            "category": "complaint",
            "subcategory": "fees",
            "request": request,
        },
    )
    assert status == 201, body
    ref = body["workorder"]["ref"]
    status, body = await client.post(
        f"/api/workorders/{ref}/submit",
        {"version": 1, "resolved": False, "department": "cards"},
    )
    assert status == 200, body
    return ref


async def test_a_warning_pops_up_on_the_supervisor_panel_and_goes_when_acknowledged(
    stack: Any, browser: Any, artifacts: Path
) -> None:
    await add_admin(stack)
    boss = await signed_in(browser, stack.url, "1900")
    await expect(boss.locator("#reports-link")).to_be_visible()
    await expect(boss.locator("#complaint-popup")).to_be_hidden()
    async with panels(stack, "1001", ADMIN) as p:
        status, t = await p[ADMIN].post(
            "/api/complaints/thresholds",
            {
                "name": f"Fees {EVIL}",
                "measure": "count",
                "period": "day",
                "limit": 1,
                "subcategory": "fees",
            },
        )
        assert status == 201, t
        await submit_complaint(p["1001"])
    popup = boss.locator("#complaint-popup")
    await expect(popup).to_be_visible(timeout=WAIT_MS)
    await expect(popup.locator(".complaint-name")).to_have_text(
        f"Fees {EVIL}"
    )  # the markup is text
    await expect(popup.locator(".complaint-what")).to_contain_text(
        "1 complaints (limit 1)"
    )
    await expect(boss.locator("#complaint-badge")).to_contain_text(
        "1 complaint warning"
    )
    await boss.screenshot(path=str(artifacts / "complaint-warning.png"))
    await popup.get_by_label("Comment").fill("fees team told")
    await popup.get_by_role("button", name="Acknowledge · 确认").click()
    await expect(popup).to_be_hidden(timeout=WAIT_MS)
    await expect(boss.locator("#complaint-badge")).to_be_hidden()
    warnings = await boss.evaluate(
        "async () => (await (await fetch('/api/complaints/warnings')).json()).warnings"
    )
    assert [(w["acknowledged_by"], w["ack_comment"]) for w in warnings] == [
        ("1900", "fees team told")
    ]
    await boss.reload()
    await expect(boss.locator("#who-login")).to_have_text("1900")
    await expect(boss.locator("#complaint-popup")).to_be_hidden()
    assert await boss.evaluate("window.__pwned") is None
    assert boss.js_errors == []  # type: ignore[attr-defined]


async def test_the_reports_page_draws_the_period_and_exports_csv(
    stack: Any, browser: Any, artifacts: Path
) -> None:
    await add_admin(stack)
    async with panels(stack, "1001") as p:
        await submit_complaint(p["1001"], request=EVIL)
    agent = await signed_in(browser, stack.url, "1001")
    await agent.goto(stack.url + "reports")
    await expect(agent.locator("#page-error")).to_have_text(
        "Reports are for supervisors · 仅限班长查看"
    )
    await expect(agent.locator("#report")).to_be_hidden()

    admin = await signed_in(browser, stack.url, ADMIN)
    await admin.goto(stack.url + "reports")
    await expect(admin.locator("body[data-ready='1']")).to_have_count(
        1, timeout=WAIT_MS
    )
    counts = admin.locator("#table-by_category_status")
    await expect(counts.locator("tbody tr")).to_have_count(1)
    await expect(counts.locator("tbody tr")).to_contain_text("complaint")
    await expect(counts.locator("tbody tr")).to_contain_text("submitted")
    await expect(
        admin.locator("#chart-counts rect[data-key='submitted']")
    ).to_have_count(1)
    await expect(admin.locator("#total-work")).to_have_text("1")
    await expect(admin.locator("#on-time-rate")).to_have_text("—")
    href = await admin.locator("a.csv[data-table='by_category_status']").get_attribute(
        "href"
    )
    csv = await admin.evaluate(
        "async (h) => { const r = await fetch(h); return [r.status, await r.text()]; }",
        href,
    )
    assert csv[0] == 200 and "complaint,submitted,1" in csv[1]
    # complaint statistics: this month's complaint in the table and chart
    await expect(admin.locator("#table-stats tbody tr")).not_to_have_count(0)
    await expect(admin.locator("#chart-stats rect")).to_have_count(1)
    # an admin adds a threshold; a wrong limit is refused naming the field
    await admin.locator("#t-name").fill("Rate this week")
    await admin.locator("#t-measure").select_option("rate")
    await admin.locator("#t-period").select_option("week")
    await admin.locator("#t-limit").fill("5")
    await admin.locator("#t-add").click()
    await expect(admin.locator("#threshold-error")).to_contain_text("(limit)")
    await admin.locator("#t-limit").fill("0.05")
    await admin.locator("#t-add").click()
    row = admin.locator("#table-thresholds tbody tr")
    await expect(row).to_have_count(1, timeout=WAIT_MS)
    await expect(row).to_contain_text("Rate this week")
    await expect(row).to_contain_text("5 %")
    await expect(row).to_contain_text("complaint")
    await admin.screenshot(path=str(artifacts / "reports.png"), full_page=True)
    assert await admin.evaluate("window.__pwned") is None
    assert admin.js_errors == [] and agent.js_errors == []  # type: ignore[attr-defined]


async def test_an_agent_creates_the_caller_as_a_customer_from_the_pop_and_opens_the_record(
    stack: Any, browser: Any, artifacts: Path
) -> None:
    page = await signed_in(browser, stack.url, "1001", width=500)
    async with panels(stack, "1001") as p:
        await ready(p["1001"], "1001")
        await answered_call(
            stack, p["1001"], number="13512345678", hangup_after_answer=60
        )
        create = page.locator("#pop-customer-create")
        await expect(create).to_be_visible(timeout=WAIT_MS)
        await create.click()
        await expect(page.locator("#cn-phones")).to_have_value("13512345678")
        await page.locator("#cn-name").fill(f"{EVIL}王")
        await page.locator("#cn-phones").fill("13512345678\n12")
        await page.locator("#cn-create").click()
        await expect(page.locator("#cn-error")).to_contain_text(
            "phones[1]"
        )  # the server named the bad one
        await page.locator("#cn-phones").fill("13512345678\n010 6234 9999")
        await page.locator("#cn-class").select_option("vip")
        await page.locator("#cn-create").click()
        await expect(page.locator("#pop-customer")).to_have_text(
            f"{EVIL}王", timeout=WAIT_MS
        )
        await expect(page.locator("#pop-class")).to_have_text("VIP")
        link = page.locator("#pop-customer-link")
        await expect(link).to_be_visible()
        await page.screenshot(path=str(artifacts / "customer-created-pop.png"))
        async with page.context.expect_page() as opened:
            await link.click()
        record = await opened.value
        record.on("pageerror", lambda exc: page.js_errors.append(str(exc)))  # type: ignore[attr-defined]
        await expect(record.locator("body[data-ready='1']")).to_have_count(
            1, timeout=WAIT_MS
        )
        await expect(record.locator("#c-name")).to_have_text(f"{EVIL}王")
        await expect(record.locator("#c-phones")).to_have_text(
            "01062349999, 13512345678"
        )
        await expect(record.locator("#h-table tbody tr")).to_have_count(1)
        await expect(record.locator("#h-table tbody tr")).to_contain_text("1001")
        await record.screenshot(path=str(artifacts / "customer-record.png"))
        assert await record.evaluate("window.__pwned") is None
    assert await page.evaluate("window.__pwned") is None
    assert page.js_errors == []  # type: ignore[attr-defined]
