"""Who app_queue rings: wrap-up time, member penalty, ringinuse=no (no recording covers these).

Every wait is for an event (bounded by WAIT real seconds); times asserted are simulated
seconds read from the simulator's clock when each event was emitted.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.support.traces import RECORDED_CONF

CONF = RECORDED_CONF
REPO = Path(__file__).resolve().parents[3]
WAIT = 10.0
SPEED = 50.0


class Log:
    """Every event the simulator emits, with the simulated time it was emitted at."""

    def __init__(self, sim: PbxSim):
        self.sim = sim
        self.events: list[tuple[float, str, dict[str, str]]] = []
        self._changed = asyncio.Event()
        sim.listeners.append(self._on)

    def _on(self, event: str, fields) -> None:
        self.events.append((self.sim.clock.now(), event, dict(fields)))
        self._changed.set()
        self._changed = asyncio.Event()

    def all(self, event: str, pred: Callable[[dict], bool] = lambda f: True) -> list[tuple[float, dict]]:
        return [(t, f) for t, e, f in self.events if e == event and pred(f)]

    async def wait(self, event: str, count: int = 1, pred: Callable[[dict], bool] = lambda f: True) -> float:
        """Simulated time of the ``count``-th ``event`` matching ``pred``."""
        async def _wait() -> float:
            while True:
                hits = self.all(event, pred)
                if len(hits) >= count:
                    return hits[count - 1][0]
                await self._changed.wait()
        return await asyncio.wait_for(_wait(), WAIT)


def conf_with(tmp_path: Path, **settings: str) -> Path:
    """A copy of the recorded config with queue 'support' settings replaced."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf, copy_function=shutil.copyfile)  # writable copies: the traces are read-only
    lines = []
    for line in (conf / "queues.conf").read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        if key in settings:
            line = f"{key} = {settings[key]}"
        lines.append(line)
    (conf / "queues.conf").write_text("\n".join(lines) + "\n")
    return conf


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., PbxSim]]:
    sims: list[PbxSim] = []

    def make(conf: Path = CONF) -> PbxSim:
        sim = PbxSim(SimConfig(conf_dir=str(conf), time_scale=SPEED))
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        await sim.stop()


def rung(log: Log) -> list[str]:
    return [f["Interface"] for _, f in log.all("AgentCalled")]


async def test_a_member_is_not_rung_again_until_its_wrapuptime_has_passed(make_sim, tmp_path: Path) -> None:
    sim = make_sim(conf_with(tmp_path, wrapuptime="5"))
    log = Log(sim)
    sim.set_phone("1001", Phone(answer_after=0.5, hangup_after_answer=1.0))
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice")
    first = await sim.place_call(CallerScript(keys="1"))
    await asyncio.wait_for(first.ended(), WAIT)
    ended = (await log.wait("AgentComplete"))
    truth = sim.truth()["interfaces"]["PJSIP/1001"]
    assert truth["wrapup_until"] == pytest.approx(ended + 5, abs=0.5)
    assert truth["device"] == "NOT_INUSE" and not truth["paused"]  # free, yet not rung
    second = await sim.place_call(CallerScript(keys="1", hangup_after_answer=1.0))
    called = await log.wait("AgentCalled", count=2)
    assert called >= ended + 5 - 0.2  # not before the wrap-up time is over
    assert called <= ended + 5 + 1.5  # and rung as soon as it is (no polling delay)
    await asyncio.wait_for(second.ended(), WAIT)
    assert second.answered_by == "PJSIP/1001"


async def test_without_wrapuptime_the_member_is_rung_at_once(make_sim) -> None:
    sim = make_sim()  # the recorded queues.conf: wrapuptime = 0
    log = Log(sim)
    sim.set_phone("1001", Phone(answer_after=0.5, hangup_after_answer=1.0))
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice")
    first = await sim.place_call(CallerScript(keys="1"))
    await asyncio.wait_for(first.ended(), WAIT)
    ended = await log.wait("AgentComplete")
    assert sim.truth()["interfaces"]["PJSIP/1001"]["wrapup_until"] is None
    second = await sim.place_call(CallerScript(keys="1", keys_at=0.5, hangup_after_answer=1.0))
    # Rung as the second caller joins, not when some wrap-up would end: measured from the join,
    # since a busy machine may start the second call late in simulated time.
    joined = await log.wait("QueueCallerJoin", count=2)
    assert joined >= ended and await log.wait("AgentCalled", count=2) - joined < 1.0
    await asyncio.wait_for(second.ended(), WAIT)


