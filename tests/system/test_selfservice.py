"""The self-service node in the whole product (store, core, IVR, simulator on asterisk_conf/, web):
the back-end's answer is read to the caller and the work order says so; a back-end that fails
sends the caller to an agent, whose pop shows the path, and the work order says why."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from pbxsim.scripts import CallerScript
from tests.conftest import running, stack_config
from tests.support.wait import eventually

MENU = """
name = "selfservice-test"
start = "main"

[nodes.main]
type = "menu"
prompt = "beep"
keys = {{ "3" = "balance", "1" = "support" }}

[nodes.balance]
type = "selfservice"
url = "http://127.0.0.1:{port}/{path}/{{caller}}"
timeout = 1.0
say = [{{ pointer = "/balance", as = "number" }}]
next = "bye"
fallback = "support"

[nodes.support]
type = "queue"
queue = "support"
fallback = "bye"

[nodes.bye]
type = "hangup"
prompt = "goodbye"
"""


async def steps_of(store: Any, linkedid: str, kind: str) -> list[dict]:
    wo = await store.get_work_order(linkedid)
    return [] if wo is None else [e.data for e in wo.events if e.kind == kind]


async def test_answer_read_or_fallback_to_an_agent_each_on_the_work_order(
    db_dsn: str, tmp_path: Path
) -> None:
    asked: list[str] = []

    async def ok(request: web.Request) -> web.Response:
        asked.append(request.match_info["caller"])
        return web.json_response({"balance": 42})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503)

    never = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await never.wait()
        return web.json_response({"balance": 1})

    app = web.Application()
    app.router.add_get("/ok/{caller}", ok)
    app.router.add_get("/broken/{caller}", broken)
    app.router.add_get("/slow/{caller}", slow)
    backend = TestServer(app, host="127.0.0.1")
    await backend.start_server()
    try:
        for path in ("ok", "broken", "slow"):
            menu = tmp_path / f"{path}.toml"
            menu.write_text(MENU.format(port=backend.port, path=path))
            cfg = stack_config(db_dsn, tmp_path, **{"ivr.menu_file": str(menu)})
            async with running(cfg) as stack:
                await stack.core.link_ready.wait()
                if path == "ok":
                    await stack.sim.place_call(
                        CallerScript(number="13900000001", keys="3")
                    )
                    await eventually(
                        lambda: bool(asked), timeout=15, what="the back-end asked"
                    )
                    assert asked == ["13900000001"]
                    await _check_step(stack, "13900000001", "ok")
                elif path == "slow":  # the caller hangs up while the back-end thinks
                    call = await stack.sim.place_call(
                        CallerScript(number="13900000003", keys="3", hangup_at=2.0)
                    )
                    await call.ended()
                    await _check_step(stack, "13900000003", "hung_up")
                else:
                    agent = stack.client()
                    try:
                        await agent.login("1001")
                        await agent.connect()
                        status, body = await agent.post(
                            "/api/agent/state", {"state": "ready"}
                        )
                        assert status == 202, body
                        await agent.expect(
                            "agent_state",
                            lambda d: d["id"] == "1001" and d["state"] == "ready",
                        )
                        await stack.sim.place_call(
                            CallerScript(
                                number="13900000002", keys="3", hangup_after_answer=0.5
                            )
                        )
                        pop = await agent.expect("call_ringing", timeout=20)
                        assert pop["ivr_path"] == ["main", "balance", "support"]
                    finally:
                        await agent.close()
                    await _check_step(stack, "13900000002", "http_503")
    finally:
        never.set()
        await backend.close()


async def _check_step(stack: Any, caller: str, outcome: str) -> None:
    found: list[dict] = []

    async def look() -> bool:
        await stack.store.flush()
        for wo in await stack.store.list_work_orders():
            if wo.caller_number == caller:
                found[:] = await steps_of(stack.store, wo.linkedid, "selfservice")
        return bool(found)

    deadline = time.monotonic() + 15
    while not await look():
        assert time.monotonic() < deadline, (
            f"no selfservice step on {caller}'s work order"
        )
        await asyncio.sleep(0.05)
    assert found[0]["outcome"] == outcome and found[0]["node"] == "balance"
