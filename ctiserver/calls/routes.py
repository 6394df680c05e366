"""Call-control API: hold, retrieve, transfer, back to the IVR, hang up, dial out.

``POST /api/calls/{linkedid}/hold | retrieve | hangup`` (body ``{}``),
``POST /api/calls/{linkedid}/transfer`` ``{"kind": "agent"|"queue"|"external", "target"}``,
``POST /api/calls/{linkedid}/consult`` ``{"kind": "agent"|"external", "target"}`` then
``.../consult/complete | cancel`` (body ``{}``),
``POST /api/calls/{linkedid}/ivr`` ``{"node"}``, ``POST /api/calls/dial`` ``{"number"}``,
conference add / list / remove, and ``GET /api/workorders/{ref}/recording`` (the call's audio:
agents only their own calls, supervisors all; 404 when there is none).
Only the agent on the call or a supervisor (403); wrong state 409, bad input 400 naming
the field, Asterisk away 503; nothing is changed when refused. The answer says what was
asked of Asterisk (202): the change itself arrives by push when Asterisk confirms it.
"""

from __future__ import annotations

from aiohttp import web

from ctiserver.calls.commands import TRANSFER_KINDS
from ctiserver.calls.consult import CONSULT_KINDS
from ctiserver.web import validate as v
from ctiserver.web.common import dumps, read_body, ref_param
from ctiserver.web.keys import ACCOUNT, CALLS, CONFERENCES, CONSULTS, RECORDINGS
from ctiserver.web.openapi import STR, array, enum, obj, operation

routes = web.RouteTableDef()


def requested(what: str, **more: dict) -> dict:
    """The 202 answer of a call command: the call, what was asked of Asterisk, and its details."""
    return obj({"linkedid": STR, "requested": enum(what), **more}, closed=True)


PARTICIPANT = obj({"participant": STR, "who": STR, "kind": enum("customer", "agent", "external")}, closed=True)
CONFERENCE = obj({"linkedid": STR, "room": STR, "participants": array(PARTICIPANT)}, closed=True)


def _accepted(data: dict) -> web.Response:
    return web.json_response(data, status=202, dumps=dumps)


@routes.post("/api/calls/dial")
@operation("Call a number from the agent's phone", body={"number": v.Field(str)}, ok=202,
           returns=requested("dial", number=STR))
async def dial(request: web.Request) -> web.Response:
    body = await read_body(request)
    return _accepted(await request.app[CALLS].dial(request[ACCOUNT], body["number"]))


@routes.post("/api/calls/{linkedid}/hold")
@operation("Put the caller on hold", body={}, ok=202, returns=requested("hold"))
async def hold(request: web.Request) -> web.Response:
    await read_body(request)
    return _accepted(await request.app[CALLS].hold(request[ACCOUNT], request.match_info["linkedid"]))


@routes.post("/api/calls/{linkedid}/retrieve")
@operation("Take the caller off hold", body={}, ok=202, returns=requested("retrieve"))
async def retrieve(request: web.Request) -> web.Response:
    await read_body(request)
    return _accepted(await request.app[CALLS].retrieve(request[ACCOUNT], request.match_info["linkedid"]))


@routes.post("/api/calls/{linkedid}/transfer")
@operation(
    "Transfer the call (blind or to a queue / agent)",
    body={"kind": v.Field(str), "target": v.Field(str)},
    ok=202,
    returns=requested("transfer", kind=enum(*TRANSFER_KINDS), target=STR),
)
async def transfer(request: web.Request) -> web.Response:
    body = await read_body(request)
    return _accepted(await request.app[CALLS].transfer(request[ACCOUNT], request.match_info["linkedid"],
                                                            body["kind"], body["target"]))


@routes.post("/api/calls/{linkedid}/ivr")
@operation("Send the caller to an IVR node", body={"node": v.Field(str)}, ok=202,
           returns=requested("ivr", node=STR))
