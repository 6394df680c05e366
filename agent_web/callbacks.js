// Callbacks that keep the caller's place in line (ctiserver/callbacks/).
// The agent: when the server reserves them for a callback and rings their phone, a pop marked
// "Callback · 回拨" says whom they are about to call back, for which queue, how long that caller has
// waited since joining the queue, and which attempt this is; it says "connected" once the caller
// answers and goes when the callback is over or passes to someone else.
// The supervisor: the pending callbacks of each queue in line order (place, number, waited since,
// attempts, next retry), the ones being made now (by whom), the last closed ones, and "Cancel" for a
// pending one. Both come from the server (a "notice" of kind "callback" to the rung agent, of kind
// "callbacks" to supervisors, and the supervisor's snapshot); this module only shows them. It listens
// to the push socket through the "cti:push" events net.js fires.

import { api } from "./net.js";
import { el, message, show } from "./dom.js";

const STATE = {
  ringing: "Your phone rings: call this caller back · 回拨来电",
  connected: "Connected: the caller answered · 已接通",
};

function since(epoch) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - epoch));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${s % 60} s` : `${s} s`;
}

// -- the agent's pop ----------------------------------------------------------------------------

function popCard() {
  let root = document.getElementById("callback-pop");
  if (root) return root;
  root = el("section", { id: "callback-pop", class: "card pop callback-pop", "aria-labelledby": "callback-pop-title",
    hidden: true },
  el("h2", { id: "callback-pop-title", textContent: "Callback · 回拨" }),
  el("p", { class: "callback-state", id: "callback-state" }),
  el("dl", { class: "callback-facts", id: "callback-facts" }));
  const pop = document.getElementById("pop");
  if (pop) pop.before(root);
  else document.body.append(root);
  return root;
}

function showPop(d) {
  const root = popCard();
  if (d.state !== "ringing" && d.state !== "connected") {
    show(root, false);
    return;
  }
  root.dataset.callback = d.callback;
  root.dataset.state = d.state;
  root.querySelector("#callback-state").textContent = STATE[d.state];
  const facts = [["Number · 号码", d.number], ["Queue · 队列", d.queue],
    ["Waited since joining · 已等待", since(d.joined_at)], ["Attempt · 第几次", String((d.attempts || 0) + 1)]];
  if (d.customer_no) facts.push(["Customer · 客户", d.customer_no]);
  if (d.caller_number && d.caller_number !== d.number) facts.push(["Called from · 来电号码", d.caller_number]);
  root.querySelector("#callback-facts").replaceChildren(...facts.flatMap(([k, v]) => [
    el("dt", { textContent: k }), el("dd", { textContent: v, class: `callback-${k.split(" ")[0].toLowerCase()}` })]));
  show(root, true);
}

// -- the supervisor's list ------------------------------------------------------------------------

function listCard() {
  let root = document.getElementById("callbacks");
  if (root) return root;
  root = el("section", { id: "callbacks", class: "card callbacks", "aria-labelledby": "callbacks-title", hidden: true },
    el("h2", { id: "callbacks-title", textContent: "Callbacks waiting · 回拨排队" }),
    el("div", { id: "callbacks-queues" }),
    el("p", { class: "error", id: "callbacks-error", role: "alert", hidden: true }));
  const alerts = document.getElementById("alerts");
  const column = document.getElementById("supervisor-view");
  if (alerts) alerts.after(root);
  else if (column) column.prepend(root);
  else document.body.append(root);
  return root;
}

function pendingItem(cb) {
  const li = el("li", { dataset: { callback: cb.id, state: cb.state } },
    el("span", { class: "callback-place", textContent: cb.state === "pending" ? `#${cb.place}` : "now" }), " ",
    el("span", { class: "callback-number", textContent: cb.number }), " ",
    el("span", { class: "callback-waited muted", textContent: `waited ${since(cb.joined_at)}` }));
  if (cb.attempts) li.append(" ", el("span", { class: "callback-attempts muted", textContent: `${cb.attempts} tried` }));
  if (cb.state === "ringing") {
    li.append(" ", el("span", { class: "callback-agent", textContent: `agent ${cb.agent_id} · 坐席` }));
    return li;
  }
  if (cb.not_before > Date.now() / 1000) {
    li.append(" ", el("span", { class: "callback-retry muted",
      textContent: `retry at ${new Date(cb.not_before * 1000).toLocaleTimeString()}` }));
  }
  const error = el("span", { class: "error", role: "alert", hidden: true });
  const cancel = el("button", { type: "button", class: "small danger", textContent: "Cancel · 取消" });
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      await api("POST", `/api/callbacks/${encodeURIComponent(cb.id)}/cancel`, {});
    } catch (err) {
      message(error, err.describe ? err.describe() : String(err));
      cancel.disabled = false;
    }
  });
  li.append(" ", cancel, error);
  return li;
}

function renderList(view) {
  const root = listCard();
  if (!view) {
    show(root, false);
    return;
  }
  const blocks = view.queues.map((q) => el("div", { class: "callback-queue", dataset: { queue: q.queue } },
    el("h3", { textContent: `${q.queue}: ${q.count} · 条` }),
    q.count ? el("ol", { class: "callback-list" }, ...q.ringing.map(pendingItem), ...q.pending.map(pendingItem))
      : el("p", { class: "muted", textContent: "none · 无" })));
  const recent = (view.recent || []).slice(-5).reverse();
  if (recent.length) {
    blocks.push(el("h3", { textContent: "Last closed · 最近完成" }), el("ul", { class: "callback-recent" },
      ...recent.map((cb) => el("li", { dataset: { callback: cb.id, state: cb.state } },
        el("span", { class: "callback-number", textContent: cb.number }), " ",
        el("span", { class: "callback-outcome", textContent: `${cb.state} (${cb.attempts} tried)` })))));
  }
  root.querySelector("#callbacks-queues").replaceChildren(...blocks);
  show(root, true);
}

function onPush(event) {
  const { type, data } = event.detail || {};
  if (type === "snapshot" && data) {
    renderList(data.callbacks || null);
  } else if (type === "notice" && data && data.kind === "callback") {
    showPop(data);
  } else if (type === "notice" && data && data.kind === "callbacks") {
    renderList(data);
  }
}

if (typeof window !== "undefined") window.addEventListener("cti:push", onPush);
