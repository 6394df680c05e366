"""Wiring of the service hours into the server: the service, its routes, the supervisors' snapshot."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.hours import schedule
from ctiserver.hours.routes import HOURS, routes
from ctiserver.hours.service import HoursService


def hotline_names(cfg: Any) -> list[str]:
    """The IVR menu's name (the hotline callers dial) besides those given hours."""
    from ivr.menu import (
        MenuError,
        load_menu,
    )  # the menu is the IVR's data; its name is the hotline's

    try:
        return [load_menu(cfg.ivr.menu_file or None).name]
    except MenuError:
        return []  # the IVR refuses to start on its own with a bad menu; the server still serves


def build(cfg: Any, store: Any, hub: Any) -> HoursService:
    return HoursService(store, schedule.from_config(cfg), hotline_names(cfg), hub)


def add_web(webapp: web.Application, service: HoursService) -> web.Application:
    webapp[HOURS] = service
    webapp.add_routes(routes)
    return webapp
