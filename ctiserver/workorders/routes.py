"""Work-order API: search, the form's choices, the task bar, overdue, one work order, its history,
create without a call, save the draft, and every lifecycle action.

Writes answer 200 (201 for a new one) once PostgreSQL has the change, 202 when it is in the
journal only (PostgreSQL away: written when it is back); ``saved`` says which.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver import errors
from ctiserver.web import validate as v
from ctiserver.web.common import (
    AGENT_ID,
    SUPERVISORS,
    dumps,
    json,
    query,
    read_body,
    ref_param,
    role_of,
)
from ctiserver.web.keys import ACCOUNT, WORKORDER_ACTIONS, WORKORDERS
from ctiserver.web.openapi import INT, STR, array, enum, nullable, obj, operation
from ctiserver.workorders.actions import ACTIONS, HISTORY_ENTRY, WORK_ORDER
from ctiserver.workorders.lifecycle import Status
from ctiserver.workorders.search import PARAMS, WorkOrderSearch
from ctiserver.workorders.settings import FORM_CHOICES

CALLER = r"[A-Za-z0-9+*#_.-]+"
DISPOSITIONS = ("answered", "abandoned", "no_agent")
STATUSES = tuple(s.value for s in Status)

_OPTIONAL_TEXT = v.Field(str, required=False)
FORM = {name: _OPTIONAL_TEXT for name in ("category", "subcategory", "urgency", "department", "request", "answer",
                                          "notes", "summary")}
CREATE = {"channel": v.Field(str), "customer_no": _OPTIONAL_TEXT, "caller_number": _OPTIONAL_TEXT,
          "caller_name": _OPTIONAL_TEXT, **FORM}
_VERSION = {"version": v.Field(int), "comment": _OPTIONAL_TEXT}
# What each action's body may hold beside the version and a comment.
ACTION_FIELDS: dict[str, dict[str, v.Field]] = {a: dict(_VERSION) for a in ACTIONS}
ACTION_FIELDS["submit"].update(resolved=v.Field(bool), department=_OPTIONAL_TEXT)
ACTION_FIELDS["assign"].update(department=_OPTIONAL_TEXT, assignee=_OPTIONAL_TEXT)
ACTION_FIELDS["callback"].update(satisfaction=v.Field(str))
ACTION_FIELDS["defer"].update(days=v.Field(int, required=False))

# The document shows one body for every action: the version and a comment always, the rest optional.
ALL_ACTION_FIELDS = {name: spec for fields in ACTION_FIELDS.values() for name, spec in fields.items()}
ALL_ACTION_FIELDS = {name: v.Field(spec.kind, required=name == "version") for name, spec in ALL_ACTION_FIELDS.items()}

routes = web.RouteTableDef()

# Writes answer the work order and where it is: "database", or "journal" (202) while PostgreSQL is away.
SAVED = obj({"workorder": WORK_ORDER, "saved": enum("database", "journal")}, closed=True)
WORK_ORDERS = obj({"workorders": array(WORK_ORDER)}, closed=True)


def _saved(data: dict[str, Any], saved: str, created: bool = False) -> web.Response:
    status = (201 if created else 200) if saved == "database" else 202
    return json({"workorder": data, "saved": saved}, status)


@routes.get("/api/workorders")
@operation(query=("date", "agent", "caller", "disposition", "status", "limit", "offset"),
           returns=obj({"workorders": array(WORK_ORDER), "limit": INT, "offset": INT}, closed=True))
async def list_workorders(request: web.Request) -> web.Response:
    """Search work orders; agents only ever see their own."""
    account = request[ACCOUNT]
    q = query(request)
    kwargs: dict[str, Any] = {
        "date": v.iso_date(q["date"], "date") if "date" in q else None,
        "agent": v.token(q["agent"], "agent", pattern=AGENT_ID, max_len=32, what="an agent id")
        if "agent" in q else None,
        "caller": v.token(q["caller"], "caller", pattern=CALLER, max_len=40,
                          what="a phone number (digits, +, *, #)") if "caller" in q else None,
        "disposition": v.choice(q["disposition"], "disposition", DISPOSITIONS) if "disposition" in q else None,
        "limit": v.integer(q.get("limit", "50"), "limit", minimum=1, maximum=200),
        "offset": v.integer(q.get("offset", "0"), "offset", minimum=0, maximum=1_000_000),
        "status": tuple(v.choice(s.strip(), "status", STATUSES) for s in q["status"].split(","))
        if "status" in q else (),
    }
    if role_of(account) not in SUPERVISORS:
        if kwargs["agent"] not in (None, str(account.id)):
            raise errors.Forbidden("agents may only list their own work orders", field="agent")
        kwargs["agent"] = str(account.id)
    items = await request.app[WORKORDERS].list(**kwargs)
    return web.json_response({"workorders": items, "limit": kwargs["limit"], "offset": kwargs["offset"]},
                             dumps=dumps)


@routes.post("/api/workorders")
@operation(body=CREATE, ok=201, returns=SAVED, also={202: None})
async def create_workorder(request: web.Request) -> web.Response:
    """A work order without a call (letter, e-mail, walk-in), as a draft of the person creating it."""
    body = await read_body(request)
    data, saved = await request.app[WORKORDER_ACTIONS].create(request[ACCOUNT], body)
    return _saved(data, saved, created=True)


@routes.get("/api/workorders/form")
@operation(returns=FORM_CHOICES)
async def workorder_form(request: web.Request) -> web.Response:
    """The choices of the wrap-up form: category tree, urgencies, departments, required fields."""
    query(request)
    return json(request.app[WORKORDER_ACTIONS].settings.form())


@routes.get("/api/workorders/tasks")
@operation(query=("limit",), returns=obj(
    {"workorders": array(WORK_ORDER),
     "counts": obj({"department": INT, "assigned": INT, "callback": INT, "to_forward": INT}, closed=True),
     "total": INT}, closed=True))
async def workorder_tasks(request: web.Request) -> web.Response:
    """What waits for the signed-in person (the task bar), soonest due first, with counts."""
    q = query(request)
    limit = v.integer(q.get("limit", "100"), "limit", minimum=1, maximum=500)
    return json(await request.app[WORKORDER_ACTIONS].waiting(request[ACCOUNT], limit))


@routes.get("/api/workorders/overdue")
@operation(query=("limit",), returns=WORK_ORDERS)
async def workorder_overdue(request: web.Request) -> web.Response:
    """Open work orders past due (supervisors: everyone's), most overdue first."""
    q = query(request)
    limit = v.integer(q.get("limit", "200"), "limit", minimum=1, maximum=1000)
    return json({"workorders": await request.app[WORKORDER_ACTIONS].overdue(request[ACCOUNT], limit)})


@routes.get("/api/workorders/my_departments")
@operation(returns=obj({"my_departments": array(STR)}, closed=True))
async def my_departments(request: web.Request) -> web.Response:
    """The departments the signed-in person handles work for (empty for most agents)."""
    query(request)
    return json({"my_departments": request.app[WORKORDER_ACTIONS].my_departments(request[ACCOUNT])})


@routes.get("/api/workorders/search")
@operation(query=PARAMS, returns=obj({"workorders": array(WORK_ORDER), "next": nullable(STR), "limit": INT},
                                    closed=True))
async def search_workorders(request: web.Request) -> web.Response:
    """Work orders by text, customer, caller, category, status, handler, due, date; newest first, keyset pages."""
    found = WorkOrderSearch(request.app[WORKORDER_ACTIONS].store, request.app[WORKORDER_ACTIONS])
    return json(await found.page(request[ACCOUNT], request.query))


@routes.get("/api/workorders/export.csv")
@operation(query=PARAMS, produces="text/csv")
async def export_workorders(request: web.Request) -> web.StreamResponse:
    """The same search as CSV, every match, streamed (UTF-8 with a BOM so spreadsheets read Chinese)."""
    found = WorkOrderSearch(request.app[WORKORDER_ACTIONS].store, request.app[WORKORDER_ACTIONS])
    flt = found.check(request.query)
    rows = found.export(request[ACCOUNT], flt)
    first = await anext(rows)  # PostgreSQL away: a 503 before the answer starts, not a cut file
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8",
                                           "Content-Disposition": 'attachment; filename="workorders.csv"',
                                           "Cache-Control": "no-store"})
    await response.prepare(request)
    await response.write(("\ufeff" + first).encode())
    async for part in rows:
        await response.write(part.encode())
    await response.write_eof()
    return response


