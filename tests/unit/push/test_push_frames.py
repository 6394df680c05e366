"""Frames on the push socket: what is queued goes as one array frame; supervisors' sockets linger.

The linger is timed by a clock and a sleep the test holds in its hand: the test sees the
writer ask to wait, publishes meanwhile, and lets the time pass when it chooses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ctiserver.push.hub import ALL, SUPERVISORS, Audience, PushHub
from tests.unit.push.conftest import PushServer, recv_frame, recv_json


class HeldClock:
    """Monotonic time that moves only when the test says; sleeps wait for that."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.asked: list[float] = []
        self.sleeping = asyncio.Event()
        self._sleepers: list[asyncio.Future[None]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        done = asyncio.get_running_loop().create_future()
        self._sleepers.append(done)
        self.sleeping.set()
        await done

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.sleeping.clear()
        sleepers, self._sleepers = self._sleepers, []
        for done in sleepers:
            if not done.done():
                done.set_result(None)


async def serving(hub: PushHub) -> AsyncIterator[PushServer]:
    server = PushServer(hub)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def clock() -> HeldClock:
    return HeldClock()


@pytest.fixture
async def lingering(clock: HeldClock) -> AsyncIterator[PushServer]:
    async for server in serving(PushHub(max_queue=64, close_timeout=1.0, linger=0.08, clock=clock,
                                        sleep=clock.sleep)):
        yield server


async def test_what_is_queued_when_the_writer_wakes_goes_as_one_array_frame_in_order(push_server):
    async with await push_server.connect("1001") as ws:
        assert (await recv_frame(ws))["type"] == "snapshot"  # a lone message: a plain object
        push_server.hub.publish("call_ringing", {"linkedid": "L1"}, ALL)
        push_server.hub.publish("agent_state", {"id": "1001", "state": "ringing"}, ALL)
        push_server.hub.publish("call_update", {"linkedid": "L1", "state": "answered"}, ALL)
        frame = await recv_frame(ws)
        assert frame == [
            {"type": "call_ringing", "seq": 2, "data": {"linkedid": "L1"}},
            {"type": "agent_state", "seq": 3, "data": {"id": "1001", "state": "ringing"}},
            {"type": "call_update", "seq": 4, "data": {"linkedid": "L1", "state": "answered"}},
        ]
        push_server.hub.publish("call_ended", {"linkedid": "L1"}, ALL)
        assert await recv_frame(ws) == {"type": "call_ended", "seq": 5, "data": {"linkedid": "L1"}}


async def test_a_frame_stops_short_of_its_size_limit_and_the_rest_follows_in_order():
    async for server in serving(PushHub(max_queue=64, close_timeout=1.0, max_frame_chars=400)):
        async with await server.connect("1001") as ws:
            await recv_frame(ws)
            for n in range(12):  # about 90 characters each: four to a frame
                server.hub.publish("notice", {"n": n, "pad": "x" * 40}, ALL)
            frames = [await recv_frame(ws) for _ in range(3)]
            assert [len(f) for f in frames] == [4, 4, 4]
            assert [m["seq"] for f in frames for m in f] == list(range(2, 14))
            assert [m["data"]["n"] for f in frames for m in f] == list(range(12))
            server.hub.publish("notice", {"n": 99, "pad": "y" * 1000}, ALL)  # larger than a frame: alone
            assert (await recv_frame(ws))["data"]["n"] == 99


async def test_a_supervisors_socket_gathers_a_burst_while_an_agents_pop_goes_at_once(lingering, clock):
    hub = lingering.hub
    sup = await lingering.connect("9001", "supervisor")
    agent = await lingering.connect("1001")
    try:
        assert (await recv_frame(sup))["type"] == "snapshot"  # nothing sent yet: no wait
        assert (await recv_frame(agent))["type"] == "snapshot"
        clock.advance(5)  # an idle socket sends at once
        hub.publish("call_update", {"linkedid": "A"}, SUPERVISORS)
        assert await recv_frame(sup) == {"type": "call_update", "seq": 2, "data": {"linkedid": "A"}}
        assert clock.asked == []

        # Under load (a frame went out less than the linger ago) the writer waits out the rest ...
        hub.publish("call_update", {"linkedid": "B"}, SUPERVISORS)
        await asyncio.wait_for(clock.sleeping.wait(), 5)
        assert clock.asked == [pytest.approx(0.08)]
        # ... while the burst goes on: an agent's pop is not held by it.
        hub.publish("call_ringing", {"linkedid": "C"}, Audience.agents({"1001"}) | SUPERVISORS)
        hub.publish("agent_state", {"id": "1001", "state": "ringing"}, ALL)
        assert await recv_frame(agent) == [
            {"type": "call_ringing", "seq": 2, "data": {"linkedid": "C"}},
            {"type": "agent_state", "seq": 3, "data": {"id": "1001", "state": "ringing"}},
        ]
        assert clock.sleeping.is_set(), "the supervisor's linger ended before the test let time pass"
        clock.advance(0.08)
        assert await recv_frame(sup) == [
            {"type": "call_update", "seq": 3, "data": {"linkedid": "B"}},
            {"type": "call_ringing", "seq": 4, "data": {"linkedid": "C"}},
            {"type": "agent_state", "seq": 5, "data": {"id": "1001", "state": "ringing"}},
        ]
        # The next publish, still within the linger of that frame, waits again.
        hub.publish("queue_stats", {"queues": []}, SUPERVISORS)
        await asyncio.wait_for(clock.sleeping.wait(), 5)
        clock.advance(0.08)
        assert (await recv_json(sup))["seq"] == 6
    finally:
        await sup.close()
        await agent.close()


async def test_a_burst_larger_than_a_frame_goes_out_frame_after_frame_without_lingering_between(clock):
    async for server in serving(PushHub(max_queue=64, close_timeout=1.0, linger=0.08, clock=clock,
                                        sleep=clock.sleep, max_frame_chars=400)):
        async with await server.connect("9001", "supervisor") as sup:
            await recv_frame(sup)
            clock.advance(5)
            server.hub.publish("notice", {"n": -1}, ALL)
            assert (await recv_frame(sup))["data"] == {"n": -1}
            for n in range(12):  # about 90 characters each: four to a frame
                server.hub.publish("notice", {"n": n, "pad": "x" * 40}, ALL)
            await asyncio.wait_for(clock.sleeping.wait(), 5)
            clock.advance(0.08)  # the one linger; the three frames then follow at once
            frames = [await recv_frame(sup) for _ in range(3)]
            assert [m["data"]["n"] for f in frames for m in f] == list(range(12))
            assert len(clock.asked) == 1


async def test_a_lingering_socket_too_slow_for_its_queue_is_still_dropped(clock):
    # The queue counts messages, not frames: a burst larger than it drops the socket even
    # while its writer lingers, and the agent's socket is unaffected.
    async for server in serving(PushHub(max_queue=4, close_timeout=1.0, linger=0.08, clock=clock,
                                        sleep=clock.sleep)):
        sup = await server.connect("9001", "admin")
        agent = await server.connect("1001")
        try:
            await recv_frame(sup)
            await recv_frame(agent)
            for n in range(5):
                server.hub.publish("call_update", {"n": n}, SUPERVISORS)
            assert server.hub.connections() == 1
            server.hub.publish("notice", {"text": "still here"}, ALL)
            assert (await recv_json(agent))["data"] == {"text": "still here"}
        finally:
            await sup.close()
            await agent.close()


def test_linger_must_not_be_negative():
    with pytest.raises(ValueError):
        PushHub(linger=-0.1)
