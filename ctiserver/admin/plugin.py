"""Wiring of the administration into the server: the service, what it changes in the running
server (the accounts book, wrap-up times, busy reasons), its routes, and signing a disabled
person out (queues through the agents service, then their sessions and websockets)."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from ctiserver.admin.routes import ADMIN, routes
from ctiserver.admin.service import Admin
from ctiserver.agents.book import Account
from ctiserver.agents.service import AgentService
from ctiserver.errors import CtiError

log = structlog.get_logger(__name__)

# Who a forced sign-out is credited to on the agent's state trail.
ADMINISTRATION = Account(
    id="administration",
    login="administration",
    name="Administration",
    role="admin",
    interface="",
)


def build(
    cfg: Any, store: Any, accounts: Any, agents: AgentService, subs: Any
) -> Admin:
    cc = cfg.callcenter
    book = accounts.book
    config_wrapup = book.wrapup_for
    config_reasons = tuple(agents.busy_reasons)
    admin = Admin(store, accounts, default_queues=tuple(cc.queues))

    def wrapup_for(queue: str) -> float:
        """A queue's wrap-up time: the administration's setting, else the configuration's."""
        setting = admin.queue_settings.get(queue)
        return float(setting["wrapup_seconds"]) if setting else config_wrapup(queue)

    def apply() -> None:
        agents.busy_reasons = tuple(admin.busy_reasons) or config_reasons

    async def sign_out(agent_id: str) -> None:
        """Out of every queue now (QueueRemove); a call in progress is left to finish. Not gated
        by the wrap-up write-up: a disabled person does not come back to write it."""
        try:
            await AgentService.change_state(
                agents, agent_id, "logged_out", by=ADMINISTRATION
            )
        except CtiError as exc:
            # Not signed in, or Asterisk away: retried after the resync; the stored sign-in is
            # cleared so that an Asterisk restart does not sign them back in.
            log.info("admin_sign_out_deferred", agent=agent_id, reason=exc.message)
            await store.clear_signin(agent_id)

    async def after_resync() -> None:
        """A person disabled while Asterisk was away (or signed back in by the restore of stored
        sign-ins) is signed out as soon as the link is back."""
        for agent_id in sorted(accounts.disabled):
            account = book.by_id.get(agent_id)
            if (
                account is not None
                and account.interface
                and book.status_of(account.interface).memberships
            ):
                await sign_out(agent_id)

    book.wrapup_for = wrapup_for
    subs.after_resync.append(after_resync)
    admin.sign_out = sign_out
    admin.applied = apply
    return admin


async def start(admin: Admin) -> None:
    await admin.load()
    admin.applied()


# What a person who must change their password may still reach: who they are, the change, leaving.
BEFORE_CHANGE = frozenset(
    {"/api/me", "/api/account/password", "/api/login", "/api/logout", "/api/health"}
)


@web.middleware
async def _password_change_first(
    request: web.Request, handler: Any
) -> web.StreamResponse:
    """After a reset (or for a new person) nothing but the password change is served until it is done."""
    from ctiserver.errors import Forbidden
    from ctiserver.web.keys import ACCOUNT

    account = request.get(ACCOUNT)
    must_change = request.app[ADMIN].accounts.must_change
    if (
        account is not None
        and request.path not in BEFORE_CHANGE
        and str(account.id) in must_change
    ):
        raise Forbidden(
            "change your password first",
            code="password_change_required",
            field="password",
        )
    return await handler(request)


def add_web(webapp: web.Application, admin: Admin) -> web.Application:
    from ctiserver.web.keys import SESSIONS, SOCKETS
    from ctiserver.web.ws import CLOSE_SIGNED_OUT, close_session_sockets

    async def close_sessions(agent_id: str) -> int:
        """Every open panel of this person closed as signed out; any other session of theirs is
        refused from now on anyway (a disabled account is no longer found)."""
        signer, closed = webapp[SESSIONS], 0
        for token in [t for t in webapp[SOCKETS] if signer.verify(t) == agent_id]:
            signer.revoke(token)
            closed += await close_session_sockets(
                webapp, token, CLOSE_SIGNED_OUT, "account disabled"
            )
        return closed

    admin.close_sessions = close_sessions
    webapp[ADMIN] = admin
    webapp.middlewares.append(
        _password_change_first
    )  # inside the session check: the account is known
    webapp.add_routes(routes)
    return webapp
