"""The reports page's figures over a chosen period of the center's local dates (supervisors and admins).

Each table is read from PostgreSQL (reports/queries.py) and summed here: counts by category and
status, the on-time rate of closed work orders, the overdue list (open and past due now),
satisfaction from callbacks, repeat complaints. Every table is also a CSV (reports/routes.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from ctiserver.apischema import DATE, INT, NUM, STR, TIME, array, nullable, obj
from ctiserver.errors import Forbidden, InvalidInput
from ctiserver.reports import queries as q

log = structlog.get_logger(__name__)

TABLES = ("by_category_status", "on_time", "overdue", "satisfaction", "repeats")
_TEXT = nullable(STR)
# The schema of Reports.report() (queries.py makes the tables' rows; category None: none chosen).
REPORT = obj(
    {"from": DATE, "to": DATE, "timezone": STR, "generated_at": TIME,
     "by_category_status": array(obj({"category": _TEXT, "status": _TEXT, "count": INT}, closed=True)),
     "on_time": array(obj({"category": _TEXT, "closed": INT, "with_deadline": INT, "on_time": INT}, closed=True)),
     "on_time_rate": nullable(NUM),
     "overdue": array(obj(
         {"ref": _TEXT, "category": _TEXT, "subcategory": _TEXT, "status": _TEXT, "department": _TEXT,
          "assignee": _TEXT, "urgency": _TEXT, "due_at": nullable(TIME), "late_seconds": nullable(NUM),
          "summary": _TEXT},
         closed=True,
     )),
     "satisfaction": array(obj({"category": _TEXT, "satisfaction": _TEXT, "count": INT}, closed=True)),
     "satisfaction_rate": nullable(NUM),
     "repeats": array(obj(
         {"at": TIME, "actor": STR, "comment": _TEXT, "ref": _TEXT, "category": _TEXT, "subcategory": _TEXT,
          "department": _TEXT, "repeats": INT, "status": _TEXT, "caller_number": _TEXT, "customer_no": _TEXT,
          "customer_name": _TEXT},
         closed=True,
     )),
     "totals": obj({"work_orders": INT, "closed_with_deadline": INT, "closed_on_time": INT, "callbacks": INT,
                    "repeats": INT, "overdue": INT}, closed=True)},
    closed=True,
)
MAX_DAYS = 366


def _role(account: Any) -> str:
    return str(getattr(account.role, "value", account.role))


class Reports:
    def __init__(
        self,
        store: Any,
        *,
        timezone: str,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.store = store
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.now = now

    def bounds(self, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """``[first 00:00, the day after last 00:00)`` in the center's time zone, as UTC."""
        if last < first:
            raise InvalidInput("to is before from", field="to")
        if (last - first).days >= MAX_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days", field="from")
        start = dt.datetime.combine(first, dt.time(), self.tz).astimezone(dt.UTC)
        end = dt.datetime.combine(
            last + dt.timedelta(days=1), dt.time(), self.tz
        ).astimezone(dt.UTC)
        return start, end

    async def report(
        self, account: Any, first: dt.date, last: dt.date
    ) -> dict[str, Any]:
        """Every table of the page for local dates ``[first, last]``."""
        if _role(account) not in ("supervisor", "admin"):
            raise Forbidden("only supervisors may see reports")
        start, end = self.bounds(first, last)
        run = self.store.run
        counts = await run(lambda c: q.by_category_status(c, start, end))
        on_time = await run(lambda c: q.on_time(c, start, end))
        satisfaction = await run(lambda c: q.satisfaction(c, start, end))
        repeats = await run(lambda c: q.repeats(c, start, end))
        overdue = await self.store.overdue_work_orders(self.now(), limit=500)
        closed = sum(r["with_deadline"] for r in on_time)
        in_time = sum(r["on_time"] for r in on_time)
        answers = sum(r["count"] for r in satisfaction)
        happy = sum(
            r["count"]
            for r in satisfaction
            if r["satisfaction"] in ("satisfied", "basically_satisfied")
        )
        log.info(
            "report_read",
            by=str(account.id),
            first=first.isoformat(),
            last=last.isoformat(),
        )
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "timezone": self.timezone,
            "generated_at": self.now().isoformat(),
            "by_category_status": counts,
            "on_time": on_time,
            "on_time_rate": (in_time / closed) if closed else None,
            "overdue": [self._overdue(w) for w in overdue],
            "satisfaction": satisfaction,
            "satisfaction_rate": (happy / answers) if answers else None,
            "repeats": repeats,
            "totals": {
                "work_orders": sum(r["count"] for r in counts),
                "closed_with_deadline": closed,
                "closed_on_time": in_time,
                "callbacks": answers,
                "repeats": len(repeats),
                "overdue": len(overdue),
            },
        }

    def _overdue(self, wo: Any) -> dict[str, Any]:
        late = (self.now() - wo.due_at).total_seconds() if wo.due_at else None
        return {
            "ref": wo.ref,
            "category": wo.category,
            "subcategory": wo.subcategory,
            "status": wo.status,
            "department": wo.department,
            "assignee": wo.assignee,
            "urgency": wo.urgency,
            "due_at": wo.due_at.isoformat() if wo.due_at else None,
            "late_seconds": late,
            "summary": wo.summary,
        }
