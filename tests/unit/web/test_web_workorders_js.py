"""The work-order logic of the panel (agent_web/workorders.js), page-free, in the real headless Chromium:
the write-up form's state (unsent edits, what a save sends, edits typed while one is on its way, the
network away, a refusal, a stale version's newer copy beside the agent's text), what localStorage
keeps, the checks before a submit, which lifecycle actions each role sees in each state (as
ctiserver/workorders/lifecycle.py allows them), and the status colour and due time.

Only the static files are served (these functions touch no server).
"""

from __future__ import annotations

from typing import Any

import pytest

from ctiserver.workorders.lifecycle import MOVES, Action, Role, Status
from tests.unit.web.test_web_panel_js import page  # noqa: F401  (the fixture: a blank page serving agent_web/)

pytestmark = pytest.mark.browser

FORM = {"categories": [{"name": "complaint", "subcategories": ["service", "fees"]},
                       {"name": "praise", "subcategories": []}],
        "urgencies": ["low", "high"], "departments": ["audit", "cards"], "required": ["category", "request"],
        "text_max": 20}


async def test_a_save_sends_only_what_changed_and_keeps_what_was_typed_meanwhile(page: Any) -> None:
    out = await page.evaluate("""async (form) => {
        const w = await import('/static/workorders.js');
        const subs = (c) => w.subcategoriesOf(form, c);
        const copy = {ref: 'WO-1', version: 0, status: 'draft', category: null, request: null};
        const st = w.formState(copy);
        const steps = {};
        steps.fresh = [w.nextSave(st), w.formStatus(st).kind];
        w.edit(st, 'category', 'complaint', subs);
        w.edit(st, 'subcategory', 'fees', subs);
        w.edit(st, 'request', 'Charged twice ', subs);
        steps.body = w.nextSave(st);
        steps.whileSending = [w.nextSave(st), w.formStatus(st).text];
        w.edit(st, 'request', 'Charged twice for one transfer', subs);   // typed on while it was on its way
        w.saved(st, {ref: 'WO-1', version: 1, status: 'draft', category: 'complaint', subcategory: 'fees',
                     request: 'Charged twice'}, 'database');              // the server trims
        steps.after = [st.version, Object.keys(st.dirty), w.formStatus(st).kind];
        steps.second = w.nextSave(st);
        w.saved(st, {ref: 'WO-1', version: 2, status: 'draft', category: 'complaint', subcategory: 'fees',
                     request: 'Charged twice for one transfer'}, 'database');
        steps.done = [w.nextSave(st), w.formStatus(st).text, w.hasUnsent(st)];
        // a new category drops a sub-category that is not its own, and sends it as null
        w.edit(st, 'category', 'praise', subs);
        steps.praise = [w.valueOf(st, 'subcategory'), w.nextSave(st)];
        return steps;
    }""", FORM)
    assert out["fresh"] == [None, ""]
    assert out["body"] == {"version": 0, "category": "complaint", "subcategory": "fees", "request": "Charged twice "}
    assert out["whileSending"] == [None, "Saving… · 保存中"]
    assert out["after"] == [1, ["request"], "saving"]
    assert out["second"] == {"version": 1, "request": "Charged twice for one transfer"}
    assert out["done"] == [None, "Saved · 已保存", False]
    assert out["praise"] == ["", {"version": 2, "category": "praise", "subcategory": None}]


