"""ConfBridge on the simulator with the product's dialplan (asterisk_conf [cti-conference]):
members join, are listed, one is removed, one left alone hears music, the rest are kicked."""

from __future__ import annotations

from pathlib import Path

from pbxsim.scripts import Phone
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import Recorder
from tests.support.wholestream import whole_stream

# the whole stream (MusicOnHold*, Confbridge*...), not the CTI user's filtered one
CONF = str(whole_stream(Path(__file__).resolve().parents[3] / "asterisk_conf"))
WAIT = 10.0


async def login(sim: PbxSim) -> Recorder:
    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send([("Action", "Login"), ("ActionID", "login"), ("Username", "cti"), ("Secret", "cti-secret")])
    await rec.reply("login")
    return rec


async def act(rec: Recorder, aid: str, action: str, **fields: str):
    rec.send([("Action", action), ("ActionID", aid)] + list(fields.items()))
    return await rec.reply(aid)


def items(rec: Recorder, aid: str, event: str) -> list:
    return [h for h in rec.received if h.get("ActionID") == aid and h.get("Event") == event]


async def test_conference_join_list_kick_one_alone_music_and_kick_all() -> None:
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=50.0))
    await sim.start()
    rec = await login(sim)
    try:
        assert (await act(rec, "r0", "ConfbridgeListRooms")).get("Message") == "No active conferences."
        for n in ("1001", "1002", "1003"):
            sim.set_phone(n, Phone(answer_after=0.2))
            rec.send([("Action", "Originate"), ("ActionID", f"o{n}"), ("Channel", f"PJSIP/{n}"),
                      ("Context", "cti-conference"), ("Exten", "c42"), ("Priority", "1"), ("Async", "true")])
            await rec.reply(f"o{n}")
            await rec.event("ConfbridgeJoin", count=int(n) - 1000)
        assert [h.get("BridgeNumChannels") for h in rec.received if h.get("Event") == "ConfbridgeJoin"] == \
            ["2", "3", "4"]  # the hidden announcer is counted (trace 10)
        first = rec.received[[h.get("Event") for h in rec.received].index("ConfbridgeStart")]
        assert (first.get("Conference"), first.get("BridgeType"), first.get("BridgeTechnology")) == \
            ("c42", "base", "softmix")
        # the first member was alone: music until the second came
        moh = [(h.get("Event"), h.get("Channel", "").split("-")[0]) for h in rec.received
               if h.get("Event", "").startswith("MusicOnHold")]
        assert moh == [("MusicOnHoldStart", "PJSIP/1001"), ("MusicOnHoldStop", "PJSIP/1001")]

        assert [n.split("-")[0] for n in sim.truth()["conferences"]["c42"]] == ["PJSIP/1001", "PJSIP/1002", "PJSIP/1003"]
        await act(rec, "l1", "ConfbridgeList", Conference="c42")
        listed = [h.get("Channel").split("-")[0] for h in items(rec, "l1", "ConfbridgeList")]
        assert listed == ["PJSIP/1001", "PJSIP/1002", "PJSIP/1003"]
        await act(rec, "r1", "ConfbridgeListRooms")
        assert [h.get("Parties") for h in items(rec, "r1", "ConfbridgeListRooms")] == ["3"]
        assert (await act(rec, "l2", "ConfbridgeList", Conference="nope")).get("Message") == \
            "No Conference by that name found."

        # remove one participant: it leaves and its dialplan goes on (Hangup())
        (third,) = sim.by_endpoint["1003"]
        assert (await act(rec, "k1", "ConfbridgeKick", Conference="c42", Channel=third)).get("Message") == "User kicked"
        await rec.event("Hangup", Channel=third)
        assert (await act(rec, "k2", "ConfbridgeKick", Conference="c42", Channel=third)).get("Message") == \
            "No Channel by that name found in Conference."
        assert (await act(rec, "m1", "ConfbridgeMute", Conference="c42", Channel="all")).get("Response") == "Success"
        assert [h.get("Channel").split("-")[0] for h in rec.received if h.get("Event") == "ConfbridgeMute"] == \
            ["PJSIP/1001", "PJSIP/1002"]

        # 1002 hangs up: 1001 is left alone and hears music (music_on_hold_when_empty)
        (second,) = sim.by_endpoint["1002"].values()
        second.request_hangup(16)
        await rec.event("Hangup", Channel=second.name)
        await rec.event("MusicOnHoldStart", count=2)

        assert (await act(rec, "k3", "ConfbridgeKick", Conference="c42", Channel="all")).get("Message") == \
            "All participants kicked"
        await rec.event("ConfbridgeEnd")
        await rec.event("BridgeDestroy")
        await rec.event("Hangup", count=3)
        leaves = [h.get("Channel").split("-")[0] for h in rec.received if h.get("Event") == "ConfbridgeLeave"]
        assert leaves == ["PJSIP/1003", "PJSIP/1002", "PJSIP/1001"]
        assert not sim.bridges and sim.truth()["conferences"] == {}
        assert (await act(rec, "l3", "ConfbridgeList", Conference="c42")).get("Message") == "No active conferences."
        assert (await act(rec, "k4", "ConfbridgeKick", Conference="c42", Channel="all")).get("Message") == \
            "No active conferences."
    finally:
        await rec.close()
        await sim.stop()


