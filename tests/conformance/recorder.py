"""A bare AMI client for the conformance tests: plain asyncio socket reads, no project code.

It records every message the simulator sends (as :class:`Headers`), sends actions verbatim
(the recorded ones, by ActionID) and lets a test wait for a message with a timeout.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from tests.conformance.trace import Headers, messages, parse_trace

WAIT = 10.0  # real seconds; every wait in these tests is for an event, bounded by this


class Recorder:
    """One AMI session recording everything it receives."""

    def __init__(self, trace_path=None):
        self.received: list[Headers] = []
        self.greeting = b""
        self._changed = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self.closed = asyncio.Event()
        self.actions: dict[str, Headers] = {}
        if trace_path is not None:
            for _, h in messages(parse_trace(trace_path), ">>"):
                if h.get("ActionID"):
                    self.actions[h.get("ActionID")] = h

    async def connect(self, port: int) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", port)
        self.greeting = await asyncio.wait_for(self._reader.readline(), WAIT)
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        block: list[tuple[str, str]] = []
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                text = line.decode("utf-8").rstrip("\r\n")
                if text:
                    k, _, v = text.partition(":")
                    block.append((k.strip(), v.strip()))
                    continue
                if block:
                    self.received.append(Headers(block))
                    block = []
                    self._changed.set()
                    self._changed = asyncio.Event()
        finally:
            self.closed.set()
            self._changed.set()

    def send(self, fields: list[tuple[str, str]]) -> None:
        assert self._writer is not None
        self._writer.write(("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode("utf-8"))

    def send_recorded(self, action_id: str) -> None:
        """Send the recorded action with this ActionID, exactly as it was sent."""
        self.send(list(self.actions[action_id]))

    async def wait_for(self, pred: Callable[[Headers], bool], count: int = 1, timeout: float = WAIT) -> Headers:
        """The ``count``-th received message matching ``pred`` (waits for it)."""
        async def _wait() -> Headers:
            while True:
                hits = [h for h in self.received if pred(h)]
                if len(hits) >= count:
                    return hits[count - 1]
                if self.closed.is_set():
                    raise AssertionError("AMI connection closed while waiting")
                await self._changed.wait()
        return await asyncio.wait_for(_wait(), timeout)

    async def reply(self, action_id: str, timeout: float = WAIT) -> Headers:
        """Wait for the reply (Response, or list Complete) of ``action_id``."""
        return await self.wait_for(lambda h: h.get("ActionID") == action_id and (
            (h.get("Response") is not None and h.get("EventList") is None)
            or (h.get("EventList") or "").lower() == "complete"), timeout=timeout)

    async def act(self, action_id: str) -> Headers:
        """Send a recorded action and wait for its complete reply."""
        self.send_recorded(action_id)
        return await self.reply(action_id)

    async def event(self, name: str, count: int = 1, **fields: str) -> Headers:
        """Wait for the ``count``-th event ``name`` whose fields equal ``fields``."""
        return await self.wait_for(lambda h: h.get("Event") == name and all(
            h.get(k) == v for k, v in fields.items()), count)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=WAIT)
