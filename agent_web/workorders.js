// Work orders, free of the page: the write-up form's state (what the server has, what the agent
// typed and has not yet got through, a stale version's newer copy), the unsent edits kept in
// localStorage, the checks a submit needs, which lifecycle actions a person's roles allow in
// each state (mirroring ctiserver/workorders/lifecycle.py; the API still decides), the status
// colour and due time, and the words for statuses, actions, tasks and history entries.

import * as f from "./format.js";

/** The fields of the write-up form, as the draft API names them. */
export const FIELDS = ["category", "subcategory", "urgency", "department", "summary", "request", "answer", "notes"];
/** The ones chosen from a list: "" in the page is null to the server (nothing chosen). */
export const CHOICES = ["category", "subcategory", "urgency", "department"];
/** How long after the last keystroke a draft is sent. */
export const SAVE_DELAY_MS = 700;
/** Unsent edits are tried again this often while the server cannot be reached. */
export const RETRY_MS = 3000;

/** Words for configured names the seeds use; anything else is shown as configured. */
const NAMES = {
  consultation: "Consultation · 咨询", complaint: "Complaint · 投诉", suggestion: "Suggestion · 建议",
  praise: "Praise · 表扬", fault_report: "Fault report · 故障报修", business_request: "Business request · 业务办理",
  account: "Account · 账户", card: "Card · 银行卡", loan: "Loan · 贷款", other: "Other · 其他",
  service: "Service · 服务", fees: "Fees · 收费", waiting: "Waiting · 等待", fault: "Fault · 故障",
  online: "Online banking · 网银", atm: "ATM · 自助设备",
  low: "Low · 低", normal: "Normal · 普通", high: "High · 高", urgent: "Urgent · 紧急",
  cards: "Cards · 银行卡部", deposits: "Deposits · 存款部", audit: "Audit · 审核部",
};

/** The label of a configured category, sub-category, urgency or department. */
export function nameLabel(name) {
  return NAMES[name] || String(name ?? "");
}

export const STATUS_LABELS = {
  draft: "Draft · 草稿", submitted: "Submitted · 已提交", accepted: "Accepted · 已受理", assigned: "Assigned · 已交办",
  in_progress: "In progress · 处理中", completed: "Completed · 已完成", callback: "Called back · 已回访",
  closed: "Closed · 已关闭", withdrawn: "Withdrawn · 已撤诉",
};

export function statusLabel(status) {
  return STATUS_LABELS[status || "draft"] || String(status);
}

/** How a work order without a call came in (forms.CHANNELS), and "call". */
export const CHANNELS = [
  { value: "letter", label: "Letter · 信函" }, { value: "email", label: "E-mail · 邮件" },
  { value: "walk_in", label: "Walk-in · 来访" }, { value: "web", label: "Web · 网站" },
  { value: "phone", label: "Phone · 电话" }, { value: "other", label: "Other · 其他" },
];

export function channelLabel(channel) {
  if (!channel || channel === "call") return "Call · 来电";
  const c = CHANNELS.find((x) => x.value === channel);
  return c ? c.label : channel;
}

export const SATISFACTION = [
  { value: "satisfied", label: "Satisfied · 满意" },
  { value: "basically_satisfied", label: "Basically satisfied · 基本满意" },
  { value: "unsatisfied", label: "Unsatisfied · 不满意" },
];

export function satisfactionLabel(value) {
  const s = SATISFACTION.find((x) => x.value === value);
  return s ? s.label : String(value ?? "");
}

// -- the write-up form --------------------------------------------------------------------

/** A field's value as the server would store it, for comparing (null and "" alike, trimmed, \n lines). */
export function clean(value) {
  return String(value ?? "").replace(/\r\n/g, "\n").trim();
}

const same = (a, b) => clean(a) === clean(b);

/** The form fields of a work order as the page shows them ("" for none). */
export function fieldsOf(wo) {
  return Object.fromEntries(FIELDS.map((k) => [k, (wo && wo[k]) ?? ""]));
}

/**
 * The form's state for one work order: ``copy`` is the server's (GET or an action's answer),
 * ``saved`` what localStorage kept of unsent edits ({version, fields, conflict}), if any.
 *
 * Edits the server already has are dropped. Edits made on an older version than the server's
 * now are not sent on their own: they were typed over a copy someone (or an answer that never
 * came back) changed since, so the newer copy is shown beside them first.
 */
