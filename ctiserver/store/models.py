"""What the store's reads return: frozen dataclasses with ``to_json()`` (ISO timestamps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ctiserver.apischema import INT, STR, TIME, nullable, obj


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class AgentAccount:
    """An agent or supervisor account; ``queues`` maps queue name -> penalty."""

    id: str
    login: str
    name: str
    role: str
    password_hash: str
    interface: str
    queues: Mapping[str, int] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def penalty(self) -> int:
        """The lowest penalty over the account's queues (0 when it has none)."""
        return min(self.queues.values(), default=0)

    def to_json(self) -> dict[str, Any]:
        """Everything but the password hash."""
        return {"id": self.id, "login": self.login, "name": self.name, "role": self.role,
                "interface": self.interface, "queues": dict(self.queues), "created_at": iso(self.created_at)}


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer record; ``class_`` is ``vip`` or ``ordinary``; phones are normalised."""

    id: int
    no: str
    name: str
    class_: str
    phones: tuple[str, ...] = ()
    note: str = ""
    has_pin: bool = False

    def to_json(self) -> dict[str, Any]:
        """The record as the screen-pop shows it (never the PIN hash)."""
        return {"id": self.id, "customer_no": self.no, "name": self.name, "class": self.class_,
                "phones": list(self.phones), "note": self.note}


@dataclass(frozen=True, slots=True)
class WorkOrderEvent:
    """One entry of a work order's history (one applied op)."""

    id: int
    kind: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "at": iso(self.at), "data": dict(self.data)}


WORK_ORDER_COLUMNS = (
    "id", "ref", "linkedid", "direction", "caller_number", "caller_name", "customer_id", "customer_no",
    "customer_name", "customer_class", "queue", "agent_id", "ivr_keys", "ivr_path", "call_state", "disposition",
    "created_at", "queued_at", "ringing_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds",
    "hangup_by", "category", "urgency", "department", "summary", "updated_at",
    # the work order's lifecycle (migration 004)
    "status", "channel", "subcategory", "request", "answer", "resolution", "notes", "assignee", "resolved",
    "satisfaction",
    "opinion", "repeats", "deferred", "step_started_at", "due_at", "created_by", "submitted_by", "submitted_at",
    "closed_at", "version",
)


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """One call's work order. ``events`` is None in lists and the history when fetched singly."""

    id: int
    ref: str | None
    linkedid: str
    direction: str | None = None
    caller_number: str | None = None
    caller_name: str | None = None
    customer_id: int | None = None
    customer_no: str | None = None
    customer_name: str | None = None
    customer_class: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    ivr_keys: str | None = None
    ivr_path: Any = None
    call_state: str | None = None
    disposition: str | None = None
    created_at: datetime | None = None
    queued_at: datetime | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    hangup_by: str | None = None
    category: str | None = None
    urgency: str | None = None
    department: str | None = None
    summary: str | None = None
    updated_at: datetime | None = None
    status: str | None = None  # the lifecycle's state; None: nobody has written the call up yet
    channel: str = "call"
    subcategory: str | None = None
    request: str | None = None
    answer: str | None = None
    resolution: str | None = None  # the department's answer
    notes: str | None = None
    assignee: str | None = None
    resolved: bool | None = None
    satisfaction: str | None = None
    opinion: str | None = None
    repeats: int = 0
    deferred: bool = False
    step_started_at: datetime | None = None
    due_at: datetime | None = None
    created_by: str | None = None
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 0
    events: tuple[WorkOrderEvent, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; ``started_at`` repeats ``created_at`` (the call's start)."""
        out: dict[str, Any] = {}
        for name in WORK_ORDER_COLUMNS:
            value = getattr(self, name)
            out[name] = iso(value) if isinstance(value, datetime) else value
        out["started_at"] = out["created_at"]
        if self.events is not None:
            out["events"] = [e.to_json() for e in self.events]
        return out


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change a person made to a work order (work_order_history: append-only)."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    from_status: str | None
    to_status: str | None
    version: int
    comment: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": iso(self.at), "actor": self.actor, "role": self.role, "action": self.action,
                "from": self.from_status, "to": self.to_status, "version": self.version, "comment": self.comment,
                "data": dict(self.data)}


@dataclass(frozen=True, slots=True)
class Marquee:
    """A marquee notice; ``expires_at`` None means until replaced or removed."""

    # The schema of to_json().
    JSON = obj({"id": INT, "text": STR, "posted_by": STR, "posted_at": TIME, "expires_at": nullable(TIME)})

    id: int
    text: str
    posted_by: str
    posted_at: datetime
    expires_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "posted_by": self.posted_by, "posted_at": iso(self.posted_at),
                "expires_at": iso(self.expires_at)}


@dataclass(frozen=True, slots=True)
class Signin:
    """Who should be signed in: the agent's queues (queue -> penalty) and pause state."""

    agent_id: str
    queues: Mapping[str, int]
    paused: bool
    reason: str | None
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "queues": dict(self.queues), "paused": self.paused,
                "reason": self.reason, "updated_at": iso(self.updated_at)}


@dataclass(frozen=True, slots=True)
class StateLogEntry:
    """One row of agent_state_log: a transition ``from_state`` -> ``to_state`` at ``at``."""

    id: int
    agent_id: str
    at: datetime
    from_state: str | None
    to_state: str
    reason: str | None = None
    cause: str | None = None
    by_agent_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "agent_id": self.agent_id, "at": iso(self.at), "from_state": self.from_state,
                "to_state": self.to_state, "reason": self.reason, "cause": self.cause, "by": self.by_agent_id}


@dataclass(frozen=True, slots=True)
class RingEnd:
    """An agent stopped being rung without answering (a work order's ``ring_ended`` event)."""

    linkedid: str
    at: datetime
    agent_id: str | None
    interface: str | None
    why: str | None
