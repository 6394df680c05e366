// Pure helpers turning server data into the words and numbers the panel shows.

const STATE_LABELS = {
  logged_out: "Signed out",
  ready: "Ready",
  not_ready: "Busy",
  ringing: "Ringing",
  on_call: "On call",
  on_hold: "On hold",
  wrap_up: "Wrap-up",
};

/** "Busy (lunch)", "Ready", ... for an agent view {state, reason}. */
export function stateLabel(view) {
  if (!view) return "Signed out";
  const label = STATE_LABELS[view.state] || view.state;
  return view.state === "not_ready" && view.reason ? `${label} (${view.reason})` : label;
}

export const CLASS_LABELS = { vip: "VIP", ordinary: "Ordinary", not_customer: "Not a customer" };

/** The customer-class tag of a pop, or the lookup's progress while it runs. */
export function classLabel(pop) {
  if (pop.lookup === "pending" && !pop.customer) return "Looking up…";
  if (pop.lookup === "unavailable" && !pop.customer) return "Lookup unavailable";
  return CLASS_LABELS[pop.customer_class] || pop.customer_class || "";
}

/** A customer's number whatever the record calls it. */
export function customerNo(customer) {
  if (!customer) return "";
  return customer.no || customer.customer_no || "";
}

/** Seconds as m:ss or h:mm:ss. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A Date from an epoch in seconds or an ISO string (what the server sends). */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Epoch seconds from either form. */
export function toEpoch(value) {
  const d = toDate(value);
  return d ? d.getTime() / 1000 : null;
}

/** HH:MM of a timestamp, local time. */
export function clock(value) {
  const d = toDate(value);
  return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false }) : "";
}

/** YYYY-MM-DD of a timestamp, local time. */
export function day(value) {
  const d = toDate(value);
  if (!d) return "";
  const mm = String(d.getMonth() + 1).padStart(2, "0");
  const dd = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${mm}-${dd}`;
}

const DISPOSITIONS = { answered: "answered", abandoned: "abandoned", no_agent: "no agent", in_progress: "in progress" };

export function dispositionLabel(value) {
  return DISPOSITIONS[value] || value || "";
}

/** "Ada Lovelace (1001)" or just the id. */
export function agentLabel(view) {
  if (!view) return "";
  return view.name ? `${view.name} (${view.id})` : String(view.id);
}
