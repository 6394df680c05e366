"""Agent work state: what Asterisk says about one agent, and the state shown from it.

Asterisk is the truth. An agent's status is built only from confirmed facts:
queue membership and pause (``QueueMember*`` events, ``QueueStatus`` lists) and
the agent's call legs (ringing, connected, hung up). The displayed state is
derived from those facts by one pure function, so events arriving in Asterisk's
own order (a pause while ringing, a status before a dial end) can never leave
an agent stuck in a state that no longer holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from ctiserver.ami.events import MemberState
from ctiserver.errors import Conflict, InvalidInput


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"


@dataclass(frozen=True, slots=True)
class Membership:
    queue: str
    paused: bool
    reason: str
    penalty: int = 0


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """Confirmed facts about one agent interface."""

    interface: str
    memberships: tuple[Membership, ...] = ()
    ringing: tuple[tuple[str, str], ...] = ()  # (agent leg uniqueid, linkedid)
    call_leg: str | None = None
    call: str | None = None  # linkedid of the connected call
    since: float = 0.0  # when the displayed state last changed
    cause: str = ""  # why it last changed (for the log)

    @property
    def state(self) -> AgentState:
        return derive(self)[0]

    @property
    def reason(self) -> str:
        return derive(self)[1]

    @property
    def queues(self) -> tuple[str, ...]:
        return tuple(m.queue for m in self.memberships)

    @property
    def ringing_call(self) -> str | None:
        return self.ringing[-1][1] if self.ringing else None


def derive(status: AgentStatus) -> tuple[AgentState, str]:
    """The state an agent is shown in, and its reason, from the confirmed facts."""
    if status.call:
        return AgentState.ON_CALL, ""
    if status.ringing:
        return AgentState.RINGING, ""
    if not status.memberships:
        return AgentState.LOGGED_OUT, ""
    if all(m.paused for m in status.memberships):
        reasons = [m.reason for m in status.memberships if m.reason]
        return AgentState.NOT_READY, (reasons[-1] if reasons else "")
    return AgentState.READY, ""


def apply_member(status: AgentStatus, ev: MemberState) -> AgentStatus:
    """Fold one QueueMember* event or QueueStatus item into the membership facts."""
    others = tuple(m for m in status.memberships if m.queue != ev.queue)
    if ev.kind == "removed":
        return replace(status, memberships=others, cause="queue_member_removed")
    member = Membership(ev.queue, ev.paused, ev.reason if ev.paused else "", ev.penalty)
    causes = {"added": "queue_member_added", "pause": "queue_member_pause", "list": "queue_status"}
    return replace(status, memberships=tuple(sorted(others + (member,), key=lambda m: m.queue)),
                   cause=causes.get(ev.kind, status.cause if ev.kind == "status" else ev.kind))


def ring(status: AgentStatus, leg: str, linkedid: str) -> AgentStatus:
    if any(r[0] == leg for r in status.ringing):
        return status
    return replace(status, ringing=status.ringing + ((leg, linkedid),), cause="agent_called")


def connect(status: AgentStatus, leg: str, linkedid: str) -> AgentStatus:
    ringing = tuple(r for r in status.ringing if r[0] != leg)
    return replace(status, ringing=ringing, call_leg=leg, call=linkedid, cause="agent_connect")


def leg_gone(status: AgentStatus, leg: str, cause: str) -> AgentStatus:
    """The agent's leg hung up: it stops ringing, or its call ends."""
    ringing = tuple(r for r in status.ringing if r[0] != leg)
    if status.call_leg == leg:
        return replace(status, ringing=ringing, call_leg=None, call=None, cause=cause)
    if ringing != status.ringing:
        return replace(status, ringing=ringing, cause=cause)
    return status


# --- commands -------------------------------------------------------------

TARGETS = ("ready", "not_ready", "logged_out")


@dataclass(frozen=True, slots=True)
class Plan:
    """What to ask Asterisk for one state change."""

    sign_in: tuple[str, ...] = ()  # queues to QueueAdd
    pause: bool | None = None  # QueuePause Paused=… (None: leave as is)
    reason: str = ""
    sign_out: tuple[str, ...] = ()  # queues to QueueRemove
    notes: tuple[str, ...] = field(default=())


def plan_change(status: AgentStatus, target: str, reason: str | None, queues: tuple[str, ...],
                reasons: tuple[str, ...]) -> Plan:
    """Validate a requested state change against the current facts; the AMI actions it needs."""
    if target not in TARGETS:
        raise InvalidInput(f"state must be one of {', '.join(TARGETS)}", field="state")
    if target == "not_ready":
        if not reason:
            raise InvalidInput("a reason is needed to be busy", field="reason")
        if reason not in reasons:
            raise InvalidInput(f"unknown reason {reason!r}; known: {', '.join(reasons)}", field="reason")
    elif reason:
        raise InvalidInput(f"a reason only goes with not_ready, not {target}", field="reason")
    state, current_reason = derive(status)
    signed_in = bool(status.memberships)
    if target == "logged_out":
        if not signed_in:
            raise Conflict("already signed out", code="already_signed_out")
        if state in (AgentState.ON_CALL, AgentState.RINGING):
            raise Conflict("finish the call before signing out", code="on_call")
        return Plan(sign_out=status.queues)
    if not signed_in:
        if not queues:
            raise Conflict("no queue to sign in to", code="no_queues")
        return Plan(sign_in=queues, pause=(target == "not_ready"), reason=reason or "")
    paused = all(m.paused for m in status.memberships)
    if target == "ready" and not paused:
        raise Conflict("already ready", code="already_ready")
    if target == "not_ready" and paused and current_reason == reason:
        raise Conflict(f"already busy ({reason})", code="already_not_ready")
    return Plan(pause=(target == "not_ready"), reason=reason or "")