async def test_network_refusal_journal_and_what_localstorage_keeps(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const w = await import('/static/workorders.js');
        const copy = {ref: 'WO-2', version: 3, status: 'draft', notes: 'old'};
        const st = w.formState(copy);
        w.edit(st, 'notes', 'new note');
        w.nextSave(st);
        const net = w.failed(st, {status: 0, code: 'network', message: 'unreachable'});
        const offline = [net, w.formStatus(st).text, w.record(st, '1001'), w.nextSave(st) !== null];
        w.failed(st, {status: 503, code: 'unavailable'});
        const refusedSt = w.formState(copy);
        w.edit(refusedSt, 'notes', 'bell');
        w.nextSave(refusedSt);
        const refused = [w.failed(refusedSt, {status: 400, code: 'invalid', message: 'notes must not contain control characters', field: 'notes'}),
                         w.formStatus(refusedSt), w.nextSave(refusedSt)];
        w.edit(refusedSt, 'notes', 'fine');      // editing again tries again
        const retried = w.nextSave(refusedSt);
        const j = w.formState(copy);
        w.edit(j, 'notes', 'x');
        w.nextSave(j);
        w.saved(j, {ref: 'WO-2', version: 4, status: 'draft', notes: 'x'}, 'journal');
        // localStorage: per user, per work order
        const mem = new Map();
        const storage = {getItem: (k) => mem.get(k) ?? null, setItem: (k, v) => mem.set(k, String(v)),
                         removeItem: (k) => mem.delete(k)};
        const a = w.localDrafts(storage, '1001'), b = w.localDrafts(storage, '1002');
        a.keep('WO-2', w.record(st, '1001'));
        a.setCurrent('WO-2'); a.setCurrent('WO-9'); a.setCurrent('WO-2');
        const kept = [a.edits('WO-2').fields, b.edits('WO-2'), a.opened()];
        a.done('WO-2');
        const broken = w.localDrafts({getItem: () => '{bad json', setItem: () => { throw new Error('full'); },
                                      removeItem: () => {}}, '1001');
        broken.keep('WO-3', {x: 1});
        return {offline, refused, retried, journal: w.formStatus(j).text, kept, afterDone: [a.edits('WO-2'), a.opened()],
                broken: [broken.edits('WO-3'), broken.opened()]};
    }""")
    assert out["offline"] == ["retry", "Saved locally, will send · 本地已存 — the server cannot be reached now",
                              {"ref": "WO-2", "user": "1001", "version": 3, "fields": {"notes": "new note"},
                               "conflict": None, "at": out["offline"][2]["at"]}, True]
    assert out["refused"][0] == "refused"
    assert out["refused"][1] == {"kind": "refused", "field": "notes",
                                 "text": "Not saved: notes must not contain control characters (notes) · 未保存"}
    assert out["refused"][2] is None  # not repeated on its own
    assert out["retried"] == {"version": 3, "notes": "fine"}
    assert out["journal"].startswith("Saved · 已保存 — in the server's journal")
    assert out["kept"] == [{"notes": "new note"}, None, {"current": "WO-2", "drafts": ["WO-2", "WO-9"]}]
    assert out["afterDone"] == [None, {"current": None, "drafts": ["WO-9"]}]
    assert out["broken"] == [None, {"current": None, "drafts": []}]


async def test_a_stale_version_shows_the_newer_copy_and_keeps_the_agents_text(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const w = await import('/static/workorders.js');
        const st = w.formState({ref: 'WO-3', version: 2, status: 'draft', request: 'old', notes: 'n', urgency: 'low'});
        w.edit(st, 'request', 'mine');
        w.edit(st, 'notes', 'my note');
        w.nextSave(st);
        const what = w.failed(st, {status: 409, code: 'stale_version', message: 'changed', field: 'version'});
        // someone else changed the request and the urgency, not the notes
        const conflicted = w.rebase(st, {ref: 'WO-3', version: 3, status: 'draft', request: 'theirs', notes: 'n', urgency: 'high'});
        const during = [what, conflicted, w.values(st), st.conflict, w.nextSave(st), w.formStatus(st).kind];
        const rec = w.record(st, '1001');
        const reloaded = w.formState({ref: 'WO-3', version: 3, status: 'draft', request: 'theirs', notes: 'n', urgency: 'high'}, rec);
        w.keepMine(st);
        const mine = w.nextSave(st);
        // taking theirs instead drops the agent's edit of that field only
        const t = w.formState({ref: 'WO-3', version: 3, status: 'draft', request: 'theirs', notes: 'n'}, rec);
        w.takeTheirs(t, 'request');
        // edits kept from before a reload whose save did reach the server are not sent again
        const landed = w.formState({ref: 'WO-4', version: 5, status: 'draft', notes: 'typed'},
                                   {version: 4, fields: {notes: 'typed'}});
        // edits kept on an older version the server moved past: shown against the newer copy first
        const older = w.formState({ref: 'WO-4', version: 6, status: 'draft', notes: 'other'},
                                  {version: 4, fields: {notes: 'typed'}});
        const submitted = w.formState({ref: 'WO-5', version: 6, status: 'submitted'}, {version: 6, fields: {notes: 'late'}});
        return {during, reloadedConflict: reloaded.conflict, mine, theirs: [w.values(t).request, t.conflict],
                landed: [w.hasUnsent(landed), landed.conflict], older: [older.conflict, w.nextSave(older)],
                submitted: w.nextSave(submitted)};
    }""")
    what, conflicted, values, conflict, blocked, kind = out["during"]
    assert (what, conflicted, blocked, kind) == ("reload", True, None, "conflict")
    assert values["request"] == "mine" and values["notes"] == "my note" and values["urgency"] == "high"
    assert conflict == {"version": 3, "theirs": {"request": "theirs"}}
    assert out["reloadedConflict"] == conflict  # a reload keeps the conflict, it is not silently overwritten
    assert out["mine"] == {"version": 3, "request": "mine", "notes": "my note"}
    assert out["theirs"] == ["theirs", None]
    assert out["landed"] == [False, None]
    assert out["older"] == [{"version": 6, "theirs": {"notes": "other"}}, None]
    assert out["submitted"] is None


