"""The FastAGI IVR with many callers in its menus: per-command latency and CPU (`make bench-ivr`).

Starts the real IVR (``python -m ivr``, the hotline menu, PostgreSQL for the customer lookups, the
"closed now" switch and the PIN checks) in its own process, and plays Asterisk's side of the
FastAGI conversation for each caller over TCP: the agi_* environment, then a reply to every
command the way res_agi.c writes it (``200 result=…``), after the time a caller takes: GET DATA
answered after the prompt and a think time of 1-4 s (sometimes a wrong key or no key: the menu's
timeout), STREAM FILE after the sound, Queue held 10-40 s then a TIMEOUT back to the menu or an
agent, VoiceMail after the message, SET/GET VARIABLE and UserEvent at once. A caller sometimes
hangs up mid-menu. A caller whose call ends is replaced by a new one, so the number in the IVR
stays the same.

Command latency is what Asterisk would wait for: from writing a reply (or the environment) to
reading the IVR's next command. Measured first with ``--baseline`` callers (the IVR idle), then
with ``--callers``, in the same run; the table gives p50/p95/p99/max, the ratio to the baseline,
and the CPU the IVR process used (share of one core). The issue's target: p99 < 20 ms with
1,000 callers.

    .venv/bin/python bench/ivr_load.py [--callers 1000] [--baseline 10] [--seconds 60] [--ramp 10]
                                       [--no-store] [--profile FILE]

``--profile FILE`` runs py-spy on the IVR during the loaded phase (a flame graph for FILE.svg,
else collapsed stacks, one a line, to sum up with grep and awk).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICKS = os.sysconf("SC_CLK_TCK")

# The bench's customers (C100000…, PIN 1234, phone 1390000xxxx) beside the demo's: callers call from
# their phones or from numbers nobody knows, and type their customer number (100042#) and PIN.
CUSTOMERS = 5000
PIN = "1234"


def customer_phone(i: int) -> str:
    return f"139{i:08d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


async def fresh_dsn() -> str:
    """A new bench database in the project's PostgreSQL, with the schema and the demo customers."""
    import asyncpg

    from ctiserver.app import local_database
    from ctiserver.store import Store

    base = await asyncio.to_thread(local_database)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute("DROP DATABASE IF EXISTS cti_bench_ivr WITH (FORCE)")
        await conn.execute("CREATE DATABASE cti_bench_ivr")
    finally:
        await conn.close()
    dsn = base.rsplit("/", 1)[0] + "/cti_bench_ivr"
    store = await Store.open(dsn, journal_path=None)
    try:
        await store.migrate()
        await store.seed_demo()
    finally:
        await store.close()
    # one PIN hash for every bench customer (checking it is a full scrypt each time all the same)
    from ctiserver.customers.pins import hash_pin

    pin_hash = hash_pin(PIN)
    conn = await asyncpg.connect(dsn)
    try:
        ids = await conn.fetch(
            "INSERT INTO customers (customer_no, name, class, pin_hash) "
            "SELECT 'C' || (100000 + i), 'bench ' || i, CASE WHEN i % 10 = 0 THEN 'vip' ELSE 'ordinary' END, $1 "
            "FROM generate_series(0, $2 - 1) i RETURNING id, customer_no",
            pin_hash,
            CUSTOMERS,
        )
        await conn.executemany(
            "INSERT INTO customer_phones (phone, customer_id) VALUES ($1, $2)",
            [
                (customer_phone(int(r["customer_no"][1:]) - 100000), r["id"])
                for r in ids
            ],
        )
    finally:
        await conn.close()
    return dsn


