// The session: signing in (and taking over a panel open elsewhere), the push socket (snapshot,
// numbered deltas, reconnect) and the model they fill, the status bar (who, state badge, link
// banner, marquee) and the agent's own state buttons, which stay pending until the pushed
// agent_state confirms them (Asterisk is the source of truth). The monitored agent's banner
// ("陈主管 Supervisor Chen is whispering to you") follows the ``notice`` pushes.

import { api, ApiError, PushSocket } from "./net.js";
import * as f from "./format.js";
import { bannerText } from "./supervision.js";
import { $, el, fillChoices, message, show } from "./dom.js";

const CONFIRM_TIMEOUT_MS = 15000;
const TODAY_MAX = 50;
// Ringing, on a call and on hold are "ready" as far as the queue goes.
const READY_LIKE = ["ready", "ringing", "on_call", "on_hold"];
const STATE_BUTTONS = ["btn-signin", "btn-ready", "btn-busy", "btn-signout"];

/** What the server pushed, which every part of the page reads: a snapshot replaces it, deltas update it. */
export function createModel() {
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
    monitoring: new Map(), // supervisors: session id -> every supervisor's live monitoring session
    alerts: new Map(), // supervisors: key -> an alert the server raised (alerts.js)
    monitored: null, // the agent: the notice {kind: "monitoring", active, mode, by, linkedid} shown now
    ended: new Set(), // linkedids already ended: a late pop_update or call_update must not bring them back
    busyReasons: [],
    queues: [], // the queues this agent may sign in to (snapshot.queues)
    offset: 0, // server clock minus browser clock, seconds: every timer runs on the server's clock
    /** Now, in epoch seconds on the server's clock. */
    serverNow: () => Date.now() / 1000 + S.offset,
    isSupervisor: () => Boolean(S.me) && (S.me.role === "supervisor" || S.me.role === "admin"),
    /** Whether commands can go out now: the socket and the Asterisk link are up. */
    linkUp: () => S.link.ami && S.socket === "open",
  };
  return S;
}

/**
 * The session's controller over the model ``S``. The other parts render what it changes:
 * ``toolbar`` {render, reset, loadIvrNodes}, ``pop`` {render, announce, renderToday},
 * ``supervisor`` {renderAgents, renderCalls, renderReasons, renderMonitoring, onSession, reset}, ``figures``
 * {refresh, reset, stop}, ``workorders`` {signedIn, reset, onSnapshot, onTask} (the write-up and the task
 * bar; the pop tells them of an answered call itself); ``tick()`` runs the clocks. Returns {bind(), start()}.
 */
