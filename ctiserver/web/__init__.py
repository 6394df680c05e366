"""HTTP API, websocket push endpoint and static panel (the only importer of aiohttp)."""

from ctiserver.web.app import create_app

__all__ = ["create_app"]
