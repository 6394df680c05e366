// The call-control toolbar on the page (its rules are in calls.js): while the agent is on a call,
// Hold / Retrieve, Transfer, Consult and its outcomes, Conference and its participant list, Back
// to the IVR and Hang up; while idle, the header's dial field. A command disables every button
// until a push confirms it (not when the 202 comes back); a refusal or a missing confirmation is
// said under the toolbar (or under the dial field).

import { api, ApiError } from "./net.js";
import * as f from "./format.js";
import * as c from "./calls.js";
import { $, el, message, show } from "./dom.js";
import { readyAgentPicker } from "./targets.js";

// The toolbar's buttons by the key calls.js toolbar() answers for.
const BUTTONS = [["hold", "btn-hold"], ["transfer", "btn-transfer"], ["consult", "btn-consult"],
  ["consultComplete", "btn-consult-complete"], ["consultCancel", "btn-consult-cancel"],
  ["consultConference", "btn-consult-conference"], ["conference", "btn-conference"], ["ivr", "btn-ivr"],
  ["survey", "btn-survey"], ["hangup", "btn-hangup"]];
// The parts that open under the buttons: [name, part, the button that opens it].
const FORMS = [["transfer", "transfer-form", "btn-transfer"], ["ivr", "ivr-form", "btn-ivr"],
  ["consult", "consult-form", "btn-consult"], ["conference", "conference-form", "btn-conference"],
  ["hangup", "hangup-confirm", "btn-hangup"]];
const SUBMITS = ["transfer-submit", "consult-submit", "conference-submit", "ivr-submit", "hangup-yes"];
const CONSULT_OUTCOMES = {
  consult_complete: ["complete", "btn-consult-complete"],
  consult_cancel: ["cancel", "btn-consult-cancel"],
  consult_conference: ["conference", "btn-consult-conference"], // colleague, customer and agent into one room
};
const TARGET_LABELS = { agent: "Agent no. · 工号", queue: "Queue · 队列", external: "Outside number · 外线号码" };

/**
 * The toolbar's controller over the model ``S`` (see session.js). Returns {boot() (once: fill the
 * choices, listen), render(), tick() (the hold clock), reset() (signed out: drop a pending command),
 * loadIvrNodes() (after sign-in: the IVR menu's nodes from the server)}.
 */
