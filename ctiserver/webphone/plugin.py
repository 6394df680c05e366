"""Wiring of the browser phone: a hook of the administration after the SIP accounts' own (the
endpoint follows the person's ``phone`` setting) and the panel's ``/api/me/phone`` route."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from ctiserver.web.keys import CONNECT_SOURCES
from ctiserver.webphone.phones import WebPhones
from ctiserver.webphone.routes import WEB_PHONES, routes, ws_url


def build(cfg: Any, store: Any, admin: Any, sip_accounts: Any) -> WebPhones:
    phones = WebPhones(
        store,
        sip_accounts,
        ws_url=cfg.phone.ws_url,
        ice_servers=tuple(s for s in cfg.phone.ice_servers.split(",") if s.strip()),
    )
    admin.person_hooks.append(phones.person_written)
    return phones


def add_web(webapp: web.Application, phones: WebPhones) -> web.Application:
    webapp[WEB_PHONES] = phones

    def phone_socket(request: web.Request) -> tuple[str, ...]:
        """The panel may open the browser phone's websocket to Asterisk."""
        url = urlsplit(ws_url(request, phones.ws_url))
        return (f"{url.scheme}://{url.netloc}",)

    webapp[CONNECT_SOURCES] = phone_socket
    webapp.add_routes(routes)
    return webapp