export function formState(copy, saved = null) {
  const st = {
    ref: copy.ref, version: Number(copy.version) || 0, status: copy.status || "draft", server: fieldsOf(copy),
    dirty: {}, sending: null, conflict: null, refused: null, saved: null, held: false,
  };
  if (saved && saved.fields) {
    for (const [k, v] of Object.entries(saved.fields)) if (FIELDS.includes(k)) st.dirty[k] = v;
    dropSent(st);
    if (saved.conflict) st.conflict = { version: saved.conflict.version, theirs: { ...saved.conflict.theirs } };
    else if (Object.keys(st.dirty).length && Number(saved.version) !== st.version) {
      st.conflict = conflictOf(st, null);
    }
  }
  return st;
}

/** What the form shows for a field: the agent's edit, else the server's value. */
export function valueOf(st, field) {
  return field in st.dirty ? st.dirty[field] : st.server[field];
}

/** All fields as shown. */
export function values(st) {
  return Object.fromEntries(FIELDS.map((k) => [k, valueOf(st, k)]));
}

/**
 * The agent changed a field. A new category drops a sub-category that is not one of its own
 * (``subsOf(category)``: its sub-categories), as the server does. A refused save is tried again
 * once the agent edits something.
 */
export function edit(st, field, value, subsOf = () => []) {
  st.dirty[field] = value ?? "";
  if (field === "category") {
    const sub = valueOf(st, "subcategory");
    if (sub && !subsOf(value).includes(sub)) st.dirty.subcategory = "";
  }
  st.held = false;
  st.refused = null;
}

function dropSent(st) {
  for (const k of Object.keys(st.dirty)) {
    if (same(st.dirty[k], st.server[k]) && !(st.sending && k in st.sending)) delete st.dirty[k];
  }
}

/** The unsent edits, as the draft API takes them (choices "" as null). */
export function outgoing(st) {
  const body = {};
  for (const [k, v] of Object.entries(st.dirty)) {
    if (same(v, st.server[k])) continue;
    body[k] = CHOICES.includes(k) && clean(v) === "" ? null : v;
  }
  return body;
}

/** Whether the form has edits the server does not have yet. */
export function hasUnsent(st) {
  return Object.keys(outgoing(st)).length > 0 || st.sending !== null;
}

/**
 * The request to send now, or null: nothing new, one already on its way, a conflict the agent
 * has not settled, a refusal the agent has not edited since, or no longer a draft.
 */
export function nextSave(st) {
  if (st.sending || st.conflict || st.held || st.status !== "draft") return null;
  const body = outgoing(st);
  if (!Object.keys(body).length) return null;
  st.sending = { ...st.dirty };
  return { version: st.version, ...body };
}

/** The server took the save: ``copy`` is its answer, ``where`` "database" or "journal" (PostgreSQL away). */
export function saved(st, copy, where) {
  const sent = st.sending || {};
  st.sending = null;
  st.server = fieldsOf(copy);
  st.version = Number(copy.version) || 0;
  st.status = copy.status || "draft";
  for (const [k, v] of Object.entries(sent)) {
    if (k in st.dirty && st.dirty[k] === v) delete st.dirty[k]; // not edited again while it was on its way
  }
  dropSent(st);
  st.saved = where === "journal" ? "journal" : "database";
  st.refused = null;
}

/**
 * The save did not get through. ``err`` is an ApiError (status 0: the network). The network,
 * 5xx and 503 keep the edits to send again; 409 ``stale_version`` waits for the newer copy
 * (``rebase``); any other refusal is shown with its field and not repeated until the agent
 * edits again.
 */
export function failed(st, err) {
  st.sending = null;
  const status = Number(err && err.status) || 0;
  if (status === 0 || status >= 500 || status === 408 || status === 429) {
    st.saved = "local";
    return "retry";
  }
  if (status === 409 && err.code === "stale_version") return "reload";
  st.held = true;
  st.refused = { message: (err && err.message) || "The server refused the change.", field: (err && err.field) || null };
  return "refused";
}

