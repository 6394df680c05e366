"""The simulator against traces 23 (post-call survey) and 24 (voicemail left), recorded on Asterisk
22.10.1 with asterisk_conf/ (eventfilter on, as here) and the project's IVR running the same menu.

The same callers are played with the recorded timings (keys, the agent's hang-up, the Redirect of
the agent's survey button), and what the server reads of each caller's channel is compared in
order: the queue's end (AgentComplete and its reason, QUEUESTATUS=CONTINUE), the IVR's survey
events, the voicemail's VM_MESSAGEFILE (its spool path's shape) and VMSTATUS, and the hang-up
sequence (HangupRequest / SoftHangupRequest / Hangup)."""

from __future__ import annotations

import re
from pathlib import Path

from ivr import IvrServer
from ivr.menu import parse_menu
from pbxsim.scripts import CallerScript, Phone
from pbxsim.sim import PbxSim
from tests.conformance.lab import ivr_lab
from tests.conformance.recorder import Recorder
from tests.conformance.trace import Headers, messages, parse_trace

TRACES = Path(__file__).resolve().parents[1] / "traces"
TRACE_23 = TRACES / "23_survey_after_agent_and_button.ami"
TRACE_24 = TRACES / "24_voicemail_left.ami"
ASTERISK_CONF = Path(__file__).resolve().parents[2] / "asterisk_conf"
SPEED = 5.0
MENU = {
    "name": "hotline",
    "start": "main",
    "nodes": {
        "main": {
            "type": "menu",
            "prompt": "beep",
            "timeout": 6.0,
            "keys": {"1": "support", "2": "voicemail"},
        },
        "support": {
            "type": "queue",
            "queue": "support",
            "options": "tc",
            "after_agent": "survey",
            "timeout": 45,
            "fallback": ["voicemail"],
        },
        "voicemail": {"type": "voicemail", "mailbox": "2000@default", "options": "su"},
        "survey": {"type": "survey", "prompt": "beep", "timeout": 6.0, "tries": 2},
    },
}
VARS = ("QUEUESTATUS", "VM_MESSAGEFILE", "VMSTATUS", "CTI_IVR_PATH", "CTI_IVR_DONE")


def projection(stream: list[Headers]) -> list[list[tuple]]:
    """Per caller channel (in order of appearance): the events compared."""
    calls: dict[str, list[tuple]] = {}
    for h in stream:
        chan = h.get("Channel") or ""
        if not chan.startswith("PJSIP/caller-"):
            continue
        seen = calls.setdefault(chan, [])
        event = h.get("Event")
        if event == "AgentComplete":
            seen.append((event, h.get("Reason")))
        elif event == "VarSet" and h.get("Variable") in VARS:
            value = h.get("Value") or ""
            if h.get("Variable") == "VM_MESSAGEFILE":
                value = re.sub(
                    r"^.*/(default/2000/INBOX/)msg\d{4}$", r"\1msgNNNN", value
                )
            seen.append((event, h.get("Variable"), value))
        elif event == "UserEvent" and h.get("UserEvent") == "CtiSurvey":
            seen.append((event, h.get("Outcome"), h.get("Rating")))
        elif event in ("HangupRequest", "SoftHangupRequest", "Hangup"):
            seen.append((event,))
    return list(calls.values())


def recorded(path: Path) -> list[list[tuple]]:
    return projection([h for _, h in messages(parse_trace(path))])


async def simulated(tmp_path: Path, play) -> list[list[tuple]]:
    ivr = IvrServer(store=None, menu=parse_menu(MENU), host="127.0.0.1", port=0)
    async with ivr_lab(
        ASTERISK_CONF, SPEED, None, ivr, voicemail_dir=str(tmp_path / "voicemail")
    ) as (sim, rec):
        try:
            rec.send(
                [
                    ("Action", "Login"),
                    ("ActionID", "a1"),
                    ("Username", "cti"),
                    ("Secret", "cti-secret"),
                ]
            )
            await rec.reply("a1")
            await play(sim, rec)
        finally:
            await rec.close()
    return projection(rec.received)


async def test_23_survey_after_the_agent_hangs_up_and_on_the_button_as_recorded(
    tmp_path: Path,
) -> None:
    async def play(sim: PbxSim, rec: Recorder) -> None:
        rec.send(
            [
                ("Action", "QueueAdd"),
                ("ActionID", "a2"),
                ("Queue", "support"),
                ("Interface", "PJSIP/1001"),
                ("MemberName", "Agent Alice"),
                ("StateInterface", "PJSIP/1001"),
            ]
        )
        await rec.reply("a2")
        # A: 1001 answers after 1.5 s and hangs up 3 s later; the caller rates 4 (+10.5 s, recorded)
        sim.set_phone("1001", Phone(answer_after=1.5, hangup_after_answer=3.0))
        a = await sim.place_call(
            CallerScript(number="caller", dtmf=((1.5, "1"), (10.5, "4")))
        )
        await a.ended()
        # B: answered; the survey button's Redirect; the caller rates 5 (+8.07 s)
        sim.set_phone("1001", Phone(answer_after=1.5))
        b = await sim.place_call(
            CallerScript(number="caller", dtmf=((1.5, "1"), (8.07, "5")))
        )
        connect = await rec.event("AgentConnect", count=2)
        rec.send(
            [
                ("Action", "Redirect"),
                ("ActionID", "a3"),
                ("Channel", connect.get("Channel")),
                ("Context", "cti-ivr"),
                ("Exten", "survey"),
                ("Priority", "1"),
            ]
        )
        await rec.reply("a3")
        await b.ended()

    assert await simulated(tmp_path, play) == recorded(TRACE_23)


async def test_24_a_message_left_by_hanging_up_or_with_hash_as_recorded(
    tmp_path: Path,
) -> None:
    async def play(sim: PbxSim, rec: Recorder) -> None:
        a = await sim.place_call(
            CallerScript(number="caller", dtmf=((1.5, "2"),), hangup_at=10.5)
        )
        await a.ended()
        b = await sim.place_call(
            CallerScript(number="caller", dtmf=((1.5, "2"), (10.52, "#")))
        )
        await b.ended()

    assert await simulated(tmp_path, play) == recorded(TRACE_24)
