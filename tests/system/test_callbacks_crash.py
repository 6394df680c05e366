"""A callback asked for while PostgreSQL is away outlives the server being killed (no clean stop):
the server started again, with PostgreSQL back, has it in PostgreSQL and in its line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from ctiserver.store import Store
from ivr.server import IvrServer
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conftest import ROOT
from tests.support.calls import is_state
from tests.support.panel import PanelClient
from tests.support.postgres import free_port
from tests.support.process import start_server, wait_for_line
from tests.support.tcpproxy import TcpProxy

CALLER = "13800138000"
WAIT = 30.0


async def server(env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await start_server(env)
    lines: list[str] = []
    await wait_for_line(proc, "Agent panel:", seen=lines)

    async def drain() -> None:  # its log must not fill the pipe
        assert proc.stderr is not None
        while await proc.stderr.readline():
            pass

    asyncio.get_running_loop().create_task(drain())
    return proc


async def test_a_callback_made_while_postgresql_is_away_survives_the_server_being_killed(
    db_dsn: str, tmp_path: Path
) -> None:
    seeder = await Store.open(db_dsn, journal_path=None)
    await seeder.migrate()
    await seeder.seed_demo()
    await seeder.close()
    parts = urlsplit(db_dsn)
    pg = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await pg.start()
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{pg.port}").geturl()
    ivr = IvrServer(port=0)
    await ivr.start()
    sim = PbxSim(
        SimConfig(
            conf_dir=str(ROOT / "asterisk_conf"),
            timestamp_events=True,
            agi_host="127.0.0.1",
            agi_port=ivr.port,
        )
    )
    await sim.start()
    http = free_port()
    env = {
        "CTI_DB_DSN": via_proxy,
        "CTI_DB_JOURNAL_PATH": str(tmp_path / "journal.jsonl"),
        "CTI_AMI_HOST": "127.0.0.1",
        "CTI_AMI_PORT": str(sim.ami_port),
        "CTI_HTTP_PORT": str(http),
        "CTI_IVR_ENABLED": "false",
        "CTI_CALLCENTER_WRAPUP_SECONDS": "1",
    }
    url = f"http://127.0.0.1:{http}"
    procs: list[asyncio.subprocess.Process] = []
    clients: list[PanelClient] = []
    try:
        procs.append(await server(env))
        agent, boss = PanelClient(url), PanelClient(url)
        clients += [agent, boss]
        await agent.login("1001")
        await boss.login("1900")
        await agent.connect()
        await boss.connect()
        assert (await agent.post("/api/agent/state", {"state": "ready"}))[0] < 300
        await agent.expect("agent_state", is_state("1001", "ready"), timeout=WAIT)
        await pg.stop()  # PostgreSQL goes away
        # 1001 busy with another caller; the caller waits, presses 5 and keeps their number
        sim.set_phone("1001", Phone(answer_after=0.2))
        await sim.place_call(CallerScript(number="13900000002", keys="1", keys_at=0.2))
        await agent.expect("agent_state", is_state("1001", "on_call"), timeout=WAIT)
        await sim.place_call(
            CallerScript(number=CALLER, dtmf=((0.2, "1"), (3.0, "5"), (11.0, "1")))
        )
        listed = await boss.expect(
            "notice",
            lambda d: (
                d.get("kind") == "callbacks" and any(q["pending"] for q in d["queues"])
            ),
            timeout=WAIT,
        )
        entry = next(q for q in listed["queues"] if q["queue"] == "support")["pending"][
            0
        ]
        for c in clients:
            await c.close()
        clients.clear()
        procs[0].kill()  # no clean stop
        await procs[0].wait()

        conn = await asyncpg.connect(db_dsn)
        try:
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM callbacks WHERE id = $1", entry["id"]
                )
                == 0
            )
        finally:
            await conn.close()

        await pg.start()  # PostgreSQL is back, the server is started again
        procs.append(await server(env))
        conn = await asyncpg.connect(db_dsn)
        try:
            row = await conn.fetchrow(
                "SELECT state, number, queue, joined_at FROM callbacks WHERE id = $1",
                entry["id"],
            )
        finally:
            await conn.close()
        assert row is not None, "the callback was lost with the server"
        assert (row["state"], row["number"], row["queue"]) == (
            "pending",
            CALLER,
            "support",
        )
        assert (
            row["joined_at"].timestamp() == entry["joined_at"]
        )  # its place in line is kept
        boss = PanelClient(url)
        clients.append(boss)
        await boss.login("1900")
        snap = await boss.connect()
        line = next(q for q in snap["callbacks"]["queues"] if q["queue"] == "support")
        assert [p["id"] for p in line["pending"]] == [entry["id"]]
        assert not (
            tmp_path / "journal.callbacks.jsonl"
        ).read_bytes()  # written, so emptied
    finally:
        for c in clients:
            await c.close()
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await sim.stop()
        await ivr.stop()
        await pg.stop()
