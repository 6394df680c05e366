"""The panel's own logic, run in the real headless Chromium: labels, durations, and how
the push client reacts to a gap in the sequence (it must ask for a snapshot, not go stale).

Only the static files are served here (no core is involved in these functions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright

pytestmark = pytest.mark.browser

PANEL = Path(__file__).resolve().parents[3] / "agent_web"
CHROMIUM = "/usr/bin/chromium"


async def blank(request: web.Request) -> web.Response:
    return web.Response(text="<!doctype html><title>t</title>", content_type="text/html")


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    app = web.Application()
    app.router.add_get("/", blank)
    app.router.add_static("/static/", PANEL)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                pg = await browser.new_page()
                await pg.goto(str(server.make_url("/")))
                yield pg
            finally:
                await browser.close()
    finally:
        await server.close()


async def test_labels_and_durations(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const f = await import('/static/format.js');
        return [
            f.stateLabel({state: 'not_ready', reason: 'lunch'}), f.stateLabel({state: 'ready'}), f.stateLabel(null),
            f.stateLabel({state: 'on_call'}), f.duration(5), f.duration(3725), f.duration(-3),
            f.classLabel({customer: {class: 'vip'}, customer_class: 'vip', lookup: 'done'}),
            f.classLabel({customer: null, customer_class: 'not_customer', lookup: 'done'}),
            f.classLabel({customer: null, customer_class: 'not_customer', lookup: 'pending'}),
            f.customerNo({no: 'C0001'}), f.toEpoch('2026-11-23T10:00:00+00:00'), f.toEpoch(1795429831.5),
        ];
    }""")
    assert out == ["Busy (lunch)", "Ready", "Signed out", "On call", "0:05", "1:02:05", "0:00",
                   "VIP", "Not a customer", "Looking up…", "C0001", 1795428000, 1795429831.5]


async def test_a_gap_in_the_push_sequence_asks_for_a_fresh_snapshot(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const { PushSocket } = await import('/static/net.js');
        const got = [], statuses = [], sent = [];
        const s = new PushSocket({ onMessage: (t, d) => got.push(t + ':' + d.n), onStatus: (x) => statuses.push(x),
                                   canReconnect: async () => true });
        s.ws = { readyState: WebSocket.OPEN, send: (text) => sent.push(JSON.parse(text).type) };
        const frame = (type, seq, n) => s.receive(JSON.stringify({ type, seq, data: { n } }));
        frame('snapshot', 1, 1);
        frame('agent_state', 2, 2);
        frame('agent_state', 4, 4);   // 3 was lost: state may be stale
        frame('agent_state', 5, 5);   // ignored until the new snapshot
        frame('snapshot', 6, 6);
        frame('marquee', 7, 7);
        s.receive('not json');        // ignored, not fatal
        return { got, statuses, sent };
    }""")
    assert out["got"] == ["snapshot:1", "agent_state:2", "snapshot:6", "marquee:7"]
    assert out["sent"] == ["resync"]
    assert out["statuses"] == ["open", "open"]


async def test_who_forced_a_state_callers_days_and_figure_labels(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const f = await import('/static/format.js');
        const chen = {id: '1900', name: '陈主管 Supervisor Chen'};
        const agent = {
            agent_id: '1001', signed_in_seconds: 3700, ready_seconds: 1800, busy_seconds: {meeting: 600, lunch: 0,
            break: 300}, busy_total_seconds: 900, ringing_seconds: 20, talk_seconds: 700, hold_seconds: 30,
            wrapup_seconds: 250, answered: 7, missed: 1, avg_talk_seconds: 100,
        };
        return {
            by: [f.changedByLabel({id: '1001', state: 'not_ready', changed_by: chen}),
                 f.changedByLabel({id: '1001', state: 'ready', changed_by: null}),
                 f.changedByLabel({id: '1900', changed_by: chen}), f.changedByLabel(null)],
            states: [f.stateLabel({state: 'on_hold'}), f.stateLabel({state: 'wrap_up'})],
            party: [f.partyLabel({number: '13800138000', name: 'Zhang Wei'}), f.partyLabel({number: '100', name: ''}),
                    f.partyLabel(null)],
            day: [f.utcDay(1795478399), f.utcDay(1795478400)],
            rows: f.agentFigureRows(agent).map((r) => [r.key, r.value, r.sub]),
            none: f.agentFigureRows(undefined),
            queue: f.queueFigureCells({queue: 'support', offered: 12, answered: 10, abandoned: 1, no_agent: 1,
                answered_within_sl: 9, service_level_pct: 81.8181, avg_wait_seconds: 14.5, max_wait_seconds: 75,
                avg_handle_seconds: 190}),
            noSl: f.queueFigureCells({queue: 'sales', service_level_pct: null})[5],
        };
    }""")
    assert out["by"] == ["set by 陈主管 Supervisor Chen", "", "", ""]  # not when agents change their own
    assert out["states"] == ["On hold", "Wrap-up"]
    assert out["party"] == ["13800138000 Zhang Wei", "100", ""]
    assert out["day"] == ["2026-11-23", "2026-11-24"]
    assert out["rows"] == [
        ["signed_in", "1:01:40", False], ["ready", "30:00", False], ["busy", "15:00", False],
        ["busy:break", "5:00", True], ["busy:meeting", "10:00", True],  # reasons with time, by name
        ["ringing", "0:20", False], ["talk", "11:40", False], ["hold", "0:30", False], ["wrapup", "4:10", False],
        ["answered", "7", False], ["missed", "1", False], ["avg_talk", "1:40", False]]
    assert out["none"] == []
    assert out["queue"] == ["support", "12", "10", "1", "1", "81.8%", "0:14", "1:15", "3:10"]
    assert out["noSl"] == "—"


