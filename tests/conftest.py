"""Shared fixtures: a real PostgreSQL, and the whole server started as in production.

``stack`` starts the product the way ``make run`` does in demo mode (store with
migrations and demo data, core, FastAGI IVR, the PBX simulator on a free loopback port,
the AMI client, the web server) but without random demo callers: each test places its
own calls through ``stack.sim``. ``replay_stack(replay)`` starts the same server against
a :class:`tests.support.traces.ReplayAmi` instead of the simulator.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import os

import pytest
from hypothesis import settings as hypothesis_settings

from ctiserver import config as config_mod
from tests.support.panel import PanelClient
from tests.support.postgres import drop_database, fresh_database, postgres_dsn

# Property tests run the same examples every time in `make test` (a red CI must mean a real
# regression); `HYPOTHESIS_PROFILE=explore make test` searches new random examples.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False, max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    return postgres_dsn()


@pytest.fixture
async def db_dsn(pg_dsn: str) -> AsyncIterator[str]:
    dsn = await fresh_database(pg_dsn)
    yield dsn
    await drop_database(dsn)


@dataclass
class Stack:
    app: Any
    config: Any

    @property
    def url(self) -> str:
        return self.app.url

    @property
    def core(self) -> Any:
        return self.app.core

    @property
    def store(self) -> Any:
        return self.app.store

    @property
    def sim(self) -> Any:
        return self.app.sim

    def client(self) -> PanelClient:
        return PanelClient(self.url)


def stack_config(dsn: str, tmp_path: Path, **overrides: Any) -> Any:
    values = {
        "db.dsn": dsn, "db.journal_path": str(tmp_path / "journal.jsonl"), "http.port": 0, "ivr.port": 0,
        "http.session_secret": "test-secret", "demo.rate": 0, "demo.agents": (), "demo.time_scale": 1.0,
        "ami.reconnect_min": 0.05, "ami.reconnect_max": 0.5, "log.format": "console",
        "callcenter.recordings_dir": str(tmp_path / "monitor"),  # issue 4: the simulator's recordings
        "voicemail.spool_dir": str(tmp_path / "voicemail"),  # the simulator's voicemail spool
    }
    values.update(overrides)
    return config_mod.load(env={}, overrides=values)


@contextlib.asynccontextmanager
async def running(cfg: Any, **kwargs: Any) -> AsyncIterator[Stack]:
    from ctiserver.app import App

    app = App(cfg, demo_traffic=False, **kwargs)
    try:
        await app.start()
        yield Stack(app, cfg)
    finally:
        await app.stop()


@pytest.fixture
async def stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running(stack_config(db_dsn, tmp_path)) as s:
        await s.core.link_ready.wait()
        yield s


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
