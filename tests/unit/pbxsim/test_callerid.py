"""The dialplan and the FastAGI IVR change a caller's number: NewCallerid, and the new number after it.

asterisk_conf/ [from-trunk] strips a leading ``+86`` or ``0086`` with ``${CALLERID(num):3}``
and ``Set(CALLERID(num)=...)``; Asterisk reports the change with ``NewCallerid`` (only when
the number really changes) and every later event of the channel carries the new number.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from pbxsim import callerid
from pbxsim.expr import substitute
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim, SimConfig

CONF = Path(__file__).resolve().parents[3] / "asterisk_conf"
PJSIP = "[caller]\ntype = endpoint\ncontext = from-trunk\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(sim: PbxSim) -> list[tuple[str, dict[str, str]]]:
    seen: list[tuple[str, dict[str, str]]] = []
    sim.listeners.append(lambda ev, fields: seen.append((ev, dict(fields))))
    return seen


def caller_story(seen: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str, str]]:
    """(event, application or '', CallerIDNum) of the caller's channel up to its Answer."""
    out = []
    for ev, f in seen:
        if not f.get("Channel", "").startswith("PJSIP/caller-") or ev not in ("Newchannel", "Newexten", "NewCallerid"):
            continue
        out.append((ev, f.get("Application", ""), f["CallerIDNum"]))
        if f.get("Application") == "Answer":
            break
    return out


async def inbound(number: str) -> list[tuple[str, dict[str, str]]]:
    """A call to 96588 on asterisk_conf/ (the IVR unreachable: failsafe to the queue), answered by 1001."""
    sim = PbxSim(SimConfig(conf_dir=str(CONF), time_scale=50.0, agi_host="127.0.0.1", agi_port=free_port()))
    seen = record(sim)
    sim.queues.add_member("support", "PJSIP/1001", "Agent Alice")
    sim.set_phone("1001", Phone(answer_after=1.0))
    try:
        call = await sim.place_call(CallerScript(number=number, name="Li Na", hangup_after_answer=2.0))
        await asyncio.wait_for(call.ended(), 10)
        assert call.answered_by == "PJSIP/1001"
    finally:
        await sim.stop()
    return seen


async def test_a_plus_86_number_is_shortened_and_reported_once_after_the_set() -> None:
    seen = await inbound("+8613812345678")
    assert caller_story(seen) == [
        ("Newchannel", "", "+8613812345678"), ("Newexten", "NoOp", "+8613812345678"),
        ("Newexten", "GotoIf", "+8613812345678"), ("Newexten", "Set", "+8613812345678"),
        ("NewCallerid", "", "13812345678"), ("Newexten", "GotoIf", "13812345678"),
        ("Newexten", "Answer", "13812345678")]
    [changed] = [f for ev, f in seen if ev == "NewCallerid"]
    assert changed["Privilege"] == "call,all" and changed["Priority"] == "3"
    assert changed["CID-CallingPres"] == "0 (Presentation Allowed, Not Screened)"
    assert changed["CallerIDName"] == "Li Na"
    assert list(changed)[:17] == ["Event", "Privilege", "Channel", "ChannelState", "ChannelStateDesc",
                                  "CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
                                  "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid",
                                  "Linkedid", "CID-CallingPres"]
    # what follows carries the new number: the queue, the agent's ring, the agent leg's connected line
    for ev in ("QueueCallerJoin", "AgentCalled", "DialBegin", "AgentConnect", "Hangup"):
        f = next(f for e, f in seen if e == ev and f.get("Channel", "").startswith("PJSIP/caller-"))
        assert f["CallerIDNum"] == "13812345678", ev
    ringing = next(f for e, f in seen if e == "Newstate" and f["Channel"].startswith("PJSIP/1001-"))
    assert ringing["ConnectedLineNum"] == "13812345678"


async def test_a_0086_number_loses_its_four_digits() -> None:
    seen = await inbound("008613812345678")
    assert [f["CallerIDNum"] for ev, f in seen if ev == "NewCallerid"] == ["13812345678"]
    assert [a for ev, a, _ in caller_story(seen) if ev == "Newexten"] == ["NoOp", "GotoIf", "GotoIf", "Set", "Answer"]


async def test_a_national_number_stays_and_no_newcallerid_is_sent() -> None:
    seen = await inbound("13812345678")
    assert not [ev for ev, _ in seen if ev == "NewCallerid"]
    assert [a for ev, a, _ in caller_story(seen) if ev == "Newexten"] == ["NoOp", "GotoIf", "GotoIf", "Answer"]


