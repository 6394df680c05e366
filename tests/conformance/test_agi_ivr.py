"""The project's dialplan (asterisk_conf/: AGI to the FastAGI IVR) on the simulator.

The real IVR server (ivr/) answers the simulator's FastAGI connection; the caller presses
1 and the IVR EXECs Queue(support). The queue part of the call must be what Asterisk
recorded in trace 02 (the caller's dialplan path differs: AGI instead of Background/
WaitExten, so Context/Exten/Priority of the caller are not compared). If the IVR is
down, the dialplan's failsafe still queues the caller.
"""

from __future__ import annotations

import socket
from pathlib import Path

from ivr import IvrServer
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.compare import assert_same_call
from tests.conformance.recorder import Recorder
from tests.conformance.test_traces import recorded
from tests.conformance.trace import trace_path
from tests.support.wholestream import whole_stream

# compared event by event with a recording: the whole stream, not the CTI user's filtered one
CONF = whole_stream(Path(__file__).resolve().parents[2] / "asterisk_conf")
SPEED = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_call(agi_port: int, keys: str = "1") -> tuple[list, PbxSim, object]:
    sim = PbxSim(SimConfig(conf_dir=str(CONF), time_scale=SPEED, agi_host="127.0.0.1", agi_port=agi_port))
    await sim.start()
    try:
        rec = Recorder(trace_path("02"))
        await rec.connect(sim.ami_port)
        for aid in ("a1", "a2", "a3", "a4", "a5"):
            await rec.act(aid)
        sim.set_phone("1001", Phone(answer_after=1.5))
        call = await sim.place_call(CallerScript(keys=keys, keys_at=1.5, hangup_after_answer=4.5))
        await rec.event("Hangup", count=2)
        for aid in ("a6", "a7"):
            await rec.act(aid)
        await rec.closed.wait()
        return rec.received, sim, call
    finally:
        await sim.stop()


async def test_ivr_over_fastagi_queues_the_caller_like_recorded_asterisk() -> None:
    ivr = IvrServer(store=None, host="127.0.0.1", port=0)
    await ivr.start()
    try:
        got, _, call = await run_call(ivr.port)
    finally:
        await ivr.stop()
    assert call.answered_by == "PJSIP/1001"
    # the dialplan records the caller (MixMonitor before the IVR); trace 02 was recorded without
    starts = [h for h in got if h.get("Event") == "MixMonitorStart"]
    assert [h.get("Channel") for h in starts] == [call.channel.name]
    got = [h for h in got if h.get("Event") != "MixMonitorStart"]
    assert_same_call(recorded("02"), got, ignore=frozenset({"Context", "Exten", "Priority"}), dialplan=False)
    ivr_vars = {h.get("Variable"): h.get("Value") for h in got if h.get("Event") == "VarSet"}
    assert ivr_vars.get("CTI_IVR_PATH") == "main,support" and ivr_vars.get("CTI_IVR_KEYS") == "1"
    assert ivr_vars.get("AGISTATUS") != "FAILURE"
    apps = [h.get("Application") for h in got if h.get("Event") == "Newexten"
            and (h.get("Channel") or "").startswith("PJSIP/caller-")]
    assert "AGI" in apps and "Queue" not in apps  # the IVR ran Queue through EXEC


async def test_caller_reaches_the_queue_when_the_ivr_is_down() -> None:
    got, _, call = await run_call(free_port(), keys="")  # nobody listens there; no menu to answer
    assert call.answered_by == "PJSIP/1001"
    status = [h.get("Value") for h in got if h.get("Event") == "VarSet" and h.get("Variable") == "AGISTATUS"]
    assert status == ["FAILURE"]
    # recorded even when the IVR is down (MixMonitor runs before the AGI); not in trace 02
    assert [h.get("Channel") for h in got if h.get("Event") == "MixMonitorStart"] == [call.channel.name]
    got = [h for h in got if h.get("Event") != "MixMonitorStart"]
    want = [h for h in recorded("02") if h.get("Event") != "DTMFEnd"]
    assert_same_call(want, got, ignore=frozenset({"Context", "Exten", "Priority"}), dialplan=False)
