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

/** HH:MM:SS of a timestamp, local time: when figures were computed ("as of"), to the second. */
export function clockSeconds(value) {
  const d = toDate(value);
  return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }) : "";
}

/** YYYY-MM-DD of a timestamp, local time. */
export function day(value) {
  const d = toDate(value);
  if (!d) return "";
  const mm = String(d.getMonth() + 1).padStart(2, "0");
  const dd = String(d.getDate()).padStart(2, "0");
  return `${d.getFullYear()}-${mm}-${dd}`;
}

const DISPOSITIONS = { answered: "answered", abandoned: "abandoned", no_agent: "no agent", no_answer: "no answer", in_progress: "in progress" };

export function dispositionLabel(value) {
  return DISPOSITIONS[value] || value || "";
}

/** "Ada Lovelace (1001)" or just the id. */
export function agentLabel(view) {
  if (!view) return "";
  return view.name ? `${view.name} (${view.id})` : String(view.id);
}

/** "Set by 陈主管 Supervisor Chen" when someone else (a supervisor) forced the agent's last change. */
export function changedByLabel(view) {
  const by = view && view.changed_by;
  if (!by || String(by.id) === String(view.id)) return "";
  return `set by ${by.name || by.id}`;
}

/** "13800138000 Zhang Wei" for a {number, name} party, or "". */
export function partyLabel(party) {
  if (!party) return "";
  return [party.number, party.name].filter(Boolean).join(" ");
}

/** The calendar date (YYYY-MM-DD) in UTC of an epoch in seconds: the day the figures are for. */
export function utcDay(epochSeconds) {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 10);
}

/**
 * A function that runs ``fn`` at most once every ``ms`` milliseconds: calls within the window
 * are folded into one run at its end (nothing is lost). ``delay`` (ms) postpones even the first
 * run a little, e.g. to let the server store what was just pushed; 0 runs it at once.
 */
export function throttle(fn, ms, { delay = 0, now = () => Date.now() } = {}) {
  let last = -Infinity;
  let timer = null;
  const run = () => {
    timer = null;
    last = now();
    fn();
  };
  const call = () => {
    if (timer !== null) return;
    const wait = Math.max(delay, last + ms - now());
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  call.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return call;
}

/**
 * One agent's figures for the day (GET /api/stats/agents) as {key, label, value, sub} rows;
 * busy time per reason follows the busy total as "sub" rows (key "busy:<reason>").
 */
export function agentFigureRows(a) {
  if (!a) return [];
  const row = (key, label, value, sub = false) => ({ key, label, value, sub });
  const busy = Object.entries(a.busy_seconds || {}).filter(([, s]) => s > 0)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([reason, s]) => row(`busy:${reason}`, reason, duration(s), true));
  return [
    row("signed_in", "Signed in · 签入", duration(a.signed_in_seconds)),
    row("ready", "Ready · 示闲", duration(a.ready_seconds)),
    row("busy", "Busy · 示忙", duration(a.busy_total_seconds)),
    ...busy,
    row("ringing", "Ringing · 振铃", duration(a.ringing_seconds)),
    row("talk", "Talk · 通话", duration(a.talk_seconds)),
    row("hold", "Hold · 保持", duration(a.hold_seconds)),
    row("wrapup", "Wrap-up · 话后", duration(a.wrapup_seconds)),
    row("answered", "Answered · 接听", String(a.answered ?? 0)),
    row("missed", "Missed · 未接", String(a.missed ?? 0)),
    row("avg_talk", "Avg talk · 平均通话", duration(a.avg_talk_seconds)),
  ];
}

/** The cells of one agent's row in the supervisor's "agents today" table. */
export function agentFigureCells(a, name) {
  return [name || String(a.agent_id), duration(a.signed_in_seconds), duration(a.ready_seconds),
    duration(a.busy_total_seconds), duration(a.talk_seconds), duration(a.hold_seconds), duration(a.wrapup_seconds),
    String(a.answered ?? 0), String(a.missed ?? 0), duration(a.avg_talk_seconds)];
}

/** The cells of one queue's row in the supervisor's queue table (GET /api/stats/queues). */
export function queueFigureCells(q) {
  const pct = q.service_level_pct === null || q.service_level_pct === undefined
    ? "—" : `${Math.round(Number(q.service_level_pct) * 10) / 10}%`;
  return [q.queue, String(q.offered ?? 0), String(q.answered ?? 0), String(q.abandoned ?? 0),
    String(q.no_agent ?? 0), pct, duration(q.avg_wait_seconds), duration(q.max_wait_seconds),
    duration(q.avg_handle_seconds)];
}
