"""Our tiny migration runner: numbered SQL files applied in order, once, each in a transaction.

Why not a library: the candidates either need SQLAlchemy (alembic), a synchronous
driver (yoyo-migrations, dbmate as a Go binary) or bring a CLI and config format of
their own, for what is here ~60 lines over asyncpg. The runner keeps a
``schema_migrations`` table (version, name, checksum, applied_at) and holds a
PostgreSQL advisory lock while it works, so two servers starting at once do not race.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
# pg_advisory_lock key: any constant of our own ("cti-migr" as bytes).
LOCK_KEY = int.from_bytes(b"ctimigr", "big")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files, in version order; refuses a duplicate version or a stray name."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file name {path.name!r} is not NNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise ValueError(f"two migrations with version {version}")
        found[version] = Migration(version, m.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def applied_versions(conn: asyncpg.Connection) -> dict[int, str]:
    """version -> checksum of the migrations already applied ({} before the first run)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    return {r["version"]: r["checksum"] for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")}


async def is_current(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> bool:
    """True when every migration file has been applied."""
    done = await applied_versions(conn)
    return all(m.version in done for m in (migrations if migrations is not None else load_migrations()))


async def run_migrations(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the pending migrations under an advisory lock; return the versions applied now."""
    migrations = load_migrations() if migrations is None else migrations
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )""")
        done = await applied_versions(conn)
        for m in migrations:
            if m.version in done:
                if done[m.version] != m.checksum:
                    log.warning("migration_changed_after_apply", version=m.version, name=m.name)
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                   m.version, m.name, m.checksum)
            applied.append(m.version)
            log.info("migration_applied", version=m.version, name=m.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied
