"""SIGTERM stops the server within ``server.stop_timeout`` whatever it is waiting for.

Each case puts the server, a real subprocess, in a state where something it waits for
never comes: an AMI list that never completes, a link that dies mid-list and a PBX that
then accepts connections but never greets, PostgreSQL cut away with a panel's websocket
open and an agent's command waiting for Asterisk's reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import pytest

from ctiserver.store import Store
from tests.support.panel import PanelClient
from tests.support.postgres import free_port
from tests.support.process import start_server, wait_for_line
from tests.support.tcpproxy import TcpProxy
from tests.support.wait import eventually

BUDGET = 4.0  # server.stop_timeout for these runs (10 s by default)


class FaultyAsterisk:
    """An AMI server that logs anyone in, then fails the way ``mode`` says.

    ``list_never_ends``: QueueStatus starts a list (``EventList: start``) and never ends it.
    ``plain_success``: QueueStatus gets a bare ``Response: Success``, no list at all.
    ``dies_mid_list``: one list item, then the link is cut; later connections are accepted
        and never greeted (a PBX half up: the server keeps reconnecting).
    ``mute``: lists are answered (empty); every other action except Ping is never answered.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = 0
        self.sessions = 0
        self.actions: list[str] = []
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in self._writers:
            w.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        self.sessions += 1
        if self.mode == "dies_mid_list" and self.sessions > 1:
            with contextlib.suppress(OSError):
                await reader.read()  # accepted, never greeted
            return
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        buf = b""
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                buf += data
                while b"\r\n\r\n" in buf:
                    packet, buf = buf.split(b"\r\n\r\n", 1)
                    fields = dict(line.split(": ", 1) for line in packet.decode().split("\r\n") if ": " in line)
                    if not self._answer(fields, writer):
                        writer.transport.abort()
                        return

    def _answer(self, fields: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        action, aid = fields.get("Action", "").lower(), fields.get("ActionID", "")
        self.actions.append(action)

        def send(*pairs: tuple[str, str]) -> None:
            writer.write("".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n")

        if action in ("login", "ping"):
            send(("Response", "Success"), ("ActionID", aid), ("Message", "ok"))
        elif action == "queuestatus" and self.mode == "list_never_ends":
            send(("Response", "Success"), ("ActionID", aid), ("EventList", "start"),
                 ("Message", "Queue status will follow"))
        elif action == "queuestatus" and self.mode == "plain_success":
            send(("Response", "Success"), ("ActionID", aid))
        elif action == "queuestatus" and self.mode == "dies_mid_list":
            send(("Response", "Success"), ("ActionID", aid), ("EventList", "start"))
            send(("Event", "QueueParams"), ("Queue", "support"), ("ActionID", aid))
            return False
        elif action in ("queuestatus", "coreshowchannels") and self.mode == "mute":
            done = "QueueStatusComplete" if action == "queuestatus" else "CoreShowChannelsComplete"
            send(("Response", "Success"), ("ActionID", aid), ("EventList", "start"))
            send(("Event", done), ("ActionID", aid), ("EventList", "Complete"), ("ListItems", "0"))
        return True


@contextlib.asynccontextmanager
async def server_against(ami: FaultyAsterisk, dsn: str, tmp_path: Path) -> AsyncIterator[tuple]:
    http = free_port()
    proc = await start_server({"CTI_DB_DSN": dsn, "CTI_AMI_HOST": "127.0.0.1", "CTI_AMI_PORT": str(ami.port),
                               "CTI_HTTP_PORT": str(http), "CTI_IVR_PORT": str(free_port()),
                               "CTI_DB_JOURNAL_PATH": str(tmp_path / "journal.jsonl"),
                               "CTI_SERVER_STOP_TIMEOUT": str(BUDGET), "CTI_AMI_RECONNECT_MIN": "0.05",
                               "CTI_AMI_RECONNECT_MAX": "0.2"})
    lines: list[str] = []
    try:
        await wait_for_line(proc, "Agent panel:", seen=lines)
        yield proc, f"http://127.0.0.1:{http}", lines
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def stop_and_time(proc: asyncio.subprocess.Process, lines: list[str]) -> tuple[float, list[dict]]:
    """SIGTERM, then the seconds until the process exited and its JSON log lines after the signal."""
    start = time.monotonic()
    proc.terminate()
    _, err = await asyncio.wait_for(proc.communicate(), BUDGET + 30)
    elapsed = time.monotonic() - start
    logs = []
    for line in [*lines, *err.decode("utf-8", "replace").splitlines()]:
        with contextlib.suppress(ValueError):
            logs.append(json.loads(line))
    return elapsed, logs


@pytest.mark.parametrize("mode", ["list_never_ends", "plain_success", "dies_mid_list"])
async def test_sigterm_while_the_rebuild_or_a_reconnect_waits_stops_in_time(
        mode: str, db_dsn: str, tmp_path: Path) -> None:
    ami = FaultyAsterisk(mode)
    await ami.start()
    try:
        async with server_against(ami, db_dsn, tmp_path) as (proc, _, lines):
            if mode == "dies_mid_list":  # cut mid-list, now reconnecting to a PBX that never greets
                await eventually(lambda: ami.sessions >= 2, 10, "a reconnect after the cut")
            else:
                await eventually(lambda: "queuestatus" in ami.actions, 10, "the rebuild's QueueStatus")
            elapsed, logs = await stop_and_time(proc, lines)
    finally:
        await ami.stop()
    assert proc.returncode == 0, logs[-5:]
    assert elapsed <= BUDGET + 1.0, f"stopped after {elapsed:.1f}s"
    assert any(entry.get("event") == "stopped" for entry in logs)


async def test_sigterm_with_postgresql_gone_a_panel_open_and_a_command_waiting(db_dsn: str, tmp_path: Path) -> None:
    seeder = await Store.open(db_dsn, journal_path=str(tmp_path / "seed.jsonl"))
    await seeder.migrate()
    await seeder.seed_demo()
    await seeder.close()
    parts = urlsplit(db_dsn)
    pg = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await pg.start()
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{pg.port}").geturl()
    ami = FaultyAsterisk("mute")
    await ami.start()
    panel: PanelClient | None = None
    try:
        async with server_against(ami, via_proxy, tmp_path) as (proc, url, lines):
            panel = PanelClient(url)
            await panel.login("1001")
            await panel.connect()
            command = asyncio.create_task(panel.post("/api/agent/state", {"state": "ready"}))
            await eventually(lambda: "queueadd" in ami.actions, 10, "the sign-in's QueueAdd")
            await pg.stop()  # PostgreSQL goes away for good
            elapsed, logs = await stop_and_time(proc, lines)
            try:
                status, _ = await command
            except aiohttp.ClientError:
                status = 0
    finally:
        if panel is not None:
            await panel.close()
        await ami.stop()
        await pg.stop()
    assert proc.returncode == 0, logs[-5:]
    assert elapsed <= BUDGET + 1.0, f"stopped after {elapsed:.1f}s"
    assert status >= 500 or status == 0  # the waiting command was answered or cut, never left hanging
    assert any(entry.get("event") == "stopped" for entry in logs)
