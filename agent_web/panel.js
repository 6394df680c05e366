// The agent panel and supervisor console: sign-in, work state, screen-pop, marquee, lists.
// State lives in `S`; every push message updates it and re-renders the part it touches.

import { api, ApiError, PushSocket } from "./net.js";
import * as f from "./format.js";
import * as c from "./calls.js";
import { playControl } from "./recording.js"; // issue 4: recordings
import { $, el, message, show } from "./dom.js";
import { todaysFigures } from "./figures.js";
import { liveCallsTable } from "./supervise.js";
import { readyAgentPicker } from "./targets.js";

const CONFIRM_TIMEOUT_MS = 15000;
const TODAY_MAX = 50;
// Ringing, on a call and on hold are "ready" as far as the queue goes.
const READY_LIKE = ["ready", "ringing", "on_call", "on_hold"];

const S = {
  me: null, // account {id, login, name, role}
  view: null, // my agent view {state, reason, since, ...}
  socket: "closed", // connecting | open | reconnecting | closed
  link: { ami: true, db: true },
  pop: null, // the screen-pop data
  popAt: 0, // performance.now() when the pop data arrived
  today: [],
  marquee: [],
  agents: new Map(), // supervisors: id -> view
  calls: new Map(), // supervisors: linkedid -> call view
  ended: new Set(), // linkedids already ended: a late call_update must not bring them back
  busyReasons: [],
  queues: [], // the queues this agent may sign in to (snapshot.queues)
  offset: 0, // server clock minus browser clock, seconds: every timer runs on the server's clock
  rows: new Map(), // supervisors: agent id -> the grid row's nodes (updated in place)
  takeover: null, // {login, password} while the "take over here?" choice is open
  pending: null, // {target, reason, timer}
  callPending: null, // call control: {action, linkedid, timer} until a push confirms it
  callShown: null, // the linkedid the toolbar shows (a new call clears the last call's messages)
  callForm: null, // the toolbar's open part: "transfer" | "ivr" | "hangup" | null
};

/** Now, in epoch seconds on the server's clock. */
const serverNow = () => Date.now() / 1000 + S.offset;

const isSupervisor = () => S.me && (S.me.role === "supervisor" || S.me.role === "admin");

const figures = todaysFigures({ me: () => S.me, isSupervisor, serverNow, live: () => S.socket === "open" });

/** Queues a supervisor may send a call to: the snapshot's, and every queue an agent or a call names. */
function knownQueues() {
  const all = new Set(S.queues);
  for (const a of S.agents.values()) for (const q of a.queues || []) all.add(q);
  for (const x of S.calls.values()) if (x.queue) all.add(x.queue);
  return [...all].sort();
}

const callsTable = liveCallsTable({
  body: $("calls-body"),
  empty: $("calls-empty"),
  nameOf: (id) => (S.agents.get(String(id)) ? f.agentLabel(S.agents.get(String(id))) : String(id)),
  queues: knownQueues,
  linkUp: () => S.link.ami && S.socket === "open",
});

// -- views -------------------------------------------------------------------------

function setView(name) {
  $("app").dataset.view = name;
  $("app").classList.toggle("wide", name === "panel" && isSupervisor());
  show($("signin-view"), name === "signin");
  show($("agent-view"), name === "panel");
  show($("supervisor-view"), name === "panel" && isSupervisor());
  show($("who"), name === "panel");
  show($("logout"), name === "panel");
  if (name !== "panel") {
    show($("marquee"), false);
    show($("banner"), false);
  }
  if (name === "signin") $("login").focus();
}

function renderMe() {
  const view = S.view;
  $("who-name").textContent = (view && view.name) || (S.me && S.me.name) || "";
  $("who-login").textContent = S.me ? S.me.login : "";
  const badge = $("state-badge");
  const state = (view && view.state) || "logged_out";
  badge.dataset.state = state;
  badge.textContent = f.stateLabel(view);
  $("state-text").textContent = f.stateLabel(view);
  $("state-since").dataset.since = (view && state !== "logged_out" && f.toEpoch(view.since)) || "";
  const by = f.changedByLabel(view);
  message($("state-by"), by ? `${f.stateLabel(view)} — ${by}` : "");
  const caller = ["ringing", "on_call", "on_hold"].includes(state) ? f.partyLabel(view.caller) : "";
  message($("state-caller"), caller ? `${state === "ringing" ? "Ringing from" : "With"} ${caller}` : "");
  const ends = state === "wrap_up" ? f.toEpoch(view.wrapup_ends) : null;
  $("wrapup-left").dataset.until = ends || "";
  show($("wrapup"), Boolean(ends));
  show($("queue-picker"), state === "logged_out" && S.queues.length > 0);
  renderButtons();
  tick();
}

/** One checkbox per queue the agent may sign in to, all ticked; a choice survives a resync. */
function renderQueues(queues) {
  const same = queues.length === S.queues.length && queues.every((q, i) => q === S.queues[i]);
  S.queues = queues;
  if (same && $("queue-options").childElementCount === queues.length) return;
  $("queue-options").replaceChildren(...queues.map((q) => el("label", { class: "queue-option" },
    el("input", { type: "checkbox", name: "queue", value: q, checked: true }), ` ${q}`)));
}