export function callToolbar(S) {
  let pending = null; // {action, linkedid, button, timer} until a push confirms it
  let shown = null; // the linkedid the toolbar shows (a new call clears the last call's messages)
  let openForm = null; // the toolbar's open part: "transfer" | "ivr" | "consult" | "conference" | "hangup" | null
  let participantsAsked = 0;
  let participantsFor = null; // the pop the list was last fetched for
  let ivrNodes = []; // [{name, label, type}] from GET /api/ivr/nodes; none: the node is typed
  let ivrAsked = 0;
  const pickers = {}; // ready colleagues under the target field for kind "agent" (made in boot)

  /** The agent's call as the toolbar sees it (agent view + that call's pop). */
  const currentCall = () => c.myCall(S.view, S.pop, S.isSupervisor() ? [...S.calls.values()] : []);

  function render() {
    const call = S.me ? currentCall() : null;
    if (pending && c.confirmed(pending, S.view, S.pop, S.isSupervisor() ? [...S.calls.values()] : [])) {
      clearPending(); // renders again
      return;
    }
    const linkUp = S.linkUp();
    const bar = c.toolbar(call, { pending, linkUp });
    const id = call ? call.linkedid : null;
    if (id !== shown) {
      if (id) message($("call-error"), ""); // a new call: the last one's refusal no longer applies
      shown = id;
      open(null);
    }
    show($("call-tools"), bar.visible);
    $("call-tools").dataset.held = String(Boolean(call && call.held));
    for (const [key, button] of BUTTONS) {
      show($(button), bar[key].shown);
      $(button).disabled = bar[key].disabled;
      $(button).setAttribute("aria-busy", String(Boolean(pending && pending.button === button)));
    }
    if (!surveyNode()) show($("btn-survey"), false); // the served menu has no survey node
    $("btn-hold").textContent = bar.hold.label;
    $("btn-hold").dataset.action = bar.hold.action;
    if (openForm && !(bar[openForm] && bar[openForm].shown)) open(null);
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
    for (const submit of SUBMITS) $(submit).disabled = !linkUp || Boolean(pending);
    show($("hold-line"), Boolean(call && call.held));
    // The dial field: offered while signed in and idle (ready, busy, wrap-up).
    const dialing = pending && pending.action === "dial";
    show($("dial-form"), $("app").dataset.view === "panel" && (c.canDial(S.view) || Boolean(dialing)));
    $("dial-submit").disabled = !linkUp || Boolean(pending);
    $("dial-submit").setAttribute("aria-busy", String(Boolean(dialing)));
    message($("dial-pending"), dialing ? c.pendingText("dial") : "");
    if ($("dial-form").hidden) message($("dial-error"), "");
    tick();
  }

  /** The hold timer and, past the limit, the warning (every second, and on each render). */
  function tick() {
    const call = S.me ? currentCall() : null;
    const { seconds, warn } = c.holdClock(call, S.serverNow());
    const time = call && call.held ? f.duration(seconds) : "";
    if ($("hold-time").textContent !== time) $("hold-time").textContent = time;
    $("hold-line").classList.toggle("warn", warn);
    const text = warn ? `— over ${Math.round(call.warnAfter)} s, take the caller back · 保持超时` : "";
    if ($("hold-warn").textContent !== text) message($("hold-warn"), text); // the alert is announced once
  }

  function open(name) {
    openForm = name;
    for (const [key, form, button] of FORMS) {
      show($(form), name === key);
      $(button).setAttribute("aria-expanded", String(name === key));
    }
  }

  function toggle(name) {
    message($("call-error"), "");
    open(openForm === name ? null : name);
    if (!openForm) return;
    if (name === "transfer") {
      renderTransferKind(true); // opening the form asks who is ready now
      $("transfer-target").focus();
    } else if (name === "conference") {
      renderConferenceKind(true);
      $("conference-target").focus();
    } else if (name === "consult") {
      renderConsultKind(true);
      $("consult-target").focus();
    } else if (name === "ivr") $(ivrNodes.length ? "ivr-node" : "ivr-node-text").focus();
    else if (name === "hangup") $("hangup-yes").focus();
  }

  function clearPending() {
    if (pending) clearTimeout(pending.timer);
    pending = null;
    message($("call-pending"), "");
    render();
  }

  /**
   * One call-control command: buttons wait while it runs; the server's 202 only says Asterisk
   * was asked, so the toolbar stays pending until a push shows the change (or says it did not come).
   */
  async function command(action, path, body, { linkedid = null, button = null, errorNode = "call-error" } = {}) {
    if (pending) return null;
    message($("call-error"), "");
    message($("dial-error"), "");
    pending = { action, linkedid, button, timer: null };
    if (action !== "dial") message($("call-pending"), c.pendingText(action));
    render();
    let answer;
    try {
      answer = await api("POST", path, body);
    } catch (err) {
      clearPending();
      message($(errorNode), err instanceof ApiError ? err.describe() : String(err));
      return null;
    }
    const p = pending;
    if (!p || p.action !== action) return answer; // confirmed already, before the answer came back
    if (action === "dial" && answer && answer.linkedid) p.linkedid = answer.linkedid;
    if (c.confirmed(p, S.view, S.pop)) {
      clearPending();
      return answer;
    }
    p.timer = setTimeout(() => {
      if (pending !== p) return;
      clearPending();
      message($(errorNode), action === "dial"
        ? "Your phone did not take the call: nothing was dialled."
        : "Asterisk has not confirmed it yet; the call is shown as Asterisk last reported it.");
    }, action === "dial" ? c.DIAL_CONFIRM_MS : c.CONFIRM_MS);
    return answer;
  }

  /** ``command`` on the current call: POST /api/calls/{linkedid}/{what}. */
  function onCall(action, what, body, button) {
    const call = currentCall();
    if (!call) return;
    command(action, `/api/calls/${encodeURIComponent(call.linkedid)}/${what}`, body,
      { linkedid: call.linkedid, button });
  }

  function holdOrRetrieve() {
    const action = $("btn-hold").dataset.action === "retrieve" ? "retrieve" : "hold";
    if (!currentCall()) return;
    open(null);
    onCall(action, action, {}, "btn-hold");
  }

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
    $("transfer-target-label").textContent = TARGET_LABELS[kind] || "Target";
    const input = $("transfer-target");
    input.inputMode = kind === "queue" ? "text" : kind === "external" ? "tel" : "numeric";
    if (kind === "queue") input.setAttribute("list", "transfer-queues");
    else input.removeAttribute("list");
    $("transfer-queues").replaceChildren(...S.queues.map((q) => el("option", { value: q })));
    renderPicker("transfer", kind, load);
  }

  /** A consult's or conference's kind: a colleague (picker offered) or an outside number. */
  function renderPartyKind(form, load) {
    const kind = $(`${form}-kind`).value;
    $(`${form}-target-label`).textContent = kind === "external" ? TARGET_LABELS.external : TARGET_LABELS.agent;
    $(`${form}-target`).inputMode = kind === "external" ? "tel" : "numeric";
    renderPicker(form, kind, load);
  }

  const renderConsultKind = (load = false) => renderPartyKind("consult", load);
  const renderConferenceKind = (load = false) => renderPartyKind("conference", load);

  /** The form's kind and target checked as the server checks them; a bad one is said and focused. */
  function checked(form, check) {
    const kind = $(`${form}-kind`).value;
    const result = check(kind, $(`${form}-target`).value, S.me);
    if (!result.ok) {
      message($("call-error"), `${result.message} (${result.field})`);
      $(result.field === "kind" ? `${form}-kind` : `${form}-target`).focus();
      return null;
    }
    return { kind, target: result.value };
  }

  function submitTransfer(event) {
    event.preventDefault();
    if (!currentCall()) return;
    const body = checked("transfer", c.checkTransfer);
    if (body) onCall("transfer", "transfer", body, "btn-transfer");
  }

  function submitConsult(event) {
    event.preventDefault();
    if (!currentCall()) return;
    const body = checked("consult", c.checkConsult);
    if (!body) return;
    open(null);
    onCall("consult", "consult", body, "btn-consult");
  }

  function consultOutcome(action) {
    const [what, button] = CONSULT_OUTCOMES[action];
    onCall(action, `consult/${what}`, {}, button);
  }

  function submitConference(event) {
    event.preventDefault();
    if (!currentCall()) return;
    const body = checked("conference", c.checkConsult);
    if (!body) return;
    open(null);
    onCall("conference_add", "conference/add", body, "btn-conference");
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
      remove.addEventListener("click", () => command("conference_remove",
        `/api/calls/${encodeURIComponent(linkedid)}/conference/remove`, { participant: p.participant },
        { linkedid }));
      return el("li", {}, el("span", { textContent: label }), remove);
    }));
  }

  /** Ask the server where "back to the IVR" may send a caller (once per sign-in). */
  async function loadIvrNodes() {
    const ask = ++ivrAsked;
    try {
      const answer = await api("GET", "/api/ivr/nodes");
      if (ask === ivrAsked) renderIvrNodes((answer && answer.nodes) || [], answer && answer.start);
    } catch (err) {
      if (ask === ivrAsked) renderIvrNodes([], null); // not known here: the node is typed
    }
  }

  /** The IVR menu's nodes as choices; with none (menu unreadable on the server), a text field. */
  function renderIvrNodes(nodes, start) {
    ivrNodes = nodes;
    const select = $("ivr-node");
    const text = $("ivr-node-text");
    select.replaceChildren(...nodes.map((n) => el("option", { value: n.name, textContent: c.ivrNodeLabel(n) })));
    if (start && nodes.some((n) => n.name === start)) select.value = start;
    show(select, nodes.length > 0);
    show(text, nodes.length === 0);
    $("ivr-node-label").htmlFor = nodes.length ? "ivr-node" : "ivr-node-text";
  }

  function submitIvr(event) {
    event.preventDefault();
    if (!currentCall()) return;
    const check = c.checkNode(ivrNodes.length ? $("ivr-node").value : $("ivr-node-text").value, ivrNodes);
    if (!check.ok) {
      message($("call-error"), `${check.message} (${check.field})`);
      return;
    }
    onCall("ivr", "ivr", { node: check.value }, "btn-ivr");
  }

  /** The menu's survey node ({name, type: "survey"}), where the survey button sends the caller; or none. */
  const surveyNode = () => ivrNodes.find((n) => n.type === "survey");

  function sendToSurvey() {
    const node = surveyNode();
    if (!currentCall() || !node) return;
    open(null);
    onCall("ivr", "ivr", { node: node.name }, "btn-survey"); // the caller rates; this agent's leg is released
  }

  function confirmHangup() {
    if (!currentCall()) return;
    open(null);
    onCall("hangup", "hangup", {}, "btn-hangup");
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
    const answer = await command("dial", "/api/calls/dial", { number: check.value }, { errorNode: "dial-error" });
    if (answer) $("dial-number").value = "";
  }

  function boot() {
    const option = (o) => el("option", { value: o.value, textContent: o.label });
    $("transfer-kind").replaceChildren(...c.TRANSFER_KINDS.map(option));
    $("consult-kind").replaceChildren(...c.CONSULT_KINDS.map(option));
    $("conference-kind").replaceChildren(...c.CONSULT_KINDS.map(option));
    renderIvrNodes([], null);
    for (const form of ["transfer", "consult", "conference"]) {
      const input = $(`${form}-target`);
      pickers[form] = readyAgentPicker(input);
      input.after(pickers[form].node);
    }
    const on = (id, event, handler) => $(id).addEventListener(event, handler);
    on("btn-conference", "click", () => toggle("conference"));
    on("conference-kind", "change", () => renderConferenceKind(true));
    on("conference-form", "submit", submitConference);
    on("conference-close", "click", () => open(null));
    on("btn-consult", "click", () => toggle("consult"));
    on("consult-kind", "change", () => renderConsultKind(true));
    on("consult-form", "submit", submitConsult);
    on("consult-close", "click", () => open(null));
    on("btn-consult-complete", "click", () => consultOutcome("consult_complete"));
    on("btn-consult-cancel", "click", () => consultOutcome("consult_cancel"));
    on("btn-consult-conference", "click", () => consultOutcome("consult_conference"));
    on("btn-hold", "click", holdOrRetrieve);
    on("btn-transfer", "click", () => toggle("transfer"));
    on("btn-ivr", "click", () => toggle("ivr"));
    on("btn-survey", "click", sendToSurvey);
    on("btn-hangup", "click", () => toggle("hangup"));
    on("transfer-kind", "change", () => renderTransferKind(true));
    on("transfer-form", "submit", submitTransfer);
    on("transfer-cancel", "click", () => open(null));
    on("ivr-form", "submit", submitIvr);
    on("ivr-cancel", "click", () => open(null));
    on("hangup-yes", "click", confirmHangup);
    on("hangup-no", "click", () => open(null));
    on("dial-form", "submit", submitDial);
  }

  return {
    boot,
    render,
    tick,
    loadIvrNodes,
    reset() {
      if (pending) clearPending();
    },
  };
}
