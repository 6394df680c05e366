"""The FastAGI wire protocol: the agi_* environment, commands, and Asterisk's replies.

Written here rather than on ``panoramisk.fast_agi`` because that module spins forever
when the peer closes before the blank line (``reader.read`` keeps returning b''),
uses ``asyncio.coroutine`` (gone in Python 3.11), ignores the ``HANGUP`` line
Asterisk sends on its own, has no timeouts, and only ``ctiserver/ami`` may import
panoramisk anyway.

Replies, as res_agi.c writes them: ``200 result=N [(data)] [endpos=N]``,
``510 Invalid or unknown command``, ``511 Command Not Permitted on a dead channel``,
``520-...`` usage text ending with ``520 End of proper usage.``; and, at any moment
after the caller hung up, a bare ``HANGUP`` line.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

ENV_TIMEOUT = 5.0          # seconds for Asterisk to send the agi_* block
MAX_LINE = 8192

_REPLY = re.compile(r"^(?P<code>\d{3})(?P<sep>[ -])(?P<rest>.*)$")
_RESULT = re.compile(r"result=(?P<result>\S*)(?:\s+\((?P<data>[^)]*)\))?")
_KV = re.compile(r"(?P<key>[a-z]+)=(?P<value>\S*)")


class AgiError(Exception):
    """The AGI conversation cannot go on."""


class AgiHangup(AgiError):
    """The caller hung up or Asterisk closed the connection: a normal end of a call."""


class AgiTimeout(AgiError):
    """Asterisk did not answer a command in time."""


class AgiCommandError(AgiError):
    """Asterisk refused a command (510 unknown, 520 bad syntax)."""


class AgiValueError(AgiError, ValueError):
    """A value was refused before anything was written to the socket."""


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One parsed reply: ``code`` (200, 510, 511, 520), ``result``, ``data`` in parentheses, extras."""

    code: int
    result: str = ""
    data: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def number(self) -> int | None:
        """``result`` as an integer, None when it is empty or not a number (GET DATA digits are)."""
        try:
            return int(self.result)
        except ValueError:
            return None


def parse_reply(line: str) -> AgiReply:
    """Parse one reply line (without its newline)."""
    m = _REPLY.match(line)
    if not m:
        raise AgiError(f"unparsable AGI reply {line!r}")
    code = int(m.group("code"))
    rest = m.group("rest")
    if code != 200:
        return AgiReply(code, raw=line)
    r = _RESULT.search(rest)
    if not r:
        raise AgiError(f"AGI reply without result= {line!r}")
    tail = rest[r.end():]
    extra = {k.group("key"): k.group("value") for k in _KV.finditer(tail)}
    return AgiReply(code, r.group("result"), r.group("data"), extra, line)


def check_value(name: str, value: str) -> str:
    """Refuse a value that could end or split an AGI command line (CR, LF, NUL)."""
    if not isinstance(value, str):
        raise AgiValueError(f"{name}: expected text, got {type(value).__name__}")
    if any(c in value for c in "\r\n\x00"):
        raise AgiValueError(f"{name}: line breaks and NUL are not allowed ({value!r})")
    return value