function chosenQueues() {
  return [...document.querySelectorAll('#queue-options input[name="queue"]:checked')].map((i) => i.value);
}

function renderButtons() {
  const state = (S.view && S.view.state) || "logged_out";
  const signedOut = state === "logged_out";
  show($("btn-signin"), signedOut);
  show($("btn-ready"), !signedOut);
  show($("btn-signout"), !signedOut);
  const pending = S.pending !== null;
  const down = !S.link.ami || S.socket !== "open";
  for (const id of ["btn-signin", "btn-ready", "btn-busy", "btn-signout"]) {
    $(id).disabled = pending || down;
  }
  $("busy-reason").disabled = pending || down;
  if (!pending && !down) $("btn-ready").disabled = READY_LIKE.includes(state);
  for (const input of document.querySelectorAll('#queue-options input')) input.disabled = pending || down;
  for (const id of ["btn-signin", "btn-ready", "btn-busy", "btn-signout"]) {
    const b = $(id);
    b.setAttribute("aria-busy", String(Boolean(S.pending && S.pending.button === id)));
  }
  renderCall();
}

// -- call control (issue 4): the toolbar while on a call, the dial field while idle ------------

/** The agent's call as the toolbar sees it (agent view + that call's pop). */
const currentCall = () => c.myCall(S.view, S.pop, isSupervisor() ? [...S.calls.values()] : []);

let participantsAsked = 0;
let participantsFor = null; // the pop the list was last fetched for

function renderCall() {
  const call = S.me ? currentCall() : null;
  if (S.callPending && c.confirmed(S.callPending, S.view, S.pop, isSupervisor() ? [...S.calls.values()] : [])) {
    clearCallPending(); // renders again
    return;
  }
  const linkUp = S.link.ami && S.socket === "open";
  const bar = c.toolbar(call, { pending: S.callPending, linkUp });
  const id = call ? call.linkedid : null;
  if (id !== S.callShown) {
    if (id) message($("call-error"), ""); // a new call: the last one's refusal no longer applies
    S.callShown = id;
    openCallForm(null);
  }
  show($("call-tools"), bar.visible);
  $("call-tools").dataset.held = String(Boolean(call && call.held));
  for (const [key, button] of [["hold", "btn-hold"], ["transfer", "btn-transfer"], ["consult", "btn-consult"],
    ["consultComplete", "btn-consult-complete"], ["consultCancel", "btn-consult-cancel"],
    ["consultConference", "btn-consult-conference"],
    ["conference", "btn-conference"], ["ivr", "btn-ivr"],
    ["hangup", "btn-hangup"]]) {
    show($(button), bar[key].shown);
    $(button).disabled = bar[key].disabled;
    $(button).setAttribute("aria-busy", String(Boolean(S.callPending && S.callPending.button === button)));
  }
  $("btn-hold").textContent = bar.hold.label;
  $("btn-hold").dataset.action = bar.hold.action;
  if (S.callForm && !(bar[S.callForm] && bar[S.callForm].shown)) openCallForm(null);
  const consult = call && call.consult;
  show($("consult-line"), Boolean(consult));
  const consultText = !consult ? ""
    : `${consult.kind === "agent" ? "Consulting agent" : "Consulting"} ${consult.target} · 求助中 — `
      + (consult.answered ? "talking; the caller hears music" : "ringing…");
  if ($("consult-status").textContent !== consultText) $("consult-status").textContent = consultText;
  show($("conference-line"), Boolean(call && call.conference));
  if (call && call.conference && participantsFor !== S.pop) { // each push about the call: ask again
    participantsFor = S.pop;
    loadParticipants(call.linkedid);
  } else if (!(call && call.conference)) participantsFor = null;
  for (const submit of ["transfer-submit", "consult-submit", "conference-submit", "ivr-submit", "hangup-yes"]) {
    $(submit).disabled = !linkUp || Boolean(S.callPending);
  }
  show($("hold-line"), Boolean(call && call.held));
  // The dial field: offered while signed in and idle (ready, busy, wrap-up).
  const dialing = S.callPending && S.callPending.action === "dial";
  show($("dial-form"), $("app").dataset.view === "panel" && (c.canDial(S.view) || Boolean(dialing)));
  $("dial-submit").disabled = !linkUp || Boolean(S.callPending);
  $("dial-submit").setAttribute("aria-busy", String(Boolean(dialing)));
  message($("dial-pending"), dialing ? c.pendingText("dial") : "");
  if ($("dial-form").hidden) message($("dial-error"), "");
  tickHold();
}

/** The hold timer and, past the limit, the warning (runs every second from tick()). */
function tickHold() {
  const call = S.me ? currentCall() : null;
  const { seconds, warn } = c.holdClock(call, serverNow());
  const time = call && call.held ? f.duration(seconds) : "";
  if ($("hold-time").textContent !== time) $("hold-time").textContent = time;
  $("hold-line").classList.toggle("warn", warn);
  const text = warn ? `— over ${Math.round(call.warnAfter)} s, take the caller back · 保持超时` : "";
  if ($("hold-warn").textContent !== text) message($("hold-warn"), text); // the alert is announced once
}

