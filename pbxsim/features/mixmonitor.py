"""MixMonitor: recording a channel (trace 13_mixmonitor).

What Asterisk 22 does, as recorded: AMI ``MixMonitor`` (Channel, File, Options) answers
``Response: Success`` with no Message, sets ``MIXMONITOR_FILENAME`` (relative names land in
/var/spool/asterisk/monitor/) and emits ``MixMonitorStart``; without File it is refused
(``Could not start monitoring channel``). ``MixMonitorMute`` (Direction read|write|both,
State 1|0) emits ``MixMonitorMute``; ``StopMixMonitor`` emits ``MixMonitorStop``. A
recording ended by the channel hanging up emits NO ``MixMonitorStop``.

The simulator keeps every recording in ``MixMonitors.recordings`` (channel, file, start, end,
how it ended, muted seconds) and, when ``SimConfig.monitor_dir`` is set, writes a silent
8 kHz WAV of the recorded (simulated) length there when the recording ends, so a server
can link and play it. With option ``b`` only the time the channel spent bridged counts
(app_mixmonitor.c writes frames only while bridged; the file itself is opened when the
recording starts, so a recording never bridged still leaves an empty WAV).
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass, field
import structlog

from ..channel import Channel, Fields
from ..engines.dialplan import Dialplan
from ..kernel.actions import ActionError, Reply, Request, bool_value
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)

SPOOL = "/var/spool/asterisk/monitor"
MAX_WAV_SECONDS = 600  # a silent WAV longer than this is cut (it only stands in for audio)


class MixMonitorError(Exception):
    """Refused as Asterisk refuses it (the message is Asterisk's)."""


@dataclass(eq=False)
class Recording:
    """One MixMonitor on one channel."""

    channel: str
    uniqueid: str
    linkedid: str
    file: str  # full path as MIXMONITOR_FILENAME shows it
    options: str
    started: float
    ended: float | None = None
    ended_by: str = ""  # "stop" (StopMixMonitor) or "hangup"
    muted: dict[str, bool] = field(default_factory=lambda: {"read": False, "write": False})
    written: str = ""  # where the WAV stand-in was written (monitor_dir), "" if not
    bridged: float = 0.0  # simulated seconds the channel spent bridged while recorded (closed spans)
    bridged_since: float | None = None  # start of the open bridged span

    @property
    def bridged_only(self) -> bool:
        """Option ``b``: only audio while the channel is bridged is written (app_mixmonitor.c MUXFLAG_BRIDGED)."""
        depth, letters = 0, []
        for c in self.options:  # option letters, skipping arguments such as W(2) or v(1)
            depth += c == "("
            if depth == 0:
                letters.append(c)
            depth -= c == ")" and depth > 0
        return "b" in letters

    def seconds(self, now: float) -> float:
        """Length of the file: the whole recording, or with ``b`` only its bridged spans."""
        end = self.ended if self.ended is not None else now
        if not self.bridged_only:
            return max(0.0, end - self.started)
        open_span = end - self.bridged_since if self.bridged_since is not None else 0.0
        return max(0.0, self.bridged + open_span)

    def as_dict(self) -> dict:
        return {"channel": self.channel, "uniqueid": self.uniqueid, "linkedid": self.linkedid, "file": self.file,
                "options": self.options, "started": self.started, "ended": self.ended, "ended_by": self.ended_by,
                "muted": dict(self.muted), "written": self.written}


class Recorded:
    """A channel's recordings still going (see Channel.feature)."""

    def __init__(self) -> None:
        self.live: list[Recording] = []


class MixMonitors:
    """Every recording of one simulator: the MixMonitor applications and actions."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan):
        self.kernel = kernel
        self.recordings: list[Recording] = []  # every recording made (live ones have ``ended`` None)
        kernel.listeners.append(self._on_event)
        kernel.hooks.truth.append(lambda: {"recordings": [r.as_dict() for r in self.recordings]})
        dialplan.register_app("MixMonitor", self.app_mixmonitor)
        dialplan.register_app("StopMixMonitor", self.app_stopmixmonitor)
        # the write classes app_mixmonitor.c registers the actions with
        kernel.register_action("MixMonitor", self.action_mixmonitor, classes=("system",))
        kernel.register_action("MixMonitorMute", self.action_mixmonitormute, classes=("system", "call"))
        kernel.register_action("StopMixMonitor", self.action_stopmixmonitor, classes=("system", "call"))

    # --- AMI actions (trace 13) -----------------------------------------------------
    def _channel(self, req: Request) -> Channel:
        name = req.msg.get("channel", "")
        if not name:
            raise ActionError("No channel specified")
        ch = self.kernel.find_channel(name)
        if ch is None or ch.gone:
            raise ActionError("No such channel")
        return ch

    def action_mixmonitor(self, req: Request) -> Reply:
        ch = self._channel(req)
        try:
            self.start(ch, req.msg.get("file", ""), req.msg.get("options", ""))
        except MixMonitorError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + req.aid]

    def action_mixmonitormute(self, req: Request) -> Reply:
        ch = self._channel(req)
        try:
            self.mute(ch, req.msg.get("direction", "both"), bool_value(req.msg.get("state")))
        except MixMonitorError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + req.aid]

    def action_stopmixmonitor(self, req: Request) -> Reply:
        ch = self._channel(req)
        try:
            self.stop(ch)
        except MixMonitorError as exc:
            raise ActionError(str(exc)) from None
        return [[("Response", "Success")] + req.aid]

    # --- recording ------------------------------------------------------------------
    def start(self, ch: Channel, file: str, options: str = "") -> Recording:
        """Start recording ``ch`` into ``file`` (MixMonitorStart)."""
        kernel = self.kernel
        if not file:
            raise MixMonitorError("Could not start monitoring channel")
        if any(c in file for c in "\r\n"):
            raise MixMonitorError("Could not start monitoring channel")
        path = file if file.startswith("/") else f"{SPOOL}/{file}"
        rec = Recording(ch.name, ch.uniqueid, ch.linkedid, path, options, kernel.clock.now())
        if ch.bridge is not None:  # started during a call (AMI MixMonitor): bridged from now
            rec.bridged_since = rec.started
        ch.feature(Recorded).live.append(rec)
        ch.audiohooks += 1
        self.recordings.append(rec)
        kernel.set_var(ch, "MIXMONITOR_FILENAME", path)
        kernel.emit("MixMonitorStart", ch.fields())
        log.info("pbxsim_mixmonitor_start", channel=ch.name, file=path, call_id=ch.linkedid)
        return rec

    def mute(self, ch: Channel, direction: str, state: bool) -> None:
        """Mute/unmute the recording's read, write or both directions (MixMonitorMute)."""
        direction = (direction or "both").lower()
        if direction not in ("read", "write", "both"):
            raise MixMonitorError("Invalid direction specified. Must be read, write or both")
        live = ch.feature(Recorded).live
        if not live:
            raise MixMonitorError("Cannot set mute flag")
        for rec in live:
            for d in (("read", "write") if direction == "both" else (direction,)):
                rec.muted[d] = state
        self.kernel.emit("MixMonitorMute", ch.fields() + [("Direction", direction), ("State", "1" if state else "0")])

    def stop(self, ch: Channel) -> None:
        """StopMixMonitor: end every recording of ``ch`` (MixMonitorStop)."""
        live = ch.feature(Recorded).live
        if not live:
            raise MixMonitorError("Could not stop monitoring channel")
        for rec in list(live):
            self._finish(rec, "stop")
        ch.audiohooks -= len(live)
        live.clear()
        self.kernel.emit("MixMonitorStop", ch.fields())
        log.info("pbxsim_mixmonitor_stop", channel=ch.name, call_id=ch.linkedid)

    def _on_event(self, event: str, msg: Fields) -> None:
        """Bridged time of each live recording; a channel's Hangup ends its recordings."""
        if event not in ("Hangup", "BridgeEnter", "BridgeLeave"):
            return
        name = next((v for k, v in msg if k == "Channel"), "")
        now = self.kernel.clock.now()
        ch = self.kernel.channels.get(name)
        hanging_up = ch is None or ch.hungup.is_set()  # leaving the bridge as it hangs up: bridged till the end
        for rec in self.recordings:
            if rec.channel != name or rec.ended is not None:
                continue
            if event == "BridgeEnter":
                if rec.bridged_since is None:
                    rec.bridged_since = now
            elif rec.bridged_since is not None and (event == "Hangup" or not hanging_up):
                rec.bridged += now - rec.bridged_since  # BridgeLeave (moved) or Hangup close the span
                rec.bridged_since = None
            if event == "Hangup":
                self._finish(rec, "hangup")  # a hangup ends it: no MixMonitorStop (trace 13)

    def _finish(self, rec: Recording, how: str) -> None:
        rec.ended = self.kernel.clock.now()
        rec.ended_by = how
        if rec.bridged_since is not None:
            rec.bridged += rec.ended - rec.bridged_since
            rec.bridged_since = None
        target = self.kernel.config.monitor_dir
        if target:
            try:
                rec.written = _write_wav(target, rec)
            except OSError as exc:
                log.warning("pbxsim_mixmonitor_write_failed", file=rec.file, error=repr(exc))

    # --- dialplan applications ------------------------------------------------------
    async def app_mixmonitor(self, dp: Dialplan, ch: Channel, data: str) -> None:
        """MixMonitor(file[,options]): start recording; a refusal is logged, the dialplan goes on."""
        args = [a.strip() for a in data.split(",")] if data else []
        try:
            self.start(ch, args[0] if args else "", args[1] if len(args) > 1 else "")
        except MixMonitorError as exc:
            log.warning("pbxsim_mixmonitor_refused", channel=ch.name, error=str(exc))

    async def app_stopmixmonitor(self, dp: Dialplan, ch: Channel, data: str) -> None:
        """StopMixMonitor()."""
        try:
            self.stop(ch)
        except MixMonitorError:
            pass


def _write_wav(directory: str, rec: Recording) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, os.path.basename(rec.file))
    seconds = min(MAX_WAV_SECONDS, rec.seconds(rec.ended or rec.started))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(seconds * 8000))
    return path
