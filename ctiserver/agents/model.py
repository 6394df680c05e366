"""Agent work state: what Asterisk says about one agent, and the state shown from it.

Asterisk is the truth. An agent's status is built only from confirmed facts:
queue membership and pause (``QueueMember*`` events, ``QueueStatus`` lists), the
agent's call legs (ringing, connected, held, hung up) and the wrap-up period the
server itself runs after a call. The displayed state is derived from those facts by
one pure function, :func:`derive`, so events arriving in Asterisk's own order (a pause
while ringing, a status before a dial end) can never leave an agent stuck in a state
that no longer holds.

The state machine, explicitly:

* facts change only through the pure functions below (``apply_member``, ``ring``,
  ``connect``, ``hold``, ``leg_gone``, ``start_wrapup``, ``end_wrapup``);
* every displayed move ``derive(before) -> derive(after)`` is one of
  :data:`TRANSITIONS` (tests check all facts combinations; the book logs anything else);
* commands (:func:`plan_change`) are allowed or refused per state by :data:`COMMANDS`.

Wrap-up (after-call work) is a pause with the reserved reason :data:`WRAPUP_REASON`,
so Asterisk routes no call meanwhile; it ends when the agent picks ready or busy, or by
itself after the queue's wrap-up time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from ctiserver.ami.events import MemberState
from ctiserver.errors import Conflict, InvalidInput

WRAPUP_REASON = "wrap-up"


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"


S = AgentState

#: Every displayed move the facts can produce. Asterisk is the truth, so a move outside
#: this set is still followed, but logged as unexpected.
TRANSITIONS: frozenset[tuple[AgentState, AgentState]] = frozenset({
    (S.LOGGED_OUT, S.READY), (S.LOGGED_OUT, S.NOT_READY), (S.LOGGED_OUT, S.RINGING), (S.LOGGED_OUT, S.ON_CALL),
    (S.LOGGED_OUT, S.WRAP_UP),  # a member Asterisk reports paused for wrap-up (server restarted meanwhile)
    (S.READY, S.NOT_READY), (S.READY, S.LOGGED_OUT), (S.READY, S.RINGING), (S.READY, S.ON_CALL),
    (S.READY, S.WRAP_UP),
    (S.NOT_READY, S.READY), (S.NOT_READY, S.NOT_READY), (S.NOT_READY, S.LOGGED_OUT), (S.NOT_READY, S.RINGING),
    (S.NOT_READY, S.ON_CALL), (S.NOT_READY, S.WRAP_UP),
    (S.RINGING, S.ON_CALL), (S.RINGING, S.READY), (S.RINGING, S.NOT_READY), (S.RINGING, S.LOGGED_OUT),
    (S.RINGING, S.WRAP_UP),
    (S.ON_CALL, S.ON_HOLD), (S.ON_CALL, S.WRAP_UP), (S.ON_CALL, S.READY), (S.ON_CALL, S.NOT_READY),
    (S.ON_CALL, S.LOGGED_OUT), (S.ON_CALL, S.RINGING),
    (S.ON_HOLD, S.ON_CALL), (S.ON_HOLD, S.WRAP_UP), (S.ON_HOLD, S.READY), (S.ON_HOLD, S.NOT_READY),
    (S.ON_HOLD, S.LOGGED_OUT), (S.ON_HOLD, S.RINGING),
    (S.WRAP_UP, S.READY), (S.WRAP_UP, S.NOT_READY), (S.WRAP_UP, S.LOGGED_OUT), (S.WRAP_UP, S.RINGING),
    (S.WRAP_UP, S.ON_CALL),
})


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
    held: bool = False  # the connected call is on hold
    outside: bool = False  # the connected call did not come from a queue (direct or outbound)
    peer: tuple[str, str] | None = None  # (number, name) of who rings or talks with the agent
    wrapup_until: float | None = None  # wrap-up runs until then (None: not in wrap-up)
    since: float = 0.0  # when the displayed state last changed
    cause: str = ""  # why it last changed (for the log)
    changed_by: tuple[str, str] | None = None  # (id, name) of a supervisor who forced the last change

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

    @property
    def paused(self) -> bool:
        return bool(self.memberships) and all(m.paused for m in self.memberships)


def derive(status: AgentStatus) -> tuple[AgentState, str]:
    """The state an agent is shown in, and its reason, from the confirmed facts."""
    if status.call:
        return (S.ON_HOLD if status.held else S.ON_CALL), ""
    if status.ringing:
        return S.RINGING, ""
    if not status.memberships:
        return S.LOGGED_OUT, ""
    reasons = [m.reason for m in status.memberships if m.paused and m.reason]
    if status.wrapup_until is not None or (status.paused and reasons and reasons[-1] == WRAPUP_REASON):
        return S.WRAP_UP, ""
    if status.paused:
        return S.NOT_READY, (reasons[-1] if reasons else "")
    return S.READY, ""


def apply_member(status: AgentStatus, ev: MemberState) -> AgentStatus:
    """Fold one QueueMember* event or QueueStatus item into the membership facts."""
    others = tuple(m for m in status.memberships if m.queue != ev.queue)
    if ev.kind == "removed":
        return replace(status, memberships=others, cause="queue_member_removed",
                       wrapup_until=None if not others else status.wrapup_until)
    member = Membership(ev.queue, ev.paused, ev.reason if ev.paused else "", ev.penalty)
    causes = {"added": "queue_member_added", "pause": "queue_member_pause", "list": "queue_status"}
    wrapup = status.wrapup_until
    if ev.kind == "pause" and not (ev.paused and ev.reason == WRAPUP_REASON):
        wrapup = None  # the agent (or a supervisor) chose ready or busy: wrap-up is over
    return replace(status, memberships=tuple(sorted(others + (member,), key=lambda m: m.queue)),
                   cause=causes.get(ev.kind, status.cause if ev.kind == "status" else ev.kind), wrapup_until=wrapup)


def ring(status: AgentStatus, leg: str, linkedid: str, peer: tuple[str, str] | None = None) -> AgentStatus:
    if any(r[0] == leg for r in status.ringing):
        return status
    return replace(status, ringing=status.ringing + ((leg, linkedid),), cause="agent_called",
                   peer=peer if not status.call else status.peer)


def connect(status: AgentStatus, leg: str, linkedid: str, peer: tuple[str, str] | None = None,
            outside: bool = False) -> AgentStatus:
    ringing = tuple(r for r in status.ringing if r[0] != leg)
    return replace(status, ringing=ringing, call_leg=leg, call=linkedid, held=False, outside=outside,
                   peer=peer or status.peer, wrapup_until=None,
                   cause="outside_call" if outside else "agent_connect")


def hold(status: AgentStatus, leg: str, held: bool) -> AgentStatus:
    """The agent's phone put the call on hold (or took it back)."""
    if status.call_leg != leg or status.held == held:
        return status
    return replace(status, held=held, cause="hold" if held else "unhold")


