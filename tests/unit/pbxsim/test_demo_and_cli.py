"""Demo traffic and the ``python -m pbxsim`` entry point (the product's demo run command)."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from pbxsim.__main__ import member_list
from pbxsim.demo import DemoTraffic, demo_callers, parse_range, parse_rate
from pbxsim.sim import PbxSim, SimConfig
from tests.support.traces import RECORDED_CONF

CONF = str(RECORDED_CONF)
REPO = Path(__file__).resolve().parents[3]
WAIT = 10.0


def test_rates_are_read_per_minute_hour_or_second() -> None:
    assert parse_rate("2/min") == 2.0
    assert parse_rate("30/h") == 0.5
    assert parse_rate("1/s") == 60.0
    assert parse_rate("3") == 3.0
    with pytest.raises(ValueError):
        parse_rate("2/week")
    with pytest.raises(ValueError):
        parse_rate("-1/min")


def test_talk_ranges_and_member_lists_are_read_and_bad_ones_refused() -> None:
    assert parse_range("2:5") == (2.0, 5.0)
    assert parse_range("3") == (3.0, 3.0)
    for bad in ("5:2", "-1:3", "a:b", ""):
        with pytest.raises(ValueError):
            parse_range(bad)
    with pytest.raises(ValueError):
        DemoTraffic(None, 1.0, talk=(10, 1))  # type: ignore[arg-type]
    assert member_list("1002, 2000-2002") == ["1002", "2000", "2001", "2002"]
    with pytest.raises(ValueError):
        member_list("2005-2000")


async def test_demo_traffic_talk_range_turns_calls_over_fast() -> None:
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=60.0))
    await sim.start()
    talks: list[int] = []
    done = asyncio.Event()

    def listen(event: str, fields) -> None:
        if event == "AgentComplete":
            talks.append(int(dict(fields)["TalkTime"]))
            if len(talks) >= 3:
                done.set()

    sim.listeners.append(listen)
    for ep in ("1001", "1002", "1003"):
        sim.queues.add_member("support", f"PJSIP/{ep}", ep)
    demo = DemoTraffic(sim, rate_per_minute=30, seed=3, abandon_ratio=0.0, talk=(2, 5), ring=(0.5, 1))
    demo.start()
    try:
        await asyncio.wait_for(done.wait(), WAIT)
    finally:
        await demo.stop()
        await sim.stop()
    assert all(1 <= t <= 6 for t in talks[:3]), talks  # 2-5 s (whole seconds, scaled clock)


def test_demo_callers_come_from_the_store_demo_data() -> None:
    from ctiserver.store import DEMO_CALLERS

    numbers = {n for n, _ in demo_callers()}
    assert numbers == {str(c[0]) for c in DEMO_CALLERS}
    assert "13800138000" in numbers


async def test_demo_traffic_calls_are_answered_by_a_signed_in_agent() -> None:
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=60.0))
    await sim.start()
    connects: list[str] = []
    done = asyncio.Event()

    def listen(event: str, fields) -> None:
        if event == "AgentConnect":
            connects.append(dict(fields)["CallerIDNum"])
            if len(connects) >= 2:
                done.set()

    sim.listeners.append(listen)
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice")
    sim.queues.add_member("support", "PJSIP/1002", "Agent Bob")
    demo = DemoTraffic(sim, rate_per_minute=20, seed=7, abandon_ratio=0.0)
    demo.start()
    try:
        await asyncio.wait_for(done.wait(), WAIT)
    finally:
        await demo.stop()
        await sim.stop()
    known = {n for n, _ in demo_callers()}
    assert set(connects) <= known and demo.placed >= 2


async def test_cli_serves_ami_and_stops_cleanly_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--conf", CONF, "--ami-port", "0", "--demo-rate", "2/min",
        "--members", "1002,2000-2001", "--extra-agents", "2", "--talk", "2:5",
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        port = None
        while port is None:
            line = (await asyncio.wait_for(proc.stdout.readline(), WAIT)).decode()
            assert line, "pbxsim exited before listening"
            m = re.search(r"AMI on [\d.]+:(\d+)", line)
            port = int(m.group(1)) if m else None
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.readline(), WAIT) == b"Asterisk Call Manager/11.0.0\r\n"
        writer.write(b"Action: Login\r\nActionID: 1\r\nUsername: cti\r\nSecret: cti-secret\r\n\r\n")
        assert b"Authentication accepted" in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        writer.write(b"Action: QueueStatus\r\nActionID: 2\r\n\r\n")
        listing = await asyncio.wait_for(reader.readuntil(b"Event: QueueStatusComplete"), WAIT)
        assert b"Location: PJSIP/1002" in listing  # --members put the agent in the queue
        extra = [b for b in listing.split(b"\r\n\r\n") if b"Location: PJSIP/2001\r\n" in b]
        assert extra and b"\r\nStatus: 1\r\n" in extra[0]  # an extra agent: a known, free device
        writer.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_cli_refuses_a_bad_rate_with_one_line() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--conf", CONF, "--demo-rate", "lots",
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode == 2
    assert err.decode().strip().startswith("pbxsim: --demo-rate:")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--conf", CONF, "--talk", "9:2",
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), WAIT)
    assert proc.returncode == 2
    assert err.decode().strip().startswith("pbxsim: --talk:") and len(err.decode().strip().splitlines()) == 1