async def test_throttle_runs_at_once_then_folds_a_burst_into_one_run(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const { throttle } = await import('/static/format.js');
        const runs = [];
        let done;
        const finished = new Promise((resolve) => { done = resolve; });
        const t0 = performance.now();
        const call = throttle(() => {
            runs.push(Math.round(performance.now() - t0));
            if (runs.length === 2) done();
        }, 200);
        call(); call(); call(); call();          // first runs now, the other three become one run later
        const afterBurst = runs.length;
        await finished;
        return { afterBurst, runs };
    }""")
    assert out["afterBurst"] == 1
    assert len(out["runs"]) == 2
    assert out["runs"][1] - out["runs"][0] >= 190  # not sooner than the window


async def test_a_delayed_throttle_waits_before_its_first_run(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const { throttle } = await import('/static/format.js');
        const t0 = performance.now();
        let ran = 0;
        const finished = new Promise((resolve) => {
            const call = throttle(() => { ran += 1; resolve(performance.now() - t0); }, 1000, { delay: 100 });
            call(); call();
        });
        const before = ran;
        const at = await finished;
        return { before, at, ran };
    }""")
    assert out["before"] == 0 and out["ran"] == 1
    assert out["at"] >= 95


async def test_a_panel_taken_over_elsewhere_stops_and_says_so(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const { PushSocket } = await import('/static/net.js');
        const sockets = [];
        window.WebSocket = class { constructor(url) { this.url = url; sockets.push(this); } close() {} };
        window.WebSocket.OPEN = 1;
        const statuses = [];
        let asked = 0;
        const s = new PushSocket({ onMessage: () => {}, onStatus: (x) => statuses.push(x),
                                   canReconnect: async () => { asked += 1; return true; } });
        s.start();
        sockets[0].onclose({ code: 4002 });
        return { statuses, stopped: s.stopped, sockets: sockets.length, asked };
    }""")
    assert out == {"statuses": ["connecting", "taken_over"], "stopped": True, "sockets": 1, "asked": 0}


# -- the call-control toolbar's logic (agent_web/calls.js) -------------------------------------


async def test_call_inputs_are_checked_as_the_server_checks_them(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const c = await import('/static/calls.js');
        const me = {id: '1001', login: '1001'};
        const menu = [{name: 'main'}, {name: 'verify'}, {name: 'support'}];  // what GET /api/ivr/nodes sends
        const t = (kind, target) => { const r = c.checkTransfer(kind, target, me); return r.ok ? r.value : r.field; };
        const n = (x) => { const r = c.checkNumber(x); return r.ok ? r.value : r.field; };
        return {
            numbers: [n('0215551234'), n('+86 21-5555 1234'), n('*72#'), n(''), n('12ab'), n('1'.repeat(32)),
                      n('1'.repeat(33)), n('123\\r\\nAction: Originate'), n(null)],
            transfers: [t('agent', '1002'), t('agent', ' 1003 '), t('agent', '1001'), t('agent', ''),
                        t('agent', '10 02'), t('queue', 'support'), t('queue', 'a\\nb'), t('external', '+8621*55#'),
                        t('external', '12ab'), t('fax', '1002')],
            nodes: [c.checkNode('main', menu).ok, c.checkNode('verify', menu).ok, c.checkNode('nowhere', menu).field],
            typed: [c.checkNode(' main ').value, c.checkNode('nowhere').ok, c.checkNode('').field,
                    c.checkNode('Main').field, c.checkNode('main,1').field, c.checkNode('x').field],
            kinds: c.TRANSFER_KINDS.map((k) => k.value),
        };
    }""")
    assert out["numbers"] == ["0215551234", "+862155551234", "*72#", "number", "number", "1" * 32,
                              "number", "number", "number"]
    assert out["transfers"] == ["1002", "1003", "target", "target", "target", "support", "target", "+8621*55#",
                                "target", "kind"]
    assert out["nodes"] == [True, True, "node"]
    # no nodes from the server (menu unreadable there): a typed node name, checked as the server checks it
    assert out["typed"] == ["main", True, "node", "node", "node", "node"]
    assert out["kinds"] == ["agent", "queue", "external"]