@routes.get("/api/workorders/{id}")
@operation(returns=obj({"workorder": WORK_ORDER}, closed=True))
async def get_workorder(request: web.Request) -> web.Response:
    """One work order by numeric id or reference, with its call events, history and colour."""
    item = await request.app[WORKORDER_ACTIONS].get(request[ACCOUNT], ref_param(request))
    return json({"workorder": item})


@routes.get("/api/workorders/{id}/history")
@operation(returns=obj({"history": array(HISTORY_ENTRY), "ref": nullable(STR), "version": INT}, closed=True))
async def workorder_history(request: web.Request) -> web.Response:
    """The changes people made to one work order, oldest first."""
    item = await request.app[WORKORDER_ACTIONS].get(request[ACCOUNT], ref_param(request))
    if item["history"] is None:
        raise errors.Unavailable("the history is in PostgreSQL, which is unavailable")
    return json({"history": item["history"], "ref": item["ref"], "version": item["version"]})


@routes.post("/api/workorders/{id}/draft")
@operation(body={"version": v.Field(int), **FORM}, returns=SAVED, also={202: None})
async def save_draft(request: web.Request) -> web.Response:
    """Save the form as it is (during the call or after): only the fields sent change."""
    body = await read_body(request)
    data, saved = await request.app[WORKORDER_ACTIONS].act(request[ACCOUNT], ref_param(request), "save", body)
    return _saved(data, saved)


@routes.post(r"/api/workorders/{id}/{action:(" + "|".join(ACTIONS) + ")}")
@operation(body=ALL_ACTION_FIELDS, returns=SAVED, also={202: None})  # each action checks its own fields below
async def workorder_action(request: web.Request) -> web.Response:
    """One lifecycle action: 403 when the role may not, 409 when the state (or version) refuses."""
    action = request.match_info["action"]
    body = await read_body(request, ACTION_FIELDS[action])
    data, saved = await request.app[WORKORDER_ACTIONS].act(request[ACCOUNT], ref_param(request), action, body)
    return _saved(data, saved)
