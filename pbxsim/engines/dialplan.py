"""The dialplan engine: find extensions, run priorities, execute applications."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog

from ..channel import Channel, ChannelHungUp, Redirected
from ..confparse import match_more, Extension, pattern_matches
from ..expr import substitute

if TYPE_CHECKING:
    from ..sim import PbxSim

log = structlog.get_logger(__name__)

# Newexten shows the registered application name, whatever the case in extensions.conf.
APP_NAMES = {n.lower(): n for n in (
    "NoOp", "Answer", "Set", "Goto", "GotoIf", "BackGround", "WaitExten", "Playback", "Queue", "Hangup",
    "UserEvent", "VoiceMail", "MusicOnHold", "Wait", "Dial", "AGI", "Verbose", "Progress", "Ringing")}
SOUND_SECONDS = {"beep": 0.42, "invalid": 1.2, "vm-goodbye": 0.8}
CAUSE_TXT_EXTRA = {1: "Unallocated (unassigned) number"}


class Jump(Exception):
    """An application moved the channel to another context/extension/priority."""


class Dialplan:
    """Runs a channel through extensions.conf like pbx.c does."""

    def __init__(self, sim: "PbxSim"):
        self.sim = sim

    # --- lookup ----------------------------------------------------------
    def find(self, context: str, exten: str) -> Extension | None:
        """The extension matching ``exten`` in ``context`` (exact match first, then patterns)."""
        exts = self.sim.contexts.get(context, {})
        if exten in exts and exts[exten].steps:
            return exts[exten]
        for name, ext in exts.items():
            if name.startswith("_") and ext.steps and pattern_matches(name, exten):
                return ext
        return None

    def matchmore(self, context: str, exten: str) -> bool:
        """``ast_matchmore_extension``: could more digits still lead to an extension of ``context``?
        A pattern ending in ``!`` that matches makes the answer a final no (pbx_find_extension)."""
        for name, ext in self.sim.contexts.get(context, {}).items():
            if not ext.steps:
                continue
            m = match_more(name, exten)
            if m == 2:
                return False
            if m:
                return True
        return False

    def lookup(self, ch: Channel, name: str) -> str:
        """Value of variable or function ``name`` on ``ch``."""
        up = name.upper()
        if up.startswith("CALLERID(") and name.endswith(")"):
            what = name[9:-1].strip().lower()
            if what.startswith("num"):  # func_callerid.c compares 3 letters: num, number
                return ch.cid_num
            if what.startswith("name"):
                return ch.cid_name
            return f'"{ch.cid_name}" <{ch.cid_num}>' if ch.cid_name else ch.cid_num
        if up.startswith("CDR(") and name.endswith(")"):
            return getattr(ch, "cdr_vars", {}).get(name[4:-1].strip().lower(), "")
        special = {"CHANNEL": ch.name, "EXTEN": ch.exten, "CONTEXT": ch.context, "PRIORITY": str(ch.priority),
                   "UNIQUEID": ch.uniqueid, "LINKEDID": ch.linkedid, "CHANNEL(name)": ch.name,
                   "EPOCH": str(int(self.sim.clock.now())), "LANGUAGE()": ch.language}
        if name in special:
            return special[name]
        if name in ch.variables:
            return ch.variables[name]
        return self.sim.globals.get(name, "")

    def sub(self, ch: Channel, text: str) -> str:
        """Substitute variables and expressions of ``text`` for ``ch``."""
        return substitute(text, lambda n: self.lookup(ch, n))

    # --- running ---------------------------------------------------------
    async def run(self, ch: Channel) -> None:
        """Run ``ch`` through the dialplan until it hangs up."""
        try:
            if self.find(ch.context, ch.exten) is None:
                ch.exten = "i" if self.find(ch.context, "i") else ch.exten
            while True:
                ext = self.find(ch.context, ch.exten)
                step = ext.step(ch.priority) if ext else None
                if step is None:
                    break  # end of dialplan: Asterisk hangs the channel up
                app = APP_NAMES.get(step.app.lower(), step.app)
                data = self.sub(ch, step.data)
                # after an AMI Redirect the first step is reported with the application that was
                # interrupted (trace 07: "hold,s,1 Queue", then "hold,s,2 Answer")
                shown, shown_data = getattr(ch, "moved_from", None) or (app, data)
                ch.moved_from = None  # type: ignore[attr-defined]
                ch.app, ch.appdata = app, data
                self.sim.emit("Newexten", ch.fields() + [("Extension", ch.exten), ("Application", shown),
                                                         ("AppData", shown_data)])
                try:
                    await self.execute(ch, app, data)
                    ch.priority += 1
                except Jump:
                    pass
                except Redirected:  # AMI Redirect / Bridge (pbxsim/moves.py)
                    from ..features.moves import redirected
                    moved_from = (app, data)
                    # False: back from a Bridge-action bridge at its after-bridge goto (the real step shows)
                    jumped = await redirected(self.sim, ch)
                    ch.moved_from = moved_from if jumped else None  # type: ignore[attr-defined]
            self.finish(ch, cause=int(ch.variables.get("__hangupcause", "16")))
        except ChannelHungUp:
            if not ch.gone:
                self.caller_gone(ch)

    def finish(self, ch: Channel, cause: int = 16) -> None:
        """The dialplan ended or ran Hangup(): Cdr and Hangup."""
        if ch.gone:
            return
        self.emit_cdrs(ch)
        self.sim.emit_hangup(ch, cause)

    def caller_gone(self, ch: Channel) -> None:
        """The remote side (or an AMI Hangup) hung up while the dialplan ran an application."""
        if getattr(ch, "hangup_by_ami", False):
            self.sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            self.emit_cdrs(ch)
            self.sim.emit_hangup(ch, 16)
            return
        self.sim.emit("HangupRequest", ch.fields())
        self.sim.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        self.emit_cdrs(ch)
        # a caller hanging up outside a bridge gets Cause=0, as in traces 04/05
        self.sim.emit_hangup(ch, 0)

    def emit_cdrs(self, ch: Channel) -> None:
        """Emit the Cdr events of ``ch`` (one per queue/dial attempt, or one for the call)."""
        now = self.sim.clock.now()
        attempts = getattr(ch, "cdr_attempts", None) or [
            {"dest": "", "start": ch.created, "answer": ch.answered, "end": now,
             "disposition": "ANSWERED" if ch.answered else "NO ANSWER"}]
        for a in attempts:
            end = a.get("end") or now
            ans = a.get("answer")

            def fmt(t: float | None) -> str:
                return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else ""
            self.sim.emit("Cdr", [
                ("AccountCode", ch.accountcode), ("Source", ch.cid_num), ("Destination", ch.exten),
                ("DestinationContext", ch.context),
                ("CallerID", f'"{ch.cid_name}" <{ch.cid_num}>' if ch.cid_name else ch.cid_num),
                ("Channel", ch.name), ("DestinationChannel", a["dest"]),
                ("LastApplication", a.get("app", ch.app)), ("LastData", a.get("data", ch.appdata)),
                ("StartTime", fmt(a["start"])), ("AnswerTime", fmt(ans)), ("EndTime", fmt(end)),
                ("Duration", str(int(end - a["start"]))),
                ("BillableSeconds", str(int(end - ans)) if ans else "0"),
                ("Disposition", a["disposition"]), ("AMAFlags", "DOCUMENTATION"),
                ("UniqueID", ch.uniqueid), ("UserField", getattr(ch, "cdr_vars", {}).get("userfield", ""))])

    def goto(self, ch: Channel, target: str) -> None:
        """Move ``ch`` to ``[[context,]exten,]priority`` (priority may be a label)."""
        parts = [p.strip() for p in target.split(",")]
        if len(parts) == 1:
            ctx, exten, prio = ch.context, ch.exten, parts[0]
        elif len(parts) == 2:
            ctx, exten, prio = ch.context, parts[0], parts[1]
        else:
            ctx, exten, prio = parts[0], parts[1], parts[2]
        ext = self.find(ctx, exten)
        if ext is None:
            raise ValueError(f"Goto: no extension {ctx},{exten}")
        num = int(prio) if prio.isdigit() else ext.label(prio)
        if num is None:
            raise ValueError(f"Goto: no priority {prio} in {ctx},{exten}")
        ch.context, ch.exten, ch.priority = ctx, exten, num
        raise Jump()

    async def go_digits(self, ch: Channel, first: str) -> None:
        """Digits typed during Background/WaitExten: jump to the matching extension (or i)."""
        digits = first
        while True:
            exts = self.sim.contexts.get(ch.context, {})
            longer = any(n != digits and n.startswith(digits) for n in exts)
            if self.find(ch.context, digits) and not longer:
                break
            if not longer and not self.find(ch.context, digits):
                digits = "i" if self.find(ch.context, "i") else digits
                break
            nxt = await ch.wait(self.sim.clock, 5.0, digits=True)
            if nxt is None:
                if not self.find(ch.context, digits):
                    digits = "i"
                break
            digits += nxt
        ch.exten, ch.priority = digits, 1
        raise Jump()

    # --- applications ----------------------------------------------------
    async def execute(self, ch: Channel, app: str, data: str) -> None:
        """Run one application."""
        from . import apps
        handler = apps.APPS.get(app.lower())
        if handler is None:
            log.warning("pbxsim_unknown_application", app=app, channel=ch.name)
            return
        await handler(self, ch, data)
