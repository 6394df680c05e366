// The supervisor's column: the agent grid (state, reason, who forced it, who monitors the agent's
// call, time in state, caller, queues) with force Ready 强制示闲 / Busy 强制示忙 / Sign out 强制签出
// per row, and for an agent on a call Listen 监听 / Whisper 耳语 / Barge 强插 / Intercept 拦截 (as in
// the Live calls rows), the marquee form, the Live calls table (#calls-table), the monitoring strip and the
// audit list (monitor.js), and the alerts (alerts.js). Rows are made once and updated in place,
// so a reason picked or a form opened in a row survives pushes.
//
// Live calls: on answered calls Hang up 挂机 (after a confirmation) and Transfer 转接 (to a
// queue, a ready agent or a number) through the agent's own API: POST
// /api/calls/{linkedid}/hangup | transfer {kind, target}. As on the agent's toolbar, a command
// stays pending until the pushed call view confirms it (the call ended; the call no longer with
// the agent it had), and a refusal or a missing confirmation is said in the row. Every row also
// has Listen 监听 / Whisper 耳语 / Barge 强插 / Intercept 拦截 (asked first), usable on answered
// calls not held, in a consult or in a conference (else disabled, with the reason beside them),
// and says who monitors the call in which mode.

import { api, ApiError } from "./net.js";
import * as f from "./format.js";
import * as c from "./calls.js";
import * as sv from "./supervision.js";
import { $, el, fillChoices, message, show } from "./dom.js";
import { readyAgentPicker } from "./targets.js";
import { monitorConsole } from "./monitor.js";
import { alertList } from "./alerts.js";

const COLUMNS = 6;
let serial = 0;

/**
 * The supervisor column's controller over the model ``S`` (see session.js); ``tick()`` runs the
 * clocks once rows were drawn. Returns {boot() (once: the marquee form, the strip's buttons),
 * renderAgents(), renderCalls(), renderReasons() (the busy reasons of every row),
 * renderMonitoring() (after a snapshot), onSession(view) (a ``supervision`` push), tick() (the
 * alerts, once a second), reset() (signed out)}. Nothing is drawn for an account that is not a
 * supervisor.
 */