export function panelSession(S, { toolbar, pop, supervisor, figures, workorders, tick }) {
  let takeover = null; // {login, password} while the "take over here?" choice is open
  let pending = null; // {target, reason, button, timer} until the pushed agent_state confirms it

  // -- views -----------------------------------------------------------------------

  function setView(name) {
    $("app").dataset.view = name;
    $("app").classList.toggle("wide", name === "panel" && S.isSupervisor());
    show($("signin-view"), name === "signin");
    show($("agent-view"), name === "panel");
    show($("supervisor-view"), name === "panel" && S.isSupervisor());
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
    const waiting = pending !== null;
    const down = !S.link.ami || S.socket !== "open";
    for (const id of STATE_BUTTONS) $(id).disabled = waiting || down;
    $("busy-reason").disabled = waiting || down;
    if (!waiting && !down) $("btn-ready").disabled = READY_LIKE.includes(state);
    for (const input of document.querySelectorAll('#queue-options input')) input.disabled = waiting || down;
    for (const id of STATE_BUTTONS) $(id).setAttribute("aria-busy", String(Boolean(pending && pending.button === id)));
    toolbar.render();
  }

  function renderBusyReasons() {
    fillChoices($("busy-reason"), S.busyReasons);
    supervisor.renderReasons();
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
    supervisor.renderAgents(); // force buttons follow the links too
    supervisor.renderCalls(); // and the live calls' buttons
  }

  /** The monitored agent's banner, while the call it is about is still theirs. */
  function renderMonitored() {
    const n = S.monitored;
    if (n && (!S.view || S.view.call !== n.linkedid)) S.monitored = null; // the call ended or left the agent
    const text = bannerText(S.monitored);
    message($("monitor-banner"), text);
    $("monitor-banner").dataset.mode = (S.monitored && S.monitored.mode) || "";
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

  // -- push messages ---------------------------------------------------------------

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
    S.monitoring = new Map((d.monitoring || []).filter((m) => m.state !== "ended").map((m) => [m.id, m]));
    S.alerts = new Map((d.alerts || []).map((a) => [a.key, a]));
    // the banner a supervisor's monitoring shows the agent now (null when none is shown)
    S.monitored = d.monitored && d.monitored.active ? d.monitored : null;
    if (pending && matchesTarget(S.view, pending)) clearPending();
    renderBusyReasons();
    renderMe();
    renderBanner();
    renderMarquee();
    pop.render();
    pop.renderToday();
    renderMonitored();
    supervisor.renderMonitoring(); // the agents and calls with who monitors them
    figures.reset(d);
    workorders.onSnapshot(); // what waits may have changed while the socket was down
  }

  const HANDLERS = {
    snapshot: onSnapshot,
    agent_state(d) {
      if (S.me && String(d.id) === String(S.me.id)) {
        const before = S.view && S.view.call;
        if (S.pop && S.pop.state === "answered" && before === S.pop.linkedid && d.call !== before) {
          S.pop = null; // the call left this agent (transferred, sent to the IVR): its card goes
          pop.render();
        }
        S.view = d;
        if (pending && matchesTarget(d, pending)) clearPending();
        renderMe();
        renderMonitored();
      }
      if (S.isSupervisor()) {
        S.agents.set(String(d.id), d);
        supervisor.renderAgents();
      }
      figures.refresh();
    },
    call_ringing(d) {
      S.pop = d;
      S.popAt = performance.now();
      pop.render();
      pop.announce(d);
    },
    pop_update(d) {
      // the agent's own pop, refreshed: answered, held, consult, conference, customer found
      if (S.ended.has(d.linkedid)) return;
      if (!S.pop || S.pop.linkedid === d.linkedid || S.pop.state !== "answered") {
        const learned = d.customer && !(S.pop && S.pop.linkedid === d.linkedid && S.pop.customer);
        if (learned) pop.announce(d);
        S.pop = d;
        S.popAt = performance.now();
        pop.render();
      }
    },
    call_update(d) {
      // a live call's one-line view (the supervisors' list)
      if (S.isSupervisor() && !S.ended.has(d.linkedid)) {
        S.calls.set(d.linkedid, d);
        supervisor.renderCalls();
      }
    },
    call_ended(d) {
      S.ended.add(d.linkedid);
      if (S.monitored && S.monitored.linkedid === d.linkedid) {
        S.monitored = null;
        renderMonitored();
      }
      if (S.ended.size > 500) S.ended.delete(S.ended.values().next().value);
      if (S.pop && S.pop.linkedid === d.linkedid) {
        S.pop = null;
        pop.render();
      }
      if (S.calls.delete(d.linkedid)) supervisor.renderCalls();
      figures.refresh();
    },
    workorder_update(d) {
      if (!S.me || String(d.agent_id) !== String(S.me.id)) return;
      const key = d.ref || d.linkedid;
      S.today = [d, ...S.today.filter((w) => (w.ref || w.linkedid) !== key)].slice(0, TODAY_MAX);
      pop.renderToday();
    },
    workorder_task(d) {
      // a work order this user has a part in changed (or fell due): the task bar and an open copy follow
      workorders.onTask(d);
    },
    supervision(d) {
      // one monitoring session's view, to supervisors: ringing, active, intercepted, ended
      supervisor.onSession(d);
    },
    alert(d) {
      // an alert raised (or changed) or cleared by the server, to supervisors
      supervisor.onAlert(d);
    },
    notice(d) {
      if (!d || d.kind !== "monitoring") return;
      if (d.active) S.monitored = d;
      else if (!S.monitored || !d.linkedid || S.monitored.linkedid === d.linkedid) S.monitored = null;
      renderMonitored();
    },
    marquee(d) {
      S.marquee = d.items || [];
      renderMarquee();
    },
    link(d) {
      const dbBack = d && d.db && !S.link.db;
      S.link = d;
      renderBanner();
      if (dbBack) workorders.onLink(d);
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

  // -- the agent's state -----------------------------------------------------------

  function matchesTarget(view, wanted) {
    if (!view) return wanted.target === "logged_out";
    if (wanted.target === "ready") return READY_LIKE.includes(view.state);
    if (wanted.target === "not_ready") return view.state === "not_ready" && (!wanted.reason || view.reason === wanted.reason);
    return view.state === wanted.target;
  }

  function clearPending() {
    if (pending) clearTimeout(pending.timer);
    pending = null;
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
    pending = { target, reason, button: button.id, timer: null };
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
    if (!pending) return; // confirmed already, before the answer came back
    if (matchesTarget(S.view, pending)) {
      clearPending();
      return;
    }
    pending.timer = setTimeout(() => {
      clearPending();
      message($("state-error"), "Asterisk has not confirmed the change yet; the state shown is what it last reported.");
    }, CONFIRM_TIMEOUT_MS);
  }

  // -- signing in and out ----------------------------------------------------------

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
      await changeIfRequired(password);
      signedIn(data.me);
    } catch (err) {
      message($("signin-error"), err instanceof ApiError ? err.describe() : String(err));
    } finally {
      $("signin-submit").disabled = false;
    }
  }

  /**
   * After a reset (or for an account an admin just made) the password must be changed before the
   * panel opens: a form in place of the sign-in form until the server accepts a new one.
   */
  async function changeIfRequired(current) {
    let status;
    try {
      status = await api("GET", "/api/account/password");
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return; // a server without the administration
      throw err;
    }
    if (!status.must_change) return;
    const error = el("p", { class: "error", id: "pwchange-error", role: "alert", hidden: true });
    const fresh = el("input", { id: "new-password", type: "password", autocomplete: "new-password", maxlength: 256 });
    const again = el("input", { id: "new-password-again", type: "password", autocomplete: "new-password",
      maxlength: 256 });
    const form = el("form", { id: "pwchange-form", novalidate: true },
      el("h2", { textContent: "Choose a new password · 请设置新密码" }),
      el("p", { textContent: "At least 10 characters, not your login, not a common password." }),
      el("label", { for: "new-password", textContent: "New password · 新密码" }), fresh,
      el("label", { for: "new-password-again", textContent: "Again · 再次输入" }), again, error,
      el("button", { type: "submit", class: "primary", id: "pwchange-submit", textContent: "Change · 修改" }));
    show($("signin-form"), false);
    $("signin-form").after(form);
    fresh.focus();
    await new Promise((resolve) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (fresh.value !== again.value) {
          message(error, "The two passwords differ.");
          return;
        }
        try {
          await api("POST", "/api/account/password", { current_password: current, new_password: fresh.value });
          resolve();
        } catch (err) {
          message(error, err instanceof ApiError ? err.describe() : String(err));
        }
      });
    });
    form.remove();
    show($("signin-form"), true);
  }

  /** The account has a panel open elsewhere: take it over here, or cancel (and sign this one out). */
  function askTakeOver(login, password, count) {
    takeover = { login, password };
    $("takeover-text").textContent = `${login} already has ${count === 1 ? "a panel" : `${count} panels`} open `
      + "on another screen. Take over here closes it there; your queues and state stay as they are.";
    show($("signin-form"), false);
    show($("takeover"), true);
    $("takeover-yes").focus();
  }

  function closeTakeOver() {
    takeover = null;
    $("password").value = "";
    show($("takeover"), false);
    show($("signin-form"), true);
  }

  async function takeOver() {
    const t = takeover;
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
    if (me.role === "admin" && !$("admin-link")) { // the administration page, for admins only
      $("logout").before(el("a", { id: "admin-link", class: "reports-link", href: "/admin", target: "_blank",
        rel: "noopener", textContent: "Administration · 管理" }));
    }
    S.view = null;
    setView("panel");
    renderMe();
    workorders.signedIn(); // the form's choices, the task bar, a write-up open before a reload
    socket.start();
    toolbar.loadIvrNodes(); // once per sign-in: where "back to the IVR" may send a caller
  }

  function signedOut(notice) {
    socket.stop();
    figures.stop();
    if (pending) clearPending();
    toolbar.reset();
    workorders.reset();
    if (takeover) closeTakeOver();
    Object.assign(S, { me: null, view: null, pop: null, today: [], marquee: [], socket: "closed", monitored: null });
    S.agents = new Map();
    S.calls = new Map();
    S.monitoring = new Map();
    S.alerts = new Map();
    renderMonitored();
    S.queues = [];
    supervisor.reset();
    $("queue-options").replaceChildren();
    setView("signin");
    toolbar.render();
    message($("signin-error"), notice || "");
  }

  async function logOut() {
    try {
      await api("POST", "/api/logout");
    } finally {
      signedOut("");
    }
  }

  return {
    /** Listen to the sign-in form, take-over choice, log-out link and state buttons. */
    bind() {
      $("signin-form").addEventListener("submit", signIn);
      $("logout").addEventListener("click", logOut);
      $("takeover-yes").addEventListener("click", takeOver);
      $("takeover-no").addEventListener("click", cancelTakeOver);
      for (const id of STATE_BUTTONS) {
        const b = $(id);
        b.addEventListener("click", () => requestState(b, b.dataset.target));
      }
    },
    /** Resume the session the cookie names, else show the sign-in form. */
    async start() {
      try {
        const data = await api("GET", "/api/me");
        signedIn(data.me);
      } catch (err) {
        setView("signin");
        if (!(err instanceof ApiError && err.status === 401)) message($("signin-error"), err.describe());
      }
    },
  };
}