async def test_ivr_nodes_are_offered_with_what_they_do(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const c = await import('/static/calls.js');
        return [c.ivrNodeLabel({name: 'support', label: 'support', type: 'queue'}),
                c.ivrNodeLabel({name: 'main', label: 'Main menu', type: 'menu'}),
                c.ivrNodeLabel({name: 'odd', type: 'teleport'})];
    }""")
    assert out == ["support — Queue · 人工队列", "Main menu — Menu · 语音菜单", "odd"]


async def test_toolbar_follows_the_pushed_call_and_its_hold_timer_warns(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const c = await import('/static/calls.js');
        const onCall = {id: '1001', state: 'on_call', call: 'L1', since: 1000, outside_call: false};
        const held = {...onCall, state: 'on_hold', since: 1005};
        const pop = {linkedid: 'L1', held: true, held_since: 1004.5, hold_warning_seconds: 20};
        const bar = (call, opts) => { const b = c.toolbar(call, opts);
            return [b.visible, b.hold.shown && b.hold.action, b.transfer.shown, b.hangup.shown, b.hangup.disabled]; };
        const inbound = c.myCall(onCall, null);
        const h = c.myCall(held, pop);
        const hNoPop = c.myCall(held, {linkedid: 'other', held: true, held_since: 1});
        const outbound = c.myCall({...onCall, outside_call: true, call: 'cti-dial-1'}, null);
        return {
            none: [c.myCall(null, null), c.myCall({state: 'ready', call: null}, null),
                   c.myCall({state: 'wrap_up'}, pop)],
            inbound: [inbound.linkedid, inbound.held, inbound.warnAfter],
            held: [h.held, h.heldSince, h.warnAfter], heldNoPop: [hNoPop.heldSince, hNoPop.warnAfter],
            clock: [c.holdClock(h, 1014.5), c.holdClock(h, 1024.5), c.holdClock(inbound, 5000)],
            bars: [bar(null), bar(inbound), bar(h), bar(inbound, {pending: {action: 'hold'}}),
                   bar(inbound, {linkUp: false}), bar(outbound)],
            dial: [c.canDial({state: 'ready', call: null}), c.canDial({state: 'not_ready', call: null}),
                   c.canDial({state: 'wrap_up', call: null}), c.canDial({state: 'on_call', call: 'L1'}),
                   c.canDial({state: 'ringing', call: 'L2'}), c.canDial({state: 'logged_out', call: null}),
                   c.canDial(null)],
        };
    }""")
    assert out["none"] == [None, None, None]
    assert out["inbound"] == ["L1", False, 30]  # 30 s unless the server says otherwise
    assert out["held"] == [True, 1004.5, 20]  # the pop's exact hold start and threshold
    assert out["heldNoPop"] == [1005, 30]  # another call's pop is not used: the state's own since
    assert out["clock"] == [{"seconds": 10, "warn": False}, {"seconds": 20, "warn": True},
                            {"seconds": 0, "warn": False}]
    assert out["bars"] == [
        [False, False, False, False, False],
        [True, "hold", True, True, False],
        [True, "retrieve", True, True, False],
        [True, "hold", True, True, True],  # a command under way disables every button
        [True, "hold", True, True, True],  # so does a link down
        [True, False, False, True, False],  # an outbound call: hang up only
    ]
    assert out["dial"] == [True, True, True, False, False, False, False]


async def test_a_command_is_confirmed_by_the_push_not_by_the_click(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const c = await import('/static/calls.js');
        const onCall = {id: '1001', state: 'on_call', call: 'L1', since: 1000};
        const held = {...onCall, state: 'on_hold'};
        const wrap = {id: '1001', state: 'wrap_up', call: null};
        const p = (action, linkedid = 'L1') => ({action, linkedid});
        return [
            c.confirmed(p('hold'), onCall, null), c.confirmed(p('hold'), held, null),
            c.confirmed(p('retrieve'), held, null), c.confirmed(p('retrieve'), onCall, null),
            c.confirmed(p('transfer'), onCall, null), c.confirmed(p('transfer'), wrap, null),
            c.confirmed(p('hangup'), held, null), c.confirmed(p('hangup'), {...onCall, call: 'L2'}, null),
            c.confirmed(p('ivr'), wrap, null),
            c.confirmed(p('dial', null), {id: '1001', state: 'ready', call: null}, null),
            c.confirmed(p('dial', null), {id: '1001', state: 'ringing', call: 'cti-dial-1'}, null),
            c.confirmed(null, onCall, null),
        ];
    }""")
    assert out == [False, True, False, True, False, True, False, True, True, False, True, False]


async def test_monitor_buttons_follow_the_servers_rules_and_say_why_not(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const sv = await import('/static/supervision.js');
        const call = (more) => ({linkedid: 'L1', state: 'answered', agent: '1001', held: false, consult: null,
                                 conference: null, ...more});
        const b = (c, opts) => { const m = sv.monitorButtons(c, opts);
                                 return [m.listen.disabled, m.intercept.disabled, m.reason, m.interceptReason]; };
        const mine = {id: 's1', linkedid: 'L1', state: 'active', mode: 'listen', supervisor: '1900'};
        return {
            ok: b(call({})),
            ringing: b(call({state: 'ringing', agent: ''}))[2], queued: b(call({state: 'queued', agent: ''}))[2],
            held: b(call({state: 'held', held: true}))[2],
            consult: b(call({consult: {kind: 'agent', target: '1002'}}))[2],
            conference: b(call({conference: 'cti-L1'}))[2],
            own: b(call({agent: '1900'}), {me: '1900'})[2],
            down: b(call({}), {linkUp: false})[2],
            pending: b(call({}), {pending: {action: 'monitor'}})[2],
            other: b(call({linkedid: 'L2'}), {mine}),
            same: b(call({}), {mine}),
            intercepting: b(call({}), {mine: {...mine, intercepting: true}}),
            gone: b(null)[2],
        };
    }""")
    assert out["ok"] == [False, False, "", ""]
    assert out["ringing"] == out["queued"] == "Not answered yet · 未接通"
    assert out["held"] == "On hold: monitor once retrieved · 保持中"
    assert out["consult"] == "The agent is consulting · 求助中"
    assert out["conference"] == "A conference · 会议中"
    assert out["own"] == "Your own call · 本人通话"
    assert out["down"] == "Asterisk link down · 链路中断"
    assert out["pending"] == "Waiting for Asterisk… · 等待确认"
    assert out["other"] == [True, True, "Stop your current monitoring first · 请先停止当前监控",
                            "Stop your current monitoring first · 请先停止当前监控"]  # one session per supervisor
    assert out["same"][:2] == [True, False]  # the monitored call may still be intercepted
    assert out["intercepting"][:2] == [True, True]
    assert out["gone"] == "The call is over · 通话已结束"


