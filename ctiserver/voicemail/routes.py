"""Voicemail API (any signed-in account; the auth middleware checks the session).

``GET /api/voicemails[?all=1]`` the open messages (all: the closed ones too), newest first;
``GET /api/voicemails/{id}/audio`` the recording (WAV; an agent cannot play one another agent
claimed: 403); ``POST /api/voicemails/{id}/claim`` (409 ``claimed`` naming who has it, ``closed``);
``POST /api/voicemails/{id}/release``; ``POST /api/voicemails/{id}/outcome``
``{"outcome": "reached"|"no_answer"|"busy"|"wrong_number", "note"?}`` (409 ``not_claimed``;
403 someone else's). ``{id}`` is the linkedid of the call that left the message. Calling the
caller back is the panel's dial command (``POST /api/calls/dial``).
"""

from __future__ import annotations

from aiohttp import web

from ctiserver.voicemail.model import Voicemail
from ctiserver.voicemail.service import Voicemails
from ctiserver.web import validate as v
from ctiserver.web.common import dumps, read_body
from ctiserver.web.keys import ACCOUNT
from ctiserver.web.openapi import array, obj, operation

VOICEMAILS = web.AppKey("voicemails", Voicemails)

routes = web.RouteTableDef()
OUTCOME_BODY = {"outcome": v.Field(str), "note": v.Field(str, required=False)}


@routes.get("/api/voicemails")
@operation(
    "The messages left in the IVR, newest first (all=1: the closed ones too)",
    query=("all",),
    returns=obj({"voicemails": array(Voicemail.VIEW)}, closed=True),
)
async def list_voicemails(request: web.Request) -> web.Response:
    q = v.query(request.query, ("all",))
    every = q.get("all") in ("1", "true", "yes")
    return web.json_response(
        {"voicemails": request.app[VOICEMAILS].list(request[ACCOUNT], not every)},
        dumps=dumps,
    )


@routes.get("/api/voicemails/{id}/audio")
@operation(
    "A message's recording (WAV); 403 when another agent claimed it",
    produces="audio/wav",
)
async def play(request: web.Request) -> web.FileResponse:
    path = request.app[VOICEMAILS].audio(request[ACCOUNT], request.match_info["id"])
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "audio/wav",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@routes.post("/api/voicemails/{id}/claim")
@operation("Claim a message: nobody else can then (409 claimed)", body={}, returns=Voicemail.VIEW)
async def claim(request: web.Request) -> web.Response:
    await read_body(request, {})
    return web.json_response(
        request.app[VOICEMAILS].claim(request[ACCOUNT], request.match_info["id"]),
        dumps=dumps,
    )


@routes.post("/api/voicemails/{id}/release")
@operation("Give a claimed message back (its claimer or a supervisor)", body={}, returns=Voicemail.VIEW)
async def release(request: web.Request) -> web.Response:
    await read_body(request, {})
    return web.json_response(
        request.app[VOICEMAILS].release(request[ACCOUNT], request.match_info["id"]),
        dumps=dumps,
    )


@routes.post("/api/voicemails/{id}/outcome")
@operation(
    "Record a call-back's outcome; reached and wrong_number close the message",
    body=OUTCOME_BODY,
    returns=Voicemail.VIEW,
)
async def outcome(request: web.Request) -> web.Response:
    body = await read_body(
        request, {"outcome": v.Field(str), "note": v.Field(str, required=False)}
    )
    note = v.text(body["note"], "note", max_len=500) if body.get("note") else ""
    view = request.app[VOICEMAILS].record_outcome(
        request[ACCOUNT], request.match_info["id"], body["outcome"], note
    )
    return web.json_response(view, dumps=dumps)
