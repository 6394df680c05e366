"""The simulator sends each AMI session what Asterisk 22 would send its manager.conf user.

Read classes and ``eventfilter`` lines as main/manager.c applies them (pbxsim/ami/filters.py);
the shipped asterisk_conf/manager.conf lets through every event the CTI server translates
and drops the rest; over TCP, a session logged in as ``cti`` gets the filtered stream while
the in-process listeners still see everything; the ``Filter`` action needs the system class.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from ctiserver.ami.events import _TRANSLATORS
from pbxsim.ami.filters import (
    FilterError,
    SessionFilter,
    for_user,
    load,
    parse_filter,
    read_classes,
)
from pbxsim.sim import PbxSim, SimConfig
from tests.conformance.recorder import Recorder
from tests.support.traces import trace_path, unsolicited

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "asterisk_conf" / "manager.conf"
WAIT = 10.0
# list items: answers to QueueStatus / CoreShowChannels, never filtered (checked on Asterisk 22.10.1)
LIST_ITEMS = {"QueueMember", "QueueEntry", "CoreShowChannel"}


def event(name: str, privilege: str = "call,all", **headers: str) -> str:
    lines = [f"Event: {name}", f"Privilege: {privilege}"] + [f"{k}: {v}" for k, v in headers.items()]
    return "".join(line + "\r\n" for line in lines) + "\r\n"


def sends(f: SessionFilter, name: str, privilege: str = "call,all", **headers: str) -> bool:
    return f.allows(name, privilege, event(name, privilege, **headers))


# --- parsing: what Asterisk accepts and refuses ---------------------------------------------

@pytest.mark.parametrize(("criteria", "text", "expected"), [
    ("eventfilter", "Event: Newchannel", (False, None, None, "regex", "Event: Newchannel")),
    ("eventfilter", "!Channel: DAHDI/", (True, None, None, "regex", "Channel: DAHDI/")),
    ("eventfilter(name(VarSet))", "", (False, "VarSet", None, "none", "")),
    ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[a]X",
     (True, "Newchannel", None, "regex", "X[a]X")),
    ("eventfilter(header(Channel),action(include),method(starts_with))", "Local/",
     (False, None, "Channel:", "starts_with", "Local/")),
    ("eventfilter(name(VarSet), header(Variable:), method(exact))", "QUEUESTATUS",
     (False, "VarSet", "Variable:", "exact", "QUEUESTATUS")),
    # '!' excludes unless action() says otherwise; it is dropped either way
    ("eventfilter(name(VarSet),header(Channel),method(exact))", "!ZZZ", (True, "VarSet", "Channel:", "exact", "ZZZ")),
    ("eventfilter(action(include),name(VarSet),header(X),method(exact))", "!XXX",
     (False, "VarSet", "X:", "exact", "XXX")),
])
def test_filters_asterisk_accepts(criteria: str, text: str, expected: tuple) -> None:
    f = parse_filter(criteria, text)
    assert (f.exclude, f.name, f.header, f.method, f.text) == expected


@pytest.mark.parametrize(("criteria", "text", "kind"), [
    ("eventfilter", "", "format"),                      # legacy without a pattern
    ("eventfilter", "!", "format"),
    ("eventfilter()", "XXX", "format"),                 # no option at all
    ("eventfilter(action(include)", "", "format"),      # unbalanced
    ("eventfilter(action(inlude))", "", "format"),
    ("eventfilter(nnnn(yyy))", "XXX", "format"),
    ("eventfilter(name(yyy),heder(VarSet),method(contains))", "XXX", "format"),
    ("eventfilter(method(yyy))", "XXX", "format"),
    ("eventfilter(name(VarSet),method(exact))", "", "format"),   # a method needs a pattern
    ("eventfilter(name(VarSet))", "XXX", "format"),              # 'none' takes no pattern
    ("eventfilter(action(exclude))", "", "format"),              # nothing to match on
    ("eventfilter", "XX[X", "compile"),
    ("eventfilter(method(regex))", "XX[X", "compile"),
])
def test_filters_asterisk_refuses(criteria: str, text: str, kind: str) -> None:
    with pytest.raises(FilterError) as err:
        parse_filter(criteria, text)
    assert err.value.kind == kind


# --- matching ---------------------------------------------------------------------------------

def test_include_only_exclude_only_and_both() -> None:
    f = SessionFilter()
    assert sends(f, "Anything")  # no filter: everything
    f.add(parse_filter("eventfilter(name(Newchannel))", ""))
    f.add(parse_filter("eventfilter(name(Hangup))", ""))
    assert sends(f, "Newchannel", Channel="PJSIP/1001-1") and sends(f, "Hangup")
    assert not sends(f, "Newstate") and not sends(f, "newchannel")  # names are exact and case-sensitive
    f.add(parse_filter("eventfilter(action(exclude),header(Channel),method(starts_with))", "Local/"))
    assert not sends(f, "Newchannel", Channel="Local/1001@x-0001;1")  # included, then excluded
    assert sends(f, "Hangup", Channel="PJSIP/1001-1")
    only_excludes = SessionFilter()
    only_excludes.add(parse_filter("eventfilter(action(exclude),name(CEL))", ""))
    assert not sends(only_excludes, "CEL") and sends(only_excludes, "Newstate")


def test_a_header_filter_tries_every_line_of_that_header_and_skips_empty_values() -> None:
    f = SessionFilter()
    f.add(parse_filter("eventfilter(name(VarSet),header(Variable),method(starts_with))", "CTI_"))
    assert sends(f, "VarSet", "dialplan,all", Variable="CTI_IVR_PATH", Value="main")
    assert not sends(f, "VarSet", "dialplan,all", Variable="BRIDGEPEER", Value="CTI_x")  # only that header
    assert not sends(f, "Newexten", "dialplan,all", Variable="CTI_X")  # and only that event
    two = "Event: UserEvent\r\nPrivilege: user,all\r\nVariable:\r\nVariable:   CTI_A\r\n\r\n"
    assert f.allows("VarSet", "user,all", two.replace("UserEvent", "VarSet"))
    # "Channel:" is not a prefix of "ChannelState:"
    g = SessionFilter()
    g.add(parse_filter("eventfilter(header(Channel),method(exact))", "6"))
    assert not sends(g, "Newstate", ChannelState="6", Channel="PJSIP/1001-1")
    for method, text, value, hit in [("exact", "ab", "ab", True), ("exact", "ab", "abc", False),
                                     ("ends_with", "bc", "abc", True), ("contains", "b", "abc", True),
                                     ("contains", ".", "abc", False), ("regex", "^a.c$", "abc", True)]:
        h = SessionFilter()
        h.add(parse_filter(f"eventfilter(header(X),method({method}))", text))
        assert sends(h, "E", X=value) is hit, (method, text, value)


def test_a_legacy_filter_searches_the_whole_event_across_lines() -> None:
    f = SessionFilter()
    f.add(parse_filter("eventfilter", "Event: Newchannel.*Channel: PJSIP/"))
    assert sends(f, "Newchannel", Channel="PJSIP/1001-1")
    assert not sends(f, "Newchannel", Channel="Local/x;1") and not sends(f, "Hangup", Channel="PJSIP/1")


def test_read_classes_come_before_filters() -> None:
    assert read_classes("all") >= {"call", "cdr", "security"} and read_classes(None) == frozenset()
    f = SessionFilter(read=read_classes("call,agent"))
    assert sends(f, "Newstate", "call,all") and sends(f, "AgentCalled", "agent,all")
    assert not sends(f, "Cdr", "cdr,all") and not sends(f, "VarSet", "dialplan,all")
    assert not sends(f, "Both", "call,cdr,all")  # every class of the event must be granted
    assert not sends(SessionFilter(read=frozenset()), "Newstate")


def test_a_user_is_read_from_manager_conf_and_bad_lines_are_ignored() -> None:
    text = """[general]
