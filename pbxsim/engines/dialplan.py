"""The dialplan engine: find extensions, run priorities, execute the registered applications."""

from __future__ import annotations

from typing import Awaitable, Callable

import structlog

from ..channel import Channel, ChannelHungUp, Redirected
from ..confparse import Extension, match_more, pattern_matches
from ..expr import substitute
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)

SOUND_SECONDS = {"beep": 0.42, "invalid": 1.2, "vm-goodbye": 0.8}
# applications shown by their registered name in Newexten though nothing runs them here
NAMES_ONLY = ("Progress", "Ringing")


class Jump(Exception):
    """An application moved the channel to another context/extension/priority."""


App = Callable[["Dialplan", Channel, str], Awaitable[None]]


class Dialplan:
    """Runs a channel through extensions.conf like pbx.c does."""

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self.apps: dict[str, App] = {}  # lowercased name -> application (engines and features register theirs)
        # Newexten shows the registered application name, whatever the case in extensions.conf
        self.names: dict[str, str] = {n.lower(): n for n in NAMES_ONLY}

    def register_app(self, name: str, app: App) -> None:
        """Offer a dialplan application (and AGI EXEC) under ``name``."""
        self.apps[name.lower()] = app
        self.names[name.lower()] = name

    def display_name(self, app: str) -> str:
        """The application's registered name (as Newexten shows it)."""
        return self.names.get(app.lower(), app)

    # --- lookup ----------------------------------------------------------
    def find(self, context: str, exten: str) -> Extension | None:
        """The extension matching ``exten`` in ``context`` (exact match first, then patterns)."""
        exts = self.kernel.contexts.get(context, {})
        if exten in exts and exts[exten].steps:
            return exts[exten]
        for name, ext in exts.items():
            if name.startswith("_") and ext.steps and pattern_matches(name, exten):
                return ext
        return None

    def matchmore(self, context: str, exten: str) -> bool:
        """``ast_matchmore_extension``: could more digits still lead to an extension of ``context``?
        A pattern ending in ``!`` that matches makes the answer a final no (pbx_find_extension)."""
        for name, ext in self.kernel.contexts.get(context, {}).items():
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
            return ch.cdr.get(name[4:-1].strip().lower(), "")
        special = {"CHANNEL": ch.name, "EXTEN": ch.exten, "CONTEXT": ch.context, "PRIORITY": str(ch.priority),
                   "UNIQUEID": ch.uniqueid, "LINKEDID": ch.linkedid, "CHANNEL(name)": ch.name,
                   "EPOCH": str(int(self.kernel.clock.now())), "LANGUAGE()": ch.language}
        if name in special:
            return special[name]
        if name in ch.variables:
            return ch.variables[name]
        return self.kernel.globals.get(name, "")

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
                app = self.display_name(step.app)
                data = self.sub(ch, step.data)
                # after an AMI Redirect the first step is reported with the application that was
                # interrupted (trace 07: "hold,s,1 Queue", then "hold,s,2 Answer")
                shown, shown_data = ch.moved_from or (app, data)
                ch.moved_from = None
                ch.app, ch.appdata = app, data
                here = (ch.context, ch.exten, ch.priority)
                if here != ch.newexten_at:  # Newexten only when the place changes (trace 18: after-bridge goto)
                    ch.newexten_at = here
                    self.kernel.emit("Newexten", ch.fields() + [("Extension", ch.exten), ("Application", shown),
                                                                ("AppData", shown_data)])
                try:
                    await self.execute(ch, app, data)
                    if ch.hungup.is_set():  # the application returned on a hung-up channel (VoiceMail)
                        raise ChannelHungUp(ch.name)
                    ch.priority += 1
                except Jump:
                    pass
                except Redirected:  # AMI Redirect / Bridge (features/moves.py)
                    moved_from = (app, data)
                    # False: back from a Bridge-action bridge at its after-bridge goto (the real step shows)
                    jumped = await self.kernel.hooks.redirected(ch)
                    ch.moved_from = moved_from if jumped else None
            self.finish(ch, cause=int(ch.variables.get("__hangupcause", "16")))
        except ChannelHungUp:
            if not ch.gone:
                self.caller_gone(ch)

    def finish(self, ch: Channel, cause: int = 16) -> None:
        """The dialplan ended or ran Hangup(): Cdr and Hangup."""
        if ch.gone:
            return
        self.kernel.emit_cdrs(ch)
        self.kernel.emit_hangup(ch, cause)

    def caller_gone(self, ch: Channel) -> None:
        """The remote side (or an AMI Hangup) hung up while the dialplan ran an application."""
        if ch.hangup_by_ami:
            self.kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
            self.kernel.emit_cdrs(ch)
            self.kernel.emit_hangup(ch, 16 if ch.was_bridged else 0)  # see Channel.was_bridged
            return
        if not ch.variables.pop("__hanguprequest_sent", ""):  # an application may have shown it already
            self.kernel.emit("HangupRequest", ch.fields())
        self.kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", "16")])
        self.kernel.emit_cdrs(ch)
        # a caller hanging up outside a bridge gets Cause=0, as in traces 04/05
        self.kernel.emit_hangup(ch, 0)

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
            exts = self.kernel.contexts.get(ch.context, {})
            longer = any(n != digits and n.startswith(digits) for n in exts)
            if self.find(ch.context, digits) and not longer:
                break
            if not longer and not self.find(ch.context, digits):
                digits = "i" if self.find(ch.context, "i") else digits
                break
            nxt = await ch.wait(self.kernel.clock, 5.0, digits=True)
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
        handler = self.apps.get(app.lower())
        if handler is None:
            log.warning("pbxsim_unknown_application", app=app, channel=ch.name)
            return
        await handler(self, ch, data)