async def test_the_lowest_penalty_is_rung_first_and_a_higher_one_only_when_it_is_busy(make_sim) -> None:
    sim = make_sim()
    log = Log(sim)
    # without penalties rrmemory would ring 1001 first (trace 03)
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice", penalty=1)
    sim.queues.add_member("support", "PJSIP/1002", "Agent Bob", penalty=0)
    sim.set_phone("1002", Phone(answer_after=0.5))  # talks until the caller hangs up
    sim.set_phone("1001", Phone(answer_after=0.5))
    first = await sim.place_call(CallerScript(keys="1"))
    await log.wait("AgentConnect")
    assert rung(log) == ["PJSIP/1002"] and first.answered_by == "PJSIP/1002"
    second = await sim.place_call(CallerScript(keys="1", hangup_after_answer=1.0))
    await asyncio.wait_for(second.ended(), WAIT)
    assert rung(log) == ["PJSIP/1002", "PJSIP/1001"] and second.answered_by == "PJSIP/1001"
    await first.hangup()
    await asyncio.wait_for(first.ended(), WAIT)


async def test_a_ring_no_answer_at_the_lowest_penalty_retries_that_tier(make_sim) -> None:
    sim = make_sim()
    log = Log(sim)
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice", penalty=5)
    sim.queues.add_member("support", "PJSIP/1002", "Agent Bob", penalty=2)
    sim.set_phone("1002", Phone(ring_forever=True))
    call = await sim.place_call(CallerScript(keys="1", hangup_at=40.0))
    await log.wait("AgentCalled", count=2)
    assert rung(log) == ["PJSIP/1002", "PJSIP/1002"]  # 1001 (penalty 5) waits while 1002 is free
    await call.hangup()
    await asyncio.wait_for(call.ended(), WAIT)


async def test_ringinuse_no_keeps_a_member_on_an_outside_call_from_being_rung(make_sim) -> None:
    sim = make_sim()  # recorded: ringinuse = no
    log = Log(sim)
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice")
    sim.set_phone("1001", Phone(answer_after=0.5))
    sim.set_phone("outside", Phone(answer_after=0.5, hangup_after_answer=6.0))
    await sim.originate("1001", "agents", "0215551234", cid_num="0215551234", cid_name="Click2Dial")
    await log.wait("BridgeEnter", count=2)
    assert sim.truth()["interfaces"]["PJSIP/1001"]["in_call"]
    assert not sim.truth()["interfaces"]["PJSIP/1001"]["in_queue_call"]
    call = await sim.place_call(CallerScript(keys="1", keys_at=0.5, hangup_after_answer=1.0))
    await log.wait("QueueCallerJoin")
    outside_end = await log.wait("Hangup", pred=lambda f: f["Channel"].startswith("PJSIP/outside-"))
    called = await log.wait("AgentCalled")
    assert called >= outside_end  # rung only once the outside call is over
    await asyncio.wait_for(call.ended(), WAIT)
    assert call.answered_by == "PJSIP/1001"


async def test_ringinuse_yes_rings_a_member_who_is_on_another_call(make_sim, tmp_path: Path) -> None:
    sim = make_sim(conf_with(tmp_path, ringinuse="yes"))
    log = Log(sim)
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice")
    assert [f["Ringinuse"] for _, f in log.all("QueueMemberAdded")] == ["1"]
    sim.set_phone("1001", Phone(answer_after=0.5))
    sim.set_phone("outside", Phone(answer_after=0.5, hangup_after_answer=30.0))
    await sim.originate("1001", "agents", "0215551234")
    await log.wait("BridgeEnter", count=2)
    call = await sim.place_call(CallerScript(keys="1", keys_at=0.5, hangup_at=4.0))
    await log.wait("AgentCalled")
    outside = [t for t, f in log.all("Hangup") if f["Channel"].startswith("PJSIP/outside-")]
    assert not outside  # rung while the outside call is still up
    await asyncio.wait_for(call.ended(), WAIT)