function openCallForm(name) {
  S.callForm = name;
  for (const [key, form, button] of [["transfer", "transfer-form", "btn-transfer"], ["ivr", "ivr-form", "btn-ivr"],
    ["consult", "consult-form", "btn-consult"], ["conference", "conference-form", "btn-conference"],
    ["hangup", "hangup-confirm", "btn-hangup"]]) {
    show($(form), name === key);
    $(button).setAttribute("aria-expanded", String(name === key));
  }
}

function toggleCallForm(name) {
  message($("call-error"), "");
  openCallForm(S.callForm === name ? null : name);
  if (name === "transfer" && S.callForm) {
    renderTransferKind(true); // opening the form asks who is ready now
    $("transfer-target").focus();
  } else if (name === "conference" && S.callForm) {
    renderConferenceKind(true);
    $("conference-target").focus();
  } else if (name === "consult" && S.callForm) {
    renderConsultKind(true);
    $("consult-target").focus();
  } else if (name === "ivr" && S.callForm) $("ivr-node").focus();
  else if (name === "hangup" && S.callForm) $("hangup-yes").focus();
}

function clearCallPending() {
  if (S.callPending) clearTimeout(S.callPending.timer);
  S.callPending = null;
  message($("call-pending"), "");
  renderCall();
}

/**
 * One call-control command: buttons wait while it runs; the server's 202 only says Asterisk
 * was asked, so the toolbar stays pending until a push shows the change (or says it did not come).
 */
async function callCommand(action, path, body, { linkedid = null, button = null, errorNode = "call-error" } = {}) {
  if (S.callPending) return null;
  message($("call-error"), "");
  message($("dial-error"), "");
  S.callPending = { action, linkedid, button, timer: null };
  if (action !== "dial") message($("call-pending"), c.pendingText(action));
  renderCall();
  let answer;
  try {
    answer = await api("POST", path, body);
  } catch (err) {
    clearCallPending();
    message($(errorNode), err instanceof ApiError ? err.describe() : String(err));
    return null;
  }
  const p = S.callPending;
  if (!p || p.action !== action) return answer; // confirmed already, before the answer came back
  if (action === "dial" && answer && answer.linkedid) p.linkedid = answer.linkedid;
  if (c.confirmed(p, S.view, S.pop)) {
    clearCallPending();
    return answer;
  }
  p.timer = setTimeout(() => {
    if (S.callPending !== p) return;
    clearCallPending();
    message($(errorNode), action === "dial"
      ? "Your phone did not take the call: nothing was dialled."
      : "Asterisk has not confirmed it yet; the call is shown as Asterisk last reported it.");
  }, action === "dial" ? c.DIAL_CONFIRM_MS : c.CONFIRM_MS);
  return answer;
}

function holdOrRetrieve() {
  const call = currentCall();
  if (!call) return;
  const action = $("btn-hold").dataset.action === "retrieve" ? "retrieve" : "hold";
  openCallForm(null);
  callCommand(action, `/api/calls/${encodeURIComponent(call.linkedid)}/${action}`, {},
    { linkedid: call.linkedid, button: "btn-hold" });
}

// Ready colleagues offered under the target field when the kind is "agent" (made in bootCallControls).
const pickers = {};

/** Show the form's ready-agent picker for kind "agent" (and ask the server for the list when ``load``). */
function renderPicker(form, kind, load) {
  const picker = pickers[form];
  const input = $(`${form}-target`);
  show(picker.node, kind === "agent");
  if (kind === "agent") {
    input.setAttribute("list", picker.list.id);
    if (load) picker.load();
  } else if (input.getAttribute("list") === picker.list.id) input.removeAttribute("list");
}

function renderTransferKind(load = false) {
  const kind = $("transfer-kind").value;
  $("transfer-target-label").textContent = { agent: "Agent no. · 工号", queue: "Queue · 队列",
    external: "Outside number · 外线号码" }[kind] || "Target";
  const input = $("transfer-target");
  input.inputMode = kind === "queue" ? "text" : kind === "external" ? "tel" : "numeric";
  if (kind === "queue") input.setAttribute("list", "transfer-queues");
  else input.removeAttribute("list");
  $("transfer-queues").replaceChildren(...S.queues.map((q) => el("option", { value: q })));
  renderPicker("transfer", kind, load);
}

function submitTransfer(event) {
  event.preventDefault();
  const call = currentCall();
  if (!call) return;
  const kind = $("transfer-kind").value;
  const check = c.checkTransfer(kind, $("transfer-target").value, S.me);
  if (!check.ok) {
    message($("call-error"), `${check.message} (${check.field})`);
    $(check.field === "kind" ? "transfer-kind" : "transfer-target").focus();
    return;
  }
  callCommand("transfer", `/api/calls/${encodeURIComponent(call.linkedid)}/transfer`, { kind, target: check.value },
    { linkedid: call.linkedid, button: "btn-transfer" });
}

function renderConsultKind(load = false) {
  const kind = $("consult-kind").value;
  $("consult-target-label").textContent = kind === "external" ? "Outside number · 外线号码" : "Agent no. · 工号";
  $("consult-target").inputMode = kind === "external" ? "tel" : "numeric";
  renderPicker("consult", kind, load);
}

