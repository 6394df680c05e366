"""The simulator the trace conformance tests compare with Asterisk: the recorded lab's config."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.test_traces import RECORDED_CONF, SPEED


@pytest.fixture
async def sim() -> AsyncIterator[PbxSim]:
    s = PbxSim(SimConfig(conf_dir=str(RECORDED_CONF), time_scale=SPEED))
    await s.start()
    try:
        yield s
    finally:
        await s.stop()
