"""Administration API under /api/admin (admins only: 403 for anyone else, nothing changed), and
/api/account/password for a signed-in person's own password (forced after a reset)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ctiserver import errors
from ctiserver.admin import bulk
from ctiserver.admin.people import PERSON, check_login
from ctiserver.admin.service import AUDIT_ENTRY, QUEUE, Admin
from ctiserver.web import validate as v
from ctiserver.web.common import json, query, read_body, role_of
from ctiserver.web.keys import ACCOUNT
from ctiserver.web.openapi import BOOL, STR, array, enum, nullable, obj, operation

ADMIN = web.AppKey("admin", Admin)
PAGE = Path(__file__).resolve().parents[2] / "agent_web" / "admin.html"
routes = web.RouteTableDef()

ONE_PERSON = obj({"person": PERSON}, closed=True)


@routes.get("/admin")
async def page(request: web.Request) -> web.FileResponse:
    """The page: public like the panel's; it shows nothing without an admin's session."""
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-cache"})


PERSON_BODY = {
    "login": v.Field(str, required=False),
    "name": v.Field(str, required=False),
    "role": v.Field(str, required=False),
    "department": v.Field(str, required=False),
    "interface": v.Field(str, required=False),
    "queues": v.Field(dict, required=False),
    "phone": v.Field(str, required=False),  # desk | browser
    "password": v.Field(str, required=False),
    "must_change_password": v.Field(bool, required=False),
    "version": v.Field(int, required=False),
}


def _admin_id(request: web.Request) -> str:
    account = request[ACCOUNT]
    if role_of(account) != "admin":
        raise errors.Forbidden("only an admin may administer people and queues")
    return str(account.id)


def _login(request: web.Request) -> str:
    return check_login(request.match_info["login"])


@routes.get("/api/admin/people")
@operation(query=("q", "disabled"), returns=obj({"people": array(PERSON)}, closed=True))
async def list_people(request: web.Request) -> web.Response:
    """People, searched by login, name, extension or department (disabled ones included unless disabled=no)."""
    _admin_id(request)
    q = query(request)
    search = v.text(q.get("q", ""), "q", max_len=64, min_len=0)
    shown = v.choice(q.get("disabled", "yes"), "disabled", ("yes", "no"))
    return json(
        {"people": await request.app[ADMIN].list_people(search, shown == "yes")}
    )


@routes.post("/api/admin/people")
@operation(body=PERSON_BODY, ok=201,
           returns=obj({"person": PERSON, "one_time_password": nullable(STR)}, closed=True))
async def create_person(request: web.Request) -> web.Response:
    """Create a person; without a password a one-time one is returned once (changed at first sign-in)."""
    actor = _admin_id(request)
    person, shown = await request.app[ADMIN].create_person(
        actor, await read_body(request)
    )
    return json({"person": person, "one_time_password": shown}, status=201)


@routes.get("/api/admin/people/{login}")
@operation(returns=ONE_PERSON)
async def get_person(request: web.Request) -> web.Response:
    """One person."""
    _admin_id(request)
    return json({"person": await request.app[ADMIN].get_person(_login(request))})


@routes.patch("/api/admin/people/{login}")
@operation(body=PERSON_BODY, returns=ONE_PERSON)
async def update_person(request: web.Request) -> web.Response:
    """Edit a person; ``version`` is the one last read (409 when someone changed it meanwhile)."""
    actor = _admin_id(request)
    body = await read_body(request)
    if "password" in body or "login" in body:
        field = "password" if "password" in body else "login"
        raise errors.InvalidInput(f"{field} is not edited here", field=field)
    return json(
        {"person": await request.app[ADMIN].update_person(actor, _login(request), body)}
    )


@routes.post("/api/admin/people/{login}/disable")
@operation(body={"version": v.Field(int)}, returns=ONE_PERSON)
async def disable_person(request: web.Request) -> web.Response:
    """Disable: signed out of every queue and every session at once; a call in progress goes on."""
    actor = _admin_id(request)
    body = await read_body(request)
    return json(
        {
            "person": await request.app[ADMIN].set_disabled(
                actor, _login(request), True, body["version"]
            )
        }
    )


@routes.post("/api/admin/people/{login}/enable")
@operation(body={"version": v.Field(int)}, returns=ONE_PERSON)
async def enable_person(request: web.Request) -> web.Response:
    """Re-enable a disabled person."""
    actor = _admin_id(request)
    body = await read_body(request)
    return json(
        {
            "person": await request.app[ADMIN].set_disabled(
                actor, _login(request), False, body["version"]
            )
        }
    )


@routes.post("/api/admin/people/{login}/password")
@operation(
    body={
        "password": v.Field(str, required=False),
        "must_change_password": v.Field(bool, required=False),
    },
    returns=obj({"one_time_password": nullable(STR)}, closed=True),
)
async def reset_password(request: web.Request) -> web.Response:
    """Set or reset a password; without one a one-time password is returned once."""
    actor = _admin_id(request)
    body = await read_body(request)
    shown = await request.app[ADMIN].reset_password(
        actor,
        _login(request),
        body.get("password"),
        body.get("must_change_password", True),
    )
    return json({"one_time_password": shown})


@routes.post("/api/admin/people/import")
@operation(consumes="text/csv", ok=201, returns=bulk.REPORT, also={422: bulk.REPORT})
async def import_people(request: web.Request) -> web.Response:
    """Bulk import from CSV (text/csv): all rows or none; each bad row reported by line and field."""
    actor = _admin_id(request)
    if request.content_type != "text/csv":
        raise errors.InvalidInput(
            "send the file as text/csv", code="unsupported_media_type", field="body"
        )
    raw = await request.content.read(bulk.MAX_BYTES + 1)
    if len(raw) > bulk.MAX_BYTES:
        raise errors.InvalidInput(
            f"the file is larger than {bulk.MAX_BYTES} bytes",
            code="body_too_large",
            field="body",
        )
    report = await bulk.import_csv(request.app[ADMIN], actor, raw)
    return json(report, status=201 if report["imported"] else 422)


@routes.get("/api/admin/queues")
@operation(returns=obj({"queues": array(QUEUE), "known": array(STR), "busy_reasons": array(STR)}, closed=True))
async def list_queues(request: web.Request) -> web.Response:
    """The queues the CTI owns and their settings, and the busy reasons."""
    _admin_id(request)
    admin = request.app[ADMIN]
    return json(
        {
            "queues": list(admin.queue_settings.values()),
            "known": sorted(admin.known_queues()),
            "busy_reasons": admin.busy_reasons,
        }
    )


@routes.put("/api/admin/queues/{name}")
@operation(
    body={
        "wrapup_seconds": v.Field(int),
        "service_level_seconds": v.Field(int),
        "recording": v.Field(bool, required=False),
        "version": v.Field(int, required=False),
    },
    returns=obj({"queue": QUEUE}, closed=True),
)
async def put_queue(request: web.Request) -> web.Response:
    """Create a queue (no version) or change its settings (the version last read)."""
    actor = _admin_id(request)
    body = await read_body(request)
    return json(
        {
            "queue": await request.app[ADMIN].put_queue(
                actor, request.match_info["name"], body
            )
        }
    )


@routes.put("/api/admin/busy-reasons")
@operation(body={"reasons": v.Field(list)}, returns=obj({"busy_reasons": array(STR)}, closed=True))
async def put_busy_reasons(request: web.Request) -> web.Response:
    """The busy reasons agents choose from."""
    actor = _admin_id(request)
    body = await read_body(request)
    return json(
        {
            "busy_reasons": await request.app[ADMIN].set_busy_reasons(
                actor, body["reasons"]
            )
        }
    )


@routes.get("/api/admin/audit")
@operation(query=("target", "limit"), returns=obj({"entries": array(AUDIT_ENTRY)}, closed=True))
async def audit(request: web.Request) -> web.Response:
    """Every administrative change, newest first: who, when, what (before/after, never a password)."""
    _admin_id(request)
    q = query(request)
    limit = v.integer(q.get("limit", "200"), "limit", minimum=1, maximum=1000)
    target = v.text(q["target"], "target", max_len=64) if "target" in q else None
    return json({"entries": await request.app[ADMIN].audit_list(limit, target)})


@routes.get("/api/account/password")
@operation(returns=obj({"must_change": BOOL}, closed=True))
async def password_status(request: web.Request) -> web.Response:
    """Whether the signed-in person must change their password before working."""
    account = request[ACCOUNT]
    return json({"must_change": await request.app[ADMIN].must_change(str(account.id))})


@routes.post("/api/account/password")
@operation(body={"current_password": v.Field(str), "new_password": v.Field(str)},
           returns=obj({"ok": enum(True)}, closed=True))
async def change_password(request: web.Request) -> web.Response:
    """Change one's own password (the forced change after a reset, or any time)."""
    account = request[ACCOUNT]
    body = await read_body(request)
    await request.app[ADMIN].change_own_password(
        str(account.id), account.login, body["current_password"], body["new_password"]
    )
    return json({"ok": True})
