"""VoiceMail(box[@context][,options]) as app_voicemail.c leaves a message.

After the greeting and the beep (``greeting_seconds``) the caller speaks until they hang up, press
``#`` or reach ``maxsecs``
(voicemail.conf ``[general]``). A message of at least ``minsecs`` seconds is kept as the
box's next ``INBOX/msgNNNN`` (a silent 8 kHz WAV of its length and the ``.txt`` metadata file
Asterisk writes beside it, when ``SimConfig.voicemail_dir`` is set), then, as Asterisk does:
``VarSet VM_MESSAGEFILE`` (the path without extension), ``VarSet VMSTATUS`` (``SUCCESS``;
``FAILED`` when too short) on the caller's channel, even when they hung up to end the message,
and ``MessageWaiting`` (class call) with the channel's snapshot, ``Mailbox: box@context``,
``Waiting: 1``, ``New``, ``Old: 0``. A box the conf does not define is ``VMSTATUS=FAILED``.
"""

from __future__ import annotations

import os
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import structlog

from ..channel import Channel, ChannelHungUp
from ..confparse import parse_sections
from ..engines.dialplan import Dialplan
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)

SPOOL = "/var/spool/asterisk/voicemail"  # Asterisk's default, named in VM_MESSAGEFILE when nothing is written
MAX_WAV_SECONDS = 600


@dataclass(frozen=True)
class VoicemailConf:
    """The parts of voicemail.conf the simulator uses: limits and the boxes of each context."""

    maxsecs: float = 120.0
    minsecs: float = 1.0
    boxes: frozenset[str] = frozenset()  # "box@context"

    @classmethod
    def load(cls, conf_dir: str) -> VoicemailConf:
        path = Path(conf_dir) / "voicemail.conf"
        if not path.is_file():
            return cls()
        general: dict[str, str] = {}
        boxes: set[str] = set()
        for section in parse_sections(path.read_text(encoding="utf-8")):
            values = dict(section.items)
            if section.name == "general":
                general = values
            elif section.name not in ("zonemessages",):
                boxes.update(f"{box}@{section.name}" for box in values)
        return cls(
            float(general.get("maxsecs", 120) or 120),
            float(general.get("minsecs", 1) or 1),
            frozenset(boxes),
        )


