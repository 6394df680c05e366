"""Call recording: link each call's MixMonitor file to its work order, and play it.

Asterisk starts the recording itself: our AMI user lacks ``system``, which the AMI
``MixMonitor`` action needs, so ``asterisk_conf/extensions.conf`` runs
``MixMonitor(cti-${UNIQUEID}.wav,b)`` on the customer's channel before the IVR and the
queue (per queue: the global ``CTI_RECORD_<QUEUE>`` = ``no`` turns it off). The ``b``
option keeps only bridged audio, so what is recorded is the conversation with the agent.
The customer's channel is the one that stays through holds (Redirect), blind and attended
transfers and conferences, so one file follows the whole call; its name carries the
call's linkedid (the customer's uniqueid), so the server can tell which call it belongs to.

What Asterisk says (trace 13): ``VarSet MIXMONITOR_FILENAME`` (full path) then
``MixMonitorStart`` on the recorded channel; ``StopMixMonitor`` gives ``MixMonitorStop``;
a recording ended by the channel hanging up gives no event but the ``Hangup``. Each start
and each end is a ``recording`` / ``recording_ended`` event on the call's work order
(store ops, so nothing is lost while PostgreSQL is away).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable

import structlog

from ctiserver.ami import events as ev
from ctiserver.calls.model import CallStep
from ctiserver.errors import Forbidden, NotFound

log = structlog.get_logger(__name__)

#: A recording file name as the dialplan makes it (and nothing that could leave the directory).
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.(wav|WAV|gsm|wav49)$")
CONTENT_TYPES = {"wav": "audio/wav", "WAV": "audio/wav", "gsm": "audio/x-gsm", "wav49": "audio/wav"}
SUPERVISORS = frozenset({"supervisor", "admin"})
SPOOL = "/var/spool/asterisk/monitor"  # Asterisk's default for relative MixMonitor file names
DEMO_DIR = Path(__file__).resolve().parents[2] / ".run" / "recordings"  # the in-process simulator writes here


def recordings_dir(config: Any) -> Path:
    """Where the recordings are: ``callcenter.recordings_dir``, else Asterisk's spool (demo mode: .run/)."""
    if config.callcenter.recordings_dir:
        return Path(config.callcenter.recordings_dir)
    return DEMO_DIR if not config.ami.host else Path(SPOOL)


class Recorder:
    """Watches the AMI events for recordings and writes them on the calls' work orders."""

    def __init__(self, config: Any, record: Callable[[CallStep], None], workorders: Any) -> None:
        self.enabled = bool(config.callcenter.recording)
        self.directory = recordings_dir(config)
        self.record = record  # the work-order projection
        self.workorders = workorders
        self._pending: dict[str, str] = {}  # channel -> MIXMONITOR_FILENAME not yet started
        self._live: dict[str, tuple[str, str]] = {}  # channel -> (linkedid, file name) being recorded

    # -- the AMI stream (called by the core for every typed event, in order) ------------

    def on_ami_event(self, e: object) -> None:
        if not self.enabled:
            return
        match e:
            case ev.VariableSet(variable="MIXMONITOR_FILENAME", channel=channel, value=value):
                self._pending[channel] = value
            case ev.RecordingStarted():
                self._started(e)
            case ev.RecordingStopped():
                self._ended(e.channel, "stop")
            case ev.ChannelHungUp(channel=channel):
                self._pending.pop(channel, None)
                self._ended(channel, "hangup")

    def _started(self, e: ev.RecordingStarted) -> None:
        path = self._pending.pop(e.channel, "")
        file = os.path.basename(path)
        if not e.linkedid or not FILE_NAME.match(file):
            log.warning("recording_not_linked", channel=e.channel, file=path[:200], call_id=e.linkedid or None)
            return
        self._live[e.channel] = (e.linkedid, file)
        now = time.time()
        self.record(CallStep(e.linkedid, "recording", {"file": file, "channel": e.channel, "started_at": now}, now))
        log.info("recording_started", call_id=e.linkedid, channel=e.channel, file=file)

    def _ended(self, channel: str, how: str) -> None:
        live = self._live.pop(channel, None)
        if live is None:
            return
        linkedid, file = live
        self.record(CallStep(linkedid, "recording_ended", {"file": file, "channel": channel, "ended_by": how},
                             time.time()))
        log.info("recording_ended", call_id=linkedid, channel=channel, file=file, ended_by=how)

    # -- playing (GET /api/workorders/{ref}/recording) -----------------------------------

    async def file_for(self, account: Any, ref: str | int) -> tuple[Path, str]:
        """The recording of work order ``ref`` that ``account`` may play: (path, content type).

        Agents play the calls they had (answered, or had before a transfer); supervisors all.
        Raises NotFound (no such work order, no recording, file not there) or Forbidden.
        """
        if not self.enabled:
            raise NotFound("recordings are switched off (callcenter.recording)", field="ref")
        wo = await self.workorders.get(ref)
        role = str(getattr(account.role, "value", account.role))
        if role not in SUPERVISORS and str(account.id) not in _agents_of(wo):
            raise Forbidden("this recording belongs to another agent's call")
        files = [e["data"].get("file") for e in wo.get("events", [])
                 if e.get("kind") == "recording" and isinstance(e.get("data"), dict)]
        for file in reversed(files):
            if not isinstance(file, str) or not FILE_NAME.match(file):
                continue
            path = self.directory / file
            if path.is_file():
                return path, CONTENT_TYPES[file.rsplit(".", 1)[1]]
        raise NotFound("this call has no recording", field="ref")


def _agents_of(wo: dict) -> set[str]:
    """Every agent who had the call: the last one, and those who had it before a transfer."""
    agents = {str(wo["agent_id"])} if wo.get("agent_id") is not None else set()
    for e in wo.get("events", []):
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        if e.get("kind") == "answered" and data.get("agent"):
            agents.add(str(data["agent"]))
        for a in data.get("agents") or () if e.get("kind") == "ended" else ():
            agents.add(str(a))
    return agents
