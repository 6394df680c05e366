"""A load source for the scale benchmark: a real AMI server replaying recorded real calls.

One process, apart from the CTI server: it listens for AMI connections like Asterisk 22
(greeting, Login, ``FullyBooted``; ``QueueStatus`` and ``CoreShowChannels`` answered as lists;
``QueueAdd``/``QueuePause``/``QueueRemove`` answered and confirmed by ``QueueMember*`` events;
``Ping``, ``Originate``, ``Redirect``... answered ``Success``) and, once started, places
``--rate`` calls per second for ``--seconds``: each call is the caller-to-hangup part of
trace 02 (../shared/ami-traces/02_ivr_queue_answer.ami, recorded on Asterisk 22.10.1: IVR,
key 1, queue ``support``, the agent rings 1.5 s, answers, talks, the caller hangs up; 183
events) with fresh Uniqueids/Linkedids, channel names and bridge ids, rung on the next
signed-in member (round robin over the ``--agents`` PJSIP/2000... the benchmark signs in)
and a caller number from a pool, at the recorded pace (``--speed``).

Every event gets ``Timestamp:`` (after ``Privilege:``, as Asterisk's ``timestampevents``)
= the wall clock when it is written, so a reader computes latency from emission. Each
session is sent what Asterisk would send its user (pbxsim/ami/filters.py: ``read =``
classes and ``eventfilter`` lines of ``--manager-conf``); ``--open-users`` (default
``baseline,control``) log in with any secret and get every event (the bare baseline reads
the unfiltered stream). The AgentCalled of each call is logged (``--called-log``: linkedid,
interface, emission time) for the pop-latency measure.

Control (an AMI session of an open user): ``Action: LoadStart`` (optional ``Rate``,
``Seconds``, ``Speed``) starts the calls; ``Action: LoadStats`` answers the counters as JSON
in ``Message``. ``--autostart`` starts once the first session has logged in.

    .venv/bin/python bench/trace_load.py serve --port 5039 --agents 2000 --rate 100 --seconds 60
    .venv/bin/python bench/trace_load.py capacity --rates 50,100,200,400 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import resource
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pbxsim.ami.filters import SessionFilter, user_entries
from pbxsim.ami.filters import load as load_filter
from tests.support.traces import trace_path, unsolicited

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
QUEUE = "support"
# The recorded call's identities, replaced in every replayed call (longest first).
REC_CALLER_CHAN, REC_AGENT_CHAN = "PJSIP/caller-00000000", "PJSIP/1001-00000001"
REC_CALLER_UID, REC_AGENT_UID = "1795335885.0", "1795335887.1"
REC_BRIDGE = "b4d96ee6-8a8f-4514-8f08-12a3091fed96"
SUBSTRINGS = [(REC_CALLER_CHAN, "PJSIP/caller-{cch}"), (REC_AGENT_CHAN, "PJSIP/{agent}-{ach}"),
              (REC_CALLER_UID, "{cu}"), (REC_AGENT_UID, "{au}"), (REC_BRIDGE, "{br}"),
              ("PJSIP/1001", "PJSIP/{agent}"), ("Agent Alice", "{aname}"), ("Customer caller", "{cname}"),
              ("<caller>", "<{cnum}>")]
WHOLE = {"1001": "{agent}", "caller": "{cnum}"}
KEEP_WHOLE = {"Reason"}  # AgentComplete Reason: caller is who hung up, not a number
MEMBER_FIELDS = {"Paused": "{paused}", "PausedReason": "{preason}", "LoginTime": "{login}"}
RECORDED = {"cch": "00000000", "ach": "00000001", "cu": REC_CALLER_UID, "au": REC_AGENT_UID, "br": REC_BRIDGE,
            "agent": "1001", "aname": "Agent Alice", "cname": "Customer caller", "cnum": "caller"}


# --- the recorded call as templates ---------------------------------------------------------

@dataclass(frozen=True)
class Template:
    offset: float  # seconds after the call's first event, as recorded
    name: str
    privilege: str
    head: str  # "Event: X\r\nPrivilege: Y\r\n"
    body: str  # the other headers, a str.format template ending in the blank line
    member: bool  # carries the member's pause state (filled when sent)


def _template_value(key: str, value: str, member_event: bool) -> str:
    if member_event and key in MEMBER_FIELDS:
        return MEMBER_FIELDS[key]
    v = value.replace("{", "{{").replace("}", "}}")
    for old, new in SUBSTRINGS:
        v = v.replace(old, new)
    if key not in KEEP_WHOLE and v in WHOLE:
        v = WHOLE[v]
    return v


def call_templates(path: Path | None = None) -> list[Template]:
    """Trace 02's call (its first Newchannel to the member's last status), as templates."""
    events = unsolicited(path or trace_path("02"))
    first = next(m for m in events if m.event == "Newchannel")
    removed = next(m for m in events if m.event == "QueueMemberRemoved")
    call = [m for m in events if first.t - 0.001 <= m.t < removed.t and m.event != "QueueMemberAdded"]
    out = []
    for m in call:
        name, privilege = m.event or "", m.get("Privilege") or ""
        member = name.startswith("QueueMember")
        body = "".join(f"{k}: {_template_value(k, v, member)}\r\n" for k, v in m.headers
                       if k.lower() not in ("event", "privilege", "timestamp")) + "\r\n"
        out.append(Template(m.t - first.t, name, privilege, f"Event: {name}\r\nPrivilege: {privilege}\r\n", body,
                            member))
        recorded = {**RECORDED, "paused": m.get("Paused") or "", "preason": m.get("PausedReason") or "",
                    "login": m.get("LoginTime") or ""}
        again = out[-1].body.format_map(recorded)
        expected = "".join(f"{k}: {v}\r\n" for k, v in m.headers if k.lower() not in ("event", "privilege")) + "\r\n"
        assert again == expected, f"templating changed {name}: {again!r} != {expected!r}"
    return out


# --- members and sessions --------------------------------------------------------------------

@dataclass
class Member:
    interface: str
    name: str
    penalty: str = "0"
    paused: bool = False
    reason: str = ""
    login: int = field(default_factory=lambda: int(time.time()))
    last_pause: int = 0

    def fields(self, interface_key: str = "Interface", name_key: str = "MemberName") -> str:
        return (f"Queue: {QUEUE}\r\n{name_key}: {self.name}\r\n{interface_key}: {self.interface}\r\n"
                f"StateInterface: {self.interface}\r\nMembership: dynamic\r\nPenalty: {self.penalty}\r\n"
                f"CallsTaken: 0\r\nLastCall: 0\r\nLastPause: {self.last_pause}\r\nLoginTime: {self.login}\r\n"
                f"InCall: 0\r\nStatus: 1\r\nPaused: {int(self.paused)}\r\nPausedReason: {self.reason}\r\n")


class Session:
    def __init__(self, writer: asyncio.StreamWriter, totals: dict[str, int]) -> None:
        self.writer = writer
        self.totals = totals  # events sent per user, over every session it had (a reconnect starts a new one)
        self.user = ""
        self.filter: SessionFilter | None = None
        self.logged_in = False
        self.events_on = True
        self.sent = 0
        self.bytes = 0
        self.max_buffer = 0
        self.pending: list[str] = []
        self.decided: dict[int, bool] = {}  # template index -> sent or not, when the template alone decides

    def offer(self, name: str, privilege: str, text: str) -> None:
        if not (self.logged_in and self.events_on):
            return
        if self.filter is not None and not self.filter.allows(name, privilege, text):
            return
        self.pending.append(text)

    def offer_template(self, index: int, t: Template, text: str) -> None:
        """``offer`` for a replayed event: the filter's decision is taken once per template when
        the headers it reads hold no per-call value (most of the source's time went there)."""
        if not (self.logged_in and self.events_on):
            return
        if self.filter is not None:
            ok = self.decided.get(index)
            if ok is None:
                ok = self.filter.allows(t.name, t.privilege, text)
                reads = self.filter.reads(t.name)
                if reads is not None and not any(line.startswith(tuple(reads)) and "{" in line
                                                 for line in t.body.split("\r\n")):
                    self.decided[index] = ok
            if not ok:
                return
        self.pending.append(text)

    def flush(self) -> None:
        if not self.pending or self.writer.is_closing():
            self.pending.clear()
            return
        data = "".join(self.pending).encode("utf-8")
        self.sent += len(self.pending)
        self.totals[self.user] = self.totals.get(self.user, 0) + len(self.pending)
        self.bytes += len(data)
        self.pending.clear()
        self.writer.write(data)
        size = self.writer.transport.get_write_buffer_size()
        self.max_buffer = max(self.max_buffer, size)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def counted_pct(counts: Counter[float], p: float) -> float:
    """``pct`` of values given as value -> how many times."""
    total = sum(counts.values())
    if not total:
        return float("nan")
    rank, seen = min(total - 1, max(0, round(p / 100 * (total - 1)))), 0
    for value in sorted(counts):
        seen += counts[value]
        if seen > rank:
            return value
    return max(counts)


# --- the AMI server and the call engine -----------------------------------------------------

class LoadSource:
    def __init__(self, ns: argparse.Namespace) -> None:
        self.ns = ns
        self.templates = call_templates()
        self.sessions: set[Session] = set()
        self.members: dict[str, Member] = {}
        self.manager_conf = Path(ns.manager_conf) if ns.manager_conf else None
        self.open_users = {u for u in ns.open_users.split(",") if u}
        self.started = asyncio.Event()
        self.done = asyncio.Event()
        self.rate, self.seconds, self.speed = ns.rate, ns.seconds, ns.speed
        self.stats = {"calls_placed": 0, "calls_done": 0, "events_generated": 0, "no_agent": 0, "logins": 0,
                      "late_max_ms": 0.0}
        self.late: Counter[float] = Counter()  # lateness in 0.1 ms steps -> how many (sorting a list of them was costly)
        self.sent_by_user: dict[str, int] = {}
        self.t_start = self.t_end = 0.0
        self.cpu_start = 0.0
        self.chan_seq = 0
        self.epoch = int(time.time())
        self.robin = 0
        self._ring: list[Member] | None = None
        self.called_log = open(ns.called_log, "w", encoding="utf-8") if ns.called_log else None  # noqa: SIM115

    # -- wire ------------------------------------------------------------------------------

    def emit(self, name: str, privilege: str, body: str, now: float | None = None) -> None:
        text = f"Event: {name}\r\nPrivilege: {privilege}\r\nTimestamp: {now or time.time():.6f}\r\n{body}"
        for s in self.sessions:
            s.offer(name, privilege, text)

    def flush(self) -> None:
        for s in self.sessions:
            s.flush()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        s = Session(writer, self.sent_by_user)
        self.sessions.add(s)
        writer.write(GREETING)
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                action: dict[str, str] = {}
                for line in block.decode("utf-8", "replace").split("\r\n"):
                    k, sep, v = line.partition(":")
                    if sep:
                        action.setdefault(k.strip().lower(), v.strip())
                if not self.answer(s, action):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # the peer went away, or the source is stopping
        finally:
            self.sessions.discard(s)
            writer.close()

    def reply(self, s: Session, aid: str, *pairs: tuple[str, str]) -> None:
        head = f"ActionID: {aid}\r\n" if aid else ""
        first, rest = pairs[0], pairs[1:]
        s.writer.write((f"{first[0]}: {first[1]}\r\n{head}" + "".join(f"{k}: {v}\r\n" for k, v in rest)
                        + "\r\n").encode("utf-8"))

    def answer(self, s: Session, a: dict[str, str]) -> bool:
        name, aid = a.get("action", "").lower(), a.get("actionid", "")
        if name == "login":
            return self.login(s, a, aid)
        if name == "logoff":
            self.reply(s, aid, ("Response", "Goodbye"), ("Message", "Thanks for all the fish."))
            return False
        if not s.logged_in:
            self.reply(s, aid, ("Response", "Error"), ("Message", "Permission denied"))
            return True
        if name == "ping":
            self.reply(s, aid, ("Response", "Success"), ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))
        elif name == "queuestatus":
            self.queue_status(s, aid)
        elif name == "coreshowchannels":
            self.reply(s, aid, ("Response", "Success"), ("EventList", "start"), ("Message", "Channels will follow"))
            s.writer.write(f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                           "ListItems: 0\r\n\r\n".encode())
        elif name == "queueadd":
            self.queue_add(s, a, aid)
        elif name == "queueremove":
            m = self.members.pop(a.get("interface", ""), None)
            self._ring = None
            if m is None:
                self.reply(s, aid, ("Response", "Error"), ("Message", "Unable to remove interface: Not there"))
            else:
                self.reply(s, aid, ("Response", "Success"), ("Message", "Removed interface from queue"))
                self.emit("QueueMemberRemoved", "agent,all", m.fields() + "Ringinuse: 0\r\nWrapuptime: 0\r\n\r\n")
        elif name == "queuepause":
            self.queue_pause(s, a, aid)
        elif name == "events":
            s.events_on = a.get("eventmask", "on").lower() not in ("off", "no", "false", "0")
            self.reply(s, aid, ("Response", "Success"), ("Events", "On" if s.events_on else "Off"))
        elif name == "loadstart":
            self.reply(s, aid, ("Response", "Success"), ("Message", "Load started"))
            self.start(float(a.get("rate") or self.rate), float(a.get("seconds") or self.seconds),
                       float(a.get("speed") or self.speed))
        elif name == "loadstats":
            self.reply(s, aid, ("Response", "Success"), ("Message", json.dumps(self.report())))
        elif name == "originate":
            self.reply(s, aid, ("Response", "Success"), ("Message", "Originate successfully queued"))
        else:
            self.reply(s, aid, ("Response", "Success"), ("Message", "replayed"))
        return True

    def login(self, s: Session, a: dict[str, str], aid: str) -> bool:
        user, secret = a.get("username", ""), a.get("secret", "")
        if user in self.open_users:
            s.filter = None
        else:
            found = None
            if self.manager_conf is not None and self.manager_conf.exists():
                entries = user_entries(self.manager_conf.read_text(encoding="utf-8")).get(user)
                found = {k.lower(): v for k, v in entries} if entries else None
            if found is None or found.get("secret") != secret:
                self.reply(s, aid, ("Response", "Error"), ("Message", "Authentication failed"))
                return False
            s.filter = load_filter(self.manager_conf, user)  # type: ignore[arg-type]
        s.user, s.logged_in = user, True
        s.decided.clear()
        s.events_on = a.get("events", "on").lower() not in ("off", "no", "false", "0")
        self.stats["logins"] += 1
        self.reply(s, aid, ("Response", "Success"), ("Message", "Authentication accepted"))
        s.writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 1\r\nLastReload: 1\r\n"
                       b"Status: Fully Booted\r\n\r\n")
        if self.ns.autostart and not self.started.is_set():
            self.start(self.rate, self.seconds, self.speed)
        return True

    def queue_status(self, s: Session, aid: str) -> None:
        self.reply(s, aid, ("Response", "Success"), ("EventList", "start"), ("Message", "Queue status will follow"))
        out = [(f"Event: QueueParams\r\nQueue: {QUEUE}\r\nMax: 0\r\nStrategy: rrmemory\r\nCalls: 0\r\nHoldtime: 0\r\n"
                f"TalkTime: 0\r\nCompleted: 0\r\nAbandoned: 0\r\nServiceLevel: 0\r\nServicelevelPerf: 0.0\r\n"
                f"ServicelevelPerf2: 0.0\r\nWeight: 0\r\nActionID: {aid}\r\n\r\n")]
        for m in self.members.values():
            out.append("Event: QueueMember\r\n" + m.fields("Location", "Name") + f"Wrapuptime: 0\r\nActionID: {aid}\r\n\r\n")
        out.append(f"Event: QueueStatusComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                   f"ListItems: {len(out)}\r\n\r\n")
        s.writer.write("".join(out).encode("utf-8"))

    def queue_add(self, s: Session, a: dict[str, str], aid: str) -> None:
        interface = a.get("interface", "")
        if not interface or a.get("queue", QUEUE) != QUEUE:
            self.reply(s, aid, ("Response", "Error"), ("Message", "Unable to add interface to queue: No such queue"))
            return
        if interface in self.members:
            self.reply(s, aid, ("Response", "Error"), ("Message", "Unable to add interface: Already there"))
            return
        paused = a.get("paused", "false").lower() in ("true", "yes", "1")
        m = Member(interface, a.get("membername") or interface, a.get("penalty") or "0", paused,
                   a.get("reason", "") if paused else "")
        self.members[interface] = m
        self._ring = None
        self.reply(s, aid, ("Response", "Success"), ("Message", "Added interface to queue"))
        self.emit("QueueMemberAdded", "agent,all", m.fields() + "Ringinuse: 0\r\nWrapuptime: 0\r\n\r\n")
        self.flush()

    def queue_pause(self, s: Session, a: dict[str, str], aid: str) -> None:
        m = self.members.get(a.get("interface", ""))
        if m is None:
            self.reply(s, aid, ("Response", "Error"), ("Message", "Interface not found"))
            return
        m.paused = a.get("paused", "false").lower() in ("true", "yes", "1")
        m.reason = a.get("reason", "") if m.paused else ""
        m.last_pause = int(time.time())
        self.reply(s, aid, ("Response", "Success"),
                   ("Message", "Interface paused successfully" if m.paused else "Interface unpaused successfully"))
        self.emit("QueueMemberPause", "agent,all", m.fields() + "Ringinuse: 0\r\nWrapuptime: 0\r\n\r\n")
        self.flush()

    # -- calls -------------------------------------------------------------------------------

    def start(self, rate: float, seconds: float, speed: float) -> None:
        if self.started.is_set():
            return
        self.rate, self.seconds, self.speed = rate, seconds, speed
        self.started.set()
        asyncio.get_running_loop().create_task(self.run_calls())

    def new_call(self, index: int) -> dict[str, str] | None:
        if self._ring is None:
            self._ring = list(self.members.values())
        members = self._ring
        if not members:
            self.stats["no_agent"] += 1
            return None
        m = members[self.robin % len(members)]
        self.robin += 1
        agent = m.interface.split("/", 1)[1]
        seq = self.chan_seq
        self.chan_seq += 2
        n = index % self.ns.callers
        return {"cch": f"{seq:08x}", "ach": f"{seq + 1:08x}", "cu": f"{self.epoch}.{seq}", "au": f"{self.epoch}.{seq + 1}",
                "br": str(uuid.uuid4()), "agent": agent, "aname": m.name, "cnum": f"1390{n:07d}",
                "cname": f"Caller {n}", "interface": m.interface}

    async def run_calls(self) -> None:
        loop = asyncio.get_running_loop()
        tpl = self.templates
        total = int(self.rate * self.seconds)
        gap = 1.0 / self.rate if self.rate > 0 else 0.0
        offsets = [t.offset / self.speed for t in tpl]
        heap: list[tuple[float, int, int]] = []  # (due, call number, next template index)
        calls: dict[int, dict[str, str]] = {}
        self.cpu_start = cpu_seconds()
        self.t_start = t0 = loop.time()
        wall0 = time.time()
        placed = 0
        late = self.late
        while placed < total or heap:
            now = loop.time()
            while placed < total and t0 + placed * gap <= now:
                call = self.new_call(placed)
                if call is not None:
                    calls[placed] = call
                    heapq.heappush(heap, (t0 + placed * gap, placed, 0))
                placed += 1
                self.stats["calls_placed"] = placed
            if heap and heap[0][0] <= now:
                ts = time.time()
                stamp = f"{ts:.6f}"
                sessions = self.sessions
                sent = 0
                while heap and heap[0][0] <= now:
                    due, n, i = heapq.heappop(heap)
                    call = calls[n]
                    start = due - offsets[i]
                    late[round((now - due) * 1000, 1)] += 1
                    while True:
                        t = tpl[i]
                        if t.member:
                            m = self.members.get(call["interface"])
                            call["paused"] = "1" if m and m.paused else "0"
                            call["preason"] = m.reason if m else ""
                            call["login"] = str(m.login) if m else "0"
                        text = f"{t.head}Timestamp: {stamp}\r\n{t.body.format_map(call)}"
                        for s in sessions:
                            s.offer_template(i, t, text)
                        sent += 1
                        if t.name == "AgentCalled" and self.called_log is not None:
                            self.called_log.write(f"{call['cu']} {call['interface']} {stamp}\n")
                        i += 1
                        if i == len(tpl):
                            del calls[n]
                            self.stats["calls_done"] += 1
                            break
                        if start + offsets[i] > now:
                            heapq.heappush(heap, (start + offsets[i], n, i))
                            break
                self.stats["events_generated"] += sent
                for s in sessions:
                    s.flush()
            nxt = min(heap[0][0] if heap else float("inf"), t0 + placed * gap if placed < total else float("inf"))
            if nxt == float("inf"):
                break
            await asyncio.sleep(max(0.0, nxt - loop.time()))
        self.t_end = loop.time()
        self.stats["wall_seconds"] = round(time.time() - wall0, 3)
        self.stats["cpu_seconds"] = round(cpu_seconds() - self.cpu_start, 3)
        if self.called_log is not None:
            self.called_log.flush()
        self.done.set()

    def report(self) -> dict:
        out = dict(self.stats)
        late = self.late
        out["late_p50_ms"], out["late_p99_ms"] = round(counted_pct(late, 50), 3), round(counted_pct(late, 99), 3)
        out["late_max_ms"] = round(max(late, default=0.0), 3)
        out["sessions"] = [{"user": s.user, "sent": s.sent, "bytes": s.bytes, "max_buffer": s.max_buffer,
                            "filtered": s.filter is not None and s.filter.filtering} for s in self.sessions]
        out["sent_by_user"] = dict(self.sent_by_user)
        out["events_per_call"] = len(self.templates)
        out["members"] = len(self.members)
        out["running"] = self.started.is_set() and not self.done.is_set()
        return out


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def serve(ns: argparse.Namespace) -> None:
    src = LoadSource(ns)
    server = await asyncio.start_server(src.serve, "127.0.0.1", ns.port, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    print(f"trace_load: AMI on 127.0.0.1:{port}, {len(src.templates)} events per call", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    print(json.dumps(src.report()), flush=True)
    if src.called_log is not None:
        src.called_log.close()
    server.close()


# --- capacity: what the source alone can emit ---------------------------------------------------

async def raw_reader(port: int, user: str, counts: dict) -> None:
    """Count events (blank-line-terminated blocks starting with Event:) as cheaply as Python can."""
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    await r.readline()
    w.write(f"Action: Login\r\nUsername: {user}\r\nSecret: x\r\n\r\n".encode())
    tail = b""
    while True:
        chunk = await r.read(1 << 20)
        if not chunk:
            return
        counts["events"] += (tail + chunk).count(b"\r\nTimestamp: ")
        counts["bytes"] += len(chunk)
        tail = chunk[-12:]  # a mark split across two reads is counted once


async def capacity(ns: argparse.Namespace) -> None:
    print(f"{ns.readers} sessions read the whole stream; CPU of the source process only")
    print(f"{'calls/s':>8} {'ev/s offered':>12} {'ev/s mean':>10} {'ev read':>9} {'lost':>5} {'CPU/s':>6} "
          f"{'us/event':>9} {'ev/s per core':>13} {'late p99 ms':>11} {'late max':>9}")
    for rate in (float(r) for r in ns.rates.split(",")):
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "serve", "--port", str(port), "--rate", str(rate), "--seconds", str(ns.seconds),
            "--agents", "0", "--open-users", "baseline,control,reader", stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        await proc.stdout.readline()
        counts = {"events": 0, "bytes": 0}
        readers = [asyncio.ensure_future(raw_reader(port, "reader", counts)) for _ in range(ns.readers)]
        ctl_r, ctl_w = await asyncio.open_connection("127.0.0.1", port)
        await ctl_r.readline()
        ctl_w.write(b"Action: Login\r\nUsername: control\r\nSecret: x\r\nEvents: off\r\n\r\n")
        for i in range(2000):  # members to ring (the benchmark's agents)
            ctl_w.write(f"Action: QueueAdd\r\nQueue: support\r\nInterface: PJSIP/{2000 + i}\r\n"
                        f"MemberName: Agent {2000 + i}\r\n\r\n".encode())
        await ctl_w.drain()
        await asyncio.sleep(1.0)
        ctl_w.write(b"Action: LoadStart\r\nActionID: go\r\n\r\n")
        await ctl_w.drain()
        e0 = counts["events"]
        report: dict = {}
        while True:
            await asyncio.sleep(1.0)
            ctl_w.write(f"Action: LoadStats\r\nActionID: s{time.time()}\r\n\r\n".encode())
            await ctl_w.drain()
            while True:
                line = (await ctl_r.readline()).decode()
                if line.startswith("Message: {"):
                    report = json.loads(line[len("Message: "):])
                    break
            if not report["running"] and report["calls_done"] >= report["calls_placed"] > 0:
                break
        wall = report["wall_seconds"]
        await asyncio.sleep(0.5)
        got = counts["events"] - e0
        for r in readers:
            r.cancel()
        ctl_w.close()
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        offered = rate * report["events_per_call"]
        generated = report["events_generated"]
        mean = generated / wall  # ramp up and down included (a call lasts 7.5 s)
        per_event = report["cpu_seconds"] / max(generated, 1)
        print(f"{rate:>8g} {offered:>12.0f} {mean:>10.0f} {got:>9} {generated * ns.readers - got:>5} "
              f"{report['cpu_seconds'] / wall:>6.0%} {per_event * 1e6:>9.1f} {1 / per_event:>13.0f} "
              f"{report['late_p99_ms']:>11.1f} {report['late_max_ms']:>9.1f}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("serve", help="run the AMI load source")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--agents", type=int, default=2000, help="(informational: members come from QueueAdd)")
    s.add_argument("--rate", type=float, default=100.0, help="calls per second")
    s.add_argument("--seconds", type=float, default=60.0, help="how long calls are placed")
    s.add_argument("--speed", type=float, default=1.0, help="replay pace (1 = as recorded: a call lasts 7.5 s)")
    s.add_argument("--callers", type=int, default=50_000, help="distinct caller numbers, cycled")
    s.add_argument("--manager-conf", default=str(ROOT / "asterisk_conf" / "manager.conf"),
                   help="users, read classes and eventfilters ('' : none)")
    s.add_argument("--open-users", default="baseline,control", help="users who get every event, any secret")
    s.add_argument("--called-log", default="", help="write 'linkedid interface emitted' per AgentCalled here")
    s.add_argument("--autostart", action="store_true", help="start the calls at the first login")
    c = sub.add_parser("capacity", help="measure what the source alone emits, read by raw readers")
    c.add_argument("--rates", default="50,100,200,400")
    c.add_argument("--seconds", type=float, default=10.0)
    c.add_argument("--readers", type=int, default=2, help="sessions reading the whole stream (server + baseline)")
    ns = p.parse_args()
    if ns.cmd == "capacity":
        asyncio.run(capacity(ns))
    else:
        if ns.cmd is None:
            ns = p.parse_args(["serve", *sys.argv[1:]])
        asyncio.run(serve(ns))


if __name__ == "__main__":
    main()
