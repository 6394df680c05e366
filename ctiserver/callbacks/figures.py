"""How a callback counts in the queue figures (docs/statistics.md, "Callbacks"): pure.

The caller who asked to be called back was offered to the queue once, when they joined it; their
original call's work order ends ``abandoned`` (they left the queue and hung up), which is not what
happened to them. With the day's callbacks (by the original call's linkedid):

- connected: the call counts **answered**, its wait running from the original join to the moment
  the caller answered the callback, to the millisecond (so a callback is inside the service level only if that whole
  wait was); its talk is the callback call's (an outbound call, counted nowhere else in the queue);
- pending or being made: the call counts **waiting** (the caller is still waiting for service);
- failed (every attempt unanswered: a manual-callback work order) or cancelled: it stays
  **abandoned** — the center did not reach the caller.

``offered == answered + abandoned + no_agent + waiting`` still holds. Per queue the callbacks are
also counted by themselves: requested, connected, waiting, failed (cancelled ones count as failed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ctiserver.callbacks import model as m
from ctiserver.callbacks.model import Callback


def empty() -> dict[str, int]:
    return {"requested": 0, "connected": 0, "waiting": 0, "failed": 0}


def with_callbacks(orders: Iterable[Any], callbacks: Iterable[Callback]) -> list[Any]:
    """The work orders, the original call of each callback counted as what became of the caller."""
    by_call = {cb.linkedid: cb for cb in callbacks if cb.linkedid}
    out = []
    for wo in orders:
        cb = by_call.get(wo.linkedid)
        if cb is None or not wo.queue:
            out.append(wo)
        elif cb.state == m.CONNECTED:
            reached = datetime.fromtimestamp(cb.updated_at, UTC)
            out.append(
                dataclasses.replace(
                    wo,
                    disposition="answered",
                    answered_at=reached,
                    wait_seconds=waited(cb),
                )
            )
        elif cb.open:
            out.append(
                dataclasses.replace(
                    wo, disposition=None, ended_at=None, answered_at=None
                )
            )
        else:
            out.append(wo)
    return out


def waited(cb: Callback) -> float:
    """A connected callback's wait, from the original join to the answer: whole milliseconds, halves up.

    Counted on the exact microseconds of the two times (as PostgreSQL counts it in
    ``ctiserver/stats/day_queries.py``), not on the difference of two epoch floats.
    """
    micros = (_instant(cb.updated_at) - _instant(cb.joined_at)) // timedelta(
        microseconds=1
    )
    return (max(0, micros) + 500) // 1000 / 1000


def _instant(ts: float) -> datetime:
    # The nearest microsecond: the time as it was stored (timestamptz keeps microseconds).
    return datetime.fromtimestamp(ts, UTC)


def callback_figures(callbacks: Iterable[Callback]) -> dict[str, dict[str, int]]:
    """Per queue: callbacks requested, connected, still waiting, failed (or cancelled)."""
    out: dict[str, dict[str, int]] = {}
    for cb in callbacks:
        f = out.setdefault(cb.queue, empty())
        f["requested"] += 1
        key = (
            "connected"
            if cb.state == m.CONNECTED
            else "waiting"
            if cb.open
            else "failed"
        )
        f[key] += 1
    return out
