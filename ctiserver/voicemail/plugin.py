"""Wiring of the voicemail capability (called by the composition root, ctiserver/app.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ctiserver.voicemail.routes import VOICEMAILS, routes
from ctiserver.voicemail.service import Voicemails
from ctiserver.voicemail.spool import spool_dir

__all__ = ["add_web", "build", "spool_dir", "start"]


def build(cfg: Any, store: Any, hub: Any, subs: Any, snapshots: Any) -> Voicemails:
    """The service, hearing the AMI events (VM_MESSAGEFILE) and the calls, in every panel's snapshot."""
    service = Voicemails(store, hub, spool_dir(cfg), cfg.voicemail.claim_minutes)
    subs.ami.append(service)
    subs.calls.append(service)
    snapshots.extras.append(service.snapshot)
    return service


async def start(service: Voicemails) -> asyncio.Task:
    """Load the open messages from the work orders' history; watch the claim deadline."""
    await service.load()
    return asyncio.create_task(service.watch(), name="voicemail-watch")


def add_web(webapp: web.Application, service: Voicemails) -> None:
    webapp[VOICEMAILS] = service
    webapp.add_routes(routes)
