"""The FastAGI IVR over a real TCP socket, spoken to as Asterisk speaks (see agi_peer.py).

Each test is one caller: the keys they press, what the queue does, and what the CTI
server would then see (the CTI_* variables, the IvrFallback user event, where the
caller ends up).
"""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from ivr.agi import AgiChannel, AgiValueError, IvrServer, read_environment
from ivr.menu import MenuError, load_menu, parse_menu
from tests.unit.ivr.agi_peer import ANSWERED, HANGUP, NO_APP, FakeAsteriskCall


@pytest.fixture
async def ivr():
    server = IvrServer(host="127.0.0.1", port=0)
    await server.start()
    yield server
    await server.stop()


async def call(server: IvrServer, **script) -> FakeAsteriskCall:
    c = FakeAsteriskCall(server.port, **script)
    await c.run()
    return c


async def test_key_1_reports_the_path_and_keys_before_the_caller_is_queued(ivr):
    c = await call(ivr, keys=["1"], queue=[ANSWERED])

    assert c.named("GET DATA")[0][2:] == ["beep", "6000", "1"]          # greeting, 6 s, one key
    assert c.named("EXEC", "Queue") == [["EXEC", "Queue", "support,t,,,45"]]
    # the pop needs these before an agent rings: they are set before Queue() starts
    assert c.snapshots[0]["CTI_IVR_PATH"] == "main,support"
    assert c.snapshots[0]["CTI_IVR_KEYS"] == "1"
    # the caller hung up after talking: nothing is sent on the dead channel
    assert c.commands[-1][:2] == ["EXEC", "Queue"]
    assert "CTI_IVR_DONE" not in c.variables


async def test_the_call_is_recorded_once_as_it_is_queued_unless_the_queue_says_no(ivr):
    c = await call(ivr, keys=["1", "1"], queue=["JOINEMPTY", ANSWERED])
    # one file named after the caller's channel, started before the first Queue(), not again after the fallback
    assert c.recordings == ["cti-1700000000.1.wav,b"]
    assert c.commands.index(["EXEC", "MixMonitor", "cti-1700000000.1.wav,b"]) < c.commands.index(
        ["EXEC", "Queue", "support,t,,,45"])
    assert c.variables["CTI_RECORDING"] == "cti-1700000000.1.wav"

    c = await call(ivr, keys=["1"], queue=[ANSWERED], variables={"CTI_RECORD_SUPPORT": "no"})
    assert c.recordings == [] and c.named("EXEC", "Queue")  # extensions.conf's per-queue switch

    c = await call(ivr, keys=["1"], queue=[ANSWERED], has_mixmonitor=False)
    assert c.named("EXEC", "Queue")  # an Asterisk without MixMonitor still gets the caller to an agent
    assert "CTI_RECORDING" not in c.variables


async def test_empty_queue_falls_back_to_the_menu_then_to_voicemail_as_recorded(ivr):
    c = await call(ivr, keys=["1", "1"], queue=["JOINEMPTY", "JOINEMPTY"])

    assert c.user_events == ["IvrFallback,Queue: support,QueueStatus: JOINEMPTY,Attempt: 1",
                             "IvrFallback,Queue: support,QueueStatus: JOINEMPTY,Attempt: 2"]
    assert c.named("EXEC", "VoiceMail") == [["EXEC", "VoiceMail", "2000@default,su"]]
    assert c.variables["CTI_IVR_PATH"] == "main,support,main,support,voicemail"
    assert c.variables["CTI_IVR_KEYS"] == "11"
    assert c.variables["CTI_IVR_DONE"] == "yes"        # routed: the dialplan just hangs up
    # the second attempt does not read the first attempt's stale QUEUESTATUS
    assert c.snapshots[1].get("QUEUESTATUS") == ""


@pytest.mark.parametrize("status", ["TIMEOUT", "FULL", "LEAVEEMPTY"])
async def test_a_queue_that_lets_the_caller_go_or_is_full_falls_back_like_an_empty_one(ivr, status):
    c = await call(ivr, keys=["1", "1"], queue=[status, status])

    assert c.user_events == [f"IvrFallback,Queue: support,QueueStatus: {status},Attempt: 1",
                             f"IvrFallback,Queue: support,QueueStatus: {status},Attempt: 2"]
    assert c.variables["CTI_IVR_PATH"] == "main,support,main,support,voicemail"
    assert c.named("EXEC", "VoiceMail") == [["EXEC", "VoiceMail", "2000@default,su"]]


async def test_answered_after_a_fallback_is_not_taken_for_another_fallback(ivr):
    c = await call(ivr, keys=["1", "1"], queue=["LEAVEEMPTY", ANSWERED])

    assert c.user_events == ["IvrFallback,Queue: support,QueueStatus: LEAVEEMPTY,Attempt: 1"]
    assert len(c.named("EXEC", "Queue")) == 2
    assert not c.named("EXEC", "VoiceMail")


async def test_no_key_replays_the_greeting_three_times_then_voicemail(ivr):
    c = await call(ivr, keys=[None, None, None])

    assert len(c.named("GET DATA")) == 3
    assert not c.named("EXEC", "Queue")
    assert c.named("EXEC", "VoiceMail")
    assert c.variables["CTI_IVR_PATH"] == "main,voicemail"
    assert c.variables["CTI_IVR_KEYS"] == ""
    assert c.variables["CTI_IVR_DONE"] == "yes"


