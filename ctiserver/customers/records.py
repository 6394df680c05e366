"""The customer record: read one with their calls and work orders, and create one from a caller's pop.

Who may read which customer is decided by ``access.CallerAccess`` (an agent: the caller of a
call they have; handlers: customers of their work orders; supervisors and admins: all). An
agent creates a customer from the pop of a caller who is not one yet: name, class, phone
numbers (the caller's number first), an optional note; when a live call is named, its lookup
runs again, so the pop (and the call's work order) show the new customer at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import structlog

from ctiserver.complaints import checks as v
from ctiserver.customers import queries as q
from ctiserver.customers.access import refused as access_refused
from ctiserver.errors import Conflict, Forbidden, InvalidInput, NotFound
from ctiserver.store.phones import normalize_phone

log = structlog.get_logger(__name__)

CLASSES = ("vip", "ordinary")
KINDS = ("all", "calls", "workorders")
MAX_PHONES = 5
CUSTOMER_NO = r"[A-Za-z0-9-]{1,32}"
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{2,30}")


def new_customer_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The checked fields of a new customer (each refusal names its field)."""
    name = v.text(body.get("name"), "name", max_len=100)
    klass = v.choice(body.get("class", "ordinary"), "class", CLASSES)
    phones = body.get("phones")
    if not isinstance(phones, list) or not phones:
        raise InvalidInput(
            "phones must be a list of 1 to 5 phone numbers", field="phones"
        )
    if len(phones) > MAX_PHONES:
        raise InvalidInput(f"at most {MAX_PHONES} phone numbers", field="phones")
    keys: list[str] = []
    for i, raw in enumerate(phones):
        field = f"phones[{i}]"
        text = v.text(raw, field, max_len=32)
        key = normalize_phone(text)
        if not _PHONE.fullmatch(text) or not 5 <= len(key) <= 20:
            raise InvalidInput(
                f"{field} is not a phone number (digits, optionally +, spaces, dashes)",
                field=field,
            )
        if key in keys:
            raise InvalidInput(f"{field} repeats {text}", field=field)
        keys.append(key)
    note = (
        v.text(body["note"], "note", max_len=500, min_len=0)
        if body.get("note") is not None
        else ""
    )
    return {"name": name, "class": klass, "phones": keys, "note": note}


class CustomerRecords:
    def __init__(
        self,
        store: Any,
        *,
        access: Any = None,
        refresh_pop: Callable[[str], bool] = lambda linkedid: False,
    ) -> None:
        self.store = store
        # CallerAccess; None: no scoping (tools, tests of the queries)
        self.access = access
        self.refresh_pop = (
            refresh_pop  # the call's customer lookup again (True when the call is live)
        )

    async def get(self, account: Any, no: str) -> dict[str, Any]:
        """The customer ``no`` if ``account`` may read them (403 otherwise, whether they exist or not)."""
        found = await self.store.run(lambda c: q.customer(c, no.strip().upper()))
        wide = self.access is None or self.access.wide(account)
        if found is None:
            if not wide:
                raise access_refused()
            raise NotFound(f"no customer {no}", field="customer_no")
        if self.access is not None:
            try:
                await self.access.check_customer(account, found)
            except Forbidden:
                log.info(
                    "customer_refused",
                    customer=found["customer_no"],
                    by=str(account.id),
                )
                raise
        return found

    async def by_phone(self, account: Any, phone: str) -> dict[str, Any]:
        """The customer owning ``phone``: for an agent, only the caller number of a call of theirs."""
        if self.access is not None:
            self.access.check_phone(account, phone)
        key = normalize_phone(phone)
        found = await self.store.run(lambda c: q.customer_by_phone(c, key))
        if found is None:
            raise NotFound(f"no customer has the number {phone}", field="phone")
        return found

    async def history(
        self, account: Any, no: str, kind: str, page: int, size: int
    ) -> dict[str, Any]:
        """One page (from 1) of the customer's calls, work orders or both, newest first."""
        customer = await self.get(account, no)
        items, total = await self.store.run(
            lambda c: q.history(c, customer["id"], kind, size, (page - 1) * size)
        )
        return {
            "customer_no": customer["customer_no"],
            "kind": kind,
            "page": page,
            "size": size,
            "total": total,
            "pages": max(1, -(-total // size)),
            "items": items,
        }

    async def create(self, account: Any, body: dict[str, Any]) -> dict[str, Any]:
        fields = new_customer_fields(body)
        linkedid = body.get("linkedid")  # checked by the route (a call id)
        try:
            out = await self.store.run(
                lambda c: q.create(
                    c, fields["name"], fields["class"], fields["phones"], fields["note"]
                )
            )
        except Exception as exc:
            # a unique violation: a phone claimed at the same moment by another
            if getattr(exc, "sqlstate", None) == "23505":
                raise Conflict(
                    "one of these phone numbers was just given to another customer: reload",
                    code="phone_taken",
                    field="phones",
                ) from exc
            raise
        if isinstance(out, tuple):
            phone, owner = out
            index = fields["phones"].index(phone)
            raise Conflict(
                f"{phone} belongs to customer {owner} already",
                code="phone_taken",
                field=f"phones[{index}]",
            )
        log.info(
            "customer_created",
            customer=out["customer_no"],
            by=str(account.id),
            linkedid=linkedid,
            phones=len(fields["phones"]),
        )
        out["pop_refreshed"] = bool(linkedid) and self.refresh_pop(linkedid)
        return out
