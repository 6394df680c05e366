// The supervisor's monitoring on the page (its rules are in supervision.js): the strip for their
// own session (ringing your phone… / live, who and which call, since when on the server's clock,
// mode buttons, Stop, Intercept), the commands the Live calls rows and the alerts send, and the
// "Audit · 监控记录" list of today's supervision steps.
//
// API (ctiserver/supervision/routes.py): POST /api/supervision/monitor {linkedid, mode},
// /mode {mode}, /stop {}, /intercept {linkedid}; GET /api/supervision/audit?date=. Every
// session's view is pushed as ``supervision`` to supervisors; a command stays pending until that
// push confirms it (as the state buttons wait for agent_state), and a refusal is shown with the
// server's message where the command was given.

import { api, ApiError } from "./net.js";
import * as f from "./format.js";
import * as sv from "./supervision.js";
import { CONFIRM_MS } from "./calls.js";
import { $, el, message, show } from "./dom.js";

const AUDIT_THROTTLE_MS = 2000;
const AUDIT_DELAY_MS = 1000; // a step is written to the work order shortly after it is pushed

/**
 * The monitoring controller over the model ``S`` (``S.monitoring``: session id -> view, every
 * supervisor's live sessions). ``nameOf(id)`` labels an agent; ``changed()`` redraws what shows
 * sessions (the calls table, the grid, the alerts). Returns {boot(), onSession(view), mine(),
 * render(), monitor(linkedid, mode, errorNode), intercept(linkedid, errorNode), arm(linkedid),
 * armed(linkedid), disarm(linkedid), pending(), sessionsOn(linkedid), sessionsOfAgent(id),
 * reset(), snapshot()}.
 */
