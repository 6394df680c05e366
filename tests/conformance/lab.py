"""The recorded lab played again: the project's FastAGI IVR, the simulator pointed at it, a recorder.

A trace recorded with the IVR (17 onwards) is replayed by starting the IVR, then the simulator
with the lab's configuration and its AGI() pointed at that IVR, then a recorder holding the
trace's actions (sent verbatim by ActionID) connected to the simulator's AMI port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ctiserver.store import Store
from ivr import IvrServer
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import Recorder
from tests.conformance.trace import Headers, messages, parse_trace

# The first five actions of every lab recording: the login and the agent's set-up (in the
# IVR traces: QueueRemove x3, refused as nobody is in the queues yet, then QueueAdd 1001)
SIGN_IN = ("a1", "a2", "a3", "a4", "a5")


@contextlib.asynccontextmanager
async def ivr_lab(
    conf_dir: Path,
    speed: float,
    trace: Path | None = None,
    ivr: IvrServer | None = None,
    **sim_options: Any,
) -> AsyncIterator[tuple[PbxSim, Recorder]]:
    """The IVR (database-less unless given), the simulator on ``conf_dir``, and a connected recorder."""
    ivr = ivr or IvrServer(store=None, host="127.0.0.1", port=0)
    await ivr.start()
    try:
        sim = PbxSim(
            SimConfig(
                conf_dir=str(conf_dir),
                time_scale=speed,
                agi_host="127.0.0.1",
                agi_port=ivr.port,
                **sim_options,
            )
        )
        await sim.start()
        try:
            rec = Recorder(trace)
            await rec.connect(sim.ami_port)
            yield sim, rec
        finally:
            await sim.stop()
    finally:
        await ivr.stop()


@contextlib.asynccontextmanager
async def demo_store(db_dsn: str) -> AsyncIterator[Store]:
    """The lab's customer database: the demo seed in a migrated store, closed afterwards."""
    store = await Store.open(db_dsn, journal_path=None, pool_size=2)
    try:
        await store.migrate()
        await store.seed_demo()
        yield store
    finally:
        await store.close()


def recorded_stream(trace: Path) -> list[Headers]:
    """What Asterisk sent in ``trace``."""
    return [h for _, h in messages(parse_trace(trace), "<<")]
