"""An append-only JSON-lines file one process holds: what a journal of writes not yet in PostgreSQL needs.

Each line is written unbuffered (O_APPEND) the moment it is made, so it is in the
operating system before anything else happens and outlives a killed process; ``sync``
(run by a worker thread) makes it safe from a power loss too. At start, ``open`` takes an
exclusive lock (``<path>.lock``: one server per journal), asks the subclass for what is
still pending in the file, and rewrites the file with just that (a temporary file and a
rename, so a crash meanwhile leaves the old one). A torn last line (a crash mid-write) is
skipped; a line the subclass can no longer read goes to ``<path>.rejected`` with the
reason, never silently away. The store's op journal and the callbacks' journal are both
this file with their own lines.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


def dumps(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode()


class JournalLocked(Exception):
    """Another process holds this journal."""


class JsonlJournal(Generic[T]):
    """The file and its lock; a subclass says what its lines are (``_pending``, ``_lines``).

    Every method is synchronous and quick (called on the event loop), but :meth:`sync`.
    """

    what = "journal"  # how the log lines and errors name this journal

    def __init__(self, path: Path, fd: int, lock_fd: int) -> None:
        self.path = path
        self._fd = fd
        self._lock_fd = lock_fd
        self._dirty = False
        self.failed = False  # the last write failed (disk full…): what follows is only in memory

    @classmethod
    def open(cls, path: str | os.PathLike[str]):  # -> tuple[Self, list[T]]
        """Lock and open the journal; return it with what it still holds for PostgreSQL, in order."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(f"{p}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise JournalLocked(f"{cls.what} {p} is in use by another process") from None
        try:
            pending = cls._pending(p, cls._records(p)) if p.exists() else []
            tmp = p.with_name(p.name + ".tmp")
            with open(tmp, "wb") as f:
                f.writelines(dumps(line) for line in cls._lines(pending))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
            fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            os.close(lock_fd)
            raise
        if pending:
            log.warning(f"{cls.what.replace(' ', '_')}_replay", path=str(p), entries=len(pending))
        return cls(p, fd, lock_fd), pending

    @classmethod
    def _records(cls, p: Path) -> Iterator[Any]:
        """Each line that reads as JSON (a torn or garbled one is logged and skipped)."""
        with open(p, "rb") as f:
            lines = f.read().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                log.warning("journal_line_unreadable", journal=cls.what, path=str(p), line=number,
                            text=line[:200].decode(errors="replace"))

    @classmethod
    def _pending(cls, p: Path, records: Iterable[Any]) -> list[T]:
        """What in the file PostgreSQL may not have (reject what cannot be read: :func:`reject`)."""
        raise NotImplementedError

    @classmethod
    def _lines(cls, pending: list[T]) -> Iterable[Any]:
        """The lines of a fresh file holding ``pending``."""
        raise NotImplementedError

    def _write(self, record: Any) -> None:
        """Write a line now (to the OS: it survives our crash); fsync is :meth:`sync`."""
        try:
            os.write(self._fd, dumps(record))
            self._dirty = True
            if self.failed:
                self.failed = False
                log.info("journal_writable_again", journal=self.what, path=str(self.path))
        except OSError as exc:
            if not self.failed:
                log.error("journal_write_failed", journal=self.what, path=str(self.path), error=str(exc))
            self.failed = True

    def sync(self) -> None:
        """fsync what was written (from a worker thread)."""
        if self._dirty:
            self._dirty = False
            try:
                os.fsync(self._fd)
            except OSError as exc:
                log.error("journal_fsync_failed", journal=self.what, path=str(self.path), error=str(exc))

    def truncate(self) -> None:
        """Empty the journal: everything in it is in PostgreSQL."""
        try:
            os.ftruncate(self._fd, 0)
            self._dirty = False
        except OSError as exc:
            log.error("journal_truncate_failed", journal=self.what, path=str(self.path), error=str(exc))

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def reject(p: Path, record: Any, why: str) -> None:
    """Keep ``record`` in ``<p>.rejected`` with why, for a person to look at."""
    log.error("journal_entry_rejected", path=f"{p}.rejected", why=why, record=str(record)[:2000])
    try:
        with open(f"{p}.rejected", "ab") as f:
            f.write(dumps({"at": time.time(), "why": why, "record": record}))
    except (OSError, TypeError, ValueError) as exc:
        log.error("rejected_write_failed", error=str(exc))
