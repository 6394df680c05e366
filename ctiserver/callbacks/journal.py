"""The callbacks' own append-only journal: a change PostgreSQL has not taken survives a crash.

The same file as the store's write journal (``ctiserver/store/jsonl.py``: locked, unbuffered
appends, rewritten at start), with the callbacks' writes, which are upserts of a callback's whole
latest state rather than store ops: each change is one JSON line ``{"cb": {...}}`` written the
moment it is made, so it outlives a killed process. The
repo's writer fsyncs it off the event loop before it waits for PostgreSQL to come back (a power
loss can then only take what was made during one round trip), and truncates it once every
change is committed, so the file only grows while PostgreSQL is away.

At start, :meth:`CallbackJournal.open` keeps the newest state of each callback in it for the
writer to write again. Writing one again is harmless: the upsert keeps the newer of two states
(``updated_at``). A line that no longer reads as a callback is kept in ``<path>.rejected`` with
the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from ctiserver.callbacks.model import Callback
from ctiserver.store.jsonl import JournalLocked, JsonlJournal, reject

__all__ = ["CallbackJournal", "JournalLocked", "journal_path_for"]

_FIELDS = frozenset(f.name for f in fields(Callback))


def journal_path_for(store_journal: str) -> str:
    """Where the callbacks' journal lives beside the store's (``journal.jsonl`` -> ``journal.callbacks.jsonl``);
    '' (no store journal configured) gives '' (changes then wait in memory only)."""
    if not store_journal:
        return ""
    p = Path(store_journal)
    return str(p.with_name(f"{p.stem}.callbacks.jsonl"))


def _callback(data: Any) -> Callback:
    if not isinstance(data, dict) or set(data) - _FIELDS:
        raise ValueError(f"not a callback: {str(data)[:200]}")
    return Callback(**data)


class CallbackJournal(JsonlJournal[Callback]):
    """Append-only journal of callback states; the writer runs :meth:`sync` in a worker thread."""

    what = "callback journal"

    @classmethod
    def _pending(cls, p: Path, records: Iterable[Any]) -> list[Callback]:
        """The newest state of each callback in the file (by ``updated_at``; a later line wins a tie)."""
        newest: dict[str, Callback] = {}
        for rec in records:
            try:
                cb = _callback(rec.get("cb") if isinstance(rec, dict) else None)
            except (TypeError, ValueError) as exc:
                reject(p, rec, f"unreadable callback: {exc}")
                continue
            old = newest.get(cb.id)
            if old is None or cb.updated_at >= old.updated_at:
                newest[cb.id] = cb
        return list(newest.values())

    @classmethod
    def _lines(cls, pending: list[Callback]) -> Iterable[Any]:
        return ({"cb": cb.to_json()} for cb in pending)

    def append(self, cb: Callback) -> None:
        """Write the callback's state now (to the OS: it survives our crash); fsync is :meth:`sync`."""
        self._write({"cb": cb.to_json()})
