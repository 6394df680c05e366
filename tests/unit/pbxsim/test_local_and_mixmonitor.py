"""Local channels (Originate Local/..., trace 14) when things go wrong, and MixMonitor's
recordings (trace 13) beyond the recording: files, refusals, the dialplan application."""

from __future__ import annotations

import asyncio
import shutil
import wave
from pathlib import Path

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import Recorder
from tests.support.traces import RECORDED_CONF

CONF = str(RECORDED_CONF)
WAIT = 10.0


def new_sim(conf: str = CONF, **kw) -> PbxSim:
    sim = PbxSim(SimConfig(conf_dir=conf, time_scale=50.0, **kw))
    sim.seen = []  # type: ignore[attr-defined]
    sim.listeners.append(lambda ev, fields: sim.seen.append((ev, dict(fields))))  # type: ignore[attr-defined]
    return sim


def seen(sim: PbxSim, name: str) -> list[dict]:
    return [f for ev, f in sim.seen if ev == name]  # type: ignore[attr-defined]


async def gone(sim: PbxSim) -> None:
    """Wait until the simulator has no channel and no bridge left (checked on every event)."""
    done = asyncio.Event()

    def check() -> None:
        if not sim.channels and not sim.bridges:
            done.set()

    check()
    # listeners run before the event is fully processed (a Hangup's channel is forgotten just after)
    listener = lambda ev, fields: asyncio.get_running_loop().call_soon(check)  # noqa: E731
    sim.listeners.append(listener)
    try:
        await asyncio.wait_for(done.wait(), WAIT)
    finally:
        sim.listeners.remove(listener)


async def test_local_originate_unanswered_agent_fails_and_leaves_nothing_behind() -> None:
    sim = new_sim()
    sim.set_phone("1001", Phone(ring_forever=True))
    try:
        one = await asyncio.wait_for(sim.local.originate("Local/1001@agents", "agents", "0215551234",
                                                     timeout=5.0, action_id="o1", uid1="c2d-1", uid2="c2d-2"), WAIT)
        assert one is None
        (resp,) = seen(sim, "OriginateResponse")
        assert (resp["Response"], resp["Reason"], resp["Uniqueid"]) == ("Failure", "3", "c2d-1")
        assert resp["Channel"].startswith("Local/1001@agents-") and resp["Channel"].endswith(";1")
        await gone(sim)
        assert sim.devices.get("PJSIP/1001") == "NOT_INUSE"
        assert not [f for f in seen(sim, "DeviceStateChange") if f["Device"].startswith("PJSIP/Local")]
    finally:
        await sim.stop()


async def test_local_originate_busy_outside_number_hangs_the_agent_up() -> None:
    sim = new_sim()
    sim.set_phone("1001", Phone(answer_after=0.3))
    sim.set_phone("outside", Phone(decline_after=0.5))
    try:
        one = await asyncio.wait_for(sim.local.originate("Local/1001@agents", "agents", "0215551234",
                                                     cid_num="0215551234", cid_name="Click2Dial"), WAIT)
        assert one is not None and one.name.endswith(";1")
        await gone(sim)
        assert [f["DialStatus"] for f in seen(sim, "DialEnd") if f.get("DestChannel", "").startswith("PJSIP/outside")] \
            == ["BUSY"]
        assert not seen(sim, "LocalOptimizationBegin")  # never bridged on both sides: no optimisation
        hung = [f["Channel"].split("-")[0] for f in seen(sim, "Hangup")]
        assert sorted(hung) == ["Local/1001@agents", "Local/1001@agents", "PJSIP/1001", "PJSIP/outside"]
    finally:
        await sim.stop()


async def test_local_click_to_dial_then_ami_hangup_of_the_agent_ends_the_outside_leg() -> None:
    sim = new_sim()
    sim.set_phone("1001", Phone(answer_after=0.3))
    sim.set_phone("outside", Phone(answer_after=0.5))
    try:
        await asyncio.wait_for(sim.local.originate("Local/1001@agents", "agents", "0215551234"), WAIT)
        optimised = asyncio.Event()
        sim.listeners.append(lambda ev, f: optimised.set() if ev == "LocalOptimizationEnd" else None)
        await asyncio.wait_for(optimised.wait(), WAIT)
        (agent,) = sim.by_endpoint["1001"].values()
        assert agent.bridge is not None and sorted(c.endpoint for c in agent.bridge.channels) == ["1001", "outside"]
        agent.hangup_by_ami = True  # as the AMI Hangup action marks it
        agent.request_hangup(16)
        await gone(sim)
        assert seen(sim, "Hangup")[-1]["Channel"].startswith("PJSIP/outside")
    finally:
        await sim.stop()


