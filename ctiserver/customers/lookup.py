"""Looks a caller up (by number, or by the customer number the IVR authenticated) off the ordered path.

A call's lookup starts when it begins, again when the IVR identifies the customer or the
dialplan changes the caller's number; a lookup overtaken by a newer one is dropped. When
one finishes, the work order records who the caller is and the pop is refreshed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import structlog

from ctiserver.calls import model as cm
from ctiserver.store.errors import StoreUnavailable
from ctiserver.workorders.projection import customer_step

log = structlog.get_logger(__name__)


class CustomerReader(Protocol):
    async def find_customer_by_no(self, customer_no: str) -> Any: ...
    async def find_customer_by_phone(self, phone: str) -> Any: ...
    async def recent_work_orders(
        self, *, caller_number: str | None, customer_id: Any, limit: int
    ) -> list: ...


class CustomerLookup:
    """Per live call: {"customer", "recent", "lookup": pending | done | unavailable}."""

    def __init__(
        self,
        store: CustomerReader,
        *,
        recent: int,
        is_live: Callable[[str], bool],
        run: Callable[[Any], None],
        record: Callable[[cm.CallStep], None],
    ) -> None:
        self.store = store
        self.recent = recent
        self.is_live = is_live
        self.run = run  # runs a coroutine as a tracked task
        self.record = record  # the work-order projection
        self.on_found: Callable[[cm.Call], None] = lambda call: None
        # linkedid -> what the pop shows of the customer
        self.info: dict[str, dict] = {}
        # a live call by its linkedid (the call tracker's), to look its caller up again
        self.call_of: Callable[[str], cm.Call | None] = lambda linkedid: None

    def on_call_event(self, ce: object) -> None:
        match ce:
            case cm.CallStarted(call=call):
                self._start(call, phone=call.caller_num)
            case cm.CallIdentified(call=call):
                self._start(call, customer_no=call.customer_no)
            case cm.CallerChanged(call=call) if not call.identified:
                self._start(
                    call, phone=call.caller_num
                )  # the customer behind the number the caller has now
            case cm.CallEnded(call=call):
                self.info.pop(call.linkedid, None)

    def refresh(self, linkedid: str) -> bool:
        """Look the caller of a live call up again (a customer was just created for them); False if it ended."""
        call = self.call_of(linkedid)
        if call is None:
            return False
        if call.identified:
            self._start(call, customer_no=call.customer_no)
        else:
            self._start(call, phone=call.caller_num)
        return True

    def _start(self, call: cm.Call, phone: str = "", customer_no: str = "") -> None:
        self.run(self._lookup(call, phone, customer_no))

    async def _lookup(self, call: cm.Call, phone: str, customer_no: str) -> None:
        try:
            if customer_no:
                found = await self.store.find_customer_by_no(customer_no)
            else:
                found = (
                    await self.store.find_customer_by_phone(phone) if phone else None
                )
            customer = found.to_json() if found else None
            recent = await self.store.recent_work_orders(
                caller_number=None if customer else phone,
                customer_id=customer["id"] if customer else None,
                limit=self.recent + 1,
            )
            rows = [r.to_json() if hasattr(r, "to_json") else dict(r) for r in recent]
            info = {
                "customer": customer,
                "lookup": "done",
                "recent": [r for r in rows if r.get("linkedid") != call.linkedid][
                    : self.recent
                ],
            }
        except StoreUnavailable as exc:
            log.warning(
                "customer_lookup_failed", linkedid=call.linkedid, error=str(exc)
            )
            info = {"customer": None, "recent": [], "lookup": "unavailable"}
        if not customer_no and (call.identified or call.caller_num != phone):
            return  # overtaken: the caller id changed or the IVR identified the customer meanwhile
        if info["lookup"] == "done":
            self.record(customer_step(call, info["customer"]))  # also for a call that ended meanwhile
        if not self.is_live(call.linkedid):
            return  # its pops are closed: nothing to show
        self.info[call.linkedid] = info
        self.on_found(call)
