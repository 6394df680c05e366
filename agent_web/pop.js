// What the agent sees of calls besides the toolbar: the screen-pop card (caller, customer,
// IVR keys, queue, the wait ticking while it rings, recent work orders), the hidden line that
// announces a call to screen readers, and today's calls with their recordings.

import * as f from "./format.js";
import { $, el, show } from "./dom.js";
import { customerLinks } from "./customer.js";
import { playControl } from "./recording.js";

/**
 * The pop's controller over the model ``S`` (see session.js); ``onPop()`` runs whenever the card
 * is drawn (the toolbar and the write-up follow the pop); ``openWorkOrder(ref)`` opens a past call's
 * work order (to write it up later or add a note). Returns {render(), announce(pop), renderToday(), tick()}.
 */
/** What the IVR's PIN check said (CTI_AUTHENTICATED): verify the caller yourself unless verified. */
const AUTH_LABELS = { yes: "Verified", no: "Authentication failed (wrong PIN)",
  locked: "Locked: too many wrong PINs" };

export function popCard(S, { onPop, openWorkOrder }) {
  function render() {
    const pop = S.pop;
    show($("pop"), pop !== null);
    onPop();
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
    customerLinks(pop); // the record's link, or creating the caller as a customer
    const auth = $("pop-auth");
    auth.textContent = AUTH_LABELS[pop.auth] || "—";
    auth.dataset.auth = pop.auth || "";
    const ivr = $("pop-ivr");
    ivr.textContent = pop.ivr_keys || "—";
    ivr.title = (pop.ivr_path || []).join(" › ");
    $("pop-queue").textContent = pop.queue || "—";
    $("pop-ref").textContent = pop.workorder_ref || "";
    tick();
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

  /** The wait: as the server counted it, plus the time since while the call still rings. */
  function tick() {
    const pop = S.pop;
    if (!pop) return;
    let waited = Number(pop.waited_seconds) || 0;
    if (pop.state !== "answered") waited += (performance.now() - S.popAt) / 1000;
    $("pop-wait").textContent = f.duration(waited);
  }

  function renderToday() {
    $("today-list").replaceChildren(...S.today.map((w) => el("li", { dataset: { disposition: w.disposition || "" } },
      el("span", { class: "time", textContent: f.clock(w.started_at) }),
      el("span", { class: "caller" },
        el("span", { class: "number", textContent: w.caller_number || "" }),
        el("span", { class: "name", textContent: w.caller_name || w.customer_name || "" }),
        w.ref ? workOrderButton(w.ref) : null),
      el("span", { class: "disposition", textContent: f.dispositionLabel(w.disposition) }),
      el("span", { class: "talk", textContent: w.talk_seconds != null ? f.duration(w.talk_seconds) : "" }),
      playControl(w))));
    show($("today-empty"), S.today.length === 0);
  }

  function workOrderButton(ref) {
    const b = el("button", { type: "button", class: "small quiet today-ref", textContent: ref,
      title: "Open the work order · 打开工单" });
    b.addEventListener("click", () => openWorkOrder(ref));
    return b;
  }

  return { render, announce, renderToday, tick };
}
