"""SIP accounts under /api/admin (admins only): who has one and who is registered, and a reset
of a person's SIP secret (shown once)."""

from __future__ import annotations

from aiohttp import web

from ctiserver import errors
from ctiserver.admin.people import check_login
from ctiserver.sipaccounts.accounts import SipAccounts
from ctiserver.web.common import json, query, read_body, role_of
from ctiserver.web.keys import ACCOUNT
from ctiserver.web.openapi import array, obj, operation

SIP_ACCOUNTS = web.AppKey("sip_accounts", SipAccounts)
routes = web.RouteTableDef()


def _admin_id(request: web.Request) -> str:
    account = request[ACCOUNT]
    if role_of(account) != "admin":
        raise errors.Forbidden("only an admin may administer SIP accounts")
    return str(account.id)


@routes.get("/api/admin/sip-accounts")
@operation(query=("login",), returns=obj({"accounts": array(SipAccounts.ACCOUNT)}, closed=True))
async def list_accounts(request: web.Request) -> web.Response:
    """Every person's SIP account (username, when its secret was set) and its registrations."""
    _admin_id(request)
    q = query(request)
    login = check_login(q["login"]) if "login" in q else None
    return json({"accounts": await request.app[SIP_ACCOUNTS].list(login)})


@routes.post("/api/admin/people/{login}/sip-secret")
@operation(body={}, returns=obj({"sip": SipAccounts.SHOWN}, closed=True))
async def reset_secret(request: web.Request) -> web.Response:
    """A new SIP secret for a person's phone, shown once; the phone registered with the old one is dropped."""
    actor = _admin_id(request)
    await read_body(request)
    login = check_login(request.match_info["login"])
    return json({"sip": await request.app[SIP_ACCOUNTS].reset_secret(actor, login)})
