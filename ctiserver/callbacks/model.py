"""A callback and its states: plain data, checked values, one pure transition per outcome."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from ctiserver.apischema import INT, NUM, STR, enum, obj
from ctiserver.errors import InvalidInput

#: digits only (a number to call back is dialled as ``PJSIP/<number>@outside``): 3 to 20 of them
NUMBER = re.compile(r"[0-9]{3,20}")
CALLBACK_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
QUEUE = re.compile(r"[A-Za-z0-9_-]{1,64}")

PENDING = "pending"  # waiting for its turn (or for a retry's time)
RINGING = "ringing"  # an agent is reserved and rung, or the caller is being dialled
CONNECTED = "connected"  # the caller answered: the callback is done
FAILED = "failed"  # every attempt failed: a work order asks for a manual callback
CANCELLED = "cancelled"  # a supervisor took it off the list
STATES = (PENDING, RINGING, CONNECTED, FAILED, CANCELLED)
OPEN = (PENDING, RINGING)

#: the pause reason of an agent reserved for a callback
RESERVED_REASON = "callback"
#: ChannelId prefix of the agent's channel the server originates for a callback
CHANNEL_PREFIX = "cti-cb-"


def check_number(value: Any, field: str = "number") -> str:
    """A number to call back: 3 to 20 digits (anything else: 400 naming the field)."""
    if not isinstance(value, str) or not NUMBER.fullmatch(value):
        raise InvalidInput(f"{field} must be 3 to 20 digits", field=field)
    return value


# The schema of Callback.to_json() (times are Unix seconds).
CALLBACK = obj(
    {"id": STR, "queue": STR, "number": STR, "joined_at": NUM, "requested_at": NUM, "linkedid": STR,
     "caller_number": STR, "customer_no": STR, "position": INT, "state": enum(*STATES), "attempts": INT,
     "not_before": NUM, "agent_id": STR, "call_linkedid": STR, "outcome": STR, "updated_at": NUM},
    closed=True,
)


@dataclass(frozen=True, slots=True)
class Callback:
    """One request to be called back, standing in ``queue`` at ``joined_at`` (the original join time)."""

    id: str
    queue: str
    number: str
    joined_at: float  # when the caller joined the queue: the place in line
    requested_at: float  # when the caller pressed the key and left the queue
    linkedid: str = ""  # the caller's original call (its work order)
    caller_number: str = ""  # the number the caller called from
    customer_no: str = ""
    position: int = 0  # the caller's position when they left the queue
    state: str = PENDING
    attempts: int = 0  # times the caller was dialled
    not_before: float = 0.0  # a retry waits until then
    agent_id: str = ""  # the agent reserved for the current (or last) attempt
    call_linkedid: str = ""  # the current (or last) attempt's call
    outcome: str = ""  # last attempt: ANSWER, NOANSWER, BUSY, ... or agent_no_answer
    updated_at: float = 0.0

    @property
    def open(self) -> bool:
        return self.state in OPEN

    def key(self) -> tuple[float, str]:
        """The callback's place in its queue's order."""
        return (self.joined_at, self.id)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def reserved(cb: Callback, agent_id: str, call_linkedid: str, at: float) -> Callback:
    return replace(
        cb, state=RINGING, agent_id=agent_id, call_linkedid=call_linkedid, updated_at=at
    )


def agent_missed(cb: Callback, at: float) -> Callback:
    """The reserved agent did not answer (or could not be rung): the callback keeps its place, no attempt spent."""
    return replace(
        cb, state=PENDING, outcome="agent_no_answer", call_linkedid="", updated_at=at
    )


def dialled(
    cb: Callback, status: str, at: float, *, retries: int, interval: float
) -> Callback:
    """The caller was dialled: ANSWER ends it; anything else spends an attempt (retry later, or fail)."""
    if status == "ANSWER":
        return replace(
            cb, state=CONNECTED, attempts=cb.attempts + 1, outcome=status, updated_at=at
        )
    attempts = cb.attempts + 1
    if attempts > retries:
        return replace(
            cb, state=FAILED, attempts=attempts, outcome=status, updated_at=at
        )
    return replace(
        cb,
        state=PENDING,
        attempts=attempts,
        outcome=status,
        not_before=at + interval,
        updated_at=at,
    )


def cancelled(cb: Callback, at: float) -> Callback:
    return replace(cb, state=CANCELLED, outcome="cancelled", updated_at=at)