function submitConsult(event) {
  event.preventDefault();
  const call = currentCall();
  if (!call) return;
  const kind = $("consult-kind").value;
  const check = c.checkConsult(kind, $("consult-target").value, S.me);
  if (!check.ok) {
    message($("call-error"), `${check.message} (${check.field})`);
    $(check.field === "kind" ? "consult-kind" : "consult-target").focus();
    return;
  }
  openCallForm(null);
  callCommand("consult", `/api/calls/${encodeURIComponent(call.linkedid)}/consult`, { kind, target: check.value },
    { linkedid: call.linkedid, button: "btn-consult" });
}

const CONSULT_OUTCOMES = {
  consult_complete: ["complete", "btn-consult-complete"],
  consult_cancel: ["cancel", "btn-consult-cancel"],
  consult_conference: ["conference", "btn-consult-conference"], // colleague, customer and agent into one room
};

function consultOutcome(action) {
  const call = currentCall();
  if (!call) return;
  const [what, button] = CONSULT_OUTCOMES[action];
  callCommand(action, `/api/calls/${encodeURIComponent(call.linkedid)}/consult/${what}`, {},
    { linkedid: call.linkedid, button });
}

function renderConferenceKind(load = false) {
  const kind = $("conference-kind").value;
  $("conference-target-label").textContent = kind === "external" ? "Outside number · 外线号码" : "Agent no. · 工号";
  $("conference-target").inputMode = kind === "external" ? "tel" : "numeric";
  renderPicker("conference", kind, load);
}

function submitConference(event) {
  event.preventDefault();
  const call = currentCall();
  if (!call) return;
  const kind = $("conference-kind").value;
  const check = c.checkConsult(kind, $("conference-target").value, S.me);
  if (!check.ok) {
    message($("call-error"), `${check.message} (${check.field})`);
    $(check.field === "kind" ? "conference-kind" : "conference-target").focus();
    return;
  }
  openCallForm(null);
  callCommand("conference_add", `/api/calls/${encodeURIComponent(call.linkedid)}/conference/add`,
    { kind, target: check.value }, { linkedid: call.linkedid, button: "btn-conference" });
}

/** The participant list: fetched again on each push about the call (joins and leaves push the call). */
async function loadParticipants(linkedid) {
  const ask = ++participantsAsked;
  let answer;
  try {
    answer = await api("GET", `/api/calls/${encodeURIComponent(linkedid)}/conference`);
  } catch (err) {
    return; // the call has just left the conference (or this agent): the next push says what it is
  }
  if (ask !== participantsAsked) return; // a newer request is under way
  const list = (answer && answer.participants) || [];
  $("conference-list").replaceChildren(...list.map((p) => {
    const label = p.kind === "customer" ? `Customer · 客户 ${p.who}` : p.kind === "agent" ? `Agent · 座席 ${p.who}`
      : `Outside · 外线 ${p.who}`;
    const remove = el("button", { type: "button", className: "quiet", textContent: "Remove · 移出" });
    remove.setAttribute("aria-label", `Remove ${p.who}`);
    remove.addEventListener("click", () => callCommand("conference_remove",
      `/api/calls/${encodeURIComponent(linkedid)}/conference/remove`, { participant: p.participant },
      { linkedid }));
    return el("li", {}, el("span", { textContent: label }), remove);
  }));
}

function submitIvr(event) {
  event.preventDefault();
  const call = currentCall();
  if (!call) return;
  const check = c.checkNode($("ivr-node").value);
  if (!check.ok) {
    message($("call-error"), `${check.message} (${check.field})`);
    return;
  }
  callCommand("ivr", `/api/calls/${encodeURIComponent(call.linkedid)}/ivr`, { node: check.value },
    { linkedid: call.linkedid, button: "btn-ivr" });
}

function confirmHangup() {
  const call = currentCall();
  if (!call) return;
  openCallForm(null);
  callCommand("hangup", `/api/calls/${encodeURIComponent(call.linkedid)}/hangup`, {},
    { linkedid: call.linkedid, button: "btn-hangup" });
}

async function submitDial(event) {
  event.preventDefault();
  message($("dial-error"), "");
  const check = c.checkNumber($("dial-number").value, "number");
  if (!check.ok) {
    message($("dial-error"), `${check.message} (${check.field})`);
    $("dial-number").focus();
    return;
  }
  const answer = await callCommand("dial", "/api/calls/dial", { number: check.value }, { errorNode: "dial-error" });
  if (answer) $("dial-number").value = "";
}

