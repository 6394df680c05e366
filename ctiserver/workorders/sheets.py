"""The work orders the service has in hand: one dict of columns per work order, by linkedid.

The service is the only writer of a work order's lifecycle, so what it holds here is the truth
even before the journaled writer has reached PostgreSQL: versions are checked against it,
a reload while PostgreSQL is away is answered from it, and a call's work order is known
from its first event (so its agent can save the draft during an outage). Bounded: the
oldest entries go once the writer has nothing pending (never one PostgreSQL lacks).

A busy day holds some 20,000 rows. Each is kept free of lists (``ivr_path`` is held as a
tuple), so holds only atomic values and the garbage collector stops tracking it: a full
collection then has 20,000 fewer dicts to walk, and with nothing else changed, that walk was
the longest pause of the event loop at 100 calls a second.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any, Callable, Mapping

from ctiserver.store.models import WORK_ORDER_COLUMNS, WorkOrder
from ctiserver.workorders.lifecycle import Record, Status

TIME_COLUMNS = frozenset({"created_at", "queued_at", "ringing_at", "answered_at", "ended_at", "updated_at",
                          "step_started_at", "due_at", "submitted_at", "closed_at"})


def as_time(value: Any) -> dt.datetime | None:
    """An op's time value (epoch seconds or ISO 8601) as an aware datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)


def row_of(wo: WorkOrder) -> dict[str, Any]:
    """A stored work order as the service holds it."""
    return {name: getattr(wo, name) for name in WORK_ORDER_COLUMNS}


def record_of(row: Mapping[str, Any]) -> Record:
    """What the lifecycle needs of a row (status NULL is a draft)."""
    return Record(Status(row.get("status") or Status.DRAFT), int(row.get("version") or 0), row.get("department"),
                  row.get("assignee"), int(row.get("repeats") or 0), bool(row.get("deferred")))


def _held(name: str, value: Any) -> Any:
    """A column's value as held: times as datetimes, lists as tuples (see the module's note)."""
    if name in TIME_COLUMNS:
        return as_time(value)
    return tuple(value) if isinstance(value, list) else value


def to_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A held row in the shape the API answers with (WorkOrder.to_json)."""
    out = {name: row.get(name) for name in WORK_ORDER_COLUMNS}
    if isinstance(out.get("ivr_path"), tuple):
        out["ivr_path"] = list(out["ivr_path"])
    for name in TIME_COLUMNS:
        if isinstance(out.get(name), dt.datetime):
            out[name] = out[name].isoformat()
    out["status"] = out["status"] or Status.DRAFT.value
    out["channel"] = out["channel"] or "call"
    out["started_at"] = out["created_at"]
    return out


class Sheets:
    """linkedid -> row; ``alias`` finds one by id or reference too."""

    def __init__(self, can_evict: Callable[[], bool], size: int = 20_000) -> None:
        self._rows: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._alias: dict[str, str] = {}
        self._can_evict = can_evict
        self.size = size

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: str | int) -> dict[str, Any] | None:
        """The row by linkedid, numeric id or reference (WO-...)."""
        key = str(key).strip()
        linkedid = self._alias.get(key.upper() if key.upper().startswith("WO-") else key, key)
        row = self._rows.get(linkedid)
        if row is not None:
            self._rows.move_to_end(linkedid)
        return row

    def put(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Hold (or replace) a row; returns the held copy."""
        held = {name: _held(name, value) for name, value in row.items()}
        linkedid = held["linkedid"]
        self._rows[linkedid] = held
        self._rows.move_to_end(linkedid)
        self._index(held)
        self._trim()
        return held

    def update(self, linkedid: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """Merge changed columns into a held row (None when it is not held)."""
        row = self._rows.get(linkedid)
        if row is None:
            return None
        for name, value in fields.items():
            row[name] = _held(name, value)
        self._index(row)
        return row

    def _index(self, row: Mapping[str, Any]) -> None:
        for alias in (row.get("id"), row.get("ref")):
            if alias is not None:
                self._alias[str(alias)] = row["linkedid"]

    def _trim(self) -> None:
        while len(self._rows) > self.size and self._can_evict():
            _, row = self._rows.popitem(last=False)
            for alias in (row.get("id"), row.get("ref")):
                self._alias.pop(str(alias), None)
