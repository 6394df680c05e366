"""The AMI TCP server of the simulator: Asterisk 22's wire protocol and replies, byte for byte.

Replies and texts follow the recorded traces (../shared/ami-traces): the greeting
``Asterisk Call Manager/11.0.0``, ``Authentication accepted`` / ``Authentication failed``
(then the connection is closed), list actions answered with ``EventList: start``, items and
a ``...Complete`` event with ``ListItems``. An action's reply is written before the events
the action causes, as Asterisk does.

Beside Asterisk's actions, ``Sim*`` actions drive the simulator from another process:
``SimPlaceCall``, ``SimSetPhone``, ``SimCallerHangup``, ``SimHold``, ``SimRestart``, ``SimTruth``.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Callable

import structlog

from ..channel import Fields
from .control import ActionError, SimControlActions, bool_value
from ..features.catalog import FeatureActions  # issue 4: Atxfer, ConfBridge*, MixMonitor* (pbxsim/features.py)
from ..engines.queues import QueueError

if TYPE_CHECKING:
    from ..sim import PbxSim

log = structlog.get_logger(__name__)

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
MAX_PUBLIC_UNIQUEID = 149  # include/asterisk/channel.h AST_MAX_PUBLIC_UNIQUEID (Originate ChannelId)


def encode(fields: Fields) -> bytes:
    """One AMI message: ``Key: value`` lines and a blank line."""
    return ("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode("utf-8")


class Session:
    """One AMI connection."""

    def __init__(self, server: "AmiServer", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.events = True
        self.username = ""
        self.held: list[bytes] | None = None  # events caused by the action being answered

    def send(self, fields: Fields) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(fields))

    def event(self, data: bytes) -> None:
        if not (self.authenticated and self.events) or self.writer.is_closing():
            return
        if self.held is not None:
            self.held.append(data)
        else:
            self.writer.write(data)

    async def run(self) -> None:
        peer = self.writer.get_extra_info("peername")
        self.writer.write(GREETING)
        try:
            while True:
                fields = await self._read_message()
                if fields is None:
                    break
                if not await self.handle(fields):
                    break
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.server.sessions.discard(self)
            try:
                await self.writer.drain()
            except ConnectionError:
                pass
            self.writer.close()
            log.info("pbxsim_ami_session_closed", peer=str(peer), user=self.username)

    async def _read_message(self) -> Fields | None:
        fields: Fields = []
        while True:
            line = await self.reader.readline()
            if not line:
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if fields:
                    return fields
                continue
            key, sep, value = text.partition(":")
            if sep:
                fields.append((key.strip(), value.strip()))

    async def handle(self, fields: Fields) -> bool:
        """Answer one action; False closes the connection."""
        msg = {}
        for k, v in fields:
            msg.setdefault(k.lower(), v)
        action = msg.get("action", "")
        aid = [("ActionID", msg["actionid"])] if "actionid" in msg else []
        low = action.lower()
        if not action:
            self.send([("Response", "Error")] + aid + [("Message", "Missing action in request")])
            return True
        if low == "login":
            return self._login(msg, aid)
        if low == "logoff":
            self.send([("Response", "Goodbye")] + aid + [("Message", "Thanks for all the fish.")])
            return False
        if not self.authenticated:
            self.send([("Response", "Error")] + aid + [("Message", "Permission denied")])
            return True
        handler: Callable | None = getattr(self.server, f"action_{low}", None)
        if handler is None:
            self.send([("Response", "Error")] + aid + [(
                "Message", f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.")])
            return True
        self.held = []
        self.server.current = self
        self.server.current_fields = fields
        try:
            reply = handler(msg, aid)
            if asyncio.iscoroutine(reply):
                reply = await reply
        except ActionError as exc:
            reply = [[("Response", "Error")] + aid + [("Message", str(exc))]]
        except QueueError as exc:
            reply = [[("Response", "Error")] + aid + [("Message", str(exc))]]
        except Exception as exc:  # noqa: BLE001 - a simulator bug must not kill the session
            log.exception("pbxsim_action_failed", action=action, error=repr(exc))
            reply = [[("Response", "Error")] + aid + [("Message", f"Internal error: {exc}")]]
        finally:
            held, self.held = self.held, None
        for item in reply:
            self.send(item)
        for data in held or []:
            if not self.writer.is_closing():
                self.writer.write(data)
        return True

    def _login(self, msg: dict[str, str], aid: Fields) -> bool:
        cfg = self.server.sim.config
        if msg.get("username") != cfg.username or msg.get("secret") != cfg.secret:
            self.send([("Response", "Error")] + aid + [("Message", "Authentication failed")])
            log.warning("pbxsim_ami_auth_failed", user=msg.get("username", ""))
            return False
        self.authenticated = True
        self.username = msg.get("username", "")
        self.events = msg.get("events", "on").strip().lower() not in ("off", "no", "false", "0")
        self.send([("Response", "Success")] + aid + [("Message", "Authentication accepted")])
        if self.events:
            up = str(int(time.time() - self.server.sim.started))
            self.send([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", up),
                       ("LastReload", up), ("Status", "Fully Booted")])
        tv = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(self.server.sim.clock.now()))
        self.server.sim.emit("SuccessfulAuth", [
            ("EventTV", tv), ("Severity", "Informational"), ("Service", "AMI"), ("EventVersion", "1"),
            ("AccountID", self.username), ("SessionID", f"0x{id(self):x}"),
            ("LocalAddress", f"IPV4/TCP/{self.server.host}/{self.server.port}"),
            ("RemoteAddress", "IPV4/TCP/{}/{}".format(*(self.writer.get_extra_info("peername") or ("0", 0))[:2])),
            ("UsingPassword", "0"), ("SessionTV", tv)], "security,all")
        return True


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class AmiServer(SimControlActions, FeatureActions):
    """Listens on a TCP port; every logged-in session with events on gets every event."""

    def __init__(self, sim: "PbxSim"):
        self.sim = sim
        self.sessions: set[Session] = set()
        self._server: asyncio.base_events.Server | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self._tasks: set[asyncio.Task] = set()
        self.current: Session | None = None  # the session whose action is being run
        self.current_fields: list[tuple[str, str]] = []  # all headers of that action (repeated keys kept)

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every session (start() may be called again)."""
        if self._server is not None:
            self._server.close()
        for s in list(self.sessions):
            s.writer.close()
        if self._tasks:  # closed sockets end the sessions; cancel any that hang on
            await asyncio.wait(set(self._tasks), timeout=1.0)
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        except asyncio.CancelledError:
            pass  # stop() ended this session; asyncio's stream callback must not see it cancelled
        finally:
            if task is not None:
                self._tasks.discard(task)

    def drop_all(self) -> None:
        """Close every AMI connection at once (as an Asterisk restart would)."""
        for s in list(self.sessions):
            s.writer.close()

    def broadcast(self, fields: Fields) -> None:
        data = encode(fields)
        for s in list(self.sessions):
            s.event(data)

    # --- Asterisk actions --------------------------------------------------
    def action_ping(self, msg, aid):
        return [[("Response", "Success")] + aid + [("Ping", "Pong"), ("Timestamp", f"{self.sim.clock.now():.6f}")]]

    def action_events(self, msg, aid):
        mask = msg.get("eventmask", "on").strip().lower()
        on = mask not in ("off", "no", "false", "0")
        self.current.events = on
        return [[("Response", "Success")] + aid + [("Events", "On" if on else "Off")]]

    def _queue_args(self, msg, *need: str) -> None:
        for k in need:
            if not msg.get(k.lower()):
                raise ActionError("'Queue' or 'Interface' not set.")

    def action_queueadd(self, msg, aid):
        self._queue_args(msg, "Queue", "Interface")
        q = self.sim.queues.queues.get(msg["queue"])
        if q is None:
            raise QueueError("Unable to add interface to queue: No such queue")
        if msg["interface"] in q.members:
            raise QueueError("Unable to add interface: Already there")
        try:
            penalty = int(msg.get("penalty") or 0)
        except ValueError:
            raise ActionError("Penalty: not a number") from None
        self.sim.queues.add_member(msg["queue"], msg["interface"], msg.get("membername", ""),
                                   msg.get("stateinterface", ""), penalty, bool_value(msg.get("paused")),
                                   msg.get("reason", ""))
        return [[("Response", "Success")] + aid + [("Message", "Added interface to queue")]]

    def action_queueremove(self, msg, aid):
        self._queue_args(msg, "Queue", "Interface")
        self.sim.queues.remove_member(msg["queue"], msg["interface"])
        return [[("Response", "Success")] + aid + [("Message", "Removed interface from queue")]]

    def action_queuepause(self, msg, aid):
        if not msg.get("interface") or not msg.get("paused"):
            raise ActionError("Need 'Interface' and 'Paused' parameters.")
        paused = bool_value(msg.get("paused"))
        self.sim.queues.pause_member(msg["interface"], paused, msg.get("reason", ""), msg.get("queue") or None)
        return [[("Response", "Success")] + aid +
                [("Message", "Interface paused successfully" if paused else "Interface unpaused successfully")]]

    def action_queuepenalty(self, msg, aid):
        if not msg.get("interface") or not msg.get("penalty"):
            raise ActionError("Need 'Interface' and 'Penalty' parameters.")
        try:
            penalty = int(msg["penalty"])
        except ValueError:
            raise ActionError("Invalid penalty") from None
        self.sim.queues.set_penalty(msg["interface"], penalty, msg.get("queue") or None)
        return [[("Response", "Success")] + aid + [("Message", "Interface penalty set successfully")]]

    def action_queuestatus(self, msg, aid):
        name, member = msg.get("queue") or None, msg.get("member") or None
        items: list[Fields] = []
        for qname, q in self.sim.queues.queues.items():
            if name and qname != name:
                continue
            items.append([("Event", "QueueParams")] + self.sim.queues.params_fields(q) + aid)
            for m in q.ordered():
                if member and m.interface != member:
                    continue
                items.append([("Event", "QueueMember")] + m.list_fields() + aid)
            for pos, e in enumerate(q.entries, 1):
                items.append([("Event", "QueueEntry")] + self.sim.queues.entry_fields(q, pos, e) + aid)
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Queue status will follow")]]
                + items + [[("Event", "QueueStatusComplete")] + aid + [("EventList", "Complete"),
                                                                      ("ListItems", str(len(items)))]])

    def action_queuesummary(self, msg, aid):
        name = msg.get("queue") or None
        items = [[("Event", "QueueSummary")] + self.sim.queues.summary_fields(q) + aid
                 for qname, q in self.sim.queues.queues.items() if not name or qname == name]
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Queue summary will follow")]]
                + items + [[("Event", "QueueSummaryComplete")] + aid + [("EventList", "Complete"),
                                                                       ("ListItems", str(len(items)))]])

    def action_coreshowchannels(self, msg, aid):
        now = self.sim.clock.now()
        items = []
        for ch in sorted(self.sim.channels.values(), key=lambda c: c.name):
            items.append([("Event", "CoreShowChannel")] + aid + ch.fields() + [
                ("Application", ch.app), ("ApplicationData", ch.appdata), ("Duration", _duration(now - ch.created)),
                ("BridgeId", ch.bridge.uniqueid if ch.bridge else "")])
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Channels will follow")]]
                + items + [[("Event", "CoreShowChannelsComplete")] + aid + [("EventList", "Complete"),
                                                                           ("ListItems", str(len(items)))]])

    def action_status(self, msg, aid):
        now = self.sim.clock.now()
        wanted = msg.get("channel")
        chans = sorted(self.sim.channels.values(), key=lambda c: c.name)
        if wanted:
            chans = [c for c in chans if c.name == wanted]
            if not chans:
                raise ActionError("No such channel")
        items = []
        for ch in chans:
            items.append([("Event", "Status"), ("Privilege", "Call")] + ch.fields() + [
                ("Type", "PJSIP"), ("DNID", ch.dnid), ("EffectiveConnectedLineNum", ch.conn_num),
                ("EffectiveConnectedLineName", ch.conn_name), ("TimeToHangup", "0"),
                ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""), ("Application", ch.app), ("Data", ch.appdata),
                ("Nativeformats", "(ulaw)"), ("Readformat", "ulaw"), ("Readtrans", ""), ("Writeformat", "ulaw"),
                ("Writetrans", ""), ("Callgroup", "0"), ("Pickupgroup", "0"),
                ("Seconds", str(int(now - ch.created)))] + aid)
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", "Channel status will follow")]]
                + items + [[("Event", "StatusComplete")] + aid + [("EventList", "Complete"),
                                                                 ("ListItems", str(len(items)))]])

    def _list(self, aid, message: str, complete: str, items: list[Fields]) -> list[Fields]:
        return ([[("Response", "Success")] + aid + [("EventList", "start"), ("Message", message)]] + items
                + [[("Event", complete)] + aid + [("EventList", "Complete"), ("ListItems", str(len(items)))]])

    def action_bridgelist(self, msg, aid):
        items = [[("Event", "BridgeListItem")] + aid + b.fields() for b in self.sim.bridges.values()]
        return self._list(aid, "Bridge listing will follow", "BridgeListComplete", items)

    def action_extensionstatelist(self, msg, aid):
        from ..channel import EXT_STATUS
        items = []
        for (ctx, exten), dev in sorted(self.sim.devices.hints.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            code, text = EXT_STATUS.get(self.sim.devices.get(dev), (4, "Unavailable"))
            items.append([("Event", "ExtensionStatus")] + aid + [("Exten", exten), ("Context", ctx), ("Hint", dev),
                                                                 ("Status", str(code)), ("StatusText", text)])
        return self._list(aid, "Extension Statuses will follow", "ExtensionStateListComplete", items)

    def action_devicestatelist(self, msg, aid):
        items = [[("Event", "DeviceStateChange")] + aid + [("Device", dev), ("State", state)]
                 for dev, state in self.sim.devices.states.items()]
        return self._list(aid, "Device State Changes will follow", "DeviceStateListComplete", items)

    def action_coresettings(self, msg, aid):
        return [[("Response", "Success")] + aid + [
            ("AMIversion", "11.0.0"), ("AsteriskVersion", "22.10.1"), ("SystemName", ""), ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"), ("CoreRunUser", "pbxsim"), ("CoreRunGroup", "pbxsim"),
            ("CoreMaxFilehandles", "0"), ("CoreRealTimeEnabled", "No"), ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"), ("SoundsSearchCustomDir", "No")]]

    def action_corestatus(self, msg, aid):
        started = time.gmtime(self.sim.started)
        return [[("Response", "Success")] + aid + [
            ("CoreStartupDate", time.strftime("%Y-%m-%d", started)), ("CoreStartupTime", time.strftime("%H:%M:%S", started)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", started)), ("CoreReloadTime", time.strftime("%H:%M:%S", started)),
            ("CoreCurrentCalls", str(len({c.linkedid for c in self.sim.channels.values()}))),
            ("CoreProcessedCalls", str(self.sim.calls_processed))]]

    def action_hangup(self, msg, aid):
        name = msg.get("channel")
        if not name:
            raise ActionError("No channel specified")
        ch = self.sim.find_channel(name)
        if ch is None:
            raise ActionError("No such channel")
        cause = msg.get("cause") or "16"
        ch.hangup_by_ami = True  # type: ignore[attr-defined]
        ch.request_hangup(int(cause) if cause.isdigit() else 16)
        return [[("Response", "Success")] + aid + [("Message", "Channel Hungup")]]

    def action_setvar(self, msg, aid):
        """Setvar on a channel (main/manager.c action_setvar; write class call). Globals are not offered."""
        name = msg.get("channel")
        variable = msg.get("variable")
        if not variable:
            raise ActionError("No variable specified")
        if not name:
            raise ActionError("Only channel variables are modelled")
        ch = self.sim.find_channel(name)
        if ch is None:
            raise ActionError("No such channel")  # as Asterisk 22.10.1 answers
        self.sim.set_var(ch, variable, msg.get("value") or "")
        return [[("Response", "Success")] + aid + [("Message", "Variable Set")]]

    def action_originate(self, msg, aid):
        channel = msg.get("channel", "")
        for key in ("channelid", "otherchannelid"):  # main/manager.c checks this first
            if len(msg.get(key) or "") > MAX_PUBLIC_UNIQUEID:
                raise ActionError(f"Uniqueid length exceeds maximum of {MAX_PUBLIC_UNIQUEID}")
        if not channel:
            raise ActionError("Channel not specified")
        tech, _, endpoint = channel.partition("/")
        if tech.lower() == "local" and endpoint:  # issue 4: Local channel (trace 14, pbxsim/local.py)
            return self._originate_local(msg, aid, channel)
        if tech.upper() != "PJSIP" or not endpoint:
            raise ActionError("Invalid channel")
        priority, timeout, num, name, variables = self._originate_args(msg)
        action_id = msg.get("actionid")
        self.sim.spawn(self.sim.originate(endpoint, msg["context"], msg["exten"], priority, num, name, timeout,
                                          msg.get("account", ""), variables, msg.get("channelid") or None, action_id))
        return [[("Response", "Success")] + aid + [("Message", "Originate successfully queued")]]

    def _originate_args(self, msg) -> tuple[int, float, str, str, dict[str, str]]:
        """Priority, timeout (s), caller id number and name, and Variable= pairs of an Originate."""
        if msg.get("application"):
            raise ActionError("Application originate is not simulated; use Context/Exten/Priority")
        if not msg.get("exten") or not msg.get("context"):
            raise ActionError("Exten and Context not specified")
        try:
            priority = int(msg.get("priority") or 1)
            timeout = int(msg.get("timeout") or 30000) / 1000
        except ValueError:
            raise ActionError("Invalid priority or timeout") from None
        cid = msg.get("callerid", "")
        name, num = "", cid.strip()
        if "<" in cid and cid.endswith(">"):
            name, num = cid[:cid.index("<")].strip().strip('"'), cid[cid.index("<") + 1:-1].strip()
        variables = {}
        for key, value in self.current_fields:
            if key.lower() == "variable":
                for pair in value.split(","):
                    k, sep, v = pair.partition("=")
                    if sep and k.strip():
                        variables[k.strip()] = v
        return priority, timeout, num, name, variables

    def _originate_local(self, msg, aid, channel: str):
        """Originate Local/exten@context (ChannelId / OtherChannelId name ;1 / ;2): pbxsim/local.py."""
        from ..features.local import originate as originate_local
        priority, timeout, num, name, variables = self._originate_args(msg)
        self.sim.spawn(originate_local(self.sim, channel, msg["context"], msg["exten"], priority, num, name, timeout,
                                       msg.get("account", ""), variables, msg.get("channelid") or None,
                                       msg.get("otherchannelid") or None, msg.get("actionid")))
        return [[("Response", "Success")] + aid + [("Message", "Originate successfully queued")]]