async def test_the_product_ami_user_may_not_start_mixmonitor_but_may_stop_it_and_kick() -> None:
    """asterisk_conf/manager.conf grants cti write = agent,reporting,call,originate: AMI
    MixMonitor (class system in app_mixmonitor.c) is refused as real Asterisk refuses it."""
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=50.0))
    await sim.start()
    rec = await login(sim)
    try:
        reply = await act(rec, "m", "MixMonitor", Channel="PJSIP/1001-00000000", File="x.wav")
        assert (reply.get("Response"), reply.get("Message")) == ("Error", "Permission denied")
        assert (await act(rec, "s", "StopMixMonitor", Channel="PJSIP/1001-00000000")).get("Message") == "No such channel"
        assert (await act(rec, "k", "ConfbridgeKick", Conference="c1", Channel="all")).get("Message") == \
            "No active conferences."
    finally:
        await rec.close()
        await sim.stop()


async def test_outside_party_added_through_a_local_channel_joins_and_leaves_the_conference() -> None:
    """外部会议: Originate Local/<number>@cti-outbound into cti-conference,<room>."""
    sim = PbxSim(SimConfig(conf_dir=CONF, time_scale=50.0))
    await sim.start()
    rec = await login(sim)
    try:
        sim.set_phone("1001", Phone(answer_after=0.2))
        sim.set_phone("outside", Phone(answer_after=0.3, hangup_after_answer=2.0))
        rec.send([("Action", "Originate"), ("ActionID", "o1"), ("Channel", "PJSIP/1001"), ("Context", "cti-conference"),
                  ("Exten", "c7"), ("Priority", "1"), ("Async", "true")])
        await rec.event("ConfbridgeJoin")
        rec.send([("Action", "Originate"), ("ActionID", "o2"), ("Channel", "Local/13800138000@cti-outbound"),
                  ("Context", "cti-conference"), ("Exten", "c7"), ("Priority", "1"), ("Async", "true")])
        joined = await rec.event("ConfbridgeJoin", count=2)
        assert joined.get("Channel", "").startswith("Local/13800138000@cti-outbound-") and joined.get("Channel").endswith(";1")
        await act(rec, "list", "ConfbridgeList", Conference="c7")
        assert len(items(rec, "list", "ConfbridgeList")) == 2
        # the outside party hangs up after 2 s: the Local pair goes, its member leaves, 1001 hears music
        await rec.event("ConfbridgeLeave")
        await rec.event("MusicOnHoldStart", count=2)
        assert not [c for c in sim.channels if c.startswith(("Local/", "PJSIP/outside"))]
        assert [c.split("-")[0] for c in sim.truth()["conferences"]["c7"]] == ["PJSIP/1001"]
    finally:
        await rec.close()
        await sim.stop()
