"""Who should be signed in: the store remembers, because Asterisk forgets on a restart.

Every confirmed sign-in, pause or sign-out (a ``QueueMember*`` event) is stored, one at a
time and always the latest; the store journals it, so it is kept while PostgreSQL is away.
After each login to Asterisk, agents it no longer knows are signed back in as stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import structlog

from ctiserver.agents.book import AgentBook
from ctiserver.agents.model import WRAPUP_REASON
from ctiserver.ami import actions
from ctiserver.ami.gateway import AmiGateway
from ctiserver.errors import InvalidInput
from ctiserver.store.errors import StoreUnavailable

log = structlog.get_logger(__name__)


class SigninStore(Protocol):
    async def set_signin(self, agent_id: str, queues: dict[str, int], paused: bool, reason: str | None) -> None: ...
    async def clear_signin(self, agent_id: str) -> None: ...
    async def list_signins(self, timeout: float = ...) -> list: ...


class Signins:
    def __init__(self, book: AgentBook, store: SigninStore, gateway: AmiGateway,
                 end_wrapup_pause: Callable[[str], None]) -> None:
        self.book = book
        self.store = store
        self.gateway = gateway
        self.end_wrapup_pause = end_wrapup_pause
        self._dirty: set[str] = set()  # interfaces whose confirmed sign-in must be stored
        self._writing = False
        # What was last stored per agent: a wrap-up pause and its end (two QueueMemberPause a
        # call) leave the stored sign-in as it was, so they are not written again.
        self._stored: dict[str, tuple | None] = {}

    def changed(self, interface: str) -> None:
        """A member was added, removed or (un)paused: store the agent's sign-in as it is now."""
        self._dirty.add(interface)
        if not self._writing:
            self._writing = True
            self.gateway.run(self._write())

    async def _write(self) -> None:
        try:
            while self._dirty:
                interface = self._dirty.pop()
                account = self.book.by_interface.get(interface)
                if account is None:
                    continue
                status = self.book.status_of(interface)
                reasons = [m.reason for m in status.memberships if m.paused and m.reason != WRAPUP_REASON]
                paused = status.paused and bool(reasons)
                queues = {m.queue: m.penalty for m in status.memberships}
                wanted = (tuple(sorted(queues.items())), paused, reasons[-1] if paused else None) if queues else None
                if account.id in self._stored and self._stored[account.id] == wanted:
                    continue
                try:
                    if wanted is not None:
                        await self.store.set_signin(account.id, queues, paused, wanted[2])
                    else:
                        await self.store.clear_signin(account.id)
                    self._stored[account.id] = wanted
                except InvalidInput as exc:  # e.g. a pause reason with control characters set at the PBX
                    log.warning("signin_not_stored", agent=account.id, error=str(exc))
        finally:
            self._writing = False  # set before this task ends, so a new change starts a new writer

    async def restore(self) -> None:
        """After a login: sign agents back in whom Asterisk forgot (a restart), as the store says."""
        self._stored.clear()  # the store may have been changed while the link was away (a disabled person)
        try:
            wanted = await self.store.list_signins(timeout=2.0)
        except StoreUnavailable as exc:
            log.warning("signin_restore_skipped", error=str(exc))
            return
        known = set()
        for signin in wanted:
            account = self.book.by_id.get(signin.agent_id)
            if account is None:
                continue
            known.add(account.interface)
            status = self.book.status_of(account.interface)
            missing = [q for q in signin.queues if q not in status.queues]
            if not missing:
                continue
            log.info("agent_restored", agent=account.id, queues=missing, paused=signin.paused, reason=signin.reason)
            for queue in missing:
                await self.gateway.send_quietly(
                    actions.queue_add(queue, account.interface, account.name, int(signin.queues[queue]),
                                      paused=bool(signin.paused), reason=signin.reason or ""), agent=account.id)
        for interface, status in self.book.status.items():
            if status.memberships and interface not in known:
                self.changed(interface)  # signed in at the PBX itself: remember it too
            if status.wrapup_until is None:
                self.end_wrapup_pause(interface)  # a wrap-up whose timer we lost is over
