// Complaint early warning on the supervisor's panel: a pop-up for every warning nobody has
// acknowledged yet (from the snapshot at connect, then each ``notice`` {kind: "complaint_warning"}),
// an Acknowledge button (with an optional comment, audited by the server), and a header badge
// linking to the reports page, where the warnings, thresholds and statistics are. It listens to
// the push socket through the "cti:push" events net.js fires, so session.js need not know it.

import { api } from "./net.js";
import { el, message, show } from "./dom.js";

const PERIOD = { day: "today · 今日", week: "this week · 本周", month: "this month · 本月" };
const PAST = { day: "the day of", week: "the week of", month: "the month of" };

/** One line saying what crossed: "5 complaints (limit 5)" or "12.5 % of 40 answered calls (limit 10 %)".
 * A warning raised after its period was over (PostgreSQL was away at its end) names the period. */
export function describeWarning(w) {
  const where = [w.category, w.subcategory, w.queue ? `queue ${w.queue}` : ""].filter(Boolean).join(" / ");
  const what = w.measure === "rate"
    ? `${pct(w.value)} of ${w.answered} answered calls are complaints (limit ${pct(w.limit)})`
    : `${w.complaints} complaints (limit ${w.limit})`;
  const when = w.late
    ? `${PAST[w.period] || w.period} ${new Date(w.period_start).toLocaleDateString()}, raised late · 迟报`
    : PERIOD[w.period] || w.period;
  return `${what} — ${where} — ${when}`;
}

function pct(x) {
  return `${Math.round(Number(x) * 1000) / 10} %`;
}

function panel() {
  let root = document.getElementById("complaint-popup");
  if (root) return root;
  root = el("section", { id: "complaint-popup", class: "complaint-popup", role: "alertdialog",
    "aria-labelledby": "complaint-popup-title", hidden: true },
  el("h2", { id: "complaint-popup-title", textContent: "Complaint warning · 投诉预警" }),
  el("ul", { id: "complaint-popup-list", class: "complaint-popup-list" }),
  el("p", { class: "buttons" },
    el("a", { href: "/reports#warnings", target: "_blank", rel: "noopener", textContent: "All warnings · 预警列表" }),
    " ",
    el("button", { type: "button", class: "small quiet", id: "complaint-popup-later", textContent: "Later · 稍后" })));
  document.body.append(root);
  root.querySelector("#complaint-popup-later").addEventListener("click", () => {
    dismissed = new Set(open.keys());
    render();
  });
  return root;
}

function badge() {
  let b = document.getElementById("complaint-badge");
  if (b) return b;
  b = el("a", { id: "complaint-badge", class: "complaint-badge", href: "/reports#warnings", target: "_blank",
    rel: "noopener", hidden: true });
  const reports = el("a", { id: "reports-link", class: "reports-link", href: "/reports", target: "_blank",
    rel: "noopener", textContent: "Reports · 报表", hidden: true });
  const logout = document.getElementById("logout");
  if (logout) logout.before(reports, b);
  else document.body.prepend(reports, b);
  return b;
}

const open = new Map(); // warning id -> warning, not acknowledged
let dismissed = new Set(); // ids the supervisor put off with "Later" (the badge still counts them)
let supervisor = false;

function item(w) {
  const comment = el("input", { type: "text", maxLength: 500, placeholder: "Comment · 备注 (optional)",
    "aria-label": "Comment", class: "complaint-comment" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const ack = el("button", { type: "button", class: "small primary", textContent: "Acknowledge · 确认" });
  ack.addEventListener("click", async () => {
    ack.disabled = true;
    message(error, "");
    try {
      await api("POST", `/api/complaints/warnings/${w.id}/acknowledge`,
        comment.value.trim() ? { comment: comment.value.trim() } : {});
      forget(w.id);
    } catch (err) {
      if (err.code === "already_acknowledged") forget(w.id);
      else message(error, err.describe ? err.describe() : String(err));
      ack.disabled = false;
    }
  });
  return el("li", { dataset: { warning: String(w.id) } },
    el("strong", { class: "complaint-name", textContent: w.name }),
    el("span", { class: "complaint-what", textContent: describeWarning(w) }),
    el("span", { class: "complaint-when muted", textContent: new Date(w.raised_at).toLocaleString() }),
    el("span", { class: "complaint-ack" }, comment, ack), error);
}

function forget(id) {
  open.delete(id);
  dismissed.delete(id);
  render();
}

function render() {
  const root = panel();
  const shown = [...open.values()].filter((w) => !dismissed.has(w.id));
  const view = document.getElementById("supervisor-view");
  const visible = supervisor && !(view && view.hidden);
  root.querySelector("#complaint-popup-list").replaceChildren(...shown.map(item));
  show(root, visible && shown.length > 0);
  const b = badge();
  b.textContent = `⚠ ${open.size} complaint warning${open.size === 1 ? "" : "s"} · 投诉预警`;
  show(b, visible && open.size > 0);
  show(document.getElementById("reports-link"), visible);
}

function onPush(event) {
  const { type, data } = event.detail || {};
  if (type === "snapshot") {
    supervisor = Boolean(data && data.me !== undefined && Array.isArray(data.complaint_warnings));
    open.clear();
    for (const w of (data && data.complaint_warnings) || []) open.set(w.id, w);
    render();
  } else if (type === "notice" && data && data.kind === "complaint_warning" && data.warning) {
    supervisor = true;
    open.set(data.warning.id, data.warning);
    dismissed.delete(data.warning.id);
    render();
  } else if (type === "notice" && data && data.kind === "complaint_warning_acknowledged") {
    forget(data.id);
  }
}

window.addEventListener("cti:push", onPush);
// The panel shows and hides the supervisor's column on sign-in and sign-out: follow it.
const column = document.getElementById("supervisor-view");
if (column) new MutationObserver(render).observe(column, { attributes: true, attributeFilter: ["hidden"] });
