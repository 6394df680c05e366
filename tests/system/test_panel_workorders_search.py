"""The wrap-up gate and the work-order search in the panel, in a real headless Chromium.

An agent in wrap-up is told which fields the call's work order still needs, is refused Ready
while they are missing (the server's 409 shown under the buttons), and gets Ready once they are
filled. A supervisor searches work orders by Chinese text and status, pages through them,
opens one from the results, and exports the same search as CSV.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.system.test_panel_workorders import open_panel

pytestmark = pytest.mark.browser


async def test_wrap_up_waits_for_the_required_fields(db_dsn: str, tmp_path: Path, browser: Any,
                                                     artifacts: Path) -> None:
    cfg = stack_config(db_dsn, tmp_path, **{"callcenter.wrapup_seconds": 120.0,
                                            "workorders.wrapup_required": ("category", "request")})
    async with running(cfg) as stack:
        await stack.core.link_ready.wait()
        agent = await open_panel(browser, stack.url, "1001")
        await agent.locator("#btn-signin").click()
        await expect(agent.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)
        stack.sim.set_phone("1001", Phone(answer_after=0.3))
        call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
        await expect(agent.locator("#state-badge")).to_have_text("On call", timeout=WAIT_MS)
        await expect(agent.locator("#writeup")).to_be_visible(timeout=WAIT_MS)
        gate = agent.locator("#wu-gate")
        await expect(gate).to_be_hidden()  # on the call: nothing to end yet

        call.channel.request_hangup(16)
        await expect(agent.locator("#state-badge")).to_have_text("Wrap-up", timeout=WAIT_MS)
        await expect(gate).to_have_text("To end wrap-up, fill in: category, request · 结束话后前请填写",
                                        timeout=WAIT_MS)
        await expect(agent.locator("#wu-category")).to_have_attribute("data-gate", "")
        # shown as a flag, not as the grey status line: amber bar, bold dark text; the field outlined
        await expect(gate).to_be_visible()
        await expect(gate).to_have_css("border-left-color", "rgb(141, 102, 5)")
        await expect(gate).to_have_css("background-color", "rgb(255, 243, 209)")
        await expect(gate).to_have_css("font-weight", "600")
        await expect(agent.locator("#wu-category")).to_have_css("border-top-color", "rgb(141, 102, 5)")
        await expect(agent.locator("#wu-request")).to_have_css("border-top-color", "rgb(141, 102, 5)")
        await agent.locator("#btn-ready").click()
        error = agent.locator("#state-error")
        await expect(error).to_contain_text("category, request missing", timeout=WAIT_MS)
        await expect(agent.locator("#state-badge")).to_have_text("Wrap-up")
        await agent.screenshot(path=str(artifacts / "panel_wrapup_gate.png"), full_page=True)

        await agent.get_by_label("Category · 分类").select_option("complaint")
        await expect(gate).to_have_text("To end wrap-up, fill in: sub-category, request · 结束话后前请填写")
        await agent.get_by_label("Sub-category · 子类").select_option("fees")
        await agent.get_by_label("Customer's request · 客户诉求").fill("重复收费")
        await expect(gate).to_be_hidden()
        await expect(agent.locator("#wu-status")).to_have_text("Saved · 已保存", timeout=WAIT_MS)
        await agent.locator("#btn-ready").click()
        await expect(agent.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)
        assert agent.js_errors == []  # type: ignore[attr-defined]


async def test_a_supervisor_searches_pages_opens_and_exports(stack: Any, browser: Any, artifacts: Path) -> None:
    from tests.support.panel import PanelClient

    writer = PanelClient(stack.url)
    await writer.login("1001")
    refs = []
    try:
        for i in range(23):
            status, body = await writer.post("/api/workorders", {
                "channel": "letter", "category": "complaint", "subcategory": "fees",
                "request": f"第{i}封信：重复收费" if i % 2 == 0 else f"letter {i}: fees", "notes": "=1+1"})
            assert status == 201, body
            refs.append(body["workorder"]["ref"])
        status, body = await writer.post(f"/api/workorders/{refs[-1]}/submit", {"version": 1, "resolved": False, "department": "cards"})
        assert status == 200, body
    finally:
        await writer.close()
    chinese = [r for i, r in enumerate(refs) if i % 2 == 0][::-1]  # newest first: 12 of them

    boss = await open_panel(browser, stack.url, "1900", width=1000)
    await boss.locator("#wo-search-box summary").click()
    await boss.get_by_label("Words · 关键词").fill("重复收费")
    await boss.locator("#wo-search-go").click()
    results = boss.locator("#wo-search-results li")
    await expect(results).to_have_count(12, timeout=WAIT_MS)
    assert await results.evaluate_all("ls => ls.map(l => l.dataset.ref)") == chinese
    await expect(boss.locator("#wo-search-more")).to_be_hidden()
    await expect(boss.locator("#wo-search-total")).to_have_text("12 found · 条")
    await boss.get_by_label("In status · 按状态").select_option("submitted")
    await boss.locator("#wo-search-go").click()
    await expect(results).to_have_count(1, timeout=WAIT_MS)
    await expect(results.first).to_have_attribute("data-ref", refs[-1])

    # Everything, 20 a page: "More" fetches the rest after the last one shown.
    await boss.get_by_label("Words · 关键词").fill("")
    await boss.get_by_label("In status · 按状态").select_option("")
    await boss.locator("#wo-search-go").click()
    await expect(results).to_have_count(20, timeout=WAIT_MS)
    await expect(boss.locator("#wo-search-total")).to_have_text("20+ found · 条")
    await boss.locator("#wo-search-more").click()
    await expect(results).to_have_count(23, timeout=WAIT_MS)
    assert await results.evaluate_all("ls => ls.map(l => l.dataset.ref)") == refs[::-1]
    await boss.screenshot(path=str(artifacts / "panel_workorder_search.png"), full_page=True)

    # A bad filter is refused with the field named.
    await boss.get_by_label("Words · 关键词").fill("费")
    await boss.locator("#wo-search-go").click()
    await expect(boss.locator("#wo-search-error")).to_contain_text("(q)", timeout=WAIT_MS)

    # The export link carries the search; the CSV holds it, formulas defused.
    await boss.get_by_label("Words · 关键词").fill("重复收费")
    href = await boss.locator("#wo-search-export").get_attribute("href")
    assert href and href.startswith("/api/workorders/export.csv?") and "q=" in href
    text = await boss.evaluate("async (href) => (await fetch(href)).text()", href)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 13 and rows[0][0] == "ref" and [r[0] for r in rows[1:]] == chinese
    assert {r[rows[0].index("notes")] for r in rows[1:]} == {"'=1+1"}

    # A result opens in the detail card with the actions the server allows this person.
    await boss.locator("#wo-search-go").click()
    await boss.locator(f'#wo-search-results li[data-ref="{refs[-1]}"] button').click()
    await expect(boss.locator("#wd-ref")).to_have_text(refs[-1], timeout=WAIT_MS)
    await expect(boss.locator("#wd-actions button")).to_have_text(["Accept · 受理", "Withdraw · 撤诉", "Add a note · 备注"])
    assert boss.js_errors == []  # type: ignore[attr-defined]