function bootCallControls() {
  const option = (o) => el("option", { value: o.value, textContent: o.label });
  $("transfer-kind").replaceChildren(...c.TRANSFER_KINDS.map(option));
  $("ivr-node").replaceChildren(...c.IVR_NODES.map(option));
  $("consult-kind").replaceChildren(...c.CONSULT_KINDS.map(option));
  $("conference-kind").replaceChildren(...c.CONSULT_KINDS.map(option));
  for (const form of ["transfer", "consult", "conference"]) {
    const input = $(`${form}-target`);
    pickers[form] = readyAgentPicker(input);
    input.after(pickers[form].node);
  }
  $("btn-conference").addEventListener("click", () => toggleCallForm("conference"));
  $("conference-kind").addEventListener("change", () => renderConferenceKind(true));
  $("conference-form").addEventListener("submit", submitConference);
  $("conference-close").addEventListener("click", () => openCallForm(null));
  $("btn-consult").addEventListener("click", () => toggleCallForm("consult"));
  $("consult-kind").addEventListener("change", () => renderConsultKind(true));
  $("consult-form").addEventListener("submit", submitConsult);
  $("consult-close").addEventListener("click", () => openCallForm(null));
  $("btn-consult-complete").addEventListener("click", () => consultOutcome("consult_complete"));
  $("btn-consult-cancel").addEventListener("click", () => consultOutcome("consult_cancel"));
  $("btn-consult-conference").addEventListener("click", () => consultOutcome("consult_conference"));
  $("btn-hold").addEventListener("click", holdOrRetrieve);
  $("btn-transfer").addEventListener("click", () => toggleCallForm("transfer"));
  $("btn-ivr").addEventListener("click", () => toggleCallForm("ivr"));
  $("btn-hangup").addEventListener("click", () => toggleCallForm("hangup"));
  $("transfer-kind").addEventListener("change", () => renderTransferKind(true));
  $("transfer-form").addEventListener("submit", submitTransfer);
  $("transfer-cancel").addEventListener("click", () => openCallForm(null));
  $("ivr-form").addEventListener("submit", submitIvr);
  $("ivr-cancel").addEventListener("click", () => openCallForm(null));
  $("hangup-yes").addEventListener("click", confirmHangup);
  $("hangup-no").addEventListener("click", () => openCallForm(null));
  $("dial-form").addEventListener("submit", submitDial);
}

function fillReasons(select) {
  const current = select.value;
  select.replaceChildren(...S.busyReasons.map((r) => el("option", { value: r, textContent: r })));
  if (S.busyReasons.includes(current)) select.value = current;
}

function renderBusyReasons() {
  fillReasons($("busy-reason"));
  for (const row of S.rows.values()) fillReasons(row.reason);
}

function renderBanner() {
  const lines = [];
  if (S.socket === "reconnecting") lines.push("Connection lost — reconnecting…");
  else if (S.socket === "connecting") lines.push("Connecting…");
  else {
    if (!S.link.ami) lines.push("Asterisk link down — calls and state changes are unavailable.");
    if (!S.link.db) lines.push("Database down — records are kept and written when it returns.");
  }
  const banner = $("banner");
  banner.dataset.kind = S.socket === "open" ? "link" : "socket";
  message(banner, lines.join(" "));
  renderButtons();
  renderAgents(); // force buttons follow the links too
  renderCalls(); // and the live calls' buttons
}

function renderMarquee() {
  const items = S.marquee.filter((i) => i && i.text);
  show($("marquee"), items.length > 0 && $("app").dataset.view === "panel");
  const text = items.map((i) => i.text).join("　•　");
  const p = $("marquee-text");
  if (p.textContent !== text) {
    p.textContent = text;
    // Roughly constant reading speed whatever the length.
    p.style.animationDuration = `${Math.max(12, Math.round(text.length * 0.35 + 10))}s`;
  }
}

function renderPop() {
  const pop = S.pop;
  show($("pop"), pop !== null);
  renderCall();
  if (!pop) return;
  $("pop-phase").textContent = pop.state !== "answered" ? "Incoming call" : pop.held ? "On hold" : "On call";
  $("pop-number").textContent = pop.caller_number || "unknown number";
  const tag = $("pop-class");
  tag.textContent = f.classLabel(pop);
  tag.dataset.class = pop.customer ? pop.customer_class : pop.lookup === "done" ? "not_customer" : "pending";
  $("pop-caller").textContent = pop.caller_name || "—";
  const c = pop.customer;
  $("pop-customer").textContent = c ? c.name || "—" : pop.lookup === "done" ? "Not a customer" : "—";
  $("pop-customer-no").textContent = f.customerNo(c) || "—";
  const ivr = $("pop-ivr");
  ivr.textContent = pop.ivr_keys || "—";
  ivr.title = (pop.ivr_path || []).join(" › ");
  $("pop-queue").textContent = pop.queue || "—";
  $("pop-ref").textContent = pop.workorder_ref || "";
  renderPopWait();
  const recent = pop.recent_workorders || [];
  $("pop-recent").replaceChildren(...(recent.length ? recent.map(recentItem)
    : [el("li", { class: "empty", textContent: "No earlier work orders." })]));
}

function recentItem(w) {
  const what = [w.category, w.summary].filter(Boolean).join(": ") || f.dispositionLabel(w.disposition);
  return el("li", {},
    el("span", { class: "ref", textContent: w.ref || "" }), " ",
    el("span", { class: "muted", textContent: f.day(w.started_at) }), " ",
    el("span", { textContent: what }));
}

/** One line for screen readers when a call rings or its caller becomes known (the card itself ticks). */
function announce(pop) {
  const who = pop.customer ? `${pop.customer.name || ""}, ${f.classLabel(pop)}` : pop.caller_name || "";
  $("announce").textContent = `Incoming call from ${pop.caller_number || "unknown number"}${who ? ", " + who : ""}`
    + (pop.queue ? `, queue ${pop.queue}` : "");
}