function conflictOf(st, before) {
  const theirs = {};
  for (const k of Object.keys(st.dirty)) {
    if (!before || !same(before[k], st.server[k])) theirs[k] = st.server[k];
  }
  return { version: st.version, theirs };
}

/**
 * A newer copy came (after a 409, or a push naming a newer version): fields the agent did not
 * touch follow it; the agent's own text is kept, and where the newer copy differs from what
 * the agent typed over, it is shown beside it until the agent keeps theirs or takes the newer.
 */
export function rebase(st, newer) {
  const before = st.server;
  st.server = fieldsOf(newer);
  st.version = Number(newer.version) || 0;
  st.status = newer.status || "draft";
  st.sending = null;
  dropSent(st);
  const c = conflictOf(st, before);
  const changed = Object.keys(c.theirs).length > 0;
  st.conflict = changed ? c : null;
  if (!changed && st.saved !== "local") st.saved = null;
  return changed;
}

/** Keep the agent's text over the newer copy: it is sent on that copy's version. */
export function keepMine(st) {
  st.conflict = null;
  st.held = false;
}

/** Take the newer copy's value of one field (the agent's edit of it is dropped). */
export function takeTheirs(st, field) {
  delete st.dirty[field];
  if (st.conflict) {
    delete st.conflict.theirs[field];
    if (!Object.keys(st.conflict.theirs).length) st.conflict = null;
  }
}

/** What localStorage keeps of the form: the unsent edits, the version they were made on, a conflict. */
export function record(st, user) {
  const fields = {};
  for (const [k, v] of Object.entries(st.dirty)) if (!same(v, st.server[k])) fields[k] = v;
  if (!Object.keys(fields).length) return null;
  const conflict = st.conflict ? { version: st.conflict.version, theirs: { ...st.conflict.theirs } } : null;
  return { ref: st.ref, user: String(user), version: st.version, fields, conflict, at: Date.now() };
}

/**
 * The form's status line: {kind, text, field}. kind: saving, saved, journal, local, conflict,
 * refused, or "" (nothing to say yet).
 */
export function formStatus(st) {
  if (st.conflict) {
    return { kind: "conflict", field: null, text: `Changed elsewhere meanwhile (now version ${st.conflict.version}): `
      + "the newer copy is shown under your text, which is kept · 他人已修改，您的内容已保留" };
  }
  if (st.refused) {
    const r = st.refused;
    return { kind: "refused", field: r.field, text: `Not saved: ${r.message}${r.field ? ` (${r.field})` : ""} · 未保存` };
  }
  if (st.saved === "local" && hasUnsent(st)) {
    return { kind: "local", field: null, text: "Saved locally, will send · 本地已存 — the server cannot be reached now" };
  }
  if (st.sending) return { kind: "saving", field: null, text: "Saving… · 保存中" };
  if (hasUnsent(st)) return { kind: "saving", field: null, text: "Editing… · 编辑中" };
  if (st.saved === "journal") {
    return { kind: "journal", field: null, text: "Saved · 已保存 — in the server's journal, written to the database when it is back" };
  }
  if (st.saved) return { kind: "saved", field: null, text: "Saved · 已保存" };
  return { kind: "", field: null, text: "" };
}

/**
 * The first thing a submit lacks, as the server checks it (forms.missing_for_submit), or null:
 * {field, message}. ``form`` is GET /api/workorders/form; ``resolved``: settled on the call (no
 * department needed).
 */
export function checkSubmit(vals, form, resolved) {
  const max = Number(form && form.text_max) || 4000;
  for (const k of ["request", "answer", "notes"]) {
    if (clean(vals[k]).length > max) return { field: k, message: `${k} must be at most ${max} characters` };
  }
  for (const k of (form && form.required) || []) {
    if (clean(vals[k]) === "" && !(resolved && k === "department")) {
      return { field: k, message: `${k} is required before submitting` };
    }
  }
  const subs = subcategoriesOf(form, vals.category);
  if (clean(vals.category) && subs.length && !clean(vals.subcategory)) {
    return { field: "subcategory", message: "subcategory is required before submitting" };
  }
  return null;
}

