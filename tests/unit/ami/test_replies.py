"""Replies are matched to their action by ActionID and by what the action is, never by Message text.

Each test notes what panoramisk 1.4 does with the same bytes.
"""

from __future__ import annotations

import asyncio

import pytest
import structlog
from panoramisk.actions import Action
from panoramisk.message import Message

from ctiserver.ami.errors import AmiActionFailed, AmiTimeout
from ctiserver.ami.message import AmiMessage, LinkUp
from tests.support.traces import parse_chunks, trace_path
from tests.unit.ami.fake_ami import WAIT, header

TRACE_01 = trace_path("01")


def recorded_reply(containing: bytes) -> tuple[bytes, str]:
    """The bytes Asterisk sent in trace 01 in the chunk holding ``containing``, and that chunk's ActionID."""
    for chunk in parse_chunks(TRACE_01):
        if chunk.direction == "<<" and containing in chunk.data:
            aid = next(line.split(b": ", 1)[1].strip() for line in chunk.data.split(b"\r\n")
                       if line.startswith(b"ActionID: "))
            return chunk.data, aid.decode()
    raise AssertionError(f"{containing!r} not in {TRACE_01}")


def recorded_list(action_id: str) -> bytes:
    """Every packet of trace 01 from Asterisk carrying ``action_id`` (a list reply and its items)."""
    return b"".join(c.data for c in parse_chunks(TRACE_01)
                    if c.direction == "<<" and f"ActionID: {action_id}\r\n".encode() in c.data)


async def test_panoramisk_takes_the_queueadd_reply_for_a_list_start() -> None:
    """The defect itself: panoramisk's Action never completes on QueueAdd's recorded reply."""
    data, _ = recorded_reply(b"Message: Added interface to queue")
    action = Action({"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/1001"})
    action.add_message(Message.from_line(data.decode().strip()))
    assert action.multi and not action.future.done()
    action.future.cancel()


async def test_queueadd_reply_recorded_from_asterisk_completes_the_send(connect, recorder) -> None:
    client, session = await connect()
    data, recorded_id = recorded_reply(b"Message: Added interface to queue")
    send = asyncio.create_task(client.send({
        "Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/1001", "MemberName": "Agent Alice",
        "StateInterface": "PJSIP/1001", "Penalty": 0, "Paused": False}))
    sent = await session.next_action("QueueAdd")
    assert header(sent, "Paused") == "false" and header(sent, "Penalty") == "0"
    # The exact recorded bytes, with our ActionID, then the events Asterisk sent right after.
    await session.write(data.replace(f"ActionID: {recorded_id}".encode(),
                                     f"ActionID: {header(sent, 'ActionID')}".encode()))
    await session.write(b"Event: QueueMemberAdded\r\nPrivilege: agent,all\r\nQueue: support\r\n"
                        b"Interface: PJSIP/1001\r\nPaused: 0\r\n\r\n")
    response = await asyncio.wait_for(send, WAIT)
    assert response.ok and response.get("Message") == "Added interface to queue" and response.events == []
    added = await recorder.event("QueueMemberAdded")
    assert added.get("Interface") == "PJSIP/1001"


async def test_queuestatus_items_come_back_with_the_reply_not_through_the_sink(connect, recorder) -> None:
    client, session = await connect()
    send = asyncio.create_task(client.send({"Action": "QueueStatus", "Queue": "support"}))
    sent = await session.next_action("QueueStatus")
    _, recorded_id = recorded_reply(b"Message: Queue status will follow")
    ours = header(sent, "ActionID")
    await session.write(recorded_list(recorded_id).replace(f"ActionID: {recorded_id}\r\n".encode(),
                                                           f"ActionID: {ours}\r\n".encode()))
    await session.write(b"Event: QueueMemberPause\r\nQueue: support\r\nInterface: PJSIP/1001\r\nPaused: 1\r\n\r\n")
    response = await asyncio.wait_for(send, WAIT)
    assert [e.name for e in response.events] == ["QueueParams", "QueueMember", "QueueStatusComplete"]
    assert response.events[1].get("Location") == "PJSIP/1001"
    await recorder.event("QueueMemberPause")
    assert [e.name for e in recorder.events()] == ["FullyBooted", "QueueMemberPause"]