function renderPopWait() {
  const pop = S.pop;
  if (!pop) return;
  let waited = Number(pop.waited_seconds) || 0;
  if (pop.state !== "answered") waited += (performance.now() - S.popAt) / 1000;
  $("pop-wait").textContent = f.duration(waited);
}

function renderToday() {
  const list = $("today-list");
  list.replaceChildren(...S.today.map((w) => el("li", { dataset: { disposition: w.disposition || "" } },
    el("span", { class: "time", textContent: f.clock(w.started_at) }),
    el("span", { class: "caller" },
      el("span", { class: "number", textContent: w.caller_number || "" }),
      el("span", { class: "name", textContent: w.caller_name || w.customer_name || "" })),
    el("span", { class: "disposition", textContent: f.dispositionLabel(w.disposition) }),
    el("span", { class: "talk", textContent: w.talk_seconds != null ? f.duration(w.talk_seconds) : "" }),
    playControl(w))));
  show($("today-empty"), S.today.length === 0);
}

function renderAgents() {
  if (!isSupervisor()) return;
  const views = [...S.agents.values()].filter((a) => a.role === "agent" || a.state !== "logged_out")
    .sort((a, b) => String(a.id).localeCompare(String(b.id)));
  const ids = new Set(views.map((a) => String(a.id)));
  for (const [id, row] of S.rows) {
    if (!ids.has(id)) {
      row.tr.remove();
      S.rows.delete(id);
    }
  }
  const body = $("agents-body");
  for (const a of views) {
    const row = agentRow(String(a.id));
    updateAgentRow(row, a);
    body.append(row.tr); // moves it into sorted order; its select keeps the supervisor's choice
  }
  tick();
}

/** A grid row, made once per agent and then updated in place (a re-render never loses a half-made choice). */
function agentRow(id) {
  let row = S.rows.get(id);
  if (row) return row;
  const cell = (cls) => el("td", cls ? { class: cls } : {});
  const button = (label, alt, cls, onclick) => el("button", { type: "button", class: cls, onclick },
    label, el("span", { class: "alt", textContent: ` ${alt}` }));
  row = { name: cell(), state: cell(), since: cell("tick"), caller: cell(), queues: cell() };
  row.badge = el("span", { class: "badge small" });
  row.by = el("span", { class: "by muted" });
  row.state.append(row.badge, " ", row.by);
  row.reason = el("select", { class: "small", "aria-label": `Busy reason for ${id}` });
  fillReasons(row.reason);
  row.ready = button("Ready", "强制示闲", "small", () => forceState(row, id, "ready"));
  row.busy = button("Busy", "强制示忙", "small", () => forceState(row, id, "not_ready", row.reason.value));
  row.out = button("Sign out", "强制签出", "small quiet", () => forceState(row, id, "logged_out"));
  row.error = el("p", { class: "error row-error", role: "alert", hidden: true });
  row.tr = el("tr", { dataset: { agent: id } }, row.name, row.state, row.since, row.caller, row.queues,
    el("td", {}, el("div", { class: "actions" }, row.ready, el("span", { class: "busy-group" }, row.reason, row.busy),
      row.out), row.error));
  S.rows.set(id, row);
  return row;
}

function updateAgentRow(row, a) {
  row.name.textContent = f.agentLabel(a);
  row.badge.dataset.state = a.state;
  row.badge.textContent = f.stateLabel(a);
  row.by.textContent = f.changedByLabel(a);
  row.since.dataset.since = (a.state !== "logged_out" && f.toEpoch(a.since)) || "";
  row.caller.textContent = f.partyLabel(a.caller);
  row.queues.textContent = (a.queues || []).join(", ");
  const down = !S.link.ami || S.socket !== "open" || row.sending;
  row.ready.disabled = down || a.state === "ready";
  row.busy.disabled = down;
  row.reason.disabled = down;
  row.out.disabled = down || a.state === "logged_out";
}

function renderCalls() {
  if (!isSupervisor()) return;
  callsTable.render([...S.calls.values()].sort((a, b) => (a.since || 0) - (b.since || 0)));
  tick();
}

/** Once a second: running durations and countdowns, on the server's clock (state, calls, wrap-up, the pop's wait). */
function tick() {
  const now = serverNow();
  for (const node of document.querySelectorAll("[data-since]")) {
    const since = Number(node.dataset.since);
    node.textContent = since ? f.duration(now - since) : "";
  }
  for (const node of document.querySelectorAll("[data-until]")) {
    const until = Number(node.dataset.until);
    node.textContent = until ? f.duration(until - now) : "";
  }
  renderPopWait();
  if (S.me) tickHold();
}

// -- push messages -----------------------------------------------------------------

