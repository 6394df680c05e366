"""``python -m ctiserver``: start the CTI server (``--help`` lists every setting).

Exit codes: 0 stopped by a signal; 2 bad configuration (or, in production, a secret left at its demo value); 3 Asterisk refused the AMI login;
4 PostgreSQL unreachable (``admin``: the same codes, 5 refused); 5 another start-up failure (port in use, ...); 6 a stop that
overran ``server.stop_timeout`` (or a second stop signal) and was cut short. Each failure is
one clear line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import textwrap
import threading

import structlog

from ctiserver import config as config_mod
from ctiserver.logging import configure

EXIT_CONFIG, EXIT_AMI_AUTH, EXIT_DB, EXIT_START, EXIT_FORCED = 2, 3, 4, 5, 6


def _parser() -> argparse.ArgumentParser:
    rows = config_mod.describe()
    width = max(len(env) for _, env, _, _ in rows)
    lines = []
    for key, env, default, help_text in rows:
        shown = ",".join(default) if isinstance(default, tuple) else default
        lines.append(f"  {env:<{width}}  {help_text} [{key}; default: {shown!r}]")
    epilog = ("settings (TOML file section.name, or environment variable; environment wins):\n"
              + "\n".join(lines))
    p = argparse.ArgumentParser(
        prog="python -m ctiserver",
        description=textwrap.dedent("""\
            Contact-center CTI server for Asterisk: AMI link, FastAGI IVR, agent panel and
            work orders in PostgreSQL. With no ami.host it runs in demo mode against the
            built-in PBX simulator."""),
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-c", "--config", metavar="FILE", help="TOML configuration file")
    p.add_argument("--no-demo-traffic", action="store_true", help="demo mode without simulated callers")
    return p


def _fail(code: int, message: str) -> int:
    print(f"ctiserver: {message}", file=sys.stderr)
    return code


async def _serve(cfg: config_mod.Config, demo_traffic: bool) -> int:
    from ctiserver.ami.errors import AmiAuthError
    from ctiserver.app import App, StartupError
    from ctiserver.security import DemoSecrets, production
    from ctiserver.store import StoreUnavailable

    app = App(cfg, demo_traffic=demo_traffic, refuse_demo_secrets=production(cfg))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
    except AmiAuthError:
        await app.stop()
        return _fail(EXIT_AMI_AUTH, f"Asterisk at {cfg.ami.host}:{cfg.ami.port} refused the AMI login of user "
                                    f"{cfg.ami.username!r}: check ami.secret (CTI_AMI_SECRET) and manager.conf")
    except StoreUnavailable as exc:
        await app.stop()
        return _fail(EXIT_DB, f"PostgreSQL unreachable: {exc}")
    except DemoSecrets as exc:
        await app.stop()
        return _fail(EXIT_CONFIG, str(exc))
    except StartupError as exc:
        await app.stop()
        return _fail(EXIT_START, str(exc))
    except OSError as exc:
        await app.stop()
        return _fail(EXIT_START, f"cannot start: {exc.strerror or exc}")
    _quiet_collector()
    mode = "demo mode: built-in PBX simulator" if app.demo else f"Asterisk {cfg.ami.host}:{cfg.ami.port}"
    print(f"\n  Agent panel: {app.url}   ({mode})\n"
          + ("  Sign in as agent 1001 / password 1001, or supervisor 1900 / 1900.\n" if app.demo else ""),
          file=sys.stderr, flush=True)
    await stop.wait()
    budget = cfg.server.stop_timeout
    structlog.get_logger("ctiserver").info("stopping", within_seconds=budget)
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal: stop now
        loop.add_signal_handler(sig, _force_exit, "a second stop signal")
    watchdog = threading.Timer(budget + 2.0, _force_exit, (f"the stop took more than {budget + 2.0:g}s",))
    watchdog.daemon = True
    watchdog.start()
    await app.stop()
    return 0


# A full collection walks every object the server holds (2,000 agents, the live calls, 200
# websockets) and, measured at 100 calls a second, freed nothing: the calls' objects go by
# reference counting. Each walk held the event loop 70-200 ms, once every 15-25 s, which is
# what the slowest pops waited for. The young generations keep their default pace (they
# collect the short cycles, such as exceptions with their tracebacks); a full collection is
# considered after FULL_EVERY young-generation-1 collections instead of 10, about every five
# minutes at that load (more rarely when the center is quiet).
FULL_EVERY = 300


def _quiet_collector() -> None:
    """What start-up built (modules, settings, the agent book) lives as long as the process:
    moved out of the collector's sight. Full collections become rare (see FULL_EVERY)."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)


def _force_exit(why: str) -> None:
    """Last resort, never the normal path: every write made so far is already in the journal."""
    print(f"ctiserver: {why}; exiting now (unwritten records stay in the journal for the next start)",
          file=sys.stderr, flush=True)
    os._exit(EXIT_FORCED)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["admin"]:  # python -m ctiserver admin create|reset-password ...
        from ctiserver.admin.cli import main as admin_main

        return admin_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    from ctiserver import security

    if security.production(cfg) and (found := security.demo_values(cfg)):
        return _fail(EXIT_CONFIG, security.refusal(found))
    configure(cfg.log.level, cfg.log.format)
    try:
        return asyncio.run(_serve(cfg, not args.no_demo_traffic))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
