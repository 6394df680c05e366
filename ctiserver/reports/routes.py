"""Reports API and page (supervisors and admins).

``GET /api/reports?from=YYYY-MM-DD&to=YYYY-MM-DD`` (local dates of the center, the last 30 days by
default): every table; ``GET /api/reports/{table}.csv`` the same table as CSV; ``GET /reports`` the page.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aiohttp import web

from ctiserver.reports.csvfile import render, safe_name
from ctiserver.reports.service import REPORT, TABLES
from ctiserver.web import validate as v
from ctiserver.web.common import json, query
from ctiserver.web.keys import ACCOUNT, REPORTS
from ctiserver.web.openapi import operation

routes = web.RouteTableDef()
PAGE = Path(__file__).resolve().parents[2] / "agent_web" / "reports.html"

COLUMNS: dict[str, tuple[str, ...]] = {
    "by_category_status": ("category", "status", "count"),
    "on_time": ("category", "closed", "with_deadline", "on_time"),
    "overdue": (
        "ref",
        "category",
        "subcategory",
        "status",
        "department",
        "assignee",
        "urgency",
        "due_at",
        "late_seconds",
        "summary",
    ),
    "satisfaction": ("category", "satisfaction", "count"),
    "repeats": (
        "at",
        "ref",
        "category",
        "subcategory",
        "department",
        "repeats",
        "status",
        "customer_no",
        "customer_name",
        "caller_number",
        "actor",
        "comment",
    ),
}


async def _report(request: web.Request) -> dict[str, Any]:
    reports = request.app[REPORTS]
    q = query(request)
    today = dt.datetime.now(reports.tz).date()
    last = v.iso_date(q["to"], "to") if "to" in q else today
    first = (
        v.iso_date(q["from"], "from") if "from" in q else last - dt.timedelta(days=29)
    )
    return await reports.report(request[ACCOUNT], first, last)


@routes.get("/api/reports")
@operation(
    "Every report table over local dates from..to (the last 30 days by default)",
    query=("from", "to"),
    returns=REPORT,
)
async def report(request: web.Request) -> web.Response:
    return json(await _report(request))


@routes.get(r"/api/reports/{table:[a-z_]+}.csv")
@operation("One report table as CSV", query=("from", "to"), produces="text/csv")
async def table_csv(request: web.Request) -> web.Response:
    table = v.choice(request.match_info["table"], "table", TABLES)
    body = await _report(request)
    columns = COLUMNS[table]
    rows = ([r.get(c) for c in columns] for r in body[table])
    name = safe_name(f"{table}-{body['from']}-{body['to']}") + ".csv"
    return web.Response(
        body=render(columns, rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@routes.get("/reports")
async def page(request: web.Request) -> web.FileResponse:
    """The page: public like the panel's; it shows nothing without a supervisor's session."""
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-cache"})