async def dialplan_call(tmp_path: Path, steps: str, agi_port: int | None = None) -> list[tuple[str, dict[str, str]]]:
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    (tmp_path / "extensions.conf").write_text("[from-trunk]\nexten => 100,1,NoOp()\n" + steps + " same => n,Hangup()\n")
    sim = PbxSim(SimConfig(conf_dir=str(tmp_path), time_scale=50.0, agi_host="127.0.0.1", agi_port=agi_port))
    seen = record(sim)
    try:
        call = await sim.place_call(CallerScript(number="+8613812345678", name="Li Na", dial="100"))
        await asyncio.wait_for(call.ended(), 10)
    finally:
        await sim.stop()
    return seen


async def test_set_callerid_name_all_and_an_unchanged_value(tmp_path: Path) -> None:
    seen = await dialplan_call(tmp_path, (
        " same => n,Set(CALLERID(name)=Li Na)\n"                           # unchanged: no event
        " same => n,Set(CALLERID(number)=${CALLERID(num):-11})\n"           # 'number' is 'num'
        " same => n,Set(CALLERID(name)=Customer ${CALLERID(num):0:3})\n"
        ' same => n,Set(CALLERID(all)="Wang Fang" <+86 (139) 0000-1111>)\n'
        " same => n,UserEvent(Cid,Num: ${CALLERID(num)},All: ${CALLERID(all)})\n"))
    changes = [(f["CallerIDNum"], f["CallerIDName"]) for ev, f in seen if ev == "NewCallerid"]
    assert changes == [("13812345678", "Li Na"), ("13812345678", "Customer 138"), ("+8613900001111", "Wang Fang")]
    [user] = [f for ev, f in seen if ev == "UserEvent"]
    assert (user["Num"], user["All"]) == ("+8613900001111", '"Wang Fang" <+8613900001111>')
    assert not [f for ev, f in seen if ev == "VarSet" and f["Variable"].startswith("CALLERID")]


async def test_fastagi_set_callerid_takes_its_first_argument(tmp_path: Path) -> None:
    replies: list[str] = []

    async def agi(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass  # the agi_* environment
        for command in ('SET CALLERID "\\"Li Na\\" <138-1234-5678>"', "SET CALLERID 13812345678",
                        'SET CALLERID "Wang Fang" <13900001111>'):
            writer.write((command + "\n").encode())
            replies.append((await reader.readline()).decode().strip())
        writer.close()

    server = await asyncio.start_server(agi, "127.0.0.1", 0)
    try:
        seen = await dialplan_call(tmp_path, " same => n,AGI(agi://127.0.0.1/cid)\n",
                                   agi_port=server.sockets[0].getsockname()[1])
    finally:
        server.close()
    assert replies == ["200 result=1"] * 3
    # res_agi.c: '"Li Na" <138-...>' quoted as one argument sets both (the number shrunk); a bare
    # number sets the number and clears the name; unquoted, only "Wang Fang" counts: the number is cleared
    changes = [(f["CallerIDNum"], f["CallerIDName"]) for ev, f in seen if ev == "NewCallerid"]
    assert changes == [("13812345678", "Li Na"), ("13812345678", "<unknown>"), ("<unknown>", "Wang Fang")]


def test_callerid_texts_parse_as_asterisk_parses_them() -> None:
    assert callerid.split('"Li Na" <+86 138-1234-5678>') == ("Li Na", "+8613812345678")
    assert callerid.split("Li Na <1001>") == ("Li Na", "1001")
    assert callerid.split("+86 (138) 1234.5678") == ("", "+8613812345678")
    assert callerid.split('"13812345678"') == ("13812345678", "")  # quoted: a name
    assert callerid.split("Li Na") == ("Li Na", "")


def test_substrings_apply_to_function_values_too() -> None:
    values = {"CALLERID(num)": "+8613812345678", "X": "abcdef", "IF(1?a:b)": "a"}
    lookup = values.__getitem__
    assert substitute("${CALLERID(num):0:3}|${CALLERID(num):3}|${CALLERID(num):-4}", lookup) == "+86|13812345678|5678"
    assert substitute("${X:1:-2}|${X:10}|${X:-10:2}|${IF(1?a:b)}", lookup) == "bcd||ab|a"
    assert substitute('$["${CALLERID(num):0:3}" != "+86"]', lookup) == "0"
    assert substitute('$["${X:0:4}" != "0086"]', lookup) == "1"