/** The sub-categories of a category in the form's tree. */
export function subcategoriesOf(form, category) {
  const c = ((form && form.categories) || []).find((x) => x.name === category);
  return c ? c.subcategories || [] : [];
}

// -- who may do what ----------------------------------------------------------------------

const CENTER = ["agent", "supervisor", "admin"]; // the call center's side
const DESK = ["handler", "supervisor", "admin"]; // who dispatches to a department
const WORK = ["handler", "admin"]; // who does the department's work
const ALL = ["agent", "handler", "supervisor", "admin"];
const OPEN = ["submitted", "accepted", "assigned", "in_progress", "completed", "callback"];
const FINAL = ["closed", "withdrawn"];

/** (action, from state) -> the roles that may take it there (lifecycle.MOVES). */
const MOVES = {
  "save:draft": CENTER,
  "submit:draft": CENTER,
  "accept:submitted": DESK,
  "assign:accepted": DESK, "assign:assigned": DESK, "assign:in_progress": DESK,
  "start:accepted": WORK, "start:assigned": WORK,
  "log:in_progress": WORK, "defer:in_progress": WORK, "complete:in_progress": WORK,
  "callback:completed": CENTER,
  "close:callback": CENTER, "close:completed": ["supervisor", "admin"],
  "reactivate:closed": ["supervisor", "admin"],
  ...Object.fromEntries(OPEN.map((s) => [`withdraw:${s}`, CENTER])),
  ...Object.fromEntries([...OPEN, ...FINAL, "draft"].map((s) => [`note:${s}`, ALL])),
};

/**
 * The lifecycle actions the page offers, in this order, with what each asks for: comment
 * "required" | "optional", and the extra inputs (department, assignee, satisfaction).
 */
export const ACTIONS = [
  { action: "accept", label: "Accept · 受理", comment: "optional" },
  { action: "assign", label: "Assign · 交办", comment: "optional", department: true, assignee: true },
  { action: "start", label: "Start · 开始处理", comment: "optional" },
  { action: "log", label: "Log a step · 记录进展", comment: "required" },
  { action: "defer", label: "Defer · 暂缓", comment: "required" },
  { action: "complete", label: "Complete · 完成", comment: "required" },
  { action: "callback", label: "Callback · 回访", comment: "required", satisfaction: true },
  { action: "close", label: "Close · 关闭", comment: "optional" },
  { action: "reactivate", label: "Reactivate · 激活", comment: "required" },
  { action: "withdraw", label: "Withdraw · 撤诉", comment: "optional" },
  { action: "note", label: "Add a note · 备注", comment: "required" },
];

/** What the comment box is called for each action (the API's word for what it needs). */
export const COMMENT_LABELS = {
  log: "The step taken · 处理进展", defer: "Why it is deferred · 暂缓原因", complete: "The answer · 处理结果",
  callback: "The customer's opinion · 客户意见", reactivate: "Why it is reactivated · 激活原因",
  withdraw: "Why the customer withdrew · 撤诉说明", note: "Note · 备注",
};

export function actionLabel(action) {
  if (action === "save") return "Saved · 保存";
  if (action === "wrapup_incomplete") return "Wrap-up ended unfinished · 话后超时未填完";
  if (action === "submit") return "Submitted · 提交";
  if (action === "create") return "Created · 创建";
  const a = ACTIONS.find((x) => x.action === action);
  return a ? a.label : String(action);
}

/**
 * The roles ``me`` ({id, role}) holds on a work order, as ctiserver/workorders/actions.py
 * roles_of decides them. ``departments``: the departments this person is known to handle (the
 * API does not say; the page learns them from the task bar, see departmentsFrom).
 */
export function rolesOf(wo, me, departments = []) {
  const roles = new Set();
  if (!me || !wo) return roles;
  const id = String(me.id);
  if (me.role === "admin") roles.add("admin");
  if (me.role === "supervisor" || me.role === "admin") roles.add("supervisor");
  if ((wo.assignee != null && String(wo.assignee) === id) || (wo.department && departments.includes(wo.department))) {
    roles.add("handler");
  }
  if ([wo.agent_id, wo.created_by, wo.submitted_by].some((x) => x != null && String(x) === id)) roles.add("agent");
  return roles;
}

