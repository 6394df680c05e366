"""Whose turn it is: the pending callbacks of each queue in their line order, and one pure decision.

A callback stands in its queue at the caller's original join time. Its turn has come when

- its retry time (if any) has passed,
- no caller still waiting in the queue (queued, not being rung) joined before it — Asterisk
  serves those itself, in its own order, and they were there first,
- no earlier callback of the queue is due and still unserved (the line's order), and
- an agent of the queue is ready (not paused, not ringing, not on a call).

The server then reserves that agent. The lines are kept sorted (insert and remove by bisect), so
a decision looks at the head of the line, not at every callback: the benchmark
(``bench/callbacks.py``) times it with 10,000 pending against a scan of them all.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ctiserver.callbacks.model import Callback


@dataclass(slots=True)
class Line:
    """The pending callbacks of one queue, in line order (join time, then id)."""

    keys: list[tuple[float, str]] = field(default_factory=list)

    def add(self, cb: Callback) -> None:
        key = cb.key()
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return
        insort(self.keys, key)

    def remove(self, cb: Callback) -> None:
        key = cb.key()
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            del self.keys[i]

    def __len__(self) -> int:
        return len(self.keys)

    def position(self, cb: Callback) -> int:
        """1-based place among the queue's pending callbacks (0 when not in line)."""
        key = cb.key()
        i = bisect_left(self.keys, key)
        return i + 1 if i < len(self.keys) and self.keys[i] == key else 0


@dataclass(frozen=True, slots=True)
class Turn:
    """Reserve ``agent`` (an interface) for ``callback``."""

    callback: str
    agent: str


def first_due(
    line: Line, callbacks: dict[str, Callback], now: float
) -> Callback | None:
    """The first callback of the line whose retry time has passed (those waiting for a retry keep
    their place but do not hold up the ones behind them)."""
    for _, cb_id in line.keys:
        cb = callbacks[cb_id]
        if cb.not_before <= now:
            return cb
    return None


def decide(
    line: Line,
    callbacks: dict[str, Callback],
    earliest_waiting: float | None,
    ready_agents: Sequence[str],
    now: float,
) -> list[Turn]:
    """The turns to take now in one queue: due callbacks ahead of every waiting caller, one ready agent each."""
    turns: list[Turn] = []
    agents = iter(ready_agents)
    for _, cb_id in line.keys:
        cb = callbacks[cb_id]
        if cb.not_before > now:
            continue
        if earliest_waiting is not None and earliest_waiting < cb.joined_at:
            break  # a caller who came earlier is still waiting: their turn first, then this one
        agent = next(agents, None)
        if agent is None:
            break
        turns.append(Turn(cb.id, agent))
    return turns


def decide_by_scan(
    pending: Iterable[Callback],
    queue: str,
    earliest_waiting: float | None,
    ready_agents: Sequence[str],
    now: float,
) -> list[Turn]:
    """The same decision by scanning every pending callback (the benchmark's baseline, and a test oracle)."""
    due = sorted(
        (cb for cb in pending if cb.queue == queue and cb.not_before <= now),
        key=Callback.key,
    )
    turns: list[Turn] = []
    for cb, agent in zip(due, ready_agents):
        if earliest_waiting is not None and earliest_waiting < cb.joined_at:
            break
        turns.append(Turn(cb.id, agent))
    return turns
