"""Work-order queries for the API (writes come from the call projection)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ctiserver.errors import InvalidInput, NotFound

DISPOSITIONS = ("answered", "abandoned", "no_agent")
MAX_LIMIT = 500


def _json(row: Any) -> dict:
    return row.to_json() if hasattr(row, "to_json") else dict(row)


class WorkOrderQueries:
    def __init__(self, store: Any) -> None:
        self.store = store

    async def list(self, date: dt.date | None = None, agent: str | None = None, caller: str | None = None,
                   disposition: str | None = None, limit: int = 50, offset: int = 0,
                   status: tuple[str, ...] = ()) -> list[dict]:
        """Work orders, newest first, filtered; raises InvalidInput naming a bad filter."""
        if disposition is not None and disposition not in DISPOSITIONS:
            raise InvalidInput(f"disposition must be one of {', '.join(DISPOSITIONS)}", field="disposition")
        if not (1 <= limit <= MAX_LIMIT):
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
        if offset < 0:
            raise InvalidInput("offset must not be negative", field="offset")
        rows = await self.store.list_work_orders(date=date, agent_id=agent, caller=caller, disposition=disposition,
                                                 limit=limit, offset=offset, status=status)
        return [_json(r) for r in rows]

    async def get(self, id_or_ref: str) -> dict:
        """One work order with its history; raises NotFound."""
        row = await self.store.get_work_order(id_or_ref)
        if row is None:
            raise NotFound(f"no work order {id_or_ref!r}", field="id")
        return _json(row)