enabled = yes
[cti]
secret = s ; a comment
read = call , dtmf
eventfilter(name(Newchannel)) =
eventfilter(name(Bad),method(exact)) =
eventfilter = Regex\\;with a semicolon
[other]
read = all
"""
    cti = for_user(text, "cti")
    assert cti is not None and cti.read == {"call", "dtmf"}
    assert [f.name for f in cti.include] == ["Newchannel", None]
    assert cti.include[1].text == "Regex;with a semicolon"
    assert [r[0] for r in cti.refused] == ["eventfilter(name(Bad),method(exact))"]
    other = for_user(text, "other")
    assert other is not None and not other.filtering and "security" in other.read
    assert for_user(text, "nobody") is None and for_user(text, "general") is None


# --- the shipped configuration ------------------------------------------------------------------

def shipped() -> SessionFilter:
    f = load(SHIPPED, "cti")
    assert f is not None and not f.refused, f.refused if f else "no [cti] in asterisk_conf/manager.conf"
    return f


def test_the_shipped_filter_lets_through_every_event_the_server_translates() -> None:
    f = shipped()
    privilege = {"Newexten": "dialplan,all", "VarSet": "dialplan,all", "DTMFEnd": "dtmf,all", "UserEvent": "user,all"}
    agent = {"QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
             "AgentRingNoAnswer", "AgentComplete", "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause",
             "QueueMemberStatus"}
    for name in set(_TRANSLATORS) - LIST_ITEMS:
        headers = {"VarSet": {"Variable": "CTI_IVR_PATH"}, "DTMFEnd": {"Direction": "Received"}}.get(name, {})
        assert sends(f, name, "agent,all" if name in agent else privilege.get(name, "call,all"), **headers), name
    for variable in ("CTI_IVR_KEYS", "CTI_CUSTOMER_NO", "CTI_AUTHENTICATED", "QUEUESTATUS", "MIXMONITOR_FILENAME"):
        assert sends(f, "VarSet", "dialplan,all", Variable=variable, Value="x"), variable


def test_the_shipped_filter_drops_what_the_server_does_not_read() -> None:
    f = shipped()
    for name in ("CEL", "DeviceStateChange", "ExtensionStatus", "NewConnectedLine", "DialBegin", "DialState",
                 "BridgeCreate", "BridgeDestroy", "MusicOnHoldStart", "MusicOnHoldStop", "LocalBridge"):
        assert not sends(f, name), name
    for variable in ("BRIDGEPEER", "QUEUENAME", "RTPAUDIOQOS", "MEMBERINTERFACE", "ANSWEREDTIME"):
        assert not sends(f, "VarSet", "dialplan,all", Variable=variable), variable
    assert not sends(f, "DTMFEnd", "dtmf,all", Direction="Sent")
    assert not sends(f, "Cdr", "cdr,all") and not sends(f, "RTCPSent", "reporting,all")
    assert not sends(f, "SuccessfulAuth", "security,all")


def test_trace_02_filtered_keeps_every_event_the_server_translates() -> None:
    f = shipped()
    events = unsolicited(trace_path("02"))
    kept = [m for m in events if f.allows_fields(m.headers)]
    read = [m for m in events if m.event in _TRANSLATORS
            and not (m.event == "VarSet" and not (m.get("Variable") or "").startswith(("CTI_", "QUEUESTATUS",
                                                                                      "MIXMONITOR_FILENAME")))
            and not (m.event == "DTMFEnd" and m.get("Direction") != "Received")]
    assert [id(m) for m in kept] == [id(m) for m in read]
    assert len(kept) < len(events) / 3  # a queue call in fewer than a third of the events


# --- over TCP, on the simulator ----------------------------------------------------------------

async def _session(sim: PbxSim, user: str = "cti", secret: str = "cti-secret") -> Recorder:
    rec = Recorder()
    await rec.connect(sim.ami_port)
    rec.send([("Action", "Login"), ("ActionID", "login"), ("Username", user), ("Secret", secret)])
    assert (await rec.reply("login")).get("Response") == "Success"
    return rec


def _conf(tmp_path: Path, manager: str | None = None) -> str:
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "asterisk_conf", conf)
    if manager is not None:
        (conf / "manager.conf").write_text(manager, encoding="utf-8")
    return str(conf)


async def _one_call(sim: PbxSim, rec: Recorder) -> None:
    rec.send([("Action", "QueueAdd"), ("ActionID", "add"), ("Queue", "support"), ("Interface", "PJSIP/1001")])
    await rec.reply("add")
    rec.send([("Action", "SimSetPhone"), ("ActionID", "phone"), ("Endpoint", "1001"), ("AnswerAfter", "0.2"),
              ("HangupAfterAnswer", "0.3")])
    await rec.reply("phone")
    rec.send([("Action", "SimPlaceCall"), ("ActionID", "call"), ("Number", "13800138000")])
    customer = (await rec.reply("call")).get("Channel")
    await rec.wait_for(lambda h: h.get("Event") == "Hangup" and h.get("Channel") == customer, timeout=WAIT)


async def test_a_cti_session_gets_the_filtered_stream_and_listeners_everything(tmp_path: Path) -> None:
    sim = PbxSim(SimConfig(conf_dir=_conf(tmp_path), time_scale=50.0, agi_port=1))
    await sim.start()
    everything: list[str] = []
    sim.listeners.append(lambda name, fields: everything.append(name))
    rec = await _session(sim)
    try:
        await _one_call(sim, rec)
        await asyncio.sleep(0.2)
        names = [h.get("Event") for h in rec.received if h.get("Event") and not h.get("ActionID")]
        f = shipped()
        assert "AgentConnect" in names and "Hangup" in names and "VarSet" in names
        assert {"CEL", "DeviceStateChange", "NewConnectedLine", "MusicOnHoldStart", "DialBegin"} & set(everything)
        assert not {"DeviceStateChange", "NewConnectedLine", "MusicOnHoldStart", "DialBegin", "Cdr"} & set(names)
        assert all(f.allows_fields(list(h)) for h in rec.received
                   if h.get("Event") and not h.get("ActionID") and h.get("Event") != "FullyBooted")
        varsets = {h.get("Variable") for h in rec.received if h.get("Event") == "VarSet"}
        assert varsets and all(v.startswith("CTI_") or v in ("QUEUESTATUS", "MIXMONITOR_FILENAME") for v in varsets)
        assert len(names) < len(everything)
    finally:
        await rec.close()
        await sim.stop()


async def test_the_filter_action_needs_the_system_class_and_filters_that_session_only(tmp_path: Path) -> None:
    manager = (REPO / "asterisk_conf" / "manager.conf").read_text(encoding="utf-8")
    plain = "\n".join(ln for ln in manager.splitlines() if not ln.startswith("eventfilter"))
    sim = PbxSim(SimConfig(conf_dir=_conf(tmp_path, plain.replace("write = agent,", "write = system,agent,")),
                           time_scale=50.0, agi_port=1))
    await sim.start()
    filtered, whole = await _session(sim), await _session(sim)
    try:
        filtered.send([("Action", "Filter"), ("ActionID", "f1"), ("Operation", "Add"),
                       ("MatchCriteria", "name(Hangup)"), ("Filter", "")])
        assert (await filtered.reply("f1")).get("Message") == "Success"
        filtered.send([("Action", "Filter"), ("ActionID", "f2"), ("Operation", "Add"), ("Filter", "XX[X")])
        assert "did not compile" in ((await filtered.reply("f2")).get("Message") or "")
        await _one_call(sim, filtered)
        await whole.wait_for(lambda h: h.get("Event") == "Hangup", timeout=WAIT)
        await asyncio.sleep(0.2)
        got = {h.get("Event") for h in filtered.received if h.get("Event") and not h.get("ActionID")}
        assert got <= {"Hangup", "FullyBooted"} and "Hangup" in got
        assert "Newchannel" in {h.get("Event") for h in whole.received}
    finally:
        await filtered.close()
        await whole.close()
        await sim.stop()
    sim = PbxSim(SimConfig(conf_dir=_conf(tmp_path / "shipped"), time_scale=50.0, agi_port=1))
    await sim.start()
    rec = await _session(sim)
    try:
        rec.send([("Action", "Filter"), ("ActionID", "f"), ("Operation", "Add"), ("Filter", "!Event: Hangup")])
        assert (await rec.reply("f")).get("Message") == "Permission denied"  # cti has no system class
    finally:
        await rec.close()
        await sim.stop()
