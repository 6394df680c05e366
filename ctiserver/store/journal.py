"""The local append-only journal behind ``Store.submit``: nothing submitted is lost.

Format: JSON lines. ``{"seq": n, "op": {...}}`` is written (unbuffered, O_APPEND)
the moment an op is submitted, so it survives a crash of the process. The writer
task fsyncs it off the event loop before a batch that waits (PostgreSQL away or
retrying) and at least once a second under load, so a power loss can only take
ops PostgreSQL had not committed yet: those of its last round trip, or of the
last second at most. ``{"ack": n}`` follows once PostgreSQL has committed
every op up to ``n``. When the queue is empty the file is truncated, so it only
grows while PostgreSQL is away.

At start, :meth:`Journal.open` takes an exclusive lock (``<path>.lock``; one
server per journal), reads the ops after the last ack, and rewrites the journal
with just those (atomically, via a temporary file and rename) for the writer to
apply again; replays are no-ops in the database because op ids are unique. A torn
last line (a crash mid-write) is skipped; an op that no longer parses goes to
``<path>.rejected`` with the reason, never silently away.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

import structlog

from ctiserver.errors import InvalidInput
from ctiserver.store.ops import Op, op_from_json, op_to_json

log = structlog.get_logger(__name__)


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode()


class JournalLocked(Exception):
    """Another process holds this journal."""


class Journal:
    """Append-only op journal; every method is synchronous and quick (called on the loop)."""

    def __init__(self, path: Path, fd: int, lock_fd: int) -> None:
        self.path = path
        self._fd = fd
        self._lock_fd = lock_fd
        self._dirty = False
        self.failed = False  # last write failed (disk full…): ops are then only in memory

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> tuple["Journal", list[Op]]:
        """Lock and open the journal; return it with the ops not yet acknowledged, in order."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(f"{p}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise JournalLocked(f"journal {p} is in use by another process") from None
        try:
            pending = cls._read_pending(p)
            tmp = p.with_name(p.name + ".tmp")
            with open(tmp, "wb") as f:
                for seq, op in enumerate(pending, 1):
                    f.write(_dumps({"seq": seq, "op": op_to_json(op)}))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
            fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            os.close(lock_fd)
            raise
        if pending:
            log.warning("journal_replay", path=str(p), ops=len(pending))
        return cls(p, fd, lock_fd), pending

    @staticmethod
    def _read_pending(p: Path) -> list[Op]:
        if not p.exists():
            return []
        ops: list[tuple[int, Op]] = []
        acked = 0
        with open(p, "rb") as f:
            lines = f.read().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                log.warning("journal_line_unreadable", path=str(p), line=number, text=line[:200].decode(errors="replace"))
                continue
            if isinstance(rec, dict) and isinstance(rec.get("ack"), int):
                acked = max(acked, rec["ack"])
                continue
            try:
                ops.append((int(rec["seq"]), op_from_json(rec["op"])))
            except (KeyError, TypeError, ValueError, InvalidInput) as exc:
                _reject(p, rec, f"unreadable journal entry: {exc}")
        return [op for seq, op in ops if seq > acked]

    def append(self, seq: int, op: Op) -> None:
        """Write the op now (to the OS: survives our crash); fsync happens in :meth:`sync`."""
        try:
            os.write(self._fd, _dumps({"seq": seq, "op": op_to_json(op)}))
            self._dirty = True
            if self.failed:
                self.failed = False
                log.info("journal_writable_again", path=str(self.path))
        except OSError as exc:
            if not self.failed:
                log.error("journal_write_failed", path=str(self.path), error=str(exc))
            self.failed = True

    def sync(self) -> None:
        """fsync pending appends (called from a worker thread by the writer)."""
        if self._dirty:
            self._dirty = False
            try:
                os.fsync(self._fd)
            except OSError as exc:
                log.error("journal_fsync_failed", path=str(self.path), error=str(exc))

    def ack(self, seq: int) -> None:
        """Every op up to ``seq`` is committed in PostgreSQL."""
        try:
            os.write(self._fd, _dumps({"ack": seq}))
        except OSError as exc:
            log.error("journal_write_failed", path=str(self.path), error=str(exc))

    def truncate(self) -> None:
        """Empty the journal: everything in it is committed."""
        try:
            os.ftruncate(self._fd, 0)
            self._dirty = False
        except OSError as exc:
            log.error("journal_truncate_failed", path=str(self.path), error=str(exc))

    def reject(self, op: Op, why: str) -> None:
        """Keep an op PostgreSQL refused (bad data) beside the journal, for a person to look at."""
        _reject(self.path, {"op": op_to_json(op)}, why)

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _reject(p: Path, rec: Any, why: str) -> None:
    log.error("op_rejected", path=f"{p}.rejected", why=why, record=str(rec)[:2000])
    try:
        with open(f"{p}.rejected", "ab") as f:
            f.write(_dumps({"at": time.time(), "why": why, "record": rec}))
    except (OSError, TypeError, ValueError) as exc:
        log.error("rejected_write_failed", error=str(exc))
