"""The /ws endpoint: adapts aiohttp's websocket to the push hub's Connection."""

from __future__ import annotations

from typing import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from ctiserver import errors
from ctiserver.push.hub import PushHub
from ctiserver.web.keys import ACCOUNT, HUB, SESSIONS, SNAPSHOTS, SOCKETS
from ctiserver.web.middleware import session_token

HEARTBEAT_SECONDS = 20.0  # finds half-open sockets (laptop lid closed, Wi-Fi gone)
MAX_CLIENT_MESSAGE = 4096
CLOSE_SIGNED_OUT = 4001  # the session ended (logout): the client should show the sign-in form
CLOSE_TAKEN_OVER = 4002  # the same account signed in elsewhere and took over this panel


class AiohttpConnection:
    """aiohttp's WebSocketResponse seen as a push-hub Connection."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send_str(self, text: str) -> None:
        """Send one text frame."""
        if self._ws.closed:
            raise ConnectionError("websocket closed")
        await self._ws.send_str(text)

    async def close(self, code: int, reason: str) -> None:
        """Close with a code; the hub bounds how long this may take."""
        await self._ws.close(code=code, message=reason.encode("utf-8"))

    async def __aiter__(self) -> AsyncIterator[str]:
        async for msg in self._ws:
            if msg.type == WSMsgType.TEXT:
                yield msg.data
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE, WSMsgType.CLOSING):
                return


def same_origin(request: web.Request) -> bool:
    """Refuse cross-site websocket hijacking: a browser always sends Origin."""
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser (tests, tools): the session cookie still applies
        return True
    return urlsplit(origin).netloc == request.host


async def serve_socket(request: web.Request, hub: PushHub, account, snapshot_fn,
                       registry: set | None = None) -> web.WebSocketResponse:
    """Upgrade the request and hand the socket to the hub until it closes.

    ``registry``, when given, holds the socket while it is open (see :func:`close_session_sockets`).
    """
    if not same_origin(request):
        raise errors.Forbidden("websocket from another origin")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, timeout=2.0, max_msg_size=MAX_CLIENT_MESSAGE)
    await ws.prepare(request)
    if registry is not None:
        registry.add(ws)
    try:
        await hub.serve(AiohttpConnection(ws), account, snapshot_fn)
    finally:
        if registry is not None:
            registry.discard(ws)
    return ws


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """GET /ws: the push stream of the signed-in user."""
    snapshots = request.app[SNAPSHOTS]
    account = request[ACCOUNT]
    sockets = request.app[SOCKETS]
    token = session_token(request) or ""
    registry = sockets.setdefault(token, set())
    try:
        return await serve_socket(request, request.app[HUB], account, lambda: snapshots.for_account(account),
                                  registry)
    finally:
        if not registry:
            sockets.pop(token, None)


async def close_session_sockets(app: web.Application, token: str | None, code: int = CLOSE_SIGNED_OUT,
                                reason: str = "signed out") -> int:
    """Close the websockets opened with this session (it was just revoked); how many were open."""
    closed = 0
    for ws in list(app[SOCKETS].pop(token or "", ())):
        closed += not ws.closed
        await ws.close(code=code, message=reason.encode("utf-8"))
    return closed


def live_sockets_of(app: web.Application, agent_id: str) -> list[web.WebSocketResponse]:
    """The open panel websockets of this account, over all its still-valid sessions."""
    signer = app[SESSIONS]
    return [ws for token, sockets in app[SOCKETS].items() if signer.verify(token) == agent_id
            for ws in sockets if not ws.closed]
