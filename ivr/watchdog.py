"""Ends a stalled IVR process, so Asterisk lets its callers go on to the queue.

Asterisk waits on a FastAGI socket without a timeout (res_agi.c ``run_agi``: ``ms = -1``).
An IVR whose event loop is stuck (a blocking call, a runaway computation) holds every
caller it serves in silence, and nothing on the Asterisk side frees them: an AMI Redirect
only queues a ``HANGUP`` line to the script and the channel stays in AGI() until the
script closes the socket (recorded on Asterisk 22.10.1). When the script closes it,
AGI() returns with AGISTATUS=SUCCESS, CTI_IVR_DONE is unset, and asterisk_conf's
``[ivr]`` sends the caller to ``failsafe``: straight into the queue.

So ``python -m ivr`` runs this watchdog in a thread of its own (the loop cannot watch
itself): the loop beats a heartbeat; when no beat came for ``stall_seconds`` the thread
logs why and ends the process at once, the kernel closes every AGI socket, and the
service manager (compose ``restart: unless-stopped``, systemd ``Restart=always``) starts a
fresh IVR for the next callers.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("ivr.watchdog")

EXIT_STALLED = 70  # EX_SOFTWARE: the service manager restarts the IVR


def _exit_now() -> None:
    os._exit(EXIT_STALLED)  # the loop is stuck: no clean shutdown can run


class LoopWatchdog:
    """Calls ``on_stall`` (default: end the process) when the loop has not run for ``stall_seconds``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stall_seconds: float,
                 on_stall: Callable[[], None] = _exit_now) -> None:
        if stall_seconds <= 0:
            raise ValueError("stall_seconds must be positive")
        self.loop = loop
        self.stall_seconds = stall_seconds
        self.on_stall = on_stall
        self._period = stall_seconds / 4
        self._beat = time.monotonic()
        self._stopped = threading.Event()
        self._handle: asyncio.TimerHandle | None = None
        self._thread = threading.Thread(target=self._watch, name="ivr-watchdog", daemon=True)

    def start(self) -> None:
        self._heartbeat()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._handle is not None:
            self._handle.cancel()
        self._thread.join()

    def _heartbeat(self) -> None:
        self._beat = time.monotonic()
        self._handle = self.loop.call_later(self._period, self._heartbeat)

    def _watch(self) -> None:
        while not self._stopped.wait(self._period):
            silent = time.monotonic() - self._beat
            if silent >= self.stall_seconds:
                log.critical("ivr_stalled", silent_seconds=round(silent, 1), stall_seconds=self.stall_seconds,
                             action="exiting so Asterisk sends the callers on to the failsafe queue")
                self.on_stall()
                return
