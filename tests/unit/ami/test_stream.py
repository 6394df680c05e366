"""The event stream: bytes framed whole, decoded once, delivered in wire order to one synchronous sink."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from panoramisk.ami_protocol import AMIProtocol

from ctiserver.ami.message import AmiMessage, LinkUp
from ctiserver.ami.protocol import AmiProtocol
from tests.unit.ami.fake_ami import WAIT

NEWCHANNEL = ("Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-00000007\r\n"
              "CallerIDNum: 13800138000\r\nCallerIDName: 张伟\r\nConnectedLineName: 客服中心\r\n"
              "Linkedid: 1795335879.7\r\nUniqueid: 1795335879.7\r\n\r\n").encode("utf-8")


def test_panoramisk_loses_a_utf8_character_split_across_reads() -> None:
    """The defect itself: panoramisk decodes each read on its own with errors='ignore'."""
    seen: list = []

    class Factory:
        def dispatch(self, message):  # noqa: ANN001
            seen.append(message)

    proto = AMIProtocol()
    proto.connection_made(transport=None)
    proto.factory, proto.encoding, proto.version = Factory(), "utf8", "9.0.0"
    for i in range(len(NEWCHANNEL)):
        proto.data_received(NEWCHANNEL[i:i + 1])
    assert seen and seen[0]["CallerIDName"] != "张伟"


def test_protocol_keeps_chinese_intact_when_fed_byte_by_byte() -> None:
    got: list[AmiMessage] = []
    proto = AmiProtocol(got.append, lambda *_: None)
    proto.release_events()  # as after a login
    for i, byte in enumerate(b"Asterisk Call Manager/9.0.0\r\n" + NEWCHANNEL * 2):
        proto.data_received(bytes([byte]))
    assert [m.get("CallerIDName") for m in got] == ["张伟", "张伟"]
    assert got[0].get("ConnectedLineName") == "客服中心"
    assert proto.version == "9.0.0"


async def test_chinese_callerid_survives_byte_by_byte_tcp(connect, recorder) -> None:
    _, session = await connect()
    await session.write(NEWCHANNEL, bytewise=True)
    event = await recorder.event("Newchannel")
    assert event.get("CallerIDName") == "张伟" and event.get("ConnectedLineName") == "客服中心"
    assert event.get("CallerIDNum") == "13800138000"
    assert "张伟" in event.raw


async def test_sink_gets_every_event_in_wire_order_and_linkup_first(fake_ami, connect, recorder) -> None:
    # Asterisk may send an event before the login reply; the consumer must still see LinkUp first.
    fake_ami.before_login_reply = b"Event: SuccessfulAuth\r\nService: AMI\r\n\r\n"
    _, session = await connect()
    burst = b"".join(f"Event: UserEvent\r\nUserEvent: n{i}\r\nSeq: {i}\r\n\r\n".encode() for i in range(200))
    await session.write(burst[:1000])  # a cut in the middle of a packet
    await session.write(burst[1000:])
    await recorder.wait_for(lambda i: isinstance(i, AmiMessage) and i.get("Seq") == "199")
    assert isinstance(recorder.items[0], LinkUp) and recorder.items[0].reconnect is False
    assert [i.name for i in recorder.items[1:3]] == ["SuccessfulAuth", "FullyBooted"]  # held, then wire order
    assert [int(e.get("Seq")) for e in recorder.events() if e.name == "UserEvent"] == list(range(200))


async def test_repeated_headers_and_order_are_kept(connect, recorder) -> None:
    _, session = await connect()
    await session.write(b"Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nValue: \r\n\r\n")
    event = await recorder.event("VarSet")
    assert event.getall("ChanVariable") == ["A=1", "B=2"] and event.get("Value") == ""


async def test_a_failing_sink_does_not_stop_the_stream(fake_ami, recorder) -> None:
    from ctiserver.ami.client import AmiClient
    from tests.unit.ami.fake_ami import ami_config

    def sink(item):  # noqa: ANN001
        recorder(item)
        if isinstance(item, AmiMessage) and item.get("Boom"):
            raise RuntimeError("consumer bug")

    client = AmiClient(ami_config(fake_ami.port), sink)
    with structlog.testing.capture_logs() as logs:
        await client.start()
        try:
            session = await fake_ami.session()
            await session.write(b"Event: UserEvent\r\nBoom: 1\r\n\r\nEvent: UserEvent\r\nAfter: 1\r\n\r\n")
            await recorder.wait_for(lambda i: isinstance(i, AmiMessage) and i.get("After") == "1")
        finally:
            await client.close()
    assert any(e["event"] == "ami_sink_failed" for e in logs)


async def test_malformed_packets_are_logged_with_raw_text_and_the_stream_goes_on(connect, recorder) -> None:
    with structlog.testing.capture_logs() as logs:
        client, session = await connect()
        await session.write(b"this is not AMI at all\r\n\r\n"
                            b"Event: Hangup\r\nChannel: PJSIP/1001-00000001\r\ngarbage without colon\r\n"
                            b"Cause: 16\r\n\r\n"
                            b"\xff\xfe\r\n\r\n"
                            b"Event: QueueCallerJoin\r\nQueue: support\r\nCallerIDName: \xe5\xbc\xa0\xe4\xbc\x9f\r\n\r\n")
        joined = await recorder.event("QueueCallerJoin")
    assert joined.get("CallerIDName") == "张伟"
    hangup = next(e for e in recorder.events() if e.name == "Hangup")
    assert hangup.get("Cause") == "16"  # the good lines of a damaged packet are kept
    malformed = [e for e in logs if e["event"] == "ami_malformed"]
    raws = [e["raw"] for e in malformed]
    assert "this is not AMI at all" in raws
    assert any("garbage without colon" in r for r in raws)
    assert len(malformed) == 3
    assert (await asyncio.wait_for(client.send({"Action": "Ping"}), WAIT)).ok


def test_a_coroutine_sink_is_refused() -> None:
    from ctiserver.ami.client import AmiClient
    from tests.unit.ami.fake_ami import ami_config

    async def sink(item):  # noqa: ANN001
        pass

    with pytest.raises(TypeError, match="synchronous"):
        AmiClient(ami_config(5038), sink)
