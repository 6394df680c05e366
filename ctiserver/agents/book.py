"""Every agent's confirmed status, keyed by interface, and the changes worth telling."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from ctiserver.agents import model
from ctiserver.agents.model import AgentState, AgentStatus
from ctiserver.ami.events import MemberState
from ctiserver.calls import model as calls


@dataclass(frozen=True, slots=True)
class Account:
    """An agent account as the server uses it (no password hash)."""

    id: str
    login: str
    name: str
    role: str  # agent | supervisor | admin
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

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self.by_id: dict[str, Account] = {}
        self.by_interface: dict[str, Account] = {}
        self.status: dict[str, AgentStatus] = {}
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
            new = replace(new, since=at)
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

    def apply_call(self, ce: object) -> list[AgentChanged]:
        """A call event that concerns an agent's leg."""
        if isinstance(ce, calls.CallRinging):
            return self._update(ce.interface, model.ring(self.status_of(ce.interface), ce.leg, ce.call.linkedid),
                                ce.at)
        if isinstance(ce, calls.CallAnswered):
            return self._update(ce.interface,
                                model.connect(self.status_of(ce.interface), ce.leg, ce.call.linkedid), ce.at)
        if isinstance(ce, calls.CallRingEnded):
            return self._update(ce.interface, model.leg_gone(self.status_of(ce.interface), ce.leg, ce.why), ce.at)
        if isinstance(ce, calls.AgentLegEnded):
            return self._update(ce.interface,
                                model.leg_gone(self.status_of(ce.interface), ce.leg, "call_ended"), ce.at)
        return []

    def view(self, agent_id: str) -> dict | None:
        account = self.by_id.get(agent_id)
        if account is None:
            return None
        status = self.status_of(account.interface)
        state, reason = model.derive(status)
        return {"id": account.id, "name": account.name, "role": account.role, "state": state.value,
                "reason": reason, "since": status.since or None, "queues": list(status.queues),
                "interface": account.interface, "call": status.call or status.ringing_call}

    def views(self) -> list[dict]:
        return [v for a in sorted(self.by_id) if (v := self.view(a)) is not None]
