"""``python -m ctiserver admin create|reset-password``: the first admin on an empty database, and a
way back in when every admin's password is lost. A one-time password is printed once (stdout),
after the SIP secret of an agent or supervisor made here (their phone's account); the password
must be changed at first sign-in. Errors are one line on stderr with the exit codes of
``python -m ctiserver`` (2 bad input or configuration, 4 PostgreSQL unreachable, 5 refused)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ctiserver import config as config_mod
from ctiserver.errors import CtiError

EXIT_INPUT, EXIT_DB, EXIT_REFUSED = 2, 4, 5


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ctiserver admin", description="administration from the shell"
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="TOML configuration file (db.dsn, or CTI_DB_DSN)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser(
        "create", help="create a person (the first admin) with a one-time password"
    )
    create.add_argument("--login", required=True)
    create.add_argument(
        "--role", default="admin", choices=("admin", "supervisor", "agent", "handler")
    )
    create.add_argument("--name", help="display name (default: the login)")
    reset = sub.add_parser(
        "reset-password", help="give a person a new one-time password"
    )
    reset.add_argument("--login", required=True)
    return p


def _fail(code: int, message: str) -> int:
    print(f"ctiserver admin: {message}", file=sys.stderr)
    return code


async def _run(args: argparse.Namespace, dsn: str) -> str | None:
    from ctiserver.admin.service import Admin
    from ctiserver.agents.accounts import Accounts
    from ctiserver.agents.book import AgentBook
    from ctiserver.sipaccounts import plugin as sip_plugin
    from ctiserver.store import Store

    store = await Store.open(dsn, pool_size=1)
    try:
        await store.migrate()
        admin = Admin(store, Accounts(store, AgentBook()))
        # an agent or supervisor made here has a phone too (its secret printed once)
        sip_plugin.build(store, admin)
        await admin.load()
        if args.command == "create":
            person, shown = await admin.create_person(
                "cli",
                {
                    "login": args.login,
                    "name": args.name or args.login,
                    "role": args.role,
                },
            )
            sip = person.get("sip")
            if sip:
                print(
                    f"SIP account {sip['username']} (realm {sip['realm']}), secret shown once: "
                    f"{sip['secret']}"
                )
            return shown
        return await admin.reset_password("cli", args.login)
    finally:
        await store.close()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        return _fail(EXIT_INPUT, str(exc))
    from ctiserver.logging import configure

    configure(
        "error", "console"
    )  # the one line this prints is the answer; the store's notes are not
    from ctiserver.errors import Conflict, NotFound
    from ctiserver.store import StoreUnavailable

    try:
        dsn = cfg.db.dsn
        if not dsn:
            from ctiserver.app import local_database

            dsn = local_database()
        shown = asyncio.run(_run(args, dsn))
    except StoreUnavailable as exc:
        return _fail(EXIT_DB, f"PostgreSQL unreachable: {exc}")
    except (Conflict, NotFound) as exc:
        return _fail(EXIT_REFUSED, exc.message)
    except CtiError as exc:
        return _fail(EXIT_INPUT, f"{exc.field or 'input'}: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        return _fail(EXIT_REFUSED, str(exc) or type(exc).__name__)
    print(
        f"one-time password for {args.login} (shown once; to be changed at first sign-in): {shown}"
    )
    return 0