/** The departments the task bar shows this person handles (work waiting there "for the department"). */
export function departmentsFrom(tasks, known = []) {
  const out = new Set(known);
  for (const w of tasks || []) if (w.why === "department" && w.department) out.add(w.department);
  return [...out].sort();
}

/**
 * The lifecycle actions (ACTIONS entries) this person may take on a work order now: the server's
 * ``allowed_actions`` when the answer has them (the one source), else what ``roles`` allow in its state.
 */
export function actionsFor(wo, roles) {
  if (wo && Array.isArray(wo.allowed_actions)) return ACTIONS.filter((a) => wo.allowed_actions.includes(a.action));
  const status = (wo && wo.status) || "draft";
  const mine = [...roles];
  return ACTIONS.filter((a) => {
    const who = MOVES[`${a.action}:${status}`];
    if (!who || !mine.some((r) => who.includes(r))) return false;
    if (a.action === "defer" && wo.deferred) return false; // deferred once already
    return true;
  });
}

/** Whether the write-up form (save and submit) is this person's for this work order. */
export function canWriteUp(wo, roles) {
  if (wo && Array.isArray(wo.allowed_actions)) return ((wo.status || "draft") === "draft") && wo.allowed_actions.includes("save");
  return ((wo && wo.status) || "draft") === "draft" && [...roles].some((r) => CENTER.includes(r));
}

/**
 * Check an action's inputs as the lifecycle does before asking: {field, message} or null.
 * (The server checks again and its refusal is shown the same way.)
 */
export function checkAction(action, input) {
  const spec = ACTIONS.find((a) => a.action === action);
  if (!spec) return { field: "action", message: `unknown action ${action}` };
  if (spec.comment === "required" && !clean(input.comment)) {
    return { field: "comment", message: `${COMMENT_LABELS[action] || "A comment"} is needed` };
  }
  if (action === "assign" && !clean(input.department) && !clean(input.assignee)) {
    return { field: "department", message: "Choose a department or name a person" };
  }
  if (action === "callback" && !SATISFACTION.some((s) => s.value === input.satisfaction)) {
    return { field: "satisfaction", message: "Choose the customer's satisfaction" };
  }
  return null;
}

/** The JSON body of an action from the page's inputs. */
export function actionBody(action, version, input) {
  const body = { version };
  if (clean(input.comment)) body.comment = input.comment;
  if (action === "assign") {
    if (clean(input.department)) body.department = input.department;
    if (clean(input.assignee)) body.assignee = clean(input.assignee);
  }
  if (action === "callback") body.satisfaction = input.satisfaction;
  return body;
}

// -- colour, due time, tasks, history --------------------------------------------------------

export const COLOUR_LABELS = {
  black: "Closed · 已结", orange: "On time · 按时", amber: "Due soon · 即将到期", red: "Overdue · 已超时",
  grey: "Draft · 草稿",
};

/**
 * The status colour: the API's (black closed, orange open, amber close to due, red overdue, grey
 * draft), except that an open work order whose due time has passed on the server's clock is red
 * at once, before the next answer or push says so.
 */
export function colourOf(wo, now) {
  if (!wo) return "grey";
  const status = wo.status || "draft";
  if (FINAL.includes(status)) return "black";
  if (status === "draft") return "grey";
  const due = f.toEpoch(wo.due_at);
  if (due !== null && now !== undefined && now >= due) return "red";
  return wo.colour || "orange";
}

/** "due 14:30 (in 2:10:00)", "overdue by 0:05:12 (due 14:30)", or "" without a due time; dates when not today. */
export function dueText(wo, now) {
  const due = f.toEpoch(wo && wo.due_at);
  if (due === null || !wo || FINAL.includes(wo.status) || wo.status === "draft") return "";
  const at = f.day(due) === f.day(now) ? f.clock(due) : `${f.day(due)} ${f.clock(due)}`;
  if (now >= due) return `overdue by ${f.duration(now - due)} (due ${at}) · 已超时`;
  return `due ${at} (in ${f.duration(due - now)}) · 到期`;
}

export const WHY_LABELS = {
  department: "For your department · 部门待办", assigned: "Assigned to you · 指派给我",
  callback: "Callbacks due · 待回访", to_forward: "To forward · 待分派",
};

