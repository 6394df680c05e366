// Service hours on the supervisor's panel: each hotline open or closed now and why (its hours, a
// public holiday, or the emergency switch), and the switch itself: "Close now" with a reason, or
// "Reopen" (back to the hours). The switch is the server's (stored, audited, pushed to every
// supervisor as ``service_hours``); this card only asks for it and shows what the server says.
// It listens to the push socket through the "cti:push" events net.js fires.

import { api } from "./net.js";
import { el, message, show } from "./dom.js";

const WHY = {
  closed_now: "Closed now by a supervisor · 紧急关闭",
  holiday: "Closed: public holiday · 节假日",
  after_hours: "Closed: outside service hours · 非服务时间",
};

const hotlines = new Map(); // name -> view from the server

function card() {
  let root = document.getElementById("service-hours");
  if (root) return root;
  root = el("section", { id: "service-hours", class: "card service-hours", "aria-labelledby": "service-hours-title",
    hidden: true },
  el("h2", { id: "service-hours-title", textContent: "Service hours · 服务时间" }),
  el("ul", { id: "service-hours-list", class: "service-hours-list" }),
  el("p", { class: "error", id: "service-hours-error", role: "alert", hidden: true }));
  const column = document.getElementById("supervisor-view");
  const alerts = document.getElementById("alerts");
  if (alerts) alerts.after(root);
  else if (column) column.prepend(root);
  else document.body.append(root);
  return root;
}

function week(view) {
  if (!view.week) return "Always open · 全天服务";
  return view.week.filter((d) => d.hours.length).map((d) => `${d.day} ${d.hours.join(" ")}`).join(", ");
}

function item(view) {
  const sw = view.switch || {};
  const state = el("strong", { class: "hours-state", textContent: view.closed_reason ? WHY[view.closed_reason]
    || view.closed_reason : "Open · 服务中" });
  const li = el("li", { dataset: { hotline: view.hotline, state: view.closed_reason || "open" } },
    el("span", { class: "hours-name", textContent: view.hotline }), " ", state,
    el("span", { class: "hours-week muted", textContent: week(view) }));
  if (sw.closed) {
    li.append(el("span", { class: "hours-switch muted",
      textContent: `${sw.reason} — ${sw.changed_by}, ${new Date(sw.changed_at).toLocaleString()}` }));
  }
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const reason = el("input", { type: "text", maxLength: 200, placeholder: "Why · 原因 (callers' work orders show it)",
    "aria-label": `Reason to close ${view.hotline}`, class: "hours-reason" });
  const button = el("button", { type: "button", class: sw.closed ? "small primary" : "small danger",
    textContent: sw.closed ? "Reopen · 恢复服务" : "Close now · 紧急关闭" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    message(error, "");
    try {
      const body = sw.closed ? { closed: false } : { closed: true, reason: reason.value.trim() };
      update(await api("POST", `/api/hours/${encodeURIComponent(view.hotline)}/switch`, body));
    } catch (err) {
      message(error, err.describe ? err.describe() : String(err));
      button.disabled = false;
    }
  });
  li.append(el("span", { class: "hours-actions" }, sw.closed ? null : reason, button), error);
  return li;
}

function render() {
  const root = card();
  root.querySelector("#service-hours-list").replaceChildren(...[...hotlines.values()].map(item));
  show(root, hotlines.size > 0);
}

function update(view) {
  hotlines.set(view.hotline, view);
  render();
}

async function load() {
  try {
    const body = await api("GET", "/api/hours");
    hotlines.clear();
    for (const view of body.hotlines) hotlines.set(view.hotline, view);
    render();
  } catch (err) {
    hotlines.clear();
    render();
    if (err.status !== 403) message(card().querySelector("#service-hours-error"), err.describe());
  }
}

function onPush(event) {
  const { type, data } = event.detail || {};
  if (type === "snapshot") load(); // a (re)connect: what the switches are now
  else if (type === "service_hours" && data) update(data);
}

window.addEventListener("cti:push", onPush);
