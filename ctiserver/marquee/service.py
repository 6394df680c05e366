"""The marquee (跑马灯): supervisors publish notices that scroll on every panel."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, Callable

import structlog

from ctiserver.agents.book import Account
from ctiserver.errors import Forbidden, InvalidInput

log = structlog.get_logger(__name__)

MAX_TEXT = 500


def _expires(item: dict) -> datetime | None:
    value = item.get("expires_at")
    if not value:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class MarqueeService:
    """Active items are kept in memory (panels read them on every connect) and stored in PostgreSQL."""

    def __init__(self, store: Any, publish: Callable[[list[dict]], None]) -> None:
        self.store = store
        self._publish = publish
        self._items: list[dict] = []
        self._timers: list[asyncio.TimerHandle] = []

    async def load(self) -> None:
        self._items = [m.to_json() for m in await self.store.active_marquee(datetime.now(timezone.utc))]
        for item in self._items:
            self._schedule_expiry(item)

    def active(self) -> list[dict]:
        now = datetime.now(timezone.utc)
        return [i for i in self._items if (e := _expires(i)) is None or e > now]

    async def post(self, text: str, *, by: Account, expires_at: datetime | None = None) -> dict:
        """Publish a notice to every panel at once; raises Forbidden for agents."""
        if not by.is_supervisor:
            raise Forbidden("only supervisors publish the marquee")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("text is empty", field="text")
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"text is longer than {MAX_TEXT} characters", field="text")
        if any(ord(ch) < 32 for ch in text):
            raise InvalidInput("text has control characters", field="text")
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidInput("expires_at needs a time zone", field="expires_at")
            if expires_at <= datetime.now(timezone.utc):
                raise InvalidInput("expires_at is in the past", field="expires_at")
        item = (await self.store.post_marquee(text.strip(), by.id, expires_at)).to_json()
        self._items = self.active() + [item]
        self._schedule_expiry(item)
        log.info("marquee_posted", author=by.id, marquee_id=item.get("id"), expires_at=item.get("expires_at"))
        self._publish(self.active())
        return item

    def _schedule_expiry(self, item: dict) -> None:
        expires = _expires(item)
        if expires is None:
            return
        delay = (expires - datetime.now(timezone.utc)).total_seconds()
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(max(0.0, delay) + 0.05, self._expire))

    def _expire(self) -> None:
        before = len(self._items)
        self._items = self.active()
        if len(self._items) != before:
            self._publish(self._items)

    def close(self) -> None:
        for t in self._timers:
            t.cancel()
