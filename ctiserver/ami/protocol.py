"""The AMI wire protocol: panoramisk's AMIProtocol and Action, with their defects fixed.

Kept from panoramisk 1.4: ``AMIProtocol`` as the asyncio.Protocol skeleton
(``connection_made`` sets up the transport) and ``Action`` for its ActionID (from
panoramisk's ``IdGenerator``: a per-process uuid plus a counter, so unique per session)
and the future the reply resolves. Replaced, and why (panoramisk 1.4 defect -> fix here):

1. ``Action.multi`` takes QueueAdd's "Added interface to queue" (and any Message ending
   "successfully queued") for the start of a list and waits forever for a *Complete
   event -> :attr:`PendingAction.multi`: a reply is a list only when the action is a
   known list action (:data:`LIST_ACTIONS`) or the reply says ``EventList: start``;
   Message text is never looked at.
2. ``AMIProtocol.close`` moves unanswered actions to ``Manager.awaiting_actions`` and
   the next FullyBooted re-sends them (an Originate could dial twice) ->
   :meth:`AmiProtocol.connection_lost` fails every pending action with AmiLinkLost;
   nothing is ever re-sent.
3. No per-action timeout (a lost reply leaks the entry forever) -> :meth:`AmiProtocol.expire`
   drops the entry when the caller's timeout fires; a late reply (and its list items) is
   logged as ``ami_late_reply`` and dropped.
4. ``data_received`` decodes each TCP read on its own with errors='ignore', so a UTF-8
   character split across reads (张伟 in a CallerIDName) is silently lost -> framing on
   a bytes buffer split on CRLFCRLF; a packet is decoded only once it is complete.
5. ``Action.__str__`` writes values raw, so a CR/LF in a value injects headers or whole
   actions -> :class:`PendingAction` is built from pairs already checked by
   ``validate.validate_action`` (CR, LF, NUL refused before a byte is written).
8. ``Message.from_line`` silently drops lines without ": " and keeps no raw text ->
   :func:`parse_packet` logs ``ami_malformed`` with the raw text and the stream goes on.

(Defects 6 and 7, fire-and-forget callbacks and the fixed reconnect / unchecked Ping,
live in panoramisk's Manager, which the client replaces: see ``client.py``.)
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import structlog
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol

from ctiserver.ami.errors import AmiLinkLost, AmiNotConnected
from ctiserver.ami.message import AmiMessage

log = structlog.get_logger(__name__)

EOM = b"\r\n\r\n"
BANNER = b"Asterisk Call Manager/"
MAX_PACKET = 1 << 20  # no real AMI packet comes near this; beyond it the peer is not speaking AMI
MAX_HELD = 10_000
MAX_EXPIRED = 1_000  # timed-out ActionIDs remembered so their late replies are recognised and dropped
# Actions whose Success reply is followed by events ending in a *Complete event. Asterisk 12+
# also says "EventList: start" in the reply; the name covers older versions. Never Message text.
LIST_ACTIONS = frozenset(name.lower() for name in (
    "QueueStatus", "QueueSummary", "CoreShowChannels", "Status", "BridgeList", "BridgeInfo",
    "ConfbridgeList", "ConfbridgeListRooms", "DeviceStateList", "ExtensionStateList",
    "PJSIPShowEndpoints", "PJSIPShowEndpoint", "PJSIPShowContacts", "PJSIPShowAors",
    "PJSIPShowAuths", "PJSIPShowRegistrationsInbound", "PJSIPShowRegistrationsOutbound",
    "PJSIPShowSubscriptionsInbound", "PJSIPShowSubscriptionsOutbound", "PJSIPShowResourceLists",
    "SIPpeers", "SIPshowregistry", "IAXpeerlist", "Agents", "ParkedCalls", "Parkinglots",
    "MeetmeList", "MeetmeListRooms", "VoicemailUsersList", "CoreShowChannelMap",
    "DAHDIShowChannels", "PresenceStateList", "FAXSessions", "ShowDialPlan",
))
_OK_RESPONSES = frozenset({"success", "goodbye", "follows"})
_SPACE = re.compile(r"\s").search  # a header name never holds white space


@dataclass(frozen=True)
class AmiResponse:
    """The reply to one action: its Response packet and, for a list action, the items in order.

    ``events`` holds every event of the list in wire order, the closing ``*Complete``
    event (with its ``ListItems`` count) included as the last item; it is empty for a
    plain action. List items are never delivered to the event sink as well.
    """

    message: AmiMessage
    events: list[AmiMessage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True for Response: Success (or Goodbye / Follows)."""
        return (self.message.get("Response") or "").lower() in _OK_RESPONSES

    def get(self, key: str, default: str | None = None) -> str | None:
        """A header of the Response packet (case-insensitive)."""
        return self.message.get(key, default)


