"""AmiClient: the one AMI session the server keeps to Asterisk.

We use panoramisk 1.4 for the AMI protocol skeleton and action bookkeeping
(``AMIProtocol``, ``Action`` with its ``IdGenerator`` ActionIDs and reply future; see
``protocol.py``) and replace its ``Manager`` (connection, login, reconnect, ping and
event dispatch) because of these defects, each fixed here or in ``protocol.py``:

1. QueueAdd's "Added interface to queue" taken for a list start, the call hangs
   -> ``protocol.PendingAction.multi`` (list by action name or ``EventList: start``).
2. Unanswered actions re-sent after a reconnect (``send_awaiting_actions`` on
   FullyBooted) -> ``protocol.AmiProtocol.connection_lost``: every pending action fails
   with AmiLinkLost; :meth:`AmiClient.send` refuses while down (AmiNotConnected); nothing
   is queued or sent twice.
3. No per-action timeout -> :meth:`AmiClient.send` raises AmiTimeout after
   ``action_timeout``; ``AmiProtocol.expire`` drops the entry; a late reply is logged, dropped.
4. Each TCP read decoded on its own (split UTF-8 lost) -> ``AmiProtocol.data_received``.
5. Values written raw (CR/LF injection) -> ``validate.validate_action`` before any write.
6. ``Manager.dispatch`` runs coroutine callbacks with ensure_future and drops them (order
   and exceptions lost) -> one synchronous sink receives every StreamItem (events,
   LinkUp, LinkDown) in wire order, called inline from the read (:meth:`AmiClient._emit`).
7. Fixed 2 s reconnect forever; Ping sent but its reply never checked -> reconnect with
   exponential backoff and jitter (:func:`backoff_delay`, ``reconnect_min``/``max``); a Ping
   unanswered within ``action_timeout`` closes the (half-open) link, emits LinkDown and
   reconnects (:meth:`AmiClient._ping_loop`).
8. Malformed packets silently dropped -> ``protocol.parse_packet`` logs them with raw text.

Also: start() returns once logged in and raises AmiAuthError on a refused login; an
unreachable Asterisk at start is not an error (LinkDown, retries in the background);
after every login the sink gets LinkUp(reconnect=...) before any event of that session.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Callable, Mapping

import structlog

from ctiserver.ami.errors import (AmiActionFailed, AmiAuthError, AmiError, AmiInjectionError,  # noqa: F401
                                  AmiLinkLost, AmiNotConnected, AmiTimeout)
from ctiserver.ami.message import AmiMessage, LinkDown, LinkUp, StreamItem
from ctiserver.ami.protocol import AmiProtocol, AmiResponse, PendingAction
from ctiserver.ami.validate import validate_action
from ctiserver.config import AmiConfig

__all__ = ["AmiClient", "AmiResponse", "backoff_delay"]

log = structlog.get_logger(__name__)

Sink = Callable[[StreamItem], None]
# Failures of one connection attempt that mean "try again later", as opposed to a refused login.
_RETRYABLE = (OSError, TimeoutError, AmiLinkLost, AmiNotConnected)


def backoff_delay(attempt: int, low: float, high: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before reconnect attempt ``attempt`` (0-based): doubles from ``low`` up to ``high``, jittered.

    The delay lies in the upper half of [0, low * 2**(attempt+1)], clamped to [low, high],
    so a restarted Asterisk is not hit by every client at the same instant.
    """
    upper = min(high, low * 2.0 ** (min(attempt, 40) + 1))
    lower = min(upper, max(low, upper / 2))
    return lower + (upper - lower) * rand()


