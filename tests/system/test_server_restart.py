"""The CTI server restarts while Asterisk runs on (and, worse, while Asterisk restarts too)."""

from __future__ import annotations

from pathlib import Path

from ivr.server import IvrServer
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conftest import ROOT, running, stack_config


async def test_server_restart_rebuilds_agents_and_a_live_call(db_dsn: str, tmp_path: Path) -> None:
    ivr = IvrServer(port=0)  # the IVR runs as its own service here, as in docker-compose
    await ivr.start()
    sim = PbxSim(SimConfig(conf_dir=str(ROOT / "asterisk_conf"), timestamp_events=True, agi_host="127.0.0.1",
                           agi_port=ivr.port))
    await sim.start()
    try:
        def cfg():
            return stack_config(db_dsn, tmp_path, **{"ami.host": "127.0.0.1", "ami.port": sim.ami_port,
                                                     "ivr.enabled": False})

        async with running(cfg(), seed=True) as first:
            await first.core.link_ready.wait()
            a1, a2 = first.client(), first.client()
            await a1.login("1001")
            await a2.login("1002")
            await a1.connect()
            await a2.connect()
            assert (await a1.post("/api/agent/state", {"state": "ready"}))[0] < 300
            assert (await a2.post("/api/agent/state", {"state": "not_ready", "reason": "training"}))[0] < 300
            await a2.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "not_ready")
            sim.set_phone("1001", Phone(answer_after=0.3))
            call = await sim.place_call(CallerScript(number="13800138000", keys="1", keys_at=0.3))
            await a1.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call", timeout=20)
            await a1.close()
            await a2.close()
            await first.core.settled()
        # the server is down; Asterisk (the simulator) and the call go on

        async with running(cfg(), seed=True) as second:
            await second.core.link_ready.wait()
            await second.core.settled()
            boss = second.client()
            await boss.login("1900")
            snap = await boss.connect()
            by_id = {a["id"]: a for a in snap["agents"]}
            assert by_id["1001"]["state"] == "on_call"
            assert (by_id["1002"]["state"], by_id["1002"]["reason"]) == ("not_ready", "training")
            assert [c["agent"] for c in snap["calls"]] == ["1001"]
            await call.hangup()
            ended = await boss.expect("call_ended")
            assert ended["disposition"] == "answered"
            await second.core.settled()
            await second.store.flush()
            status, body = await boss.get("/api/workorders", caller="13800138000")
            assert status == 200 and [w["disposition"] for w in body["workorders"]] == ["answered"]

            # Now Asterisk restarts too: it forgets its queue members; the server signs them back in.
            mark = len(boss.received)
            await sim.restart()
            await boss.expect("link", lambda d: d["ami"] is True, after=mark, timeout=20)
            await second.core.settled()
            await boss.expect("agent_state", lambda d: d["id"] == "1002" and d["state"] == "not_ready", after=mark)
            truth = {m["interface"]: m for m in sim.truth()["members"]}
            assert truth["PJSIP/1002"]["paused"] and truth["PJSIP/1002"]["reason"] == "training"
            assert "PJSIP/1001" in truth  # back in the queue; still in the wrap-up of the call it just took
            assert not truth["PJSIP/1001"]["paused"] or truth["PJSIP/1001"]["reason"] == "wrap-up"
            await boss.close()
    finally:
        await sim.stop()
        await ivr.stop()
