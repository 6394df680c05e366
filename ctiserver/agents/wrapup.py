"""After-call work: a real queue pause with the reason ``wrap-up`` that ends by itself.

When the agent model says an agent entered wrap-up, the agent is paused (no call is
routed) and a timer is set; when it runs out, a :class:`WrapupDue` item joins the ordered
stream, so the end of a wrap-up is applied in order like any event. The pause is lifted
only if wrap-up is the agent's only pause; Asterisk's QueueMemberPause confirms it.

The gate: while the call's work order lacks a required field (``workorders.wrapup_required``)
the agent cannot end wrap-up themselves (ready, busy or sign out answer 409 naming the fields);
a supervisor's forced change still goes through. The wrap-up time running out is not held: the
queue gets its agent back (a form left blank must not take an agent off the phones unseen) and
the work order is flagged instead, in its history and by a push to the agent and supervisors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from ctiserver.agents.book import Account, AgentBook, AgentChanged
from ctiserver.agents.model import WRAPUP_REASON, AgentState
from ctiserver.agents.service import AgentService
from ctiserver.ami import actions
from ctiserver.ami.gateway import AmiGateway
from ctiserver.errors import Conflict

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WrapupDue:
    """Stream item: an agent's wrap-up time ran out."""

    interface: str
    until: float


class Wrapups:
    """Starts and ends wrap-up pauses; ``enqueue`` puts a WrapupDue on the ordered stream."""

    def __init__(self, book: AgentBook, gateway: AmiGateway, enqueue: Callable[[object], None],
                 on_changes: Callable[[list[AgentChanged]], None],
                 expired: Callable[[str], None] = lambda agent_id: None) -> None:
        self.book = book
        self.expired = expired  # an agent's wrap-up time ran out (the work order may be flagged)
        self.gateway = gateway
        self.enqueue = enqueue
        self.on_changes = on_changes  # agent changes the end of a wrap-up causes
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def on_agent_change(self, ch: AgentChanged) -> None:
        if ch.new is not AgentState.WRAP_UP or ch.status.wrapup_until is None:
            return
        until = ch.status.wrapup_until
        if not ch.status.paused:
            self.gateway.spawn(actions.queue_pause(ch.interface, True, WRAPUP_REASON), agent=ch.agent_id)
        old = self._timers.pop(ch.interface, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, until - time.time())
        self._timers[ch.interface] = asyncio.get_running_loop().call_later(
            delay, self.enqueue, WrapupDue(ch.interface, until))
        log.debug("wrapup_started", agent=ch.agent_id, seconds=round(delay, 1))

    def due(self, item: WrapupDue) -> None:
        """Applied in stream order: the wrap-up is over unless something newer replaced it."""
        self._timers.pop(item.interface, None)
        current = self.book.status_of(item.interface).wrapup_until == item.until  # not replaced by a newer one
        self.on_changes(self.book.end_wrapup(item.interface, item.until, time.time()))
        account = self.book.by_interface.get(item.interface)
        if current and account is not None:
            try:
                self.expired(account.id)
            except Exception:  # the flag must never keep the agent in wrap-up
                log.exception("wrapup_expired_hook_failed", agent=account.id)
        self.end_pause(item.interface)

    def end_pause(self, interface: str) -> None:
        """Unpause a member whose only pause is the wrap-up (a timer lost in a restart ends here too)."""
        status = self.book.status_of(interface)
        if status.wrapup_until is None and any(m.paused and m.reason == WRAPUP_REASON for m in status.memberships):
            account = self.book.by_interface.get(interface)
            self.gateway.spawn(actions.queue_pause(interface, False), agent=account.id if account else None)

    def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()


class WrapupIncomplete(Conflict):
    """The agent tried to end wrap-up while the call's work order lacks required fields."""

    code = "wrapup_incomplete"


class GatedAgentService(AgentService):
    """Agent commands with the wrap-up gate in front: ``missing(agent_id)`` gives (ref, fields lacking)."""

    def __init__(self, *args: object, missing: Callable[[str], tuple[str | None, list[str]]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.missing = missing

    async def change_state(self, agent_id: str, target: str, reason: str | None = None, *, by: Account,
                           queues: list[str] | tuple[str, ...] | None = None) -> None:
        view = self.book.view(agent_id)
        if view is not None and view["state"] == AgentState.WRAP_UP.value and by.id == agent_id:
            ref, lacking = self.missing(agent_id)
            if lacking:
                log.info("wrapup_end_refused", agent=agent_id, ref=ref, missing=lacking)
                raise WrapupIncomplete(f"finish work order {ref} before ending wrap-up: "
                                       f"{', '.join(lacking)} missing", field=lacking[0])
        await super().change_state(agent_id, target, reason, by=by, queues=queues)