async def test_what_a_submit_needs(page: Any) -> None:
    out = await page.evaluate("""async (form) => {
        const w = await import('/static/workorders.js');
        const v = (x) => ({category: '', subcategory: '', request: '', answer: '', notes: '', department: '', ...x});
        return [
            w.checkSubmit(v({}), form, false),
            w.checkSubmit(v({category: 'complaint', request: 'r'}), form, false),
            w.checkSubmit(v({category: 'complaint', subcategory: 'fees', request: '  '}), form, false),
            w.checkSubmit(v({category: 'praise', request: 'r', notes: 'x'.repeat(21)}), form, false),
            w.checkSubmit(v({category: 'praise', request: 'r'}), form, false),
            w.checkSubmit(v({category: 'praise', request: 'r'}), {...form, required: ['department']}, true),
            w.checkSubmit(v({category: 'praise', request: 'r'}), {...form, required: ['department']}, false),
        ];
    }""", FORM)
    assert out == [{"field": "category", "message": "category is required before submitting"},
                   {"field": "subcategory", "message": "subcategory is required before submitting"},
                   {"field": "request", "message": "request is required before submitting"},
                   {"field": "notes", "message": "notes must be at most 20 characters"},
                   None, None,
                   {"field": "department", "message": "department is required before submitting"}]


async def test_the_actions_each_role_sees_are_the_ones_the_lifecycle_allows(page: Any) -> None:
    page_moves = await page.evaluate("""async () => {
        const w = await import('/static/workorders.js');
        const states = ['draft', 'submitted', 'accepted', 'assigned', 'in_progress', 'completed', 'callback',
                        'closed', 'withdrawn'];
        const out = {};
        for (const role of ['agent', 'handler', 'supervisor', 'admin']) {
            for (const s of states) {
                const acts = w.actionsFor({status: s}, new Set([role])).map((a) => a.action);
                if (w.canWriteUp({status: s}, new Set([role]))) acts.push('save', 'submit');
                out[role + ':' + s] = acts.sort();
            }
        }
        return out;
    }""")
    for role in Role:
        for status in Status:
            allowed = sorted(a.value for a in Action if role in MOVES.get((a, status), ()))
            assert page_moves[f"{role}:{status}"] == allowed, (role, status)

    out = await page.evaluate("""async () => {
        const w = await import('/static/workorders.js');
        const me = (id, role = 'agent') => ({id, role});
        const wo = {status: 'in_progress', agent_id: '1001', submitted_by: '1001', department: 'cards', assignee: '1003'};
        const roles = (m, deps) => [...w.rolesOf(wo, m, deps)].sort();
        return {
            agent: roles(me('1001')), assignee: roles(me('1003')), member: roles(me('1004'), ['cards']),
            stranger: roles(me('1002')), boss: roles(me('1900', 'supervisor')), admin: roles(me('9', 'admin')),
            deps: w.departmentsFrom([{why: 'department', department: 'cards'}, {why: 'callback', department: 'audit'},
                                     {why: 'department', department: 'audit'}], ['deposits']),
            deferredTwice: w.actionsFor({status: 'in_progress', deferred: true}, new Set(['handler'])).map((a) => a.action),
            checks: [w.checkAction('log', {comment: ' '}), w.checkAction('assign', {}),
                     w.checkAction('callback', {comment: 'ok'}), w.checkAction('close', {}),
                     w.checkAction('callback', {comment: 'ok', satisfaction: 'satisfied'})],
            bodies: [w.actionBody('assign', 4, {department: '', assignee: ' 1003 ', comment: ''}),
                     w.actionBody('callback', 7, {satisfaction: 'unsatisfied', comment: 'still wrong'}),
                     w.actionBody('close', 8, {comment: '', department: 'cards'})],
        };
    }""")
    assert out["agent"] == ["agent"]
    assert out["assignee"] == ["handler"]
    assert out["member"] == ["handler"]
    assert out["stranger"] == []
    assert out["boss"] == ["supervisor"]
    assert out["admin"] == ["admin", "supervisor"]
    assert out["deps"] == ["audit", "cards", "deposits"]
    assert out["deferredTwice"] == ["assign", "log", "complete", "note"]  # no second deferral
    assert [c and c["field"] for c in out["checks"]] == ["comment", "department", "satisfaction", None, None]
    assert out["bodies"] == [{"version": 4, "assignee": "1003"},
                             {"version": 7, "comment": "still wrong", "satisfaction": "unsatisfied"},
                             {"version": 8}]


