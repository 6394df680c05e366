"""The wall display: live figures over its own socket, with a read-only token that shows nothing else."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from playwright.async_api import expect

from ctiserver.push.hub import messages_of
from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.support.calls import panels, ready

TOKEN = "wall-7c1e"


@pytest.fixture
async def wall_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    cfg = stack_config(db_dsn, tmp_path, **{"wallboard.token": TOKEN, "wallboard.refresh_seconds": 1})
    async with running(cfg) as s:
        await s.core.link_ready.wait()
        yield s


async def read_until(ws: aiohttp.ClientWebSocketResponse, match, timeout: float = 20.0) -> list[dict]:
    seen: list[dict] = []
    async with asyncio.timeout(timeout):
        async for msg in ws:
            for message in messages_of(msg.data):
                seen.append(message)
                if match(message):
                    return seen
    raise AssertionError(f"socket closed; saw {[m['type'] for m in seen]}")


async def test_the_display_token_sees_the_wall_and_nothing_else(wall_stack: Any) -> None:
    stack = wall_stack
    async with aiohttp.ClientSession() as http:
        async with http.get(stack.url + "wallboard/ws?token=wrong") as refused:
            assert refused.status == 401
        async with http.get(stack.url + "wallboard/ws") as refused:
            assert refused.status == 401
        async with panels(stack, "1001") as p:
            await ready(p["1001"], "1001")
            async with http.ws_connect(stack.url + f"wallboard/ws?token={TOKEN}") as ws:
                first = messages_of((await ws.receive()).data)[0]
                assert first["type"] == "snapshot"
                wall = first["data"]["wall"]
                assert wall["agents"]["ready"] == 1
                assert [q["queue"] for q in wall["queues"]] == ["support"]
                stack.sim.set_phone("1001", Phone(ring_forever=True))
                await stack.sim.place_call(CallerScript(number="13512345678", name="王先生", keys="1",
                                                        keys_at=0.2, hangup_after_answer=5))
                seen = await read_until(ws, lambda m: m["type"] == "queue_stats"
                                        and m["data"]["queues"][0]["waiting"] == 1)
                assert seen[-1]["data"]["agents"]["ringing"] == 1
                # a display never hears of a caller or an agent by name
                assert {m["type"] for m in seen} <= {"queue_stats", "marquee", "link"}
    status, body = await stack.client().get("/api/wallboard")
    assert status == 401


async def test_supervisors_read_the_figures_agents_do_not(wall_stack: Any) -> None:
    async with panels(wall_stack, "1001", "1900") as p:
        status, body = await p["1900"].get("/api/wallboard")
        assert status == 200 and body["thresholds"]["wait_red_seconds"] == 60.0, body
        status, body = await p["1001"].get("/api/wallboard")
        assert status == 403, body


@pytest.mark.browser
async def test_the_wall_page_shows_a_waiting_caller_in_colour(wall_stack: Any, browser: Any, artifacts: Path) -> None:
    stack = wall_stack
    context = await browser.new_context(viewport={"width": 1600, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(stack.url + f"wallboard?token={TOKEN}")
    await expect(page.locator("#wall-status")).to_have_text("Live · 实时", timeout=WAIT_MS)
    card = page.locator('[data-queue="support"]')
    await expect(card).to_contain_text("Waiting · 排队")
    async with panels(stack, "1001") as p:
        await ready(p["1001"], "1001")
        stack.sim.set_phone("1001", Phone(ring_forever=True))  # the caller waits: nobody answers
        await stack.sim.place_call(CallerScript(number="13512345678", name="王先生", keys="1", keys_at=0.2,
                                                hangup_at=20))
        await expect(card.locator(".figure").first.locator(".value")).to_have_text("1", timeout=WAIT_MS)
        await expect(page.locator("#agents")).to_contain_text("Ringing · 振铃")
        await page.screenshot(path=str(artifacts / "wallboard.png"))
    assert errors == []