export function monitorConsole(S, { nameOf, changed, tick }) {
  let pending = null; // {action, linkedid, mode, sink, timer, sawEnd} until a push confirms it
  const armed = new Map(); // linkedid -> the mode to monitor in once the call is off hold
  const modeButtons = new Map();
  let shownId = null; // the session the strip shows: a new one starts without the last one's messages
  let interceptAsked = null; // {id, at (performance.now())} since the own session was live with an intercept asked
  let auditOpen = false;
  let auditSeq = 0;
  const auditSoon = f.throttle(() => { if (auditOpen) loadAudit(); }, AUDIT_THROTTLE_MS, { delay: AUDIT_DELAY_MS });

  const me = () => (S.me ? String(S.me.id) : null);

  /** The supervisor's own live session, or null. */
  function mine() {
    const id = me();
    if (!id) return null;
    for (const s of S.monitoring.values()) if (String(s.supervisor) === id && s.state !== "ended") return s;
    return null;
  }

  // -- the strip -------------------------------------------------------------------

  function boot() {
    $("monitor-modes").replaceChildren(...sv.MODES.map((m) => {
      const b = el("button", { type: "button", class: "small mode", textContent: m.label, dataset: { mode: m.value } });
      b.addEventListener("click", () => command("mode", { mode: m.value }, { mode: m.value }, $("monitor-error")));
      modeButtons.set(m.value, b);
      return b;
    }));
    $("monitor-stop").addEventListener("click", () => command("stop", {}, {}, $("monitor-error")));
    $("monitor-intercept").addEventListener("click", () => askIntercept(true));
    $("monitor-intercept-no").addEventListener("click", () => askIntercept(false));
    $("monitor-intercept-yes").addEventListener("click", () => {
      const s = mine();
      askIntercept(false);
      if (s) intercept(s.linkedid, $("monitor-error"));
    });
    $("audit-load").addEventListener("click", () => {
      auditOpen = !auditOpen;
      $("audit-load").setAttribute("aria-expanded", String(auditOpen));
      $("audit-load").textContent = auditOpen ? "Hide · 收起" : "Show today's · 查看今日";
      show($("audit-content"), auditOpen);
      if (auditOpen) loadAudit();
    });
    $("audit-refresh").addEventListener("click", loadAudit);
  }

  function askIntercept(open) {
    show($("monitor-intercept-confirm"), open);
    $("monitor-intercept").setAttribute("aria-expanded", String(open));
    if (open) $("monitor-intercept-yes").focus();
  }

  function render() {
    if (!S.isSupervisor()) return;
    const s = mine();
    if (pending && sv.monitorConfirmed(pending, s)) clear();
    show($("monitor-strip"), Boolean(s));
    const linkUp = S.linkUp();
    message($("monitor-pending"), pending && pending.sink === $("monitor-error") ? sv.monitorPendingText(pending) : "");
    if (!s) {
      shownId = null;
      askIntercept(false);
      $("monitor-since").dataset.since = "";
      $("monitor-strip").dataset.state = "";
      return;
    }
    if (s.id !== shownId) {
      shownId = s.id;
      if (!(pending && pending.sink === $("monitor-error"))) message($("monitor-error"), "");
    }
    const v = sv.stripView(s, { call: S.calls.get(s.linkedid) || null, nameOf, pending, linkUp,
      stalled: interceptStalled(s) });
    $("monitor-strip").dataset.state = s.state;
    $("monitor-state").textContent = v.state;
    $("monitor-what").textContent = v.what;
    $("monitor-since").dataset.since = v.timerFrom || "";
    for (const [mode, b] of modeButtons) {
      const m = v.modes.find((x) => x.value === mode);
      show(b, Boolean(m));
      if (!m) continue;
      b.disabled = m.disabled;
      b.setAttribute("aria-pressed", String(m.pressed));
      b.setAttribute("aria-busy", String(Boolean(pending && pending.action === "mode" && pending.mode === mode)));
    }
    message($("monitor-modes-why"), v.modesWhy);
    message($("monitor-switching"), pending && pending.action === "mode" ? "" : v.switching);
    $("monitor-stop").textContent = v.stop.label;
    $("monitor-stop").disabled = v.stop.disabled;
    show($("monitor-intercept"), v.intercept.shown);
    $("monitor-intercept").disabled = v.intercept.disabled;
    $("monitor-intercept-yes").disabled = v.intercept.disabled;
    if (!v.intercept.shown) askIntercept(false);
    tick();
  }

  /** Whether the own live session has waited for its intercept's bridge too long (see stripView). */
  function interceptStalled(s) {
    if (s.state !== "active" || !s.intercepting) {
      interceptAsked = null;
      return false;
    }
    if (!interceptAsked || interceptAsked.id !== s.id) {
      interceptAsked = { id: s.id, at: performance.now() };
      setTimeout(render, sv.INTERCEPT_STALL_MS + 50);
    }
    return performance.now() - interceptAsked.at >= sv.INTERCEPT_STALL_MS;
  }

  /** A ``supervision`` push: one session's view (an ended one leaves the model). */
  function onSession(view) {
    const id = me();
    const ours = id !== null && String(view.supervisor) === id;
    if (view.state === "ended") {
      S.monitoring.delete(view.id);
      if (ours) {
        if (pending) pending.sawEnd = true;
        note(sv.endedText(view), false);
      }
    } else {
      S.monitoring.set(view.id, view);
      if (ours) note("", false);
    }
    render();
    changed();
    auditSoon();
  }

  /** The line under the strip: how the last session ended, or why an armed listen could not start. */
  function note(text, error) {
    message($("monitor-note"), text);
    $("monitor-note").classList.toggle("error", Boolean(error));
  }

  // -- commands ----------------------------------------------------------------------

  function monitor(linkedid, mode, sink) {
    return command("monitor", { linkedid, mode }, { linkedid, mode }, sink);
  }

  function intercept(linkedid, sink) {
    return command("intercept", { linkedid }, { linkedid }, sink);
  }

  /** One monitoring command; ``sink`` is the error line of the place it was given from. */
  async function command(action, body, what, sink) {
    if (pending) return false;
    message(sink, "");
    if (sink !== $("monitor-error")) message($("monitor-error"), "");
    const s = mine();
    const p = { action, linkedid: what.linkedid || (s && s.linkedid) || "", mode: what.mode || "", sink, timer: null,
      sawEnd: false };
    pending = p;
    redraw();
    try {
      await api("POST", `/api/supervision/${action}`, body);
    } catch (err) {
      if (pending !== p) return false;
      pending = null;
      message(sink, err instanceof ApiError ? err.describe() : String(err));
      redraw();
      return false;
    }
    if (pending !== p) return true; // the push came first
    if (sv.monitorConfirmed(p, mine())) {
      clear();
      redraw();
      return true;
    }
    p.timer = setTimeout(() => {
      if (pending !== p) return;
      pending = null;
      message(sink, "Asterisk has not confirmed it yet; the monitoring is shown as Asterisk last reported it.");
      redraw();
    }, CONFIRM_MS);
    return true;
  }

  function clear() {
    if (pending) clearTimeout(pending.timer);
    pending = null;
  }

  function redraw() {
    render();
    changed();
  }

  // -- listen once a held call is retrieved (a held call cannot be monitored) ------------------

  function arm(linkedid) {
    armed.set(linkedid, "listen");
    note("", false);
    changed();
  }

  function disarm(linkedid) {
    if (armed.delete(linkedid)) changed();
  }

  /** Starts the armed listens whose call is answered and off hold; forgets those of calls gone. */
  function fireArmed() {
    for (const [linkedid, mode] of [...armed]) {
      const call = S.calls.get(linkedid);
      if (!call) {
        armed.delete(linkedid);
        continue;
      }
      if (call.state !== "answered" || call.held || pending || !S.linkUp()) continue;
      armed.delete(linkedid);
      const why = sv.monitorButtons(call, { mine: mine(), me: me(), linkUp: true }).reason;
      if (why) {
        note(`Could not listen to ${[call.caller_number, call.caller_name].filter(Boolean).join(" ")}: ${why}`, true);
        continue;
      }
      monitor(linkedid, mode, $("monitor-note"));
      $("monitor-note").classList.add("error");
    }
  }

  // -- the audit list --------------------------------------------------------------------

  async function loadAudit() {
    const n = ++auditSeq;
    message($("audit-error"), "");
    $("audit-refresh").disabled = true;
    try {
      const data = await api("GET", `/api/supervision/audit?date=${f.utcDay(S.serverNow())}`);
      if (n !== auditSeq) return; // a later answer is on its way
      renderAudit(data.entries || [], data.date);
    } catch (err) {
      if (n === auditSeq) message($("audit-error"), err instanceof ApiError ? err.describe() : String(err));
    } finally {
      if (n === auditSeq) $("audit-refresh").disabled = false;
    }
  }

  function renderAudit(entries, day) {
    const rows = entries.map((e) => {
      const c = sv.auditCells(e, nameOf);
      return el("tr", { dataset: { kind: e.kind, linkedid: e.linkedid || "" } },
        el("td", { class: "tick", textContent: f.clockSeconds(c.at), title: c.at }),
        el("td", { textContent: c.supervisor }), el("td", { textContent: c.agent }),
        el("td", { class: "ref", textContent: c.call }),
        el("td", {}, c.what, c.detail ? el("span", { class: "by muted", textContent: c.detail }) : null),
        el("td", { textContent: c.mode }));
    });
    $("audit-body").replaceChildren(...rows);
    show($("audit-table"), rows.length > 0);
    show($("audit-empty"), rows.length === 0);
    $("audit-note").textContent = `${day || ""} (UTC) · as of ${f.clockSeconds(S.serverNow())}`;
  }

  return {
    boot,
    onSession,
    mine,
    render,
    monitor,
    intercept,
    arm,
    disarm,
    fireArmed,
    armed: (linkedid) => armed.has(linkedid),
    pending: () => pending,
    sessionsOn: (linkedid) => sv.monitorsOf(S.monitoring.values(), linkedid),
    sessionsOfAgent: (id) => [...S.monitoring.values()]
      .filter((s) => String(s.agent) === String(id) && s.state !== "ended"),
    /** A snapshot replaced the sessions: a command's confirmation may be in it. */
    snapshot() {
      for (const linkedid of [...armed.keys()]) if (!S.calls.has(linkedid)) armed.delete(linkedid);
      render();
      if (auditOpen) auditSoon();
    },
    reset() {
      clear();
      armed.clear();
      note("", false);
      auditOpen = false;
      $("audit-load").setAttribute("aria-expanded", "false");
      $("audit-load").textContent = "Show today's · 查看今日";
      show($("audit-content"), false);
      $("audit-body").replaceChildren();
      show($("monitor-strip"), false);
    },
  };
}