async def test_the_monitoring_strip_and_when_a_push_confirms_a_command(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const sv = await import('/static/supervision.js');
        const s = (more) => ({id: 's1', supervisor: '1900', linkedid: 'L1', agent: '1001', mode: 'listen',
                              state: 'active', since: 100, requested_at: 95, switching_to: null, intercepting: false,
                              ...more});
        const call = {linkedid: 'L1', caller_number: '13800138000', caller_name: 'Zhang Wei'};
        const nameOf = (id) => ({'1001': 'Li Na (1001)'})[id] || id;
        const v = (sess, opts = {}) => sv.stripView(sess, {call, nameOf, ...opts});
        const modes = (view) => view.modes.map((m) => [m.value, m.pressed, m.disabled]);
        const ringing = v(s({state: 'ringing', since: null}));
        const live = v(s({}));
        const switching = v(s({switching_to: 'whisper'}));
        const asked = v(s({}), {pending: {action: 'mode', mode: 'barge'}});
        const taken = v(s({state: 'intercepted'}));
        const stalled = v(s({intercepting: true}), {stalled: true});
        const c = sv.monitorConfirmed;
        return {
            ringing: [ringing.state, ringing.timerFrom, ringing.modesWhy, modes(ringing), ringing.intercept],
            live: [live.state, live.what, live.timerFrom, modes(live), live.stop],
            switching: [switching.switching, modes(switching).map((m) => m[2])],
            asked: [asked.switching, asked.stop.disabled],
            taken: [taken.state, taken.what, taken.modes, taken.stop.label, taken.intercept.shown],
            interceptingNow: [v(s({intercepting: true})).state, v(s({intercepting: true})).intercept.disabled],
            stalled: [stalled.state, stalled.intercept.disabled],
            down: v(s({}), {linkUp: false}).stop.disabled,
            confirm: [
                c({action: 'monitor', linkedid: 'L1'}, null), c({action: 'monitor', linkedid: 'L1'}, s({state: 'ringing'})),
                c({action: 'monitor', linkedid: 'L1', sawEnd: true}, null),
                c({action: 'mode', mode: 'whisper'}, s({switching_to: 'whisper'})),
                c({action: 'mode', mode: 'whisper'}, s({mode: 'whisper'})), c({action: 'mode', mode: 'whisper'}, null),
                c({action: 'stop'}, s({})), c({action: 'stop'}, null),
                c({action: 'intercept', linkedid: 'L1'}, s({})),
                c({action: 'intercept', linkedid: 'L1'}, s({state: 'ringing', intercepting: true})),
                c({action: 'intercept', linkedid: 'L1'}, s({state: 'intercepted'})), c(null, s({})),
            ],
            pendingText: sv.monitorPendingText({action: 'monitor', mode: 'barge'}),
        };
    }""")
    assert out["ringing"] == ["Ringing your phone… answer to start · 正在呼叫您的话机", 95,  # the timer runs from the request
                              "Answer your phone first · 请先接听",
                              [["listen", True, True], ["whisper", False, True], ["barge", False, True]],
                              {"shown": True, "disabled": False}]
    assert out["live"] == ["Live · 监控中", "Listen · 监听 — Li Na (1001) with 13800138000 Zhang Wei", 100,
                           [["listen", True, True], ["whisper", False, False], ["barge", False, False]],
                           {"label": "Stop · 停止", "disabled": False}]
    assert out["switching"] == ["Switching to Whisper · 耳语… waiting for Asterisk to confirm.", [True, True, True]]
    assert out["asked"] == ["Switching to Barge · 强插… waiting for Asterisk to confirm.", False]  # Stop stays usable
    assert out["taken"] == ["Intercepted · 已拦截 — you are talking with the caller",
                            "Taken over from Li Na (1001) — 13800138000 Zhang Wei", [], "Hang up · 挂机", False]
    assert out["interceptingNow"] == ["Live · 监控中 — taking the caller over…", True]
    assert out["stalled"] == ["Live · 监控中 — the intercept has not happened (see Audit); you can try again", False]
    assert out["down"] is True
    assert out["confirm"] == [False, True, True, False, True, True, False, True, False, True, True, False]
    assert out["pendingText"] == "Calling your phone for Barge · 强插… waiting for Asterisk to confirm."


async def test_the_servers_alerts_are_worded_ordered_and_given_their_action(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const sv = await import('/static/supervision.js');
        const now = 100000;
        const nameOf = (id) => `Agent ${id}`;
        // as ctiserver/supervision/alerts.py raises them
        const alerts = [
            {key: 'wait:Q1', kind: 'wait', level: 'warn', since: now - 50, limit: 45, linkedid: 'Q1',
             caller_number: '137', caller_name: '', queue: 'support', action: {kind: 'force_ready', agent: '1005'}},
            {key: 'wait:Q2', kind: 'wait', level: 'warn', since: now - 50, limit: 45, linkedid: 'Q2',
             caller_number: '136', queue: 'sales', action: null},
            {key: 'hold:H1', kind: 'hold', level: 'bad', since: now - 45, limit: 20, linkedid: 'H1', agent: '1002',
             caller_number: '139', caller_name: 'Li Lei', action: {kind: 'monitor', linkedid: 'H1'}},
            {key: 'hold:H2', kind: 'hold', level: 'warn', since: now - 21, limit: 20, linkedid: 'H2', agent: '1900',
             caller_number: '135', action: {kind: 'monitor', linkedid: 'H2'}},
            {key: 'busy:1004', kind: 'busy', level: 'warn', since: now - 901, limit: 900, agent: '1004',
             reason: 'break', action: {kind: 'force_ready', agent: '1004'}},
            {key: 'wrapup:1007', kind: 'wrapup', level: 'warn', since: now - 130, limit: 120, agent: '1007',
             reason: '', action: {kind: 'force_ready', agent: '1007'}},
        ];
        const calls = new Map([['H1', {linkedid: 'H1', state: 'held', held: true}]]);
        const short = (list) => list.map((a) => [a.key, a.level, a.text, a.action && a.action.kind,
                                                 a.action && (a.action.agent || null), Math.round(a.seconds)]);
        const views = sv.alertViews(alerts, {now, calls, me: '1900', nameOf});
        // the held call retrieved (the alert not cleared yet): listen at once
        const retrieved = sv.alertView(alerts[2], {now, call: {linkedid: 'H1', state: 'answered', held: false},
                                                   me: '1900', nameOf});
        return {views: short(views), labels: views.map((a) => a.action && a.action.label),
                retrieved: [retrieved.action.kind, retrieved.action.label]};
    }""")
    assert out["views"] == [  # worst (against its limit) first
        ["hold:H1", "bad", "139 Li Lei on hold by Agent 1002 · 保持过长", "listen_when_retrieved", None, 45],
        ["wait:Q1", "warn", "137 waiting in support · 客户等待", "force_ready", "1005", 50],
        ["wait:Q2", "warn", "136 waiting in sales · 客户等待", None, None, 50],
        ["wrapup:1007", "warn", "Agent 1007 in wrap-up · 话后过长", "force_ready", "1007", 130],
        ["hold:H2", "warn", "135 on hold by Agent 1900 · 保持过长", None, None, 21],  # the supervisor's own call
        ["busy:1004", "warn", "Agent 1004 busy (break) · 示忙过长", "force_ready", "1004", 901],
    ]
    assert out["labels"] == ["Listen when retrieved · 恢复后监听", "Force Agent 1005 ready · 强制示闲", None,
                             "Force ready · 强制示闲", None, "Force ready · 强制示闲"]
    assert out["retrieved"] == ["listen", "Listen · 监听"]