async def test_colour_due_time_tasks_and_history_words(page: Any) -> None:
    out = await page.evaluate("""async () => {
        const w = await import('/static/workorders.js');
        const now = Date.parse('2026-11-23T10:00:00Z') / 1000;
        const due = (mins) => new Date((now + mins * 60) * 1000).toISOString();
        return {
            colours: [w.colourOf({status: 'draft', colour: 'grey'}, now),
                      w.colourOf({status: 'submitted', colour: 'orange', due_at: due(30)}, now),
                      w.colourOf({status: 'in_progress', colour: 'amber', due_at: due(5)}, now),
                      w.colourOf({status: 'in_progress', colour: 'amber', due_at: due(-1)}, now),  // passed meanwhile
                      w.colourOf({status: 'closed', colour: 'black', due_at: due(-99)}, now),
                      w.colourOf({status: 'withdrawn'}, now), w.colourOf({status: 'accepted'}, now), w.colourOf(null, now)],
            due: [w.dueText({status: 'submitted', due_at: due(90)}, now).replace(/\\d\\d:\\d\\d \\(/, 'HH:MM ('),
                  w.dueText({status: 'in_progress', due_at: due(-2)}, now).replace(/due \\d\\d:\\d\\d/, 'due HH:MM'),
                  w.dueText({status: 'closed', due_at: due(-2)}, now), w.dueText({status: 'submitted'}, now)],
            counts: w.countParts({department: 2, assigned: 0, callback: 1, to_forward: 0}),
            pushes: [w.changesTasks({why: 'save'}), w.changesTasks({why: 'submit'}), w.changesTasks({why: 'overdue'}),
                     w.changesTasks(null)],
            what: [w.taskWhat({category: 'complaint', subcategory: 'fees', summary: 'Charged twice'}),
                   w.taskWhat({caller_number: '13800138000'}), w.taskWhat({category: 'gossip'})],
            history: [w.historyLine({at: '2026-11-23T10:00:00Z', actor: '1001', role: 'agent', action: 'save',
                                     from: 'draft', to: 'draft', comment: null,
                                     data: {fields: {category: 'complaint', subcategory: 'fees'}}}, {'1001': '李娜 Li Na'}),
                      w.historyLine({at: '2026-11-23T10:05:00Z', actor: '1001', role: 'agent', action: 'callback',
                                     from: 'completed', to: 'submitted', comment: 'still charged <b>twice</b>',
                                     data: {satisfaction: 'unsatisfied', repeats: 1, department: 'audit'}})],
            facts: w.factRows({status: 'submitted', channel: 'letter', customer_no: 'C0002', customer_name: '李强',
                               category: 'complaint', subcategory: 'fees', request: '<img src=x>', repeats: 0}),
            names: [w.nameLabel('complaint'), w.nameLabel('my_own_kind'), w.statusLabel(null), w.channelLabel(null)],
        };
    }""")
    assert out["colours"] == ["grey", "orange", "amber", "red", "black", "black", "orange", "grey"]
    assert out["due"][0] == "due HH:MM (in 1:30:00) · 到期"
    assert out["due"][1] == "overdue by 2:00 (due HH:MM) · 已超时"
    assert out["due"][2:] == ["", ""]
    assert out["counts"] == [{"why": "department", "label": "For your department · 部门待办", "count": 2},
                             {"why": "callback", "label": "Callbacks due · 待回访", "count": 1}]
    assert out["pushes"] == [False, True, True, False]  # a draft saved is in nobody's task bar
    assert out["what"] == ["Complaint / Fees: Charged twice", "13800138000", "gossip"]
    save, callback = out["history"]
    assert (save["who"], save["what"], save["change"], save["details"]) == (
        "李娜 Li Na (1001) · agent", "Saved · 保存", "", "changed category, sub-category")
    assert (callback["what"], callback["change"], callback["comment"]) == (
        "Callback · 回访", "Completed · 已完成 → Submitted · 已提交", "still charged <b>twice</b>")
    assert callback["details"] == "to Audit · 审核部; Unsatisfied · 不满意; repeat complaint #1 · 二次投诉"
    assert out["facts"] == [["Status · 状态", "Submitted · 已提交"], ["Channel · 渠道", "Letter · 信函"],
                            ["Customer · 客户", "李强 · C0002"], ["Category · 分类", "Complaint · 投诉 / Fees · 收费"],
                            ["Request · 诉求", "<img src=x>"]]
    assert out["names"] == ["Complaint · 投诉", "my_own_kind", "Draft · 草稿", "Call · 来电"]