@dataclass
class Phase:
    """What one phase measured: latencies (ms) by the command that followed, calls, hangups."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    calls: int = 0
    routed: int = 0
    hangups: int = 0
    errors: int = 0
    measuring: bool = False

    def all(self) -> list[float]:
        return [v for vs in self.latency.values() for v in vs]


class Caller:
    """Asterisk's side of one call: answers the IVR's commands as a caller would make them come."""

    def __init__(self, rng: random.Random, n: int, port: int, phase: Phase) -> None:
        self.rng = rng
        self.n = n
        self.port = port
        self.phase = phase
        self.vars: dict[str, str] = {}
        self.phone = (
            customer_phone(rng.randrange(CUSTOMERS))
            if rng.random() < 0.3
            else f"15{rng.randrange(100000000, 999999999)}"
        )
        self.hangup_at = (
            rng.randrange(4, 40) if rng.random() < 0.1 else None
        )  # a caller who gives up
        self.commands = 0

    def env(self) -> bytes:
        uid = f"{int(time.time())}.{self.n}"
        lines = {
            "agi_network": "yes",
            "agi_network_script": "hotline",
            "agi_request": f"agi://127.0.0.1:{self.port}/hotline",
            "agi_channel": f"PJSIP/trunk-{self.n:08x}",
            "agi_language": "en",
            "agi_type": "PJSIP",
            "agi_uniqueid": uid,
            "agi_version": "22.1.0",
            "agi_callerid": self.phone,
            "agi_calleridname": "unknown",
            "agi_callingpres": "0",
            "agi_callingani2": "0",
            "agi_callington": "0",
            "agi_callingtns": "0",
            "agi_dnid": "96588",
            "agi_rdnis": "unknown",
            "agi_context": "ivr",
            "agi_extension": "s",
            "agi_priority": "2",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": str(140000000000 + self.n),
        }
        return "".join(f"{k}: {v}\n" for k, v in lines.items()).encode() + b"\n"

    def reply(self, words: list[str]) -> tuple[float, str]:
        """(seconds before answering, the reply line) for one command."""
        rng = self.rng
        verb = words[0]
        if verb == "GET" and words[1] == "DATA":
            prompt, timeout_ms, max_digits = (
                words[2].strip('"'),
                int(words[3]),
                int(words[4]),
            )
            if max_digits == 1:  # a menu: a key, a wrong key or none
                r = rng.random()
                if r < 0.08:
                    return timeout_ms / 1000, "200 result= (timeout)"
                key = rng.choices("19027", weights=(50, 15, 10, 10, 7))[0]
                return 0.5 + rng.uniform(1, 4), f"200 result={key}"
            if prompt == "agent-pass":  # the PIN: mostly right
                return rng.uniform(
                    3, 6
                ), f"200 result={PIN if rng.random() >= 0.05 else '999999'}"
            return rng.uniform(
                3, 6
            ), f"200 result={100000 + rng.randrange(CUSTOMERS)}"  # a customer number
        if verb == "STREAM" or verb == "SAY":
            return rng.uniform(0.8, 2.0), "200 result=0 endpos=12000"
        if verb == "WAIT":
            return rng.uniform(1, 3), f"200 result={ord('1')}"
        if verb == "SET":
            self.vars[words[2]] = words[3].strip('"')
            return 0.0, "200 result=1"
        if verb == "GET":
            value = self.vars.get(words[2])
            return 0.0, "200 result=0" if value is None else f"200 result=1 ({value})"
        if verb == "EXEC":
            app = words[1]
            if app == "Queue":
                self.vars["QUEUESTATUS"] = "TIMEOUT" if rng.random() < 0.5 else ""
                return rng.uniform(10, 40), "200 result=0"
            if app == "VoiceMail":
                return rng.uniform(5, 15), "200 result=0"
            return 0.0, "200 result=0"
        if verb == "ANSWER" or verb == "VERBOSE":
            return 0.0, "200 result=0"
        if verb == "HANGUP":
            return 0.0, "200 result=1"
        return 0.0, "510 Invalid or unknown command"

    async def call(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.phase.calls += 1
        try:
            writer.write(self.env())
            sent = time.perf_counter()
            step = "call entry (the closed-now switch read)"
            while True:
                raw = await reader.readline()
                got = time.perf_counter()
                if not raw:
                    self.phase.routed += 1
                    return
                if self.phase.measuring:
                    self.phase.latency[step].append((got - sent) * 1000)
                self.commands += 1
                words = self._split(raw.decode().rstrip("\n"))
                step = self.step(words)
                delay, line = self.reply(words)
                if (
                    self.hangup_at is not None
                    and self.commands >= self.hangup_at
                    and delay > 0
                ):
                    await asyncio.sleep(delay * self.rng.random())
                    writer.write(
                        b"HANGUP\n200 result=-1\n"
                    )  # what res_agi writes when the caller hangs up
                    self.phase.hangups += 1
                    await writer.drain()
                    await reader.read()  # the IVR ends its side
                    return
                if delay:
                    await asyncio.sleep(
                        delay
                    )  # the caller listening or thinking, not a synchronisation
                writer.write(line.encode() + b"\n")
                sent = time.perf_counter()
        except (ConnectionError, OSError):
            self.phase.errors += 1
        finally:
            writer.close()

    @staticmethod
    def step(words: list[str]) -> str:
        """What the IVR works on between our reply to ``words`` and its next command."""
        if words[0] == "GET" and words[1] == "DATA":
            if words[2] == '"agent-pass"':
                return "after the PIN: its check (scrypt at the PIN cost, a PostgreSQL transaction)"
            if words[4] == "1":
                return "after a menu key"
            return "after the customer number"
        if words[0] == "EXEC":
            return f"after EXEC {words[1]}"
        return f"after {' '.join(words[:2]) if words[0] in ('GET', 'SET', 'STREAM', 'WAIT') else words[0]}"

    @staticmethod
    def _split(line: str) -> list[str]:
        """Words of a command; a quoted argument stays one word (with its quotes)."""
        words, cur, quoted = [], "", False
        for c in line:
            if c == '"':
                quoted = not quoted
                cur += c
            elif c == " " and not quoted:
                words.append(cur)
                cur = ""
            else:
                cur += c
        words.append(cur)
        return words


async def caller_slot(
    slot: int,
    port: int,
    phase: Phase,
    start_after: float,
    stop: asyncio.Event,
    seed: int,
) -> None:
    """One line into the IVR: a caller after another until stopped."""
    rng = random.Random(seed * 100_003 + slot)
    await asyncio.sleep(start_after)  # arrivals spread over the ramp
    n = 0
    while not stop.is_set():
        n += 1
        await Caller(rng, slot * 10_000 + n, port, phase).call()


async def run_phase(
    port: int, pid: int, callers: int, seconds: float, ramp: float, seed: int
) -> tuple[Phase, float, float, float]:
    """(what was measured, wall seconds, IVR CPU seconds, this process's CPU seconds) over the window."""
    phase = Phase()
    stop = asyncio.Event()
    slots = [
        asyncio.create_task(caller_slot(i, port, phase, ramp * i / callers, stop, seed))
        for i in range(callers)
    ]
    await asyncio.sleep(ramp + 2)  # every caller in the IVR
    phase.measuring = True
    cpu0, own0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)  # the measurement window
    wall = time.perf_counter() - t0
    cpu, own = cpu_seconds(pid) - cpu0, time.process_time() - own0
    phase.measuring = False
    stop.set()
    for t in slots:
        t.cancel()
    await asyncio.gather(*slots, return_exceptions=True)
    return phase, wall, cpu, own


