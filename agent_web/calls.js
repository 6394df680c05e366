// The call-control toolbar's logic, free of the page: which call is the agent's, its hold
// state and warning, what each button may do now, input checks mirroring the server's
// (ctiserver/calls/control.py), and when a push confirms what a button asked for.

/** Transfer kinds the server knows, with the seed's labels. */
export const TRANSFER_KINDS = [
  { value: "agent", label: "Agent · 转座席" },
  { value: "queue", label: "Queue · 转队列" },
  { value: "external", label: "Outside number · 转外线" },
];

/** Consult kinds (attended transfer): a colleague or an outside expert. */
export const CONSULT_KINDS = [
  { value: "agent", label: "Colleague · 内部求助" },
  { value: "external", label: "Outside expert · 外部求助" },
];

/** What each kind of IVR node does (ivr/menu.py), shown beside the node's label. */
export const IVR_NODE_KINDS = {
  menu: "Menu · 语音菜单",
  authenticate: "PIN check · 密码验证",
  queue: "Queue · 人工队列",
  voicemail: "Voicemail · 语音留言",
  hangup: "Goodbye · 挂断",
  survey: "Survey · 满意度",
  selfservice: "Self-service · 自助查询",
};

export const DEFAULT_HOLD_WARNING = 30; // seconds: the manual's limit, unless the server says otherwise
export const CONFIRM_MS = 15000; // a hold, retrieve, transfer or hang-up confirmed by push within this
export const DIAL_CONFIRM_MS = 35000; // dial out: the agent's own phone rings first (the server gives it 30 s)

