"""Shared steps of the call tests: panels signed in, a call answered, the work order once written."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator

from pbxsim.scripts import CallerScript, Phone
from tests.support.panel import PanelClient

WAIT = 15.0


def is_state(agent: str, state: str):
    return lambda d: d.get("id") == agent and d.get("state") == state


@contextlib.asynccontextmanager
async def panels(stack: Any, *logins: str) -> AsyncIterator[dict[str, PanelClient]]:
    out: dict[str, PanelClient] = {}
    try:
        for login in logins:
            client = stack.client()
            out[login] = client
            await client.login(login)
            await client.connect()
        yield out
    finally:
        for client in out.values():
            await client.close()


async def ready(panel: PanelClient, agent: str) -> None:
    status, body = await panel.post("/api/agent/state", {"state": "ready"})
    assert status < 300, body
    await panel.expect("agent_state", is_state(agent, "ready"))


async def colleague_ready(stack: Any, panel: PanelClient, login: str = "1002") -> None:
    """``login`` (panel ``panel``) ready, its phone answering fast."""
    await ready(panel, login)
    stack.sim.set_phone(login, Phone(answer_after=0.3))


async def answered_call(stack: Any, panel: PanelClient, agent: str = "1001", **script: Any) -> tuple[Any, str]:
    """A customer call that ``agent`` (ready) answers; returns (sim call, linkedid)."""
    stack.sim.set_phone(agent, Phone(answer_after=0.2))
    call = await stack.sim.place_call(CallerScript(number=script.pop("number", "13800138000"), name="Zhang Wei",
                                                   keys="1", keys_at=0.2, **script))
    await panel.expect("agent_state", is_state(agent, "on_call"))
    pop = await panel.expect("pop_update", lambda d: "workorder_ref" in d and d.get("state") == "answered")
    return call, pop["linkedid"]


async def answered_with_colleague_ready(stack: Any, a: PanelClient, b: PanelClient) -> tuple[Any, str]:
    """1001 (panel ``a``) on an answered customer call; 1002 (panel ``b``) ready, its phone answering fast."""
    await ready(a, "1001")
    call, linkedid = await answered_call(stack, a)
    await colleague_ready(stack, b)
    return call, linkedid


async def workorder(stack: Any, panel: PanelClient, linkedid: str, kinds: tuple[str, ...] = ("ended",)) -> dict:
    """The call's work order as the panel reads it, once everything the core saw is written.

    Call after the push that ends the scenario (call_ended): the ops it implies were
    submitted before it was pushed; settled() and flush() wait for them to be written.
    """
    await stack.core.settled()
    await stack.store.flush()
    status, body = await panel.get("/api/workorders")
    assert status == 200, body
    hit = next(w for w in body["workorders"] if w["linkedid"] == linkedid)
    status, body = await panel.get(f"/api/workorders/{hit['ref']}")
    assert status == 200, body
    wo = body["workorder"]
    seen = [e["kind"] for e in wo["events"]]
    assert all(k in seen for k in kinds), seen
    return wo


async def sim_event(sim: Any, now: Any, event: Any) -> None:
    """Wait until ``now()`` holds, or the simulator emits an event matching ``event(name, fields)``."""
    happened = asyncio.Event()

    def listener(name: str, fields: list) -> None:
        if event(name, dict(fields)):
            happened.set()

    if now():
        return
    sim.listeners.append(listener)
    try:
        await asyncio.wait_for(happened.wait(), WAIT)
    finally:
        sim.listeners.remove(listener)


def channels_of(stack: Any, linkedid: str) -> list[str]:
    return sorted(c["channel"].rsplit("-", 1)[0] for c in stack.sim.truth()["channels"] if c["linkedid"] == linkedid)
