"""``python -m ivr``: run the FastAGI IVR on its own (the CTI server also runs it in-process).

Settings come from the CTI server's configuration (``-c FILE``, then ``CTI_IVR_HOST``,
``CTI_IVR_PORT``, ``CTI_IVR_MENU_FILE``, ``CTI_DB_DSN``, ``CTI_LOG_LEVEL``...), then
the command line. Without a DSN the menu runs without customer lookups or PINs.
Exit codes: 0 stopped by a signal; 2 bad configuration or menu; 4 PostgreSQL
unreachable; 5 the port cannot be bound; 70 the event loop stalled for
``ivr.stall_exit_seconds`` (ivr/watchdog.py: the callers go on to the queue, the
service manager restarts the IVR). Each failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog

EXIT_CONFIG, EXIT_DB, EXIT_START = 2, 4, 5


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ivr",
        description="FastAGI IVR for Asterisk "
        "(dialplan: AGI(agi://HOST:PORT/hotline)).",
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="the CTI server's TOML configuration file",
    )
    p.add_argument(
        "--host",
        help="address to listen on [ivr.host, CTI_IVR_HOST; default 127.0.0.1]",
    )
    p.add_argument(
        "--port", type=int, help="TCP port [ivr.port, CTI_IVR_PORT; default 4573]"
    )
    p.add_argument(
        "--menu",
        help="menu TOML file [ivr.menu_file, CTI_IVR_MENU_FILE; default ivr/menus/hotline.toml]",
    )
    p.add_argument(
        "--dsn",
        help="PostgreSQL DSN for customer lookups and PINs [db.dsn, CTI_DB_DSN; default none]",
    )
    return p


def _fail(code: int, message: str) -> int:
    print(f"ivr: {message}", file=sys.stderr)
    return code


async def _serve(
    host: str, port: int, menu: str | None, dsn: str, cfg: object = None
) -> int:
    from ivr.menu import MenuError
    from ivr.server import IvrServer

    log = structlog.get_logger("ivr")
    store = None
    if dsn:
        from ctiserver.store import Store, StoreUnavailable

        try:
            # The pool the CTI server's own IVR shares (db.pool_size): with two connections, one
            # caller's PIN check (a deliberately slow scrypt inside its transaction) held every
            # other caller's lookup waiting behind it under load (bench/ivr_load.py).
            pool = getattr(getattr(cfg, "db", None), "pool_size", 5)
            store = await Store.open(dsn, journal_path=None, pool_size=pool)
        except StoreUnavailable as exc:
            return _fail(EXIT_DB, f"PostgreSQL unreachable: {exc}")
    try:
        from ivr.policy import LinePolicy

        policy = LinePolicy.from_config(cfg, store) if cfg is not None else None
        server = IvrServer(store=store, menu=menu, host=host, port=port, policy=policy)
        await server.start()
    except MenuError as exc:
        if store is not None:
            await store.close()
        return _fail(EXIT_CONFIG, str(exc))
    except OSError as exc:
        if store is not None:
            await store.close()
        return _fail(
            EXIT_START, f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stall = getattr(getattr(cfg, "ivr", None), "stall_exit_seconds", 0.0)
    watchdog = None
    if stall > 0:
        from ivr.watchdog import LoopWatchdog

        watchdog = LoopWatchdog(loop, stall)
        watchdog.start()
    log.info("ivr_ready", host=host, port=server.port, store=store is not None, stall_exit_seconds=stall)
    await stop.wait()
    if watchdog is not None:
        watchdog.stop()
    await server.stop()
    if store is not None:
        await store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse, configure logging, serve until SIGINT/SIGTERM."""
    from ctiserver import config as config_mod
    from ctiserver.logging import configure

    args = _parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        return _fail(EXIT_CONFIG, str(exc))
    configure(cfg.log.level, cfg.log.format)
    host = args.host or cfg.ivr.host
    port = cfg.ivr.port if args.port is None else args.port
    if not 0 <= port < 65536:
        return _fail(EXIT_CONFIG, f"--port: {port} is not a TCP port")
    menu = args.menu or cfg.ivr.menu_file or None
    dsn = cfg.db.dsn if args.dsn is None else args.dsn
    return asyncio.run(_serve(host, port, menu, dsn, cfg))


if __name__ == "__main__":
    sys.exit(main())
