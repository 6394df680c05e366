"""The link: login, refusal, loss, reconnect with backoff, half-open detection; nothing ever re-sent."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from ctiserver.ami.client import AmiClient, backoff_delay
from ctiserver.ami.errors import AmiAuthError, AmiLinkLost, AmiNotConnected
from ctiserver.ami.message import AmiMessage, LinkDown, LinkUp
from tests.unit.ami.fake_ami import WAIT, FakeAmi, ami_config, eventually, free_port, header


async def test_wrong_secret_makes_start_raise_and_nothing_is_announced(fake_ami, recorder) -> None:
    client = AmiClient(ami_config(fake_ami.port, secret="wrong"), recorder)
    with pytest.raises(AmiAuthError, match="cti"):
        await client.start()
    assert not client.connected and recorder.items == []
    await client.close()


async def test_login_sends_events_on_and_announces_linkup(connect, recorder) -> None:
    client, session = await connect()
    login = session.actions[0]
    assert header(login, "Action") == "Login" and header(login, "Events") == "on"
    assert header(login, "Username") == "cti" and header(login, "ActionID")
    assert client.connected and recorder.items[0] == LinkUp(at=recorder.items[0].at, reconnect=False)


async def test_unreachable_at_start_does_not_raise_and_connects_when_asterisk_appears(recorder) -> None:
    port = free_port()
    client = AmiClient(ami_config(port), recorder)
    await client.start()  # nobody listens: no exception
    server = FakeAmi()
    try:
        down = await recorder.link_down()
        assert "unreachable" in down.reason and not client.connected
        with pytest.raises(AmiNotConnected):
            await client.send({"Action": "Ping"})
        await server.start(port)  # Asterisk comes up
        up = await recorder.link_up()
        assert up.reconnect is False and client.connected
        assert (await client.send({"Action": "Ping"})).ok
    finally:
        await client.close()
        await server.stop()


async def test_pending_originate_fails_on_link_loss_and_is_never_resent(fake_ami, connect, recorder) -> None:
    client, first = await connect()
    originate = asyncio.create_task(client.send({"Action": "Originate", "Channel": "PJSIP/1001",
                                                 "Exten": "13800138000", "Context": "from-agents",
                                                 "Priority": 1}))
    queue_pause = asyncio.create_task(client.send({"Action": "QueuePause", "Interface": "PJSIP/1001",
                                                   "Paused": "true"}))
    await first.next_action("Originate")
    await first.next_action("QueuePause")
    first.drop()  # Asterisk restarts before answering either
    for task in (originate, queue_pause):
        with pytest.raises(AmiLinkLost):
            await asyncio.wait_for(task, WAIT)
    down = await recorder.link_down()
    with pytest.raises(AmiNotConnected):  # refused while down, not queued
        await client.send({"Action": "Redirect", "Channel": "PJSIP/1001-00000001", "Exten": "96588",
                           "Context": "from-pstn", "Priority": 1})
    second = await fake_ami.session()
    up = await recorder.link_up(after=recorder.items.index(down))
    assert up.reconnect is True
    # Asterisk handles actions in order: once this Ping is answered, any replay would have been seen.
    assert (await client.send({"Action": "Ping"})).ok
    assert second.names() == ["Login", "Ping"]
    assert first.names() == ["Login", "Originate", "QueuePause"]


async def test_reconnect_emits_linkdown_then_linkup_before_the_new_sessions_events(fake_ami, connect,
                                                                                  recorder) -> None:
    client, first = await connect()
    await first.write(b"Event: UserEvent\r\nSeq: 1\r\n\r\n")
    await recorder.wait_for(lambda i: isinstance(i, AmiMessage) and i.get("Seq") == "1")
    first.drop()
    second = await fake_ami.session()
    await second.write(b"Event: UserEvent\r\nSeq: 2\r\n\r\n")
    await recorder.wait_for(lambda i: isinstance(i, AmiMessage) and i.get("Seq") == "2")
    kinds = [type(i).__name__ if not isinstance(i, AmiMessage) else i.get("Seq") or i.name
             for i in recorder.items]
    assert kinds == ["LinkUp", "FullyBooted", "1", "LinkDown", "LinkUp", "FullyBooted", "2"]
    assert [i.reconnect for i in recorder.items if isinstance(i, LinkUp)] == [False, True]
    assert client.connected


async def test_half_open_link_is_detected_by_an_unanswered_ping(fake_ami, connect, recorder) -> None:
    with structlog.testing.capture_logs() as logs:
        client, first = await connect(ping_interval=0.05, action_timeout=0.3)
        await first.next_action("Ping")  # pings flow and are answered
        fake_ami.answer_ping = False  # the peer is gone but TCP does not know it
        down = await recorder.link_down()
        assert "Ping" in down.reason
        fake_ami.answer_ping = True
        second = await fake_ami.session()
        up = await recorder.link_up(after=recorder.items.index(down))
    assert up.reconnect is True and client.connected
    assert second is not first
    await asyncio.wait_for(first.closed.wait(), WAIT)  # we closed the dead connection
    assert any(e["event"] == "ami_ping_timeout" for e in logs)


async def test_retries_back_off_while_asterisk_stays_away(recorder) -> None:
    port = free_port()
    with structlog.testing.capture_logs() as logs:
        client = AmiClient(ami_config(port, reconnect_min=0.01, reconnect_max=0.04), recorder)
        await client.start()
        try:
            await eventually(lambda: sum(e["event"] == "ami_reconnect_in" for e in logs) >= 5)
        finally:
            await client.close()
    delays = [e["delay"] for e in logs if e["event"] == "ami_reconnect_in"][:5]
    assert all(0.01 <= d <= 0.04 for d in delays)
    assert delays[-1] > delays[0] / 2 and max(delays) > 0.02  # grows towards the cap
    assert [type(i) for i in recorder.items] == [LinkDown]  # one LinkDown, not one per failed attempt


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    lows = [backoff_delay(n, 0.5, 30.0, rand=lambda: 0.0) for n in range(8)]
    highs = [backoff_delay(n, 0.5, 30.0, rand=lambda: 1.0) for n in range(8)]
    assert lows == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    assert highs == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff_delay(1000, 0.5, 30.0, rand=lambda: 1.0) == 30.0


async def test_close_logs_off_and_stops_reconnecting(fake_ami, connect, recorder) -> None:
    client, session = await connect()
    await client.close()
    await asyncio.wait_for(session.closed.wait(), WAIT)
    assert session.names()[-1] == "Logoff" and not client.connected
    assert isinstance(recorder.items[-1], LinkDown)
    assert fake_ami.sessions.empty() and len(fake_ami.all_sessions) == 1
    with pytest.raises(AmiNotConnected):
        await client.send({"Action": "Ping"})