function onSnapshot(d) {
  // A snapshot replaces everything: nothing from before a reconnect may linger.
  if (typeof d.server_time === "number") S.offset = d.server_time - Date.now() / 1000;
  renderQueues(d.queues || []);
  S.view = d.me || null;
  S.link = d.link || { ami: true, db: true };
  S.pop = d.pop || null;
  S.popAt = performance.now();
  S.today = (d.today || []).slice(0, TODAY_MAX);
  S.marquee = d.marquee || [];
  S.busyReasons = d.busy_reasons || [];
  S.agents = new Map((d.agents || []).map((a) => [String(a.id), a]));
  S.calls = new Map((d.calls || []).map((c) => [c.linkedid, c]));
  if (S.pending && matchesTarget(S.view, S.pending)) clearPending();
  renderBusyReasons();
  renderMe();
  renderBanner();
  renderMarquee();
  renderPop();
  renderToday();
  renderAgents();
  renderCalls();
  figures.reset();
}

function isPop(d) {
  return d && Object.prototype.hasOwnProperty.call(d, "customer_class");
}

const HANDLERS = {
  snapshot: onSnapshot,
  agent_state(d) {
    if (S.me && String(d.id) === String(S.me.id)) {
      const before = S.view && S.view.call;
      if (S.pop && S.pop.state === "answered" && before === S.pop.linkedid && d.call !== before) {
        S.pop = null; // the call left this agent (transferred, sent to the IVR): its card goes
        renderPop();
      }
      S.view = d;
      if (S.pending && matchesTarget(d, S.pending)) clearPending();
      renderMe();
    }
    if (isSupervisor()) {
      S.agents.set(String(d.id), d);
      renderAgents();
    }
    figures.refresh();
  },
  call_ringing(d) {
    S.pop = d;
    S.popAt = performance.now();
    renderPop();
    announce(d);
  },
  call_update(d) {
    if (isPop(d)) {
      if (S.ended.has(d.linkedid)) return;
      if (!S.pop || S.pop.linkedid === d.linkedid || S.pop.state !== "answered") {
        const learned = d.customer && !(S.pop && S.pop.linkedid === d.linkedid && S.pop.customer);
        if (learned) announce(d);
        S.pop = d;
        S.popAt = performance.now();
        renderPop();
      }
    } else if (isSupervisor() && !S.ended.has(d.linkedid)) {
      S.calls.set(d.linkedid, d);
      renderCalls();
    }
  },
  call_ended(d) {
    S.ended.add(d.linkedid);
    if (S.ended.size > 500) S.ended.delete(S.ended.values().next().value);
    if (S.pop && S.pop.linkedid === d.linkedid) {
      S.pop = null;
      renderPop();
    }
    if (S.calls.delete(d.linkedid)) renderCalls();
    figures.refresh();
  },
  workorder_update(d) {
    if (!S.me || String(d.agent_id) !== String(S.me.id)) return;
    const key = d.ref || d.linkedid;
    S.today = [d, ...S.today.filter((w) => (w.ref || w.linkedid) !== key)].slice(0, TODAY_MAX);
    renderToday();
  },
  marquee(d) {
    S.marquee = d.items || [];
    renderMarquee();
  },
  link(d) {
    S.link = d;
    renderBanner();
  },
};

const socket = new PushSocket({
  onMessage(type, data) {
    const handler = HANDLERS[type];
    if (handler) handler(data);
  },
  onStatus(status) {
    if (status === "signed_out") {
      signedOut("Your session has ended. Please sign in again.");
      return;
    }
    if (status === "taken_over") {
      signedOut("Signed in elsewhere — this panel was taken over by a sign-in on another screen. "
        + "Sign in again here to take it back.");
      return;
    }
    S.socket = status;
    renderBanner();
  },
  async canReconnect() {
    try {
      await api("GET", "/api/me");
      return true;
    } catch (err) {
      return !(err instanceof ApiError && err.status === 401);
    }
  },
});

// -- commands ------------------------------------------------------------------------

function matchesTarget(view, pending) {
  if (!view) return pending.target === "logged_out";
  if (pending.target === "ready") return READY_LIKE.includes(view.state);
  if (pending.target === "not_ready") return view.state === "not_ready" && (!pending.reason || view.reason === pending.reason);
  return view.state === pending.target;
}

function clearPending() {
  if (S.pending) clearTimeout(S.pending.timer);
  S.pending = null;
  message($("pending"), "");
  renderButtons();
}

async function requestState(button, target) {
  const reason = target === "not_ready" ? $("busy-reason").value : undefined;
  const signingIn = target !== "logged_out" && (!S.view || S.view.state === "logged_out");
  const queues = signingIn && S.queues.length ? chosenQueues() : null;
  message($("state-error"), "");
  if (queues && queues.length === 0) {
    message($("state-error"), "Choose at least one queue to sign in to.");
    return;
  }
  S.pending = { target, reason, button: button.id, timer: null };
  message($("pending"), `${button.textContent}: waiting for Asterisk to confirm…`);
  renderButtons();
  try {
    const body = { state: target };
    if (reason) body.reason = reason;
    if (queues) body.queues = queues;
    await api("POST", "/api/agent/state", body);
  } catch (err) {
    clearPending();
    message($("state-error"), err instanceof ApiError ? err.describe() : String(err));
    return;
  }
  if (!S.pending) return; // confirmed already, before the answer came back
  if (matchesTarget(S.view, S.pending)) {
    clearPending();
    return;
  }
  S.pending.timer = setTimeout(() => {
    clearPending();
    message($("state-error"), "Asterisk has not confirmed the change yet; the state shown is what it last reported.");
  }, CONFIRM_TIMEOUT_MS);
}

