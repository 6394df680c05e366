"""Voicemail into the panel, whole product (store, core, IVR, simulator on asterisk_conf/, web):
a caller leaves a message in the IVR (key 2); it is listed for every panel with the caller's
number, time and length, playable (never a file outside the voicemail spool, another agent's
claim refused), claimed by one agent (nobody else then: 409), called back and closed with an
outcome, every step on the call's work order; nobody claiming it in time tells the supervisors;
a restart of the server finds the open messages again."""

from __future__ import annotations

import time
from typing import Any

from ctiserver.push.hub import PushHub
from ctiserver.voicemail.service import Voicemails
from pbxsim.scripts import CallerScript
from tests.support.calls import panels


async def leave_message(
    stack: Any, panel: Any, number: str = "13800138000", talk: float = 3.0
) -> dict:
    """The caller presses 2, hears the greeting and the beep (VoiceMail(2000@default,su): ~7.5 s), speaks
    about ``talk`` seconds and hangs up; the message as pushed to ``panel``."""
    call = await stack.sim.place_call(
        CallerScript(number=number, keys="2", keys_at=0.3, hangup_at=8.5 + talk)
    )
    pushed = await panel.expect(
        "voicemail", lambda d: d["id"] == call.uniqueid, timeout=20
    )
    await call.ended()
    return pushed


async def test_a_message_is_claimed_by_one_agent_called_back_and_closed(
    stack: Any,
) -> None:
    async with panels(stack, "1001", "1002", "1900") as p:
        a, b, boss = p["1001"], p["1002"], p["1900"]
        vm = await leave_message(stack, a)
        vid = vm["id"]
        assert (
            vm["caller_number"] == "13800138000"
            and vm["mailbox"] == "2000@default"
            and vm["open"]
        )
        assert (
            2 <= vm["seconds"] <= 4
            and vm["msg"] == "msg0000"
            and vm["ref"].startswith("WO-")
        )
        assert abs(vm["left_at"] - time.time()) < 30
        status, body = await b.get("/api/voicemails")
        assert status == 200 and [v["id"] for v in body["voicemails"]] == [vid]

        # playable by anyone until claimed: the spool's WAV, never another path
        async with a.http.get(f"{a.base}/api/voicemails/{vid}/audio") as r:
            assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
            assert (await r.read())[:4] == b"RIFF"
        for bad in ("..%2F..%2Fetc%2Fpasswd", "x%00y", "a" * 200):
            status, body = await a.get(f"/api/voicemails/{bad}/audio")
            assert status in (400, 404) and body["error"]["field"] == "id", (bad, body)

        status, body = await a.post(f"/api/voicemails/{vid}/claim", {})
        assert status == 200 and body["claimed_by"] == "1001"
        status, body = await b.post(f"/api/voicemails/{vid}/claim", {})
        assert (
            status == 409
            and body["error"]["code"] == "claimed"
            and "1001" in body["error"]["message"]
        )
        async with b.http.get(f"{b.base}/api/voicemails/{vid}/audio") as r:
            assert r.status == 403  # 1001's now
        async with boss.http.get(f"{boss.base}/api/voicemails/{vid}/audio") as r:
            assert r.status == 200
        status, body = await b.post(
            f"/api/voicemails/{vid}/outcome", {"outcome": "reached"}
        )
        assert status == 403
        status, body = await a.post(
            f"/api/voicemails/{vid}/outcome", {"outcome": "maybe"}
        )
        assert status == 400 and body["error"]["field"] == "outcome"

        # one click calls the caller back (the panel's dial command), then the outcome
        status, body = await a.post("/api/calls/dial", {"number": vm["caller_number"]})
        assert status == 202, body
        status, body = await a.post(
            f"/api/voicemails/{vid}/outcome", {"outcome": "no_answer"}
        )
        assert status == 200 and body["open"] and body["claimed_by"] == "1001"
        status, body = await a.post(
            f"/api/voicemails/{vid}/outcome",
            {"outcome": "reached", "note": "card sent"},
        )
        assert status == 200 and not body["open"] and body["outcome"] == "reached"
        await b.expect("voicemail", lambda d: d["id"] == vid and not d["open"])
        assert (await b.get("/api/voicemails"))[1]["voicemails"] == []
        status, body = await a.post(f"/api/voicemails/{vid}/claim", {})
        assert status == 409 and body["error"]["code"] == "closed"

        await stack.core.settled()
        await stack.store.flush()
        wo = await stack.store.get_work_order(vid)
        steps = [(e.kind, e.data) for e in wo.events if e.kind.startswith("voicemail")]
        assert [k for k, _ in steps] == [
            "voicemail",
            "voicemail_claimed",
            "voicemail_outcome",
            "voicemail_outcome",
        ]
        assert steps[0][1]["msg"] == "msg0000" and steps[1][1] == {"agent": "1001"}
        assert steps[3][1]["note"] == "card sent" and steps[3][1]["closed"] is True
        assert "ended" in [
            e.kind for e in wo.events
        ]  # the caller's call, whose work order it is

        # the server restarted: the history gives the same messages back
        again = Voicemails(stack.store, PushHub(), stack.app.voicemails.directory, 60)
        await again.load()
        assert (
            again.items[vid].outcome == "reached"
            and again.items[vid].attempts[0]["outcome"] == "no_answer"
        )


async def test_a_caller_hanging_up_during_the_greeting_leaves_nothing(
    stack: Any,
) -> None:
    async with panels(stack, "1001") as p:
        call = await stack.sim.place_call(
            CallerScript(number="13900000011", keys="2", keys_at=0.3, hangup_at=2.5)
        )
        await call.ended()
        await stack.core.settled()
        await stack.store.flush()
        # as trace 05: VMSTATUS=FAILED, no message; the work order says the caller ended in voicemail
        assert (await p["1001"].get("/api/voicemails"))[1]["voicemails"] == []
        wo = await stack.store.get_work_order(call.uniqueid)
        assert wo.ivr_path[-1] == "voicemail" and not [
            e for e in wo.events if e.kind == "voicemail"
        ]


async def test_a_message_nobody_claims_in_time_is_flagged_to_the_supervisors_once(
    stack: Any,
) -> None:
    async with panels(stack, "1001", "1900") as p:
        agent, boss = p["1001"], p["1900"]
        vm = await leave_message(stack, agent, number="13900000009", talk=1.5)
        service = stack.app.voicemails
        assert service.flag_overdue() == []  # within voicemail.claim_minutes (60)
        service.clock = lambda: time.time() + 61 * 60
        assert service.flag_overdue() == [vm["id"]]
        flagged = await boss.expect("voicemail_overdue", lambda d: d["id"] == vm["id"])
        assert flagged["caller_number"] == "13900000009" and flagged["overdue"]
        assert service.flag_overdue() == []  # once
        assert not [
            m for m in agent.received if m.get("type") == "voicemail_overdue"
        ]  # supervisors only

        # a claimed message is never overdue
        other = await leave_message(stack, agent, number="13900000010", talk=1.5)
        status, _ = await agent.post(f"/api/voicemails/{other['id']}/claim", {})
        assert status == 200
        service.clock = lambda: time.time() + 120 * 60
        assert service.flag_overdue() == []
