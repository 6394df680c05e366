"""The hotlines' state for supervisors: open or closed now and why, their hours, the emergency switch.

Flipping the switch writes it (and its audit row) to PostgreSQL first; only then is it pushed
to every supervisor (``service_hours``) and in force for the IVR's next caller. With the
database away the flip is refused (503), never half done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import structlog

from ctiserver.apischema import BOOL, STR, TIME, array, enum, nullable, obj
from ctiserver.errors import NotFound, Unavailable
from ctiserver.hours.schedule import AFTER_HOURS, CLOSED_NOW, HOLIDAY, ServiceHours
from ctiserver.push.hub import SUPERVISORS
from ctiserver.store.errors import StoreUnavailable
from ctiserver.store.guards import HotlineSwitch, HotlineSwitches

log = structlog.get_logger(__name__)

REASON_MAX = 200


# The schemas of a switch (HotlineSwitch.to_json; never flipped: nobody, no time) and of _view().
SWITCH = obj({"hotline": STR, "closed": BOOL, "reason": STR, "changed_by": nullable(STR), "changed_at": nullable(TIME)},
             closed=True)
HOTLINE_VIEW = obj(
    {"hotline": STR, "closed_reason": nullable(enum(CLOSED_NOW, HOLIDAY, AFTER_HOURS)),
     "week": nullable(array(obj({"day": enum("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                                 "hours": array(STR)}, closed=True))),  # None: always open
     "switch": SWITCH},
    closed=True,
)


class HoursService:
    """Reads and flips the switches of the known hotlines (the IVR's menu and those given hours)."""

    def __init__(
        self,
        store: Any,
        hours: ServiceHours,
        hotlines: Iterable[str],
        hub: Any,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.switches = HotlineSwitches(store)
        self.hours = hours
        self.hotlines = tuple(sorted(set(hotlines) | set(hours.calendars)))
        self.hub = hub
        self.clock = clock

    def _view(self, hotline: str, switch: HotlineSwitch | None) -> dict[str, Any]:
        closed = bool(switch and switch.closed)
        return {
            "hotline": hotline,
            "closed_reason": self.hours.closed_reason(
                hotline, self.clock(), switched_closed=closed
            ),
            "week": self.hours.week_json(hotline),
            "switch": switch.to_json()
            if switch
            else {
                "hotline": hotline,
                "closed": False,
                "reason": "",
                "changed_by": None,
                "changed_at": None,
            },
        }

    async def views(self) -> list[dict[str, Any]]:
        """Every hotline: open or closed now (closed_reason), its week, its switch."""
        try:
            switches = {s.hotline: s for s in await self.switches.all()}
        except StoreUnavailable as exc:
            raise Unavailable(
                "the database is unavailable: the switches cannot be read now",
                code="store_unavailable",
            ) from exc
        return [self._view(h, switches.get(h)) for h in self.hotlines]

    async def history(self, hotline: str) -> list[dict[str, Any]]:
        """Who flipped ``hotline``'s switch, when and why (newest first)."""
        self._known(hotline)
        try:
            return [s.to_json() for s in await self.switches.history(hotline)]
        except StoreUnavailable as exc:
            raise Unavailable(
                "the database is unavailable", code="store_unavailable"
            ) from exc

    async def set_switch(
        self, account: Any, hotline: str, closed: bool, reason: str
    ) -> dict[str, Any]:
        """Close the hotline now (or reopen it to its hours); stored and audited, then pushed."""
        self._known(hotline)
        try:
            switch = await self.switches.set(hotline, closed, reason, str(account.id))
        except StoreUnavailable as exc:
            raise Unavailable(
                "the database is unavailable: the switch was not changed",
                code="store_unavailable",
            ) from exc
        log.info(
            "hotline_switch",
            hotline=hotline,
            closed=closed,
            reason=reason,
            agent=str(account.id),
        )
        view = self._view(hotline, switch)
        self.hub.publish("service_hours", view, SUPERVISORS)
        return view

    def _known(self, hotline: str) -> None:
        if hotline not in self.hotlines:
            raise NotFound(
                f"no hotline named {hotline!r} (known: {', '.join(self.hotlines)})",
                code="unknown_hotline",
            )
