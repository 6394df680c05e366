"""PbxSim: the composition root. It builds the kernel, the engines, the features and the AMI server.

Nothing below imports this module: each part gets what it needs through its constructor
and registers its applications, actions and hooks on the kernel or the dialplan.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

import structlog

from .ami.server import AmiServer
from .channel import Bridge, Channel, Fields
from .clock import SimClock
from .config import SimConfig
from .confparse import Endpoint
from .engines import agi, apps
from .engines.callers import CallHandle, Callers
from .engines.dial import Dialer
from .engines.dialplan import Dialplan
from .engines.queue_calls import QueueCalls
from .engines.queues import QueueEngine
from .engines.truth import interface_truth, truth
from .features.atxfer import Atxfers
from .features.chanspy import ChanSpy
from .features.confbridge import Conferences
from .features.dtmf import Dtmf
from .features.hold import phone_hold
from .features.local import LocalChannels
from .features.mixmonitor import MixMonitors
from .features.realtime import RealtimeEndpoints
from .features.moves import Moves
from .features.talk import Talks
from .features.voicemail import Voicemails
from .kernel.devices import DeviceRegistry
from .kernel.kernel import Kernel
from .scripts import CallerScript, Phone

__all__ = ["CallHandle", "PbxSim", "SimConfig"]

log = structlog.get_logger(__name__)

STOP_GRACE = 1.0  # real seconds stop() waits for calls to end before cancelling them


class PbxSim:
    """A stand-in for Asterisk: AMI over TCP, dialplan, queues, FastAGI, scripted parties."""

    def __init__(self, config: SimConfig):
        self.kernel = kernel = Kernel(config)
        # engines
        self.dialplan = Dialplan(kernel)
        apps.register(self.dialplan)
        agi.register(self.dialplan)
        self.queues = QueueEngine(kernel, kernel.queue_confs)
        QueueCalls(kernel, self.queues).register(self.dialplan)
        self.dialer = Dialer(kernel, self.dialplan)
        self.dialer.register()
        self.callers = Callers(kernel, self.dialplan)
        # features, in the order their hooks run (moves' late AgentComplete before a
        # conference's pending leaves; truth: recordings, conferences, spies)
        self.moves = Moves(kernel, self.dialplan)
        self.local = LocalChannels(kernel, self.dialplan, Talks(kernel, self.dialplan))
        self.atxfer = Atxfers(kernel, self.dialplan, self.local)
        self.mixmonitor = MixMonitors(kernel, self.dialplan)
        self.confbridge = Conferences(kernel, self.dialplan)
        self.chanspy = ChanSpy(kernel, self.dialplan)
        self.dtmf = Dtmf(kernel)
        self.voicemail = Voicemails(kernel, self.dialplan)  # replaces apps.py's VoiceMail that kept nothing
        self.realtime = RealtimeEndpoints(kernel, config.realtime_dsn) if config.realtime_dsn else None
        self.ami: AmiServer | None = None
        self.restarting = False
        self.restart_task: asyncio.Task | None = None

    # --- the kernel's state, as the public API has always shown it -------------
    @property
    def config(self) -> SimConfig:
        return self.kernel.config

    @property
    def clock(self) -> SimClock:
        return self.kernel.clock

    @property
    def channels(self) -> dict[str, Channel]:
        """Live channels by name."""
        return self.kernel.channels

    @property
    def by_endpoint(self) -> dict[str, dict[str, Channel]]:
        """Each PJSIP endpoint's live channels."""
        return self.kernel.by_endpoint

    @property
    def bridges(self) -> dict[str, Bridge]:
        """Live bridges by id."""
        return self.kernel.bridges

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return self.kernel.endpoints

    @property
    def globals(self) -> dict[str, str]:
        """extensions.conf [globals] (tests may change them)."""
        return self.kernel.globals

    @property
    def devices(self) -> DeviceRegistry:
        return self.kernel.devices

    @property
    def listeners(self) -> list[Callable[[str, Fields], None]]:
        """In-process event listeners: ``listener(event, fields)`` for every event."""
        return self.kernel.listeners

    @property
    def phone_chooser(self) -> Callable[[str], Phone] | None:
        """Picks the phone of an endpoint without set_phone (demo traffic varies each ring)."""
        return self.kernel.phone_chooser

    @phone_chooser.setter
    def phone_chooser(self, chooser: Callable[[str], Phone] | None) -> None:
        self.kernel.phone_chooser = chooser

    @property
    def calls_processed(self) -> int:
        return self.kernel.calls_processed

    def find_channel(self, name: str) -> Channel | None:
        """A live channel by name."""
        return self.kernel.find_channel(name)

    def emit(self, event: str, fields: Fields, privilege: str | None = None) -> None:
        """Send an event to the listeners and every AMI session."""
        self.kernel.emit(event, fields, privilege)

    def spawn(self, coro) -> asyncio.Task:
        """Run a background task owned by the simulator (cancelled by stop())."""
        return self.kernel.spawn(coro)

    # --- lifecycle -------------------------------------------------------
    async def start(self) -> None:
        """Start the AMI server (``self.ami_port`` is the bound port)."""
        if self.realtime is not None:
            await self.realtime.start()
        self.ami = AmiServer(self.kernel, self, self.queues)
        await self.ami.start(self.config.ami_host, self.config.ami_port)
        log.info("pbxsim_started", ami_port=self.ami_port, conf_dir=self.config.conf_dir)

    async def ami_down(self) -> None:
        """Close the AMI listener and every AMI session (as if Asterisk went away); calls go on."""
        if self.ami is not None:
            await self.ami.stop()
            log.info("pbxsim_ami_down", ami_port=self.ami.port)

    async def ami_up(self) -> None:
        """Listen again on the same AMI port after ami_down()."""
        if self.ami is not None:
            await self.ami.start(self.config.ami_host, self.ami.port)
            log.info("pbxsim_ami_up", ami_port=self.ami.port)

    async def restart(self) -> None:
        """Asterisk restarts: AMI sessions dropped, every call gone, dynamic members gone.

        As a real restart: the AMI link goes first, so no Hangup (or any other event) reaches
        anyone; every channel and bridge is gone, queue members are forgotten
        (persistentmembers=no) with the queue statistics, devices are back to their boot
        state. The Uniqueid counter goes on (ids never repeat), phone scripts stay (phones
        re-register), and the AMI server listens again on the same port.
        """
        if self.restarting:
            return
        kernel = self.kernel
        self.restarting = True
        log.info("pbxsim_restarting", channels=len(kernel.channels), ami_port=self.ami_port)
        try:
            if self.ami is not None:
                await self.ami.stop()
            kernel.silent = True
            for ch in list(kernel.channels.values()):
                ch.request_hangup(16)
            while kernel.tasks:  # calls, originates, AGI sessions: all cut
                pending = list(kernel.tasks)
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            kernel.forget_calls()
            self.queues.reset()
            kernel.seed_devices()
            kernel.calls_processed = 0
            kernel.started = time.time()
        finally:
            kernel.silent = False
            self.restarting = False
        if self.ami is not None:
            await self.ami.start(self.config.ami_host, self.ami.port)
        log.info("pbxsim_restarted", ami_port=self.ami_port)

    def restart_soon(self) -> None:
        """Restart in the background (the SimRestart action: its reply goes out first)."""
        if self.restart_task is None or self.restart_task.done():
            self.restart_task = asyncio.ensure_future(self.restart())

    @property
    def ami_port(self) -> int:
        """The TCP port the AMI server listens on."""
        return self.ami.port if self.ami else 0

    async def stop(self) -> None:
        """Hang up everything, stop background tasks and close the AMI server."""
        kernel = self.kernel
        if self.restart_task is not None:
            await asyncio.gather(self.restart_task, return_exceptions=True)
        for ch in list(kernel.channels.values()):
            ch.request_hangup(16)
        if kernel.tasks:  # let the calls say goodbye on AMI (Hangup events) before cancelling
            await asyncio.wait(set(kernel.tasks), timeout=STOP_GRACE)
        for t in list(kernel.tasks):
            t.cancel()
        if kernel.tasks:
            await asyncio.gather(*kernel.tasks, return_exceptions=True)
        if self.ami:
            await self.ami.stop()
        if self.realtime is not None:
            await self.realtime.stop()
        log.info("pbxsim_stopped")

    # --- scripted parties ------------------------------------------------
    def set_phone(self, endpoint: str, phone: Phone) -> None:
        """Script the phone of ``endpoint``."""
        self.kernel.set_phone(endpoint, phone)

    def phone(self, endpoint: str) -> Phone:
        """The phone script of ``endpoint`` (set_phone's, else the chooser's, else the default)."""
        return self.kernel.phone(endpoint)

    async def phone_hold(self, endpoint: str, held: bool = True) -> None:
        """The endpoint's phone holds (re-INVITE sendonly) or resumes (sendrecv) its bridged call (trace 06)."""
        await phone_hold(self.kernel, endpoint, held)

    async def place_call(self, script: CallerScript) -> CallHandle:
        """Start an inbound call as the script says; returns once the channel exists."""
        if self.restarting:
            raise RuntimeError("the simulated Asterisk is restarting")
        return await self.callers.place_call(script)

    async def originate(self, endpoint: str, context: str, exten: str, priority: int = 1, cid_num: str = "",
                        cid_name: str = "", timeout: float = 30.0, account: str = "",
                        variables: dict[str, str] | None = None, uniqueid: str | None = None,
                        action_id: str | None = None) -> Channel | None:
        """AMI Originate to ``PJSIP/endpoint`` (see pbxsim.engines.dial.Dialer.originate)."""
        return await self.dialer.originate(endpoint, context, exten, priority, cid_num, cid_name, timeout, account,
                                           variables, uniqueid, action_id)

    # --- truth -----------------------------------------------------------
    def interface_truth(self, interface: str) -> dict:
        """What ``interface`` (a queue member, e.g. ``PJSIP/1001``) is really doing (see truth())."""
        return interface_truth(self.kernel, self.queues, interface)

    def truth(self) -> dict:
        """What is really going on (for tests and benchmarks); the shape is in pbxsim/README.md."""
        return truth(self.kernel, self.queues)
