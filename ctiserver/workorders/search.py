"""Searching work orders: the filters people give, checked, as one SQL condition; pages and CSV export.

Filters: text in the request, answer or notes (``q``), customer number, caller number,
category, status (several, comma-separated), handler (the assignee), department,
overdue, a due-time range and a creation-date range (days in the working calendar's time
zone). Pages are keyset pages, newest first: ``after`` is the cursor the previous page gave
(``next``), so page 1,000 costs what page 1 does. Everyone sees only what they have a part
in (the same rule as opening one: ctiserver/workorders/actions.py ``roles_of``); supervisors
and admins see everything.

Text is found through the bigram index of migration 005 (every two-character piece of the
lower-cased text), then checked with ILIKE: Chinese has no spaces for a word index, and
pg_trgm ignores CJK characters on a cluster whose LC_CTYPE is C (this project's).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ctiserver.errors import InvalidInput
from ctiserver.store.phones import normalize_phone
from ctiserver.workorders.forms import ACCOUNT_ID, CUSTOMER_NO, line
from ctiserver.workorders.lifecycle import Status
from ctiserver.workorders.settings import WorkOrderSettings

PARAMS = ("q", "customer", "caller", "category", "status", "handler", "department", "overdue", "due_from",
          "due_to", "from", "to", "limit", "after")
OPEN = ("submitted", "accepted", "assigned", "in_progress", "completed", "callback")
PAGE_MAX = 200
TEXT_MIN = 2  # the index holds two-character pieces: one character alone cannot be looked up
TEXT_MAX = 100
WINDOW = 20_000  # newest rows read in page order for words, before asking the bigram index
# The text searched, exactly as migration 005 indexes it (the index is used only for this expression).
DOC = "(coalesce(w.request, '') || E'\\n' || coalesce(w.answer, '') || E'\\n' || coalesce(w.notes, ''))"
CURSOR = re.compile(r"(\d{1,20})_(\d{1,19})")
# What the CSV export holds, in this order (a header row first).
CSV_COLUMNS = ("ref", "status", "channel", "created_at", "caller_number", "caller_name", "customer_no",
               "customer_name", "category", "subcategory", "urgency", "department", "assignee", "agent_id",
               "summary", "request", "answer", "resolution", "notes", "satisfaction", "due_at", "closed_at",
               "colour")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Filter:
    """A checked search: SQL conditions on ``w`` (work_orders) and their arguments."""

    conds: tuple[str, ...] = ()
    args: tuple[Any, ...] = ()
    limit: int = 50
    after: tuple[dt.datetime, int] | None = None
    given: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # the words searched (kept apart: how to look them up depends on the rest)


def _bool(value: str, name: str) -> bool:
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise InvalidInput(f"{name} must be true or false", field=name)


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def _day_start(day: dt.date, tz: Any) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tz)


def cursor_of(created_at: dt.datetime, wo_id: int) -> str:
    """The keyset cursor after one row: creation time in microseconds and id."""
    micros = (created_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"{micros}_{wo_id}"


def parse(query: Mapping[str, str], settings: WorkOrderSettings, now: dt.datetime) -> Filter:
    """The filters of a search (query-string values), each checked; InvalidInput names the one that is wrong."""
    unknown = sorted(set(query) - set(PARAMS))
    if unknown:
        raise InvalidInput(f"unknown parameter {unknown[0]} (known: {', '.join(PARAMS)})", field=unknown[0])
    conds: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    q = query.get
    tz = settings.deadlines.calendar.tz
    if q("q") is not None:
        text = line(q("q"), "q", TEXT_MAX)
        if text is None or len(text) < TEXT_MIN:
            raise InvalidInput(f"q must have {TEXT_MIN} to {TEXT_MAX} characters", field="q")
    if q("customer") is not None:
        no = line(q("customer"), "customer", 32, CUSTOMER_NO, "a customer number")
        conds.append(f"w.customer_id = (SELECT id FROM customers WHERE customer_no = {arg((no or '').upper())})")
    if q("caller") is not None:
        key = normalize_phone(q("caller") or "")
        if not key or len(q("caller") or "") > 40:
            raise InvalidInput("caller must be a phone number", field="caller")
        conds.append(f"w.caller_key = {arg(key)}")
    if q("category") is not None:
        if q("category") not in settings.categories:
            raise InvalidInput(f"category must be one of: {', '.join(settings.categories)}", field="category")
        conds.append(f"w.category = {arg(q('category'))}")
    if q("status") is not None:
        wanted = [s.strip() for s in (q("status") or "").split(",") if s.strip()]
        bad = [s for s in wanted if s not in {x.value for x in Status}]
        if not wanted or bad:
            raise InvalidInput(f"status must be one or more of: {', '.join(s.value for s in Status)}",
                               field="status")
        draft = " OR w.status IS NULL" if "draft" in wanted else ""
        conds.append(f"(w.status = ANY({arg(wanted)}::text[]){draft})")
    if q("handler") is not None:
        conds.append(f"w.assignee = {arg(line(q('handler'), 'handler', 32, ACCOUNT_ID, 'an account id'))}")
    if q("department") is not None:
        if q("department") not in settings.departments:
            raise InvalidInput(f"department must be one of: {', '.join(settings.departments)}", field="department")
        conds.append(f"w.department = {arg(q('department'))}")
    if q("overdue") is not None and _bool(q("overdue") or "", "overdue"):
        conds.append(f"w.status = ANY({arg(list(OPEN))}::text[]) AND w.due_at < {arg(now)}")
    for name, op, shift in (("due_from", ">=", 0), ("due_to", "<", 1), ("from", ">=", 0), ("to", "<", 1)):
        if q(name) is not None:
            column = "w.due_at" if name.startswith("due") else "w.created_at"
            at = _day_start(_date(q(name) or "", name) + dt.timedelta(days=shift), tz)
            conds.append(f"{column} {op} {arg(at)}")
    try:
        limit = int(q("limit") or "50")
    except ValueError:
        raise InvalidInput("limit must be a whole number", field="limit") from None
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(f"limit must be 1 to {PAGE_MAX}", field="limit")
    after = None
    if q("after") is not None:
        m = CURSOR.fullmatch(q("after") or "")
        if not m:
            raise InvalidInput("after must be the cursor a previous page gave (next)", field="after")
        after = (_EPOCH + dt.timedelta(microseconds=int(m[1])), int(m[2]))
    text = line(q("q"), "q", TEXT_MAX) if q("q") is not None else None
    return Filter(tuple(conds), tuple(args), limit, after, dict(query), text)


def _pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def scoped(flt: Filter, account_id: str | None, departments: list[str], text: str | None = "grams"
           ) -> tuple[str, list[Any]]:
    """The WHERE clause (without the keyword) for one person: everything when ``account_id`` is None.

    ``text``: how the words are looked for: ``grams`` through the bigram index (then re-checked),
    ``like`` by the re-check alone (when the rest of the clause already narrows the rows to few),
    None: left out (the caller adds them)."""
    conds, args = list(flt.conds), list(flt.args)
    if flt.text is not None and text is not None:
        args.append(_pattern(flt.text))
        like = f"{DOC} ILIKE ${len(args)}"
        if text == "grams":
            args.append(flt.text)
            like = f"text_grams({DOC}) @> text_grams(${len(args)}::text) AND {like}"
        conds.append(like)
    if account_id is not None:
        args += [account_id, departments]
        a, d = f"${len(args) - 1}", f"${len(args)}"
        conds.append(f"(w.agent_id = {a} OR w.created_by = {a} OR w.submitted_by = {a} OR w.assignee = {a} "
                     f"OR w.department = ANY({d}::text[]))")
    return " AND ".join(conds) or "TRUE", args


def page_sql(where: str, args: list[Any], after: tuple[dt.datetime, int] | None, limit: int) -> tuple[str, list]:
    """The condition and arguments of one keyset page (newest first), ``limit`` rows."""
    args = list(args)
    if after is not None:
        args += [after[0], after[1]]
        where = f"{where} AND (w.created_at, w.id) < (${len(args) - 1}, ${len(args)})"
    args.append(limit)
    return f"{where} ORDER BY w.created_at DESC, w.id DESC LIMIT ${len(args)}", args


def window_sql(where: str, args: list[Any], after: tuple[dt.datetime, int] | None, limit: int, text: str,
               window: int = WINDOW) -> tuple[str, list]:
    """A page of words found among the newest ``window`` rows matching the rest, newest first.

    Common words fill a page within the newest few hundred rows: reading them in page order and
    stopping at ``limit`` matches is far cheaper than fetching every row the bigram index names
    (tens of thousands for 转账失败). A page it fills is exact (every newer row was read); one it
    does not fill is asked again of the index (``page_sql``), which is then cheap: the words are rare.
    """
    args = list(args)
    if after is not None:
        args += [after[0], after[1]]
        where = f"{where} AND (w.created_at, w.id) < (${len(args) - 1}, ${len(args)})"
    args += [_pattern(text), limit]
    p, n = f"${len(args) - 1}", f"${len(args)}"
    return (f"w.id = ANY(ARRAY(SELECT s.id FROM (SELECT w.id, {DOC} AS doc FROM work_orders w WHERE {where} "
            f"ORDER BY w.created_at DESC, w.id DESC LIMIT {int(window)}) AS s WHERE s.doc ILIKE {p} LIMIT {n})) "
            f"ORDER BY w.created_at DESC, w.id DESC LIMIT {n}"), args


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a value that would start a formula gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_rows(items: list[dict[str, Any]], header: bool = False) -> str:
    """CSV text (RFC 4180 quoting, CRLF) of work orders' JSON, formula-safe, with the header row first if asked."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow([safe_cell(item.get(c)) for c in CSV_COLUMNS])
    return out.getvalue()