async def test_a_list_action_is_a_list_even_without_eventlist_header(connect, recorder) -> None:
    """Older Asterisk has no ``EventList: start``: the action name decides."""
    client, session = await connect()
    send = asyncio.create_task(client.send({"Action": "CoreShowChannels"}))
    sent = await session.next_action("CoreShowChannels")
    await session.reply(sent, "Response: Success", "Message: Channels will follow")
    aid = header(sent, "ActionID")
    await session.write(f"Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/1001-00000001\r\n"
                        f"CallerIDName: 张伟\r\n\r\n"
                        f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nListItems: 1\r\n\r\n".encode())
    response = await asyncio.wait_for(send, WAIT)
    assert [e.name for e in response.events] == ["CoreShowChannel", "CoreShowChannelsComplete"]
    assert response.events[0].get("CallerIDName") == "张伟"


async def test_message_text_saying_follow_does_not_make_a_list(connect) -> None:
    """A non-list action whose Message happens to mention 'will follow' still completes on its reply."""
    client, session = await connect()
    send = asyncio.create_task(client.send({"Action": "UserEvent", "UserEvent": "Note"}))
    sent = await session.next_action("UserEvent")
    await session.reply(sent, "Response: Success", "Message: Details will follow shortly, successfully queued")
    response = await asyncio.wait_for(send, WAIT)
    assert response.ok and response.events == []


async def test_originate_response_event_after_the_reply_reaches_the_sink(connect, recorder) -> None:
    client, session = await connect()
    send = asyncio.create_task(client.send({"Action": "Originate", "Channel": "PJSIP/1001", "Async": "true",
                                            "Exten": "13800138000", "Context": "from-agents", "Priority": 1}))
    sent = await session.next_action("Originate")
    await session.reply(sent, "Response: Success", "Message: Originate successfully queued")
    response = await asyncio.wait_for(send, WAIT)
    assert response.ok
    await session.write(f"Event: OriginateResponse\r\nActionID: {header(sent, 'ActionID')}\r\n"
                        f"Response: Success\r\nChannel: PJSIP/1001-00000002\r\n\r\n".encode())
    event = await recorder.event("OriginateResponse")
    assert event.get("Channel") == "PJSIP/1001-00000002"


async def test_error_reply_raises_with_asterisk_message(connect) -> None:
    client, session = await connect()
    send = asyncio.create_task(client.send({"Action": "QueueRemove", "Queue": "support",
                                            "Interface": "PJSIP/1001"}))
    sent = await session.next_action("QueueRemove")
    await session.reply(sent, "Response: Error", "Message: Unable to remove interface: Not there")
    with pytest.raises(AmiActionFailed) as failed:
        await asyncio.wait_for(send, WAIT)
    assert failed.value.message == "Unable to remove interface: Not there"


async def test_timeout_forgets_the_action_and_a_late_reply_is_logged_and_dropped(connect, recorder) -> None:
    with structlog.testing.capture_logs() as logs:
        client, session = await connect()
        send = asyncio.create_task(client.send({"Action": "QueuePause", "Interface": "PJSIP/1001",
                                                "Paused": "true", "Reason": "lunch"}, timeout=0.2))
        sent = await session.next_action("QueuePause")
        with pytest.raises(AmiTimeout):
            await asyncio.wait_for(send, WAIT)
        assert client._protocol is not None and client._protocol.responses == {}  # nothing left pending
        # The reply comes after all, then an ordinary event.
        await session.reply(sent, "Response: Success", "Message: Interface paused successfully")
        await session.write(b"Event: QueueMemberPause\r\nInterface: PJSIP/1001\r\nPaused: 1\r\n\r\n")
        await recorder.event("QueueMemberPause")
    assert [type(i).__name__ if not isinstance(i, AmiMessage) else i.name for i in recorder.items] == \
        ["LinkUp", "FullyBooted", "QueueMemberPause"]
    late = [e for e in logs if e["event"] == "ami_late_reply"]
    assert len(late) == 1 and late[0]["action"] == "QueuePause" and "paused successfully" in late[0]["raw"]
    assert any(e["event"] == "ami_action_timeout" for e in logs)
    # The link is still fine: the next action gets its own reply.
    ping = await client.send({"Action": "Ping"})
    assert ping.get("Ping") == "Pong"
    assert isinstance(recorder.items[0], LinkUp)


async def test_replies_out_of_order_reach_their_own_callers(connect) -> None:
    client, session = await connect()
    first = asyncio.create_task(client.send({"Action": "Getvar", "Variable": "A"}))
    second = asyncio.create_task(client.send({"Action": "Getvar", "Variable": "B"}))
    sent_a = await session.next_action("Getvar")
    sent_b = await session.next_action("Getvar")
    assert header(sent_a, "ActionID") != header(sent_b, "ActionID")
    await session.reply(sent_b, "Response: Success", "Variable: B", "Value: 2")
    await session.reply(sent_a, "Response: Success", "Variable: A", "Value: 1")
    assert (await asyncio.wait_for(first, WAIT)).get("Value") == "1"
    assert (await asyncio.wait_for(second, WAIT)).get("Value") == "2"


async def test_a_cancelled_send_leaves_nothing_pending(connect, recorder) -> None:
    client, session = await connect()
    send = asyncio.create_task(client.send({"Action": "Redirect", "Channel": "PJSIP/1001-00000001",
                                            "Exten": "96588", "Context": "from-pstn", "Priority": 1}))
    sent = await session.next_action("Redirect")
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    assert client._protocol is not None and client._protocol.responses == {}
    await session.reply(sent, "Response: Success", "Message: Redirect successful")
    await session.write(b"Event: UserEvent\r\nUserEvent: after\r\n\r\n")
    await recorder.event("UserEvent")
    assert [i.name for i in recorder.events()] == ["FullyBooted", "UserEvent"]


async def test_events_interleaved_with_a_list_go_to_the_sink_in_order(connect, recorder) -> None:
    client, session = await connect()
    send = asyncio.create_task(client.send({"Action": "QueueStatus"}))
    sent = await session.next_action("QueueStatus")
    aid = header(sent, "ActionID")
    await session.write(
        f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n"
        f"Event: QueueParams\r\nQueue: support\r\nActionID: {aid}\r\n\r\n"
        f"Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\nCallerIDName: 张伟\r\n\r\n"
        f"Event: QueueMember\r\nQueue: support\r\nLocation: PJSIP/1001\r\nActionID: {aid}\r\n\r\n"
        f"Event: Hangup\r\nChannel: PJSIP/trunk-00000001\r\n\r\n"
        f"Event: QueueStatusComplete\r\nActionID: {aid}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n".encode())
    response = await asyncio.wait_for(send, WAIT)
    assert [e.name for e in response.events] == ["QueueParams", "QueueMember", "QueueStatusComplete"]
    assert [e.name for e in recorder.events()] == ["FullyBooted", "Newchannel", "Hangup"]
