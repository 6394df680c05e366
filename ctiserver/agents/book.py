"""Every agent's confirmed status, keyed by interface, and the changes worth telling."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator

import structlog

from ctiserver.agents import model
from ctiserver.agents.model import AgentState, AgentStatus
from ctiserver.ami.events import MemberState
from ctiserver.apischema import BOOL, NUM, STR, array, enum, nullable, obj
from ctiserver.calls import model as calls

log = structlog.get_logger(__name__)
FORCE_WINDOW = 30.0  # seconds within which a confirming event is credited to a supervisor's command
ROLES = ("agent", "supervisor", "handler", "admin")  # what an account may be


@dataclass(frozen=True, slots=True)
class Account:
    """An agent account as the server uses it (no password hash)."""

    id: str
    login: str
    name: str
    role: str  # one of ROLES
    interface: str
    queues: tuple[str, ...] = ()
    penalties: tuple[int, ...] = ()

    @property
    def is_supervisor(self) -> bool:
        return self.role in ("supervisor", "admin")

    def public(self) -> dict:
        return {"id": self.id, "login": self.login, "name": self.name, "role": self.role}


@dataclass(frozen=True, slots=True)
class AgentChanged:
    agent_id: str
    interface: str
    old: AgentState
    new: AgentState
    old_reason: str
    new_reason: str
    cause: str
    at: float
    status: AgentStatus


class AgentBook:
    """Statuses of all agent interfaces; emits AgentChanged when a shown state or reason changes."""

    def __init__(self, accounts: Iterable[Account] = (), wrapup_for: Callable[[str], float] = lambda queue: 0.0) -> None:
        self.by_id: dict[str, Account] = {}
        self.by_interface: dict[str, Account] = {}
        self.status: dict[str, AgentStatus] = {}
        self.wrapup_for = wrapup_for
        self._forced: dict[str, tuple[tuple[str, str], float]] = {}  # interface -> ((id, name), when)
        self.set_accounts(accounts)

    def set_accounts(self, accounts: Iterable[Account]) -> None:
        self.by_id = {a.id: a for a in accounts}
        self.by_interface = {a.interface: a for a in self.by_id.values() if a.interface}

    def is_agent_endpoint(self, endpoint: str) -> bool:
        return endpoint in self.by_interface

    def status_of(self, interface: str) -> AgentStatus:
        return self.status.get(interface) or AgentStatus(interface)

    def _update(self, interface: str, new: AgentStatus, at: float) -> list[AgentChanged]:
        old = self.status_of(interface)
        old_state, old_reason = model.derive(old)
        new_state, new_reason = model.derive(new)
        changed = (old_state, old_reason) != (new_state, new_reason)
        if changed:
            forced = self._forced.pop(interface, None) if new.cause.startswith("queue_member") else None
            by = forced[0] if forced and at - forced[1] <= FORCE_WINDOW else None
            new = replace(new, since=at, changed_by=by)
            if (old_state, new_state) not in model.TRANSITIONS and old_state != new_state:
                log.warning("unexpected_agent_transition", interface=interface, old=old_state.value,
                            new=new_state.value, cause=new.cause)
        self.status[interface] = new
        account = self.by_interface.get(interface)
        if not changed or account is None:
            return []
        return [AgentChanged(account.id, interface, old_state, new_state, old_reason, new_reason,
                             new.cause, at, new)]

    def apply_member(self, e: MemberState) -> list[AgentChanged]:
        """A QueueMember* event from Asterisk."""
        return self._update(e.interface, model.apply_member(self.status_of(e.interface), e), e.at)

    def resync_members(self, items: Iterable[MemberState], now: float) -> list[AgentChanged]:
        """Replace every membership with a QueueStatus answer (what Asterisk says now)."""
        grouped: dict[str, list[MemberState]] = {}
        for item in items:
            grouped.setdefault(item.interface, []).append(item)
        out: list[AgentChanged] = []
        for interface in set(self.status) | set(grouped):
            status = replace(self.status_of(interface), memberships=(), cause="queue_status")
            for item in grouped.get(interface, []):
                status = model.apply_member(status, replace(item, at=now))
            out += self._update(interface, status, now)
        return out

    def expect_forced(self, interface: str, by: tuple[str, str], at: float) -> None:
        """A supervisor asked for a change of this agent: credit the confirming event to them."""
        self._forced[interface] = (by, at)

    def end_wrapup(self, interface: str, until: float, at: float) -> list[AgentChanged]:
        """The wrap-up that was to end at ``until`` is over (ignored if another one runs now)."""
        status = self.status_of(interface)
        if status.wrapup_until != until:
            return []
        return self._update(interface, model.end_wrapup(status), at)

    def apply_call(self, ce: object) -> list[AgentChanged]:
        """A call event that concerns an agent's leg."""
        peer = None
        if isinstance(ce, (calls.CallRinging, calls.CallAnswered, calls.AgentBusyDirect)):
            peer = ce.peer if isinstance(ce, calls.AgentBusyDirect) else (ce.call.caller_num, ce.call.caller_name)
        if isinstance(ce, calls.CallRinging):
            return self._update(ce.interface,
                                model.ring(self.status_of(ce.interface), ce.leg, ce.call.linkedid, peer), ce.at)
        if isinstance(ce, calls.CallAnswered):
            return self._update(ce.interface,
                                model.connect(self.status_of(ce.interface), ce.leg, ce.call.linkedid, peer), ce.at)
        if isinstance(ce, calls.AgentBusyDirect):
            return self._update(ce.interface, model.connect(self.status_of(ce.interface), ce.leg, ce.call.linkedid,
                                                            peer, outside=True), ce.at)
        if isinstance(ce, calls.AgentLegHeld):
            return self._update(ce.interface, model.hold(self.status_of(ce.interface), ce.leg, ce.held), ce.at)
        if isinstance(ce, calls.CallRingEnded):
            return self._update(ce.interface, model.leg_gone(self.status_of(ce.interface), ce.leg, ce.why), ce.at)
        if isinstance(ce, calls.AgentLegEnded):
            seconds = self.wrapup_for(ce.call.queue)
            until = ce.at + seconds if seconds > 0 else None
            return self._update(ce.interface,
                                model.leg_gone(self.status_of(ce.interface), ce.leg, "call_ended", until), ce.at)
        return []

    # The schema of view(), the API's and the push's picture of one agent.
    VIEW = obj(
        {"id": STR, "name": STR, "role": STR, "state": enum(*(s.value for s in AgentState)), "reason": STR,
         "since": nullable(NUM), "queues": array(STR), "interface": STR, "call": nullable(STR),
         "caller": nullable(obj({"number": STR, "name": STR})), "outside_call": BOOL,
         "changed_by": nullable(obj({"id": STR, "name": STR})), "wrapup_ends": nullable(NUM)},
    )

    def view(self, agent_id: str) -> dict | None:
        account = self.by_id.get(agent_id)
        if account is None:
            return None
        status = self.status_of(account.interface)
        state, reason = model.derive(status)
        return {"id": account.id, "name": account.name, "role": account.role, "state": state.value,
                "reason": reason, "since": status.since or None, "queues": list(status.queues),
                "interface": account.interface, "call": status.call or status.ringing_call,
                "caller": {"number": status.peer[0], "name": status.peer[1]} if status.peer else None,
                "outside_call": status.outside,
                "changed_by": {"id": status.changed_by[0], "name": status.changed_by[1]} if status.changed_by else None,
                "wrapup_ends": status.wrapup_until if state is AgentState.WRAP_UP else None}

    def views(self) -> list[dict]:
        return [v for a in sorted(self.by_id) if (v := self.view(a)) is not None]

    def states(self) -> Iterator[tuple[Account, AgentStatus, AgentState, str]]:
        """Every account with its status and the state and reason it is shown in: what counting or
        scanning the floor needs, without building each agent's view (2,000 of them every second
        held the event loop)."""
        for account in self.by_id.values():
            status = self.status_of(account.interface)
            state, reason = model.derive(status)
            yield account, status, state, reason