async def wait_port(
    port: int, proc: asyncio.subprocess.Process, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise RuntimeError(
                f"the IVR exited with {proc.returncode} (see .run/bench-ivr.log)"
            )
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)  # polling a port the IVR has not bound yet
    raise RuntimeError("the IVR did not listen in time")


async def run(ns: argparse.Namespace) -> None:
    dsn = "" if ns.no_store else await fresh_dsn()
    port = free_port()
    (ROOT / ".run").mkdir(exist_ok=True)
    log = open(ROOT / ".run" / "bench-ivr.log", "wb")  # noqa: ASYNC230, SIM115 - the IVR writes to it for its lifetime
    env = {**os.environ, "CTI_LOG_LEVEL": ns.log_level, "CTI_LOG_FORMAT": "json"}
    ivr = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ivr",
        "--port",
        str(port),
        "--dsn",
        dsn,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    spy = None
    try:
        await wait_port(port, ivr)
        print(
            f"bench: IVR on {port} ({'no store' if not dsn else 'PostgreSQL'}), baseline {ns.baseline} callers "
            f"for {ns.seconds:g} s",
            file=sys.stderr,
        )
        rows = [
            (
                "baseline",
                ns.baseline,
                *await run_phase(port, ivr.pid, ns.baseline, ns.seconds, 1, ns.seed),
            )
        ]
        print(
            f"bench: {ns.callers} callers, ramp {ns.ramp:g} s, {ns.seconds:g} s measured",
            file=sys.stderr,
        )
        if ns.profile:
            spy = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--threads",
                "--format",
                "flamegraph" if ns.profile.endswith(".svg") else "raw",
                "-o",
                ns.profile,
                "-p",
                str(ivr.pid),
                "-d",
                str(int(ns.ramp + ns.seconds + 2)),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        rows.append(
            (
                "loaded",
                ns.callers,
                *await run_phase(
                    port, ivr.pid, ns.callers, ns.seconds, ns.ramp, ns.seed
                ),
            )
        )
    finally:
        if spy is not None:
            await spy.wait()
        if ivr.returncode is None:
            ivr.send_signal(signal.SIGTERM)
            await ivr.wait()
        log.close()

    base = rows[0][2].all()
    print(
        f"\nFastAGI IVR, hotline menu, {'no store' if not dsn else 'PostgreSQL lookups'}; latency = reply written "
        f"-> next command read (ms)\n"
    )
    print(
        "| callers | commands | commands/s | p50 ms | p95 ms | p99 ms | max ms | p99 vs baseline "
        "| IVR CPU (one core) | load generator CPU | calls | hung up | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, n, phase, wall, cpu, own in rows:
        lat = phase.all()
        print(
            f"| {n:,} ({name}) | {len(lat):,} | {len(lat) / wall:.0f} | {pct(lat, 50):.2f} | {pct(lat, 95):.2f} | "
            f"{pct(lat, 99):.2f} | {max(lat, default=float('nan')):.2f} | {pct(lat, 99) / pct(base, 99):.2f} | "
            f"{cpu / wall:.1%} | {own / wall:.1%} | {phase.calls:,} | {phase.hangups:,} | {phase.errors} |"
        )
    loaded = rows[-1][2]
    print(
        f"\nby step, {rows[-1][1]:,} callers (the IVR's time from our reply to its next command):\n"
    )
    print("| step | n | p50 ms | p99 ms | baseline p99 ms |")
    print("|---|---|---|---|---|")
    for kind, lat in sorted(loaded.latency.items(), key=lambda kv: -len(kv[1])):
        print(
            f"| {kind} | {len(lat):,} | {pct(lat, 50):.2f} | {pct(lat, 99):.2f} | "
            f"{pct(rows[0][2].latency.get(kind, []), 99):.2f} |"
        )
    p99 = pct(loaded.all(), 99)
    other = [v for k, vs in loaded.latency.items() if "PIN" not in k for v in vs]
    pins = sum(len(vs) for k, vs in loaded.latency.items() if "PIN" in k)
    print(
        f"\ntarget p99 < 20 ms with {rows[-1][1]:,} callers: {'met' if p99 < 20 else 'MISSED'} ({p99:.2f} ms); "
        f"every step but the PIN check (a scrypt and a committed write, {pins / rows[-1][3]:.1f} checks/s): "
        f"p99 {pct(other, 99):.2f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--callers",
        type=int,
        default=1000,
        help="callers in the IVR at once (the loaded phase)",
    )
    p.add_argument(
        "--baseline", type=int, default=10, help="callers of the baseline phase"
    )
    p.add_argument(
        "--seconds", type=float, default=60.0, help="measurement window of each phase"
    )
    p.add_argument(
        "--ramp", type=float, default=10.0, help="seconds over which the callers arrive"
    )
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--no-store", action="store_true", help="run the IVR without PostgreSQL"
    )
    p.add_argument(
        "--log-level",
        default="info",
        help="the IVR's log level (info: what production logs)",
    )
    p.add_argument(
        "--profile", metavar="SVG", help="py-spy flame graph of the IVR under load"
    )
    asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    main()
