"""Complaint early warning API.

``GET /api/complaints/thresholds`` (supervisors), ``POST /api/complaints/thresholds`` and
``POST /api/complaints/thresholds/{id}`` (admins; a change carries the ``version`` it was made on),
``GET /api/complaints/warnings[?open=1]``, ``POST /api/complaints/warnings/{id}/acknowledge``,
``GET /api/complaints/audit``, ``GET /api/complaints/stats?period=day|week|month&from&to&category&queue``
and the same as ``/api/complaints/stats.csv`` (supervisors).
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from ctiserver.complaints.model import FIELDS
from ctiserver.complaints.periods import PERIODS
from ctiserver.complaints.queries import AUDIT_ENTRY, THRESHOLD, WARNING
from ctiserver.complaints.service import STATISTICS, require_admin
from ctiserver.reports.csvfile import render, safe_name
from ctiserver.web import validate as v
from ctiserver.web.common import json, query, read_body
from ctiserver.web.keys import ACCOUNT, COMPLAINTS
from ctiserver.web.openapi import STR, array, mapping, obj, operation

routes = web.RouteTableDef()
# Each field's own check (threshold_fields) names what is wrong with it; here only JSON scalars pass.
_SCALAR = v.Field((str, int, float, bool), required=False)
STATS_QUERY = ("period", "from", "to", "category", "queue")


def _id(request: web.Request) -> int:
    return v.integer(request.match_info["id"], "id", minimum=1, maximum=2**62)


@routes.get("/api/complaints/thresholds")
@operation(
    "The complaint thresholds, with the categories and queues they may name",
    returns=obj({"thresholds": array(THRESHOLD),
                 "categories": mapping(array(STR)),  # category -> its sub-categories
                 "queues": array(STR)}, closed=True),
)
async def thresholds(request: web.Request) -> web.Response:
    watch = request.app[COMPLAINTS]
    return json(
        {
            "thresholds": await watch.thresholds(request[ACCOUNT]),
            "categories": {c: list(subs) for c, subs in watch.categories.items()},
            "queues": list(watch.queues),
        }
    )


@routes.post("/api/complaints/thresholds")
@operation(
    "Add a complaint threshold (admins)", body=dict.fromkeys(FIELDS, _SCALAR), ok=201, returns=THRESHOLD
)
async def create(request: web.Request) -> web.Response:
    watch = request.app[COMPLAINTS]
    account = request[ACCOUNT]
    require_admin(
        account, "set complaint thresholds"
    )  # before reading the body: a 403 says why at once
    body = await read_body(request)
    return json(await watch.create(account, body), status=201)


@routes.post("/api/complaints/thresholds/{id}")
@operation(
    "Change a threshold made on `version` (admins)",
    body={**dict.fromkeys(FIELDS, _SCALAR), "version": v.Field(int)},
    returns=THRESHOLD,
)
async def change(request: web.Request) -> web.Response:
    require_admin(request[ACCOUNT], "change complaint thresholds")
    body = await read_body(request)
    return json(
        await request.app[COMPLAINTS].change(request[ACCOUNT], _id(request), body)
    )


@routes.get("/api/complaints/warnings")
@operation("Complaint warnings raised (open=1: not acknowledged yet)", query=("open",),
           returns=obj({"warnings": array(WARNING)}, closed=True))
async def warnings(request: web.Request) -> web.Response:
    q = query(request)
    open_only = v.choice(q.get("open", "0"), "open", ("0", "1")) == "1"
    return json(
        {
            "warnings": await request.app[COMPLAINTS].warnings(
                request[ACCOUNT], open_only
            )
        }
    )


@routes.post("/api/complaints/warnings/{id}/acknowledge")
@operation(
    "Acknowledge a warning, with a comment",
    body={"comment": v.Field(str, required=False)},
    returns=WARNING,
)
async def acknowledge(request: web.Request) -> web.Response:
    body = await read_body(request)
    comment = (
        v.text(body["comment"], "comment", max_len=500, min_len=0)
        if body.get("comment") is not None
        else ""
    )
    return json(
        await request.app[COMPLAINTS].acknowledge(
            request[ACCOUNT], _id(request), comment or None
        )
    )


@routes.get("/api/complaints/audit")
@operation("Who changed thresholds and acknowledged warnings, when",
           returns=obj({"audit": array(AUDIT_ENTRY)}, closed=True))
async def audit(request: web.Request) -> web.Response:
    return json({"audit": await request.app[COMPLAINTS].audit(request[ACCOUNT])})


async def _stats(request: web.Request) -> dict:
    watch = request.app[COMPLAINTS]
    q = query(request)
    period = v.choice(q.get("period", "day"), "period", PERIODS)
    today = dt.datetime.now(watch.tz).date()
    last = v.iso_date(q["to"], "to") if "to" in q else today
    first = (
        v.iso_date(q["from"], "from") if "from" in q else last - dt.timedelta(days=30)
    )
    category = v.choice(
        q.get("category", "complaint"), "category", tuple(watch.categories)
    )
    queue = v.choice(q["queue"], "queue", watch.queues) if q.get("queue") else None
    return await watch.statistics(
        request[ACCOUNT], period, first, last, category, queue
    )


@routes.get("/api/complaints/stats")
@operation("Complaints per day, week or month", query=STATS_QUERY, returns=STATISTICS)
async def stats(request: web.Request) -> web.Response:
    return json(await _stats(request))


@routes.get("/api/complaints/stats.csv")
@operation(
    "Complaints per day, week or month, as CSV", query=STATS_QUERY, produces="text/csv"
)
async def stats_csv(request: web.Request) -> web.Response:
    body = await _stats(request)
    subs = list(body["subcategories"]) + sorted(
        {s for r in body["rows"] for s in r["by_subcategory"]}
        - set(body["subcategories"])
    )
    header = ["period_start", "complaints", "repeats", "answered", "rate", *subs]
    rows = (
        [
            r["period_start"],
            r["complaints"],
            r["repeats"],
            r["answered"],
            r["rate"],
            *(r["by_subcategory"].get(s, 0) for s in subs),
        ]
        for r in body["rows"]
    )
    name = (
        safe_name(f"complaints-{body['period']}-{body['from']}-{body['to']}") + ".csv"
    )
    return web.Response(
        body=render(header, rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