/** A supervisor's force ready / busy / sign-out; a refusal is shown next to that agent's row. */
async function forceState(row, agentId, target, reason) {
  message(row.error, "");
  const body = { state: target, agent: String(agentId) };
  if (reason) body.reason = reason;
  row.sending = true; // one command at a time per row; the pushed agent_state shows the outcome
  renderAgents();
  try {
    await api("POST", "/api/agent/state", body);
  } catch (err) {
    message(row.error, err instanceof ApiError ? err.describe() : String(err));
  } finally {
    row.sending = false;
    renderAgents();
  }
}

async function postMarquee(event) {
  event.preventDefault();
  message($("marquee-error"), "");
  message($("marquee-ok"), "");
  const text = $("marquee-input").value.trim();
  if (!text) {
    message($("marquee-error"), "Write a message first.");
    $("marquee-input").focus();
    return;
  }
  const body = { text };
  const ttl = $("marquee-ttl").value;
  if (ttl) body.ttl_seconds = Number(ttl);
  $("marquee-submit").disabled = true;
  try {
    await api("POST", "/api/marquee", body);
    $("marquee-input").value = "";
    message($("marquee-ok"), "Posted.");
  } catch (err) {
    message($("marquee-error"), err instanceof ApiError ? err.describe() : String(err));
  } finally {
    $("marquee-submit").disabled = false;
  }
}

async function signIn(event) {
  event.preventDefault();
  const login = $("login").value.trim();
  const password = $("password").value;
  message($("signin-error"), "");
  if (!login || !password) {
    message($("signin-error"), "Enter your login and password.");
    return;
  }
  $("signin-submit").disabled = true;
  try {
    const data = await api("POST", "/api/login", { login, password });
    if (data.other_sessions > 0) {
      askTakeOver(login, password, data.other_sessions);
      return;
    }
    $("password").value = "";
    signedIn(data.me);
  } catch (err) {
    message($("signin-error"), err instanceof ApiError ? err.describe() : String(err));
  } finally {
    $("signin-submit").disabled = false;
  }
}

/** The account has a panel open elsewhere: take it over here, or cancel (and sign this one out). */
function askTakeOver(login, password, count) {
  S.takeover = { login, password };
  $("takeover-text").textContent = `${login} already has ${count === 1 ? "a panel" : `${count} panels`} open `
    + "on another screen. Take over here closes it there; your queues and state stay as they are.";
  show($("signin-form"), false);
  show($("takeover"), true);
  $("takeover-yes").focus();
}

function closeTakeOver() {
  S.takeover = null;
  $("password").value = "";
  show($("takeover"), false);
  show($("signin-form"), true);
}

async function takeOver() {
  const t = S.takeover;
  if (!t) return;
  $("takeover-yes").disabled = true;
  try {
    const data = await api("POST", "/api/login", { login: t.login, password: t.password, take_over: true });
    closeTakeOver();
    signedIn(data.me);
  } catch (err) {
    closeTakeOver();
    message($("signin-error"), err instanceof ApiError ? err.describe() : String(err));
  } finally {
    $("takeover-yes").disabled = false;
  }
}

async function cancelTakeOver() {
  closeTakeOver();
  try {
    await api("POST", "/api/logout"); // nothing is left half signed in here
    message($("signin-error"), "Not signed in here: the other panel stays signed in.");
  } catch (err) {
    message($("signin-error"), err instanceof ApiError ? err.describe() : String(err));
  }
  $("login").focus();
}

function signedIn(me) {
  S.me = me;
  S.view = null;
  setView("panel");
  renderMe();
  socket.start();
}

function signedOut(notice) {
  socket.stop();
  figures.stop();
  if (S.pending) clearPending();
  if (S.callPending) clearCallPending();
  if (S.takeover) closeTakeOver();
  Object.assign(S, { me: null, view: null, pop: null, today: [], marquee: [], socket: "closed" });
  S.agents = new Map();
  S.calls = new Map();
  S.rows = new Map();
  S.queues = [];
  $("agents-body").replaceChildren();
  $("queue-options").replaceChildren();
  callsTable.reset();
  setView("signin");
  renderCall();
  message($("signin-error"), notice || "");
}

async function logOut() {
  try {
    await api("POST", "/api/logout");
  } finally {
    signedOut("");
  }
}

async function boot() {
  $("signin-form").addEventListener("submit", signIn);
  $("marquee-form").addEventListener("submit", postMarquee);
  $("logout").addEventListener("click", logOut);
  $("takeover-yes").addEventListener("click", takeOver);
  $("takeover-no").addEventListener("click", cancelTakeOver);
  for (const id of ["btn-signin", "btn-ready", "btn-busy", "btn-signout"]) {
    const b = $(id);
    b.addEventListener("click", () => requestState(b, b.dataset.target));
  }
  bootCallControls();
  setInterval(tick, 1000);
  figures.start();
  try {
    const data = await api("GET", "/api/me");
    signedIn(data.me);
  } catch (err) {
    setView("signin");
    if (!(err instanceof ApiError && err.status === 401)) message($("signin-error"), err.describe());
  }
}

boot();
