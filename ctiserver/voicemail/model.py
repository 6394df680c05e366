"""A message left in the IVR and what agents do with it: pure rules, no I/O.

A message belongs to the call that left it (its work order, keyed by the call's linkedid);
every change is a step of that work order (``voicemail``, ``voicemail_claimed``,
``voicemail_released``, ``voicemail_outcome``, ``voicemail_overdue``), so the list is rebuilt
from the history after a restart. One agent claims a message; nobody else can then (409)
until they release it. An outcome of ``reached`` or ``wrong_number`` closes it; ``no_answer``
and ``busy`` keep it with its claimer for another try.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

from ctiserver.apischema import BOOL, INT, NUM, STR, array, enum, nullable, obj
from ctiserver.errors import Conflict, Forbidden, InvalidInput

CLOSING = frozenset({"reached", "wrong_number"})
OUTCOMES = CLOSING | frozenset({"no_answer", "busy"})
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,149}$")  # a call's linkedid
SUPERVISORS = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class Voicemail:
    """One message: where it is in Asterisk's spool and where it is in the center's work."""

    id: str  # the linkedid of the call that left it
    mailbox: str  # box@context
    folder: str
    msg: str  # msgNNNN
    left_at: float
    caller_number: str = ""
    caller_name: str = ""
    seconds: int | None = None
    ref: str = ""  # the call's work order
    claimed_by: str | None = None
    claimed_at: float | None = None
    attempts: list[dict] = field(
        default_factory=list
    )  # outcomes so far: {outcome, by, at, note}
    outcome: str | None = None  # the closing one
    overdue: bool = False

    @property
    def open(self) -> bool:
        return self.outcome is None

    # The schema of view() (times are Unix seconds; attempts: {outcome, by, at, note}).
    VIEW = obj(
        {"id": STR, "mailbox": STR, "folder": STR, "msg": STR, "left_at": NUM, "caller_number": STR,
         "caller_name": STR, "seconds": nullable(INT), "ref": STR, "claimed_by": nullable(STR),
         "claimed_at": nullable(NUM), "attempts": array(obj({"outcome": enum(*sorted(OUTCOMES)), "by": STR, "at": NUM})),
         "outcome": nullable(enum(*sorted(OUTCOMES))), "overdue": BOOL, "open": BOOL},
        closed=True,
    )

    def view(self) -> dict:
        return {**asdict(self), "open": self.open}


def check_id(value: str) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise InvalidInput(
            "not a voicemail id (the linkedid of the call that left it)", field="id"
        )
    return value


def claim(vm: Voicemail, agent: str, at: float) -> Voicemail:
    """``agent`` takes the message; Conflict when it is someone else's or closed."""
    if not vm.open:
        raise Conflict(
            f"the message was closed ({vm.outcome})", code="closed", field="id"
        )
    if vm.claimed_by is not None and vm.claimed_by != agent:
        raise Conflict(
            f"agent {vm.claimed_by} has claimed this message",
            code="claimed",
            field="id",
        )
    if vm.claimed_by == agent:
        return vm
    return replace(vm, claimed_by=agent, claimed_at=at)


def release(vm: Voicemail, agent: str, role: str) -> Voicemail:
    """The claimer (or a supervisor) gives the message back to everyone."""
    _mine(vm, agent, role)
    return replace(vm, claimed_by=None, claimed_at=None)


def outcome(
    vm: Voicemail, agent: str, role: str, what: str, note: str, at: float
) -> Voicemail:
    """Record a call-back's outcome; a closing one closes the message."""
    if what not in OUTCOMES:
        raise InvalidInput(
            f"outcome is one of {', '.join(sorted(OUTCOMES))}", field="outcome"
        )
    _mine(vm, agent, role)
    attempt = {"outcome": what, "by": agent, "at": at, "note": note}
    return replace(
        vm, attempts=[*vm.attempts, attempt], outcome=what if what in CLOSING else None
    )


def _mine(vm: Voicemail, agent: str, role: str) -> None:
    if not vm.open:
        raise Conflict(
            f"the message was closed ({vm.outcome})", code="closed", field="id"
        )
    if vm.claimed_by is None:
        raise Conflict("claim the message first", code="not_claimed", field="id")
    if vm.claimed_by != agent and role not in SUPERVISORS:
        raise Forbidden(f"agent {vm.claimed_by} has claimed this message")


def may_play(vm: Voicemail, agent: str, role: str) -> bool:
    """Supervisors play any message; an agent one nobody else has claimed."""
    return role in SUPERVISORS or vm.claimed_by in (None, agent)


def due(vm: Voicemail, now: float, claim_seconds: float) -> bool:
    """Nobody claimed it in time and the supervisors were not told yet."""
    return (
        vm.open
        and vm.claimed_by is None
        and not vm.overdue
        and now - vm.left_at >= claim_seconds
    )
