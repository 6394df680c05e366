"""The one ordered writer: applies submitted ops to PostgreSQL in order, retrying through outages.

Ops wait in memory (and in the journal) until committed. A batch of up to
``BATCH`` ops is one transaction. It is first applied set-wise (``apply_ops``: a few
statements for the whole batch); if that fails for anything but an outage, the
transaction is rolled back and the batch is applied again op by op, each on a
savepoint, so an op PostgreSQL refuses for its data (class 22/23) is set aside in
``<journal>.rejected`` and the others still land. While PostgreSQL is unreachable the batch is retried with
capped exponential backoff and jitter, the queue is kept, and ``healthy`` turns
False (the core shows it on every panel). While idle, a ``SELECT 1`` every
``probe_interval`` seconds keeps ``healthy`` true to the database's state.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from itertools import islice
from typing import Callable

import asyncpg
import structlog

from ctiserver.store.apply import apply_op, apply_ops
from ctiserver.store.errors import is_data_error, is_outage, reason
from ctiserver.store.journal import Journal
from ctiserver.store.ops import OP_TYPES, Op

log = structlog.get_logger(__name__)

BATCH = 200
SYNC_INTERVAL = 1.0  # seconds: the journal is fsynced at least this often while ops wait
# seconds: under steady load a batch starts at most this long after the previous one, so
# ops gather into fewer transactions (a BEGIN and a COMMIT round trip each); an op arriving
# after a quiet spell is written at once
LINGER = 0.03
MAX_ATTEMPTS = 5  # an op failing this often for a reason that is neither an outage nor its data is set aside


class _DataRefused(Exception):
    """A batch applied set-wise failed for something else than an outage: redo it op by op."""


class _OpFailed(Exception):
    def __init__(self, op: Op, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.op = op
        self.exc = exc


class Writer:
    """Queue + task; ``submit`` is synchronous and never blocks."""

    def __init__(self, pool: asyncpg.Pool, journal: Journal | None, *, retry_min: float = 0.1,
                 retry_max: float = 5.0, probe_interval: float = 5.0,
                 on_health: Callable[[bool], None] | None = None) -> None:
        self._pool = pool
        self._journal = journal
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.probe_interval = probe_interval
        self._on_health = on_health
        self._pending: deque[tuple[int, Op]] = deque()
        self._seq = 0
        self._done = 0  # every op with seq <= _done is committed (or set aside)
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task | None = None
        self._failures: dict[str, int] = {}
        self.healthy = True
        self.on_batch: Callable[[int, float], None] | None = None  # (ops, seconds) of each committed batch
        self.applied = 0
        self.rejected = 0
        self._synced_at = time.monotonic()
        self._retrying = False
        self._batch_at = 0.0  # monotonic time the last batch was committed

    def _must_sync(self) -> bool:
        # Every op is in the journal (in the OS: safe from our crash) from its submit on. An
        # fsync makes it safe from a power loss too; while PostgreSQL commits at once that only
        # matters for the milliseconds until its own commit, so it is paid when a batch waits:
        # PostgreSQL away or retrying, or the last fsync a second old.
        return (not self.healthy or bool(self._failures) or self._retrying
                or time.monotonic() - self._synced_at >= SYNC_INTERVAL)

    @property
    def pending(self) -> int:
        """Ops submitted but not yet committed."""
        return len(self._pending)

    @property
    def started(self) -> bool:
        return self._task is not None

    def preload(self, ops: list[Op]) -> None:
        """Queue ops read back from the journal (already in it: not written again)."""
        for op in ops:
            self._seq += 1
            self._pending.append((self._seq, op))
        self._wake.set()

    def submit(self, op: Op) -> int:
        """Journal and queue ``op``; return its sequence number."""
        if not isinstance(op, OP_TYPES):
            raise TypeError(f"submit takes a WorkOrderOp, AgentStateOp or SigninOp, not {type(op).__name__}")
        self._seq += 1
        if self._journal is not None:
            self._journal.append(self._seq, op)
        self._pending.append((self._seq, op))
        self._wake.set()
        return self._seq

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="store-writer")

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every op submitted so far is committed; TimeoutError after ``timeout``."""
        target = self._seq
        async with asyncio.timeout(timeout):
            async with self._progress:
                await self._progress.wait_for(lambda: self._done >= target)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    # -- the task ------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.retry_min
        while True:
            if not self._pending:
                self._wake.clear()
                try:
                    async with asyncio.timeout(self.probe_interval):
                        await self._wake.wait()
                except TimeoutError:
                    await self._probe()
                continue
            since = time.monotonic() - self._batch_at
            if since < LINGER and len(self._pending) < BATCH:
                await asyncio.sleep(LINGER - since)
            batch = list(islice(self._pending, BATCH))
            if self._journal is not None and self._must_sync():
                await asyncio.to_thread(self._journal.sync)
                self._synced_at = time.monotonic()
            started = time.perf_counter()
            try:
                rejected = await self._apply(batch)
            except Exception as exc:  # noqa: BLE001 - every failure is retried, none is lost
                self._failed(exc)
                self._retrying = True
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.retry_max)
                continue
            delay = self.retry_min
            self._retrying = False
            self._batch_at = time.monotonic()
            if self.on_batch is not None:
                self.on_batch(len(batch), time.perf_counter() - started)
            self._set_health(True)
            for _ in batch:
                self._pending.popleft()
            for op, why in rejected:
                self.rejected += 1
                self._failures.pop(op.op_id, None)
                if self._journal is not None:
                    self._journal.reject(op, why)
                else:
                    log.error("op_rejected", why=why, op_id=op.op_id)
            self.applied += len(batch) - len(rejected)
            self._done = batch[-1][0]
            if self._journal is not None:
                if self._pending:
                    self._journal.ack(self._done)
                else:
                    self._journal.truncate()
            async with self._progress:
                self._progress.notify_all()

    async def _apply(self, batch: list[tuple[int, Op]]) -> list[tuple[Op, str]]:
        async with self._pool.acquire() as conn:
            if not any(self._failures.get(op.op_id, 0) for _, op in batch):
                try:
                    return await self._apply_plain(conn, batch)
                except _DataRefused:
                    pass  # rolled back: apply the batch again, each op on its own savepoint
            return await self._apply_guarded(conn, batch)

    async def _apply_plain(self, conn: asyncpg.Connection, batch: list[tuple[int, Op]]) -> list[tuple[Op, str]]:
        # The common case, every op good: one transaction, no savepoints, the ops set-wise (a
        # round trip per op, and a savepoint's two, were most of the writer's time).
        try:
            async with conn.transaction():
                await apply_ops(conn, [op for _, op in batch])
        except Exception as exc:
            if is_outage(exc):
                raise
            raise _DataRefused from exc  # find the op to blame, one by one
        return []

    async def _apply_guarded(self, conn: asyncpg.Connection, batch: list[tuple[int, Op]]) -> list[tuple[Op, str]]:
        rejected: list[tuple[Op, str]] = []
        async with conn.transaction():
            for _, op in batch:
                if self._failures.get(op.op_id, 0) >= MAX_ATTEMPTS:
                    rejected.append((op, f"failed {MAX_ATTEMPTS} times"))
                    continue
                try:
                    async with conn.transaction():  # a savepoint: a refused op leaves the others
                        await apply_op(conn, op)
                except Exception as exc:
                    if is_data_error(exc):
                        rejected.append((op, f"{type(exc).__name__}: {exc}"))
                        continue
                    if is_outage(exc):
                        raise
                    raise _OpFailed(op, exc) from exc
        return rejected

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, _OpFailed):
            count = self._failures[exc.op.op_id] = self._failures.get(exc.op.op_id, 0) + 1
            if is_outage(exc.exc):
                self._set_health(False, exc.exc)
            else:
                log.error("op_failed", op_id=exc.op.op_id, attempt=count, error=f"{type(exc.exc).__name__}: {exc.exc}")
            return
        if is_outage(exc):
            self._set_health(False, exc)
        else:
            log.exception("writer_batch_failed")

    async def _probe(self) -> None:
        try:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception as exc:  # noqa: BLE001
            if is_outage(exc):
                self._set_health(False, exc)
            else:
                log.warning("db_probe_failed", error=str(exc))
            return
        self._set_health(True)

    def _set_health(self, ok: bool, exc: BaseException | None = None) -> None:
        if ok == self.healthy:
            return
        self.healthy = ok
        if ok:
            log.info("db_up", pending=len(self._pending))
        else:
            log.warning("db_down", error=reason(exc) if exc else None, pending=len(self._pending))
        if self._on_health is not None:
            try:
                self._on_health(ok)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the writer
                log.exception("on_health_failed")
