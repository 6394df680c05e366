"""Deadlines per category and step, when a work order is due, and the colour it is shown in.

Each open state belongs to a step with its own allowance, counted from when the step began:

- ``forward``: submitted or accepted, until it is assigned (seed default for a complaint: 0.5d);
- ``answer``: assigned or in progress, until completed (complaint 3d; ``repeat`` instead for a
  repeat complaint when configured, ``deferred`` once the handler deferred it);
- ``callback``: completed, until the customer is called back; the ``review`` allowance (the
  answer's audit, seed 004) is added to it, since that review happens in between.

Colours follow seed 003: closed black, in progress orange, overdue red, amber in the last
``amber_fraction`` of the allowance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

from ctiserver.calendar import Duration, WorkCalendar
from ctiserver.workorders.lifecycle import FINAL, Record, Status

STEPS = ("forward", "answer", "review", "callback", "repeat", "deferred")
COLOURS = ("grey", "orange", "amber", "red", "black")

_STEP = {Status.SUBMITTED: "forward", Status.ACCEPTED: "forward", Status.ASSIGNED: "answer",
         Status.IN_PROGRESS: "answer", Status.COMPLETED: "callback"}


def step_of(record: Record) -> str | None:
    """The deadline step a state belongs to (None for a draft and a final state)."""
    return _STEP.get(record.status)


@dataclass(frozen=True)
class Deadlines:
    """Allowances by (category, step), the calendar they are counted on, the amber threshold."""

    calendar: WorkCalendar
    allowances: Mapping[tuple[str, str], Duration]
    amber_fraction: float = 0.25

    def allowance(self, category: str | None, record: Record) -> Duration | None:
        """How long the current step may take for this category (None: no deadline)."""
        step = step_of(record)
        if step is None or category is None:
            return None
        get = self.allowances.get
        if step == "answer":
            if record.deferred and get((category, "deferred")):
                return get((category, "deferred"))
            if record.repeats and get((category, "repeat")):
                return get((category, "repeat"))
        if step == "callback":
            parts = [d for d in (get((category, "review")), get((category, "callback"))) if d]
            if len(parts) == 2 and parts[0].working == parts[1].working:
                return Duration(parts[0].amount + parts[1].amount, parts[0].working)
            return parts[-1] if parts else None
        return get((category, step))

    def can_defer(self, category: str | None) -> bool:
        return category is not None and (category, "deferred") in self.allowances

    def schedule(self, old: Record, new: Record, category: str | None, now: dt.datetime,
                 step_started_at: dt.datetime | None,
                 due_at: dt.datetime | None = None) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(step_started_at, due_at) after a move from ``old`` to ``new`` at ``now``.

        A new step, a reopening or a reactivation starts a new clock; inside a step (a log, a
        reassignment, a deferral) the clock runs on and the due time is recomputed from its
        start. A final state keeps the last due time (a report compares it with the close).
        """
        new_step = step_of(new)
        if new_step is None:
            return step_started_at, (None if new.status is Status.DRAFT else due_at)
        fresh = (new_step != step_of(old) or new.repeats != old.repeats or step_started_at is None)
        start = now if fresh else step_started_at
        assert start is not None
        allowance = self.allowance(category, new)
        return start, (self.calendar.due(start, allowance) if allowance else None)

    def colour(self, status: Status | str | None, category: str | None, record: Record,
               due_at: dt.datetime | None, step_started_at: dt.datetime | None, now: dt.datetime) -> str:
        """black (closed or withdrawn), red (overdue), amber (close to due), orange (open), grey (draft)."""
        status = Status(status or Status.DRAFT)
        if status in FINAL:
            return "black"
        if status is Status.DRAFT:
            return "grey"
        if due_at is None:
            return "orange"
        if now >= due_at:
            return "red"
        allowance = self.allowance(category, record)
        working = allowance.working if allowance else True
        if step_started_at is not None and step_started_at < due_at:
            total = self.calendar.left(step_started_at, due_at, working)
            if self.calendar.left(now, due_at, working) <= total * self.amber_fraction:
                return "amber"
        return "orange"