def quote(value: str) -> str:
    """Quote one argument the way res_agi.c parse_args() reads it (quotes toggle, backslash escapes)."""
    check_value("argument", value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def read_environment(reader: asyncio.StreamReader, timeout: float = ENV_TIMEOUT) -> dict[str, str]:
    """Read the ``agi_key: value`` block up to its blank line; AgiHangup if the peer goes away first."""
    env: dict[str, str] = {}
    async with asyncio.timeout(timeout):
        while True:
            raw = await reader.readline()
            if not raw:
                raise AgiHangup("connection closed before the AGI environment ended")
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line:
                return env
            key, sep, value = line.partition(": ")
            if not sep:
                # Asterisk writes "agi_key: value"; tolerate "agi_key:" with an empty value.
                key, value = line.rstrip(":"), ""
            env[key.strip()] = value


class AgiChannel:
    """One caller's AGI session: sends commands, reads replies, notices the hangup."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, env: dict[str, str],
                 command_timeout: float = 30.0, deadline: float | None = None) -> None:
        self._reader = reader
        self._writer = writer
        self.env = env
        self.command_timeout = command_timeout
        self.deadline = deadline          # loop time after which bounded commands time out
        self.hungup = False

    # -- identity ---------------------------------------------------------
    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def caller_number(self) -> str:
        """The caller's number, '' when withheld or unknown."""
        num = self.env.get("agi_callerid", "")
        return "" if num.lower() in ("unknown", "anonymous", "") else num

    # -- the wire ---------------------------------------------------------
    async def command(self, *words: str, timeout: float | None = 0.0, unbounded: bool = False) -> AgiReply:
        """Send one command (words already quoted where needed) and return its reply.

        ``timeout`` 0.0 means the default; ``unbounded`` waits as long as Asterisk takes
        (EXEC Queue: an answered call returns only when it ends).
        Raises AgiHangup when the channel is gone, AgiCommandError on 510/520, AgiTimeout.
        """
        if self.hungup:
            raise AgiHangup("caller already hung up")
        line = " ".join(words)
        check_value("command", line)
        self._writer.write(line.encode("utf-8") + b"\n")
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise AgiHangup(f"connection lost: {exc}") from exc
        limit = None if unbounded else (timeout or self.command_timeout)
        if limit is not None and self.deadline is not None:
            limit = max(0.0, min(limit, self.deadline - asyncio.get_running_loop().time()))
        try:
            async with asyncio.timeout(limit):
                reply = await self._read_reply()
        except TimeoutError as exc:
            raise AgiTimeout(f"no reply to {words[0]} {words[1] if len(words) > 1 else ''}".strip()) from exc
        if reply.code == 511 or self.hungup:
            self.hungup = True
            raise AgiHangup("channel is dead")
        if reply.code in (510, 520):
            raise AgiCommandError(f"{line!r} refused: {reply.raw}")
        return reply

    async def _read_reply(self) -> AgiReply:
        while True:
            line = await self._readline()
            if line == "HANGUP":
                # Sent on its own once the channel hangs up; the reply follows it.
                self.hungup = True
                continue
            reply = parse_reply(line)
            if reply.code == 100:        # "100 result=0 Trying..." precedes the real reply
                continue
            if reply.raw.startswith("520-"):
                while not (await self._readline()).startswith("520 "):
                    pass
                return AgiReply(520, raw=reply.raw)
            return reply

    async def _readline(self) -> str:
        try:
            raw = await self._reader.readline()
        except (ConnectionError, OSError, asyncio.LimitOverrunError, ValueError) as exc:
            raise AgiHangup(f"connection lost: {exc}") from exc
        if not raw:
            self.hungup = True
            raise AgiHangup("Asterisk closed the connection")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    # -- commands the IVR uses ---------------------------------------------
    async def answer(self) -> None:
        """ANSWER the channel (a no-op when the dialplan already did)."""
        await self.command("ANSWER")

    async def stream_file(self, name: str, escape: str = "") -> str | None:
        """Play a sound; return the escape digit pressed, else None. A missing file is skipped."""
        reply = await self.command("STREAM FILE", quote(name), quote(escape), timeout=300)
        return _digit(reply.number)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> tuple[str, bool]:
        """Play ``prompt`` and collect up to ``max_digits`` digits (# ends); returns (digits, timed_out)."""
        reply = await self.command("GET DATA", quote(prompt), str(int(timeout_ms)), str(int(max_digits)),
                                   timeout=300 + timeout_ms / 1000)
        if reply.result == "-1":
            return "", True
        return reply.result, reply.data == "timeout"

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        """Wait for one key; None on timeout."""
        reply = await self.command("WAIT FOR DIGIT", str(int(timeout_ms)), timeout=10 + timeout_ms / 1000)
        return _digit(reply.number)

    async def say_digits(self, digits: str, escape: str = "") -> None:
        """Say a string of digits one by one (account numbers)."""
        if not digits.isdigit():
            raise AgiValueError(f"SAY DIGITS needs digits, got {digits!r}")
        await self.command("SAY DIGITS", digits, quote(escape), timeout=120)

    async def say_number(self, number: int, escape: str = "") -> None:
        """Say a whole number (amounts)."""
        await self.command("SAY NUMBER", str(int(number)), quote(escape), timeout=120)

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (Asterisk reports it to AMI as VarSet)."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\([A-Za-z0-9_]*\))?", name):
            raise AgiValueError(f"bad channel variable name {name!r}")
        await self.command("SET VARIABLE", name, quote(value))

    async def get_variable(self, name: str) -> str | None:
        """Read a channel variable or dialplan function; None when unset."""
        check_value("variable", name)
        if " " in name:
            raise AgiValueError(f"bad channel variable name {name!r}")
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else None

    async def exec(self, app: str, args: str, *, timeout: float | None = 0.0, unbounded: bool = False) -> int:
        """Run a dialplan application with one argument string; its return value (-2: no such app)."""
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", app):
            raise AgiValueError(f"bad application name {app!r}")
        reply = await self.command("EXEC", app, quote(args), timeout=timeout, unbounded=unbounded)
        return reply.number if reply.number is not None else -1

    async def verbose(self, message: str, level: int = 3) -> None:
        """Write a line to the Asterisk console/log."""
        await self.command("VERBOSE", quote(message), str(int(level)))

    async def hangup(self) -> None:
        """Hang the caller up; quiet when they already did."""
        if self.hungup:
            return
        try:
            await self.command("HANGUP", timeout=5)
        except AgiHangup:
            pass
        self.hungup = True


def _digit(code: int | None) -> str | None:
    """STREAM FILE / WAIT FOR DIGIT return the pressed key as its ASCII code; 0 and -1 mean none."""
    if code is None or code <= 0:
        return None
    return chr(code)


def __getattr__(name: str):
    """``from ivr.agi import IvrServer`` (the composition root's import) without an import cycle."""
    if name in ("IvrServer", "IvrSession"):
        from ivr import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
