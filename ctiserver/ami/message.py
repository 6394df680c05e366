"""What the AMI adapter hands to the rest of the server: plain, ordered messages.

No panoramisk type crosses this boundary. The adapter puts every event, in the
order read from the socket, into one sink as an :class:`AmiMessage`, and marks
link changes with :class:`LinkUp` / :class:`LinkDown` in the same stream so the
single consumer sees them in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI packet (event or response): headers in wire order, first value wins on lookup."""

    headers: tuple[tuple[str, str], ...]
    received_at: float = field(default_factory=time.time)
    raw: str = ""
    # Lower-cased name -> first value, built on the first lookup: an event is read a dozen
    # times on its way through the server, a scan per lookup was a tenth of its CPU.
    _index: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, items: Iterable[tuple[str, str]] | dict[str, str], received_at: float | None = None,
           raw: str = "") -> "AmiMessage":
        pairs = tuple(items.items()) if isinstance(items, dict) else tuple(items)
        return cls(pairs, time.time() if received_at is None else received_at, raw)

    def get(self, key: str, default: str | None = None) -> str | None:
        """Header value by case-insensitive name (AMI spells BridgeId/BridgeID/… inconsistently)."""
        index = self._index
        if index is None:
            index = {}
            for k, v in self.headers:
                index.setdefault(k.lower(), v)
            object.__setattr__(self, "_index", index)
        return index.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def getall(self, key: str) -> list[str]:
        """Every value of a repeated header (ChanVariable, Variable, …)."""
        lk = key.lower()
        return [v for k, v in self.headers if k.lower() == lk]

    @property
    def name(self) -> str:
        """The event name ('' for a response)."""
        return self.get("Event") or ""

    @property
    def timestamp(self) -> float:
        """When Asterisk produced it: its ``Timestamp`` header (manager.conf timestampevents=yes), else arrival."""
        ts = self.get("Timestamp")
        if ts:
            try:
                return float(ts)
            except ValueError:
                pass
        return self.received_at

    def as_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in self.headers:
            out.setdefault(k, v)
        return out


@dataclass(frozen=True, slots=True)
class LinkUp:
    """Logged in to Asterisk (first time or after a reconnect): state must be rebuilt."""

    at: float = field(default_factory=time.time)
    reconnect: bool = False


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The AMI link is gone (closed, reset, or the pong never came)."""

    reason: str = ""
    at: float = field(default_factory=time.time)


StreamItem = AmiMessage | LinkUp | LinkDown