/**
 * Whether a ``workorder_task`` push can change what waits for anyone (and so the task bar): a draft
 * saved is pushed too (``why: "save"``), but no task bar lists drafts.
 */
export function changesTasks(push) {
  return Boolean(push) && push.why !== "save";
}

/** The task bar's counts as labelled parts, only those above zero (GET /api/workorders/tasks counts). */
export function countParts(counts) {
  return Object.entries(WHY_LABELS).filter(([k]) => (counts && counts[k]) > 0)
    .map(([k, label]) => ({ why: k, label, count: counts[k] }));
}

/** One line of a task in the task bar: what it is about. */
export function taskWhat(w) {
  const kind = [w.category && nameLabel(w.category).split(" · ")[0], w.subcategory && nameLabel(w.subcategory).split(" · ")[0]]
    .filter(Boolean).join(" / ");
  return [kind, w.summary || w.caller_name || w.customer_name || w.caller_number].filter(Boolean).join(": ");
}

const FIELD_WORDS = { category: "category", subcategory: "sub-category", urgency: "urgency", department: "department",
  summary: "summary", request: "request", answer: "answer", notes: "notes" };

/**
 * One history entry as words: {when, who, what, change, comment, details}. ``names``: id -> name
 * (people the page knows), else the id is shown.
 */
export function historyLine(h, names = {}) {
  const name = h.actor_name && h.actor_name !== h.actor ? h.actor_name : names[h.actor];
  const who = name ? `${name} (${h.actor})` : String(h.actor ?? "");
  const change = h.from && h.to && h.from !== h.to ? `${statusLabel(h.from)} → ${statusLabel(h.to)}` : "";
  const d = h.data || {};
  const details = [];
  if (d.fields) details.push(`changed ${Object.keys(d.fields).map((k) => FIELD_WORDS[k] || k).join(", ")}`);
  if (d.resolved === true) details.push("resolved on the call · 已解决");
  if (d.department) details.push(`to ${nameLabel(d.department)}`);
  if (d.assignee) details.push(`assigned to ${d.assignee}`);
  if (d.satisfaction) details.push(satisfactionLabel(d.satisfaction));
  if (d.repeats) details.push(`repeat complaint #${d.repeats} · 二次投诉`);
  if (d.deferred) details.push("deferred · 暂缓");
  if (d.channel) details.push(channelLabel(d.channel));
  if (d.days) details.push(`${d.days} working days · 个工作日`);
  if (Array.isArray(d.missing)) details.push(`missing ${d.missing.map((k) => FIELD_WORDS[k] || k).join(", ")} · 未填写`);
  return { when: `${f.day(h.at)} ${f.clockSeconds(h.at)}`, who: `${who}${h.role ? ` · ${h.role}` : ""}`,
    what: actionLabel(h.action), change, comment: h.comment || "", details: details.join("; ") };
}

/** The facts of a work order as [label, value] rows, those that have a value (text, never markup). */
export function factRows(wo) {
  const customer = [wo.customer_name, wo.customer_no].filter(Boolean).join(" · ");
  const rows = [
    ["Status · 状态", statusLabel(wo.status)],
    ["Channel · 渠道", channelLabel(wo.channel)],
    ["Caller · 来电", [wo.caller_number, wo.caller_name].filter(Boolean).join(" ")],
    ["Customer · 客户", customer],
    ["Category · 分类", [wo.category, wo.subcategory].filter(Boolean).map(nameLabel).join(" / ")],
    ["Urgency · 紧急程度", wo.urgency ? nameLabel(wo.urgency) : ""],
    ["Department · 部门", wo.department ? nameLabel(wo.department) : ""],
    ["Assignee · 经办人", wo.assignee || ""],
    ["Agent · 坐席", wo.agent_id || wo.created_by || ""],
    ["Summary · 摘要", wo.summary || ""],
    ["Request · 诉求", wo.request || ""],
    ["Answer given · 答复", wo.answer || ""],
    ["Department's answer · 处理结果", wo.resolution || ""],
    ["Satisfaction · 满意度", wo.satisfaction ? satisfactionLabel(wo.satisfaction) : ""],
    ["Opinion · 客户意见", wo.opinion || ""],
    ["Notes · 备注", wo.notes || ""],
    ["Repeats · 重复投诉", wo.repeats ? String(wo.repeats) : ""],
  ];
  return rows.filter(([, v]) => v !== "" && v !== null && v !== undefined);
}

