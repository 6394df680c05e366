"""A small real AMI server on 127.0.0.1:0 that the AmiClient tests drive over TCP.

:class:`FakeAmi` greets like Asterisk, answers ``Login`` (checking the secret) and, while
``answer_ping`` is set, ``Ping``; every other action is only recorded, and the test
writes the reply bytes itself (often bytes taken from a recorded trace). Each TCP
connection is a :class:`Session` that records every packet the client wrote, in order.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Callable

from tests.support.wait import eventually  # noqa: F401 - the AMI tests take it from here
from ctiserver.ami.message import AmiMessage, LinkDown, LinkUp, StreamItem
from ctiserver.config import AmiConfig

BANNER = b"Asterisk Call Manager/9.0.0\r\n"
SECRET = "s3cret"
WAIT = 5.0  # upper bound for any expected event; tests normally see it within milliseconds


def parse(packet: bytes) -> list[tuple[str, str]]:
    """One packet the client wrote → its headers in order."""
    pairs = []
    for line in packet.decode("utf-8").split("\r\n"):
        if line:
            key, _, value = line.partition(": ")
            pairs.append((key, value))
    return pairs


def header(pairs: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in pairs if k.lower() == name.lower()), None)


@dataclass
class Session:
    """One TCP connection accepted by the fake Asterisk."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    actions: list[list[tuple[str, str]]] = field(default_factory=list)
    inbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def names(self) -> list[str]:
        """The Action names received so far, in order."""
        return [header(a, "Action") or "" for a in self.actions]

    async def next_action(self, name: str | None = None) -> list[tuple[str, str]]:
        """The next action named ``name`` (any but Login/Ping if None) the client sent, within WAIT seconds."""
        while True:
            pairs = await asyncio.wait_for(self.inbox.get(), WAIT)
            action = (header(pairs, "Action") or "").lower()
            if name is not None and action == name.lower():
                return pairs
            if name is None and action not in ("ping", "login"):
                return pairs

    async def write(self, data: bytes, *, bytewise: bool = False) -> None:
        """Send bytes to the client; ``bytewise`` writes (and drains) one byte at a time."""
        if bytewise:
            for i in range(len(data)):
                self.writer.write(data[i:i + 1])
                await self.writer.drain()
        else:
            self.writer.write(data)
            await self.writer.drain()

    async def reply(self, pairs: list[tuple[str, str]], *lines: str) -> None:
        """A ``Response`` packet for the action ``pairs`` (its ActionID echoed)."""
        aid = header(pairs, "ActionID")
        await self.write(("".join(f"{ln}\r\n" for ln in (lines[0], f"ActionID: {aid}", *lines[1:])) + "\r\n")
                         .encode("utf-8"))

    def drop(self) -> None:
        """Cut the TCP connection at once (Asterisk crashed, the network failed)."""
        self.writer.transport.abort()


class FakeAmi:
    """A scripted AMI endpoint over real TCP."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.answer_ping = True
        self.before_login_reply: bytes = b""  # written just before the Login reply
        self.sessions: asyncio.Queue[Session] = asyncio.Queue()
        self.all_sessions: list[Session] = []
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> "FakeAmi":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for s in self.all_sessions:
                s.drop()
            await self._server.wait_closed()

    async def session(self) -> Session:
        """The next connection that logged in successfully."""
        return await asyncio.wait_for(self.sessions.get(), WAIT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer)
        self.all_sessions.append(session)
        try:
            writer.write(BANNER)
            while True:
                packet = await reader.readuntil(b"\r\n\r\n")
                pairs = parse(packet[:-4])
                session.actions.append(pairs)
                action = (header(pairs, "Action") or "").lower()
                if action == "login":
                    if header(pairs, "Secret") != self.secret:
                        await session.reply(pairs, "Response: Error", "Message: Authentication failed")
                        continue
                    writer.write(self.before_login_reply)
                    await session.reply(pairs, "Response: Success", "Message: Authentication accepted")
                    await session.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
                    self.sessions.put_nowait(session)
                elif action == "ping":
                    if self.answer_ping:
                        await session.reply(pairs, "Response: Success", "Ping: Pong", "Timestamp: 1795335879.000000")
                elif action == "logoff":
                    await session.reply(pairs, "Response: Goodbye", "Message: Thanks for all the fish.")
                    writer.close()
                    return
                session.inbox.put_nowait(pairs)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            session.closed.set()
            writer.close()


class Recorder:
    """The client's sink: a plain synchronous callable that keeps every StreamItem in order."""

    def __init__(self) -> None:
        self.items: list[StreamItem] = []
        self._changed = asyncio.Event()

    def __call__(self, item: StreamItem) -> None:
        self.items.append(item)
        self._changed.set()

    def events(self) -> list[AmiMessage]:
        return [i for i in self.items if isinstance(i, AmiMessage)]

    async def wait_for(self, predicate: Callable[[StreamItem], bool], after: int = 0) -> StreamItem:
        """The first item (from index ``after``) matching ``predicate``, waiting up to WAIT seconds."""
        async with asyncio.timeout(WAIT):
            while True:
                for item in self.items[after:]:
                    if predicate(item):
                        return item
                self._changed.clear()
                await self._changed.wait()

    async def link_up(self, after: int = 0) -> LinkUp:
        return await self.wait_for(lambda i: isinstance(i, LinkUp), after)  # type: ignore[return-value]

    async def link_down(self, after: int = 0) -> LinkDown:
        return await self.wait_for(lambda i: isinstance(i, LinkDown), after)  # type: ignore[return-value]

    async def event(self, name: str, after: int = 0) -> AmiMessage:
        return await self.wait_for(lambda i: isinstance(i, AmiMessage) and i.name == name, after)  # type: ignore


def ami_config(port: int, **overrides: object) -> AmiConfig:
    """Short timeouts so link failures are detected in a fraction of a second."""
    values: dict = dict(host="127.0.0.1", port=port, username="cti", secret=SECRET, connect_timeout=2.0,
                        action_timeout=2.0, ping_interval=30.0, reconnect_min=0.02, reconnect_max=0.1)
    values.update(overrides)
    return AmiConfig(**values)


def free_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