async def test_mixmonitor_writes_a_wav_of_the_recorded_length_and_refuses_what_asterisk_refuses(tmp_path: Path) -> None:
    sim = new_sim(monitor_dir=str(tmp_path / "monitor"))
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice", "PJSIP/1001", 0, False, "")
    sim.set_phone("1001", Phone(answer_after=0.3))
    await sim.start()
    rec = Recorder()
    try:
        await rec.connect(sim.ami_port)
        rec.send([("Action", "Login"), ("ActionID", "l"), ("Username", "cti"), ("Secret", "cti-secret")])
        await rec.reply("l")

        async def act(aid: str, action: str, **fields: str):
            rec.send([("Action", action), ("ActionID", aid)] + list(fields.items()))
            return await rec.reply(aid)

        assert (await act("a", "MixMonitor", Channel="PJSIP/1001-00000fff", File="x.wav")).get("Message") \
            == "No such channel"
        call = await sim.place_call(CallerScript(keys="1", keys_at=0.3, hangup_after_answer=4.0))
        await asyncio.wait_for(call.answered.wait(), WAIT)
        customer = call.channel_name
        assert (await act("b", "StopMixMonitor", Channel=customer)).get("Message") == "Could not stop monitoring channel"
        assert (await act("c", "MixMonitorMute", Channel=customer, State="1")).get("Message") == "Cannot set mute flag"
        reply = await act("d", "MixMonitor", Channel=customer, File="call-1.wav", Options="b")
        assert reply.get("Response") == "Success" and reply.get("Message") is None  # as recorded: no Message
        assert (await act("e", "MixMonitorMute", Channel=customer, Direction="sideways", State="1")).get("Message") \
            == "Invalid direction specified. Must be read, write or both"
        await asyncio.wait_for(call.ended(), WAIT)
        (r,) = sim.mixmonitor.recordings
        assert (r.file, r.ended_by, r.linkedid) == ("/var/spool/asterisk/monitor/call-1.wav", "hangup", call.uniqueid)
        assert not seen(sim, "MixMonitorStop")  # ended by the hangup: no MixMonitorStop (trace 13)
        with wave.open(r.written, "rb") as w:
            seconds = w.getnframes() / w.getframerate()
        assert abs(seconds - (r.ended - r.started)) < 0.01 and 2.0 < seconds <= 4.5
    finally:
        await rec.close()
        await sim.stop()


async def test_mixmonitor_dialplan_application_records_until_stopmixmonitor(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    text = (conf / "extensions.conf").read_text(encoding="utf-8")
    text = text.replace("[from-trunk]\n", "[from-trunk]\nexten => 5000,1,Answer()\n same => n,MixMonitor(rec-${UNIQUEID}.wav,b)\n"
                        " same => n,Wait(2)\n same => n,StopMixMonitor()\n same => n,Wait(1)\n same => n,Hangup()\n"
                        "exten => 5001,1,MixMonitor()\n same => n,Hangup()\n", 1)
    (conf / "extensions.conf").write_text(text, encoding="utf-8")
    sim = new_sim(str(conf))
    try:
        a = await sim.place_call(CallerScript(dial="5000"))
        b = await sim.place_call(CallerScript(dial="5001"))
        await asyncio.wait_for(asyncio.gather(a.ended(), b.ended()), WAIT)
        (r,) = sim.mixmonitor.recordings  # MixMonitor() without a file is refused, the dialplan goes on
        assert r.file.endswith(f"rec-{a.uniqueid}.wav") and r.ended_by == "stop" and r.options == "b"
        assert [f["Channel"] for f in seen(sim, "MixMonitorStop")] == [a.channel_name]
        assert sorted(f["Channel"] for f in seen(sim, "Hangup")) == sorted([a.channel_name, b.channel_name])
    finally:
        await sim.stop()
