"""The panel's own logic, run in the real headless Chromium: labels, durations, and how
the push client reacts to a gap in the sequence (it must ask for a snapshot, not go stale).

Only the static files are served here (no core is involved in these functions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

pytestmark = pytest.mark.browser

PANEL = Path(__file__).resolve().parents[3] / "agent_web"
CHROMIUM = "/usr/bin/chromium"


async def blank(request: web.Request) -> web.Response:
    return web.Response(text="<!doctype html><title>t</title>", content_type="text/html")


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    app = web.Application()
    app.router.add_get("/", blank)
    app.router.add_static("/static/", PANEL)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                pg = await browser.new_page()
                await pg.goto(str(server.make_url("/")))
                yield pg
            finally:
                await browser.close()
    finally:
        await server.close()


async def test_labels_and_durations(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const f = await import('/static/format.js');
        return [
            f.stateLabel({state: 'not_ready', reason: 'lunch'}), f.stateLabel({state: 'ready'}), f.stateLabel(null),
            f.stateLabel({state: 'on_call'}), f.duration(5), f.duration(3725), f.duration(-3),
            f.classLabel({customer: {class: 'vip'}, customer_class: 'vip', lookup: 'done'}),
            f.classLabel({customer: null, customer_class: 'not_customer', lookup: 'done'}),
            f.classLabel({customer: null, customer_class: 'not_customer', lookup: 'pending'}),
            f.customerNo({no: 'C0001'}), f.toEpoch('2026-11-23T10:00:00+00:00'), f.toEpoch(1795429831.5),
        ];
    }""")
    assert out == ["Busy (lunch)", "Ready", "Signed out", "On call", "0:05", "1:02:05", "0:00",
                   "VIP", "Not a customer", "Looking up…", "C0001", 1795428000, 1795429831.5]


async def test_a_gap_in_the_push_sequence_asks_for_a_fresh_snapshot(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const { PushSocket } = await import('/static/net.js');
        const got = [], statuses = [], sent = [];
        const s = new PushSocket({ onMessage: (t, d) => got.push(t + ':' + d.n), onStatus: (x) => statuses.push(x),
                                   canReconnect: async () => true });
        s.ws = { readyState: WebSocket.OPEN, send: (text) => sent.push(JSON.parse(text).type) };
        const frame = (type, seq, n) => s.receive(JSON.stringify({ type, seq, data: { n } }));
        frame('snapshot', 1, 1);
        frame('agent_state', 2, 2);
        frame('agent_state', 4, 4);   // 3 was lost: state may be stale
        frame('agent_state', 5, 5);   // ignored until the new snapshot
        frame('snapshot', 6, 6);
        frame('marquee', 7, 7);
        s.receive('not json');        // ignored, not fatal
        return { got, statuses, sent };
    }""")
    assert out["got"] == ["snapshot:1", "agent_state:2", "snapshot:6", "marquee:7"]
    assert out["sent"] == ["resync"]
    assert out["statuses"] == ["open", "open"]
