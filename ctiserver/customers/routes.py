"""Customer record API and page.

Who may read which customer: see access.py (403 ``not_your_customer`` otherwise).
``GET /api/customers/{no}``: the customer; ``GET /api/customers?phone=…``: the customer with that
number; ``GET /api/customers/{no}/history?kind=all|calls|workorders&page&size``:
their calls and work orders, newest first, paged; ``POST /api/customers`` {name, class, phones, note, linkedid}:
a new customer (from a pop: ``linkedid`` refreshes that call's pop). ``GET /customer?no=…`` is the page.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ctiserver.customers.queries import CUSTOMER, HISTORY_ITEM
from ctiserver.customers.records import CUSTOMER_NO, KINDS
from ctiserver.errors import InvalidInput
from ctiserver.web import validate as v
from ctiserver.web.common import json, query, read_body
from ctiserver.web.keys import ACCOUNT, CUSTOMERS
from ctiserver.web.openapi import BOOL, INT, STR, array, enum, obj, operation

routes = web.RouteTableDef()
PAGE = Path(__file__).resolve().parents[2] / "agent_web" / "customer.html"


def _no(request: web.Request) -> str:
    return v.token(
        request.match_info["no"],
        "customer_no",
        pattern=CUSTOMER_NO,
        max_len=32,
        what="a customer number (letters, digits, -)",
    )


@routes.get("/api/customers/{no}")
@operation("A customer's details", returns=CUSTOMER)
async def customer(request: web.Request) -> web.Response:
    return json(await request.app[CUSTOMERS].get(request[ACCOUNT], _no(request)))


@routes.get("/api/customers")
@operation(
    "The customer with a phone number (an agent: their caller's)", query=("phone",), returns=CUSTOMER
)
async def by_phone(request: web.Request) -> web.Response:
    raw = query(request).get("phone")
    if raw is None:
        raise InvalidInput("phone is required", field="phone")
    phone = v.token(
        raw,
        "phone",
        pattern=r"\+?[0-9][0-9 ()-]{2,30}",
        max_len=32,
        what="a phone number",
    )
    return json(await request.app[CUSTOMERS].by_phone(request[ACCOUNT], phone))


@routes.get("/api/customers/{no}/history")
@operation(
    "A customer's calls and work orders, newest first, paged",
    query=("kind", "page", "size"),
    returns=obj(
        {"customer_no": STR, "kind": enum(*KINDS), "page": INT, "size": INT, "total": INT, "pages": INT,
         "items": array(HISTORY_ITEM)},
        closed=True,
    ),
)
async def history(request: web.Request) -> web.Response:
    q = query(request)
    kind = v.choice(q.get("kind", "all"), "kind", KINDS)
    page = v.integer(q.get("page", "1"), "page", minimum=1, maximum=100_000)
    size = v.integer(q.get("size", "20"), "size", minimum=1, maximum=100)
    records = request.app[CUSTOMERS]
    return json(await records.history(request[ACCOUNT], _no(request), kind, page, size))


@routes.post("/api/customers")
@operation(
    "A new customer (from a pop: linkedid refreshes that call's pop)",
    body={
        "name": v.Field(str),
        "class": v.Field(str, required=False),
        "phones": v.Field(list),
        "note": v.Field(str, required=False),
        "linkedid": v.Field(str, required=False),
    },
    ok=201,
    returns=obj(CUSTOMER["properties"] | {"pop_refreshed": BOOL}, closed=True),
)
async def create(request: web.Request) -> web.Response:
    body = await read_body(request)
    if body.get("linkedid") is not None:
        v.token(
            body["linkedid"],
            "linkedid",
            pattern=r"[A-Za-z0-9_.:-]+",
            max_len=150,
            what="a call id",
        )
    return json(await request.app[CUSTOMERS].create(request[ACCOUNT], body), status=201)


@routes.get("/customer")
async def page(request: web.Request) -> web.FileResponse:
    """The page: public like the panel's; it shows nothing without a session."""
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-cache"})
