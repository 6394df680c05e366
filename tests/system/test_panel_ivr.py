"""Back to the IVR: where the panel may send a caller comes from the server's IVR menu.

``GET /api/ivr/nodes`` lists the nodes of the menu the server runs (any signed-in account;
401 without a session; an unreadable menu file answers 200 with no nodes). Whole server and
simulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from tests.conftest import running, stack_config

HOTLINE = Path(__file__).resolve().parents[2] / "ivr" / "menus" / "hotline.toml"
# The hotline menu and one node more: what is listed is the menu the server runs, not the shipped one.
GOODBYE = '\n[nodes.goodbye]\ntype = "hangup"\nprompt = "vm-goodbye"\n'
SERVED = [{"name": "main", "label": "main", "type": "menu"},
          {"name": "verify", "label": "verify", "type": "authenticate"},
          {"name": "support", "label": "support", "type": "queue"},
          {"name": "voicemail", "label": "voicemail", "type": "voicemail"},
          {"name": "goodbye", "label": "goodbye", "type": "hangup"}]


@pytest.fixture
async def menu_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The ``stack`` of tests/conftest.py running the hotline menu plus a goodbye node (``.menu``: its file)."""
    menu = tmp_path / "menu.toml"
    menu.write_text(HOTLINE.read_text(encoding="utf-8") + GOODBYE, encoding="utf-8")
    async with running(stack_config(db_dsn, tmp_path, **{"ivr.menu_file": str(menu)})) as s:
        await s.core.link_ready.wait()
        s.menu = menu
        yield s


async def test_ivr_nodes_need_a_session_and_are_the_served_menus(menu_stack: Any) -> None:
    stack = menu_stack
    anonymous, agent, boss = stack.client(), stack.client(), stack.client()
    try:
        status, body = await anonymous.get("/api/ivr/nodes")
        assert status == 401 and body["error"]["code"] == "unauthenticated"

        await agent.login("1001")
        await boss.login("1900")
        expected = {"menu": "hotline", "start": "main", "nodes": SERVED}
        assert await agent.get("/api/ivr/nodes") == (200, expected)  # any signed-in account, in the file's order
        assert await boss.get("/api/ivr/nodes") == (200, expected)

        stack.menu.write_text("[nodes.main\ntype = ", encoding="utf-8")  # not TOML
        assert await agent.get("/api/ivr/nodes") == (200, {"menu": None, "start": None, "nodes": []})
        stack.menu.write_text('start = "nowhere"\n[nodes.main]\ntype = "hangup"\n', encoding="utf-8")  # no such start
        assert (await agent.get("/api/ivr/nodes"))[1]["nodes"] == []
        stack.menu.unlink()
        assert (await agent.get("/api/ivr/nodes"))[1]["nodes"] == []
    finally:
        for client in (anonymous, agent, boss):
            await client.close()