// -- unsent edits in localStorage -------------------------------------------------------------

const EDITS = "cti.wo.edits.";
const OPEN_FORMS = "cti.wo.open.";

/**
 * The browser's memory of the write-up: unsent edits per work order (``cti.wo.edits.<ref>``) and,
 * per user, the work order in the form and the drafts opened there and not yet submitted
 * (``cti.wo.open.<user>``). ``storage`` is localStorage (or anything with its methods); a
 * storage that refuses (full, private mode) is ignored: the page still works, a reload then
 * loses what was not yet sent.
 */
export function localDrafts(storage, user) {
  const uid = String(user);
  const read = (key) => {
    try {
      const v = JSON.parse(storage.getItem(key) || "null");
      return v && typeof v === "object" ? v : null;
    } catch (err) {
      return null;
    }
  };
  const write = (key, value) => {
    try {
      if (value === null) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(value));
    } catch (err) {
      // full or refused: nothing more to do than carry on
    }
  };
  const openKey = OPEN_FORMS + uid;
  const opened = () => {
    const v = read(openKey) || {};
    return { current: typeof v.current === "string" ? v.current : null,
      drafts: Array.isArray(v.drafts) ? v.drafts.filter((r) => typeof r === "string") : [] };
  };
  return {
    /** The unsent edits of one work order made by this user, or null. */
    edits(ref) {
      const v = read(EDITS + ref);
      return v && v.user === uid && v.ref === ref ? v : null;
    },
    /** Keep (or, with null, forget) the unsent edits of one work order. */
    keep(ref, rec) {
      write(EDITS + ref, rec);
    },
    /** {current, drafts}: the work order in the form and the others opened there, not submitted. */
    opened,
    /** The form shows ``ref`` (null: nothing); it joins the drafts. */
    setCurrent(ref) {
      const o = opened();
      const drafts = ref && !o.drafts.includes(ref) ? [...o.drafts, ref] : o.drafts;
      write(openKey, { current: ref, drafts: drafts.slice(-20) });
    },
    /** ``ref`` was submitted (or is no longer a draft): off the list, its edits forgotten. */
    done(ref) {
      const o = opened();
      write(openKey, { current: o.current === ref ? null : o.current, drafts: o.drafts.filter((r) => r !== ref) });
      write(EDITS + ref, null);
    },
  };
}

// -- the wrap-up gate ---------------------------------------------------------------------------

/**
 * The fields the call's work order still needs before the agent may end wrap-up, in form order
 * (the server's forms.missing_fields over ``form.wrapup_required``; a category with sub-categories
 * needs one). [] when nothing is required or all is there.
 */
export function wrapupMissing(vals, form) {
  const required = (form && form.wrapup_required) || [];
  const lacking = new Set(required.filter((k) => clean(vals[k]) === ""));
  if (required.includes("category") && clean(vals.category) && subcategoriesOf(form, vals.category).length
    && !clean(vals.subcategory)) lacking.add("subcategory");
  return FIELDS.filter((k) => lacking.has(k));
}

/** The words for a list of form fields ("category, request"). */
export function fieldWords(fields) {
  return fields.map((k) => FIELD_WORDS[k] || k).join(", ");
}

// -- search -----------------------------------------------------------------------------------

/** The search filters the page offers, as GET /api/workorders/search names them. */
export const SEARCH_FILTERS = ["q", "caller", "customer", "category", "status", "overdue", "from", "to"];

/**
 * The query string of a search from the page's inputs (empty ones left out; overdue only when
 * ticked; ``after``: the next page's cursor). The export link takes the same filters.
 */
export function searchQuery(inputs, after = null) {
  const params = new URLSearchParams();
  for (const k of SEARCH_FILTERS) {
    const v = inputs[k];
    if (k === "overdue") {
      if (v === true) params.set(k, "true");
    } else if (clean(v) !== "") params.set(k, clean(v));
  }
  if (after) params.set("after", after);
  return params.toString();
}
