"""Callbacks in PostgreSQL (migration 008): every change written, retried while PostgreSQL is away.

A change replaces the callback's whole row (an upsert of its latest state), so writes coalesce:
while PostgreSQL is away only the newest state of each callback waits in memory, and a write
that is repeated is harmless. Each change is also in the callbacks' journal (journal.py) from the
moment it is made until PostgreSQL has it, so a server killed while PostgreSQL is away writes it
when it starts again. ``load_open`` reads back what is still pending at start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import structlog

from ctiserver.callbacks.journal import CallbackJournal
from ctiserver.callbacks.model import OPEN, Callback

log = structlog.get_logger(__name__)

RETRY_MIN, RETRY_MAX = 0.2, 5.0

_COLUMNS = (
    "id",
    "queue",
    "number",
    "joined_at",
    "requested_at",
    "linkedid",
    "caller_number",
    "customer_no",
    "position",
    "state",
    "attempts",
    "not_before",
    "agent_id",
    "call_linkedid",
    "outcome",
    "updated_at",
)
_TIMES = frozenset({"joined_at", "requested_at", "not_before", "updated_at"})
_UPSERT = (
    f"INSERT INTO callbacks ({', '.join(_COLUMNS)}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))}) "
    f"ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "id")
    + " WHERE callbacks.updated_at <= EXCLUDED.updated_at"
)


def _ts(value: float) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, dt.UTC) if value else None


def _row(cb: Callback) -> list[Any]:
    return [_ts(getattr(cb, c)) if c in _TIMES else getattr(cb, c) for c in _COLUMNS]


def _callback(row: Any) -> Callback:
    values = {c: row[c] for c in _COLUMNS}
    for c in _TIMES:
        values[c] = values[c].timestamp() if values[c] is not None else 0.0
    return Callback(**values)


class CallbackRepo:
    """Reads and writes callbacks through the store's pool; ``save`` never blocks the caller."""

    def __init__(
        self,
        store: Any,
        journal: CallbackJournal | None = None,
        replay: list[Callback] | None = None,
    ) -> None:
        self.store = store
        self.journal = (
            journal  # None: changes wait in memory only while PostgreSQL is away
        )
        self._replay = list(
            replay or ()
        )  # read back from the journal, written by load_open
        self._dirty: dict[str, Callback] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None
        self.written = 0

    @property
    def pending(self) -> int:
        """Changes not in PostgreSQL yet."""
        return len(self._dirty)

    async def load_open(self) -> list[Callback]:
        """The callbacks still pending or ringing, oldest first, with the journal's changes over PostgreSQL's."""
        replay, self._replay = self._replay, []
        for cb in (
            replay
        ):  # already in the journal: queued for the writer, not appended again
            self._queue(cb)
        if replay:
            await self.flush()
        rows = await self.store.run(
            lambda c: c.fetch(
                f"SELECT {', '.join(_COLUMNS)} FROM callbacks WHERE state = ANY($1::text[]) ORDER BY joined_at, id",
                list(OPEN),
            )
        )
        found = {cb.id: cb for cb in map(_callback, rows)}
        for cb in self._dirty.values():  # not written yet: the newer state
            if cb.id not in found or found[cb.id].updated_at <= cb.updated_at:
                found[cb.id] = cb
        return sorted((cb for cb in found.values() if cb.open), key=Callback.key)

    async def between(self, start: dt.datetime, end: dt.datetime) -> list[Callback]:
        """Callbacks requested in [start, end) (the statistics)."""
        rows = await self.store.run(
            lambda c: c.fetch(
                f"SELECT {', '.join(_COLUMNS)} FROM callbacks WHERE requested_at >= $1 AND requested_at < $2 "
                "ORDER BY requested_at",
                start,
                end,
            )
        )
        return [_callback(r) for r in rows]

    def save(self, cb: Callback) -> None:
        """Write ``cb``'s state soon (its newest state wins over one not written yet)."""
        if self.journal is not None:
            self.journal.append(cb)
        self._queue(cb)

    def _queue(self, cb: Callback) -> None:
        self._dirty[cb.id] = cb
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="callback-writer"
            )

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every change is written (False when PostgreSQL stayed away that long)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        delay = RETRY_MIN
        while self._dirty:
            self._wake.clear()
            batch = list(self._dirty.values())
            rows = [_row(cb) for cb in batch]
            try:
                await self.store.run(lambda c, rows=rows: c.executemany(_UPSERT, rows))
            except Exception as exc:  # noqa: BLE001 - PostgreSQL away (or refusing): keep them, try again
                log.warning(
                    "callback_write_failed",
                    pending=len(self._dirty),
                    error=str(exc) or type(exc).__name__,
                )
                if self.journal is not None:  # on disk before a wait of unknown length
                    await asyncio.to_thread(self.journal.sync)
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_MIN
            self.written += len(batch)
            for cb in batch:
                if self._dirty.get(cb.id) is cb:
                    del self._dirty[cb.id]
        if self.journal is not None:  # everything in it is in PostgreSQL
            self.journal.truncate()
        self._idle.set()

    async def close(self, timeout: float = 2.0) -> None:
        """Write what can be within ``timeout``; what cannot stays in the journal for the next start."""
        await self.flush(timeout)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._dirty:
            log.warning(
                "callbacks_closed_with_pending",
                pending=len(self._dirty),
                journal=self.journal is not None,
            )
        if self.journal is not None:
            self.journal.close()
            self.journal = None
