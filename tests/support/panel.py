"""A panel user seen from outside: the HTTP API and the websocket push, over real sockets."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import aiohttp

from ctiserver.push.hub import messages_of


class PanelClient:
    """One signed-in user: ``await login()``, ``await connect()``, then ``await expect(type, ...)``."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.received: list[dict[str, Any]] = []
        self.frames = 0  # websocket frames read (one holds one message or an array of them)
        self._arrived = asyncio.Condition()
        self._reader: asyncio.Task | None = None

    async def login(self, login: str, password: str | None = None) -> dict:
        status, body = await self.post("/api/login", {"login": login, "password": password or login})
        assert status == 200, body
        return body["me"]

    async def post(self, path: str, payload: Any) -> tuple[int, dict]:
        async with self.http.post(self.base + path, json=payload) as r:
            return r.status, await r.json()

    async def get(self, path: str, **params: Any) -> tuple[int, dict]:
        async with self.http.get(self.base + path, params=params) as r:
            return r.status, await r.json()

    async def connect(self) -> dict:
        """Open the websocket; returns the snapshot the server sends first."""
        self.ws = await self.http.ws_connect(self.base + "/ws")
        self._reader = asyncio.create_task(self._read())
        return await self.expect("snapshot")

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            async with self._arrived:
                self.frames += 1
                self.received.extend(messages_of(msg.data))
                self._arrived.notify_all()

    async def expect(self, type_: str, where: Callable[[dict], bool] = lambda d: True, timeout: float = 15.0,
                     after: int = 0) -> dict:
        """The data of the first pushed message of this type (from index ``after``) that matches."""
        def found() -> dict | None:
            for m in self.received[after:]:
                if m.get("type") == type_ and where(m.get("data") or {}):
                    return m["data"]
            return None

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout)
        return found()  # type: ignore[return-value]

    def of_type(self, type_: str) -> list[dict]:
        return [m["data"] for m in self.received if m.get("type") == type_]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.http.close()
