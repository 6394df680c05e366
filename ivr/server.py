"""The FastAGI server: one asyncio task per call, walking the menu tree of ivr/menu.py.

Asterisk connects (``AGI(agi://host:4573/hotline)``), sends the agi_* block, and we
drive the call with AGI commands. What the caller did is written back as channel
variables (VarSet on AMI) for the CTI server: ``CTI_IVR_PATH``, ``CTI_IVR_KEYS``,
``CTI_CUSTOMER_NO``, ``CTI_AUTHENTICATED`` (yes/no), and ``CTI_IVR_DONE=yes`` once
the caller has been routed — the dialplan sends anyone without it straight to the
queue, so a caller is never lost when the IVR goes away.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import structlog

from ivr.agi import AgiChannel, AgiCommandError, AgiError, AgiHangup, read_environment
from ivr.menu import AuthenticateNode, HangupNode, Menu, MenuNode, QueueNode, VoicemailNode, load_menu
from ivr.nodes import node_types
from ivr.policy import LinePolicy

log = structlog.get_logger(__name__)

STORE_TIMEOUT = 3.0   # seconds a store lookup may hold a caller before we go on without it


def start_node(script: str) -> str | None:
    """``hotline?node=verify`` -> ``verify``: where a caller sent back to the IVR starts (None: the menu's start)."""
    from urllib.parse import parse_qs

    _, _, query = script.partition("?")
    values = parse_qs(query).get("node") or [None]
    return values[0]


class IvrSession:
    """One caller's walk through the menu; ``run()`` returns when the caller is routed or gone."""

    def __init__(self, channel: AgiChannel, menu: Menu, store: Any = None, start: str | None = None,
                 policy: LinePolicy | None = None) -> None:
        self.ch = channel
        self.menu = menu
        self.entered = start not in menu.nodes  # a new call, not one sent back to a node of the IVR
        self.policy = policy
        self.closed_reason: str | None = None
        self.customer_class = ""
        self.locked = False  # the customer number is locked after too many wrong PINs
        self.start = start if start in menu.nodes else menu.start  # "back to the IVR" at a chosen node
        self.store = store
        self.path: list[str] = []
        self.keys: list[str] = []
        self.plays: Counter[str] = Counter()
        self.fallbacks = 0
        self.customer_no = ""
        self.authenticated = False
        self._reported: dict[str, str] = {}

    async def run(self) -> None:
        """Walk from the start node until a node ends the call; then mark the call routed."""
        target: str | None = await self._entry()
        while target is not None:
            if target not in self.menu.nodes:      # the built-in "hangup"
                break
            node = self.menu.node(target)
            self.path.append(target)
            log.info("ivr_node", node=target, type=node.type)
            if isinstance(node, MenuNode):
                target = await self._menu(node)
            elif isinstance(node, AuthenticateNode):
                target = await self._authenticate(node)
            elif isinstance(node, QueueNode):
                target = await self._queue(node)
            elif node.type in node_types():
                target = await node_types()[node.type].run(self, node)
            elif isinstance(node, VoicemailNode):
                await self._report()
                await self._exec("VoiceMail", f"{node.mailbox},{node.options}")
                target = None
            else:
                assert isinstance(node, HangupNode)
                await self._report()
                if node.prompt:
                    await self.ch.stream_file(node.prompt)
                target = None
        await self._report()
        await self.ch.set_variable("CTI_IVR_DONE", "yes")
        log.info("ivr_done", path=",".join(self.path), keys="".join(self.keys))

    async def _entry(self) -> str:
        """Where the call starts: the closed node (the menu's first) when the hotline is closed now."""
        closed = next((n.name for n in self.menu.nodes.values() if n.type == "closed"), None)
        if not self.entered or self.policy is None or closed is None:
            return self.start
        self.closed_reason = await self.policy.closed_reason(self.menu.name)
        if self.closed_reason is None:
            return self.start
        log.info("ivr_line_closed", hotline=self.menu.name, reason=self.closed_reason)
        await self._step("service_hours", Outcome="closed", Reason=self.closed_reason, Hotline=self.menu.name)
        return closed

    async def _step(self, step: str, **fields: str) -> None:
        """Tell the work order what happened here (UserEvent CtiStep, see ctiserver/selfservice/steps.py)."""
        await self._exec("UserEvent", ",".join([f"CtiStep,Step: {step}", *(f"{k}: {v}" for k, v in fields.items())]))

    # -- nodes --------------------------------------------------------------
    async def _menu(self, node: MenuNode) -> str:
        """Prompt for one key, at most ``node.tries`` plays per call (re-entries count, as recorded)."""
        while self.plays[node.name] < node.tries:
            self.plays[node.name] += 1
            digits, _timed_out = await self.ch.get_data(node.prompt, int(node.timeout * 1000), 1)
            if not digits:
                log.info("ivr_no_key", node=node.name, play=self.plays[node.name])
                continue
            key = digits[0]
            self.keys.append(key)
            target = node.keys.get(key)
            if target is None:
                log.info("ivr_invalid_key", node=node.name, key=key)
                await self._report()
                if node.invalid_prompt:
                    await self.ch.stream_file(node.invalid_prompt)
                continue
            log.info("ivr_key", node=node.name, key=key, target=target)
            return target             # the next node reports path and keys
        log.info("ivr_menu_exhausted", node=node.name, target=node.on_exhausted)
        return node.on_exhausted

    async def _authenticate(self, node: AuthenticateNode) -> str:
        """Customer number (from the caller's phone, else typed) and PIN, checked in the store."""
        if self.store is None:
            log.warning("ivr_auth_without_store", node=node.name)
            return node.on_failure
        await self._report()
        known = self.customer_no or await self._identify()
        ms = int(node.timeout * 1000)
        tried = known
        for attempt in range(1, node.tries + 1):
            number = known
            if not number:
                typed, _ = await self.ch.get_data(node.customer_prompt, ms, node.customer_digits)
                if not typed.isdigit():
                    continue
                number = node.customer_prefix + typed
            tried = number
            pin, _ = await self.ch.get_data(node.pin_prompt, ms, node.pin_digits)
            outcome = await self._verify(number, pin) if pin.isdigit() else "wrong"
            if outcome == "ok":
                self.customer_no, self.authenticated = number, True
                await self._classify(number)
                await self._report_customer()
                log.info("ivr_authenticated", customer_no=number, attempt=attempt)
                return node.next
            log.info("ivr_auth_failed", customer_no=number, attempt=attempt, outcome=outcome)
            if outcome == "locked":
                # Locked (now or before this call): no more tries; the agent hears why from the pop.
                self.customer_no, self.locked = number, True
                await self._report_customer()
                await self._step("pin", Outcome="locked", Customer=number, Attempt=str(attempt))
                if node.locked_prompt:
                    await self.ch.stream_file(node.locked_prompt)
                return node.on_failure
            if node.failed_prompt:
                await self.ch.stream_file(node.failed_prompt)
        await self._report_customer(attempted=True)
        await self._step("pin", Outcome="failed", Customer=tried, Attempt=str(node.tries))
        return node.on_failure

    async def _queue(self, node: QueueNode) -> str | None:
        """Queue the caller; on a fallback status send IvrFallback and go to the next fallback node."""
        if node.identify_by_phone and not self.customer_no:
            await self._identify()
        await self._report_customer()
        await self._report()
        if self.fallbacks:
            # QUEUESTATUS is only set on a failure: clear the previous attempt's value.
            await self.ch.set_variable("QUEUESTATUS", "")
        log.info("ivr_queue", queue=node.queue, attempt=self.fallbacks + 1)
        await self._prioritise(node.queue)
        await self._record(node.queue)
        await self._exec("Queue", f"{node.queue},{node.options},,,{node.timeout}")
        status = (await self.ch.get_variable("QUEUESTATUS") or "").upper()
        if status == "CONTINUE" and node.after_agent:  # option c: the agent hung up, the caller is still here
            log.info("ivr_after_agent", queue=node.queue, target=node.after_agent)
            return node.after_agent
        if status not in node.fallback_on:
            log.info("ivr_queue_left", queue=node.queue, status=status or None)
            return None
        self.fallbacks += 1
        target = node.fallback[min(self.fallbacks, len(node.fallback)) - 1]
        log.info("ivr_fallback", queue=node.queue, status=status, attempt=self.fallbacks, target=target)
        await self._exec("UserEvent", f"IvrFallback,Queue: {node.queue},QueueStatus: {status},"
                                        f"Attempt: {self.fallbacks}")
        return target

    async def _prioritise(self, queue: str) -> None:
        """QUEUE_PRIO from the customer's class (app_queue seats a caller ahead of every lower priority)."""
        prio = self.policy.priority(self.customer_class) if self.policy and self.customer_class else 0
        if prio <= 0 or self._reported.get("QUEUE_PRIO") == str(prio):
            return
        await self._set("QUEUE_PRIO", str(prio))
        log.info("ivr_priority", queue=queue, customer_class=self.customer_class, priority=prio)
        await self._step("priority", Class=self.customer_class, Prio=str(prio), Queue=queue)  # not Priority: the channel's own

    async def _record(self, queue: str) -> None:
        """Record the call from here on, unless the queue's switch (global ``CTI_RECORD_<QUEUE>`` of
        extensions.conf) says no or it already is: one file per call, named after the caller's
        channel, which follows it through holds, transfers and conferences (MixMonitor option b:
        only while the caller is bridged, i.e. talking to an agent)."""
        if await self.ch.get_variable("CTI_RECORDING"):
            return
        switch = await self.ch.get_variable(f"CTI_RECORD_{re.sub(r'[^A-Za-z0-9_]', '_', queue).upper()}")
        if (switch or "yes").strip().lower() in ("no", "0", "false", "off"):
            log.info("ivr_not_recorded", queue=queue)
            return
        file = f"cti-{self.ch.uniqueid}.wav"
        if await self.ch.exec("MixMonitor", f"{file},b") == -2:  # the call goes on, unrecorded
            log.warning("ivr_recording_unavailable", queue=queue, error="Asterisk has no MixMonitor")
            return
        await self.ch.set_variable("CTI_RECORDING", file)

    async def _exec(self, app: str, args: str) -> int:
        """EXEC an application; one Asterisk does not have ends the session (the dialplan fail-safe goes on)."""
        rc = await self.ch.exec(app, args, unbounded=True)
        if rc == -2:
            raise AgiCommandError(f"Asterisk has no application {app}")
        return rc

    # -- store ----------------------------------------------------------------
    async def _identify(self) -> str:
        """The customer number of the caller's phone ('' when unknown or the store is away)."""
        phone = self.ch.caller_number
        if self.store is None or not phone:
            return ""
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                customer = await self.store.find_customer_by_phone(phone)
        except Exception as exc:  # the caller goes on unidentified; never drop them for a lookup
            log.warning("ivr_lookup_failed", error=str(exc) or type(exc).__name__)
            return ""
        if customer is None:
            return ""
        self.customer_no = str(customer.no)
        self.customer_class = customer.class_ or ""
        log.info("ivr_identified", customer_no=self.customer_no, customer_class=self.customer_class)
        return self.customer_no

    async def _verify(self, number: str, pin: str) -> str:
        """``ok``, ``wrong``, ``locked`` (the policy counts wrong PINs across calls) or ``error``."""
        if self.policy is not None:
            return await self.policy.check_pin(number, pin)
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                return "ok" if await self.store.verify_customer_pin(number, pin) else "wrong"
        except Exception as exc:
            log.warning("ivr_pin_check_failed", error=str(exc) or type(exc).__name__)
            return "error"

    async def _classify(self, number: str) -> None:
        """The authenticated customer's class (its queue priority)."""
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                customer = await self.store.find_customer_by_no(number)
        except Exception as exc:
            log.warning("ivr_lookup_failed", error=str(exc) or type(exc).__name__)
            return
        if customer is not None:
            self.customer_class = customer.class_ or ""

    # -- reporting ------------------------------------------------------------
    async def _report(self) -> None:
        """Write the path and keys so far (only what changed since the last report)."""
        await self._set("CTI_IVR_PATH", ",".join(self.path))
        await self._set("CTI_IVR_KEYS", "".join(self.keys))

    async def _report_customer(self, attempted: bool = False) -> None:
        """CTI_CUSTOMER_NO, then CTI_AUTHENTICATED (the CTI server reads the second against the first).

        Nothing for a caller nobody identified, unless they tried a PIN (then ``no``)."""
        if self.customer_no:
            await self._set("CTI_CUSTOMER_NO", self.customer_no)
        if self.customer_no or attempted:
            await self._set("CTI_AUTHENTICATED", "yes" if self.authenticated else "locked" if self.locked else "no")

    async def _set(self, name: str, value: str) -> None:
        if self._reported.get(name) == value:
            return
        await self.ch.set_variable(name, value)
        self._reported[name] = value


class IvrServer:
    """The FastAGI TCP server; ``menu`` is a Menu, a TOML path, or None for the hotline menu."""

    def __init__(self, store: Any = None, menu: Menu | str | Path | None = None, host: str = "127.0.0.1",
                 port: int = 4573, *, command_timeout: float = 30.0, policy: LinePolicy | None = None) -> None:
        self.store = store
        self.policy = policy  # None: always open, no priorities, PINs checked without a lockout
        self.menu = menu if isinstance(menu, Menu) else load_menu(menu)
        self.host = host
        self._port = port
        self.command_timeout = command_timeout
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when started with port 0)."""
        if self._server is not None and self._server.sockets:
            return self._server.sockets[0].getsockname()[1]
        return self._port

    async def start(self) -> None:
        """Listen; OSError when the address is taken."""
        self._server = await asyncio.start_server(self._accept, self.host, self._port)
        log.info("ivr_listening", host=self.host, port=self.port, menu=self.menu.name)

    async def stop(self) -> None:
        """Stop listening and end the calls in progress (their dialplan fail-safe takes them on)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        """Run until cancelled (``python -m ivr``)."""
        assert self._server is not None, "start() first"
        await self._server.serve_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._session(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self._sessions.discard(task)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            env = await read_environment(reader)
        except (AgiError, TimeoutError) as exc:
            log.warning("ivr_no_environment", peer=str(peer), error=str(exc) or type(exc).__name__)
            return
        channel = AgiChannel(reader, writer, env, command_timeout=self.command_timeout)
        with structlog.contextvars.bound_contextvars(uniqueid=channel.uniqueid, caller=channel.caller_number,
                                                     channel=env.get("agi_channel", "")):
            log.info("ivr_call", script=env.get("agi_network_script", ""), menu=self.menu.name)
            session = IvrSession(channel, self.menu, self.store, start_node(env.get("agi_network_script", "")),
                                 self.policy)
            try:
                await session.run()
            except AgiHangup as exc:
                log.info("ivr_caller_gone", path=",".join(session.path), keys="".join(session.keys),
                         reason=str(exc))
            except AgiError as exc:
                # A refused command or a silent Asterisk: end our side; the dialplan fail-safe queues the caller.
                log.error("ivr_agi_error", path=",".join(session.path), error=str(exc))
            except Exception:
                log.exception("ivr_session_failed", path=",".join(session.path))
