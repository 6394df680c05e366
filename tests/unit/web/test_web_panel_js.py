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
