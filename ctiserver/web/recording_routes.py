"""Recording API (issue 4): ``GET /api/workorders/{ref}/recording`` streams the call's audio.

Agents only their own calls (403), supervisors all; 404 when the work order has no
recording (or the file is not, or no longer, in ``callcenter.recordings_dir``).
"""

from __future__ import annotations

from aiohttp import web

from ctiserver.web import validate as v
from ctiserver.web.keys import ACCOUNT, CORE

routes = web.RouteTableDef()


@routes.get("/api/workorders/{id}/recording")
async def get_recording(request: web.Request) -> web.StreamResponse:
    """The recording of one work order (by id or reference), as audio; supports Range for seeking."""
    ident = v.token(request.match_info["id"], "id", pattern=r"[A-Za-z0-9_-]+", max_len=40,
                    what="a work order id or reference")
    path, content_type = await request.app[CORE].recording.file_for(request[ACCOUNT],
                                                                   int(ident) if ident.isdigit() else ident)
    return web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "private, no-store",
                                           "Content-Disposition": f'inline; filename="{path.name}"'})