class Voicemails:
    """The VoiceMail application and each box's message count."""

    def __init__(self, kernel: Kernel, dialplan: Dialplan) -> None:
        self.kernel = kernel
        self.conf = VoicemailConf.load(kernel.config.conf_dir)
        self.counts: dict[
            str, int
        ] = {}  # box@context -> messages left (numbering when no files are kept)
        self.left: list[dict] = []  # every message left, for tests and the truth
        dialplan.register_app("VoiceMail", self.app)

    async def app(self, dp: Dialplan, ch: Channel, data: str) -> None:
        args = [a.strip() for a in data.split(",")] if data else []
        box, _, context = (args[0] if args else "").partition("@")
        mailbox = f"{box}@{context or 'default'}"
        kernel = self.kernel
        if self.conf.boxes and mailbox not in self.conf.boxes:
            log.warning("pbxsim_voicemail_no_box", mailbox=mailbox, channel=ch.name)
            kernel.set_var(ch, "VMSTATUS", "FAILED")
            return
        if ch.state != 6:
            kernel.set_state(ch, 6)
        options = args[1] if len(args) > 1 else ""
        greeting = greeting_seconds(options)
        started = (
            kernel.clock.now() + greeting
        )  # recording starts after the greeting and the beep
        try:
            while (
                True
            ):  # the caller speaks until they hang up, press # or reach maxsecs
                left = self.conf.maxsecs - (kernel.clock.now() - started)
                if left <= 0:
                    break
                digit = await ch.wait(kernel.clock, left, digits=True)
                if (digit is None or digit == "#") and kernel.clock.now() >= started:
                    break
        except ChannelHungUp:
            # app_voicemail sees the hangup first, then keeps (or drops) the message (trace 05); an
            # AMI Hangup shows no HangupRequest (trace 18)
            if not ch.hangup_by_ami:
                kernel.emit("HangupRequest", ch.fields())
                ch.variables["__hanguprequest_sent"] = "yes"
        seconds = max(0.0, kernel.clock.now() - started)
        if seconds < self.conf.minsecs:
            kernel.set_var(ch, "VMSTATUS", "FAILED")
        else:
            path = self._save(mailbox, ch, seconds)
            kernel.set_var(ch, "VM_MESSAGEFILE", path)
            kernel.set_var(ch, "VMSTATUS", "SUCCESS")
            new = self.counts[mailbox]
            kernel.emit(
                "MessageWaiting",
                ch.fields()
                + [
                    ("Mailbox", mailbox),
                    ("Waiting", "1"),
                    ("New", str(new)),
                    ("Old", "0"),
                ],
                "call,all",
            )
            log.info(
                "pbxsim_voicemail_left",
                mailbox=mailbox,
                channel=ch.name,
                seconds=round(seconds, 1),
                call_id=ch.linkedid,
            )
        # app_voicemail returns 0 even when the caller hung up to end the message: an AGI EXEC answers
        # 200 and the script may still set variables (trace 24); the dialplan notices the hangup next

    def _save(self, mailbox: str, ch: Channel, seconds: float) -> str:
        box, _, context = mailbox.partition("@")
        root = self.kernel.config.voicemail_dir
        inbox = os.path.join(root or SPOOL, context, box, "INBOX")
        number = self.counts.get(mailbox, 0)
        if root:
            os.makedirs(inbox, exist_ok=True)
            number = max(
                [number]
                + [
                    int(n[3:7]) + 1
                    for n in os.listdir(inbox)
                    if n.startswith("msg") and n.endswith(".txt") and n[3:7].isdigit()
                ]
            )
        self.counts[mailbox] = number + 1
        path = os.path.join(inbox, f"msg{number:04d}")
        now = time.time()
        if root:
            with wave.open(path + ".wav", "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(b"\x00\x00" * int(min(seconds, MAX_WAV_SECONDS) * 8000))
            with open(path + ".txt", "w", encoding="utf-8") as f:
                f.write(metadata(box, ch, int(now), round(seconds)))
        self.left.append(
            {
                "mailbox": mailbox,
                "path": path,
                "seconds": seconds,
                "linkedid": ch.linkedid,
            }
        )
        return path


def greeting_seconds(options: str) -> float:
    """How long the caller hears Asterisk before the beep: the unavailable/busy greeting (``u``/``b``;
    with no recorded one: "the person at extension 2000 is unavailable"), the instructions unless
    ``s`` (~2.4 s, estimated), the beep. Trace 24: 9 s in VoiceMail(2000@default,su) kept 1.5 s
    (duration=1); trace 05: 4 s kept nothing."""
    return (
        (7.1 if ("u" in options or "b" in options) else 0.0)
        + (0.0 if "s" in options else 2.4)
        + 0.42
    )


def metadata(box: str, ch: Channel, origtime: int, duration: int) -> str:
    """The ``msgNNNN.txt`` Asterisk 22 writes (app_voicemail.c leave_voicemail)."""
    name = ch.cid_name if ch.cid_name and ch.cid_name != "<unknown>" else ""
    callerid = f'"{name}" <{ch.cid_num}>' if name else ch.cid_num  # trace 24: callerid=caller
    date = time.strftime("%a %b %e %I:%M:%S %p UTC %Y", time.gmtime(origtime))
    return (
        ";\n; Message Information file\n;\n[message]\n"
        f"origmailbox={box}\ncontext={ch.context}\nexten={ch.exten}\nrdnis=unknown\n"
        f"priority={ch.priority}\ncallerchan={ch.name}\ncallerid={callerid}\norigdate={date}\n"
        f"origtime={origtime}\ncategory=\nmsg_id={origtime}-{abs(hash(ch.uniqueid)) % 10**8:08d}\nflag=\n"
        f"duration={duration}\n"
    )
