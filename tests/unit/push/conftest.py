"""A real aiohttp server on 127.0.0.1 serving the push hub through the web layer's adapter."""

from __future__ import annotations

import asyncio
import json
import socket
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

import pytest
import websockets
from aiohttp import web

from tests.support.wait import eventually  # noqa: F401 - the push tests take it from here
from ctiserver.push.hub import PushHub, messages_of
from ctiserver.web.ws import serve_socket


@dataclass(frozen=True)
class User:
    id: str
    role: str


class PushServer:
    """The hub behind /ws?id=..&role=.. (the test picks the user; the app checks sessions)."""

    def __init__(self, hub: PushHub) -> None:
        self.hub = hub
        self.snapshots = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    def snapshot_for(self, user: User) -> dict[str, Any]:
        # Test-only snapshot: who it is for and how many were taken, so a test
        # can tell a fresh snapshot from an old one.
        self.snapshots += 1
        return {"me": {"id": user.id, "role": user.role}, "n": self.snapshots}

    async def start(self) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            user = User(request.query["id"], request.query.get("role", "agent"))
            return await serve_socket(request, self.hub, user, lambda: self.snapshot_for(user))

        app = web.Application()
        app.router.add_get("/ws", handler)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"ws://127.0.0.1:{port}/ws"

    async def stop(self) -> None:
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def connect(self, agent: str, role: str = "agent", **kwargs: Any):
        """Open a websocket client as this user (independent client library)."""
        return await websockets.connect(f"{self.url}?id={agent}&role={role}", proxy=None,
                                        compression=None, **kwargs)


#: Messages of a frame already read and not yet taken, per client socket.
_pending: weakref.WeakKeyDictionary[Any, deque[dict[str, Any]]] = weakref.WeakKeyDictionary()


async def recv_json(ws, timeout: float = 5.0) -> dict[str, Any]:
    """The next message, decoded (a frame holds one message or an array of them)."""
    pending = _pending.setdefault(ws, deque())
    if not pending:
        pending.extend(messages_of(await asyncio.wait_for(ws.recv(), timeout)))
    return pending.popleft()


async def recv_frame(ws, timeout: float = 5.0) -> Any:
    """The next frame as sent: one message (a dict) or several (a list)."""
    assert not _pending.get(ws), "messages of an earlier frame are still unread"
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def small_receive_buffer() -> socket.socket:
    """A connected-later TCP socket with a tiny receive window: a browser that stopped reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


@pytest.fixture
async def push_server():
    server = PushServer(PushHub(max_queue=16, close_timeout=1.0))
    await server.start()
    yield server
    await server.stop()