def parse_packet(text: str) -> AmiMessage | None:
    """Turn one packet's text into an AmiMessage; log what is malformed, return None if unusable.

    Nearly every packet is plain ``Key: value`` lines under an ``Event`` or ``Response``: those
    take one split and a partition per line. Anything else (an empty value without its space, a
    name with other characters, legacy ``Response: Follows`` text, invalid UTF-8, a malformed
    line) is parsed again by the careful path, which decides and logs.
    """
    headers: list[tuple[str, str]] = []
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep or not key.isalnum():
            return _parse_careful(text)
        headers.append((key, value))
    first, value = headers[0]
    if first == "Event" or (first == "Response" and value.lower() != "follows"):
        if "\ufffd" not in text:
            return AmiMessage.of(headers, raw=text)
    return _parse_careful(text)


def _parse_careful(text: str) -> AmiMessage | None:
    headers: list[tuple[str, str]] = []
    bad: list[str] = []
    follows = False
    for line in text.split("\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(": ")
        if not sep and line.endswith(":"):  # an empty value without the trailing space
            key, sep, value = line[:-1], ":", ""
        if sep and key and (key.isalnum() or not _SPACE(key)):
            headers.append((key, value))
            if not follows and key.lower() == "response" and value.lower() == "follows":
                follows = True
        elif follows:
            # Legacy "Response: Follows" carries free text; keep it the way Asterisk 22 spells it.
            headers.append(("Output", line))
        else:
            bad.append(line)
    message = AmiMessage.of(headers, raw=text)
    reasons = []
    if bad:
        reasons.append("line(s) without 'Key: value'")
    if "\ufffd" in text:
        reasons.append("invalid UTF-8")
    usable = "Event" in message or "Response" in message
    if not usable:
        reasons.append("neither Event nor Response")
    if reasons:
        log.warning("ami_malformed", raw=text, reason="; ".join(reasons), bad_lines=bad)
    return message if usable else None


class PendingAction(Action):
    """One action in flight: panoramisk's Action (ActionID, future) with list detection fixed."""

    def __init__(self, pairs: list[tuple[str, str]],
                 on_reply: Callable[[AmiResponse], None] | None = None) -> None:
        super().__init__()  # panoramisk generates the ActionID and the future
        self.name = pairs[0][1]
        self.pairs = [pairs[0], ("ActionID", self.actionid), *pairs[1:]]
        self.reply: AmiMessage | None = None
        self.list_items: list[AmiMessage] = []
        self.finished = False
        self.on_reply = on_reply

    @property
    def multi(self) -> bool:
        """Is the reply the start of a list? Only for a list action or a reply saying ``EventList: start``.

        panoramisk also answers True for any Message "added ... to queue", which is
        QueueAdd's complete reply, then waits for a *Complete event that never comes.
        """
        reply = self.reply
        if reply is None or (reply.get("Response") or "").lower() not in ("success", "follows"):
            return False
        if (reply.get("EventList") or "").lower() == "start":
            return True
        return self.name.lower() in LIST_ACTIONS

    @property
    def completed(self) -> bool:
        """The reply (and for a list, its *Complete event) has arrived."""
        return self.finished

    def add_message(self, message: AmiMessage) -> bool:
        """Take a packet carrying our ActionID; False means it is not part of the reply."""
        is_event = bool(message.name)
        if self.reply is None:
            if is_event:
                return False
            self.reply = message
            if not self.multi:
                self._finish()
            return True
        if self.finished or not is_event or not self.multi:
            # e.g. OriginateResponse after "Originate successfully queued": a real event for the sink
            return False
        self.list_items.append(message)
        if message.name.endswith("Complete") or (message.get("EventList") or "").lower() == "complete":
            self._finish()
        return True

    def _finish(self) -> None:
        self.finished = True
        assert self.reply is not None
        response = AmiResponse(self.reply, list(self.list_items))
        if self.on_reply is not None:
            self.on_reply(response)  # synchronous: runs before the next packet of the same read
        if not self.future.done():  # done when the sender gave up (timeout, cancel)
            self.future.set_result(response)

    def encode(self) -> bytes:
        """Wire bytes, headers in the caller's order (values were validated before)."""
        return (str(self)).encode("utf-8")

    def __str__(self) -> str:
        return "".join(f"{k}: {v}\r\n" for k, v in self.pairs) + "\r\n"


class AmiProtocol(AMIProtocol):
    """One TCP session: bytes in, ordered AmiMessages out; replies routed to their PendingAction."""

    def __init__(self, on_event: Callable[[AmiMessage], None],
                 on_lost: Callable[["AmiProtocol", str], None]) -> None:
        super().__init__()
        self._on_event = on_event
        self._on_lost = on_lost
        self.ended = asyncio.Event()
        self.lost_reason: str | None = None
        self.received_bytes = 0
        self.closed = True
        self.transport = None
        self.responses: dict[str, PendingAction] = {}
        # ActionID -> action whose sender gave up (timeout): its late reply is logged and dropped.
        self.expired: OrderedDict[str, PendingAction] = OrderedDict()
        self.version: str | None = None
        self._buffer = bytearray()
        # Events read before the login reply wait here, so LinkUp reaches the sink first.
        self._held: list[AmiMessage] | None = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.responses = {}

    def send(self, action: PendingAction, as_list: bool = False) -> asyncio.Future:
        """Write one validated action and return its future; a closed link refuses (never queues)."""
        if self.closed or self.transport is None or self.transport.is_closing():
            raise AmiNotConnected(f"AMI link is down; {action.name} not sent")
        self.responses[action.id] = action
        self.transport.write(action.encode())
        return action.future

    def expire(self, action: PendingAction) -> None:
        """The sender gave up on ``action``: forget it as pending, drop its reply if it ever comes."""
        if self.responses.pop(action.id, None) is None:
            return
        self.expired[action.id] = action
        while len(self.expired) > MAX_EXPIRED:
            self.expired.popitem(last=False)

    def release_events(self) -> None:
        """Logged in: deliver the events held so far, then deliver as they come."""
        held, self._held = self._held or [], None
        for message in held:
            self._on_event(message)

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        self._buffer += data
        if self.version is None and not self._take_banner():
            return
        # Every complete packet of the buffer is decoded at once and the buffer cut once (no UTF-8
        # character spans the blank line that ends a packet); a chunk of many packets was cut
        # packet by packet, moving the rest of the buffer each time.
        last = self._buffer.rfind(EOM)
        complete = self._buffer[:last].decode("utf-8", errors="replace") if last >= 0 else ""
        if last >= 0:
            del self._buffer[:last + len(EOM)]
        for text in complete.split("\r\n\r\n") if complete else ():
            text = text.strip("\r\n")
            if not text:
                continue
            try:
                message = parse_packet(text)
                if message is not None:
                    self.handle_message(message)
            except Exception:  # one bad packet must not end the session (asyncio would close it)
                log.exception("ami_packet_failed", raw=text[:2000])
        if len(self._buffer) > MAX_PACKET:
            log.warning("ami_malformed", raw=self._buffer[:2000].decode("utf-8", "replace"),
                        reason=f"no end of packet within {MAX_PACKET} bytes; discarded")
            self._buffer.clear()

    def _take_banner(self) -> bool:
        """Consume the greeting line; False while it is still incomplete."""
        buf = self._buffer
        if buf.startswith(BANNER):
            eol = buf.find(b"\r\n")
            if eol < 0:
                return False
            self.version = buf[len(BANNER):eol].decode("utf-8", "replace").strip()
            del buf[:eol + 2]
            return True
        if BANNER.startswith(bytes(buf)):
            return False
        self.version = ""  # no banner: not Asterisk-like, but parse what comes
        return True

    def handle_message(self, message: AmiMessage) -> None:
        action_id = message.get("ActionID")
        action = self.responses.get(action_id) if action_id else None
        if action is not None and action.add_message(message):
            if action.completed:
                self.responses.pop(action.id, None)
            return
        late = self.expired.get(action_id) if action_id else None
        if late is not None and late.add_message(message):
            log.warning("ami_late_reply", action=late.name, action_id=action_id, raw=message.raw)
            if late.completed:
                self.expired.pop(action_id, None)
            return
        if message.name:
            if self._held is None:
                self._on_event(message)
            elif len(self._held) < MAX_HELD:
                self._held.append(message)
            else:
                log.warning("ami_event_dropped_before_login", raw=message.raw)
        else:
            log.info("ami_unmatched_response", raw=message.raw)

    def abort(self, reason: str) -> None:
        """Drop the link at once (half-open link, shutdown); pending actions fail with AmiLinkLost."""
        if self.lost_reason is None:
            self.lost_reason = reason
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def close(self) -> None:
        """Close without re-queuing anything (panoramisk moves pending actions to a re-send list)."""
        self.abort("closed by client")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._buffer.strip():
            log.warning("ami_malformed", raw=self._buffer[:2000].decode("utf-8", "replace"),
                        reason="truncated packet at end of connection")
        self._buffer.clear()
        self.closed = True
        if self.lost_reason is None:
            self.lost_reason = "connection closed by Asterisk" if exc is None else f"connection lost: {exc}"
        reason = self.lost_reason
        pending, self.responses = list(self.responses.values()), {}
        for action in pending:
            if not action.future.done():
                action.future.set_exception(AmiLinkLost(
                    f"AMI link lost before the reply to {action.name} ({reason}); it was not re-sent"))
        self._held = None
        self.ended.set()
        self._on_lost(self, reason)
