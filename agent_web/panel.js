// The agent panel and supervisor console: sign-in, work state, screen-pop, marquee, lists.
// State lives in `S`; every push message updates it and re-renders the part it touches.

import { api, ApiError, PushSocket } from "./net.js";
import * as f from "./format.js";

const $ = (id) => document.getElementById(id);
const CONFIRM_TIMEOUT_MS = 15000;
const TODAY_MAX = 50;

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
  pending: null, // {target, reason, timer}
};

const isSupervisor = () => S.me && (S.me.role === "supervisor" || S.me.role === "admin");

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function show(node, visible) {
  node.hidden = !visible;
}

function message(node, text) {
  node.textContent = text || "";
  show(node, Boolean(text));
}

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
  $("who-name").textContent = (S.view && S.view.name) || (S.me && S.me.name) || "";
  $("who-login").textContent = S.me ? S.me.login : "";
  const badge = $("state-badge");
  const state = (S.view && S.view.state) || "logged_out";
  badge.dataset.state = state;
  badge.textContent = f.stateLabel(S.view);
  $("state-text").textContent = f.stateLabel(S.view);
  $("state-since").dataset.since = (S.view && f.toEpoch(S.view.since)) || "";
  renderButtons();
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
  if (!pending && !down) {
    // Ringing and on a call are "ready" as far as the queue goes.
    $("btn-ready").disabled = ["ready", "ringing", "on_call"].includes(state);
  }
  for (const id of ["btn-signin", "btn-ready", "btn-busy", "btn-signout"]) {
    const b = $(id);
    b.setAttribute("aria-busy", String(Boolean(S.pending && S.pending.button === id)));
  }
}

function renderBusyReasons() {
  const select = $("busy-reason");
  const current = select.value;
  select.replaceChildren(...S.busyReasons.map((r) => el("option", { value: r, textContent: r })));
  if (S.busyReasons.includes(current)) select.value = current;
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
  if (!pop) return;
  $("pop-phase").textContent = pop.state === "answered" ? "On call" : "Incoming call";
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
    el("span", { class: "talk", textContent: w.talk_seconds != null ? f.duration(w.talk_seconds) : "" }))));
  show($("today-empty"), S.today.length === 0);
}

function renderAgents() {
  if (!isSupervisor()) return;
  const rows = [...S.agents.values()].filter((a) => a.role === "agent" || a.state !== "logged_out")
    .sort((a, b) => String(a.id).localeCompare(String(b.id)));
  $("agents-body").replaceChildren(...rows.map((a) => el("tr", { dataset: { agent: a.id } },
    el("td", { textContent: f.agentLabel(a) }),
    el("td", {}, el("span", { class: "badge small", dataset: { state: a.state }, textContent: f.stateLabel(a) })),
    el("td", { class: "tick", dataset: { since: f.toEpoch(a.since) || "" } }),
    el("td", { textContent: (a.queues || []).join(", ") }),
    el("td", {}, el("div", { class: "actions" },
      a.state !== "ready" ? el("button", { type: "button", class: "small", textContent: "Ready",
        onclick: () => forceState(a.id, "ready") }) : null,
      a.state !== "logged_out" ? el("button", { type: "button", class: "small quiet", textContent: "Sign out",
        onclick: () => forceState(a.id, "logged_out") }) : null)))));
  tick();
}

function renderCalls() {
  if (!isSupervisor()) return;
  const calls = [...S.calls.values()].sort((a, b) => (a.since || 0) - (b.since || 0));
  const nameOf = (id) => (S.agents.get(id) ? f.agentLabel(S.agents.get(id)) : id);
  $("calls-body").replaceChildren(...calls.map((c) => el("tr", { dataset: { linkedid: c.linkedid } },
    el("td", { textContent: [c.caller_number, c.caller_name].filter(Boolean).join(" ") }),
    el("td", { textContent: c.queue || "" }),
    el("td", { textContent: c.state }),
    el("td", { textContent: c.agent ? nameOf(c.agent) : (c.ringing || []).map(nameOf).join(", ") }),
    el("td", { class: "tick", dataset: { since: f.toEpoch(c.since) || "" } }))));
  show($("calls-empty"), calls.length === 0);
  tick();
}

/** Once a second: running durations (state since, call durations, the pop's wait). */
function tick() {
  const now = Date.now() / 1000;
  for (const node of document.querySelectorAll("[data-since]")) {
    const since = Number(node.dataset.since);
    node.textContent = since ? f.duration(now - since) : "";
  }
  renderPopWait();
}

// -- push messages -----------------------------------------------------------------

function onSnapshot(d) {
  // A snapshot replaces everything: nothing from before a reconnect may linger.
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
}

function isPop(d) {
  return d && Object.prototype.hasOwnProperty.call(d, "customer_class");
}

const HANDLERS = {
  snapshot: onSnapshot,
  agent_state(d) {
    if (S.me && String(d.id) === String(S.me.id)) {
      S.view = d;
      if (S.pending && matchesTarget(d, S.pending)) clearPending();
      renderMe();
    }
    if (isSupervisor()) {
      S.agents.set(String(d.id), d);
      renderAgents();
    }
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
  if (pending.target === "ready") return ["ready", "ringing", "on_call"].includes(view.state);
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
  message($("state-error"), "");
  S.pending = { target, reason, button: button.id, timer: null };
  message($("pending"), `${button.textContent}: waiting for Asterisk to confirm…`);
  renderButtons();
  try {
    const body = { state: target };
    if (reason) body.reason = reason;
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

async function forceState(agentId, target) {
  message($("agents-error"), "");
  try {
    await api("POST", "/api/agent/state", { state: target, agent: String(agentId) });
  } catch (err) {
    message($("agents-error"), err instanceof ApiError ? err.describe() : String(err));
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
    $("password").value = "";
    signedIn(data.me);
  } catch (err) {
    message($("signin-error"), err instanceof ApiError ? err.describe() : String(err));
  } finally {
    $("signin-submit").disabled = false;
  }
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
  if (S.pending) clearPending();
  Object.assign(S, { me: null, view: null, pop: null, today: [], marquee: [], socket: "closed" });
  S.agents = new Map();
  S.calls = new Map();
  setView("signin");
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
  for (const id of ["btn-signin", "btn-ready", "btn-busy", "btn-signout"]) {
    const b = $(id);
    b.addEventListener("click", () => requestState(b, b.dataset.target));
  }
  setInterval(tick, 1000);
  try {
    const data = await api("GET", "/api/me");
    signedIn(data.me);
  } catch (err) {
    setView("signin");
    if (!(err instanceof ApiError && err.status === 401)) message($("signin-error"), err.describe());
  }
}

boot();
