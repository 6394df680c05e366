"""``python -m ctiserver.store migrate|seed|status --dsn DSN``: the schema and demo data by hand."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from ctiserver.store.errors import StoreUnavailable
from ctiserver.store.migrate import load_migrations
from ctiserver.store.store import Store


async def _main(args: argparse.Namespace) -> int:
    store = await Store.open(args.dsn)
    try:
        applied = await store.migrate()
        print(f"migrations applied now: {applied or 'none'} (known: {[m.version for m in load_migrations()]})")
        if args.command == "seed":
            await store.seed_demo()
            print("demo agents and customers present")
    finally:
        await store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ctiserver.store", description=__doc__)
    p.add_argument("command", choices=("migrate", "seed"), help="migrate: apply the schema; seed: also add demo data")
    p.add_argument("--dsn", default=os.environ.get("CTI_DB_DSN", ""), help="PostgreSQL DSN (default $CTI_DB_DSN)")
    args = p.parse_args(argv)
    if not args.dsn:
        p.error("--dsn (or CTI_DB_DSN) is required")
    try:
        return asyncio.run(_main(args))
    except StoreUnavailable as exc:
        print(f"ctiserver.store: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