class WorkOrderSearch:
    """Role-scoped search pages and the streaming export over the store."""

    def __init__(self, store: Any, actions: Any) -> None:
        self.store = store
        self.actions = actions  # WorkOrderActions: settings, views with allowed actions, the clock

    def _scope(self, account: Any) -> tuple[str | None, list[str]]:
        role = str(getattr(account.role, "value", account.role))
        everyone = role in ("supervisor", "admin")
        return None if everyone else str(account.id), self.actions.my_departments(account)

    def _where(self, account: Any, flt: Filter, text: str | None = "grams") -> tuple[str, list[Any]]:
        who, departments = self._scope(account)
        if who is not None and not departments and text is not None:
            text = "like"  # an agent's own work orders are few: their indexes find them, the words are checked
        return scoped(flt, who, departments, text)

    async def _rows(self, account: Any, flt: Filter, limit: int) -> list[Any]:
        who, departments = self._scope(account)
        if flt.text is not None and (who is None or departments):
            where, args = self._where(account, flt, text=None)
            sql, args = window_sql(where, args, flt.after, limit, flt.text)
            rows = await self.store.search_work_orders(sql, args)
            if len(rows) >= limit:
                return rows
        where, args = self._where(account, flt)
        sql, args = page_sql(where, args, flt.after, limit)
        return await self.store.search_work_orders(sql, args)

    async def page(self, account: Any, query: Mapping[str, str]) -> dict[str, Any]:
        """One page of matches, newest first, and the cursor of the next page (None at the end)."""
        flt = parse(query, self.actions.settings, self.actions.now())
        rows = await self._rows(account, flt, flt.limit + 1)
        more = len(rows) > flt.limit
        rows = rows[:flt.limit]
        items = [self.actions.view(wo.to_json(), account) for wo in rows]
        nxt = cursor_of(rows[-1].created_at, rows[-1].id) if more and rows else None
        return {"workorders": items, "next": nxt, "limit": flt.limit}

    def check(self, query: Mapping[str, str]) -> Filter:
        """The filters checked before an export's answer starts (its errors are a plain 400)."""
        return parse({k: v for k, v in query.items() if k not in ("limit", "after")}, self.actions.settings,
                     self.actions.now())

    async def export(self, account: Any, flt: Filter, chunk: int = 500) -> AsyncIterator[str]:
        """CSV text of every match, newest first, a page of ``chunk`` rows at a time (memory stays bounded)."""
        where, args = self._where(account, flt)
        after, header = None, True
        while True:
            sql, page_args = page_sql(where, args, after, chunk)
            rows = await self.store.search_work_orders(sql, page_args)
            yield csv_rows([self.actions.view(wo.to_json()) for wo in rows], header=header)
            header = False
            if len(rows) < chunk:
                return
            after = (rows[-1].created_at, rows[-1].id)
