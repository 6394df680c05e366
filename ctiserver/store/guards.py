"""What guards the line: the hotlines' "closed now" switches (audited) and the PIN lockout.

Both go straight to PostgreSQL (not through the journal): the IVR reads them while the
caller waits, and a supervisor's switch is refused, not queued, when the database is away
(StoreUnavailable), so the page never shows a switch that is not in force.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from ctiserver.customers.pins import UPGRADE_SQL, check_and_upgrade


@dataclass(frozen=True, slots=True)
class HotlineSwitch:
    """A hotline's emergency switch as last set (or one change of it, in the audit trail)."""

    hotline: str
    closed: bool
    reason: str
    changed_by: str
    changed_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "hotline": self.hotline,
            "closed": self.closed,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat(),
        }


def _switch(row: Any) -> HotlineSwitch:
    return HotlineSwitch(
        row["hotline"],
        row["closed"],
        row["reason"],
        row["changed_by"],
        row["changed_at"],
    )


class HotlineSwitches:
    """Read and flip the switches; every flip is one row of ``hotline_switch_log`` too."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def get(self, hotline: str) -> HotlineSwitch | None:
        """The switch of ``hotline`` (None: never set, i.e. open)."""
        row = await self.store._fetchrow(
            "SELECT * FROM hotline_switches WHERE hotline = $1", hotline
        )
        return _switch(row) if row else None

    async def all(self) -> list[HotlineSwitch]:
        """Every switch ever set, by hotline."""
        return [
            _switch(r)
            for r in await self.store._fetch(
                "SELECT * FROM hotline_switches ORDER BY hotline"
            )
        ]

    async def set(
        self, hotline: str, closed: bool, reason: str, by: str
    ) -> HotlineSwitch:
        """Flip (or confirm) a switch and log who did it and why, in one transaction."""

        async def write(conn: Any) -> Any:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "INSERT INTO hotline_switches (hotline, closed, reason, changed_by, changed_at) "
                    "VALUES ($1, $2, $3, $4, now()) ON CONFLICT (hotline) DO UPDATE SET closed = EXCLUDED.closed, "
                    "reason = EXCLUDED.reason, changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at "
                    "RETURNING *",
                    hotline,
                    closed,
                    reason,
                    by,
                )
                await conn.execute(
                    "INSERT INTO hotline_switch_log (hotline, closed, reason, changed_by, changed_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    hotline,
                    closed,
                    reason,
                    by,
                    row["changed_at"],
                )
                return row

        return _switch(await self.store._run(write))

    async def history(self, hotline: str, limit: int = 50) -> list[HotlineSwitch]:
        """The latest changes of a hotline's switch, newest first."""
        rows = await self.store._fetch(
            "SELECT * FROM hotline_switch_log WHERE hotline = $1 "
            "ORDER BY changed_at DESC, id DESC LIMIT $2",
            hotline,
            limit,
        )
        return [_switch(r) for r in rows]


@dataclass(frozen=True, slots=True)
class PinCheck:
    """``outcome``: ``ok``, ``wrong``, ``locked`` (now or already); ``locked_until`` when locked."""

    outcome: str
    locked_until: dt.datetime | None = None
    failures: int = 0


class PinLocks:
    """PIN checks that count wrong PINs per customer number across calls and lock it after ``max_failures``."""

    def __init__(self, store: Any, *, max_failures: int, lock_seconds: float) -> None:
        self.store = store
        self.max_failures = max_failures
        self.lock = dt.timedelta(seconds=lock_seconds)

    async def check(self, customer_no: str, pin: str) -> PinCheck:
        """Check ``pin`` unless the number is locked; a wrong one counts (an unknown number is simply wrong)."""
        no = (customer_no or "").strip().upper()

        async def run(conn: Any) -> PinCheck:
            async with conn.transaction():
                customer = await conn.fetchrow(
                    "SELECT pin_hash FROM customers WHERE customer_no = $1", no
                )
                if customer is None:
                    return PinCheck("wrong")
                await conn.execute(
                    "INSERT INTO customer_pin_locks (customer_no) VALUES ($1) "
                    "ON CONFLICT (customer_no) DO NOTHING",
                    no,
                )
                lock = await conn.fetchrow(
                    "SELECT *, now() AS now FROM customer_pin_locks WHERE customer_no = $1 "
                    "FOR UPDATE",
                    no,
                )
                now = lock["now"]
                if lock["locked_until"] is not None and lock["locked_until"] > now:
                    return PinCheck("locked", lock["locked_until"], lock["failures"])
                stored = customer["pin_hash"]
                ok, upgraded = (
                    await asyncio.to_thread(check_and_upgrade, pin, stored)
                    if stored and isinstance(pin, str)
                    else (False, None)
                )
                if ok:
                    await conn.execute(
                        "DELETE FROM customer_pin_locks WHERE customer_no = $1", no
                    )
                    if upgraded:
                        await conn.execute(UPGRADE_SQL, no, upgraded, stored)
                    return PinCheck("ok")
                stale = (
                    lock["last_failure_at"] is None
                    or now - lock["last_failure_at"] > self.lock
                )
                failures = 1 if stale else lock["failures"] + 1
                if failures >= self.max_failures:
                    until = now + self.lock
                    await conn.execute(
                        "UPDATE customer_pin_locks SET failures = 0, last_failure_at = $2, "
                        "locked_until = $3 WHERE customer_no = $1",
                        no,
                        now,
                        until,
                    )
                    return PinCheck("locked", until, failures)
                await conn.execute(
                    "UPDATE customer_pin_locks SET failures = $2, last_failure_at = $3, "
                    "locked_until = NULL WHERE customer_no = $1",
                    no,
                    failures,
                    now,
                )
                return PinCheck("wrong", None, failures)

        return await self.store._run(run)
