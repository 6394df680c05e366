"""`python -m ctiserver` as an operator runs it: demo mode works, faults are one clear line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.panel import PanelClient
from tests.support.postgres import free_port
from tests.support.process import ROOT, start_server, wait_for_line


async def test_demo_mode_pops_simulated_calls_in_the_panel(db_dsn: str, tmp_path: Path) -> None:
    port = free_port()
    proc = await start_server({"CTI_DB_DSN": db_dsn, "CTI_HTTP_PORT": str(port), "CTI_IVR_PORT": str(free_port()),
                               "CTI_DB_JOURNAL_PATH": str(tmp_path / "j.jsonl"), "CTI_DEMO_RATE": "30",
                               "CTI_DEMO_TIME_SCALE": "4"})
    panel = PanelClient(f"http://127.0.0.1:{port}")
    try:
        lines = await wait_for_line(proc, "Agent panel:")
        assert f"http://127.0.0.1:{port}/" in lines[-1]
        await panel.login("1001")
        await panel.connect()
        status, body = await panel.post("/api/agent/state", {"state": "ready"})
        assert status in (200, 202), body
        await panel.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "ready")
        pop = await panel.expect("call_ringing", timeout=60)
        assert pop["queue"] and pop["caller_number"]
    finally:
        await panel.close()
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0  # SIGTERM is a clean stop


async def test_wrong_ami_secret_is_one_clear_line_and_exit_3(db_dsn: str, tmp_path: Path) -> None:
    from pbxsim.sim import PbxSim, SimConfig

    sim = PbxSim(SimConfig(conf_dir=str(ROOT / "asterisk_conf"), secret="the-right-one"))
    await sim.start()
    try:
        proc = await start_server({"CTI_DB_DSN": db_dsn, "CTI_AMI_HOST": "127.0.0.1",
                                   "CTI_AMI_PORT": str(sim.ami_port), "CTI_AMI_SECRET": "wrong",
                                   "CTI_HTTP_PORT": str(free_port()), "CTI_IVR_PORT": str(free_port()),
                                   "CTI_DB_JOURNAL_PATH": str(tmp_path / "j.jsonl")})
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await sim.stop()
    assert proc.returncode == 3
    last = err.decode().strip().splitlines()[-1]
    assert "refused the AMI login" in last and "Traceback" not in err.decode()


async def test_unreachable_postgres_is_one_clear_line_and_exit_4(tmp_path: Path) -> None:
    dead = free_port()
    proc = await start_server({"CTI_DB_DSN": f"postgresql://cti@127.0.0.1:{dead}/cti",
                               "CTI_HTTP_PORT": str(free_port()), "CTI_IVR_PORT": str(free_port()),
                               "CTI_DB_JOURNAL_PATH": str(tmp_path / "j.jsonl")})
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    text = err.decode()
    assert proc.returncode == 4, text
    assert "Traceback" not in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("ctiserver: PostgreSQL unreachable") and f"127.0.0.1:{dead}" in last
    assert "password" not in last.lower() or "no password" in last.lower()


@pytest.mark.parametrize("env,needle", [({"CTI_AMI_PORT": "99999"}, "ami.port"),
                                        ({"CTI_DEMO_RATE": "lots"}, "demo.rate")])
async def test_bad_configuration_names_the_setting(env: dict[str, str], needle: str) -> None:
    proc = await start_server(env)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert needle in err.decode().strip().splitlines()[-1]
