"""``python -m pbxsim --conf asterisk_conf --ami-port 5038 --agi 127.0.0.1:4573 --demo-rate 2/min``.

Load runs: ``--extra-agents 2000`` (endpoints PJSIP/2000..3999), ``--talk 2:5 --ring 1:2``
(fast call turnover), ``--members 2000-3999`` (standalone, no CTI server signing them in).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog

from .demo import DemoTraffic, parse_range, parse_rate
from .sim import PbxSim, SimConfig

log = structlog.get_logger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="pbxsim", description="Asterisk 22 stand-in: AMI over TCP, dialplan, queues")
    p.add_argument("--conf", default="asterisk_conf", help="Asterisk config dir (extensions/queues/pjsip.conf)")
    p.add_argument("--ami-host", default="127.0.0.1")
    p.add_argument("--ami-port", type=int, default=5038)
    p.add_argument("--username", default="cti")
    p.add_argument("--secret", default="cti-secret")
    p.add_argument("--agi", default="", help="host:port replacing the address of AGI(agi://...) URLs")
    p.add_argument("--demo-rate", default="0", help="random inbound calls, e.g. 2/min (0 = none)")
    p.add_argument("--time-scale", type=float, default=1.0, help="speed of simulated time (2 = twice as fast)")
    p.add_argument("--timestamp-events", action="store_true", help="add Timestamp: to events")
    p.add_argument("--seed", type=int, default=None, help="random seed of the demo traffic")
    p.add_argument("--members", default="", help="endpoints put in queue 'support' at start when no CTI server "
                   "signs agents in, e.g. 1002,1003 or 2000-2099 (default: none)")
    p.add_argument("--talk", default="20:120", help="demo calls' talk time range in seconds, e.g. 2:5")
    p.add_argument("--ring", default="2:6", help="agents' phones ring this long (s) before answering, e.g. 1:2")
    p.add_argument("--extra-agents", type=int, default=0,
                   help="endpoints beyond pjsip.conf for load runs: PJSIP/2000.. (with --extra-agent-first)")
    p.add_argument("--extra-agent-first", type=int, default=2000)
    p.add_argument("--realtime-dsn", default="",  # features/realtime.py
                   help="PostgreSQL with the PJSIP realtime tables: its ps_endpoints join pjsip.conf's")
    p.add_argument("--monitor-dir", default=None,  # features/mixmonitor.py
                   help="MixMonitor writes a silent WAV of each recording's length here")
    return p.parse_args(argv)


def member_list(text: str) -> list[str]:
    """``"1002,1003,2000-2002"`` -> ["1002", "1003", "2000", "2001", "2002"]."""
    out: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, sep, high = part.partition("-")
        if sep and low.isdigit() and high.isdigit():
            if int(high) < int(low):
                raise ValueError(f"bad member range {part!r}")
            out.extend(str(n) for n in range(int(low), int(high) + 1))
        else:
            out.append(part)
    return out


async def amain(ns: argparse.Namespace) -> int:
    agi_host = agi_port = None
    if ns.agi:
        host, _, port = ns.agi.rpartition(":")
        agi_host, agi_port = host or "127.0.0.1", int(port)
    sim = PbxSim(SimConfig(conf_dir=ns.conf, ami_host=ns.ami_host, ami_port=ns.ami_port, username=ns.username,
                           secret=ns.secret, timestamp_events=ns.timestamp_events, time_scale=ns.time_scale,
                           agi_host=agi_host, agi_port=agi_port, extra_agents=ns.extra_agents,
                           extra_agent_first=ns.extra_agent_first, monitor_dir=ns.monitor_dir,
                           realtime_dsn=ns.realtime_dsn or None))
    await sim.start()
    for endpoint in member_list(ns.members):
        ep = sim.endpoints.get(endpoint)
        sim.queues.add_member("support", f"PJSIP/{endpoint}", (ep.cid_name if ep else "") or endpoint)
    demo = DemoTraffic(sim, parse_rate(ns.demo_rate), seed=ns.seed, talk=parse_range(ns.talk),
                       ring=parse_range(ns.ring))
    demo.start()
    print(f"pbxsim: AMI on {ns.ami_host}:{sim.ami_port}, demo rate {ns.demo_rate}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await demo.stop()
    await sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(argv)
    for flag, value, check in (("--demo-rate", ns.demo_rate, parse_rate), ("--talk", ns.talk, parse_range),
                               ("--ring", ns.ring, parse_range), ("--members", ns.members, member_list)):
        try:
            check(value)
        except ValueError as exc:
            print(f"pbxsim: {flag}: {exc}", file=sys.stderr)
            return 2
    if ns.extra_agents < 0:
        print("pbxsim: --extra-agents: must be >= 0", file=sys.stderr)
        return 2
    try:
        return asyncio.run(amain(ns))
    except (FileNotFoundError, ValueError) as exc:
        print(f"pbxsim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pbxsim: cannot listen on {ns.ami_host}:{ns.ami_port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
