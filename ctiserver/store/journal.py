"""The local append-only journal behind ``Store.submit``: nothing submitted is lost.

Format: JSON lines. ``{"seq": n, "op": {...}}`` is written (unbuffered, O_APPEND)
the moment an op is submitted, so it survives a crash of the process. The writer
task fsyncs it off the event loop before a batch that waits (PostgreSQL away or
retrying) and at least once a second under load, so a power loss can only take
ops PostgreSQL had not committed yet: those of its last round trip, or of the
last second at most. ``{"ack": n}`` follows once PostgreSQL has committed
every op up to ``n``. When the queue is empty the file is truncated, so it only
grows while PostgreSQL is away.

At start, :meth:`Journal.open` (the file, its lock and its rewrite:
``ctiserver/store/jsonl.py``) keeps the ops after the last ack for the writer to
apply again; replays are no-ops in the database because op ids are unique. An op
that no longer parses goes to ``<path>.rejected`` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ctiserver.errors import InvalidInput
from ctiserver.store.jsonl import JournalLocked, JsonlJournal, reject
from ctiserver.store.ops import Op, op_from_json, op_to_json

__all__ = ["Journal", "JournalLocked"]


class Journal(JsonlJournal[Op]):
    """Append-only op journal: ``{"seq": n, "op": {...}}`` lines and ``{"ack": n}`` marks."""

    what = "journal"

    @classmethod
    def _pending(cls, p: Path, records: Iterable[Any]) -> list[Op]:
        ops: list[tuple[int, Op]] = []
        acked = 0
        for rec in records:
            if isinstance(rec, dict) and isinstance(rec.get("ack"), int):
                acked = max(acked, rec["ack"])
                continue
            try:
                ops.append((int(rec["seq"]), op_from_json(rec["op"])))
            except (KeyError, TypeError, ValueError, InvalidInput) as exc:
                reject(p, rec, f"unreadable journal entry: {exc}")
        return [op for seq, op in ops if seq > acked]

    @classmethod
    def _lines(cls, pending: list[Op]) -> Iterable[Any]:
        return ({"seq": seq, "op": op_to_json(op)} for seq, op in enumerate(pending, 1))

    def append(self, seq: int, op: Op) -> None:
        """Write the op now (to the OS: survives our crash); fsync happens in :meth:`sync`."""
        self._write({"seq": seq, "op": op_to_json(op)})

    def ack(self, seq: int) -> None:
        """Every op up to ``seq`` is committed in PostgreSQL."""
        self._write({"ack": seq})

    def reject(self, op: Op, why: str) -> None:
        """Keep an op PostgreSQL refused (bad data) beside the journal, for a person to look at."""
        reject(self.path, {"op": op_to_json(op)}, why)
