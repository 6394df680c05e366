"""The panel's browser phone on a real Asterisk 22 (PJSIP realtime from this test's PostgreSQL,
SIP over Asterisk's websocket, DTLS-SRTP media).

The admin made by the CLI adds agent 2005 with ``phone = browser``; headless Chromium with a fake
microphone signs in to the panel as 2005: the panel registers over ws://127.0.0.1:8088/ws (the
line shows the phone ready); the agent goes ready; a SIPp caller dials the hotline and presses 1;
the queue rings the browser (the panel's phone rings, with the pop); the agent clicks Answer: the
CTI shows them on the call and the WebRTC media is up (ICE connected, so DTLS-SRTP negotiated);
the agent hangs up from the panel and the caller gets the BYE. Run under the shared lock (see
common.md): it restarts the lab Asterisk with the realtime overlay, and plain again after.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.conftest import running
from tests.integration.conftest import HOST, live_config
from tests.integration.test_asterisk import SIPP
from tests.integration.test_sip_accounts_asterisk import (
    START,
    _asterisk_cli,
    _eventually_cli,
    _finish,
    _restart_asterisk,
    _sipp,
    realtime_overlay,
)
from tests.support.browser import CHROMIUM
from tests.support.tcpproxy import TcpProxy
from tests.system.test_admin import first_admin

CALLER_PORT = 5068
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
WAIT_MS = 30_000


@pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost") or not START,
    reason="needs sipp, an Asterisk on this machine and its start script (CTI_TEST_ASTERISK_START)",
)
@pytest.mark.timeout(300)
async def test_the_panel_registers_rings_answers_with_media_and_hangs_up(
    db_dsn: str, tmp_path: Path
) -> None:
    cfg = live_config(
        db_dsn,
        tmp_path,
        {"callcenter.wrapup_seconds": 1.0, "phone.ws_url": "ws://127.0.0.1:8088/ws"},
    )
    overlay = await realtime_overlay(db_dsn, tmp_path)
    caller = None
    try:
        await asyncio.to_thread(_restart_asterisk, overlay)
        async with running(cfg) as stack, async_playwright() as p:
            await asyncio.wait_for(stack.core.link_ready.wait(), 60)
            admin = stack.client()
            browser = await p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=MEDIA_ARGS
            )
            try:
                await first_admin(db_dsn, admin)
                status, body = await admin.post(
                    "/api/admin/people",
                    {
                        "login": "2005",
                        "name": "Wen Li",
                        "role": "agent",
                        "interface": "PJSIP/2005",
                        "queues": {"support": 0},
                        "phone": "browser",
                        "password": "Correct-Horse-77",
                    },
                )
                assert status == 201, body
                shown = await asyncio.to_thread(
                    _asterisk_cli, "pjsip show endpoint 2005"
                )
                assert "webrtc" in shown and "dtls" in shown, shown

                context = await browser.new_context(
                    viewport={"width": 1200, "height": 900}
                )
                page = await context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(stack.url)
                await page.get_by_label("Login · 工号").fill("2005")
                await page.get_by_label("Password · 密码").fill("Correct-Horse-77")
                await page.get_by_role("button", name="Sign in").click()
                phone = page.locator("#phone")
                await expect(phone).to_have_attribute(
                    "data-line", "registered", timeout=WAIT_MS
                )
                await expect(page.locator("#phone-line")).to_contain_text("Phone ready")
                # registered over the websocket and qualified: the queue may ring it
                await _eventually_cli(
                    "pjsip show endpoints",
                    lambda out: any(
                        line.split()[:1] == ["Endpoint:"]
                        and line.split()[1].split("/")[0] == "2005"
                        and "Not in use" in line
                        for line in out.splitlines()
                    ),
                    what="endpoint 2005 reachable",
                )
                status, body = await admin.get("/api/admin/sip-accounts", login="2005")
                [contact] = body["accounts"][0]["contacts"]
                assert "transport=ws" in contact["uri"].lower(), (
                    contact
                )  # on the websocket

                ready = await page.evaluate(
                    "import('/static/net.js').then(m => m.api('POST', '/api/agent/state', "
                    "{state: 'ready'})).then(() => 'ok', e => String(e))"
                )
                assert ready == "ok", ready
                await expect(page.locator("#state-badge")).to_have_attribute(
                    "data-state", "ready", timeout=WAIT_MS
                )

                caller = await _sipp("caller_queue.xml", "-p", str(CALLER_PORT))
                await expect(phone).to_have_attribute(
                    "data-line", "ringing", timeout=WAIT_MS
                )
                await expect(page.locator("#state-caller")).to_contain_text(
                    "Ringing from", timeout=WAIT_MS
                )
                await page.get_by_role("button", name="Answer · 接听").click()
                await expect(phone).to_have_attribute(
                    "data-line", "in_call", timeout=WAIT_MS
                )
                await expect(page.locator("#state-badge")).to_have_attribute(
                    "data-state", "on_call", timeout=WAIT_MS
                )
                await expect(phone).to_have_attribute(
                    "data-media", "connected", timeout=WAIT_MS
                )
                await page.get_by_role("button", name="Mute · 静音").click()
                await expect(page.locator("#phone-mute")).to_have_attribute(
                    "aria-pressed", "true"
                )
                await page.get_by_role("button", name="Hang up · 挂断").click()
                await expect(phone).to_have_attribute(
                    "data-line", "registered", timeout=WAIT_MS
                )
                code, out = await _finish(caller, 40)
                assert code == 0, out
                await expect(page.locator("#state-badge")).not_to_have_attribute(
                    "data-state", "on_call", timeout=WAIT_MS
                )
                assert errors == []
            finally:
                await browser.close()
                await admin.close()
    finally:
        if caller is not None and caller.returncode is None:
            caller.kill()
            await caller.wait()
        await asyncio.to_thread(_restart_asterisk, None)  # the plain lab again


@pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost") or not START,
    reason="needs sipp, an Asterisk on this machine and its start script (CTI_TEST_ASTERISK_START)",
)
@pytest.mark.timeout(300)
async def test_a_browser_phone_that_loses_its_network_is_unavailable_then_registers_again(
    db_dsn: str, tmp_path: Path
) -> None:
    """The websocket to Asterisk goes through a proxy the test cuts: the panel shows the phone
    unavailable and Asterisk no longer has it reachable (the queue does not ring it); when the
    network is back the panel registers again by itself."""
    proxy = TcpProxy("127.0.0.1", 8088)
    cfg = live_config(db_dsn, tmp_path, {"phone.ws_url": f"ws://127.0.0.1:{proxy.port}/ws"})
    overlay = await realtime_overlay(db_dsn, tmp_path)

    def reachable(out: str) -> bool | None:
        for line in out.splitlines():
            parts = line.split()
            if parts[:1] == ["Endpoint:"] and parts[1].split("/")[0] == "2006":
                return "Unavailable" not in line
        return None

    try:
        await asyncio.to_thread(_restart_asterisk, overlay)
        await proxy.start()
        async with running(cfg) as stack, async_playwright() as p:
            await asyncio.wait_for(stack.core.link_ready.wait(), 60)
            admin = stack.client()
            browser = await p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=MEDIA_ARGS
            )
            try:
                await first_admin(db_dsn, admin)
                status, body = await admin.post(
                    "/api/admin/people",
                    {
                        "login": "2006",
                        "name": "Hai Tang",
                        "role": "agent",
                        "interface": "PJSIP/2006",
                        "queues": {"support": 0},
                        "phone": "browser",
                        "password": "Correct-Horse-77",
                    },
                )
                assert status == 201, body
                page = await (await browser.new_context()).new_page()
                await page.goto(stack.url)
                await page.get_by_label("Login · 工号").fill("2006")
                await page.get_by_label("Password · 密码").fill("Correct-Horse-77")
                await page.get_by_role("button", name="Sign in").click()
                phone = page.locator("#phone")
                await expect(phone).to_have_attribute(
                    "data-line", "registered", timeout=WAIT_MS
                )
                await _eventually_cli(
                    "pjsip show endpoints",
                    lambda out: reachable(out) is True,
                    what="endpoint 2006 reachable",
                )

                await proxy.stop()  # the network is gone
                await expect(phone).to_have_attribute(
                    "data-line", "unavailable", timeout=WAIT_MS
                )
                await expect(page.locator("#phone-line")).to_contain_text(
                    "Phone unavailable"
                )
                await _eventually_cli(
                    "pjsip show endpoints",
                    lambda out: reachable(out) is False,
                    what="endpoint 2006 unavailable to Asterisk",
                )

                await proxy.start()  # back: JsSIP reconnects and registers again
                await expect(phone).to_have_attribute(
                    "data-line", "registered", timeout=60_000
                )
                await _eventually_cli(
                    "pjsip show endpoints",
                    lambda out: reachable(out) is True,
                    what="endpoint 2006 reachable again",
                )
            finally:
                await browser.close()
                await admin.close()
    finally:
        await proxy.stop()
        await asyncio.to_thread(_restart_asterisk, None)  # the plain lab again
