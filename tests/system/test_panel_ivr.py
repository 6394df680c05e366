"""Back to the IVR: where the panel may send a caller comes from the server's IVR menu.

``GET /api/ivr/nodes`` lists the nodes of the menu the server runs (any signed-in account;
401 without a session; an unreadable menu file answers 200 with no nodes), the panel asks
once after signing in and offers those nodes under "Back to IVR · 转自动"; with none it takes a
typed node name, checked as the server checks it. Whole server, simulator and Chromium.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import expect

from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import calls_posted, panel_on_call

pytestmark = pytest.mark.browser

HOTLINE = Path(__file__).resolve().parents[2] / "ivr" / "menus" / "hotline.toml"
# The hotline menu and one node more: what is listed is the menu the server runs, not the shipped one.
GOODBYE = '\n[nodes.goodbye]\ntype = "hangup"\nprompt = "vm-goodbye"\n'
SERVED = [{"name": "main", "label": "main", "type": "menu"},
          {"name": "verify", "label": "verify", "type": "authenticate"},
          {"name": "support", "label": "support", "type": "queue"},
          {"name": "voicemail", "label": "voicemail", "type": "voicemail"},
          {"name": "closed", "label": "closed", "type": "closed"},
          {"name": "callback", "label": "callback", "type": "callback"},
          {"name": "survey", "label": "survey", "type": "survey"},
          {"name": "goodbye", "label": "goodbye", "type": "hangup"}]


@pytest.fixture
async def menu_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The ``stack`` of tests/conftest.py running the hotline menu plus a goodbye node (``.menu``: its file)."""
    menu = tmp_path / "menu.toml"
    menu.write_text(HOTLINE.read_text(encoding="utf-8") + GOODBYE, encoding="utf-8")
    async with running(stack_config(db_dsn, tmp_path, **{"ivr.menu_file": str(menu)})) as s:
        await s.core.link_ready.wait()
        s.menu = menu
        yield s


async def test_ivr_nodes_need_a_session_and_are_the_served_menus(menu_stack: Any) -> None:
    stack = menu_stack
    anonymous, agent, boss = stack.client(), stack.client(), stack.client()
    try:
        status, body = await anonymous.get("/api/ivr/nodes")
        assert status == 401 and body["error"]["code"] == "unauthenticated"

        await agent.login("1001")
        await boss.login("1900")
        expected = {"menu": "hotline", "start": "main", "nodes": SERVED}
        assert await agent.get("/api/ivr/nodes") == (200, expected)  # any signed-in account, in the file's order
        assert await boss.get("/api/ivr/nodes") == (200, expected)

        stack.menu.write_text("[nodes.main\ntype = ", encoding="utf-8")  # not TOML
        assert await agent.get("/api/ivr/nodes") == (200, {"menu": None, "start": None, "nodes": []})
        stack.menu.write_text('start = "nowhere"\n[nodes.main]\ntype = "hangup"\n', encoding="utf-8")  # no such start
        assert (await agent.get("/api/ivr/nodes"))[1]["nodes"] == []
        stack.menu.unlink()
        assert (await agent.get("/api/ivr/nodes"))[1]["nodes"] == []
    finally:
        for client in (anonymous, agent, boss):
            await client.close()


async def test_the_ivr_picker_offers_the_served_menus_nodes(menu_stack: Any, browser: Any, artifacts: Path) -> None:
    stack = menu_stack
    page, call = await panel_on_call(stack, browser)
    await page.locator("#btn-ivr").click()
    picker = page.get_by_label("Send the caller to")
    await expect(picker).to_be_visible()
    await expect(picker).to_be_focused()
    await expect(page.locator("#ivr-node-text")).to_be_hidden()
    await expect(picker.locator("option")).to_have_text([
        "main — Menu · 语音菜单", "verify — PIN check · 密码验证", "support — Queue · 人工队列",
        "voicemail — Voicemail · 语音留言", "closed", "callback", "survey — Survey · 满意度",
        "goodbye — Goodbye · 挂断"])
    await expect(picker).to_have_value("main")  # the menu's start
    await page.screenshot(path=str(artifacts / "panel_ivr_picker.png"), full_page=True)

    await picker.select_option("goodbye")
    sent = len(calls_posted(page))
    await page.locator("#ivr-submit").click()
    await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)  # the caller left this agent
    assert calls_posted(page)[sent:] == [f"calls/{call.uniqueid}/ivr"]
    await asyncio.wait_for(call.ended(), WAIT_MS / 1000)  # the goodbye node, which only the served menu has, hung up
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_without_nodes_the_ivr_form_takes_a_typed_node(stack: Any, browser: Any) -> None:
    page, call = await panel_on_call(stack, browser)
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data or "{}")) if r.url.endswith("/ivr") else None)
    # The server could not read its menu: it answers no nodes. Reloading asks again after the sign-in.
    await page.route("**/api/ivr/nodes", lambda route: route.fulfill(json={"menu": None, "start": None, "nodes": []}))
    await page.reload()
    await expect(page.locator("#call-tools")).to_be_visible(timeout=WAIT_MS)
    await page.locator("#btn-ivr").click()
    typed = page.get_by_label("Send the caller to")
    await expect(typed).to_have_id("ivr-node-text")
    await expect(typed).to_be_focused()
    await expect(page.locator("#ivr-node")).to_be_hidden()

    await typed.fill("Main menu")
    sent = len(calls_posted(page))
    await page.locator("#ivr-submit").click()
    await expect(page.locator("#call-error")).to_contain_text("An IVR node is")
    assert calls_posted(page)[sent:] == []  # refused by the panel: nothing was sent

    await typed.fill(" support ")
    await page.locator("#ivr-submit").click()
    await expect(page.locator("#call-tools")).to_be_hidden(timeout=WAIT_MS)
    assert calls_posted(page)[sent:] == [f"calls/{call.uniqueid}/ivr"]
    assert bodies == [{"node": "support"}]
    assert page.js_errors == []  # type: ignore[attr-defined]
