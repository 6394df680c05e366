"""PJSIP endpoints in PostgreSQL, as Asterisk's sorcery realtime reads them (``ps_endpoints``).

A row comes before a pjsip.conf endpoint of the same name (``asterisk_realtime/sorcery.conf``
puts the realtime wizard first); a row removed takes its endpoint away (a pjsip.conf one of the
same name is back), so the queue no longer rings it and a Dial or Originate to it finds nothing.
The table's trigger NOTIFYs ``ps_endpoints_changed`` on every change, whoever made it; each
notification re-reads the table. A new endpoint's phone is registered (the default phone) and
its device NOT_INUSE; a removed one's device is INVALID, as Asterisk says of an unknown endpoint.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import structlog

from ..confparse import Endpoint
from ..kernel.kernel import Kernel

log = structlog.get_logger(__name__)

CHANNEL = "ps_endpoints_changed"
_CID = re.compile(r'^\s*"?([^"<]*)"?\s*<([^>]*)>\s*$')


def endpoint_of(row: Any) -> Endpoint:
    cid = row["callerid"] or ""
    m = _CID.match(cid)
    name, num = (m.group(1).strip(), m.group(2).strip()) if m else ("", cid.strip())
    return Endpoint(row["id"], row["context"] or "default", name, num)


class RealtimeEndpoints:
    """Keeps ``kernel.endpoints`` equal to pjsip.conf's endpoints overlaid with ``ps_endpoints``."""

    def __init__(self, kernel: Kernel, dsn: str) -> None:
        self.kernel = kernel
        self.dsn = dsn
        self.base: dict[str, Endpoint] = dict(
            kernel.endpoints
        )  # pjsip.conf's (and extra agents)
        self.names: set[str] = set()  # the endpoints read from the table
        self.loads = 0  # how many times the table was read (tests wait on it)
        self.changed = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Read the table and listen; PostgreSQL away leaves pjsip.conf's endpoints alone, as
        Asterisk goes on with its configuration files when its realtime database is down."""
        try:
            self._conn = await asyncpg.connect(self.dsn, timeout=10)
            await self._conn.add_listener(CHANNEL, self._notified)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            log.warning("pbxsim_realtime_unavailable", error=str(exc))
            self._conn = None
            return
        await self.reload()

    async def stop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await asyncio.wait_for(conn.close(), 5)
            except (
                TimeoutError,
                OSError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
            ):
                conn.terminate()

    def _notified(self, *_: Any) -> None:
        self.kernel.spawn(self.reload())

    async def reload(self) -> None:
        async with self._lock:
            if self._conn is None:
                return
            try:
                rows = await self._conn.fetch(
                    "SELECT id, context, callerid FROM ps_endpoints"
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("pbxsim_realtime_read_failed", error=str(exc))
                return
            self.apply({r["id"]: endpoint_of(r) for r in rows})

    def apply(self, rows: dict[str, Endpoint]) -> None:
        kernel = self.kernel
        for name in self.names - set(rows):
            if name in self.base:
                kernel.endpoints[name] = self.base[name]
            else:
                kernel.endpoints.pop(name, None)
                if not kernel.by_endpoint.get(name):  # a call in progress finishes
                    kernel.devices.set(f"PJSIP/{name}", "INVALID")
            log.info("pbxsim_realtime_endpoint_removed", endpoint=name)
        for name, ep in rows.items():
            fresh = name not in kernel.endpoints or name not in self.names
            kernel.endpoints[name] = ep
            if fresh:
                phone = kernel.phone(name)
                kernel.devices.set(
                    f"PJSIP/{name}", "NOT_INUSE" if phone.registered else "UNAVAILABLE"
                )
                log.info("pbxsim_realtime_endpoint_added", endpoint=name)
        self.names = set(rows)
        self.loads += 1
        self.changed.set()
        self.changed = asyncio.Event()
