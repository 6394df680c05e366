"""AGI(agi://host:port/script?args): the FastAGI client side, as res_agi.c speaks it.

The simulator connects to the AGI server, sends the ``agi_*`` environment and a blank
line, then answers each command line with ``200 result=...`` (``510 Invalid or unknown
command`` otherwise). When the caller hangs up it sends a bare ``HANGUP`` line, answers
further commands with ``511 Command Not Permitted on a dead channel`` and closes.
An application run by ``EXEC`` is the channel's application meanwhile (CoreShowChannels shows
``Queue``, as pbx_exec sets it). When the channel is sent elsewhere meanwhile (AMI Redirect, the
after-bridge goto of an AMI Bridge) res_agi sees the async goto as a hangup: the EXEC's reply,
``HANGUP``, AGISTATUS=HANGUP (trace 18), and the dialplan goes on where the channel was sent.
"""

from __future__ import annotations

import asyncio
import shlex
from urllib.parse import urlsplit

import structlog

from .. import callerid
from ..channel import Channel, ChannelHungUp, Redirected
from .dialplan import SOUND_SECONDS, Dialplan

log = structlog.get_logger(__name__)

CONNECT_TIMEOUT = 5.0


def _sound_seconds(name: str) -> float:
    return SOUND_SECONDS.get(name, 1.0)


async def run_agi(dp: Dialplan, ch: Channel, data: str) -> None:
    """Run one FastAGI session for ``ch``; sets AGISTATUS (SUCCESS, FAILURE or HANGUP)."""
    kernel = dp.kernel
    url, _, argstr = data.partition(",")
    parts = urlsplit(url.strip())
    if parts.scheme != "agi":
        log.warning("pbxsim_agi_unsupported", url=url, channel=ch.name)
        kernel.set_var(ch, "AGISTATUS", "FAILURE")
        return
    host = kernel.config.agi_host or parts.hostname or "127.0.0.1"
    port = kernel.config.agi_port or parts.port or 4573
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
    except (OSError, asyncio.TimeoutError) as exc:
        log.warning("pbxsim_agi_connect_failed", host=host, port=port, channel=ch.name, error=str(exc))
        kernel.set_var(ch, "AGISTATUS", "FAILURE")
        return
    args = [a for a in argstr.split(",")] if argstr else []
    env = [("agi_network", "yes"), ("agi_network_script", parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")),
           ("agi_request", url.strip()), ("agi_channel", ch.name), ("agi_language", ch.language),
           ("agi_type", "PJSIP"), ("agi_uniqueid", ch.uniqueid), ("agi_version", "22.10.1"),
           ("agi_callerid", ch.cid_num or "unknown"), ("agi_calleridname", ch.cid_name or "unknown"),
           ("agi_callingpres", "0"), ("agi_callingani2", "0"), ("agi_callington", "0"), ("agi_callingtns", "0"),
           ("agi_dnid", ch.dnid or "unknown"), ("agi_rdnis", "unknown"), ("agi_context", ch.context),
           ("agi_extension", ch.exten), ("agi_priority", str(ch.priority)), ("agi_enhanced", "0.0"),
           ("agi_accountcode", ""), ("agi_threadid", str(id(ch)))]
    env += [(f"agi_arg_{i}", a) for i, a in enumerate(args, 1)]
    session = _AgiSession(dp, ch, reader, writer)
    writer.write(("".join(f"{k}: {v}\n" for k, v in env) + "\n").encode("utf-8"))
    status = "SUCCESS"
    try:
        await session.loop()
    except (ChannelHungUp, Redirected):
        status = "HANGUP"
        raise
    except (ConnectionError, OSError):
        status = "FAILURE"
    finally:
        writer.close()
        if ch.hungup.is_set():
            status = "HANGUP"
        if not ch.gone:
            kernel.set_var(ch, "AGISTATUS", status)
    if ch.hungup.is_set():
        raise ChannelHungUp(ch.name)


class _AgiSession:
    def __init__(self, dp: Dialplan, ch: Channel, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.dp, self.ch, self.reader, self.writer = dp, ch, reader, writer
        self.kernel = dp.kernel

    def reply(self, text: str) -> None:
        self.writer.write((text + "\n").encode("utf-8"))

    async def loop(self) -> None:
        hang_sent = False
        while True:
            line_task = asyncio.ensure_future(self.reader.readline())
            hang_task = asyncio.ensure_future(self.ch.hungup.wait())
            done, _ = await asyncio.wait({line_task, hang_task}, return_when=asyncio.FIRST_COMPLETED)
            hang_task.cancel()
            if line_task not in done:
                if not hang_sent:
                    self.reply("HANGUP")
                    hang_sent = True
                try:
                    raw = await asyncio.wait_for(line_task, 2.0)
                except asyncio.TimeoutError:
                    raise ChannelHungUp(self.ch.name) from None
            else:
                raw = line_task.result()
            if not raw:
                return  # the AGI server closed: the dialplan goes on
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            if self.ch.hungup.is_set():
                if not hang_sent:
                    self.reply("HANGUP")
                    hang_sent = True
                words = line.upper().split()
                if not self.ch.gone and any(words[:len(w)] == w for w in DEAD_ALLOWED):
                    await self.command(line)  # res_agi.c: these run on a dead channel (trace 24)
                else:
                    self.reply("511 Command Not Permitted on a dead channel")
                await self.writer.drain()
                continue
            await self.command(line)
            await self.writer.drain()

    async def wait_digit(self, seconds: float, escape: str) -> str | None:
        """Wait up to ``seconds``; a digit in ``escape`` interrupts (others are dropped)."""
        clock = self.kernel.clock
        end = clock.now() + seconds
        while True:
            digit = await self.ch.wait(clock, max(0.0, end - clock.now()), digits=True)
            if digit is None:
                return None
            if digit in escape:
                return digit

    async def command(self, line: str) -> None:
        try:
            words = shlex.split(line)
        except ValueError:
            self.reply("520 Invalid command syntax.  Proper usage not available.")
            return
        up = [w.upper() for w in words]
        ch, kernel = self.ch, self.kernel
        try:
            if up[:1] == ["ANSWER"]:
                if ch.state != 6:
                    kernel.set_state(ch, 6)
                self.reply("200 result=0")
            elif up[:1] == ["NOOP"]:
                self.reply("200 result=0")
            elif up[:2] == ["STREAM", "FILE"] and len(words) >= 3:
                escape = words[3] if len(words) > 3 else ""
                secs = _sound_seconds(words[2])
                digit = await self.wait_digit(secs, escape)
                self.reply(f"200 result={ord(digit) if digit else 0} endpos={int(secs * 8000)}")
            elif up[:2] == ["GET", "DATA"] and len(words) >= 3:
                timeout_ms = int(words[3]) if len(words) > 3 else 6000
                max_digits = int(words[4]) if len(words) > 4 else 1024
                got = ""
                first = await self.wait_digit(_sound_seconds(words[2]), "0123456789*#")
                if first is not None:
                    got = first
                timed_out = False
                while len(got) < max_digits:
                    d = await ch.wait(kernel.clock, (timeout_ms or 6000) / 1000, digits=True)
                    if d is None:
                        timed_out = True
                        break
                    if d == "#":
                        break
                    got += d
                self.reply(f"200 result={got}" + (" (timeout)" if timed_out else ""))
            elif up[:3] == ["WAIT", "FOR", "DIGIT"]:
                ms = int(words[3]) if len(words) > 3 else -1
                d = await ch.wait(kernel.clock, None if ms < 0 else ms / 1000, digits=True)
                self.reply(f"200 result={ord(d) if d else 0}")
            elif up[:2] in (["SAY", "DIGITS"], ["SAY", "NUMBER"]) and len(words) >= 3:
                escape = words[3] if len(words) > 3 else ""
                digit = await self.wait_digit(0.5 * len(words[2]), escape)
                self.reply(f"200 result={ord(digit) if digit else 0}")
            elif up[:2] == ["SET", "VARIABLE"] and len(words) >= 4:
                kernel.set_var(ch, words[2], words[3])
                self.reply("200 result=1")
            elif up[:2] == ["SET", "CALLERID"] and len(words) >= 3:
                # res_agi.c handle_setcallerid: only the first argument counts (quote the whole
                # '"Name" <number>' to set both); a missing number or name becomes ''
                name, number = callerid.parse(words[2])
                kernel.set_callerid(ch, num=callerid.shrink_phone_number(number) if number is not None else "",
                                    name=name or "")
                self.reply("200 result=1")
            elif up[:2] == ["GET", "VARIABLE"] and len(words) >= 3:
                name = words[2]
                if name in ch.variables or name.upper() in ("CHANNEL", "UNIQUEID", "EXTEN", "CONTEXT") \
                        or name.upper().startswith("CALLERID(") or name in kernel.globals:  # then globals, as Asterisk
                    self.reply(f"200 result=1 ({self.dp.lookup(ch, name)})")
                else:
                    self.reply("200 result=0")
            elif up[:1] == ["EXEC"] and len(words) >= 2:
                app = words[1]
                data = " ".join(words[2:]) if len(words) > 2 else ""
                name = self.dp.display_name(app)
                if app.lower() not in self.dp.apps:
                    self.reply("200 result=-2")
                    return
                step = ch.app, ch.appdata
                ch.app, ch.appdata = name, data
                try:
                    await self.dp.execute(ch, name, data)
                except Redirected:  # an async goto: the application returns, res_agi sees a hangup
                    self.reply("200 result=0")
                    self.reply("HANGUP")
                    try:
                        await self.writer.drain()
                    except (ConnectionError, OSError):
                        pass  # the script went away meanwhile: the channel is moved all the same
                    raise
                finally:
                    if not ch.gone:
                        ch.app, ch.appdata = step
                self.reply("200 result=0")
            elif up[:1] == ["VERBOSE"]:
                self.reply("200 result=1")
            elif up[:1] == ["HANGUP"]:
                self.reply("200 result=1")
                await self.writer.drain()
                ch.request_hangup(16)
            else:
                self.reply("510 Invalid or unknown command")
        except ChannelHungUp:
            self.reply("HANGUP")
            raise
        except ValueError:
            self.reply("520 Invalid command syntax.  Proper usage not available.")


# res_agi.c's commands flagged to run on a dead channel (of those the simulator knows)
DEAD_ALLOWED = (["SET", "VARIABLE"], ["GET", "VARIABLE"], ["VERBOSE"], ["NOOP"])


def register(dp: Dialplan) -> None:
    """Offer the AGI application on ``dp``."""
    dp.register_app("AGI", run_agi)
