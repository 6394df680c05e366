"""Asterisk's voicemail spool: ``<spool>/<context>/<box>/<folder>/msgNNNN.{wav,txt}``.

Asterisk names a new message in ``VarSet VM_MESSAGEFILE`` (the full path without extension).
Only its last four parts are kept, each checked against a strict pattern, and a file is only
ever opened as ``spool_dir / context / box / folder / msgNNNN.ext`` resolved inside
``spool_dir``: nothing from an event or a request can point elsewhere. The ``.txt`` beside the
message is app_voicemail.c's metadata (``callerid``, ``origtime``, ``duration``, ...).
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTEXT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BOX = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
FOLDER = re.compile(r"^[A-Za-z]{1,16}$")
MSG = re.compile(r"^msg[0-9]{4}$")
SPOOL = "/var/spool/asterisk/voicemail"
DEMO_DIR = (
    Path(__file__).resolve().parents[2] / ".run" / "voicemail"
)  # the in-process simulator writes here
# "Zhang Wei" <13800138000>, <13800138000>, or a bare number (trace 24: callerid=caller)
_CALLERID = re.compile(r'^\s*(?:(?:"(?P<name>[^"]*)"\s*)?<(?P<num>[^>]*)>|(?P<bare>[^\s"<>]+))\s*$')


@dataclass(frozen=True)
class MessageFile:
    context: str
    box: str
    folder: str
    msg: str

    @property
    def mailbox(self) -> str:
        return f"{self.box}@{self.context}"


def spool_dir(config: Any) -> Path:
    """``voicemail.spool_dir``, else the simulator's (demo mode) or Asterisk's default."""
    if config.voicemail.spool_dir:
        return Path(config.voicemail.spool_dir)
    return DEMO_DIR if not config.ami.host else Path(SPOOL)


def parse_message_file(value: str) -> MessageFile | None:
    """``…/default/2000/INBOX/msg0000`` -> its parts; None for anything else (IMAP_STORAGE, junk)."""
    parts = value.replace("\\", "/").rstrip("/").split("/")
    if len(parts) < 4:
        return None
    context, box, folder, msg = parts[-4:]
    if not (
        CONTEXT.match(context)
        and BOX.match(box)
        and FOLDER.match(folder)
        and MSG.match(msg)
    ):
        return None
    return MessageFile(context, box, folder, msg)


def path_of(root: Path, m: MessageFile, ext: str) -> Path | None:
    """The file of ``m`` with extension ``ext`` inside ``root``; None if it would leave it."""
    if ext not in ("wav", "txt", "WAV", "gsm"):
        return None
    base = root.resolve()
    path = (base / m.context / m.box / m.folder / f"{m.msg}.{ext}").resolve()
    return path if path.is_relative_to(base) else None


def metadata(root: Path, m: MessageFile) -> dict[str, Any]:
    """What the ``.txt`` says: caller_number, caller_name, left_at (epoch), seconds; {} when unreadable."""
    path = path_of(root, m, "txt")
    if path is None or not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"))
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace")[:8192])
        section = parser["message"]
    except (configparser.Error, KeyError, OSError):
        return {}
    out: dict[str, Any] = {}
    who = _CALLERID.match(section.get("callerid", ""))
    if who:
        out["caller_number"] = (who.group("num") or who.group("bare") or "")[:32]
        out["caller_name"] = (who.group("name") or "")[:100]
    for key, name in (("origtime", "left_at"), ("duration", "seconds")):
        text = section.get(key, "")
        if text.isdigit():
            out[name] = int(text)
    return out