async def test_session_banner_and_audit_words(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const sv = await import('/static/supervision.js');
        const nameOf = (id) => ({'1900': 'Chen (1900)', '1001': 'Li Na (1001)'})[id] || id;
        const entry = (kind, data) => ({id: 1, kind, at: '2026-12-04T05:00:00+00:00', data: {supervisor: '1900',
                                        agent: '1001', ...data}, linkedid: 'L1', ref: 'WO-1'});
        return {
            banner: [sv.bannerText({kind: 'monitoring', active: true, mode: 'whisper', by: 'Chen'}),
                     sv.bannerText({kind: 'monitoring', active: true, mode: 'barge', by: 'Chen'}),
                     sv.bannerText({kind: 'monitoring', active: false, mode: null, by: null}), sv.bannerText(null)],
            ended: [sv.endedText({end_reason: 'call_ended'}), sv.endedText({end_reason: 'no_answer'}),
                    sv.endedText({end_reason: 'odd'})],
            labels: [sv.monitorLabel({supervisor: '1900', supervisor_name: 'Chen', mode: 'barge', state: 'active'}),
                     sv.monitorLabel({supervisor: '1900', supervisor_name: '', mode: 'listen', state: 'ringing'}),
                     sv.monitorLabel({supervisor: '1900', supervisor_name: 'Chen', mode: 'listen', state: 'intercepted'})],
            on: sv.monitorsOf([{linkedid: 'L1', supervisor: '1901', state: 'active'},
                               {linkedid: 'L2', supervisor: '1900', state: 'active'},
                               {linkedid: 'L1', supervisor: '1900', state: 'ringing'},
                               {linkedid: 'L1', supervisor: '1902', state: 'ended'}], 'L1').map((s) => s.supervisor),
            audit: [sv.auditCells(entry('monitor_mode', {from: 'listen', to: 'whisper'}), nameOf),
                    sv.auditCells(entry('monitor_ended', {mode: 'barge', why: 'stopped', seconds: 12.4}), nameOf),
                    sv.auditCells(entry('monitor_requested', {mode: 'listen', intercept: true}), nameOf),
                    sv.auditCells({...entry('intercept_failed', {error: 'refused'}), ref: null}, nameOf)],
        };
    }""")
    assert out["banner"] == ["Chen is whispering to you · 主管耳语中", "Chen is barging in · 主管强插中", "", ""]
    assert out["ended"] == ["Monitoring ended — the call ended · 监控已结束",
                            "Monitoring ended — your phone did not answer · 监控已结束", "Monitoring ended — odd · 监控已结束"]
    assert out["labels"] == ["Chen — Barge · 强插", "1900 — Listen (phone ringing)", "Chen — intercepted · 已拦截"]
    assert out["on"] == ["1900", "1901"]
    at, sup, agent = "2026-12-04T05:00:00+00:00", "Chen (1900)", "Li Na (1001)"
    assert out["audit"] == [
        {"at": at, "supervisor": sup, "agent": agent, "call": "WO-1", "what": "Switched mode · 切换模式",
         "mode": "Listen · 监听 → Whisper · 耳语", "detail": ""},
        {"at": at, "supervisor": sup, "agent": agent, "call": "WO-1", "what": "Monitoring ended · 结束监控",
         "mode": "Barge · 强插", "detail": "you stopped it; 12 s"},
        {"at": at, "supervisor": sup, "agent": agent, "call": "WO-1", "what": "Asked to monitor · 发起监控",
         "mode": "Listen · 监听", "detail": "to intercept"},
        {"at": at, "supervisor": sup, "agent": agent, "call": "L1", "what": "Intercept failed · 拦截失败",
         "mode": "", "detail": "refused"},
    ]
