"""Phones that register, on a real Asterisk 22 reading its PJSIP accounts from PostgreSQL.

The test restarts the lab Asterisk with ``asterisk_realtime/`` rendered for this test's database
(``CTI_TEST_ASTERISK_START``: a script that starts Asterisk with the repository's asterisk_conf/
plus ``OVERLAY_DIR``'s files, default ``/opt/asterisk-run/start.sh`` when it exists), and restarts
it with the plain lab configuration afterwards. From an empty database: the admin made by the CLI
adds agent 2004 through the API; SIPp registers as 2004 with digest authentication using the
secret shown once; the agent signs in; a SIPp caller dials the hotline and presses 1; the queue
rings the registered phone, which answers; the CTI server shows the agent on the call. Disabled,
the endpoint is gone from Asterisk and the phone can no longer register.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ctiserver.store import Store
from tests.conftest import running
from tests.integration.conftest import HOST, live_config
from tests.integration.test_asterisk import SIPP
from tests.support.process import ROOT
from tests.system.test_admin import first_admin

SCENARIOS = Path(__file__).resolve().parent / "sipp"
LAB_START = "/opt/asterisk-run/start.sh"
START = os.environ.get("CTI_TEST_ASTERISK_START") or (
    LAB_START if os.path.exists(LAB_START) else ""
)
CLI = os.environ.get(
    "CTI_TEST_ASTERISK_CLI",
    "/opt/asterisk/sbin/asterisk -C /opt/asterisk-run/etc/asterisk.conf",
)
PHONE_PORT, CALLER_PORT = 5064, 5066


def _restart_asterisk(overlay: Path | None) -> None:
    env = {**os.environ, "REPO": str(ROOT)}
    env.pop("OVERLAY_DIR", None)
    if overlay is not None:
        env["OVERLAY_DIR"] = str(overlay)
    proc = subprocess.run(
        [START], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _asterisk_cli(command: str) -> str:
    proc = subprocess.run(
        [*CLI.split(), "-rx", command],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.stdout + proc.stderr


async def _eventually_cli(
    command: str, holds: Callable[[str], bool], what: str
) -> None:
    """Ask Asterisk's CLI until its answer ``holds`` (40 s at most): its state has no event we see."""
    out = ""
    for _ in range(400):
        out = await asyncio.to_thread(_asterisk_cli, command)
        if holds(out):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n{out}")


async def realtime_overlay(db_dsn: str, tmp_path: Path) -> Path:
    """asterisk_realtime/ rendered for the test's database, its tables made first (Asterisk reads them at start)."""
    overlay = tmp_path / "realtime"
    overlay.mkdir()
    store = await Store.open(db_dsn, pool_size=1)
    try:
        await store.migrate()
    finally:
        await store.close()
    await asyncio.to_thread(_render, db_dsn, overlay)
    return overlay


def _render(dsn: str, dest: Path) -> None:
    """asterisk_realtime/*.conf for this test's database (the cluster trusts 127.0.0.1)."""
    parts = urlsplit(dsn)
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGDATABASE": parts.path.lstrip("/"),
        "PGUSER": parts.username or "cti",
    }
    subprocess.run(
        ["sh", str(ROOT / "asterisk_realtime" / "render.sh"), str(dest)],
        env=env,
        check=True,
        capture_output=True,
        timeout=30,
    )


