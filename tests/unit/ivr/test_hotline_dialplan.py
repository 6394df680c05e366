"""asterisk_conf/ + the FastAGI IVR, driven by the PBX simulator as Asterisk drives them.

What a CTI user notices: a caller who presses 1 is announced (path, keys) before an
agent's phone rings; and a caller is still queued when the IVR cannot be reached.
The simulator runs 10x faster than real time to keep this quick.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ctiserver.ami.client import AmiClient
from ctiserver import config as config_mod
from ivr.agi import IvrServer
from pbxsim.scripts import CallerScript
from pbxsim.sim import PbxSim, SimConfig
from tests.support.postgres import free_port

CONF = Path(__file__).resolve().parents[3] / "asterisk_conf"


class Events:
    """Every simulator event in order, and a way to wait for one."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, str]]] = []
        self._changed = asyncio.Event()

    def __call__(self, name: str, fields) -> None:
        self.items.append((name, dict(fields)))
        self._changed.set()

    def find(self, name: str, **match: str) -> int | None:
        for i, (n, f) in enumerate(self.items):
            if n == name and all(f.get(k) == v for k, v in match.items()):
                return i
        return None

    async def wait(self, name: str, timeout: float = 10.0, **match: str) -> int:
        async with asyncio.timeout(timeout):
            while (i := self.find(name, **match)) is None:
                self._changed.clear()
                await self._changed.wait()
        return i


@pytest.fixture
async def pbx():
    async def make(agi_port: int) -> tuple[PbxSim, Events, AmiClient]:
        sim = PbxSim(SimConfig(conf_dir=str(CONF), time_scale=10.0, timestamp_events=True,
                               agi_host="127.0.0.1", agi_port=agi_port))
        events = Events()
        sim.listeners.append(events)
        await sim.start()
        ami = AmiClient(config_mod.load(env={}, overrides={"ami.host": "127.0.0.1", "ami.port": sim.ami_port}).ami,
                        lambda item: None)
        await ami.start()
        made.append((sim, ami))
        return sim, events, ami

    made: list[tuple[PbxSim, AmiClient]] = []
    yield make
    for sim, ami in made:
        await ami.close()
        await sim.stop()


async def test_the_ivr_reports_path_and_keys_before_the_agent_rings(pbx):
    ivr = IvrServer(port=0)
    await ivr.start()
    try:
        sim, events, ami = await pbx(ivr.port)
        await ami.send({"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/1001",
                        "StateInterface": "PJSIP/1001", "MemberName": "Agent Alice"})
        call = await sim.place_call(CallerScript(keys="1", hangup_after_answer=1.0))
        uid = call.uniqueid
        called = await events.wait("AgentCalled", Uniqueid=uid, Interface="PJSIP/1001")
        keys = events.find("VarSet", Uniqueid=uid, Variable="CTI_IVR_KEYS", Value="1")
        path = events.find("VarSet", Uniqueid=uid, Variable="CTI_IVR_PATH", Value="main,support")
        assert keys is not None and keys < called
        assert path is not None and path < called
        assert events.find("Newexten", Uniqueid=uid, Application="AGI") is not None
        await events.wait("Hangup", Uniqueid=uid, timeout=20)
        assert events.find("Newexten", Uniqueid=uid, Extension="failsafe") is None
    finally:
        await ivr.stop()


async def test_without_the_ivr_the_caller_still_reaches_the_queue(pbx):
    sim, events, ami = await pbx(free_port())          # nothing listens there
    await ami.send({"Action": "QueueAdd", "Queue": "support", "Interface": "PJSIP/1001",
                    "StateInterface": "PJSIP/1001", "MemberName": "Agent Alice"})
    call = await sim.place_call(CallerScript(hangup_after_answer=1.0))
    uid = call.uniqueid
    await events.wait("AgentCalled", Uniqueid=uid, Interface="PJSIP/1001")
    assert events.find("VarSet", Uniqueid=uid, Variable="AGISTATUS", Value="FAILURE") is not None
    assert events.find("VarSet", Uniqueid=uid, Variable="CTI_IVR_PATH", Value="failsafe") is not None
    await events.wait("Hangup", Uniqueid=uid, timeout=20)
