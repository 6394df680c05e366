// Alerts on the supervisor page, as the server raises and clears them (``alert`` pushes, the
// snapshot's ``alerts``; ctiserver/supervision/alerts.py holds the thresholds): each names the call
// or agent, how long against the limit, and offers its action — Force ready for an agent busy or in
// wrap-up too long (for a caller waiting, the queue's agent busy the longest), Listen for a call on
// hold too long (armed until the agent retrieves it: a held call cannot be monitored). Items are
// kept by key and updated in place, so a button being pressed is not replaced under the pointer by
// the one-second refresh of the times.

import { api, ApiError } from "./net.js";
import * as f from "./format.js";
import * as sv from "./supervision.js";
import { $, el, message, show } from "./dom.js";

/**
 * The alert list's controller over the model ``S`` (``S.alerts``: key -> the server's alert,
 * ``S.calls``). ``nameOf(id)`` labels an agent; ``monitoring`` is monitor.js's controller (a
 * listen, or one armed until the call is retrieved). Returns {render() (on pushes and every
 * second), onAlert(push), reset()}.
 */
export function alertList(S, { nameOf, monitoring }) {
  const items = new Map(); // key -> {li, text, time, action, status, error, alert, sending}
  const announced = new Set(); // keys already announced to screen readers

  function render() {
    if (!S.isSupervisor()) return;
    const now = S.serverNow();
    const alerts = sv.alertViews(S.alerts.values(), { now, calls: S.calls, me: S.me ? String(S.me.id) : null, nameOf });
    const keys = new Set(alerts.map((a) => a.key));
    for (const [key, item] of items) {
      if (!keys.has(key)) {
        item.li.remove();
        items.delete(key);
      }
    }
    for (const key of [...announced]) if (!keys.has(key)) announced.delete(key);
    const list = $("alert-list");
    const fresh = [];
    alerts.forEach((a, i) => {
      const item = items.get(a.key) || make(a);
      item.alert = a;
      update(item);
      // worst first; moved only when out of place (moving a node takes the focus off its button)
      if (list.children[i] !== item.li) list.insertBefore(item.li, list.children[i] || null);
      if (!announced.has(a.key)) {
        announced.add(a.key);
        fresh.push(a.text);
      }
    });
    show($("alerts-empty"), alerts.length === 0);
    $("alerts-count").textContent = alerts.length ? String(alerts.length) : "";
    if (fresh.length) $("alerts-announce").textContent = `Alert: ${fresh.join("; ")}`;
  }

  function make(a) {
    const item = { alert: a, sending: false };
    item.text = el("span", { class: "alert-text" });
    item.time = el("span", { class: "alert-time" });
    item.action = el("button", { type: "button", class: "small alert-action" });
    item.cancel = el("button", { type: "button", class: "small quiet alert-cancel", textContent: "Cancel · 取消" });
    item.status = el("p", { class: "pending alert-status", role: "status", hidden: true });
    item.error = el("p", { class: "error alert-error", role: "alert", hidden: true });
    item.li = el("li", { class: "alert", dataset: { alert: a.key, kind: a.kind } },
      el("div", { class: "alert-line" }, item.text, item.time, el("span", { class: "actions" }, item.action, item.cancel)),
      item.status, item.error);
    item.action.addEventListener("click", () => act(item));
    item.cancel.addEventListener("click", () => {
      monitoring.disarm(item.alert.linkedid);
      update(item);
    });
    items.set(a.key, item);
    return item;
  }

  function update(item) {
    const a = item.alert;
    item.li.dataset.level = a.level;
    if (item.text.textContent !== a.text) item.text.textContent = a.text;
    item.time.textContent = `${f.duration(a.seconds)} (limit ${f.duration(a.limit)})`;
    const act = a.action;
    show(item.action, Boolean(act));
    const isArmed = Boolean(act && act.kind === "listen_when_retrieved" && monitoring.armed(a.linkedid));
    show(item.cancel, isArmed);
    if (act) {
      item.action.textContent = act.label;
      item.action.disabled = item.sending || isArmed || !S.linkUp();
      item.action.setAttribute("aria-label", `${act.label.split(" · ")[0]}: ${a.text.split(" · ")[0]}`);
    }
    if (!item.sending) message(item.status, isArmed ? "Will listen as soon as the call is retrieved · 恢复后自动监听" : "");
  }

  async function act(item) {
    const a = item.alert;
    const action = a.action;
    if (!action || item.sending) return;
    message(item.error, "");
    if (action.kind === "listen") {
      monitoring.monitor(a.linkedid, "listen", item.error);
      return;
    }
    if (action.kind === "listen_when_retrieved") {
      if (monitoring.mine()) {
        message(item.error, "Stop your current monitoring first · 请先停止当前监控");
        return;
      }
      monitoring.arm(a.linkedid);
      update(item);
      return;
    }
    if (action.kind === "force_ready") {
      item.sending = true;
      message(item.status, "Forcing ready… waiting for Asterisk to confirm.");
      update(item);
      try {
        await api("POST", "/api/agent/state", { agent: action.agent, state: "ready" });
      } catch (err) {
        message(item.status, "");
        message(item.error, err instanceof ApiError ? err.describe() : String(err));
      } finally {
        item.sending = false; // the pushed agent_state ends the alert (or it stays, with the refusal)
        if (items.get(a.key) === item) update(item);
      }
    }
  }

  return {
    render,
    /** An ``alert`` push: {state: raised | cleared, ...the alert}. */
    onAlert(d) {
      if (!d || !d.key) return;
      if (d.state === "cleared") S.alerts.delete(d.key);
      else S.alerts.set(d.key, d);
      render();
    },
    reset() {
      for (const item of items.values()) item.li.remove();
      items.clear();
      announced.clear();
      show($("alerts-empty"), true);
      $("alerts-count").textContent = "";
    },
  };
}