async def _sipp(scenario: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        SIPP,
        "127.0.0.1:5060",
        "-sf",
        str(SCENARIOS / scenario),
        *args,
        "-i",
        "127.0.0.1",
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        "120",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _finish(
    proc: asyncio.subprocess.Process, timeout: float = 30
) -> tuple[int, str]:
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(errors="replace")[-3000:]


@pytest.mark.skipif(
    not SIPP or HOST not in ("127.0.0.1", "localhost") or not START,
    reason="needs sipp, an Asterisk on this machine and its start script (CTI_TEST_ASTERISK_START)",
)
@pytest.mark.timeout(240)
async def test_an_agent_added_by_the_admin_registers_with_digest_and_answers_a_queue_call(
    db_dsn: str, tmp_path: Path
) -> None:
    cfg = live_config(
        db_dsn,
        tmp_path,
        {
            "callcenter.wrapup_seconds": 1.0,
        },
    )
    procs: list[asyncio.subprocess.Process] = []
    overlay = await realtime_overlay(db_dsn, tmp_path)
    try:
        await asyncio.to_thread(_restart_asterisk, overlay)
        async with running(cfg) as stack:  # an empty database: no demo people
            await asyncio.wait_for(stack.core.link_ready.wait(), 60)
            admin, agent = stack.client(), stack.client()
            try:
                await first_admin(db_dsn, admin)
                status, body = await admin.post(
                    "/api/admin/people",
                    {
                        "login": "2004",
                        "name": "Dana Lee",
                        "role": "agent",
                        "interface": "PJSIP/2004",
                        "queues": {"support": 0},
                        "password": "Correct-Horse-77",
                    },
                )
                assert status == 201, body
                secret = body["person"]["sip"]["secret"]
                shown = await asyncio.to_thread(
                    _asterisk_cli, "pjsip show endpoint 2004"
                )
                assert "Endpoint:  2004" in shown and "agents" in shown, shown

                # a wrong secret is refused (a second 401): the scenario fails
                wrong = await _sipp(
                    "agent_register.xml",
                    "-s",
                    "2004",
                    "-au",
                    "2004",
                    "-ap",
                    "not-the-secret",
                    "-p",
                    str(PHONE_PORT),
                )
                code, out = await _finish(wrong)
                assert code != 0, out
                status, body = await admin.get("/api/admin/sip-accounts", login="2004")
                assert body["accounts"][0]["registered"] is False, body

                phone = await _sipp(
                    "agent_register.xml",
                    "-s",
                    "2004",
                    "-au",
                    "2004",
                    "-ap",
                    secret,
                    "-oocsf",
                    str(SCENARIOS / "agent_answer_ooc.xml"),
                    "-p",
                    str(PHONE_PORT),
                )
                procs.append(phone)
                for _ in range(
                    200
                ):  # Asterisk writes the registration into ps_contacts
                    status, body = await admin.get(
                        "/api/admin/sip-accounts", login="2004"
                    )
                    if body["accounts"][0]["registered"]:
                        break
                    assert phone.returncode is None, (await _finish(phone))[1]
                    await asyncio.sleep(0.1)
                [contact] = body["accounts"][0]["contacts"]
                assert f"127.0.0.1:{PHONE_PORT}" in contact["uri"], contact
                # Asterisk qualifies the new contact (OPTIONS, answered by the phone): the
                # endpoint is then online and the queue may ring it
                await _eventually_cli(
                    "pjsip show endpoints",
                    lambda out: any(
                        line.split()[:1] == ["Endpoint:"]
                        and line.split()[1].split("/")[0] == "2004"
                        and "Not in use" in line
                        for line in out.splitlines()
                    ),
                    what="endpoint 2004 reachable",
                )

                await agent.login("2004", "Correct-Horse-77")
                await agent.connect()
                assert (await agent.post("/api/agent/state", {"state": "ready"}))[
                    0
                ] < 300
                await agent.expect(
                    "agent_state", lambda d: d["id"] == "2004" and d["state"] == "ready"
                )
                caller = await _sipp("caller_queue.xml", "-p", str(CALLER_PORT))
                procs.append(caller)
                await agent.expect(
                    "agent_state",
                    lambda d: d["id"] == "2004" and d["state"] == "on_call",
                    timeout=40,
                )
                code, out = await _finish(caller, 40)
                assert code == 0, out
                await agent.expect(
                    "agent_state",
                    lambda d: d["id"] == "2004" and d["state"] != "on_call",
                    timeout=20,
                )
                await agent.post("/api/agent/state", {"state": "logged_out"})

                # disabled: the endpoint is gone from Asterisk, the phone cannot register any more
                version = (await admin.get("/api/admin/people/2004"))[1]["person"][
                    "version"
                ]
                status, body = await admin.post(
                    "/api/admin/people/2004/disable", {"version": version}
                )
                assert status == 200, body
                shown = await asyncio.to_thread(
                    _asterisk_cli, "pjsip show endpoint 2004"
                )
                assert "Unable to find object 2004" in shown, shown
                again = await _sipp(
                    "agent_register.xml",
                    "-s",
                    "2004",
                    "-au",
                    "2004",
                    "-ap",
                    secret,
                    "-p",
                    str(PHONE_PORT + 2),
                )
                code, out = await _finish(again)
                assert code != 0, out
            finally:
                await admin.close()
                await agent.close()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await asyncio.to_thread(_restart_asterisk, None)  # the plain lab again
