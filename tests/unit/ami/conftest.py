"""Fixtures of the AMI adapter tests: a fake Asterisk over real TCP, a recording sink, a logged-in client."""

from __future__ import annotations

from typing import AsyncIterator, Callable

import pytest

from ctiserver.ami.client import AmiClient
from tests.unit.ami.fake_ami import FakeAmi, Recorder, Session, ami_config


@pytest.fixture
async def fake_ami() -> AsyncIterator[FakeAmi]:
    server = await FakeAmi().start()
    yield server
    await server.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def connect(fake_ami: FakeAmi, recorder: Recorder) -> AsyncIterator[Callable]:
    """``client, session = await connect(**config_overrides)``: a logged-in client and its server session."""
    clients: list[AmiClient] = []

    async def _connect(**overrides: object) -> tuple[AmiClient, Session]:
        client = AmiClient(ami_config(fake_ami.port, **overrides), recorder)
        clients.append(client)
        await client.start()
        return client, await fake_ami.session()

    yield _connect
    for client in clients:
        await client.close()
