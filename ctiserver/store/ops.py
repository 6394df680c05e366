"""Writes from the call flow: plain JSON-serialisable records, applied in order by the writer.

Each op carries a uuid ``op_id`` (the unique key that makes a replay a no-op) and
``at``, the epoch time the thing happened (kept through a journal replay). Values
are checked when an op is built, so a bad op fails in the caller's code with a
clear error instead of inside the writer.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Union

from ctiserver.errors import InvalidInput

# Columns of work_orders an op may set, with the kind of value each takes. Later
# migrations that add columns add them here.
WORK_ORDER_FIELDS: dict[str, str] = {
    "ref": "text", "created_at": "time",
    "direction": "text", "caller_number": "text", "caller_name": "text",
    "customer_id": "int", "customer_class": "text", "queue": "text", "agent_id": "text",
    "ivr_keys": "text", "ivr_path": "json", "call_state": "text", "disposition": "text",
    "queued_at": "time", "ringing_at": "time", "answered_at": "time", "ended_at": "time",
    "wait_seconds": "number", "talk_seconds": "number", "hangup_by": "text",
    "category": "text", "urgency": "text", "department": "text", "summary": "text",
}

# Columns renamed by a migration: an op journaled by an older server still applies.
_RENAMED = {"status": "call_state"}

WORK_ORDER_CHOICES: dict[str, frozenset[str | None]] = {
    "direction": frozenset({"inbound", "outbound"}),
    "call_state": frozenset({"open", "queued", "ringing", "in_call", "ended", "completed"}),
    "disposition": frozenset({"answered", "abandoned", "no_agent", "no_answer", None}),
    "customer_class": frozenset({"vip", "ordinary", "not_customer", None}),
}

_MAX_TEXT = 10_000


def new_op_id() -> str:
    """A fresh op id."""
    return str(uuid.uuid4())


def _check_op_id(op_id: Any) -> str:
    try:
        return str(uuid.UUID(str(op_id)))
    except ValueError:
        raise InvalidInput(f"op_id {op_id!r} is not a uuid", field="op_id") from None


def _check_at(at: Any) -> float:
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at) or at <= 0:
        raise InvalidInput(f"at {at!r} is not an epoch time", field="at")
    return float(at)


def _check_text(name: str, value: Any, *, required: bool = False, limit: int = _MAX_TEXT) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidInput(f"{name} must be {'a non-empty' if required else 'a'} string", field=name)
    # PostgreSQL text cannot hold NUL; refuse it here rather than lose the op later.
    if "\x00" in value or len(value) > limit:
        raise InvalidInput(f"{name} contains NUL or is longer than {limit} characters", field=name)
    return value


def _check_json(name: str, value: Any) -> Any:
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} is not JSON-serialisable: {exc}", field=name) from None
    return value


def check_work_order_field(name: str, value: Any) -> Any:
    """Validate one work_orders column value from an op; return it (unchanged) or raise InvalidInput."""
    kind = WORK_ORDER_FIELDS.get(name)
    if kind is None:
        raise InvalidInput(f"work order field {name!r} cannot be set by an op", field=name)
    if name in WORK_ORDER_CHOICES:
        if value not in WORK_ORDER_CHOICES[name]:
            allowed = ", ".join(sorted(str(c) for c in WORK_ORDER_CHOICES[name]))
            raise InvalidInput(f"{name} {value!r} is not one of {allowed}", field=name)
        return value
    if value is None:
        return None
    if kind == "text":
        return _check_text(name, value)
    if kind == "json":
        return _check_json(name, value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{name} must be an integer", field=name)
        return value
    if kind == "time" and isinstance(value, str):
        # ISO 8601 with a zone (what projection.py sends); naive times would be ambiguous.
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name} {value[:40]!r} is not an ISO 8601 time", field=name) from None
        if parsed.tzinfo is None:
            raise InvalidInput(f"{name} {value[:40]!r} has no time zone", field=name)
        return value
    # "number" and "time" (epoch seconds)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{name} must be a non-negative number", field=name)
    return value


@dataclass(frozen=True)
class WorkOrderOp:
    """Upsert the call's work order by linkedid (setting ``fields``) and append one history event."""

    op_id: str
    at: float
    linkedid: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "op_id", _check_op_id(self.op_id))
        object.__setattr__(self, "at", _check_at(self.at))
        _check_text("linkedid", self.linkedid, required=True, limit=150)
        _check_text("kind", self.kind, required=True, limit=64)
        if not isinstance(self.fields, dict) or not isinstance(self.data, dict):
            raise InvalidInput("fields and data must be dicts", field="fields")
        fields = {_RENAMED.get(k, k): v for k, v in self.fields.items()}  # ops journaled before a rename
        object.__setattr__(self, "fields", {k: check_work_order_field(k, v) for k, v in fields.items()})
        object.__setattr__(self, "data", dict(_check_json("data", self.data)))

    @classmethod
    def new(cls, linkedid: str, kind: str, fields: dict[str, Any] | None = None,
            data: dict[str, Any] | None = None, at: float | None = None) -> "WorkOrderOp":
        """An op with a fresh op_id, at now unless given."""
        return cls(new_op_id(), time.time() if at is None else at, linkedid, kind, dict(fields or {}), dict(data or {}))


