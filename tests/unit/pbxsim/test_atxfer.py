"""Atxfer on the simulator beyond trace 08 B: the consult fails, the customer or the
transferer leaves at the wrong moment, and what is refused."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest

from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import Recorder
from tests.support.traces import RECORDED_CONF

CONF = str(RECORDED_CONF)
WAIT = 10.0


@pytest.fixture
async def sim() -> AsyncIterator[PbxSim]:
    s = PbxSim(SimConfig(conf_dir=CONF, time_scale=50.0))
    s.seen = []  # type: ignore[attr-defined]
    s.listeners.append(lambda ev, fields: s.seen.append((ev, dict(fields))))  # type: ignore[attr-defined]
    s.queues.add_member("support", "PJSIP/1001", "Agent Alice", "PJSIP/1001", 0, False, "")
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def events(sim: PbxSim, *names: str) -> list[tuple[str, dict]]:
    return [(ev, f) for ev, f in sim.seen if ev in names]  # type: ignore[attr-defined]


async def answered_call(sim: PbxSim, caller_hangs_up_after: float | None = None):
    call = await sim.place_call(CallerScript(keys="1", keys_at=0.5, hangup_after_answer=caller_hangs_up_after))
    await asyncio.wait_for(call.answered.wait(), WAIT)
    (agent,) = sim.truth()["interfaces"]["PJSIP/1001"]["channels"]
    return call, agent


async def until(sim: PbxSim, predicate, what: str) -> None:
    """Wait for an emitted event matching ``predicate`` (checked on every event)."""
    hit = asyncio.Event()

    def check(ev: str, fields) -> None:
        fields = dict(fields)
        # listeners run before the event is fully processed (a Hangup's channel is forgotten just after)
        asyncio.get_running_loop().call_soon(lambda: hit.set() if predicate(ev, fields) else None)

    if any(predicate(ev, f) for ev, f in sim.seen):  # type: ignore[attr-defined]
        return
    sim.listeners.append(check)
    try:
        await asyncio.wait_for(hit.wait(), WAIT)
    except asyncio.TimeoutError:
        raise AssertionError(f"never saw {what}") from None
    finally:
        sim.listeners.remove(check)


async def test_unanswered_consult_brings_the_agent_back_to_the_customer(sim: PbxSim) -> None:
    sim.set_phone("1001", Phone(answer_after=0.5))
    sim.set_phone("1002", Phone(ring_forever=True))
    call, agent = await answered_call(sim)
    sim.atxfer.start(agent, "agents", "1002")
    # agents,1002 is Dial(PJSIP/1002,20): 20 s without an answer, then the consult leg goes
    await until(sim, lambda ev, f: ev == "Unhold" and f["Channel"] == agent, "Unhold of the agent")
    customer = sim.find_channel(call.channel_name)
    assert customer is not None and customer.bridge is not None
    assert {c.name for c in customer.bridge.channels} == {agent, call.channel_name}
    assert [f["Channel"] for ev, f in events(sim, "MusicOnHoldStop")][-1] == call.channel_name
    assert not [c for c in sim.channels if c.startswith("Local/")]
    assert sim.truth()["interfaces"]["PJSIP/1001"]["in_queue_call"]
    await call.hangup()  # the call then ends as any queue call
    await asyncio.wait_for(call.ended(), WAIT)
    assert [f["Reason"] for ev, f in events(sim, "AgentComplete")] == ["caller"]
    assert not events(sim, "AttendedTransfer")
    await until(sim, lambda ev, f: not sim.channels, "every channel gone")


async def test_customer_hanging_up_mid_consult_ends_their_call_and_the_consult_goes_on(sim: PbxSim) -> None:
    sim.set_phone("1001", Phone(answer_after=0.5))
    sim.set_phone("1002", Phone(answer_after=0.5, hangup_after_answer=3.0))
    call, agent = await answered_call(sim)
    sim.atxfer.start(agent, "agents", "1002")
    await until(sim, lambda ev, f: ev == "DialEnd" and f.get("DestChannel", "").startswith("Local/")
                and f["DialStatus"] == "ANSWER", "the consult answered")
    await call.hangup()
    await asyncio.wait_for(call.ended(), WAIT)
    assert [f["Reason"] for ev, f in events(sim, "AgentComplete")] == ["caller"]
    # the colleague and the agent talk on, directly once the Local pair optimised away
    await until(sim, lambda ev, f: ev == "LocalOptimizationEnd", "the Local pair optimised away")
    agent_ch = sim.find_channel(agent)
    assert agent_ch is not None and agent_ch.bridge is not None
    assert sorted(c.endpoint for c in agent_ch.bridge.channels) == ["1001", "1002"]
    # 1002 hangs up: the agent's leg goes too, nothing is left over
    await until(sim, lambda ev, f: not sim.channels and not sim.bridges, "everything torn down")
    assert sim.truth()["interfaces"]["PJSIP/1001"]["device"] == "NOT_INUSE"


async def test_transferer_hanging_up_while_the_target_rings_hands_the_customer_over(sim: PbxSim) -> None:
    sim.set_phone("1001", Phone(answer_after=0.5))
    sim.set_phone("1002", Phone(answer_after=4.0, hangup_after_answer=2.0))
    call, agent = await answered_call(sim)
    sim.atxfer.start(agent, "agents", "1002")
    await until(sim, lambda ev, f: ev == "DialBegin" and f.get("DestChannel", "").startswith("PJSIP/1002"),
                "the target ringing")
    sim.find_channel(agent).request_hangup(16)  # the agent's phone hangs up (BYE)
    await until(sim, lambda ev, f: ev == "AttendedTransfer", "the transfer")
    assert [f["Reason"] for ev, f in events(sim, "AgentComplete")] == ["transfer"]
    assert call.answered.is_set() and not sim.find_channel(call.channel_name).gone
    await asyncio.wait_for(call.ended(), WAIT)  # 1002 answers, talks 2 s, hangs up: the customer too
    hangups = [f["Channel"].split("-")[0] for ev, f in events(sim, "Hangup")]
    assert hangups[0] == "PJSIP/1001" and hangups[-1] == "PJSIP/caller" and "PJSIP/1002" in hangups
    bridged = [f["Channel"].split("-")[0] for ev, f in events(sim, "BridgeEnter")]
    assert bridged[-1] == "PJSIP/1002"  # the Local pair optimised away into the customer's bridge
    await until(sim, lambda ev, f: not sim.channels and not sim.bridges, "everything torn down")


async def test_atxfer_refusals_over_ami(sim: PbxSim, tmp_path: Path) -> None:
    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send([("Action", "Login"), ("ActionID", "l"), ("Username", "cti"), ("Secret", "cti-secret")])
    await rec.reply("l")

    async def atxfer(aid: str, **fields: str) -> str | None:
        rec.send([("Action", "Atxfer"), ("ActionID", aid)] + list(fields.items()))
        reply = await rec.reply(aid)
        return reply.get("Message")

    assert await atxfer("a", Exten="1002") == "No channel specified"
    assert await atxfer("b", Channel="PJSIP/1001-000000ff", Exten="1002") == "Channel specified does not exist"
    assert await atxfer("c", Channel="PJSIP/1001-000000ff") == "No extension specified"
    sim.set_phone("1001", Phone(answer_after=0.5))
    call, agent = await answered_call(sim)
    # an extension that does not exist is not refused here: Asterisk only queues the digits (manager.c)
    assert await atxfer("d", Channel=agent, Context="agents", Exten="5555") == "Atxfer successfully queued"
    assert await atxfer("e", Channel=call.channel_name + "x", Exten="1002") == "Channel specified does not exist"
    await call.hangup()
    await rec.close()

    # without [featuremap] atxfer in features.conf Asterisk refuses every Atxfer
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf, ignore=shutil.ignore_patterns("features.conf"))
    bare = PbxSim(SimConfig(conf_dir=str(conf), time_scale=50.0))
    await bare.start()
    try:
        rec2 = Recorder()
        await rec2.connect(bare.ami_port)
        rec2.send([("Action", "Login"), ("ActionID", "l"), ("Username", "cti"), ("Secret", "cti-secret")])
        await rec2.reply("l")
        rec2.send([("Action", "Atxfer"), ("ActionID", "f"), ("Channel", "PJSIP/1001-00000000"), ("Exten", "1002")])
        assert (await rec2.reply("f")).get("Message") == "No attended transfer feature code found"
        await rec2.close()
    finally:
        await bare.stop()


async def test_after_a_consult_transfer_the_new_agent_can_hold_and_retrieve_by_redirect(sim: PbxSim) -> None:
    sim.set_phone("1001", Phone(answer_after=0.5, hangup_after_answer=2.0))
    sim.set_phone("1002", Phone(answer_after=0.5))
    call, agent = await answered_call(sim)
    sim.atxfer.start(agent, "agents", "1002")
    await until(sim, lambda ev, f: ev == "LocalOptimizationEnd", "the customer with 1002")
    (colleague,) = sim.by_endpoint["1002"]
    # hold as the CTI server does it (trace 07 A): customer to music, the agent's leg to a wait context
    sim.moves.redirect(call.channel_name, "hold", "s", 1, extra=(colleague, "agent-wait", "s", 1))
    await until(sim, lambda ev, f: ev == "MusicOnHoldStart" and f["Channel"] == call.channel_name
                and f.get("Context") == "hold", "the customer on hold music")
    assert not sim.find_channel(colleague).gone and not sim.find_channel(call.channel_name).gone
    before = len(events(sim, "BridgeEnter"))
    sim.moves.bridge(call.channel_name, colleague)  # retrieve
    await until(sim, lambda ev, f: len(events(sim, "BridgeEnter")) == before + 2, "the two bridged again")
    assert sim.find_channel(colleague).bridge is sim.find_channel(call.channel_name).bridge is not None
    await call.hangup()
    await asyncio.wait_for(call.ended(), WAIT)
    await until(sim, lambda ev, f: not sim.channels and not sim.bridges, "everything torn down")


async def test_consult_from_a_dial_out_call_outside_party_hangs_up_mid_consult(sim: PbxSim) -> None:
    sim.set_phone("1001", Phone(answer_after=0.2))
    sim.set_phone("outside", Phone(answer_after=0.3))
    sim.set_phone("1002", Phone(answer_after=0.3, hangup_after_answer=2.0))
    agent = await asyncio.wait_for(sim.originate("1001", "agents", "0215551234"), WAIT)  # click-to-dial (11)
    assert agent is not None
    await until(sim, lambda ev, f: ev == "BridgeEnter" and f["BridgeNumChannels"] == "2", "the outside party answered")
    (outside,) = sim.by_endpoint["outside"].values()
    sim.atxfer.start(agent.name, "agents", "1002")
    await until(sim, lambda ev, f: ev == "DialEnd" and f.get("DestChannel", "").startswith("Local/")
                and f["DialStatus"] == "ANSWER", "the consult answered")
    outside.request_hangup(16)  # the outside party hangs up while the agent consults
    await until(sim, lambda ev, f: ev == "LocalOptimizationEnd", "agent and colleague direct")
    assert not agent.gone and sorted(c.endpoint for c in agent.bridge.channels) == ["1001", "1002"]
    assert not events(sim, "AgentComplete")  # not a queue call
    await until(sim, lambda ev, f: not sim.channels and not sim.bridges, "everything torn down after 1002's BYE")


async def test_the_colleague_who_got_the_call_can_consult_again(sim: PbxSim) -> None:
    sim.set_phone("1001", Phone(answer_after=0.3))
    sim.set_phone("1002", Phone(answer_after=0.3))
    sim.set_phone("1003", Phone(answer_after=0.3, hangup_after_answer=2.0))
    call, agent = await answered_call(sim)
    sim.atxfer.start(agent, "agents", "1002")
    await until(sim, lambda ev, f: ev == "DialEnd" and f.get("DestChannel", "").startswith("Local/")
                and f["DialStatus"] == "ANSWER", "the first consult answered")
    sim.find_channel(agent).request_hangup(16)  # 1001 completes the transfer
    await until(sim, lambda ev, f: ev == "LocalOptimizationEnd", "the customer with 1002")
    (colleague,) = sim.by_endpoint["1002"]
    sim.atxfer.start(colleague, "agents", "1003")
    await until(sim, lambda ev, f: len(events(sim, "LocalOptimizationEnd")) == 1 and
                ev == "DialEnd" and f.get("DestChannel", "").startswith("Local/1003") and f["DialStatus"] == "ANSWER",
                "the second consult answered")
    sim.find_channel(colleague).request_hangup(16)  # 1002 completes the second transfer
    await until(sim, lambda ev, f: len(events(sim, "AttendedTransfer")) == 2 and
                len(events(sim, "LocalOptimizationEnd")) == 2, "the customer with 1003")
    assert sorted(c.endpoint for c in sim.find_channel(call.channel_name).bridge.channels) == ["1003", "caller"]
    await asyncio.wait_for(call.ended(), WAIT)  # 1003 hangs up after 2 s: the customer's call ends
    assert [f["Reason"] for ev, f in events(sim, "AgentComplete")] == ["transfer"]
    await until(sim, lambda ev, f: not sim.channels and not sim.bridges, "everything torn down")


async def test_external_consult_with_the_product_dialplan_hands_the_customer_to_the_outside_expert() -> None:
    """外部求助: Atxfer into asterisk_conf's [cti-consult-out] (-> cti-outbound: Dial(PJSIP/<number>@outside)),
    the number ended by '#' as the CTI server sends it."""
    conf = str(Path(__file__).resolve().parents[3] / "asterisk_conf")
    sim = PbxSim(SimConfig(conf_dir=conf, time_scale=50.0))
    sim.seen = []  # type: ignore[attr-defined]
    sim.listeners.append(lambda ev, fields: sim.seen.append((ev, dict(fields))))  # type: ignore[attr-defined]
    try:
        sim.set_phone("1001", Phone(answer_after=0.2))
        sim.set_phone("outside", Phone(answer_after=0.3))
        agent = await asyncio.wait_for(sim.originate("1001", "cti-outbound", "13800138000"), WAIT)  # a dial-out call
        await until(sim, lambda ev, f: ev == "BridgeEnter" and f["BridgeNumChannels"] == "2", "the first outside party")
        sim.atxfer.start(agent.name, "cti-consult-out", "02155550000#")
        await until(sim, lambda ev, f: ev == "DialEnd" and f.get("DestChannel", "").startswith("Local/02155550000@cti-consult-out-")
                    and f["DialStatus"] == "ANSWER", "the expert answered")
        agent.request_hangup(16)
        await until(sim, lambda ev, f: ev == "AttendedTransfer", "the transfer")
        await until(sim, lambda ev, f: ev == "LocalOptimizationEnd", "customer and expert direct")
        first, expert = sorted(sim.by_endpoint["outside"].values(), key=lambda c: c.created)
        assert first.bridge is expert.bridge is not None
        expert.request_hangup(16)  # the expert hangs up: the customer's leg goes too
        await until(sim, lambda ev, f: not sim.channels and not sim.bridges, "everything torn down")
        ends = [f["Channel"].split("-")[0] for ev, f in sim.seen if ev == "Hangup"]  # type: ignore[attr-defined]
        assert ends.count("PJSIP/outside") == 2 and ends[0] == "PJSIP/1001"
    finally:
        await sim.stop()


async def test_atxfer_collects_digits_as_asterisk_does_and_a_number_that_is_no_extension_comes_back() -> None:
    """ast_app_dtget: digits are taken while a longer extension could match. A `!` pattern stops it
    after the digit that interrupted the prompt and one more (Asterisk 22.10.1 dialled 55 for
    5550100 into `_[0-9+*#]!`); an extension that does not exist gives the agent back the call."""
    conf = str(Path(__file__).resolve().parents[3] / "asterisk_conf")
    sim = PbxSim(SimConfig(conf_dir=conf, time_scale=50.0))
    sim.seen = []  # type: ignore[attr-defined]
    sim.listeners.append(lambda ev, fields: sim.seen.append((ev, dict(fields))))  # type: ignore[attr-defined]
    try:
        sim.set_phone("1001", Phone(answer_after=0.2))
        sim.set_phone("outside", Phone(answer_after=0.3))
        agent = await asyncio.wait_for(sim.originate("1001", "cti-outbound", "13800138000"), WAIT)
        await until(sim, lambda ev, f: ev == "BridgeEnter" and f["BridgeNumChannels"] == "2", "the first outside party")
        sim.atxfer.start(agent.name, "cti-outbound", "5550100")
        await until(sim, lambda ev, f: ev == "Newchannel" and f["Channel"].startswith("Local/"), "the consult leg")
        local = next(f["Channel"] for ev, f in sim.seen if ev == "Newchannel" and f["Channel"].startswith("Local/"))
        assert local.startswith("Local/55@cti-outbound-")  # not 5550100
        for ch in list(sim.channels.values()):
            ch.request_hangup(16)
        await until(sim, lambda ev, f: not sim.channels, "everything torn down")

        sim.seen.clear()  # type: ignore[attr-defined]
        agent = await asyncio.wait_for(sim.originate("1001", "cti-outbound", "13800138000"), WAIT)
        await until(sim, lambda ev, f: ev == "BridgeEnter" and f["BridgeNumChannels"] == "2", "the outside party")
        sim.atxfer.start(agent.name, "agents", "5555")  # no such extension: asked again, then given up
        await until(sim, lambda ev, f: ev == "Unhold" and f["Channel"] == agent.name, "the agent back on the call")
        assert not [f for ev, f in sim.seen if ev == "Newchannel" and f["Channel"].startswith("Local/")]
        assert [ev for ev, f in sim.seen if f.get("Channel") == agent.name and ev in ("Hold", "Unhold")] == [
            "Hold", "Unhold"]
        assert agent.bridge is not None and len(agent.bridge.channels) == 2  # still talking with the customer
        agent.request_hangup(16)
        await until(sim, lambda ev, f: not sim.channels, "everything torn down")
    finally:
        await sim.stop()
