"""ChanSpy on the simulator beyond trace 09: nothing to spy on, and the spied-on call ending first."""

from __future__ import annotations

import asyncio

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.support.traces import RECORDED_CONF

CONF = str(RECORDED_CONF)
WAIT = 10.0


async def test_spy_with_nothing_to_spy_on_ends_at_once_and_spied_call_ending_ends_the_spy() -> None:
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=50.0))
    seen: list[tuple[str, dict]] = []
    sim.listeners.append(lambda ev, f: seen.append((ev, dict(f))))
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice", "PJSIP/1001", 0, False, "")
    sim.set_phone("1001", Phone(answer_after=0.3))
    sim.set_phone("1900", Phone(answer_after=0.2))
    try:
        # no call on 1001: ChanSpy(PJSIP/1001,qES) gives up at once (S), the dialplan hangs up
        spy = await asyncio.wait_for(sim.originate("1900", "supervisor", "spyq-1001"), WAIT)
        assert spy is not None
        await asyncio.wait_for(spy.hungup.wait(), WAIT)
        assert not [ev for ev, _ in seen if ev.startswith("ChanSpy")]

        call = await sim.place_call(CallerScript(keys="1", keys_at=0.3))
        await asyncio.wait_for(call.answered.wait(), WAIT)
        started = asyncio.Event()
        sim.listeners.append(lambda ev, f: started.set() if ev == "ChanSpyStart" else None)
        spy = await asyncio.wait_for(sim.originate("1900", "supervisor", "spyb-1001"), WAIT)
        await asyncio.wait_for(started.wait(), WAIT)
        (info,) = sim.truth()["spies"]
        assert (info["spyer"], info["mode"]) == (spy.name, "barge") and info["spyee"].startswith("PJSIP/1001-")
        await call.hangup()  # the spied-on call ends: ChanSpy stops (E), the supervisor is hung up
        await asyncio.wait_for(spy.hungup.wait(), WAIT)
        names = [ev for ev, f in seen if ev.startswith("ChanSpy")]
        assert names == ["ChanSpyStart", "ChanSpyStop"]
        assert sim.truth()["spies"] == []
    finally:
        await sim.stop()