async def test_the_server_says_which_actions_the_page_offers_and_what_wrap_up_lacks(page: Any) -> None:
    out = await page.evaluate("""async (form) => {
        const w = await import('/static/workorders.js');
        const f = {...form, wrapup_required: ['category', 'request']};
        const given = {status: 'in_progress', allowed_actions: ['assign', 'log', 'complete', 'note']};
        return {
            offered: w.actionsFor(given, new Set(['supervisor'])).map((a) => a.action),  // roles ignored: the server's list
            fallback: w.actionsFor({status: 'in_progress'}, new Set(['handler'])).map((a) => a.action),
            writeUp: [w.canWriteUp({status: 'draft', allowed_actions: ['note']}, new Set(['agent'])),
                      w.canWriteUp({status: 'draft', allowed_actions: ['save', 'submit', 'note']}, new Set())],
            lacking: [w.wrapupMissing({}, f), w.wrapupMissing({category: 'complaint'}, f),
                      w.wrapupMissing({category: 'praise', request: ' x '}, f), w.wrapupMissing({}, form)],
            words: w.fieldWords(['subcategory', 'request']),
            query: [w.searchQuery({q: ' 重复收费 ', caller: '', status: 'draft', overdue: false}),
                    w.searchQuery({overdue: true, from: '2026-12-01'}, '123_4')],
            history: w.historyLine({at: '2026-12-04T08:00:00+00:00', actor: '1003', actor_name: '刘洋 Liu Yang',
                                   role: 'handler', action: 'defer', from: 'in_progress', to: 'in_progress',
                                   data: {deferred: true, days: 5}}).who,
            flagged: w.historyLine({at: '2026-12-04T08:00:00+00:00', actor: 'system', actor_name: 'system',
                                   role: 'system', action: 'wrapup_incomplete', from: 'draft', to: 'draft',
                                   data: {missing: ['request']}}),
        };
    }""", FORM)
    assert out["offered"] == ["assign", "log", "complete", "note"]
    assert out["fallback"] == ["assign", "log", "defer", "complete", "note"]  # MOVES, when an answer has no list
    assert out["writeUp"] == [False, True]
    assert out["lacking"] == [["category", "request"], ["subcategory", "request"], [], []]
    assert out["words"] == "sub-category, request"
    assert out["query"] == ["q=%E9%87%8D%E5%A4%8D%E6%94%B6%E8%B4%B9&status=draft", "overdue=true&from=2026-12-01&after=123_4"]
    assert out["history"] == "刘洋 Liu Yang (1003) · handler"
    assert out["flagged"]["what"] == "Wrap-up ended unfinished · 话后超时未填完"
    assert "missing request" in out["flagged"]["details"]