async def test_a_wrong_key_says_invalid_and_asks_again(ivr):
    c = await call(ivr, keys=["7", "1"], queue=[ANSWERED])

    assert c.named("STREAM FILE") == [["STREAM", "FILE", "invalid", ""]]
    assert c.snapshots[0]["CTI_IVR_KEYS"] == "71"
    assert c.snapshots[0]["CTI_IVR_PATH"] == "main,support"


async def test_key_0_repeats_the_menu_and_counts_as_a_play(ivr):
    c = await call(ivr, keys=["0", "0", "0"])

    assert len(c.named("GET DATA")) == 3
    assert c.variables["CTI_IVR_PATH"] == "main,main,main,main,voicemail"   # the 4th visit is over the limit
    assert c.variables["CTI_IVR_KEYS"] == "000"


async def test_caller_hanging_up_mid_menu_ends_the_session_quietly(ivr):
    with capture_logs() as logs:
        c = await call(ivr, keys=[HANGUP])
        # the server has already closed its side (run() returned on EOF); the log says why
    assert [cmd[:2] for cmd in c.commands] == [["GET", "DATA"]]
    gone = [e for e in logs if e["event"] == "ivr_caller_gone"]
    assert gone and gone[0]["path"] == "main"
    assert not [e for e in logs if e["log_level"] == "error"]


async def test_caller_hanging_up_after_a_wrong_key(ivr):
    c = await call(ivr, keys=["5", HANGUP])

    assert c.named("STREAM FILE") == [["STREAM", "FILE", "invalid", ""]]
    assert c.variables["CTI_IVR_KEYS"] == "5"          # reported before the replay
    assert c.dead and c.commands[-1][:2] == ["GET", "DATA"]


async def test_an_asterisk_without_app_queue_leaves_the_caller_to_the_dialplan_failsafe(ivr):
    with capture_logs() as logs:
        c = await call(ivr, keys=["1"], queue=[NO_APP])
    assert "CTI_IVR_DONE" not in c.variables          # so extensions.conf [ivr] goes to 'failsafe'
    assert not c.named("EXEC VoiceMail")
    assert [e for e in logs if e["event"] == "ivr_agi_error"]


async def test_calls_are_independent_and_concurrent(ivr):
    calls = [FakeAsteriskCall(ivr.port, keys=[str(k)], queue=[ANSWERED] * 2, uniqueid=f"17000.{k}")
             for k in (1, 2, 1)]
    await asyncio.gather(*(c.run() for c in calls))
    assert [c.variables["CTI_IVR_PATH"] for c in calls] == ["main,support", "main,voicemail", "main,support"]


async def test_a_peer_that_closes_before_the_environment_ends_does_not_stop_the_server(ivr):
    with capture_logs() as logs:
        reader, writer = await asyncio.open_connection("127.0.0.1", ivr.port)
        writer.write(b"agi_network: yes\nagi_channel: PJSIP/caller-1\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        c = await call(ivr, keys=["1"], queue=[ANSWERED])
    assert c.snapshots[0]["CTI_IVR_PATH"] == "main,support"
    assert any(e["event"] == "ivr_no_environment" for e in logs)


async def test_stopping_the_server_hands_live_calls_back_to_the_dialplan():
    server = IvrServer(port=0)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_network: yes\nagi_uniqueid: 1.1\nagi_callerid: caller\n\n")
    await writer.drain()
    first = await asyncio.wait_for(reader.readline(), 5)        # the greeting's GET DATA
    assert first.startswith(b"GET DATA")
    await server.stop()
    assert await asyncio.wait_for(reader.read(), 5) == b""       # closed: AGI returns, failsafe queues
    writer.close()


async def test_values_with_line_breaks_are_refused_before_anything_is_sent():
    received: list[bytes] = []
    got_env = asyncio.Event()

    async def asterisk(reader, writer):
        received.append(await reader.read(1000))
        writer.close()

    async def ivr_side(reader, writer):
        env = await read_environment(reader)
        ch = AgiChannel(reader, writer, env)
        with pytest.raises(AgiValueError):
            await ch.set_variable("CTI_CUSTOMER_NO", "C0001\nEXEC System rm")
        with pytest.raises(AgiValueError):
            await ch.stream_file("beep\r\nHANGUP")
        with pytest.raises(AgiValueError):
            await ch.set_variable("BAD NAME", "x")
        with pytest.raises(AgiValueError):
            await ch.exec("Queue\n", "support")
        got_env.set()
        writer.close()

    server = await asyncio.start_server(ivr_side, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_network: yes\n\n")
    await writer.drain()
    await asyncio.wait_for(got_env.wait(), 5)
    assert await asyncio.wait_for(reader.read(), 5) == b""      # not one byte was written
    writer.close()
    server.close()
    await server.wait_closed()


def test_menu_files_are_checked_with_the_field_named():
    base = {"start": "main", "nodes": {"main": {"type": "menu", "prompt": "beep", "keys": {"1": "q"}}}}
    with pytest.raises(MenuError, match=r"nodes\.main\.keys\.1: no node named 'q'"):
        parse_menu(base)
    bad_prompt = {"nodes": {"main": {"type": "menu", "prompt": "beep\nEXEC System", "keys": {"1": "main"}}}}
    with pytest.raises(MenuError, match=r"nodes\.main\.prompt"):
        parse_menu(bad_prompt)
    bad_queue = {"nodes": {"main": {"type": "queue", "queue": "support,t", "fallback": "main"}}}
    with pytest.raises(MenuError, match=r"nodes\.main\.queue"):
        parse_menu(bad_queue)
    with pytest.raises(MenuError, match="not found"):
        load_menu("/nonexistent/menu.toml")
    shipped = load_menu()
    assert shipped.start == "main" and shipped.node("main").keys["1"] == "support"
