"""SQL of the customer record: one customer, their calls and work orders page by page, a new customer.

Run on a connection the store lends (``Store.run``); phones are stored normalised
(ctiserver/store/phones.py), so a customer's calls include those from their numbers that were
made before the record existed (or while the lookup was impossible).
"""

from __future__ import annotations

from typing import Any

from ctiserver.apischema import BOOL, INT, NUM, STR, TIME, array, enum, nullable, obj

_CUSTOMER = (
    "SELECT c.id, c.customer_no, c.name, c.class, c.note, c.created_at, c.pin_hash IS NOT NULL AS has_pin, "
    "COALESCE((SELECT array_agg(p.phone ORDER BY p.phone) FROM customer_phones p "
    "WHERE p.customer_id = c.id), '{}') AS phones FROM customers c"
)
_HISTORY_WHERE = (
    "(w.customer_id = $1 OR w.caller_key IN (SELECT phone FROM customer_phones "
    "WHERE customer_id = $1))"
)
HISTORY_COLUMNS = (
    "id",
    "ref",
    "linkedid",
    "channel",
    "direction",
    "caller_number",
    "queue",
    "agent_id",
    "call_state",
    "disposition",
    "created_at",
    "answered_at",
    "talk_seconds",
    "wait_seconds",
    "status",
    "category",
    "subcategory",
    "summary",
    "due_at",
    "satisfaction",
    "repeats",
)


# The schemas of customer_json() and of history()'s items (work_orders rows, times as ISO text).
CUSTOMER = obj(
    {"id": INT, "customer_no": STR, "name": STR, "class": enum("vip", "ordinary"), "note": STR,
     "phones": array(STR), "has_pin": BOOL, "created_at": TIME},
    closed=True,
)
_TEXT = nullable(STR)
HISTORY_ITEM = obj(
    {"id": INT, "ref": _TEXT, "linkedid": STR, "channel": STR, "direction": _TEXT, "caller_number": _TEXT,
     "queue": _TEXT, "agent_id": _TEXT, "call_state": _TEXT, "disposition": _TEXT, "created_at": TIME,
     "answered_at": nullable(TIME), "talk_seconds": nullable(NUM), "wait_seconds": nullable(NUM), "status": _TEXT,
     "category": _TEXT, "subcategory": _TEXT, "summary": _TEXT, "due_at": nullable(TIME),
     "satisfaction": _TEXT, "repeats": INT},
    closed=True,
)


def customer_json(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "customer_no": r["customer_no"],
        "name": r["name"],
        "class": r["class"],
        "note": r["note"],
        "phones": list(r["phones"]),
        "has_pin": r["has_pin"],
        "created_at": r["created_at"].isoformat(),
    }


async def customer(conn: Any, no: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"{_CUSTOMER} WHERE c.customer_no = $1", no)
    return customer_json(row) if row else None


async def customer_by_phone(conn: Any, phone: str) -> dict[str, Any] | None:
    """The customer one of whose numbers is ``phone`` (normalised)."""
    row = await conn.fetchrow(
        f"{_CUSTOMER} WHERE c.id = (SELECT customer_id FROM customer_phones WHERE phone = $1)",
        phone,
    )
    return customer_json(row) if row else None


async def history(
    conn: Any, customer_id: int, kind: str, limit: int, offset: int
) -> tuple[list[dict], int]:
    """(one page of the customer's calls or work orders, newest first; how many in all).

    ``kind``: ``calls`` (every contact that was a call), ``workorders`` (written up: a
    status other than none), or ``all``."""
    cond = {
        "calls": " AND w.channel = 'call'",
        "workorders": " AND w.status IS NOT NULL",
        "all": "",
    }[kind]
    total = await conn.fetchval(
        f"SELECT count(*) FROM work_orders w WHERE {_HISTORY_WHERE}{cond}", customer_id
    )
    rows = await conn.fetch(
        f"SELECT {', '.join('w.' + c for c in HISTORY_COLUMNS)} FROM work_orders w WHERE {_HISTORY_WHERE}{cond} "
        "ORDER BY w.created_at DESC, w.id DESC LIMIT $2 OFFSET $3",
        customer_id,
        limit,
        offset,
    )
    out = []
    for r in rows:
        item = {c: r[c] for c in HISTORY_COLUMNS}
        for c in ("created_at", "answered_at", "due_at"):
            item[c] = item[c].isoformat() if item[c] is not None else None
        out.append(item)
    return out, int(total)


async def phone_owner(conn: Any, phones: list[str]) -> tuple[str, str] | None:
    """(phone, customer number) of the first of ``phones`` that belongs to a customer already."""
    row = await conn.fetchrow(
        "SELECT p.phone, c.customer_no FROM customer_phones p JOIN customers c "
        "ON c.id = p.customer_id WHERE p.phone = ANY($1::text[]) ORDER BY p.phone LIMIT 1",
        phones,
    )
    return (row["phone"], row["customer_no"]) if row else None


async def create(
    conn: Any, name: str, klass: str, phones: list[str], note: str
) -> dict[str, Any] | tuple[str, str]:
    """The new customer, numbered C + its id (C0006, ...); or (phone, owner's number) if a phone is taken.

    One transaction: a phone claimed meanwhile by someone else is refused by its primary key."""
    async with conn.transaction():
        taken = await phone_owner(conn, phones)
        if taken:
            return taken
        cid = await conn.fetchval(
            "SELECT nextval(pg_get_serial_sequence('customers', 'id'))"
        )
        no, n = f"C{cid:04d}", 0
        while await conn.fetchval("SELECT 1 FROM customers WHERE customer_no = $1", no):
            n += 1  # a number imported from elsewhere holds it: never reuse one
            no = f"C{cid:04d}-{n}"
        await conn.execute(
            "INSERT INTO customers (id, customer_no, name, class, note) VALUES ($1, $2, $3, $4, $5)",
            cid,
            no,
            name,
            klass,
            note,
        )
        await conn.executemany(
            "INSERT INTO customer_phones (phone, customer_id) VALUES ($1, $2)",
            [(p, cid) for p in phones],
        )
        row = await conn.fetchrow(f"{_CUSTOMER} WHERE c.id = $1", cid)
    return customer_json(row)
