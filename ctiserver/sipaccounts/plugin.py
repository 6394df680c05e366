"""Wiring of the SIP accounts: a hook of the administration (each person's change makes, renames
or removes their account in the same transaction) and the admin routes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.sipaccounts.accounts import SipAccounts
from ctiserver.sipaccounts.routes import SIP_ACCOUNTS, routes


def build(store: Any, admin: Any, *, realm: str = "asterisk") -> SipAccounts:
    accounts = SipAccounts(store, realm=realm)
    admin.person_hooks.append(accounts.person_written)
    return accounts


def add_web(webapp: web.Application, accounts: SipAccounts) -> web.Application:
    webapp[SIP_ACCOUNTS] = accounts
    webapp.add_routes(routes)
    return webapp
