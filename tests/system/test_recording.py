"""Call recording (issue 4, item 9) against the simulator, the whole product running.

The dialplan records the customer's channel (MixMonitor, option b) named after the call's
linkedid; the server links it to the work order and the panel plays it through
GET /api/workorders/{ref}/recording: the agent who had the call and supervisors may,
other agents get 403, a call without a recording 404.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pbxsim.scripts import CallerScript, Phone
from tests.support.calls import answered_call, colleague_ready, panels, ready, sim_event, workorder
from tests.support.panel import PanelClient


async def play(panel: PanelClient, ref: str) -> tuple[int, str, bytes]:
    async with panel.http.get(f"{panel.base}/api/workorders/{ref}/recording") as r:
        return r.status, r.headers.get("Content-Type", ""), await r.read()


def recordings_of(stack: Any, linkedid: str) -> list[dict]:
    return [r for r in stack.sim.truth()["recordings"] if r["linkedid"] == linkedid]


async def test_an_answered_call_is_recorded_linked_to_its_work_order_and_played_by_its_agent_only(stack) -> None:
    async with panels(stack, "1001", "1002", "1900") as p:
        agent, other, boss = p["1001"], p["1002"], p["1900"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent)
        # Asterisk records the customer's channel, into a file named after the call
        [rec] = recordings_of(stack, linkedid)
        assert rec["channel"].startswith("PJSIP/caller") and rec["file"].endswith(f"cti-{linkedid}.wav")
        assert "b" in rec["options"]

        await call.hangup()
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, agent, linkedid, ("recording", "answered", "recording_ended", "ended"))
        started = next(e for e in wo["events"] if e["kind"] == "recording")
        assert started["data"]["file"] == f"cti-{linkedid}.wav"
        ended = next(e for e in wo["events"] if e["kind"] == "recording_ended")
        assert ended["data"]["ended_by"] == "hangup"  # it ends cleanly with the call
        assert recordings_of(stack, linkedid)[0]["ended_by"] == "hangup"

        status, ctype, audio = await play(agent, wo["ref"])
        assert status == 200 and ctype == "audio/wav" and audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
        status, _, audio = await play(boss, wo["ref"])
        assert status == 200 and audio[:4] == b"RIFF"
        status, _, body = await play(other, wo["ref"])
        assert status == 403, body
        status, _, body = await play(agent, "WO-20000101-NOSUCHWO")
        assert status == 404, body
        status, _, body = await play(agent, "bad;ref")
        assert status == 400 and b'"id"' in body, body


async def test_recording_follows_the_call_through_a_hold_and_a_transfer_in_one_file(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        a, b = p["1001"], p["1002"]
        await ready(a, "1001")
        call, linkedid = await answered_call(stack, a)
        await colleague_ready(stack, b)

        assert (await a.post(f"/api/calls/{linkedid}/hold", {}))[0] == 202
        await a.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("held") is True)
        assert [r["ended"] for r in recordings_of(stack, linkedid)] == [None]  # still recording while held
        assert (await a.post(f"/api/calls/{linkedid}/retrieve", {}))[0] == 202
        await a.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("held") is False)

        assert (await a.post(f"/api/calls/{linkedid}/transfer", {"kind": "agent", "target": "1002"}))[0] == 202
        await b.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("state") == "answered")
        assert [r["ended"] for r in recordings_of(stack, linkedid)] == [None]  # the same recording goes on

        await call.hangup()
        await b.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, b, linkedid, ("recording", "hold", "retrieve", "transfer", "recording_ended"))
        assert [e["kind"] for e in wo["events"]].count("recording") == 1
        [rec] = recordings_of(stack, linkedid)
        assert rec["ended_by"] == "hangup"
        # both agents who had the call may play it
        for panel in (a, b):
            status, _, audio = await play(panel, wo["ref"])
            assert status == 200 and audio[:4] == b"RIFF"


async def test_a_queue_with_recording_off_has_no_recording_and_play_is_404(stack) -> None:
    stack.sim.globals["CTI_RECORD_SUPPORT"] = "no"  # the per-queue switch of extensions.conf
    async with panels(stack, "1001") as p:
        agent = p["1001"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent)
        assert recordings_of(stack, linkedid) == []
        await call.hangup()
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        wo = await workorder(stack, agent, linkedid)
        assert "recording" not in [e["kind"] for e in wo["events"]]
        status, _, body = await play(agent, wo["ref"])
        assert status == 404 and b"no recording" in body, body


async def test_the_agent_plays_the_recording_from_todays_list_in_the_panel(stack, browser: Any) -> None:
    from playwright.async_api import expect

    from tests.support.browser import WAIT_MS
    from tests.system.test_panel import open_panel

    page = await open_panel(browser, stack.url, "1001")
    await page.locator("#btn-signin").click()
    await expect(page.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)
    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", keys="1", keys_at=0.2,
                                                   hangup_after_answer=1.0))
    await asyncio.wait_for(call.ended(), 15)
    row = page.locator("#today-list li").first
    await expect(row).to_contain_text("13800138000", timeout=WAIT_MS)
    await stack.core.settled()
    await stack.store.flush()  # the recording's link is written
    await row.get_by_role("button", name=re.compile("Play the recording")).click()
    audio = row.locator("audio.recording-audio")
    await expect(audio).to_have_count(1, timeout=WAIT_MS)
    src = await audio.get_attribute("src")
    assert src and src.endswith("/recording")
    # the browser can load it (same session, same origin, allowed by the page's policy)
    loaded = await page.evaluate("""async (src) => { const r = await fetch(src); const b = await r.arrayBuffer();
        return [r.status, r.headers.get('content-type'), new Uint8Array(b.slice(0, 4))[0]]; }""", src)
    assert loaded == [200, "audio/wav", ord("R")]
    assert page.js_errors == []  # type: ignore[attr-defined]


async def test_the_recording_ends_cleanly_when_the_agent_hangs_up_from_the_panel_during_a_hold(stack) -> None:
    async with panels(stack, "1001") as p:
        agent = p["1001"]
        await ready(agent, "1001")
        call, linkedid = await answered_call(stack, agent)
        assert (await agent.post(f"/api/calls/{linkedid}/hold", {}))[0] == 202
        await agent.expect("pop_update", lambda d: d.get("linkedid") == linkedid and d.get("held") is True)
        assert (await agent.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
        await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)
        [rec] = recordings_of(stack, linkedid)
        assert rec["ended"] is not None and rec["ended_by"] == "hangup" and rec["written"]
        wo = await workorder(stack, agent, linkedid, ("recording", "hold", "recording_ended", "ended"))
        kinds = [e["kind"] for e in wo["events"]]
        assert kinds.index("recording") < kinds.index("hold") < kinds.index("recording_ended")
        status, _, audio = await play(agent, wo["ref"])
        assert status == 200 and audio[:4] == b"RIFF"


async def dialled_and_hung_up(stack: Any, agent: PanelClient, number: str = "0215551234") -> str:
    """1001 dials out, the number answers, the agent hangs up from the panel; returns the linkedid."""
    stack.sim.set_phone("1001", Phone(answer_after=0.2))
    stack.sim.set_phone("outside", Phone(answer_after=0.3))
    status, body = await agent.post("/api/calls/dial", {"number": number})
    assert status == 202, body
    linkedid = body["linkedid"]
    await agent.expect("agent_state", lambda d: d["id"] == "1001" and d["state"] == "on_call" and d["call"] == linkedid)
    await sim_event(stack.sim,  # the number answered
                    lambda: any(c["linkedid"] == linkedid and c["channel"].startswith("PJSIP/outside-")
                                and c["state"] == 6 for c in stack.sim.truth()["channels"]),
                    lambda name, f: (name == "Newstate" and f.get("Linkedid") == linkedid
                                     and f.get("ChannelState") == "6" and f.get("Channel", "").startswith("PJSIP/outside-")))
    assert (await agent.post(f"/api/calls/{linkedid}/hangup", {}))[0] == 202
    await agent.expect("call_ended", lambda d: d["linkedid"] == linkedid)
    return linkedid


async def test_a_dial_out_is_recorded_on_the_agents_channel_and_played_by_them(stack) -> None:
    async with panels(stack, "1001", "1002") as p:
        agent, other = p["1001"], p["1002"]
        await ready(agent, "1001")
        linkedid = await dialled_and_hung_up(stack, agent)
        [rec] = recordings_of(stack, linkedid)
        assert rec["channel"].startswith("PJSIP/1001") and rec["file"].endswith(f"cti-{linkedid}.wav")
        wo = await workorder(stack, agent, linkedid, ("dial_out", "recording", "recording_ended", "ended"))
        assert wo["direction"] == "outbound" and wo["disposition"] == "answered"
        status, ctype, audio = await play(agent, wo["ref"])
        assert status == 200 and ctype == "audio/wav" and audio[:4] == b"RIFF"
        assert (await play(other, wo["ref"]))[0] == 403

        stack.sim.globals["CTI_RECORD_OUTBOUND"] = "no"  # the dial-out switch of extensions.conf
        linkedid = await dialled_and_hung_up(stack, agent)
        assert recordings_of(stack, linkedid) == []