async def to_ivr(request: web.Request) -> web.Response:
    body = await read_body(request)
    return _accepted(await request.app[CALLS].to_ivr(request[ACCOUNT], request.match_info["linkedid"],
                                                          body["node"]))


@routes.post("/api/calls/{linkedid}/hangup")
@operation("Hang up the agent's call", body={}, ok=202, returns=requested("hangup"))
async def hangup(request: web.Request) -> web.Response:
    await read_body(request)
    return _accepted(await request.app[CALLS].hangup(request[ACCOUNT], request.match_info["linkedid"]))


@routes.post("/api/calls/{linkedid}/consult")
@operation(
    "Call a colleague while the caller holds",
    body={"kind": v.Field(str), "target": v.Field(str)},
    ok=202,
    returns=requested("consult", kind=enum(*CONSULT_KINDS), target=STR),
)
async def consult(request: web.Request) -> web.Response:
    body = await read_body(request)
    return _accepted(await request.app[CONSULTS].start(request[ACCOUNT], request.match_info["linkedid"],
                                                           body["kind"], body["target"]))


@routes.post("/api/calls/{linkedid}/consult/complete")
@operation("Hand the caller over to the consulted colleague", body={}, ok=202,
           returns=requested("consult_complete"))
async def consult_complete(request: web.Request) -> web.Response:
    await read_body(request)
    return _accepted(await request.app[CONSULTS].complete(request[ACCOUNT],
                                                                    request.match_info["linkedid"]))


@routes.post("/api/calls/{linkedid}/consult/cancel")
@operation("End the consultation and take the caller back", body={}, ok=202,
           returns=requested("consult_cancel"))
async def consult_cancel(request: web.Request) -> web.Response:
    await read_body(request)
    return _accepted(await request.app[CONSULTS].cancel(request[ACCOUNT], request.match_info["linkedid"]))


@routes.post("/api/calls/{linkedid}/consult/conference")
@operation("Join caller, agent and consulted colleague", body={}, ok=202,
           returns=requested("consult_conference", room=STR))
async def consult_conference(request: web.Request) -> web.Response:
    await read_body(request)
    return _accepted(await request.app[CONSULTS].conference(request[ACCOUNT],
                                                                      request.match_info["linkedid"]))


@routes.post("/api/calls/{linkedid}/conference/add")
@operation(
    "Add a party to the call's conference",
    body={"kind": v.Field(str), "target": v.Field(str)},
    ok=202,
    returns=requested("conference_add", room=STR, kind=enum(*CONSULT_KINDS), target=STR),
)
async def conference_add(request: web.Request) -> web.Response:
    body = await read_body(request)
    return _accepted(await request.app[CONFERENCES].add(request[ACCOUNT], request.match_info["linkedid"],
                                                                  body["kind"], body["target"]))


@routes.get("/api/calls/{linkedid}/conference")
@operation("The call's conference and its parties", returns=CONFERENCE)
async def conference(request: web.Request) -> web.Response:
    return web.json_response(await request.app[CONFERENCES].show(request[ACCOUNT],
                                                                      request.match_info["linkedid"]), dumps=dumps)


@routes.post("/api/calls/{linkedid}/conference/remove")
@operation("Remove a party from the conference", body={"participant": v.Field(str)}, ok=202,
           returns=requested("conference_remove", participant=STR))
async def conference_remove(request: web.Request) -> web.Response:
    body = await read_body(request)
    return _accepted(await request.app[CONFERENCES].remove(request[ACCOUNT],
                                                                     request.match_info["linkedid"],
                                                                     body["participant"]))


@routes.get("/api/workorders/{id}/recording")
@operation(produces="audio/*")
async def get_recording(request: web.Request) -> web.StreamResponse:
    """The recording of one work order (by id or reference), as audio; supports Range for seeking."""
    path, content_type = await request.app[RECORDINGS].file_for(request[ACCOUNT], ref_param(request))
    return web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "private, no-store",
                                           "Content-Disposition": f'inline; filename="{path.name}"'})
