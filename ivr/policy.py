"""What the line decides for a caller, from the CTI configuration and the store: is the hotline
open (hours, holidays, the supervisors' "closed now" switch), the caller's queue priority by
customer class, and PIN checks that lock a customer number after too many wrong PINs.

Read on each call (the switch) so a supervisor's flip applies to the next caller. The store
being away never stops a caller: the switch then counts as open, a PIN check as failed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import structlog

from ctiserver.hours.schedule import ServiceHours
from ctiserver.store.guards import HotlineSwitches, PinLocks

log = structlog.get_logger(__name__)

STORE_TIMEOUT = 3.0
# PIN checks at once: each is a scrypt run in a thread while its transaction holds a pool
# connection. With the agents' password cost (~45 ms of CPU) a burst of them, unbounded, took every
# connection and both cores from the callers in the menus (bench/ivr_load.py: p99 of every step
# above 3 s). PINs now have their own cheap hash (ctiserver/customers/pins.py, ~1 ms), and the bound
# stays: a burst of PINs hashed at the old cost (re-hashed as callers type them) waits among itself
# (within STORE_TIMEOUT) and the menus stay quick.
PIN_CHECKS_AT_ONCE = 2


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class LinePolicy:
    """Hours, switch, priorities and PIN lockout for the IVR (any part may be absent)."""

    hours: ServiceHours = field(
        default_factory=lambda: ServiceHours(MappingProxyType({}))
    )
    priorities: Mapping[str, int] = field(default_factory=dict)
    store: Any = None
    max_failures: int = 5
    lock_seconds: float = 1800.0
    clock: Callable[[], dt.datetime] = _now
    pin_checks: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(PIN_CHECKS_AT_ONCE), repr=False
    )

    @classmethod
    def from_config(cls, cfg: Any, store: Any = None) -> LinePolicy:
        """The policy a loaded CTI configuration gives (checked at load: no ValueError here)."""
        from ctiserver.hours import schedule

        return cls(
            schedule.from_config(cfg),
            schedule.priorities(cfg.ivr.priorities),
            store,
            cfg.ivr.pin_lockout_after,
            cfg.ivr.pin_lockout_minutes * 60,
        )

    async def closed_reason(self, hotline: str) -> str | None:
        """Why ``hotline`` takes no calls now (closed_now, holiday, after_hours), None when open."""
        switched = False
        if self.store is not None:
            try:
                async with asyncio.timeout(STORE_TIMEOUT):
                    switch = await HotlineSwitches(self.store).get(hotline)
                switched = bool(switch and switch.closed)
            except Exception as exc:  # noqa: BLE001 - an unreadable switch leaves the line as its hours say
                log.warning(
                    "ivr_switch_unreadable",
                    hotline=hotline,
                    error=str(exc) or type(exc).__name__,
                )
        return self.hours.closed_reason(hotline, self.clock(), switched_closed=switched)

    def priority(self, customer_class: str) -> int:
        """QUEUE_PRIO for a customer class (0 when the class has none)."""
        return self.priorities.get(customer_class, 0)

    async def check_pin(self, customer_no: str, pin: str) -> str:
        """``ok``, ``wrong``, ``locked`` or ``error`` (store away): the PIN itself is never logged."""
        if self.store is None:
            return "error"
        try:
            async with asyncio.timeout(STORE_TIMEOUT), self.pin_checks:
                result = await PinLocks(
                    self.store,
                    max_failures=self.max_failures,
                    lock_seconds=self.lock_seconds,
                ).check(customer_no, pin)
        except Exception as exc:  # noqa: BLE001 - a caller is never dropped for a check: it counts as failed
            log.warning("ivr_pin_check_failed", error=str(exc) or type(exc).__name__)
            return "error"
        if result.outcome == "locked":
            log.info(
                "ivr_pin_locked",
                customer_no=customer_no,
                locked_until=result.locked_until.isoformat()
                if result.locked_until
                else None,
            )
        return result.outcome
