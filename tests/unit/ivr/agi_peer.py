"""Asterisk's side of a FastAGI call, over a real TCP socket, for the IVR tests.

It connects to the IVR, sends the agi_* block the way res_agi.c setup_env() writes
it, parses each command with res_agi.c's quoting rules, and replies as res_agi.c
does: ``200 result=1`` / ``200 result= (timeout)`` for GET DATA, ``200 result=1 (value)``
for GET VARIABLE, a lone ``HANGUP`` line when the caller hangs up, then ``511`` for
every later command. The caller is a script: the keys pressed at each GET DATA, and
what each Queue() ends with.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

HANGUP = "HANGUP"        # in ``keys``: the caller hangs up during that prompt
ANSWERED = "ANSWERED"    # in ``queue``: an agent answers, then the caller hangs up
NO_APP = "NO_APP"        # in ``queue``: Asterisk has no Queue application (app_queue not loaded)


def parse_args(line: str) -> list[str]:
    """Split a command line like res_agi.c parse_args(): quotes toggle, backslash escapes."""
    args: list[str] = []
    cur: list[str] = []
    quoted = escaped = False
    started = False
    for ch in line:
        if escaped:
            cur.append(ch)
            escaped = False
            started = True
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch in " \t" and not quoted:
            if started:
                args.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        args.append("".join(cur))
    return args


def agi_environment(uniqueid: str = "1700000000.1", callerid: str = "caller", calleridname: str = "Customer caller",
                    script: str = "hotline", port: int = 4573) -> list[tuple[str, str]]:
    """The block Asterisk 22 sends for AGI(agi://127.0.0.1:PORT/SCRIPT) from ivr,s,1."""
    return [
        ("agi_network", "yes"), ("agi_network_script", script),
        ("agi_request", f"agi://127.0.0.1:{port}/{script}"), ("agi_channel", "PJSIP/caller-00000001"),
        ("agi_language", "en"), ("agi_type", "PJSIP"), ("agi_uniqueid", uniqueid),
        ("agi_version", "22.10.1"), ("agi_callerid", callerid), ("agi_calleridname", calleridname),
        ("agi_callingpres", "0"), ("agi_callingani2", "0"), ("agi_callington", "0"), ("agi_callingtns", "0"),
        ("agi_dnid", "96588"), ("agi_rdnis", "unknown"), ("agi_context", "ivr"), ("agi_extension", "s"),
        ("agi_priority", "1"), ("agi_enhanced", "0.0"), ("agi_accountcode", ""),
        ("agi_threadid", "140000000000000"),
    ]


@dataclass
class FakeAsteriskCall:
    """One call placed into the IVR; ``commands`` are the parsed commands received, in order."""

    port: int
    keys: list[str | None] = field(default_factory=list)   # per GET DATA: digits, None (timeout) or HANGUP
    queue: list[str] = field(default_factory=list)         # per EXEC Queue: a QUEUESTATUS, or ANSWERED
    callerid: str = "caller"
    uniqueid: str = "1700000000.1"
    commands: list[list[str]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    snapshots: list[dict[str, str]] = field(default_factory=list)  # variables when each Queue() began
    user_events: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)  # MixMonitor arguments
    has_mixmonitor: bool = True
    said: list[str] = field(default_factory=list)  # SAY DIGITS arguments
    dead: bool = False

    async def run(self, timeout: float = 10.0) -> None:
        """Connect, talk until the IVR closes the connection (the AGI script ended)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            async with asyncio.timeout(timeout):
                env = agi_environment(self.uniqueid, self.callerid, port=self.port)
                writer.write("".join(f"{k}: {v}\n" for k, v in env).encode() + b"\n")
                await writer.drain()
                while True:
                    raw = await reader.readline()
                    if not raw:
                        return
                    reply = self._reply(parse_args(raw.decode("utf-8").rstrip("\n")))
                    writer.write(reply.encode())
                    await writer.drain()
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    def named(self, *words: str) -> list[list[str]]:
        """The commands whose first words are ``words`` (case-insensitive)."""
        words = tuple(w for phrase in words for w in phrase.split())
        n = len(words)
        return [c for c in self.commands if [w.upper() for w in c[:n]] == [w.upper() for w in words]]

    def _hangup(self) -> str:
        self.dead = True
        return "HANGUP\n200 result=-1\n"

    def _reply(self, cmd: list[str]) -> str:
        self.commands.append(cmd)
        if self.dead:
            return "511 Command Not Permitted on a dead channel or intercept routine\n"
        verb = " ".join(w.upper() for w in cmd[:2])
        if verb == "GET DATA":
            press = self.keys.pop(0) if self.keys else None
            if press == HANGUP:
                return self._hangup()
            if press is None:
                return "200 result= (timeout)\n"
            return f"200 result={press}\n"
        if verb == "STREAM FILE":
            return "200 result=0 endpos=8000\n"
        if verb == "SAY DIGITS":
            self.said.append(cmd[2])
            return "200 result=0\n"
        if verb == "SET VARIABLE":
            self.variables[cmd[2]] = cmd[3]
            return "200 result=1\n"
        if verb == "GET VARIABLE":
            if cmd[2] in self.variables:
                return f"200 result=1 ({self.variables[cmd[2]]})\n"
            return "200 result=0\n"
        if cmd[0].upper() == "EXEC":
            app, data = cmd[1], (cmd[2] if len(cmd) > 2 else "")
            if app.lower() == "queue":
                self.snapshots.append(dict(self.variables))
                outcome = self.queue.pop(0) if self.queue else ANSWERED
                if outcome == ANSWERED:
                    return self._hangup()
                if outcome == NO_APP:
                    return "200 result=-2\n"
                self.variables["QUEUESTATUS"] = outcome
                return "200 result=0\n"
            if app.lower() == "userevent":
                self.user_events.append(data)
                return "200 result=0\n"
            if app.lower() == "voicemail":
                return "200 result=0\n"
            if app.lower() == "mixmonitor" and self.has_mixmonitor:
                self.recordings.append(data)
                return "200 result=0\n"
            return "200 result=-2\n"
        if verb.startswith("HANGUP"):
            self.dead = True
            return "200 result=1\n"
        return "510 Invalid or unknown command\n"