const NUMBER = /^[0-9+*#]{1,32}$/;
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const CONSULT_NUMBER = /^[0-9*]{2,32}$/;
const NODE = /^[a-z][a-z0-9_]{1,39}$/;
const ON_A_CALL = ["on_call", "on_hold"];
const IDLE = ["ready", "not_ready", "wrap_up"];

/** The consult's target checked for its kind (a colleague other than me, or an outside number). */
export function checkConsult(kind, raw, me) {
  if (!CONSULT_KINDS.some((k) => k.value === kind)) {
    return { ok: false, field: "kind", message: "Choose a colleague or an outside expert." };
  }
  if (kind === "external") {
    // Asterisk keys the number to consult in as DTMF: no + or # (the server says the same, 400)
    const value = String(raw ?? "").replace(/[\s-]/g, "");
    if (!value) return { ok: false, field: "target", message: "Enter a number." };
    if (!CONSULT_NUMBER.test(value)) {
      return { ok: false, field: "target", message: "A number to consult is 2 to 32 of the characters 0-9 *." };
    }
    return { ok: true, value };
  }
  return checkTransfer(kind, raw, me);
}

/** {ok: true, value} or {ok: false, field, message}: an outside number as the server accepts it. */
export function checkNumber(raw, field = "number") {
  const value = String(raw ?? "").replace(/[\s-]/g, ""); // spaces and dashes people type are dropped
  if (!value) return { ok: false, field, message: "Enter a number." };
  if (!NUMBER.test(value)) {
    return { ok: false, field, message: "A number is 1 to 32 of the characters 0-9 + * #." };
  }
  return { ok: true, value };
}

/**
 * The transfer's target checked for its kind; ``me`` ({id, login}) may not be the target agent,
 * nor ``holder`` (a supervisor moving someone else's call: the agent who has it).
 */
export function checkTransfer(kind, raw, me, { holder = null } = {}) {
  if (!TRANSFER_KINDS.some((k) => k.value === kind)) {
    return { ok: false, field: "kind", message: "Choose agent, queue or outside number." };
  }
  if (kind === "external") return checkNumber(raw, "target");
  const value = String(raw ?? "").trim();
  if (!value) {
    const message = kind === "agent" ? "Enter the agent's number (工号)." : "Enter a queue.";
    return { ok: false, field: "target", message };
  }
  if (!ID.test(value)) {
    const message = kind === "agent" ? "That is not an agent number." : "That is not a queue name.";
    return { ok: false, field: "target", message };
  }
  if (kind === "agent" && me && (value === String(me.id) || value === String(me.login))) {
    return { ok: false, field: "target", message: "The call is already yours: choose another agent." };
  }
  if (kind === "agent" && holder && value === String(holder)) {
    return { ok: false, field: "target", message: `Agent ${value} already has the call: choose another agent.` };
  }
  return { ok: true, value };
}

/**
 * Where "back to the IVR" sends the caller: one of ``nodes`` (the menu's, from GET /api/ivr/nodes:
 * [{name}]) or, when the server sent none, a typed node name as the server accepts it.
 */
export function checkNode(raw, nodes = []) {
  const value = String(raw ?? "").trim();
  if (nodes.length) {
    return nodes.some((n) => n.name === value)
      ? { ok: true, value } : { ok: false, field: "node", message: "Choose where in the IVR to send the caller." };
  }
  if (!value) return { ok: false, field: "node", message: "Enter the IVR node to send the caller to." };
  if (!NODE.test(value)) {
    return { ok: false, field: "node", message: "An IVR node is 2 to 40 of a-z, 0-9 and _, starting with a letter." };
  }
  return { ok: true, value };
}

/** "support — Queue · 人工队列": an IVR node ({name, label, type}) as the picker offers it. */
export function ivrNodeLabel(node) {
  const kind = IVR_NODE_KINDS[node.type];
  const label = node.label || node.name;
  return kind ? `${label} — ${kind}` : label;
}

/**
 * The agent's current call as the toolbar sees it, or null: {linkedid, outbound, held,
 * heldSince (epoch s), warnAfter (s)}. The agent view (agent_state) says which call and
 * whether it is held; the pop of that call adds the exact hold start and the threshold.
 */
export function myCall(view, pop, calls = []) {
  if (!view || !ON_A_CALL.includes(view.state) || !view.call) return null;
  const linkedid = view.call;
  const p = pop && pop.linkedid === linkedid ? pop : null;
  const c = calls.find((x) => x && x.linkedid === linkedid) || null;
  const src = p || c;
  const held = view.state === "on_hold"; // as the badge says: the agent view is the authority
  let heldSince = null;
  if (held) heldSince = toEpoch(src && src.held ? src.held_since : null) ?? toEpoch(view.since);
  const limit = Number(src && src.hold_warning_seconds);
  const warnAfter = limit > 0 ? limit : DEFAULT_HOLD_WARNING;
  const consult = src && src.consult ? src.consult : null; // {kind, target, since, answered} while consulting
  const conference = src && src.conference ? src.conference : null; // the room, once the call is a conference
  return { linkedid, outbound: Boolean(view.outside_call) || (c ? c.direction === "outbound" : false),
    held, heldSince, warnAfter, consult, conference };
}

/** {seconds, warn}: how long the call has been on hold at ``now`` and whether it is past the limit. */
export function holdClock(call, now) {
  if (!call || !call.held || !call.heldSince) return { seconds: 0, warn: false };
  const seconds = Math.max(0, now - call.heldSince);
  return { seconds, warn: seconds >= call.warnAfter };
}

/** Whether the header's dial field is offered: signed in, not on or ringing with a call. */
export function canDial(view) {
  return Boolean(view && IDLE.includes(view.state) && !view.call);
}

/**
 * What the toolbar shows: {visible, hold: {shown, label, action}, transfer, consult, consultComplete,
 * consultCancel, consultConference, conference, ivr, survey, hangup} with
 * {shown, disabled} each; everything is disabled while a command waits or a link is down.
 */
export function toolbar(call, { pending = null, linkUp = true } = {}) {
  const off = Boolean(pending) || !linkUp;
  const consulting = Boolean(call && call.consult);
  const conference = Boolean(call && call.conference);
  // while consulting: its outcomes only; in a conference: add, remove, hang up
  const inbound = Boolean(call && !call.outbound) && !consulting && !conference;
  const button = (shown) => ({ shown: Boolean(call) && shown, disabled: off });
  return {
    visible: Boolean(call),
    hold: { ...button(inbound), label: call && call.held ? "Retrieve · 恢复" : "Hold · 保持",
      action: call && call.held ? "retrieve" : "hold" },
    transfer: button(inbound),
    consult: button(inbound && !(call && call.held)),
    consultComplete: button(consulting && Boolean(call.consult.answered)),
    consultCancel: button(consulting),
    consultConference: button(consulting && Boolean(call.consult.answered)),
    conference: button((inbound || conference) && !(call && call.held)),
    ivr: button(inbound),
    survey: button(inbound && !(call && call.held)), // the caller to the post-call survey; the agent is released
    hangup: button(true),
  };
}

/** Whether what the pushes now say confirms the pending command ({action, linkedid}). */
export function confirmed(pending, view, pop, calls = []) {
  if (!pending) return false;
  const call = myCall(view, pop, calls);
  const mine = call && call.linkedid === pending.linkedid ? call : null;
  switch (pending.action) {
    case "hold": return Boolean(mine && mine.held) || !mine;
    case "consult": return Boolean(mine && mine.consult) || !mine;
    case "consult_cancel": return Boolean(mine && !mine.consult) || !mine;
    case "consult_complete": return !mine; // the colleague has the call
    case "consult_conference": return Boolean(mine && mine.conference && !mine.consult) || !mine;
    case "conference_add": return Boolean(mine && mine.conference) || !mine;
    case "conference_remove": return true; // the list refreshes from the pushes
    case "retrieve": return Boolean(mine && !mine.held) || !mine;
    case "transfer":
    case "ivr":
    case "hangup": return !mine; // the call has left this agent
    case "dial": return Boolean(view && (view.call || ["ringing", "on_call", "on_hold"].includes(view.state)));
    default: return false;
  }
}

/**
 * The supervisor's live-calls table: whether a row's command ({action, agent}: the agent the call
 * had when asked) is confirmed by the call's pushed view ``call`` (null once the call ended).
 */
export function rowConfirmed(pending, call) {
  if (!pending) return false;
  if (!call) return true; // ended: for a hang-up that is the point; a transfer's call may end meanwhile too
  if (pending.action === "transfer") return String(call.agent || "") !== String(pending.agent || "");
  return false; // a hang-up waits for the call to end
}

/** Which calls a supervisor may act on from the table: answered (or held) ones; outbound ones: hang up only. */
export function rowActions(call, { pending = null, linkUp = true } = {}) {
  const answered = Boolean(call) && ["answered", "held"].includes(call.state);
  const movable = answered && call.direction !== "outbound" && !call.conference && !call.consult;
  const disabled = Boolean(pending) || !linkUp;
  return { hangup: { shown: answered, disabled }, transfer: { shown: movable, disabled } };
}

/** What the panel says while waiting for Asterisk. */
export function pendingText(action) {
  const what = { hold: "Putting on hold", retrieve: "Taking back", transfer: "Transferring", ivr: "Sending to the IVR",
    consult: "Calling for the consult", consult_complete: "Handing the call over",
    consult_cancel: "Going back to the caller", consult_conference: "Bringing everyone into a conference",
    conference_add: "Adding to the conference",
    conference_remove: "Removing from the conference",
    hangup: "Hanging up", dial: "Calling your phone first" }[action] || action;
  return `${what}… waiting for Asterisk to confirm.`;
}

function toEpoch(value) {
  if (value === null || value === undefined || value === "") return null;
  const t = typeof value === "number" ? value : Date.parse(value) / 1000;
  return Number.isFinite(t) && t > 0 ? t : null;
}
