"""A real Asterisk 22 running asterisk_conf/ (e.g. `docker compose up asterisk`), given by:

  CTI_TEST_AMI_HOST (required: e.g. 127.0.0.1), CTI_TEST_AMI_PORT (5038),
  CTI_TEST_AMI_USER (cti), CTI_TEST_AMI_SECRET (cti-secret),
  CTI_TEST_SIPP (path of sipp; default: sipp on PATH) for the call test,
  CTI_TEST_IVR_PORT (4573: where the dialplan's AGI() connects; the test serves the IVR there
  unless something already listens, e.g. the compose 'ivr' service).

Every test here is skipped when CTI_TEST_AMI_HOST is not set or nothing on that address
greets like Asterisk's AMI ("Asterisk Call Manager/..."), so `make test` stays green on a
machine without Asterisk.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable

import pytest

from ctiserver import config as config_mod
from ctiserver.ami.client import AmiClient
from ctiserver.ami.message import AmiMessage

HOST = os.environ.get("CTI_TEST_AMI_HOST", "")
PORT = int(os.environ.get("CTI_TEST_AMI_PORT", "5038"))
USER = os.environ.get("CTI_TEST_AMI_USER", "cti")
SECRET = os.environ.get("CTI_TEST_AMI_SECRET", "cti-secret")


def _asterisk_banner(host: str, port: int, timeout: float = 2.0) -> str | None:
    """The AMI greeting line, or None when nothing (or something else) answers."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            line = s.makefile("rb").readline(200).decode("latin-1").strip()
    except OSError:
        return None
    return line if line.startswith("Asterisk Call Manager/") else None


def pytest_collection_modifyitems(config, items):
    """Mark every test of this directory ``asterisk`` and skip them all when no Asterisk answers."""
    here = os.path.dirname(__file__)
    mine = [i for i in items if str(i.fspath).startswith(here)]
    if not mine:
        return
    if not HOST:
        reason = "no Asterisk given (set CTI_TEST_AMI_HOST, and CTI_TEST_AMI_PORT/USER/SECRET if not the defaults)"
    elif not _asterisk_banner(HOST, PORT):
        reason = f"no Asterisk AMI answering on {HOST}:{PORT}"
    else:
        reason = ""
    skip = pytest.mark.skip(reason=reason) if reason else None
    for item in mine:
        item.add_marker(pytest.mark.asterisk)
        if skip is not None:
            item.add_marker(skip)


def live_config(db_dsn: str, tmp_path, overrides: dict | None = None):
    """A whole server's configuration against the Asterisk under test, serving the dialplan's IVR port
    itself (the test is skipped when something else already listens there)."""
    from tests.conftest import stack_config

    port = int(os.environ.get("CTI_TEST_IVR_PORT", "4573"))
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            pytest.skip(f"something already listens on the IVR port {port}; this test runs its own server's IVR")
    return stack_config(db_dsn, tmp_path, **{"ami.host": HOST, "ami.port": PORT, "ami.username": USER,
                                            "ami.secret": SECRET, "ivr.port": port, **(overrides or {})})


async def own_trace_sipp(scenario_file: str, *args: str) -> asyncio.subprocess.Process:
    """A SIPp party of one of the project's own recordings (tests/traces/<scenario_file>), run
    where the shared traces' tone (pcmu_tone_60s.pcap) is; its output is read from stdout."""
    from pathlib import Path

    from tests.integration.test_asterisk import SIPP
    from tests.support.traces import OWN_TRACES, TRACES

    return await asyncio.create_subprocess_exec(
        SIPP, *args, "-sf", str(Path(OWN_TRACES) / scenario_file), "-nostdin", "-timeout", "90",
        cwd=str(TRACES), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)


def ami_config(**changes) -> config_mod.AmiConfig:
    """The AMI settings of the Asterisk under test."""
    values = {"ami.host": HOST, "ami.port": PORT, "ami.username": USER, "ami.secret": SECRET,
              "ami.reconnect_max": 2.0}
    values.update({f"ami.{k}": v for k, v in changes.items()})
    return config_mod.load(env={}, overrides=values).ami


class EventLog:
    """The sink of an AmiClient: every event in order, and a way to wait for one."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self._changed = asyncio.Event()

    def __call__(self, item: object) -> None:
        self.items.append(item)
        self._changed.set()

    def events(self, name: str) -> list[AmiMessage]:
        return [m for m in self.items if isinstance(m, AmiMessage) and m.name == name]

    async def wait_for(self, name: str, match: Callable[[AmiMessage], bool] = lambda m: True,
                       timeout: float = 10.0) -> AmiMessage:
        """The first event ``name`` satisfying ``match`` (already received or arriving within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.events(name):
                if match(m):
                    return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name} event within {timeout} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


@pytest.fixture
async def ami():
    """A logged-in AmiClient on the Asterisk under test, with its EventLog as ``ami.log``."""
    log = EventLog()
    client = AmiClient(ami_config(), log)
    await client.start()
    client.log = log  # type: ignore[attr-defined]
    yield client
    await client.close()
