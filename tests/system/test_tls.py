"""The panel and API over TLS: https, the push stream over wss, a session cookie marked Secure.

The certificate is the demo's own (ctiserver/web/tls.py, as ``make run`` makes it); the
API client trusts exactly that certificate, the browser accepts it as a user clicking
through the self-signed warning does.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from ctiserver.push.hub import messages_of
from ctiserver.web.middleware import SESSION_COOKIE
from ctiserver.web.tls import self_signed
from tests.conftest import Stack, running, stack_config
from tests.support.browser import WAIT_MS

pytestmark = pytest.mark.browser


@pytest.fixture
async def tls_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[tuple[Stack, Path]]:
    cert, key = self_signed(tmp_path / "tls")
    cfg = stack_config(
        db_dsn, tmp_path, **{"http.tls_cert": str(cert), "http.tls_key": str(key)}
    )
    async with running(cfg) as s:
        await s.core.link_ready.wait()
        yield s, cert


async def test_api_over_https_sets_a_secure_session_cookie(
    tls_stack: tuple[Stack, Path],
) -> None:
    stack, cert = tls_stack
    assert stack.url.startswith("https://127.0.0.1:")
    trust = ssl.create_default_context(cafile=str(cert))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as http:
        async with http.post(
            stack.url + "api/login", json={"login": "1001", "password": "1001"}
        ) as r:
            assert r.status == 200
            cookie = r.cookies[SESSION_COOKIE]
        assert (
            cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"
        )
        async with http.ws_connect(
            stack.url.replace("https://", "wss://") + "ws",
            headers={"Cookie": f"{SESSION_COOKIE}={cookie.value}"},
        ) as ws:
            first = messages_of((await ws.receive(timeout=15)).data)[0]
            assert first["type"] == "snapshot"
    # the same port speaks no plain http: nothing (a password, a session) crosses it unencrypted
    plain = stack.url.replace("https://", "http://")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientError):
            async with http.post(
                plain + "api/login", json={"login": "1001", "password": "1001"}
            ) as r:
                await r.read()


async def test_panel_over_https_pushes_through_wss(
    tls_stack: tuple[Stack, Path], browser: Any
) -> None:
    stack, _ = tls_stack
    context = await browser.new_context(ignore_https_errors=True)
    page = await context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.goto(stack.url)
    await page.get_by_label("Login · 工号").fill("1001")
    await page.get_by_label("Password · 密码").fill("1001")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-login")).to_have_text("1001")
    badge = page.locator("#state-badge")
    await page.locator("#btn-signin").click()
    await expect(badge).to_have_text(
        "Ready", timeout=WAIT_MS
    )  # confirmed by Asterisk, pushed over wss
    assert sockets and all(url.startswith("wss://") for url in sockets), sockets
    session = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    assert session and session[0]["secure"] and session[0]["httpOnly"]
    await context.close()


async def test_a_certificate_that_cannot_be_read_stops_the_start_with_its_name(
    db_dsn: str, tmp_path: Path
) -> None:
    from ctiserver.app import App, StartupError

    bogus = tmp_path / "cert.pem"
    bogus.write_text("not a certificate\n")
    cfg = stack_config(
        db_dsn, tmp_path, **{"http.tls_cert": str(bogus), "http.tls_key": str(bogus)}
    )
    app = App(cfg, demo_traffic=False)
    try:
        with pytest.raises(StartupError, match="http.tls_cert"):
            await app.start()
    finally:
        await app.stop()
    assert (
        app.store is None
    )  # refused before the database, the IVR or the AMI link started