@dataclass(frozen=True)
class AgentStateOp:
    """Append one agent state transition to agent_state_log."""

    op_id: str
    at: float
    agent_id: str
    from_state: str | None
    to_state: str
    reason: str | None = None
    cause: str | None = None
    by: str | None = None  # the supervisor who forced it; None when the agent or Asterisk did it

    def __post_init__(self) -> None:
        object.__setattr__(self, "op_id", _check_op_id(self.op_id))
        object.__setattr__(self, "at", _check_at(self.at))
        _check_text("agent_id", self.agent_id, required=True, limit=64)
        _check_text("from_state", self.from_state, limit=64)
        _check_text("to_state", self.to_state, required=True, limit=64)
        _check_text("reason", self.reason, limit=200)
        _check_text("cause", self.cause, limit=200)
        _check_text("by", self.by, limit=64)

    @classmethod
    def new(cls, agent_id: str, from_state: str | None, to_state: str, reason: str | None = None,
            cause: str | None = None, at: float | None = None, by: str | None = None) -> "AgentStateOp":
        """An op with a fresh op_id, at now unless given."""
        return cls(new_op_id(), time.time() if at is None else at, agent_id, from_state, to_state, reason, cause,
                   by)


MAX_PENALTY = 2**31 - 1  # Asterisk keeps penalties in a C int


def _check_line(name: str, value: Any, *, required: bool = False, limit: int = 200) -> str | None:
    """Text that will be sent to Asterisk again (queue names, pause reasons): no control characters."""
    value = _check_text(name, value, required=required, limit=limit)
    if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(f"{name} must not contain control characters", field=name)
    return value


@dataclass(frozen=True)
class SigninOp:
    """Record who should be signed in (``queues`` = queue -> penalty), or that nobody is (``queues`` None).

    The latest op per agent wins; it is what a resync after an Asterisk restart restores.
    """

    op_id: str
    at: float
    agent_id: str
    queues: dict[str, int] | None
    paused: bool = False
    reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "op_id", _check_op_id(self.op_id))
        object.__setattr__(self, "at", _check_at(self.at))
        _check_text("agent_id", self.agent_id, required=True, limit=64)
        if not isinstance(self.paused, bool):
            raise InvalidInput("paused must be true or false", field="paused")
        _check_line("reason", self.reason)
        if self.queues is None:
            if self.paused or self.reason is not None:
                raise InvalidInput("a sign-out carries no pause state", field="paused")
            return
        if not isinstance(self.queues, dict) or not self.queues:
            raise InvalidInput("queues must map at least one queue to its penalty", field="queues")
        for queue, penalty in self.queues.items():
            _check_line("queues", queue, required=True, limit=80)
            if isinstance(penalty, bool) or not isinstance(penalty, int) or not 0 <= penalty <= MAX_PENALTY:
                raise InvalidInput(f"penalty of queue {queue!r} must be an integer from 0 to {MAX_PENALTY}",
                                   field="queues")
        object.__setattr__(self, "queues", dict(self.queues))

    @property
    def signed_in(self) -> bool:
        return self.queues is not None

    @classmethod
    def new(cls, agent_id: str, queues: dict[str, int] | None, paused: bool = False, reason: str | None = None,
            at: float | None = None) -> "SigninOp":
        """An op with a fresh op_id, at now unless given."""
        return cls(new_op_id(), time.time() if at is None else at, agent_id, queues, paused, reason)


# Columns a person's change (WorkOrderChangeOp) may set, with their kinds ("bool" beside the above).
CHANGE_FIELDS: dict[str, str] = {
    "ref": "text", "created_at": "time", "channel": "text", "caller_number": "text", "caller_name": "text",
    "customer_id": "int", "customer_class": "text", "agent_id": "text",
    "status": "text", "category": "text", "subcategory": "text", "urgency": "text", "department": "text",
    "summary": "text", "request": "text", "answer": "text", "resolution": "text", "notes": "text",
    "assignee": "text",
    "resolved": "bool", "satisfaction": "text", "opinion": "text", "repeats": "int", "deferred": "bool",
    "step_started_at": "time", "due_at": "time", "created_by": "text", "submitted_by": "text",
    "submitted_at": "time", "closed_at": "time",
}
STATUSES = frozenset({"draft", "submitted", "accepted", "assigned", "in_progress", "completed", "callback",
                      "closed", "withdrawn"})


