"""The panel's browser phone where the simulator stands in for Asterisk (no websocket to register
on): the admin sets a person's phone to the browser, their panel gets its SIP account with a fresh
secret (for them only) and shows the phone unavailable while Asterisk's websocket cannot be
reached; a desk-phone agent's panel is unchanged. Registering, ringing, answering and media on a
real Asterisk: tests/integration/test_browser_phone_asterisk.py."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.system.test_admin import first_admin
from tests.system.test_sip_accounts import realtime_of

pytestmark = pytest.mark.browser


def closed_port() -> int:
    """A loopback port nothing listens on: the websocket to 'Asterisk' is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def panel_of(browser: Any, url: str, login: str) -> Any:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(login)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-login")).to_have_text(login, timeout=WAIT_MS)
    return page


async def set_phone(admin: Any, login: str, phone: Any) -> tuple[int, dict]:
    status, person = await admin.get(f"/api/admin/people/{login}")
    assert status == 200, person
    person = person.get("person", person)
    async with admin.http.patch(
        f"{admin.base}/api/admin/people/{login}",
        json={"phone": phone, "version": person["version"]},
    ) as r:
        return r.status, await r.json()


async def test_a_browser_phone_person_gets_a_webrtc_account_and_sees_the_line_unavailable(
    db_dsn: str, tmp_path: Path, browser: Any
) -> None:
    ws_url = f"ws://127.0.0.1:{closed_port()}/ws"
    cfg = stack_config(db_dsn, tmp_path, **{"phone.ws_url": ws_url})
    async with running(cfg) as stack:  # demo seed: agents 1001..1003 with desk phones
        await stack.core.link_ready.wait()
        admin, desk = stack.client(), stack.client()
        try:
            await first_admin(db_dsn, admin)
            status, body = await set_phone(admin, "1002", "mobile")
            assert status == 400 and body["error"]["field"] == "phone", body
            status, body = await set_phone(admin, "1002", "browser")
            assert status == 200, body

            await desk.login("1001")
            status, body = await desk.post("/api/me/phone", {})
            assert status == 200 and body == {"phone": "desk"}, body
            assert (await realtime_of(db_dsn, "1001"))["ps_endpoints"] is None

            page = await panel_of(browser, stack.url, "1002")
            phone = page.locator("#phone")
            await expect(phone).to_be_visible(timeout=WAIT_MS)
            await expect(phone).to_have_attribute(
                "data-line", "unavailable", timeout=WAIT_MS
            )
            await expect(page.locator("#phone-line")).to_contain_text(
                "Phone unavailable"
            )
            await expect(
                page.get_by_role("button", name="Answer · 接听")
            ).to_be_hidden()

            # The panel's own request got the account; asking again (as the panel does after a
            # reload; a GET is refused: it changes the secret) sets a fresh secret, the one Asterisk's digest is now made from.
            mine = await page.evaluate(
                "import('/static/net.js').then(m => m.api('POST', '/api/me/phone', {}))"
            )
            async with desk.http.get(f"{desk.base}/api/me/phone") as r:
                assert r.status == 405
            assert mine["phone"] == "browser" and mine["username"] == "1002"
            assert mine["ws_url"] == ws_url and mine["domain"] == "127.0.0.1"
            rt = await realtime_of(db_dsn, "1002")
            expected = hashlib.md5(f"1002:{mine['realm']}:{mine['secret']}".encode())
            assert rt["ps_auths"]["md5_cred"] == expected.hexdigest()
            assert rt["ps_endpoints"]["webrtc"] == "yes"
            assert rt["ps_endpoints"]["media_encryption"] == "dtls"
            # the panel may open that websocket (and no other origin)
            async with desk.http.get(stack.url) as r:
                csp = r.headers["Content-Security-Policy"]
            assert (
                f"connect-src 'self' ws://127.0.0.1:{ws_url.split(':')[2].split('/')[0]};"
                in csp
            )

            # a CSV import may set it too; a bad value is reported on its line
            csv = "login,name,role,interface,password,phone\n"
            for row, status_wanted in (
                ("2010,Ma Li,agent,PJSIP/2010,Good-pass-Alpha,landline\n", 422),
                ("2010,Ma Li,agent,PJSIP/2010,Good-pass-Alpha,browser\n", 201),
            ):
                async with admin.http.post(
                    admin.base + "/api/admin/people/import",
                    data=(csv + row).encode(),
                    headers={"Content-Type": "text/csv"},
                ) as r:
                    status, body = r.status, await r.json()
                assert status == status_wanted, body
            assert body["people"][0]["phone"] == "browser", body
            rt = await realtime_of(db_dsn, "2010")
            assert rt["ps_endpoints"]["webrtc"] == "yes"

            # a desk-phone agent's panel has no phone card
            other = await panel_of(browser, stack.url, "1003")
            await expect(other.locator("#who-login")).to_have_text("1003")
            await expect(other.locator("#phone")).to_be_hidden()

            # back to the desk phone: the endpoint is a plain SIP one again, the panel's phone off
            status, body = await set_phone(admin, "1002", "desk")
            assert status == 200 and body.get("person", body)["phone"] == "desk", body
            rt = await realtime_of(db_dsn, "1002")
            assert rt["ps_endpoints"]["webrtc"] is None
            await page.reload()
            await expect(page.locator("#who-login")).to_have_text(
                "1002", timeout=WAIT_MS
            )
            await expect(page.locator("#phone")).to_be_hidden()

            assert page.js_errors == [] and other.js_errors == []
        finally:
            await admin.close()
            await desk.close()