export function supervisorConsole(S, { tick }) {
  const rows = new Map(); // agent id -> the grid row's nodes (updated in place)
  const nameOf = (id) => (S.agents.get(String(id)) ? f.agentLabel(S.agents.get(String(id))) : String(id));
  const monitoring = monitorConsole(S, { nameOf, changed: () => { renderCalls(); renderAgents(); }, tick });
  const alerts = alertList(S, { nameOf, monitoring });

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
    nameOf,
    queues: knownQueues,
    linkUp: S.linkUp,
    monitoring,
    me: () => (S.me ? String(S.me.id) : null),
  });

  function renderAgents() {
    if (!S.isSupervisor()) return;
    const views = [...S.agents.values()].filter((a) => a.role === "agent" || a.state !== "logged_out")
      .sort((a, b) => String(a.id).localeCompare(String(b.id)));
    const ids = new Set(views.map((a) => String(a.id)));
    for (const [id, row] of rows) {
      if (!ids.has(id)) {
        row.tr.remove();
        rows.delete(id);
      }
    }
    const body = $("agents-body");
    for (const a of views) {
      const row = agentRow(String(a.id));
      updateAgentRow(row, a);
      body.append(row.tr); // moves it into sorted order; its select keeps the supervisor's choice
    }
    tick(); // the clocks, and the alerts (supervisor.tick)
  }

  /** A grid row, made once per agent and then updated in place (a re-render never loses a half-made choice). */
  function agentRow(id) {
    let row = rows.get(id);
    if (row) return row;
    const cell = (cls) => el("td", cls ? { class: cls } : {});
    const button = (label, alt, cls, onclick) => el("button", { type: "button", class: cls, onclick },
      label, el("span", { class: "alt", textContent: ` ${alt}` }));
    row = { name: cell(), state: cell(), since: cell("tick"), caller: cell(), queues: cell() };
    row.badge = el("span", { class: "badge small" });
    row.by = el("span", { class: "by muted" });
    row.monitors = el("span", { class: "monitors", hidden: true });
    row.state.append(row.badge, " ", row.by, row.monitors);
    row.reason = el("select", { class: "small", "aria-label": `Busy reason for ${id}` });
    fillChoices(row.reason, S.busyReasons);
    row.ready = button("Ready", "强制示闲", "small", () => forceState(row, id, "ready"));
    row.busy = button("Busy", "强制示忙", "small", () => forceState(row, id, "not_ready", row.reason.value));
    row.out = button("Sign out", "强制签出", "small quiet", () => forceState(row, id, "logged_out"));
    row.error = el("p", { class: "error row-error", role: "alert", hidden: true });
    monitorControls(row, id);
    row.tr = el("tr", { dataset: { agent: id } }, row.name, row.state, row.since, row.caller, row.queues,
      el("td", {}, el("div", { class: "actions" }, row.ready, el("span", { class: "busy-group" }, row.reason, row.busy),
        row.out), row.monitor, row.why, row.interceptConfirm, row.status, row.error));
    rows.set(id, row);
    return row;
  }

  /**
   * The row's Listen / Whisper / Barge / Intercept (asked first) for the call the agent is on: the
   * same commands, rules and reasons as the Live calls rows; shown while the agent has a call.
   */
  function monitorControls(row, id) {
    row.modes = sv.MODES.map((m) => {
      const b = el("button", { type: "button", class: "small agent-monitor", textContent: m.label, dataset: { mode: m.value } });
      b.addEventListener("click", () => row.linkedid && monitoring.monitor(row.linkedid, m.value, row.error));
      return b;
    });
    row.intercept = el("button", { type: "button", class: "small danger agent-intercept", textContent: "Intercept · 拦截" });
    row.intercept.setAttribute("aria-expanded", "false");
    row.monitor = el("div", { class: "actions monitor-actions", role: "group", "aria-label": `Monitor ${id}`, hidden: true },
      ...row.modes, row.intercept);
    row.why = el("p", { class: "muted row-why", id: `agent-why-${++serial}`, hidden: true });
    row.status = el("p", { class: "pending row-status", role: "status", hidden: true });
    row.interceptQuestion = el("p", {});
    row.interceptYes = el("button", { type: "button", class: "danger small", textContent: "Yes, take the caller · 确认拦截" });
    row.interceptNo = el("button", { type: "button", class: "quiet small", textContent: "Cancel" });
    row.interceptConfirm = el("div", { class: "subform row-intercept-confirm", role: "alertdialog", hidden: true },
      row.interceptQuestion, el("div", { class: "buttons" }, row.interceptYes, row.interceptNo));
    const ask = (open) => {
      show(row.interceptConfirm, open);
      row.intercept.setAttribute("aria-expanded", String(open));
      if (open) {
        row.interceptQuestion.textContent = `Take ${nameOf(id)}'s caller over? Your phone rings first; the agent's `
          + "leg is released and they are left busy. · 确认拦截？";
        row.interceptYes.focus();
      }
    };
    row.askIntercept = ask;
    row.intercept.addEventListener("click", () => ask(row.interceptConfirm.hidden));
    row.interceptNo.addEventListener("click", () => ask(false));
    row.interceptYes.addEventListener("click", () => {
      ask(false);
      if (row.linkedid) monitoring.intercept(row.linkedid, row.error);
    });
  }

  /** The row's monitor buttons for the agent's call now: usable or not, and why not. */
  function updateAgentMonitor(row, a) {
    const call = a.call ? S.calls.get(a.call) || null : null;
    row.linkedid = call ? call.linkedid : "";
    const p = monitoring.pending();
    const mineHere = Boolean(p && p.sink === row.error);
    show(row.monitor, Boolean(call));
    if (!call) {
      row.askIntercept(false);
      message(row.why, "");
    } else {
      const m = sv.monitorButtons(call, { mine: monitoring.mine(), me: S.me ? String(S.me.id) : null, pending: p,
        linkUp: S.linkUp() });
      const who = f.agentLabel(a);
      for (const b of row.modes) {
        b.disabled = m[b.dataset.mode].disabled;
        b.title = m.reason;
        b.setAttribute("aria-label", `${sv.modeLabel(b.dataset.mode)} — ${who}`);
        b.setAttribute("aria-busy", String(Boolean(mineHere && p.action === "monitor" && p.mode === b.dataset.mode)));
        if (m.reason) b.setAttribute("aria-describedby", row.why.id);
        else b.removeAttribute("aria-describedby");
      }
      row.intercept.disabled = m.intercept.disabled;
      row.interceptYes.disabled = m.intercept.disabled;
      row.intercept.title = m.interceptReason;
      row.intercept.setAttribute("aria-label", `Intercept · 拦截 — ${who}`);
      message(row.why, m.reason);
      if (m.intercept.disabled) row.askIntercept(false);
    }
    message(row.status, mineHere ? sv.monitorPendingText(p) : "");
  }

  function updateAgentRow(row, a) {
    row.name.textContent = f.agentLabel(a);
    row.badge.dataset.state = a.state;
    row.badge.textContent = f.stateLabel(a);
    row.by.textContent = f.changedByLabel(a);
    row.since.dataset.since = (a.state !== "logged_out" && f.toEpoch(a.since)) || "";
    row.caller.textContent = f.partyLabel(a.caller);
    row.queues.textContent = (a.queues || []).join(", ");
    const watched = monitoring.sessionsOfAgent(a.id).map(sv.monitorLabel).join("; ");
    message(row.monitors, watched ? `Monitored: ${watched}` : "");
    const down = !S.link.ami || S.socket !== "open" || row.sending;
    row.ready.disabled = down || a.state === "ready";
    row.busy.disabled = down;
    row.reason.disabled = down;
    row.out.disabled = down || a.state === "logged_out";
    updateAgentMonitor(row, a);
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

  function renderCalls() {
    if (!S.isSupervisor()) return;
    monitoring.fireArmed(); // a held call retrieved: the listen asked for from its alert starts now
    callsTable.render([...S.calls.values()].sort((a, b) => (a.since || 0) - (b.since || 0)));
    for (const [id, row] of rows) { // the grid's monitor buttons follow the agent's call (held, consult...)
      const a = S.agents.get(id);
      if (a) updateAgentMonitor(row, a);
    }
    monitoring.render(); // the strip names the monitored call's caller
    tick();
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

  return {
    boot() {
      $("marquee-form").addEventListener("submit", postMarquee);
      monitoring.boot();
    },
    renderAgents,
    renderCalls,
    renderReasons() {
      for (const row of rows.values()) fillChoices(row.reason, S.busyReasons);
    },
    renderMonitoring() {
      if (!S.isSupervisor()) return;
      monitoring.snapshot();
      renderCalls();
      renderAgents();
    },
    onSession(view) {
      if (S.isSupervisor()) monitoring.onSession(view);
    },
    onAlert(d) {
      if (S.isSupervisor()) alerts.onAlert(d);
    },
    tick() {
      if (S.isSupervisor()) alerts.render();
    },
    reset() {
      rows.clear();
      $("agents-body").replaceChildren();
      callsTable.reset();
      monitoring.reset();
      alerts.reset();
    },
  };
}

/**
 * The table's controller. ``nameOf(id)`` labels an agent, ``queues()`` lists the queues a call
 * may go to, ``linkUp()`` says whether commands can be sent now (socket and Asterisk up),
 * ``monitoring`` is monitor.js's controller (sessions, commands), ``me()`` the supervisor's id.
 * ``render(calls)`` takes the live call views (oldest first); ``reset()`` empties it.
 */
export function liveCallsTable({ body, empty, nameOf, queues, linkUp, monitoring, me }) {
  const rows = new Map(); // linkedid -> row

  function render(calls) {
    const ids = new Set(calls.map((x) => x.linkedid));
    for (const [id, row] of rows) {
      if (!ids.has(id)) drop(row);
    }
    for (const call of calls) {
      const row = rows.get(call.linkedid) || makeRow(call.linkedid);
      row.call = call;
      if (row.pending && c.rowConfirmed(row.pending, call)) confirm(row);
      update(row);
      body.append(row.tr, row.formTr); // into order; the row's form and choices stay as they are
    }
    show(empty, calls.length === 0);
  }

  function reset() {
    for (const row of rows.values()) drop(row);
  }

  function drop(row) {
    if (row.pending) clearTimeout(row.pending.timer);
    row.tr.remove();
    row.formTr.remove();
    rows.delete(row.linkedid);
  }

  function makeRow(linkedid) {
    const n = ++serial;
    const cell = (cls) => el("td", cls ? { class: cls } : {});
    const row = { linkedid, call: null, pending: null, form: null,
      caller: cell(), queue: cell(), state: cell(), agent: cell(), since: cell("tick") };
    row.agentName = el("span", { class: "agent-name" });
    row.monitors = el("span", { class: "monitors", hidden: true });
    row.agent.append(row.agentName, row.monitors);
    row.modes = sv.MODES.map((m) => {
      const b = el("button", { type: "button", class: "small row-monitor", textContent: m.label, dataset: { mode: m.value } });
      b.addEventListener("click", () => monitoring.monitor(linkedid, m.value, row.error));
      return b;
    });
    row.intercept = el("button", { type: "button", class: "small danger row-intercept", textContent: "Intercept · 拦截" });
    row.intercept.setAttribute("aria-expanded", "false");
    row.why = el("p", { class: "muted row-why", id: `row-why-${n}`, hidden: true });
    row.transfer = el("button", { type: "button", class: "small row-transfer", textContent: "Transfer · 转接" });
    row.hangup = el("button", { type: "button", class: "small danger row-hangup", textContent: "Hang up · 挂机" });
    row.transfer.setAttribute("aria-expanded", "false");
    row.hangup.setAttribute("aria-expanded", "false");
    row.status = el("p", { class: "pending row-status", role: "status", hidden: true });
    row.error = el("p", { class: "error row-error", role: "alert", hidden: true });
    row.tr = el("tr", { dataset: { linkedid } }, row.caller, row.queue, row.state, row.agent, row.since,
      el("td", {}, el("div", { class: "actions monitor-actions", role: "group", "aria-label": "Monitor" }, ...row.modes,
        row.intercept), row.why, el("div", { class: "actions" }, row.transfer, row.hangup), row.status, row.error));

    // Intercept: asked first (the agent loses the caller).
    row.interceptConfirm = el("div", { class: "subform row-intercept-confirm", role: "alertdialog", hidden: true });
    row.interceptQuestion = el("p", {});
    row.interceptYes = el("button", { type: "button", class: "danger small", textContent: "Yes, take the caller · 确认拦截" });
    row.interceptNo = el("button", { type: "button", class: "quiet small", textContent: "Cancel" });
    row.interceptConfirm.append(row.interceptQuestion, el("div", { class: "buttons" }, row.interceptYes, row.interceptNo));

    // Hang up: asked first.
    row.confirm = el("div", { class: "subform row-confirm", role: "alertdialog", hidden: true },
      el("p", { textContent: "Hang up this call? · 确认挂机？" }));
    row.hangupYes = el("button", { type: "button", class: "danger small", textContent: "Yes, hang up" });
    row.hangupNo = el("button", { type: "button", class: "quiet small", textContent: "Cancel" });
    row.confirm.append(el("div", { class: "buttons" }, row.hangupYes, row.hangupNo));

    // Transfer: kind, target (ready agents offered for kind agent, queues suggested for kind queue).
    const kindId = `row-kind-${n}`;
    const targetId = `row-target-${n}`;
    row.kind = el("select", { id: kindId, class: "row-kind" },
      ...c.TRANSFER_KINDS.map((k) => el("option", { value: k.value, textContent: k.label })));
    row.kind.value = "queue";
    row.target = el("input", { id: targetId, class: "row-target", autocomplete: "off", maxLength: 64 });
    row.targetLabel = el("label", { htmlFor: targetId });
    row.queueList = el("datalist", { id: `row-queues-${n}` });
    row.picker = readyAgentPicker(row.target, { exclude: () => [row.call && row.call.agent].filter(Boolean) });
    row.send = el("button", { type: "submit", class: "primary small", textContent: "Transfer" });
    row.cancel = el("button", { type: "button", class: "quiet small", textContent: "Cancel" });
    row.transferForm = el("form", { class: "subform row-transfer-form", novalidate: true, hidden: true },
      el("label", { htmlFor: kindId, textContent: "Transfer to" }), row.kind, row.targetLabel, row.target,
      row.queueList, row.picker.node, el("div", { class: "buttons" }, row.send, row.cancel));
    row.formTr = el("tr", { class: "row-forms", hidden: true, dataset: { formsFor: linkedid } },
      el("td", { colSpan: COLUMNS }, row.confirm, row.interceptConfirm, row.transferForm));

    row.intercept.addEventListener("click", () => open(row, row.form === "intercept" ? null : "intercept"));
    row.interceptNo.addEventListener("click", () => open(row, null));
    row.interceptYes.addEventListener("click", () => {
      open(row, null);
      monitoring.intercept(linkedid, row.error);
    });

    row.hangup.addEventListener("click", () => open(row, row.form === "hangup" ? null : "hangup"));
    row.hangupNo.addEventListener("click", () => open(row, null));
    row.hangupYes.addEventListener("click", () => {
      open(row, null);
      command(row, "hangup", {});
    });
    row.transfer.addEventListener("click", () => open(row, row.form === "transfer" ? null : "transfer"));
    row.cancel.addEventListener("click", () => open(row, null));
    row.kind.addEventListener("change", () => renderKind(row, true));
    row.transferForm.addEventListener("submit", (event) => {
      event.preventDefault();
      submitTransfer(row);
    });
    rows.set(linkedid, row);
    return row;
  }

  function open(row, name) {
    row.form = name;
    message(row.error, "");
    show(row.confirm, name === "hangup");
    show(row.interceptConfirm, name === "intercept");
    show(row.transferForm, name === "transfer");
    show(row.formTr, name !== null);
    row.hangup.setAttribute("aria-expanded", String(name === "hangup"));
    row.intercept.setAttribute("aria-expanded", String(name === "intercept"));
    row.transfer.setAttribute("aria-expanded", String(name === "transfer"));
    if (name === "transfer") {
      renderKind(row, true);
      row.target.focus();
    } else if (name === "hangup") row.hangupYes.focus();
    else if (name === "intercept") {
      const agent = row.call && row.call.agent ? nameOf(row.call.agent) : "the agent";
      row.interceptQuestion.textContent = `Take this caller over from ${agent}? Your phone rings first; the agent's `
        + "leg is released and they are left busy. · 确认拦截？";
      row.interceptYes.focus();
    }
  }

  function renderKind(row, load) {
    const kind = row.kind.value;
    row.targetLabel.textContent = { agent: "Agent no. · 工号", queue: "Queue · 队列",
      external: "Outside number · 外线号码" }[kind] || "Target";
    row.target.inputMode = kind === "queue" ? "text" : kind === "external" ? "tel" : "numeric";
    row.queueList.replaceChildren(...queues().map((q) => el("option", { value: q })));
    if (kind === "queue") row.target.setAttribute("list", row.queueList.id);
    else if (kind === "agent") row.target.setAttribute("list", row.picker.list.id);
    else row.target.removeAttribute("list");
    show(row.picker.node, kind === "agent");
    if (kind === "agent" && load) row.picker.load();
  }

  function submitTransfer(row) {
    const kind = row.kind.value;
    const check = c.checkTransfer(kind, row.target.value, null, { holder: row.call && row.call.agent });
    if (!check.ok) {
      message(row.error, `${check.message} (${check.field})`);
      (check.field === "kind" ? row.kind : row.target).focus();
      return;
    }
    open(row, null);
    command(row, "transfer", { kind, target: check.value });
  }

  /** One command on the row's call; pending until a push confirms it, as on the agent's toolbar. */
  async function command(row, action, payload) {
    if (row.pending) return;
    message(row.error, "");
    message(row.status, c.pendingText(action));
    const p = { action, agent: row.call ? row.call.agent : "", timer: null };
    row.pending = p;
    update(row);
    try {
      await api("POST", `/api/calls/${encodeURIComponent(row.linkedid)}/${action}`, payload);
    } catch (err) {
      if (row.pending !== p) return;
      row.pending = null;
      message(row.status, "");
      message(row.error, err instanceof ApiError ? err.describe() : String(err));
      update(row);
      return;
    }
    if (row.pending !== p || !rows.has(row.linkedid)) return; // confirmed (or ended) before the answer came
    p.timer = setTimeout(() => {
      if (row.pending !== p) return;
      row.pending = null;
      message(row.status, "");
      message(row.error, "Asterisk has not confirmed it yet; the call is shown as Asterisk last reported it.");
      update(row);
    }, c.CONFIRM_MS);
  }

  function confirm(row) {
    const p = row.pending;
    clearTimeout(p.timer);
    row.pending = null;
    const to = row.call && row.call.agent ? ` — now with ${nameOf(row.call.agent)}` : row.call ? ` — ${row.call.state}` : "";
    message(row.status, p.action === "transfer" ? `Transferred · 已转接${to}` : "");
  }

  function update(row) {
    const x = row.call;
    row.caller.textContent = [x.caller_number, x.caller_name].filter(Boolean).join(" ");
    row.queue.textContent = x.queue || "";
    row.state.textContent = x.state;
    row.agentName.textContent = x.agent ? nameOf(x.agent) : (x.ringing || []).map(nameOf).join(", ");
    const watched = monitoring.sessionsOn(x.linkedid).map(sv.monitorLabel).join("; ");
    message(row.monitors, watched ? `Monitored: ${watched}` : "");
    row.since.dataset.since = f.toEpoch(x.since) || "";
    const actions = c.rowActions(x, { pending: row.pending, linkUp: linkUp() });
    for (const [key, button] of [["hangup", row.hangup], ["transfer", row.transfer]]) {
      show(button, actions[key].shown);
      button.disabled = actions[key].disabled;
      button.setAttribute("aria-busy", String(Boolean(row.pending && row.pending.action === key)));
    }
    row.send.disabled = actions.transfer.disabled;
    row.hangupYes.disabled = actions.hangup.disabled;
    const who = row.caller.textContent || "this call";
    updateMonitor(row, x, who);
    if (row.form && row.form !== "intercept" && !(actions[row.form] && actions[row.form].shown)) open(row, null);
    row.hangup.setAttribute("aria-label", `Hang up ${who}`);
    row.transfer.setAttribute("aria-label", `Transfer ${who}`);
  }

  /** The row's monitor buttons: usable or not, and why not (beside them, and as their description). */
  function updateMonitor(row, x, who) {
    const p = monitoring.pending();
    const m = sv.monitorButtons(x, { mine: monitoring.mine(), me: me(), pending: p || row.pending, linkUp: linkUp() });
    for (const b of row.modes) {
      b.disabled = m[b.dataset.mode].disabled;
      b.title = m.reason;
      b.setAttribute("aria-label", `${sv.modeLabel(b.dataset.mode)} — ${who}`);
      b.setAttribute("aria-busy", String(Boolean(p && p.action === "monitor" && p.linkedid === x.linkedid
        && p.mode === b.dataset.mode)));
      if (m.reason) b.setAttribute("aria-describedby", row.why.id);
      else b.removeAttribute("aria-describedby");
    }
    row.intercept.disabled = m.intercept.disabled;
    row.interceptYes.disabled = m.intercept.disabled;
    row.intercept.title = m.interceptReason;
    row.intercept.setAttribute("aria-label", `Intercept · 拦截 — ${who}`);
    message(row.why, m.reason);
    if (row.form === "intercept" && m.intercept.disabled) open(row, null);
    const mine = p && p.sink === row.error; // a monitoring command given from this row
    if (mine) message(row.status, sv.monitorPendingText(p));
    else if (row.status.dataset.monitor === "1") message(row.status, "");
    row.status.dataset.monitor = mine ? "1" : "";
  }

  return { render, reset };
}
