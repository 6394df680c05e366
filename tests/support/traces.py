"""Recorded AMI traces (../shared/ami-traces) and a TCP server that replays them.

A trace file is raw AMI traffic: ``# t=SECONDS <<`` precedes bytes Asterisk sent,
``# t=SECONDS >>`` bytes sent to it, ``# t=SECONDS -- note`` is a driver note.

:class:`ReplayAmi` is a real AMI endpoint on a loopback port: it greets, accepts the
login, answers the list actions the server sends after login (``QueueStatus``,
``CoreShowChannels``) with the items a recording holds for them (re-tagged with the
caller's ActionID), and on :meth:`ReplayAmi.play` streams the recording's unsolicited
events in order. The recordings carry no ``Timestamp`` header (the recorder did not ask
for one), so the replay adds ``Timestamp: <start + recorded offset>`` to each event, the
clock starting at the moment the replay starts: the server then measures waits and talk
times in recorded seconds while the replay runs faster.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

#: ../shared/ami-traces beside the checkout (CI puts it there); CTI_TRACES_DIR overrides.
TRACES = Path(os.environ.get("CTI_TRACES_DIR", Path(__file__).resolve().parents[3] / "shared" / "ami-traces"))
#: The Asterisk configuration the traces were recorded with.
RECORDED_CONF = TRACES / "conf"
#: Traces this project recorded itself (with the shipped asterisk_conf/), kept beside the tests using them.
OWN_TRACES = Path(__file__).resolve().parents[1] / "traces"

_MARK = re.compile(rb"^# t=([0-9.]+) (<<|>>|--)(.*)$")


@dataclass
class Chunk:
    t: float
    direction: str  # "<<" from Asterisk, ">>" to Asterisk, "--" note
    data: bytes


@dataclass
class Msg:
    """One AMI packet of a trace: its arrival time, direction and headers in order."""

    t: float
    direction: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        k = key.lower()
        for name, value in self.headers:
            if name.lower() == k:
                return value
        return default

    @property
    def event(self) -> str | None:
        return self.get("Event")

    def encode(self, extra: list[tuple[str, str]] | None = None, drop: set[str] = frozenset()) -> bytes:
        lines = [f"{k}: {v}" for k, v in self.headers if k.lower() not in drop] + [f"{k}: {v}" for k, v in extra or []]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def trace_path(name: str) -> Path:
    """``trace_path("02")`` → the .ami file whose name starts with 02_ (shared traces, then tests/traces)."""
    for folder in (TRACES, OWN_TRACES):
        if (folder / name).exists():
            return folder / name
        found = sorted(p for p in folder.glob(f"{name}_*.ami") if ".reconnect." not in p.name)
        if found:
            return found[0]
    raise FileNotFoundError(f"no trace {name} in {TRACES} or {OWN_TRACES}")


def parse_chunks(path: Path) -> list[Chunk]:
    raw = Path(path).read_bytes()
    chunks: list[Chunk] = []
    current: Chunk | None = None
    for line in raw.splitlines(keepends=True):
        m = _MARK.match(line.rstrip(b"\r\n"))
        if m:
            t, direction, rest = float(m.group(1)), m.group(2).decode(), m.group(3)
            current = Chunk(t, direction, b"")
            chunks.append(current)
            if direction == "--":
                current.data = rest.strip()
        elif current is not None and current.direction != "--":
            current.data += line
    return chunks


def messages(chunks: list[Chunk], direction: str = "<<") -> list[Msg]:
    """The AMI packets of one direction (the greeting line is skipped)."""
    out: list[Msg] = []
    for chunk in chunks:
        if chunk.direction != direction:
            continue
        text = chunk.data.decode("utf-8")
        for block in text.replace("\r\n", "\n").split("\n\n"):
            lines = [ln for ln in block.split("\n") if ln.strip()]
            if not lines or (len(lines) == 1 and lines[0].startswith("Asterisk Call Manager")):
                continue
            msg = Msg(chunk.t, direction)
            for ln in lines:
                key, sep, value = ln.partition(":")
                if sep:
                    msg.headers.append((key.strip(), value.strip()))
            out.append(msg)
    return out


def notes(chunks: list[Chunk]) -> list[tuple[float, str]]:
    return [(c.t, c.data.decode()) for c in chunks if c.direction == "--"]


def list_reply(path: Path, action: str) -> list[Msg]:
    """The items (with the ``...Complete`` event) that a recording got for its first ``action``."""
    chunks = parse_chunks(path)
    sent = next((m for m in messages(chunks, ">>") if (m.get("Action") or "").lower() == action.lower()), None)
    if sent is None:
        return []
    aid = sent.get("ActionID")
    return [m for m in messages(chunks) if m.get("ActionID") == aid and m.event]


def unsolicited(path: Path, after: float = -1.0) -> list[Msg]:
    """The events Asterisk sent on its own (no ActionID), after time ``after``."""
    return [m for m in messages(parse_chunks(path)) if m.event and m.get("ActionID") is None and m.t > after]


class ReplayAmi:
    """A loopback AMI endpoint that serves one recording to the server under test."""

    BASE_EPOCH = 1_790_000_000.0  # a fixed epoch for pure tests that stamp events themselves

    def __init__(self, events: list[Msg], lists: dict[str, list[Msg]] | None = None, speed: float = 50.0) -> None:
        self.events = events
        self.lists = {k.lower(): v for k, v in (lists or {}).items()}
        self.speed = speed
        self.port = 0
        self.logins = 0
        self.actions: list[dict[str, str]] = []
        self.logged_in = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def drop_link(self) -> None:
        """Close the current AMI session, as an Asterisk restart would."""
        self.logged_in.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def play(self, events: list[Msg] | None = None) -> None:
        """Send the recorded events in order, ``speed`` times faster than recorded."""
        await self.logged_in.wait()
        events = self.events if events is None else events
        start = asyncio.get_running_loop().time()
        t0 = events[0].t if events else 0.0
        wall = time.time() - t0
        for msg in events:
            delay = start + (msg.t - t0) / self.speed - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the replay, not synchronising a test
            assert self._writer is not None, "the server dropped the AMI link during the replay"
            self._writer.write(msg.encode([("Timestamp", f"{wall + msg.t:.6f}")], drop={"timestamp"}))
            await self._writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                action = {}
                for ln in block.decode("utf-8").split("\r\n"):
                    k, sep, v = ln.partition(":")
                    if sep:
                        action[k.strip().lower()] = v.strip()
                self.actions.append(action)
                writer.write(self._reply(action, writer))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the server under test went away, or the replay is being stopped
        finally:
            writer.close()

    def _reply(self, action: dict[str, str], writer: asyncio.StreamWriter) -> bytes:
        name = action.get("action", "").lower()
        aid = action.get("actionid", "")
        head = f"ActionID: {aid}\r\n" if aid else ""
        if name == "login":
            self.logins += 1
            self._writer = writer
            asyncio.get_running_loop().call_soon(self.logged_in.set)
            return (f"Response: Success\r\n{head}Message: Authentication accepted\r\n\r\n"
                    "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n").encode()
        if name == "ping":
            return f"Response: Success\r\n{head}Ping: Pong\r\nTimestamp: 0\r\n\r\n".encode()
        if name in ("queuestatus", "coreshowchannels"):
            complete = "QueueStatusComplete" if name == "queuestatus" else "CoreShowChannelsComplete"
            items = [m for m in self.lists.get(name, []) if m.event != complete]
            out = f"Response: Success\r\n{head}EventList: start\r\nMessage: will follow\r\n\r\n".encode()
            for m in items:
                out += m.encode([("ActionID", aid)], drop={"actionid"})
            out += (f"Event: {complete}\r\n{head}EventList: Complete\r\nListItems: {len(items)}\r\n\r\n").encode()
            return out
        if name == "logoff":
            return f"Response: Goodbye\r\n{head}Message: Thanks for all the fish.\r\n\r\n".encode()
        return f"Response: Success\r\n{head}Message: replayed\r\n\r\n".encode()
