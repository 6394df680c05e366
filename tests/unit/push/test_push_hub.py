"""The push hub over real websockets: snapshot, ordered deltas, audiences, slow clients, resync."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest
import websockets

from ctiserver.push.hub import ALL, CLOSE_TOO_SLOW, SUPERVISORS, Audience, PushHub, messages_of
from tests.unit.push.conftest import User, eventually, recv_json, small_receive_buffer


async def test_snapshot_is_seq_1_then_deltas_in_order(push_server):
    async with await push_server.connect("1001") as ws:
        first = await recv_json(ws)
        assert first == {"type": "snapshot", "seq": 1, "data": {"me": {"id": "1001", "role": "agent"}, "n": 1}}
        for i in range(5):
            push_server.hub.publish("agent_state", {"id": "1001", "state": f"s{i}"}, ALL)
        got = [await recv_json(ws) for _ in range(5)]
        assert [m["seq"] for m in got] == [2, 3, 4, 5, 6]
        assert [m["data"]["state"] for m in got] == ["s0", "s1", "s2", "s3", "s4"]
        assert {m["type"] for m in got} == {"agent_state"}


async def test_pop_reaches_only_its_agent_and_roles_get_theirs(push_server):
    hub = push_server.hub
    a1, a2, sup = (await push_server.connect("1001"), await push_server.connect("1002"),
                   await push_server.connect("9001", "supervisor"))
    try:
        for ws in (a1, a2, sup):
            assert (await recv_json(ws))["type"] == "snapshot"
        hub.publish("call_ringing", {"linkedid": "L1", "caller_name": "张三"}, Audience.agents({"1001"}))
        hub.publish("agent_state", {"id": "1002"}, Audience.roles({"supervisor", "admin"}) | Audience.agents("1002"))
        hub.publish("notice", {"text": "fence"}, ALL)  # ordered: nothing can arrive after it
        a1_msgs = [await recv_json(a1) for _ in range(2)]
        a2_msgs = [await recv_json(a2) for _ in range(2)]
        sup_msgs = [await recv_json(sup) for _ in range(2)]
        assert [(m["type"], m["seq"]) for m in a1_msgs] == [("call_ringing", 2), ("notice", 3)]
        assert a1_msgs[0]["data"]["caller_name"] == "张三"
        assert [(m["type"], m["seq"]) for m in a2_msgs] == [("agent_state", 2), ("notice", 3)]
        assert [(m["type"], m["seq"]) for m in sup_msgs] == [("agent_state", 2), ("notice", 3)]
    finally:
        for ws in (a1, a2, sup):
            await ws.close()


async def test_an_agents_every_socket_gets_its_pops_and_a_closed_one_is_forgotten(push_server):
    # An agent with the panel open in two tabs; an admin counts as a supervisor.
    hub = push_server.hub
    tab1, tab2 = await push_server.connect("1001"), await push_server.connect("1001")
    admin = await push_server.connect("9002", "admin")
    try:
        for ws in (tab1, tab2, admin):
            assert (await recv_json(ws))["type"] == "snapshot"
        hub.publish("call_ringing", {"linkedid": "L1"}, Audience.agents({"1001", "1999"}))
        hub.publish("call_update", {"linkedid": "L1"}, SUPERVISORS)
        assert (await recv_json(tab1))["data"] == {"linkedid": "L1"}
        assert (await recv_json(tab2))["type"] == "call_ringing"
        assert (await recv_json(admin))["type"] == "call_update"
        await tab1.close()
        await eventually(lambda: hub.connections() == 2, what="hub to forget the closed tab")
        hub.publish("call_ended", {"linkedid": "L1"}, Audience.agents({"1001"}))
        assert (await recv_json(tab2))["type"] == "call_ended"
        await tab2.close()
        await eventually(lambda: hub.connections() == 1, what="hub to forget the second tab")
        hub.publish("call_ringing", {"linkedid": "L2"}, Audience.agents({"1001"}))  # nobody: no error
        hub.publish("notice", {"text": "fence"}, ALL)
        assert (await recv_json(admin))["type"] == "notice"
    finally:
        for ws in (tab1, tab2, admin):
            await ws.close()


async def test_slow_client_is_dropped_while_fast_one_gets_everything(push_server):
    hub = push_server.hub
    loop = asyncio.get_running_loop()
    fast = await push_server.connect("1001")
    sock = small_receive_buffer()
    sock.setblocking(False)
    url = urlsplit(push_server.url)
    await loop.sock_connect(sock, (url.hostname, url.port))
    # max_queue=1: the client library stops reading the socket after one frame.
    slow = await websockets.connect(f"{push_server.url}?id=1002&role=agent", sock=sock, proxy=None,
                                    compression=None, max_queue=1)
    received: list[dict] = []

    async def read_fast() -> None:
        async for text in fast:
            received.extend(messages_of(text))

    reader = asyncio.create_task(read_fast())
    try:
        await eventually(lambda: len(received) == 1 and hub.connections() == 2, what="both connected")
        payload = "x" * 16_000
        published = 0
        # Publish in small batches and let the fast client keep up; the slow one
        # never reads, so the kernel buffers fill, then its queue, and it is dropped.
        while hub.connections() == 2 and published < 4000:
            for _ in range(4):
                published += 1
                hub.publish("notice", {"n": published, "pad": payload}, ALL)
            await eventually(lambda: len(received) == published + 1, what="fast client to keep up")
        assert hub.connections() == 1, "the slow client was never dropped"
        # The fast one keeps receiving everything, in order, after the drop too.
        for _ in range(10):
            published += 1
            hub.publish("notice", {"n": published, "pad": ""}, ALL)
        await eventually(lambda: len(received) == published + 1, what="fast client after the drop")
        assert [m["seq"] for m in received] == list(range(1, published + 2))
        assert [m["data"]["n"] for m in received[1:]] == list(range(1, published + 1))
        assert not reader.done()
        # The slow client, once it reads again, finds the "too slow" close.
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(slow.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_TOO_SLOW
        assert closed.value.rcvd.reason == "too slow"
    finally:
        reader.cancel()
        await fast.close()
        await slow.close()


async def test_resync_sends_a_fresh_snapshot_with_the_next_seq(push_server):
    async with await push_server.connect("1001") as ws:
        assert (await recv_json(ws))["data"]["n"] == 1
        push_server.hub.publish("agent_state", {"id": "1001", "state": "ready"}, ALL)
        assert (await recv_json(ws))["seq"] == 2
        await ws.send(json.dumps({"type": "resync"}))
        again = await recv_json(ws)
        assert again["type"] == "snapshot" and again["seq"] == 3 and again["data"]["n"] == 2
        push_server.hub.publish("marquee", {"items": []}, ALL)
        assert (await recv_json(ws))["seq"] == 4


async def test_closed_clients_leave_the_hub(push_server):
    ws = await push_server.connect("1001")
    assert (await recv_json(ws))["type"] == "snapshot"
    assert push_server.hub.connections() == 1
    await ws.close()
    await eventually(lambda: push_server.hub.connections() == 0, what="hub to forget the socket")
    push_server.hub.publish("notice", {"text": "nobody listens"}, ALL)  # must not raise


def test_audience_rules_and_bad_types():
    agent = User("1001", "agent")
    sup = User("9001", "supervisor")
    assert ALL.includes(agent) and Audience.ALL is ALL
    assert Audience.agents({"1001"}).includes(agent) and not Audience.agents({"1001"}).includes(sup)
    assert Audience.agents("1001") == Audience.agents({"1001"})  # a lone id is not split into characters
    union = Audience.roles({"supervisor"}) | Audience.agents({"1001"})
    assert union.includes(agent) and union.includes(sup) and not union.includes(User("1002", "agent"))
    hub = PushHub(max_queue=4)
    with pytest.raises(ValueError):
        hub.publish("snapshot", {}, ALL)  # only the hub sends snapshots
    with pytest.raises(ValueError):
        PushHub(max_queue=0)


async def test_a_failing_snapshot_closes_that_socket_and_leaves_no_ghost(push_server):
    def broken(user):
        raise RuntimeError("store exploded")

    healthy = push_server.snapshot_for
    push_server.snapshot_for = broken
    async with await push_server.connect("1001") as ws:
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd.code == 1011
    assert push_server.hub.connections() == 0
    push_server.snapshot_for = healthy  # the next connection is served normally
    async with await push_server.connect("1001") as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
