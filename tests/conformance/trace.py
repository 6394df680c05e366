"""Parser for the recorded AMI traces in ../shared/ami-traces.

A trace is raw AMI traffic: ``# t=SECONDS <<`` precedes bytes Asterisk sent, ``# t=SECONDS >>``
bytes sent to it, ``# t=SECONDS -- note`` is a driver annotation (not AMI data). CRLF matters,
so files are read as bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support.traces import TRACES  # noqa: E402 - one place decides where the traces are
_MARK = re.compile(rb"^# t=([0-9.]+) (<<|>>|--)(.*)$")


@dataclass(frozen=True)
class TraceChunk:
    """Bytes of one direction at one time (``--`` chunks hold the note text)."""

    t: float
    direction: str  # '<<' from Asterisk, '>>' to Asterisk, '--' annotation
    data: bytes


class Headers(list):
    """Ordered (key, value) pairs of one AMI message, with case-insensitive ``get``."""

    def get(self, key: str, default: str | None = None) -> str | None:
        k = key.lower()
        for name, value in self:
            if name.lower() == k:
                return value
        return default

    @property
    def direction(self) -> str:
        return getattr(self, "_direction", "<<")


def trace_path(prefix: str, reconnect: bool = False) -> Path:
    """``trace_path("02")`` -> the .ami file of trace 02 (``reconnect=True``: its .reconnect.ami)."""
    for p in sorted(TRACES.glob(f"{prefix}_*.ami")):
        if (".reconnect." in p.name) == reconnect:
            return p
    raise FileNotFoundError(f"no trace {prefix} in {TRACES}")


def parse_trace(path: str | Path) -> list[TraceChunk]:
    """All chunks of a trace file in order."""
    chunks: list[TraceChunk] = []
    t, direction, buf = 0.0, None, bytearray()
    with open(path, "rb") as f:
        raw = f.read()
    for line in raw.splitlines(keepends=True):
        m = _MARK.match(line.rstrip(b"\r\n"))
        if m:
            if direction is not None:
                chunks.append(TraceChunk(t, direction, bytes(buf)))
            t, direction = float(m.group(1)), m.group(2).decode()
            buf = bytearray(m.group(3).strip() if direction == "--" else b"")
            continue
        if direction == "--":
            continue
        buf += line
    if direction is not None:
        chunks.append(TraceChunk(t, direction, bytes(buf)))
    return chunks


def split_messages(data: bytes) -> list[Headers]:
    """AMI messages (blank-line separated) of a byte stream; the greeting line is skipped."""
    out: list[Headers] = []
    text = data.decode("utf-8", "replace")
    for block in text.split("\r\n\r\n"):
        h = Headers()
        for line in block.split("\r\n"):
            if not line or line.startswith("Asterisk Call Manager/"):
                continue
            k, sep, v = line.partition(":")
            if sep:
                h.append((k.strip(), v.strip()))
        if h:
            out.append(h)
    return out


def messages(chunks: list[TraceChunk], direction: str | None = "<<") -> list[tuple[float, Headers]]:
    """(t, headers) of every AMI message of ``direction``: '<<' (what Asterisk sent, the
    default), '>>' (what was sent to it) or None for both, in file order.

    Each chunk holds whole messages in the recordings; a message split over chunks is
    joined (the stream is reassembled per direction before splitting).
    """
    out: list[tuple[float, Headers]] = []
    pending: dict[str, tuple[float, bytes]] = {}
    for c in chunks:
        if c.direction == "--" or (direction is not None and c.direction != direction):
            continue
        data = c.data
        if data.startswith(b"Asterisk Call Manager/"):  # the greeting line is not a message
            data = data.split(b"\r\n", 1)[1] if b"\r\n" in data else b""
            if not data:
                continue
        t0, buf = pending.get(c.direction, (c.t, b""))
        buf += data
        *complete, rest = buf.split(b"\r\n\r\n")
        for block in complete:
            for h in split_messages(block + b"\r\n\r\n"):
                h._direction = c.direction
                out.append((t0, h))
        if rest:
            pending[c.direction] = (t0, rest)
        else:
            pending.pop(c.direction, None)
    return out
