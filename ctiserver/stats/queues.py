"""Queue figures of a day from its work orders: pure.

A call belongs to the day it started (``created_at``, as in the work-order list) and to the
queue it entered (``queue``). Every offered call is exactly one of answered, abandoned,
no_agent or waiting (still queued or ringing, not answered yet):

    offered == answered + abandoned + no_agent + waiting
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol


class CallRecord(Protocol):
    """What queue_days reads from a work order (ctiserver.store.WorkOrder has it)."""

    queue: str | None
    disposition: str | None
    answered_at: Any
    ended_at: Any
    wait_seconds: float | None
    talk_seconds: float | None


@dataclass
class QueueDay:
    queue: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    no_agent: int = 0
    waiting: int = 0
    answered_within_sl: int = 0
    waits_answered: list[float] = field(default_factory=list)
    waits_left: list[float] = field(default_factory=list)
    handles: list[float] = field(default_factory=list)

    @property
    def left_queue(self) -> int:
        """Calls no longer waiting: the service level's denominator."""
        return self.answered + self.abandoned + self.no_agent

    def to_json(self) -> dict[str, Any]:
        return self.totals().to_json()

    def totals(self) -> QueueTotals:
        """The sums and counts the figures are made of (what PostgreSQL returns for a queue)."""
        return QueueTotals(
            self.queue, self.offered, self.answered, self.abandoned, self.no_agent, self.waiting,
            self.answered_within_sl, sum(self.waits_answered) if self.waits_answered else None,
            len(self.waits_answered), max(self.waits_left) if self.waits_left else None,
            sum(self.handles) if self.handles else None, len(self.handles))


@dataclass(frozen=True)
class QueueTotals:
    """A queue's day as sums and counts: ``QueueDay.totals()``, or a row of ``day_queries.queue_totals``.

    The sums are added in the calls' order (start, then id), as ``sum`` over QueueDay's lists adds
    them, so both give the same floats; ``to_json`` rounds them for the API.
    """

    queue: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    no_agent: int = 0
    waiting: int = 0
    answered_within_sl: int = 0
    wait_answered_sum: float | None = None
    wait_answered_n: int = 0
    wait_left_max: float | None = None
    handle_sum: float | None = None
    handle_n: int = 0

    @property
    def left_queue(self) -> int:
        """Calls no longer waiting: the service level's denominator."""
        return self.answered + self.abandoned + self.no_agent

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue, "offered": self.offered, "answered": self.answered, "abandoned": self.abandoned,
            "no_agent": self.no_agent, "waiting": self.waiting, "answered_within_sl": self.answered_within_sl,
            "service_level_pct": round(100 * self.answered_within_sl / self.left_queue, 1) if self.left_queue
            else None,
            "avg_wait_seconds": _avg(self.wait_answered_sum, self.wait_answered_n),
            "max_wait_seconds": round(self.wait_left_max, 1) if self.wait_left_max is not None else 0.0,
            "avg_handle_seconds": _avg(self.handle_sum, self.handle_n),
        }


def _avg(total: float | None, n: int) -> float:
    return round(total / n, 1) if n and total is not None else 0.0


def outcome(call: CallRecord) -> str:
    """answered, abandoned, no_agent or waiting."""
    if call.answered_at is not None or call.disposition == "answered":
        return "answered"
    if call.disposition in ("abandoned", "no_agent"):
        return call.disposition
    if call.ended_at is not None:
        return "abandoned"  # ended without a disposition (should not happen): the caller did not get through
    return "waiting"


def queue_days(calls: Iterable[CallRecord], queues: Iterable[str], service_level_seconds: float) -> list[QueueDay]:
    """One QueueDay per queue in ``queues`` (even without calls) and per other queue a call entered, by name."""
    days: dict[str, QueueDay] = {q: QueueDay(q) for q in queues}
    for call in calls:
        if not call.queue:
            continue  # a direct or outbound call, or one that never reached a queue
        day = days.setdefault(call.queue, QueueDay(call.queue))
        day.offered += 1
        kind = outcome(call)
        setattr(day, kind, getattr(day, kind) + 1)
        wait = call.wait_seconds
        if kind == "waiting":
            continue
        if wait is not None:
            day.waits_left.append(wait)
        if kind == "answered":
            if wait is not None:
                day.waits_answered.append(wait)
                if wait <= service_level_seconds:
                    day.answered_within_sl += 1
            if call.talk_seconds is not None and call.ended_at is not None:
                day.handles.append(call.talk_seconds)
    return [days[q] for q in sorted(days)]