class AmiClient:
    """One AMI session to Asterisk: login-gated start, validated sends, ordered events, safe reconnects."""

    def __init__(self, config: AmiConfig, sink: Sink) -> None:
        if asyncio.iscoroutinefunction(sink) or asyncio.iscoroutinefunction(getattr(sink, "__call__", None)):
            # A coroutine sink would be the panoramisk defect again: nobody awaits it, order is lost.
            raise TypeError("the AMI sink must be a plain synchronous callable, not a coroutine function")
        self._cfg = config
        self._sink = sink
        self._protocol: AmiProtocol | None = None  # the logged-in session, if any
        self._current: AmiProtocol | None = None  # the latest TCP session, logged in or not
        self._connected = False
        self._ever_up = False
        self._closing = False
        self._runner: asyncio.Task[None] | None = None
        self._log = log.bind(host=config.host, port=config.port)

    @property
    def connected(self) -> bool:
        """True while logged in to Asterisk."""
        return self._connected

    async def start(self) -> None:
        """Connect and log in; raise AmiAuthError if refused; if unreachable, keep retrying in the background."""
        if self._runner is not None:
            raise RuntimeError("AmiClient.start() called twice")
        self._closing = False
        proto: AmiProtocol | None
        try:
            proto = await self._open_session()
        except _RETRYABLE as exc:
            reason = f"unreachable: {str(exc) or type(exc).__name__}"
            self._log.warning("ami_unreachable", error=reason)
            self._emit(LinkDown(reason=reason))  # the consumer starts in the down state, knowingly
            proto = None
        self._runner = asyncio.create_task(self._supervise(proto), name="ami-supervisor")

    async def send(self, action: Mapping[str, object], timeout: float | None = None) -> AmiResponse:
        """Send one action and return its reply (with the items of a list action); never queued, never re-sent."""
        pairs = validate_action(action)  # raises before anything is written
        proto = self._protocol
        if proto is None or not self._connected or proto.closed:
            raise AmiNotConnected(f"AMI link to {self._cfg.host}:{self._cfg.port} is down; {pairs[0][1]} not sent")
        return await self._send_on(proto, pairs, timeout)

    async def close(self) -> None:
        """Log off when connected, drop the link and stop reconnecting."""
        self._closing = True
        proto = self._protocol
        if proto is not None and self._connected:
            proto.lost_reason = "closed by client"
            with contextlib.suppress(AmiError):
                await self._send_on(proto, [("Action", "Logoff")], min(self._cfg.action_timeout, 2.0))
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        current = self._current
        if current is not None:
            current.abort("closed by client")
            # connection_lost runs on the next loop turn; wait so LinkDown is out before we return.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await current.ended.wait()

    async def _send_on(self, proto: AmiProtocol, pairs: list[tuple[str, str]],
                       timeout: float | None) -> AmiResponse:
        limit = self._cfg.action_timeout if timeout is None else timeout
        if not limit > 0:
            raise ValueError(f"AMI action timeout must be positive, not {limit!r}")
        pending = PendingAction(pairs)
        future = proto.send(pending)
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns the result of a future
            # that completed as the task was being cancelled and so swallows the cancellation (the
            # server then never stopped while a resync waited for a list).
            async with asyncio.timeout(limit):
                response = await future
        except TimeoutError:
            proto.expire(pending)  # a late reply is logged and dropped, never mistaken for an event
            self._log.warning("ami_action_timeout", action=pending.name, action_id=pending.id, timeout=limit)
            raise AmiTimeout(f"no reply to {pending.name} within {limit:g}s; "
                             "Asterisk may or may not have run it") from None
        except asyncio.CancelledError:
            proto.expire(pending)
            raise
        if not response.ok:
            raise AmiActionFailed(pending.name, response.message)
        return response

    async def _open_session(self) -> AmiProtocol:
        """One TCP connection and Login, both within connect_timeout."""
        cfg = self._cfg
        login = PendingAction(validate_action(
            {"Action": "Login", "Username": cfg.username, "Secret": cfg.secret, "Events": "on"}, internal=True))
        loop = asyncio.get_running_loop()
        proto: AmiProtocol | None = None
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                _, proto = await loop.create_connection(
                    lambda: AmiProtocol(self._on_message, self._on_lost), cfg.host, cfg.port)
                self._current = proto
                session = proto
                login.on_reply = lambda resp: self._on_login_reply(session, resp)
                response = await proto.send(login)
        except BaseException:
            if proto is not None:
                proto.abort("login not completed")
            raise
        if not response.ok:
            message = response.get("Message") or "refused"
            proto.abort("login refused")
            self._log.error("ami_login_failed", user=cfg.username, message=message)
            raise AmiAuthError(f"AMI login refused for user {cfg.username!r} at {cfg.host}:{cfg.port}: {message}")
        return proto

    def _on_login_reply(self, proto: AmiProtocol, response: AmiResponse) -> None:
        """Runs inside the read of the login reply, so LinkUp precedes every event of the session."""
        if not response.ok or self._closing:
            return
        self._protocol = proto
        self._connected = True  # before LinkUp: the consumer may send() as soon as it sees it
        reconnect, self._ever_up = self._ever_up, True
        self._log.info("ami_connected", reconnect=reconnect, version=proto.version)
        self._emit(LinkUp(reconnect=reconnect))
        proto.release_events()

    def _on_lost(self, proto: AmiProtocol, reason: str) -> None:
        if proto is not self._protocol:
            return  # a session that never logged in: nothing was announced
        self._protocol = None
        was_up, self._connected = self._connected, False
        if was_up:
            self._log.warning("ami_link_down", reason=reason)
            self._emit(LinkDown(reason=reason))

    def _on_message(self, message: AmiMessage) -> None:
        self._emit(message)

    def _emit(self, item: StreamItem) -> None:
        try:
            self._sink(item)
        except Exception:  # a consumer bug must not kill the reader
            self._log.exception("ami_sink_failed", item=repr(item)[:1000])

    async def _supervise(self, proto: AmiProtocol | None) -> None:
        """Watch the session; when it ends, reconnect with backoff until close()."""
        cfg = self._cfg
        attempt = 0
        while not self._closing:
            if proto is not None:
                attempt = 0
                pinger = asyncio.create_task(self._ping_loop(proto), name="ami-ping")
                try:
                    await proto.ended.wait()
                finally:
                    pinger.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pinger
                proto = None
                if self._closing:
                    return
            delay = backoff_delay(attempt, cfg.reconnect_min, cfg.reconnect_max)
            attempt += 1
            self._log.info("ami_reconnect_in", delay=round(delay, 3), attempt=attempt)
            await asyncio.sleep(delay)
            try:
                proto = await self._open_session()
            except AmiAuthError:
                proto = None  # logged; an operator may fix the secret, so keep trying slowly
            except _RETRYABLE as exc:
                self._log.warning("ami_unreachable", error=str(exc) or type(exc).__name__)
                proto = None
            except Exception:  # never let the supervisor die: the server would stay down silently
                self._log.exception("ami_reconnect_failed")
                proto = None

    async def _ping_loop(self, proto: AmiProtocol) -> None:
        """Ping every ping_interval; no reply within action_timeout means the link is dead."""
        cfg = self._cfg
        while not proto.closed:
            await asyncio.sleep(cfg.ping_interval)
            try:
                await self._send_on(proto, [("Action", "Ping")], cfg.action_timeout)
            except AmiTimeout:
                self._log.warning("ami_ping_timeout", timeout=cfg.action_timeout)
                proto.abort(f"no reply to Ping within {cfg.action_timeout:g}s (half-open link)")
                return
            except AmiActionFailed:
                continue  # any reply proves the link is alive
            except (AmiLinkLost, AmiNotConnected):
                return
