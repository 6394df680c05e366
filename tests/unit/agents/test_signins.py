"""Stored sign-ins follow the agent's queues and chosen pause, not the wrap-up pause of each call.

Every call an agent takes starts and ends a wrap-up pause (two ``QueueMemberPause``); what an
Asterisk restart must bring back is unchanged by them, so they are not written again. A real
pause, a new queue and a sign-out are.
"""

from __future__ import annotations

import asyncio

from ctiserver.agents.book import Account, AgentBook
from ctiserver.agents.model import WRAPUP_REASON
from ctiserver.agents.signins import Signins
from ctiserver.ami.events import MemberState

IFACE = "PJSIP/1001"


class RecordingStore:
    """The sign-in part of the store's interface, remembering what it was asked to write."""

    def __init__(self) -> None:
        self.writes: list[tuple] = []

    async def set_signin(self, agent_id: str, queues: dict[str, int], paused: bool, reason: str | None) -> None:
        self.writes.append(("set", agent_id, dict(queues), paused, reason))

    async def clear_signin(self, agent_id: str) -> None:
        self.writes.append(("clear", agent_id))

    async def list_signins(self, timeout: float = 2.0) -> list:
        return []


class Gateway:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def run(self, coro) -> None:
        self.tasks.add(asyncio.get_running_loop().create_task(coro))

    async def settled(self) -> None:
        while self.tasks:
            done = [t for t in self.tasks if t.done()]
            for t in done:
                self.tasks.discard(t)
            if self.tasks:
                await asyncio.gather(*self.tasks)


def member(kind: str, queue: str = "support", paused: bool = False, reason: str = "") -> MemberState:
    return MemberState(at=1.0, kind=kind, queue=queue, interface=IFACE, member_name="Li Na",
                       state_interface=IFACE, status=1, paused=paused, reason=reason, in_call=False,
                       login_time=0, penalty=0)


async def _feed(events: list[MemberState]) -> list[tuple]:
    book = AgentBook([Account("1001", "1001", "Li Na", "agent", IFACE, ("support",))])
    store, gateway = RecordingStore(), Gateway()
    signins = Signins(book, store, gateway, lambda interface: None)
    for e in events:
        book.apply_member(e)
        signins.changed(IFACE)
        await gateway.settled()
    return store.writes


async def test_wrapup_pauses_are_not_written_again() -> None:
    writes = await _feed([
        member("added"),
        member("pause", paused=True, reason=WRAPUP_REASON),
        member("pause", paused=False),
        member("pause", paused=True, reason=WRAPUP_REASON),
        member("pause", paused=False),
    ])
    assert writes == [("set", "1001", {"support": 0}, False, None)]


async def test_a_chosen_pause_a_new_queue_and_a_sign_out_are_written() -> None:
    writes = await _feed([
        member("added"),
        member("pause", paused=True, reason="lunch"),
        member("pause", paused=True, reason="lunch"),  # the same again: nothing new to keep
        member("pause", paused=False),
        member("added", queue="sales"),
        member("removed", queue="sales"),
        member("removed"),
    ])
    assert writes == [
        ("set", "1001", {"support": 0}, False, None),
        ("set", "1001", {"support": 0}, True, "lunch"),
        ("set", "1001", {"support": 0}, False, None),
        ("set", "1001", {"sales": 0, "support": 0}, False, None),
        ("set", "1001", {"support": 0}, False, None),
        ("clear", "1001"),
    ]


async def test_after_a_relogin_the_first_change_is_written_again() -> None:
    """The store may have been changed while the link was away (a person disabled): the first
    change after the restore is written even if it equals the last one written before."""
    book = AgentBook([Account("1001", "1001", "Li Na", "agent", IFACE, ("support",))])
    store, gateway = RecordingStore(), Gateway()
    signins = Signins(book, store, gateway, lambda interface: None)
    book.apply_member(member("added"))
    signins.changed(IFACE)
    await gateway.settled()
    await signins.restore()  # the store lists nobody: the agent signed in at the PBX is kept
    await gateway.settled()
    signins.changed(IFACE)
    await gateway.settled()
    assert store.writes == [("set", "1001", {"support": 0}, False, None)] * 2
