"""The websocket push hub: a snapshot, then numbered deltas, one bounded queue per socket.

Plain asyncio: the hub knows nothing of aiohttp. The web layer adapts its
websocket to :class:`Connection` and calls :meth:`PushHub.serve`; the core calls
:meth:`PushHub.publish`, which is synchronous and never awaits a socket, so one
slow browser can never stall the event consumer or the other browsers.

Wire format: a JSON text frame carries one message, or an array of messages when
several were queued for the socket when its writer woke (in order)::

    {"type": "agent_state", "seq": 7, "data": {...}}
    [{"type": "call_update", "seq": 8, "data": {...}}, {"type": "agent_state", "seq": 9, "data": {...}}]

``seq`` counts per connection from 1 (the first snapshot). A client that sees a
gap sends ``{"type": "resync"}`` and gets a fresh ``snapshot`` with the next seq.

An agent's socket is written as soon as something is queued (its pop must not wait).
The sockets of roles that see every call (supervisors, admins, the wall display) send at
most one frame per ``linger`` seconds: an idle one at once, a busy one gathers the burst
into one frame, so one websocket frame, one deflate and one socket write carry tens of
messages at 100 calls/s instead of one each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, ClassVar, Protocol

import structlog

log = structlog.get_logger(__name__)

#: Types the core may publish (``snapshot`` is produced by the hub itself).
MESSAGE_TYPES = frozenset({
    "agent_state", "call_ringing", "call_update", "call_ended", "marquee",
    "workorder_update", "workorder_task", "queue_stats", "link", "notice", "pop_update", "supervision",
    "alert",  # a supervisors' alert raised or cleared (ctiserver/supervision/alerts.py)
    "service_hours",  # a hotline's closed-now switch flipped (ctiserver/hours/)
    "voicemail", "voicemail_overdue",  # a message left in the IVR and its claim deadline (ctiserver/voicemail/)
})

#: Close code sent to a client whose queue overflowed; it should reconnect.
CLOSE_TOO_SLOW = 4000
CLOSE_GOING_AWAY = 1001

#: Roles whose sockets get (nearly) every call's and agent's update: their writers linger.
LINGER_ROLES = frozenset({"supervisor", "admin", "display"})
#: A frame gathers queued messages up to this many characters (a lone larger message still
#: goes, alone). aiohttp deflates a frame of up to 16 KiB in the event loop and a larger one in
#: a worker thread, whose answer waits for the next turn of a busy loop: frames stay under it.
MAX_FRAME_CHARS = 15_000


class User(Protocol):
    """Who is on the socket: the hub only needs an id and a role."""

    id: Any
    role: Any


class Connection(Protocol):
    """A websocket as the hub sees it (the web layer adapts aiohttp's to this)."""

    async def send_str(self, text: str) -> None:
        """Send one text frame (may wait for the peer to read)."""

    async def close(self, code: int, reason: str) -> None:
        """Close the socket with a close code and reason."""

    def __aiter__(self) -> AsyncIterator[str]:
        """Text frames from the client until it goes away."""


def _role_name(role: Any) -> str:
    return str(getattr(role, "value", role))


@dataclass(frozen=True)
class Audience:
    """Who receives a published message: everyone, some agents, some roles, or a union."""

    everyone: bool = False
    agent_ids: frozenset[str] = frozenset()
    role_names: frozenset[str] = frozenset()

    ALL: ClassVar["Audience"]

    @classmethod
    def agents(cls, ids: Iterable[Any] | str) -> "Audience":
        """Only these agents (by id)."""
        if isinstance(ids, str):  # a lone id, not an iterable of characters
            ids = (ids,)
        return cls(agent_ids=frozenset(str(i) for i in ids))

    @classmethod
    def roles(cls, roles: Iterable[Any] | str) -> "Audience":
        """Everyone holding one of these roles."""
        if isinstance(roles, str):
            roles = (roles,)
        return cls(role_names=frozenset(_role_name(r) for r in roles))

    def __or__(self, other: "Audience") -> "Audience":
        if not isinstance(other, Audience):
            return NotImplemented
        return Audience(self.everyone or other.everyone, self.agent_ids | other.agent_ids,
                        self.role_names | other.role_names)

    def includes(self, user: User) -> bool:
        """True when this user should get the message."""
        return (self.everyone or str(user.id) in self.agent_ids
                or _role_name(user.role) in self.role_names)


ALL = Audience(everyone=True)
Audience.ALL = ALL
SUPERVISORS = Audience.roles({"supervisor", "admin"})


class Publisher(Protocol):
    """Where the domain hands its pushes (the hub; a list in tests)."""

    def publish(self, type: str, data: dict, audience: Audience) -> None: ...  # noqa: A002 - wire name


def _json_default(value: Any) -> Any:
    # The core hands plain dicts, but datetimes, enums and dataclasses slip in easily.
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(value: Any) -> str:
    """JSON text as the hub sends it (UTF-8 friendly, compact)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def messages_of(frame: str | bytes) -> list[dict]:
    """The messages one received frame carries, in order (a Python client's decoder)."""
    value = json.loads(frame)
    return value if isinstance(value, list) else [value]


def _take_frame(queue: deque[str], max_chars: int) -> str:
    # Everything queued (up to max_chars) as one frame: a lone message as itself, several
    # as a JSON array. The messages are already JSON text: joining them encodes nothing again.
    first = queue.popleft()
    if not queue:
        return first
    parts = [first]
    size = len(first)
    while queue and size + len(queue[0]) < max_chars:
        text = queue.popleft()
        parts.append(text)
        size += len(text) + 1
    if len(parts) == 1:
        return first
    return "[" + ",".join(parts) + "]"


class _Client:
    """One socket: its user, its own bounded queue and sequence counter."""

    __slots__ = ("agent_id", "conn", "dropped", "last_frame", "linger", "max_queue", "queue", "role", "seq",
                 "user", "wakeup", "writer")

    def __init__(self, conn: Connection, user: User, max_queue: int, linger: float = 0.0) -> None:
        self.conn = conn
        self.user = user
        self.agent_id = str(user.id)
        self.role = _role_name(user.role)
        self.queue: deque[str] = deque()
        self.wakeup = asyncio.Event()
        self.seq = 0
        self.max_queue = max_queue
        self.dropped = False
        self.writer: asyncio.Task[None] | None = None
        self.linger = linger  # 0: send as soon as something is queued
        self.last_frame = float("-inf")  # clock reading when the last frame went out

    def offer(self, type_json: str, data_json: str) -> bool:
        """Queue one message; False when the queue is full (the client is too slow)."""
        if len(self.queue) >= self.max_queue:
            return False
        self.seq += 1
        # The data is encoded once per publish; only the envelope is per socket.
        self.queue.append(f'{{"type":{type_json},"seq":{self.seq},"data":{data_json}}}')
        self.wakeup.set()
        return True


class PushHub:
    """Fan-out of core events to websocket clients, each with its own queue and writer."""

    def __init__(self, max_queue: int = 256, close_timeout: float = 2.0, linger: float = 0.05,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 max_frame_chars: int = MAX_FRAME_CHARS) -> None:
        """``max_queue`` counts messages (not frames) a socket may have waiting before it is
        dropped as too slow; ``linger`` is the least time between two frames to a socket of
        :data:`LINGER_ROLES` (0: none); ``clock`` and ``sleep`` time that wait."""
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        if linger < 0:
            raise ValueError("linger must be 0 or more seconds")
        self._max_queue = max_queue
        self._close_timeout = close_timeout
        self._linger = linger
        self._clock = clock
        self._sleep = sleep
        self._max_frame_chars = max_frame_chars
        self._clients: set[_Client] = set()
        # The same sockets indexed by agent id and by role: a publish reaches its audience
        # without testing every socket (2,000 agents, a call update for one of them).
        self._by_agent: dict[str, set[_Client]] = {}
        self._by_role: dict[str, set[_Client]] = {}

    def _add(self, client: _Client) -> None:
        self._clients.add(client)
        self._by_agent.setdefault(client.agent_id, set()).add(client)
        self._by_role.setdefault(client.role, set()).add(client)

    def _discard(self, client: _Client) -> None:
        self._clients.discard(client)
        for index, key in ((self._by_agent, client.agent_id), (self._by_role, client.role)):
            members = index.get(key)
            if members is not None:
                members.discard(client)
                if not members:
                    del index[key]

    def _audience(self, audience: Audience) -> list[_Client]:
        if audience.everyone:
            return list(self._clients)
        found: set[_Client] = set()
        for agent_id in audience.agent_ids:
            members = self._by_agent.get(agent_id)
            if members:
                found |= members
        for role in audience.role_names:
            members = self._by_role.get(role)
            if members:
                found |= members
        return list(found)

    def connections(self) -> int:
        """How many sockets are being served."""
        return len(self._clients)

    def publish(self, type: str, data: dict, audience: Audience) -> None:  # noqa: A002 - wire name
        """Queue a delta for every connection in the audience; never blocks, never awaits."""
        if type not in MESSAGE_TYPES:
            raise ValueError(f"unknown push message type {type!r}")
        recipients = self._audience(audience)
        if not recipients:  # most pops go to agents whose panel is closed: nothing to encode
            return
        type_json = encode(type)
        data_json = encode(data)
        for client in recipients:
            if client.dropped:
                continue
            if not client.offer(type_json, data_json):
                self._drop(client)

    def _drop(self, client: _Client) -> None:
        # Called synchronously from publish: mark it, stop its writer (it may be
        # stuck waiting for the peer to read) and let serve() close the socket.
        client.dropped = True
        self._discard(client)
        log.warning("push_client_too_slow", agent=str(client.user.id), queued=len(client.queue))
        client.queue.clear()
        if client.writer is not None:
            client.writer.cancel()

    def _snapshot(self, client: _Client, snapshot_fn: Callable[[], dict]) -> None:
        if not client.offer(encode("snapshot"), encode(snapshot_fn())):
            self._drop(client)

    async def serve(self, conn: Connection, user: User, snapshot_fn: Callable[[], dict]) -> None:
        """Serve one socket until it closes: snapshot (seq 1), then deltas; handles resync."""
        role = _role_name(user.role)
        client = _Client(conn, user, self._max_queue, self._linger if role in LINGER_ROLES else 0.0)
        # Registering and taking the snapshot happen with no await in between, so
        # no delta can be published between the snapshot and the first delta.
        self._add(client)
        try:
            self._snapshot(client, snapshot_fn)
        except Exception:  # a broken snapshot must not leave a registered, dead client
            self._discard(client)
            log.exception("push_snapshot_failed", agent=str(user.id))
            await self._close(conn, 1011, "snapshot failed")
            return
        client.writer = asyncio.create_task(self._write(client), name=f"push-writer-{user.id}")
        reader = asyncio.create_task(self._read(client, snapshot_fn), name=f"push-reader-{user.id}")
        log.info("push_connected", agent=str(user.id), connections=len(self._clients))
        try:
            await asyncio.wait({client.writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._discard(client)
            for task in (client.writer, reader):
                task.cancel()
            await asyncio.gather(client.writer, reader, return_exceptions=True)
            code, reason = (CLOSE_TOO_SLOW, "too slow") if client.dropped else (1000, "bye")
            await self._close(conn, code, reason)
            log.info("push_disconnected", agent=str(user.id), dropped=client.dropped,
                     connections=len(self._clients))

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        # A peer that never reads never answers the close either: bound the wait.
        try:
            await asyncio.wait_for(conn.close(code, reason), self._close_timeout)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            pass

    async def _write(self, client: _Client) -> None:
        queue = client.queue
        full = False  # the last frame left messages queued: send the next one at once
        while True:
            if not queue:
                client.wakeup.clear()
                await client.wakeup.wait()
            if client.linger and not full:
                # A frame went out less than `linger` ago: under load. Let the burst gather.
                wait = client.last_frame + client.linger - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                    if not queue:  # dropped meanwhile (its queue cleared)
                        continue
            text = _take_frame(queue, self._max_frame_chars)
            full = bool(queue)
            client.last_frame = self._clock()
            try:
                await client.conn.send_str(text)
            except (ConnectionError, RuntimeError) as exc:
                log.info("push_send_failed", agent=str(client.user.id), error=str(exc))
                return

    async def _read(self, client: _Client, snapshot_fn: Callable[[], dict]) -> None:
        async for text in client.conn:
            try:
                message = json.loads(text)
                kind = message.get("type") if isinstance(message, dict) else None
            except ValueError:
                kind = None
            if kind == "resync":
                log.info("push_resync", agent=str(client.user.id), seq=client.seq)
                try:
                    self._snapshot(client, snapshot_fn)
                except Exception:  # the socket closes and the client reconnects to a new snapshot
                    log.exception("push_snapshot_failed", agent=str(client.user.id))
                    return
            elif kind != "ping":
                log.info("push_unknown_client_message", agent=str(client.user.id), text=text[:200])

    async def close_all(self) -> None:
        """Close every socket (server shutdown); their serve() calls then return."""
        for client in list(self._clients):
            self._discard(client)
            if client.writer is not None:
                client.writer.cancel()
            await self._close(client.conn, CLOSE_GOING_AWAY, "server shutting down")
