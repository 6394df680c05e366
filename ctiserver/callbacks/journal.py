"""The callbacks' own append-only journal: a change PostgreSQL has not taken survives a crash.

Modelled on the store's write journal (``ctiserver/store/journal.py``), for the callbacks'
writes, which are upserts of a callback's whole latest state rather than store ops: each change
is one JSON line ``{"cb": {...}}`` written (unbuffered, O_APPEND) the moment it is made, so it
is in the operating system before anything else happens and outlives a killed process. The
repo's writer fsyncs it off the event loop before it waits for PostgreSQL to come back (a power
loss can then only take what was made during one round trip), and truncates it once every
change is committed, so the file only grows while PostgreSQL is away.

At start, :meth:`CallbackJournal.open` takes an exclusive lock (``<path>.lock``, one server per
journal), reads the newest state of each callback in it and rewrites the file with just those
(atomically: a temporary file and a rename) for the writer to write again. Writing one again is
harmless: the upsert keeps the newer of two states (``updated_at``). A torn last line (a crash
mid-write) is skipped; a line that no longer reads as a callback is kept in ``<path>.rejected``
with the reason.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import structlog

from ctiserver.callbacks.model import Callback

log = structlog.get_logger(__name__)

_FIELDS = frozenset(f.name for f in fields(Callback))


class JournalLocked(Exception):
    """Another process holds this journal."""


def journal_path_for(store_journal: str) -> str:
    """Where the callbacks' journal lives beside the store's (``journal.jsonl`` -> ``journal.callbacks.jsonl``);
    '' (no store journal configured) gives '' (changes then wait in memory only)."""
    if not store_journal:
        return ""
    p = Path(store_journal)
    return str(p.with_name(f"{p.stem}.callbacks.jsonl"))


def _dumps(obj: Any) -> bytes:
    return (
        json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        + "\n"
    ).encode()


def _callback(data: Any) -> Callback:
    if not isinstance(data, dict) or set(data) - _FIELDS:
        raise ValueError(f"not a callback: {str(data)[:200]}")
    return Callback(**data)


class CallbackJournal:
    """Append-only journal of callback states; every method is synchronous and quick (called on the loop),
    but :meth:`sync`, which the writer runs in a worker thread."""

    def __init__(self, path: Path, fd: int, lock_fd: int) -> None:
        self.path = path
        self._fd = fd
        self._lock_fd = lock_fd
        self._dirty = False
        self.failed = (
            False  # the last write failed (disk full…): changes are then only in memory
        )

    @classmethod
    def open(
        cls, path: str | os.PathLike[str]
    ) -> tuple[CallbackJournal, list[Callback]]:
        """Lock and open the journal; return it with the callbacks' states PostgreSQL may not have."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(f"{p}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise JournalLocked(
                f"callback journal {p} is in use by another process"
            ) from None
        try:
            pending = cls._read(p)
            tmp = p.with_name(p.name + ".tmp")
            with open(tmp, "wb") as f:
                f.writelines(_dumps({"cb": cb.to_json()}) for cb in pending)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
            fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            os.close(lock_fd)
            raise
        if pending:
            log.warning("callback_journal_replay", path=str(p), callbacks=len(pending))
        return cls(p, fd, lock_fd), pending

    @staticmethod
    def _read(p: Path) -> list[Callback]:
        """The newest state of each callback in the file (by ``updated_at``; a later line wins a tie)."""
        if not p.exists():
            return []
        newest: dict[str, Callback] = {}
        with open(p, "rb") as f:
            lines = f.read().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                log.warning(
                    "callback_journal_line_unreadable", path=str(p), line=number
                )
                continue
            try:
                cb = _callback(rec.get("cb") if isinstance(rec, dict) else None)
            except (TypeError, ValueError) as exc:
                _reject(p, rec, f"unreadable callback: {exc}")
                continue
            old = newest.get(cb.id)
            if old is None or cb.updated_at >= old.updated_at:
                newest[cb.id] = cb
        return list(newest.values())

    def append(self, cb: Callback) -> None:
        """Write the callback's state now (to the OS: it survives our crash); fsync is :meth:`sync`."""
        try:
            os.write(self._fd, _dumps({"cb": cb.to_json()}))
            self._dirty = True
            if self.failed:
                self.failed = False
                log.info("callback_journal_writable_again", path=str(self.path))
        except OSError as exc:
            if not self.failed:
                log.error(
                    "callback_journal_write_failed", path=str(self.path), error=str(exc)
                )
            self.failed = True

    def sync(self) -> None:
        """fsync what was appended (from a worker thread)."""
        if self._dirty:
            self._dirty = False
            try:
                os.fsync(self._fd)
            except OSError as exc:
                log.error(
                    "callback_journal_fsync_failed", path=str(self.path), error=str(exc)
                )

    def truncate(self) -> None:
        """Empty the journal: every change in it is in PostgreSQL."""
        try:
            os.ftruncate(self._fd, 0)
            self._dirty = False
        except OSError as exc:
            log.error(
                "callback_journal_truncate_failed", path=str(self.path), error=str(exc)
            )

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _reject(p: Path, rec: Any, why: str) -> None:
    log.error(
        "callback_journal_rejected",
        path=f"{p}.rejected",
        why=why,
        record=str(rec)[:2000],
    )
    try:
        with open(f"{p}.rejected", "ab") as f:
            f.write(_dumps({"at": time.time(), "why": why, "record": rec}))
    except (OSError, TypeError, ValueError) as exc:
        log.error("callback_journal_rejected_write_failed", error=str(exc))
