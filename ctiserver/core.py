"""The core: one ordered consumer of the AMI stream, and the dispatch of what each event means.

Every AMI item enters through :meth:`Core.sink` (synchronous, called by the AMI adapter in
wire order) and is applied by one task, strictly in order. After each login the state is
rebuilt from ``QueueStatus`` and ``CoreShowChannels`` before any later event is applied.

The core owns the two pieces of live state (the call tracker and the agent book) and hands
what changed to the capabilities that subscribed, in a fixed order:

- ``on_ami_event(e)``: every typed AMI event (recordings, supervision);
- ``on_call_event(ce)``: every call event the tracker derives (work orders, customer lookup,
  follow-up actions, panel pushes, ...), after the agent book has applied it;
- ``on_agent_change(ch)``: every change of an agent's shown state (log, pushes, wrap-up).

Capabilities never receive the core; the core never knows what they do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

import structlog

from ctiserver.agents.book import AgentBook, AgentChanged
from ctiserver.ami.errors import AmiError
from ctiserver.ami.events import MemberState, translate
from ctiserver.ami.message import AmiMessage, LinkDown, LinkUp, StreamItem
from ctiserver.calls import model as cm
from ctiserver.calls.tracker import CallTracker

log = structlog.get_logger(__name__)


class AmiEventListener(Protocol):
    def on_ami_event(self, e: object) -> None: ...


class CallEventListener(Protocol):
    def on_call_event(self, ce: object) -> None: ...


class AgentChangeListener(Protocol):
    def on_agent_change(self, ch: AgentChanged) -> None: ...


class ListSender(Protocol):
    async def send(self, action: dict, timeout: float | None = None) -> Any: ...


@dataclass
class Subscribers:
    """Who hears what, in the order given."""

    names: list[Callable[[str], None]] = field(default_factory=list)  # every AMI event's name (metrics)
    ami: list[AmiEventListener] = field(default_factory=list)
    # a capability's own channels (a supervisor's spy channel): not calls, the tracker never sees them
    owners: list[Callable[[object], bool]] = field(default_factory=list)
    calls: list[CallEventListener] = field(default_factory=list)
    agents: list[AgentChangeListener] = field(default_factory=list)
    # confirmed sign-in changes (interface), and internal stream items by type
    members: list[Callable[[str], None]] = field(default_factory=list)
    items: dict[type, Callable[[Any], None]] = field(default_factory=dict)
    after_resync: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    link: list[Callable[[bool], None]] = field(default_factory=list)


YIELD_EVERY = 32  # items applied in a row before the other tasks get a turn


class Core:
    """Applies the AMI stream in order to the call tracker and the agent book, and dispatches."""

    def __init__(self, tracker: CallTracker, book: AgentBook, subscribers: Subscribers,
                 run: Callable[[Any], None]) -> None:
        self.tracker = tracker
        self.book = book
        self.subscribers = subscribers
        self.run_task = run  # runs a follow-up coroutine as a tracked task
        self.ami: ListSender | None = None
        self.ami_up = False
        self.link_ready = asyncio.Event()  # set while the AMI link is up and resynced
        self.events_handled = 0
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self.followups: Callable[[], list[asyncio.Task]] = lambda: []

    # -- the stream ----------------------------------------------------------------

    def sink(self, item: StreamItem | object) -> None:
        """Called by the AMI adapter for every item, in wire order (and for internal items); never blocks."""
        self._idle.clear()
        self._queue.put_nowait(item)

    async def run(self) -> None:
        """The one consumer: applies items strictly in order; a failing item is logged and skipped."""
        run = 0
        while True:
            # A get from a non-empty queue does not suspend: behind a backlog (a burst, a stall)
            # this loop would hold the event loop until it is drained, and the pops it has just
            # queued would wait for their sockets' writers. It lets them run now and then.
            run += 1
            if run >= YIELD_EVERY and not self._queue.empty():
                run = 0
                await asyncio.sleep(0)
            item = await self._queue.get()
            try:
                if isinstance(item, AmiMessage):
                    self._handle(item)
                elif isinstance(item, LinkUp):
                    await self._resync(item)
                elif isinstance(item, LinkDown):
                    self._link(False, reason=item.reason)
                elif (handler := self.subscribers.items.get(type(item))) is not None:
                    handler(item)
            except Exception:  # one bad event must not stop the stream
                raw = (item.raw or repr(item.headers)) if isinstance(item, AmiMessage) else repr(item)
                log.exception("event_failed", raw=raw[:2000])
            finally:
                self.events_handled += 1
                if self._queue.empty():
                    self._idle.set()

    async def drained(self) -> None:
        """Wait until every item given to the sink so far has been applied (tests, benchmarks)."""
        await self._idle.wait()

    async def settled(self) -> None:
        """Everything received is applied and every follow-up (restores, writes, lookups) is done."""
        while True:
            await self.drained()
            pending = [t for t in self.followups() if not t.done()]
            if not pending and self._queue.empty():
                return
            await asyncio.gather(*pending, return_exceptions=True)

    # -- dispatch ------------------------------------------------------------------

    def _handle(self, msg: AmiMessage) -> None:
        for named in self.subscribers.names:
            named(msg.name)
        e = translate(msg)
        if e is None:
            return
        for listener in self.subscribers.ami:
            listener.on_ami_event(e)
        if any(owns(e) for owns in self.subscribers.owners):
            return
        if isinstance(e, MemberState):
            if e.kind != "list":  # list items belong to whoever asked for them
                self.agent_changes(self.book.apply_member(e))
                if e.kind in ("added", "removed", "pause"):
                    for changed in self.subscribers.members:
                        changed(e.interface)
            return
        # bind/reset rather than the bound_contextvars context manager: a quarter of its cost, per event
        tokens = structlog.contextvars.bind_contextvars(linkedid=getattr(e, "linkedid", "") or None)
        try:
            for ce in self.tracker.apply(e):
                self.call_event(ce)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    def call_event(self, ce: cm.CallEvent) -> None:
        """One call event: the agent book first (an agent's state follows its call), then every listener."""
        self.agent_changes(self.book.apply_call(ce))
        for listener in self.subscribers.calls:
            listener.on_call_event(ce)

    def agent_changes(self, changes: list[AgentChanged]) -> None:
        for ch in changes:
            for listener in self.subscribers.agents:
                listener.on_agent_change(ch)

    # -- link and resync -------------------------------------------------------------

    async def _resync(self, up: LinkUp) -> None:
        assert self.ami is not None
        try:
            status = await self.ami.send({"Action": "QueueStatus"})
            channels = await self.ami.send({"Action": "CoreShowChannels"})
        except AmiError as exc:
            log.warning("resync_failed", error=str(exc))
            return
        now = up.at
        members = [e for m in status.events if isinstance(e := translate(m), MemberState)]
        entries = [e for m in status.events if m.name == "QueueEntry" and (e := translate(m)) is not None]
        snaps = [e for m in channels.events if m.name == "CoreShowChannel" and (e := translate(m)) is not None
                 and not any(owns(e) for owns in self.subscribers.owners)]
        for ce in self.tracker.resync(snaps, entries, now):
            self.call_event(ce)
        self.agent_changes(self.book.resync_members(members, now))
        for after in self.subscribers.after_resync:
            self.run_task(after())
        self._link(True)
        log.info("resynced", reconnect=up.reconnect, members=len(members), channels=len(snaps),
                 calls=len(self.tracker.calls))

    def _link(self, up: bool, reason: str = "") -> None:
        self.ami_up = up
        if up:
            self.link_ready.set()
        else:
            self.link_ready.clear()
            log.warning("ami_link_down", reason=reason)
        for listener in self.subscribers.link:
            listener(up)

