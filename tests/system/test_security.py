"""What docs/security.md promises, tried as an attacker would: no session, the wrong role, hostile caller data."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from pbxsim.scripts import CallerScript, Phone
from tests.support.browser import WAIT_MS
from tests.system.test_panel_calls import open_panel

PUBLIC = {"/api/login", "/api/logout", "/api/health", "/api/openapi.json"}
SUPERVISOR_ONLY = [("GET", "/api/agents", None), ("GET", "/api/stats/queues", None), ("GET", "/api/supervision", None),
                   ("GET", "/api/supervision/audit", None), ("POST", "/api/marquee", {"text": "x"}),
                   ("POST", "/api/supervision/monitor", {"linkedid": "1.1", "mode": "listen"}),
                   ("POST", "/api/supervision/intercept", {"linkedid": "1.1"}),
                   ("POST", "/api/supervision/mode", {"mode": "barge"}), ("POST", "/api/supervision/stop", {}),
                   ("POST", "/api/agent/state", {"state": "logged_out", "agent": "1002"})]


def api_routes(stack: Any) -> list[tuple[str, str]]:
    """Every (method, path) the running server answers under /api, path parameters filled in."""
    out = []
    for route in stack.app._runner.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/api/") and route.method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            out.append((route.method, path.replace("{linkedid}", "1.1").replace("{id}", "1")))
    return sorted(set(out))


async def test_every_api_route_but_the_public_ones_needs_a_session(stack: Any) -> None:
    routes = api_routes(stack)
    assert len(routes) > 30  # the whole API, not a few
    async with aiohttp.ClientSession() as http:
        for method, path in routes:
            if path in PUBLIC:
                continue
            async with http.request(method, stack.url.rstrip("/") + path, json={}) as r:
                assert r.status == 401, (method, path, r.status)
        async with http.get(stack.url.rstrip("/") + "/ws") as ws:
            assert ws.status == 401


async def test_an_agent_is_refused_every_supervisor_route(stack: Any) -> None:
    agent = stack.client()
    try:
        await agent.login("1001")
        for method, path, body in SUPERVISOR_ONLY:
            async with agent.http.request(method, agent.base + path, json=body) as r:
                body = await r.json()
                assert r.status == 403, (method, path, r.status, body)
        assert stack.sim.truth()["spies"] == []  # nothing reached Asterisk
    finally:
        await agent.close()


@pytest.mark.browser
async def test_a_hostile_caller_name_is_shown_as_text_and_never_runs(stack: Any, browser: Any) -> None:
    hostile = '<img src=x onerror="window.__pwned=1">'
    page = await open_panel(browser, stack.url, "1001")
    await page.locator("#btn-signin").click()
    await expect(page.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone("1001", Phone(answer_after=1.0))
    await stack.sim.place_call(CallerScript(number="13512345678", name=hostile, dtmf=((1.0, "1"),)))
    await expect(page.locator("#pop")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#pop")).to_contain_text(hostile)
    assert await page.evaluate("() => window.__pwned") is None
    assert await page.locator("#pop img").count() == 0
