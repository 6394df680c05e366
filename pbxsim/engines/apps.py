"""The basic dialplan applications (each emits what Asterisk emits for it)."""

from __future__ import annotations

from .. import callerid
from ..channel import Channel, ChannelHungUp
from .dialplan import SOUND_SECONDS, Dialplan, Jump


def _args(data: str) -> list[str]:
    return [a.strip() for a in data.split(",")] if data else []


async def noop(dp: Dialplan, ch: Channel, data: str) -> None:
    """NoOp: nothing."""


async def answer(dp: Dialplan, ch: Channel, data: str) -> None:
    """Answer: the channel goes Up."""
    if ch.state != 6:
        dp.kernel.set_state(ch, 6)


async def set_(dp: Dialplan, ch: Channel, data: str) -> None:
    """Set(NAME=value): channel variable (VarSet) or CDR field."""
    name, _, value = data.partition("=")
    name = name.strip()
    if name.upper().startswith("CALLERID(") and name.endswith(")"):
        set_callerid(dp, ch, name[9:-1].strip().lower(), value)
        return
    if name.upper().startswith("CDR(") and name.endswith(")"):
        ch.cdr[name[4:-1].strip().lower()] = value
        return
    dp.kernel.set_var(ch, name.lstrip("_"), value)


def set_callerid(dp: Dialplan, ch: Channel, what: str, value: str) -> None:
    """A write to CALLERID(num|name|all) (func_callerid.c): NewCallerid when it changes."""
    if what.startswith("num"):
        dp.kernel.set_callerid(ch, num=value)
    elif what.startswith("name"):
        dp.kernel.set_callerid(ch, name=value)
    elif what.startswith("all"):
        name, num = callerid.split(value)
        dp.kernel.set_callerid(ch, num=num, name=name)


async def goto(dp: Dialplan, ch: Channel, data: str) -> None:
    """Goto([[context,]exten,]priority)."""
    dp.goto(ch, data)


async def gotoif(dp: Dialplan, ch: Channel, data: str) -> None:
    """GotoIf(cond?iftrue:iffalse)."""
    cond, _, dest = data.partition("?")
    yes, _, no = dest.partition(":")
    target = yes if cond.strip() not in ("", "0") else no
    if target.strip():
        dp.goto(ch, target)


async def background(dp: Dialplan, ch: Channel, data: str) -> None:
    """BackGround(file): play, a digit interrupts and jumps to that extension."""
    if ch.state != 6:
        dp.kernel.set_state(ch, 6)
    for f in _args(data)[0].split("&") if data else []:
        digit = await ch.wait(dp.kernel.clock, SOUND_SECONDS.get(f, 1.0), digits=True)
        if digit is not None:
            dp.kernel.set_var(ch, "BACKGROUNDSTATUS", "SUCCESS")
            await dp.go_digits(ch, digit)
    dp.kernel.set_var(ch, "BACKGROUNDSTATUS", "SUCCESS")


async def waitexten(dp: Dialplan, ch: Channel, data: str) -> None:
    """WaitExten(seconds): a digit jumps to its extension, a timeout goes to t."""
    args = _args(data)
    secs = float(args[0]) if args and args[0] else 10.0
    digit = await ch.wait(dp.kernel.clock, secs, digits=True)
    if digit is not None:
        await dp.go_digits(ch, digit)
    if dp.find(ch.context, "t"):
        ch.exten, ch.priority = "t", 1
        raise Jump()
    ch.variables["__hangupcause"] = "16"
    ch.request_hangup(16)
    dp.finish(ch)
    ch.check()


async def playback(dp: Dialplan, ch: Channel, data: str) -> None:
    """Playback(file[&file]): waits for the sound's length."""
    for f in (_args(data)[0].split("&") if data else []):
        await ch.wait(dp.kernel.clock, SOUND_SECONDS.get(f, 1.0))
    dp.kernel.set_var(ch, "PLAYBACKSTATUS", "SUCCESS")


async def wait(dp: Dialplan, ch: Channel, data: str) -> None:
    """Wait(seconds)."""
    await ch.wait(dp.kernel.clock, float(_args(data)[0] or 0) if data else 0)


async def musiconhold(dp: Dialplan, ch: Channel, data: str) -> None:
    """MusicOnHold(class[,duration]): MusicOnHoldStart, waits, MusicOnHoldStop."""
    args = _args(data)
    cls = args[0] if args and args[0] else "default"
    dur = float(args[1]) if len(args) > 1 and args[1] else None
    dp.kernel.emit("MusicOnHoldStart", ch.fields() + [("Class", cls)])
    try:
        await ch.wait(dp.kernel.clock, dur)
    finally:
        dp.kernel.emit("MusicOnHoldStop", ch.fields())


async def hangup(dp: Dialplan, ch: Channel, data: str) -> None:
    """Hangup([cause])."""
    cause = int(data) if data.strip().isdigit() else 16
    if not ch.gone:  # the application asks for the hangup: SoftHangupRequest (trace 10, after ConfBridge)
        dp.kernel.emit("SoftHangupRequest", ch.fields() + [("Cause", str(cause))])
    dp.finish(ch, cause)
    raise ChannelHungUp(ch.name)


async def userevent(dp: Dialplan, ch: Channel, data: str) -> None:
    """UserEvent(name,Key: value,...)."""
    args = data.split(",")
    fields = [("UserEvent", args[0].strip())]
    for kv in args[1:]:
        k, _, v = kv.partition(":")
        if k.strip():
            fields.append((k.strip(), v.strip()))
    dp.kernel.emit("UserEvent", ch.fields() + fields, "user,all")


async def voicemail(dp: Dialplan, ch: Channel, data: str) -> None:
    """VoiceMail(box@context,opts): records nothing; the caller talks until they hang up (max 60 s)."""
    if ch.state != 6:
        dp.kernel.set_state(ch, 6)
    await ch.wait(dp.kernel.clock, 60.0)
    dp.kernel.set_var(ch, "VMSTATUS", "SUCCESS")


async def verbose(dp: Dialplan, ch: Channel, data: str) -> None:
    """Verbose: nothing visible on AMI."""


def register(dp: Dialplan) -> None:
    """Offer the basic applications on ``dp`` (Queue, Dial, AGI and the features add theirs)."""
    for name, app in (("NoOp", noop), ("Answer", answer), ("Set", set_), ("Goto", goto), ("GotoIf", gotoif),
                      ("BackGround", background), ("WaitExten", waitexten), ("Playback", playback),
                      ("Wait", wait), ("MusicOnHold", musiconhold), ("Hangup", hangup),
                      ("UserEvent", userevent), ("VoiceMail", voicemail), ("Verbose", verbose)):
        dp.register_app(name, app)
