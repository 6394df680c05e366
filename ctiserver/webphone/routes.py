"""``POST /api/me/phone``: the signed-in person's phone setting and, for the browser phone, the SIP
registration details (only ever for oneself, never cached, never logged). A POST, not a GET: for
the browser phone it sets a fresh SIP secret."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from ctiserver.web.common import read_body
from ctiserver.web.keys import ACCOUNT
from ctiserver.web.openapi import ANY_OBJ, STR, array, enum, nullable, obj, operation
from ctiserver.webphone.phones import WebPhones

WEB_PHONES = web.AppKey("web_phones", WebPhones)
routes = web.RouteTableDef()


def ws_url(request: web.Request, configured: str) -> str:
    """Asterisk's websocket: the configured one, else on the panel's host (8088 plain, 8089 under
    TLS, Asterisk's http.conf defaults)."""
    if configured:
        return configured
    host = urlsplit(f"//{request.host}").hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"wss://{host}:8089/ws" if request.secure else f"ws://{host}:8088/ws"


# Desk phone: the setting alone; browser phone: its SIP account with a fresh secret and where to register.
MY_PHONE = obj(
    {"phone": enum("desk", "browser")},
    {"username": STR, "secret": STR, "realm": STR, "ice_servers": array(ANY_OBJ), "ws_url": STR,
     "domain": nullable(STR)},
    closed=True,
)


@routes.post("/api/me/phone")
@operation(body={}, returns=MY_PHONE)
async def my_phone(request: web.Request) -> web.Response:
    """Where I take calls (desk or browser); for the browser phone, its SIP account with a fresh secret."""
    await read_body(request)
    phones = request.app[WEB_PHONES]
    body = await phones.registration(str(request[ACCOUNT].id))
    if body["phone"] == "browser":
        body["ws_url"] = ws_url(request, phones.ws_url)
        body["domain"] = urlsplit(body["ws_url"]).hostname
    response = web.json_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response
