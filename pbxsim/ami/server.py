"""The AMI TCP server of the simulator: Asterisk 22's wire protocol and replies, byte for byte.

Replies and texts follow the recorded traces (../shared/ami-traces): the greeting
``Asterisk Call Manager/11.0.0``, ``Authentication accepted`` / ``Authentication failed``
(then the connection is closed), list actions answered with ``EventList: start``, items and
a ``...Complete`` event with ``ListItems``. An action's reply is written before the events
the action causes, as Asterisk does.

The actions themselves: Asterisk's own (actions.py, queue_actions.py), the ``Sim*`` ones that
drive the simulator from another process (control.py), and those engines and features
registered on the kernel (``Kernel.actions``: Redirect, Atxfer, MixMonitor, ConfBridge...,
each checked against the session user's ``write =`` classes in manager.conf as Asterisk does).

Events reach a session as Asterisk sends them to its user (filters.py): only those whose
classes are all in the user's ``read =``, and through the user's ``eventfilter`` lines (plus
any the session added with the ``Filter`` action). A user without a manager.conf section (or
no manager.conf at all) gets every event, as the simulator's own login does not use it.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from ..channel import Fields
from ..engines.queues import QueueEngine
from ..kernel.actions import Action, ActionError, Reply, Request
from ..kernel.kernel import Kernel
from .actions import CoreActions
from .control import SimActions, SimControl
from .filters import FilterError, SessionFilter, for_user, parse_filter
from .queue_actions import QueueActions

log = structlog.get_logger(__name__)

GREETING = b"Asterisk Call Manager/11.0.0\r\n"


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
        self.filter: SessionFilter | None = None  # the user's read classes and eventfilters (None: all)

    def send(self, fields: Fields) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(fields))

    def event(self, data: bytes, name: str = "", privilege: str = "", text: str = "") -> None:
        if not (self.authenticated and self.events) or self.writer.is_closing():
            return
        if self.filter is not None and name and not self.filter.allows(name, privilege, text):
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
        found = self.server.action(low)
        if found is None:
            self.send([("Response", "Error")] + aid + [(
                "Message", f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.")])
            return True
        self.held = []
        self.server.current = self
        reply: Reply
        try:
            if found.classes and not self.server.permitted(self.username, found.classes):
                raise ActionError("Permission denied")
            result = found.handler(Request(msg, aid, fields, self.username))
            reply = await result if asyncio.iscoroutine(result) else result
        except ActionError as exc:
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
        cfg = self.server.kernel.config
        if msg.get("username") != cfg.username or msg.get("secret") != cfg.secret:
            self.send([("Response", "Error")] + aid + [("Message", "Authentication failed")])
            log.warning("pbxsim_ami_auth_failed", user=msg.get("username", ""))
            return False
        self.authenticated = True
        self.username = msg.get("username", "")
        self.filter = self.server.user_filter(self.username)
        self.events = msg.get("events", "on").strip().lower() not in ("off", "no", "false", "0")
        self.send([("Response", "Success")] + aid + [("Message", "Authentication accepted")])
        if self.events:
            up = str(int(time.time() - self.server.kernel.started))
            self.send([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", up),
                       ("LastReload", up), ("Status", "Fully Booted")])
        tv = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(self.server.kernel.clock.now()))
        self.server.kernel.emit("SuccessfulAuth", [
            ("EventTV", tv), ("Severity", "Informational"), ("Service", "AMI"), ("EventVersion", "1"),
            ("AccountID", self.username), ("SessionID", f"0x{id(self):x}"),
            ("LocalAddress", f"IPV4/TCP/{self.server.host}/{self.server.port}"),
            ("RemoteAddress", "IPV4/TCP/{}/{}".format(*(self.writer.get_extra_info("peername") or ("0", 0))[:2])),
            ("UsingPassword", "0"), ("SessionTV", tv)], "security,all")
        return True


def handlers(*owners: object) -> dict[str, Action]:
    """The ``action_<name>`` methods of ``owners`` by lowercased action name (no permission classes)."""
    return {name[len("action_"):]: Action(getattr(owner, name))
            for owner in owners for name in dir(owner) if name.startswith("action_")}


class AmiServer:
    """Listens on a TCP port; every logged-in session with events on gets every event."""

    def __init__(self, kernel: Kernel, control: SimControl, queues: QueueEngine):
        self.kernel = kernel
        self.sessions: set[Session] = set()
        self._server: asyncio.base_events.Server | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self._tasks: set[asyncio.Task] = set()
        self.current: Session | None = None  # the session whose action is being run
        self._own = handlers(self, CoreActions(kernel), QueueActions(queues), SimActions(control))
        kernel.wire = self.broadcast

    def action(self, name: str) -> Action | None:
        """The action called ``name`` (lowercase): Asterisk's, Sim*, or one an engine or feature registered."""
        return self._own.get(name) or self.kernel.actions.get(name)

    def permitted(self, username: str, classes: frozenset[str]) -> bool:
        """Whether ``username``'s ``write =`` classes in manager.conf allow an action of ``classes``.

        Asterisk answers ``Permission denied`` otherwise; a user missing from manager.conf (or
        no manager.conf at all) is not checked, as the simulator's own login does not use it.
        """
        sections = self.kernel.conf_files.sections("manager.conf")
        if username == "general" or username not in sections:
            return True
        granted = {c.strip().lower() for k, v in sections[username] if k == "write"
                   for c in v.split(",") if c.strip()}
        return "all" in granted or bool(granted & classes)

    def user_filter(self, username: str) -> SessionFilter | None:
        """A fresh copy of ``username``'s read classes and eventfilters (None: not in manager.conf)."""
        path = self.kernel.conf_files.dir / "manager.conf"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        found = for_user(text, username) if text else None
        for criteria, value, why in found.refused if found else ():
            log.warning("pbxsim_eventfilter_refused", user=username, filter=f"{criteria} = {value}", error=why)
        return found

    def action_filter(self, req: Request) -> Reply:
        """Add a filter to this session only (main/manager.c action_filter; needs the system class)."""
        if not self.permitted(req.username, frozenset({"system"})):
            raise ActionError("Permission denied")
        if req.msg.get("operation", "").lower() != "add":
            raise ActionError("Unknown operation")
        match = req.msg.get("matchcriteria", "")
        try:
            added = parse_filter(f"eventfilter({match})" if match else "eventfilter", req.msg.get("filter", ""))
        except FilterError as exc:
            raise ActionError("Filter did not compile.  Check the syntax of the filter given." if exc.kind == "compile"
                              else "Filter was formatted incorrectly.  Check the syntax of the filter given.") from exc
        session = self.current
        if session is not None:
            if session.filter is None:
                session.filter = SessionFilter()
            session.filter.add(added)
        return [[("Response", "Success")] + req.aid + [("Message", "Success")]]

    def action_events(self, req: Request) -> Reply:
        mask = req.msg.get("eventmask", "on").strip().lower()
        on = mask not in ("off", "no", "false", "0")
        if self.current is not None:
            self.current.events = on
        return [[("Response", "Success")] + req.aid + [("Events", "On" if on else "Off")]]

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
        text = "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"  # what Asterisk's filters read
        data = text.encode("utf-8")
        name, privilege = fields[0][1], fields[1][1] if len(fields) > 1 else ""
        for s in list(self.sessions):
            s.event(data, name, privilege, text)
