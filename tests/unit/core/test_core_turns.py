"""The core applies a backlog in order without holding the event loop until it is drained.

A burst of AMI events (or the backlog after a stall) is applied strictly in order, but the
tasks that send what it produced (the push sockets' writers, carrying the pops) get turns
while it works, instead of waiting for the whole backlog.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ctiserver.agents.book import AgentBook
from ctiserver.calls.tracker import CallTracker
from ctiserver.core import YIELD_EVERY, Core, Subscribers


@dataclass(frozen=True)
class Item:
    n: int


async def test_other_tasks_run_while_a_backlog_is_applied_in_order() -> None:
    applied: list[int] = []
    subscribers = Subscribers()
    subscribers.items[Item] = lambda item: applied.append(item.n)
    book = AgentBook()
    core = Core(CallTracker(book.is_agent_endpoint), book, subscribers, run=lambda coro: None)
    backlog = YIELD_EVERY * 10
    for n in range(backlog):
        core.sink(Item(n))
    seen_at: list[int] = []

    async def writer() -> None:  # stands for a socket's writer, woken by what the core published
        while len(applied) < backlog:
            seen_at.append(len(applied))
            await asyncio.sleep(0)

    task = asyncio.create_task(core.run())
    await asyncio.gather(writer(), core.drained())
    task.cancel()
    assert applied == list(range(backlog))
    assert any(0 < n < backlog for n in seen_at), seen_at