def leg_gone(status: AgentStatus, leg: str, cause: str, wrapup_until: float | None = None) -> AgentStatus:
    """The agent's leg hung up: it stops ringing, or its call ends (then wrap-up, if one is given)."""
    ringing = tuple(r for r in status.ringing if r[0] != leg)
    if status.call_leg == leg:
        return replace(status, ringing=ringing, call_leg=None, call=None, held=False, outside=False,
                       peer=None if not ringing else status.peer, cause=cause,
                       wrapup_until=wrapup_until if status.memberships else None)
    if ringing != status.ringing:
        return replace(status, ringing=ringing, cause=cause, peer=status.peer if (ringing or status.call) else None)
    return status


def end_wrapup(status: AgentStatus, cause: str = "wrapup_ended") -> AgentStatus:
    """The wrap-up period is over (its time ran out)."""
    if status.wrapup_until is None:
        return status
    return replace(status, wrapup_until=None, cause=cause)


# --- commands -------------------------------------------------------------

TARGETS = ("ready", "not_ready", "logged_out")

#: What each command does in each state: "ok", or the Conflict code it is refused with
#: (some "ok" cells still refuse particular arguments, e.g. busy for the reason one already has).
COMMANDS: dict[AgentState, dict[str, str]] = {
    S.LOGGED_OUT: {"ready": "ok", "not_ready": "ok", "logged_out": "already_signed_out"},
    S.READY: {"ready": "already_ready", "not_ready": "ok", "logged_out": "ok"},
    S.NOT_READY: {"ready": "ok", "not_ready": "ok", "logged_out": "ok"},
    S.RINGING: {"ready": "ok", "not_ready": "ok", "logged_out": "on_call"},
    S.ON_CALL: {"ready": "ok", "not_ready": "ok", "logged_out": "on_call"},
    S.ON_HOLD: {"ready": "ok", "not_ready": "ok", "logged_out": "on_call"},
    S.WRAP_UP: {"ready": "ok", "not_ready": "ok", "logged_out": "ok"},
}
_REFUSALS = {"already_signed_out": "already signed out", "already_ready": "already ready",
             "on_call": "finish the call before signing out"}


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
    """Validate a requested state change against the current facts; the AMI actions it needs.

    While ringing or on a call, ready/busy set what follows the call (Asterisk keeps the
    call; the pause only stops new ones).
    """
    if target not in TARGETS:
        raise InvalidInput(f"state must be one of {', '.join(TARGETS)}", field="state")
    if target == "not_ready":
        if not reason:
            raise InvalidInput("a reason is needed to be busy", field="reason")
        if reason not in reasons or reason == WRAPUP_REASON:
            raise InvalidInput(f"unknown reason {reason!r}; known: {', '.join(reasons)}", field="reason")
    elif reason:
        raise InvalidInput(f"a reason only goes with not_ready, not {target}", field="reason")
    state, current_reason = derive(status)
    verdict = COMMANDS[state][target]
    if verdict != "ok":
        raise Conflict(_REFUSALS[verdict], code=verdict)
    if target == "logged_out":
        return Plan(sign_out=status.queues)
    if not status.memberships:
        if not queues:
            raise Conflict("no queue to sign in to", code="no_queues")
        return Plan(sign_in=queues, pause=(target == "not_ready"), reason=reason or "")
    paused = status.paused
    current = [m.reason for m in status.memberships if m.paused]
    if target == "ready" and not paused and state != S.WRAP_UP:
        raise Conflict("already ready", code="already_ready")
    if target == "not_ready" and paused and current and current[-1] == reason and state == S.NOT_READY:
        raise Conflict(f"already busy ({reason})", code="already_not_ready")
    return Plan(pause=(target == "not_ready"), reason=reason or "")
