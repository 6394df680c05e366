"""Panel logic run in the real headless Chromium, page-free: the consult's
"Conference all" button, the supervisor's live-call row actions and when a push confirms them,
transfer checks for someone else's call, and "as of" to the second.

Only the static files are served (these functions touch no server).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.web.test_web_panel_js import page  # noqa: F401  (the fixture: a blank page serving agent_web/)

pytestmark = pytest.mark.browser


async def test_conference_all_is_offered_once_the_consulted_colleague_answered(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const c = await import('/static/calls.js');
        const view = {state: 'on_call', call: 'L1'};
        const pop = (consult, conference = null) => ({linkedid: 'L1', consult, conference});
        const bar = (p, opts) => c.toolbar(c.myCall(view, p), opts).consultConference;
        const ringing = {kind: 'agent', target: '1002', answered: false};
        const talking = {kind: 'agent', target: '1002', answered: true};
        const pending = {action: 'consult_conference', linkedid: 'L1'};
        return {
            none: bar(pop(null)), ringing: bar(pop(ringing)), talking: bar(pop(talking)),
            busy: bar(pop(talking), {pending}), down: bar(pop(talking), {linkUp: false}),
            stillConsulting: c.confirmed(pending, view, pop(talking)),
            roomButConsultShown: c.confirmed(pending, view, pop(talking, 'cti-L1')),
            inRoom: c.confirmed(pending, view, pop(null, 'cti-L1')),
            callGone: c.confirmed(pending, {state: 'wrap_up'}, null),
            text: c.pendingText('consult_conference'),
        };
    }""")
    assert out["none"] == {"shown": False, "disabled": False}
    assert out["ringing"] == {"shown": False, "disabled": False}  # nobody to confer with yet
    assert out["talking"] == {"shown": True, "disabled": False}
    assert out["busy"] == {"shown": True, "disabled": True}
    assert out["down"] == {"shown": True, "disabled": True}
    assert [out["stillConsulting"], out["roomButConsultShown"], out["inRoom"], out["callGone"]] == [
        False, False, True, True]
    assert out["text"] == "Bringing everyone into a conference… waiting for Asterisk to confirm."


async def test_live_call_row_actions_and_their_confirmation(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const c = await import('/static/calls.js');
        const call = (state, extra = {}) => ({linkedid: 'L1', state, agent: '1001', direction: 'inbound', ...extra});
        const acts = (x, o) => { const a = c.rowActions(x, o); return [a.hangup.shown, a.transfer.shown, a.hangup.disabled]; };
        const transfer = {action: 'transfer', agent: '1001'};
        const hangup = {action: 'hangup', agent: '1001'};
        return {
            ivr: acts(call('ivr', {agent: ''})), queued: acts(call('queued', {agent: ''})),
            ringing: acts(call('ringing', {agent: ''})), answered: acts(call('answered')), held: acts(call('held')),
            outbound: acts(call('answered', {direction: 'outbound'})),
            conference: acts(call('answered', {conference: 'cti-L1'})),
            consulting: acts(call('answered', {consult: {kind: 'agent'}})),
            pending: acts(call('answered'), {pending: hangup}), down: acts(call('answered'), {linkUp: false}),
            confirmed: [
                c.rowConfirmed(transfer, call('answered')),            // still with 1001: not yet
                c.rowConfirmed(transfer, call('queued', {agent: ''})), // back in the queue
                c.rowConfirmed(transfer, call('answered', {agent: '1002'})),
                c.rowConfirmed(transfer, null),
                c.rowConfirmed(hangup, call('answered')),
                c.rowConfirmed(hangup, null),
                c.rowConfirmed(null, null),
            ],
        };
    }""")
    assert out["ivr"] == [False, False, False]
    assert out["queued"] == [False, False, False]
    assert out["ringing"] == [False, False, False]
    assert out["answered"] == [True, True, False]
    assert out["held"] == [True, True, False]
    assert out["outbound"] == [True, False, False]  # hang up only, as on the agent's toolbar
    assert out["conference"] == [True, False, False]
    assert out["consulting"] == [True, False, False]
    assert out["pending"] == [True, True, True]
    assert out["down"] == [True, True, True]
    assert out["confirmed"] == [False, True, True, True, False, True, False]


async def test_transfer_checks_for_someone_elses_call_and_as_of_to_the_second(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const c = await import('/static/calls.js');
        const f = await import('/static/format.js');
        const at = '2026-11-23T13:11:25.123456+00:00';  // what the server sends (microseconds)
        return {
            holder: c.checkTransfer('agent', '1001', null, {holder: '1001'}),
            other: c.checkTransfer('agent', ' 1002 ', null, {holder: '1001'}),
            queue: c.checkTransfer('queue', '1001', null, {holder: '1001'}),  // a queue may share the name
            mine: c.checkTransfer('agent', '1001', {id: '1001', login: '1001'}).ok,
            parsed: Date.parse(at),
            secs: f.clockSeconds(at),
            local: new Date(Date.parse(at)).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false}),
            none: f.clockSeconds(null),
        };
    }""")
    assert out["holder"] == {"ok": False, "field": "target",
                             "message": "Agent 1001 already has the call: choose another agent."}
    assert out["other"] == {"ok": True, "value": "1002"}
    assert out["queue"] == {"ok": True, "value": "1001"}
    assert out["mine"] is False
    assert out["parsed"] == 1795439485123  # Chromium parses the microseconds
    assert out["secs"] == out["local"] and out["secs"].endswith(":25")
    assert out["none"] == ""