def check_change_field(name: str, value: Any) -> Any:
    """Validate one column value of a person's change; return it or raise InvalidInput."""
    kind = CHANGE_FIELDS.get(name)
    if kind is None:
        raise InvalidInput(f"work order field {name!r} cannot be set by a change", field=name)
    if name in ("status", "channel") and value is None:
        raise InvalidInput(f"{name} cannot be emptied", field=name)
    if name == "status" and value not in STATUSES:
        raise InvalidInput(f"status {value!r} is not one of {', '.join(sorted(STATUSES))}", field=name)
    if value is None:
        return None
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be true or false", field=name)
        return value
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63):
        raise InvalidInput(f"{name} must be a non-negative integer", field=name)
    if kind == "int":
        return value
    if kind == "text":
        return _check_text(name, value)
    # "time": an ISO 8601 time with a zone (what the work-order service sends)
    try:
        if isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None:
            return value
    except ValueError:
        pass
    raise InvalidInput(f"{name} {str(value)[:40]!r} is not an ISO 8601 time with a zone", field=name)


@dataclass(frozen=True)
class WorkOrderChangeOp:
    """A person's change to a work order: set ``fields``, make it ``version``, append one history entry.

    Applied only over ``version - 1`` (the version the person acted on), so two people
    cannot both win; ``create`` inserts the row instead (a work order without a call).
    """

    op_id: str
    at: float
    linkedid: str
    actor: str
    role: str
    action: str
    version: int
    fields: dict[str, Any] = field(default_factory=dict)
    from_status: str | None = None
    to_status: str | None = None
    comment: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    create: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "op_id", _check_op_id(self.op_id))
        object.__setattr__(self, "at", _check_at(self.at))
        _check_text("linkedid", self.linkedid, required=True, limit=150)
        for name in ("actor", "role", "action"):
            _check_text(name, getattr(self, name), required=True, limit=64)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or not 1 <= self.version < 2**31:
            raise InvalidInput("version must be a positive integer", field="version")
        if not isinstance(self.create, bool) or (self.create and self.version != 1):
            raise InvalidInput("a created work order starts at version 1", field="create")
        for name in ("from_status", "to_status"):
            value = getattr(self, name)
            if value is not None and value not in STATUSES:
                raise InvalidInput(f"{name} {value!r} is not a work order status", field=name)
        _check_text("comment", self.comment)
        if not isinstance(self.fields, dict) or not isinstance(self.data, dict):
            raise InvalidInput("fields and data must be dicts", field="fields")
        object.__setattr__(self, "fields", {k: check_change_field(k, v) for k, v in self.fields.items()})
        object.__setattr__(self, "data", dict(_check_json("data", self.data)))

    @classmethod
    def new(cls, linkedid: str, actor: str, role: str, action: str, version: int, fields: dict[str, Any],
            from_status: str | None = None, to_status: str | None = None, comment: str | None = None,
            data: dict[str, Any] | None = None, create: bool = False, at: float | None = None
            ) -> "WorkOrderChangeOp":
        """An op with a fresh op_id, at now unless given."""
        return cls(new_op_id(), time.time() if at is None else at, linkedid, actor, role, action, version,
                   dict(fields), from_status, to_status, comment, dict(data or {}), create)


Op = Union[WorkOrderOp, AgentStateOp, SigninOp, WorkOrderChangeOp]
OP_TYPES = (WorkOrderOp, AgentStateOp, SigninOp, WorkOrderChangeOp)

_TYPES: dict[str, type] = {"work_order": WorkOrderOp, "agent_state": AgentStateOp, "signin": SigninOp,
                           "work_order_change": WorkOrderChangeOp}
_NAMES = {v: k for k, v in _TYPES.items()}


def op_to_json(op: Op) -> dict[str, Any]:
    """The op as a JSON-ready dict with a ``type`` tag."""
    out: dict[str, Any] = {"type": _NAMES[type(op)]}
    out.update({f: getattr(op, f) for f in op.__dataclass_fields__})
    return out


def op_from_json(data: dict[str, Any]) -> Op:
    """Rebuild an op from ``op_to_json`` output; raises InvalidInput when malformed."""
    if not isinstance(data, dict) or data.get("type") not in _TYPES:
        raise InvalidInput(f"not an op: {str(data)[:200]}")
    cls = _TYPES[data["type"]]
    kwargs = {k: v for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise InvalidInput(f"malformed {data['type']} op: {exc}") from None
