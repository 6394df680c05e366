// Monitoring and alerts, free of the page: which monitor buttons a live call offers and why not,
// what the supervisor's monitoring strip says and allows, when a push confirms a monitoring
// command, the words for sessions, audit entries and the agent's banner, and the words and action
// of each alert the server raised (ctiserver/supervision: the API these follow; the server alone
// decides when an alert is raised and cleared, against its configured thresholds).

/** Monitoring modes, in the order the buttons show them (the server's names). */
/** How long a live session may wait for its intercept's bridge before the page says it did not happen. */
export const INTERCEPT_STALL_MS = 5000;

export const MODES = [
  { value: "listen", label: "Listen · 监听", doing: "listening", short: "Listen" },
  { value: "whisper", label: "Whisper · 耳语", doing: "whispering", short: "Whisper" },
  { value: "barge", label: "Barge · 强插", doing: "barging in", short: "Barge" },
];
const MODE = Object.fromEntries(MODES.map((m) => [m.value, m]));

/** The label of a mode ("Whisper · 耳语"), or the raw value for one this page does not know. */
export function modeLabel(mode) {
  return (MODE[mode] && MODE[mode].label) || String(mode || "");
}

const ANSWERED = "answered";

/**
 * The monitor buttons of one live call (Listen, Whisper, Barge, Intercept) and, when they cannot
 * be used, why: {listen, whisper, barge, intercept: {disabled}, reason}. ``mine`` is the
 * supervisor's own session (or null), ``me`` their account id, ``pending`` a monitoring command
 * waiting for its push, ``linkUp`` whether commands can go out. Mirrors the server's 409s: the call
 * must be answered, not held, not in a consult nor a conference; one session per supervisor.
 */
export function monitorButtons(call, { mine = null, me = null, pending = null, linkUp = true } = {}) {
  const reason = whyNot(call, { mine, me, pending, linkUp });
  const off = { disabled: Boolean(reason) };
  // The call being monitored may still be intercepted: the caller is taken over from there.
  let interceptReason = reason;
  if (reason === OWN_SESSION) {
    interceptReason = mine.intercepting || mine.state === "intercepted" ? "Intercepting · 拦截中" : "";
  }
  return { listen: off, whisper: off, barge: off, intercept: { disabled: Boolean(interceptReason) },
    reason, interceptReason };
}

const OWN_SESSION = "You are monitoring this call: switch or stop above · 监控中";

function whyNot(call, { mine, me, pending, linkUp }) {
  if (!call) return "The call is over · 通话已结束";
  if (!linkUp) return "Asterisk link down · 链路中断";
  if (call.state === "held" || call.held) return "On hold: monitor once retrieved · 保持中";
  if (call.state !== ANSWERED) return "Not answered yet · 未接通";
  if (!call.agent) return "No agent on the call · 无座席";
  if (call.consult) return "The agent is consulting · 求助中";
  if (call.conference) return "A conference · 会议中";
  if (me !== null && String(call.agent) === String(me)) return "Your own call · 本人通话";
  if (pending) return "Waiting for Asterisk… · 等待确认";
  if (mine && mine.linkedid === call.linkedid) return OWN_SESSION;
  if (mine) return "Stop your current monitoring first · 请先停止当前监控";
  return "";
}

/**
 * What the monitoring strip shows for the supervisor's own session ``s``: {state (text), live,
 * timerFrom (epoch s on the server's clock), modes: [{value, label, pressed, disabled}], switching
 * (text), stop: {label, disabled}, intercept: {shown, disabled}}. ``nameOf(id)`` labels an agent,
 * ``call`` is the monitored call's view (for who the caller is), ``pending`` the command waiting.
 * ``stalled``: the session has been live with an intercept asked for longer than the bridge takes;
 * the pushed view does not say that the intercept failed, so the page says it has not happened
 * and offers Intercept again (the server tries the bridge again).
 */
export function stripView(s, { call = null, nameOf = String, pending = null, linkUp = true, stalled = false } = {}) {
  const intercepted = s.state === "intercepted";
  const active = s.state === "active";
  const caller = call ? [call.caller_number, call.caller_name].filter(Boolean).join(" ") : "";
  const agent = s.agent ? nameOf(s.agent) : "the agent";
  let state;
  if (s.state === "ringing") {
    state = s.intercepting ? "Intercept: ringing your phone… answer to take the caller · 正在呼叫您的话机"
      : "Ringing your phone… answer to start · 正在呼叫您的话机";
  } else if (active && s.intercepting) {
    state = stalled ? "Live · 监控中 — the intercept has not happened (see Audit); you can try again"
      : "Live · 监控中 — taking the caller over…";
  } else if (active) state = "Live · 监控中";
  else if (intercepted && s.unsure) {
    state = "Intercept sent; Asterisk's answer was lost — checking once the link is back · 确认中";
  } else if (intercepted) state = "Intercepted · 已拦截 — you are talking with the caller";
  else state = "Ended · 已结束";
  const what = intercepted ? `Taken over from ${agent}${caller ? ` — ${caller}` : ""}`
    : `${modeLabel(s.mode)} — ${agent}${caller ? ` with ${caller}` : ""}`;
  const switchingTo = s.switching_to || (pending && pending.action === "mode" ? pending.mode : "");
  const busy = Boolean(pending) || !linkUp;
  const modes = MODES.map((m) => ({
    value: m.value, label: m.label, pressed: !intercepted && s.mode === m.value,
    disabled: busy || !active || Boolean(s.switching_to) || s.mode === m.value || Boolean(s.intercepting),
  }));
  return {
    state, what, live: active || intercepted,
    timerFrom: s.since ?? s.requested_at ?? null,
    modes: intercepted ? [] : modes,
    modesWhy: s.state === "ringing" ? "Answer your phone first · 请先接听" : "",
    switching: switchingTo && switchingTo !== s.mode && !intercepted
      ? `Switching to ${modeLabel(switchingTo)}… waiting for Asterisk to confirm.` : "",
    // a switch waiting for its digit does not stop the supervisor from hanging up
    stop: { label: intercepted ? "Hang up · 挂机" : "Stop · 停止",
      disabled: !linkUp || Boolean(pending && pending.action !== "mode") },
    intercept: { shown: !intercepted, disabled: busy || (Boolean(s.intercepting) && !(active && stalled)) },
  };
}

/**
 * Whether the pushes confirm the pending monitoring command ({action, linkedid, mode, sawEnd}):
 * ``mine`` is the supervisor's live session now (null once none); ``sawEnd`` is set when a session
 * of theirs ended while the command waited (a phone that never answered ends a monitor request).
 */
export function monitorConfirmed(pending, mine) {
  if (!pending) return false;
  const onCall = Boolean(mine && mine.linkedid === pending.linkedid);
  switch (pending.action) {
    case "monitor": return onCall || Boolean(pending.sawEnd);
    case "mode": return !mine || (mine.mode === pending.mode && !mine.switching_to);
    case "stop": return !mine;
    case "intercept":
      return (onCall && (mine.state === "intercepted" || Boolean(mine.intercepting))) || Boolean(pending.sawEnd);
    default: return false;
  }
}

/** What the page says while a monitoring command waits. */
export function monitorPendingText(pending) {
  if (!pending) return "";
  const what = { monitor: `Calling your phone for ${modeLabel(pending.mode)}`, mode: `Switching to ${modeLabel(pending.mode)}`,
    stop: "Stopping", intercept: "Intercepting" }[pending.action] || pending.action;
  return `${what}… waiting for Asterisk to confirm.`;
}

const END_REASONS = {
  stopped: "you stopped it",
  hung_up: "your phone hung up",
  no_answer: "your phone did not answer",
  call_ended: "the call ended",
  transferred: "the call left the agent",
  held: "the agent put the call on hold",
  consult: "the agent started a consult",
  conference: "the call became a conference",
};

/** "Monitoring ended — the call ended · 监控已结束" for an ended session. */
export function endedText(s) {
  const why = END_REASONS[s.end_reason] || s.end_reason || "";
  return `Monitoring ended${why ? ` — ${why}` : ""} · 监控已结束`;
}

/** The sessions (live ones) on a call, for a row: "陈主管 Supervisor Chen — Listen · 监听" each. */
export function monitorsOf(sessions, linkedid) {
  return [...sessions].filter((s) => s.linkedid === linkedid && s.state !== "ended")
    .sort((a, b) => String(a.supervisor).localeCompare(String(b.supervisor)));
}

/** One session as a row shows it. */
export function monitorLabel(s) {
  const who = s.supervisor_name || s.supervisor;
  if (s.state === "intercepted") return `${who} — intercepted · 已拦截`;
  if (s.state === "ringing") return `${who} — ${MODE[s.mode] ? MODE[s.mode].short : s.mode} (phone ringing)`;
  return `${who} — ${modeLabel(s.mode)}`;
}

/** The monitored agent's banner from a ``notice`` {kind: "monitoring", active, mode, by}, or "". */
export function bannerText(notice) {
  if (!notice || notice.kind !== "monitoring" || !notice.active) return "";
  const who = notice.by || "A supervisor";
  const doing = { listen: "is listening · 主管监听中", whisper: "is whispering to you · 主管耳语中",
    barge: "is barging in · 主管强插中" }[notice.mode] || `is monitoring (${notice.mode}) · 主管监控中`;
  return `${who} ${doing}`;
}

const AUDIT_WHAT = {
  monitor_requested: "Asked to monitor · 发起监控",
  monitor_started: "Monitoring started · 开始监控",
  monitor_mode: "Switched mode · 切换模式",
  monitor_ended: "Monitoring ended · 结束监控",
  monitor_failed: "Monitoring failed · 监控失败",
  intercept: "Intercepted · 拦截",
  intercept_failed: "Intercept failed · 拦截失败",
  intercept_confirmed: "Intercept confirmed after a link loss · 拦截已确认",
};

/**
 * One audit entry ({kind, at, data: {supervisor, agent, mode | from, to | why, seconds | error},
 * linkedid, ref}) as the cells the audit table shows: {at, supervisor, agent, call, what, mode, detail}.
 */
export function auditCells(entry, nameOf = String) {
  const d = entry.data || {};
  let mode = d.mode ? modeLabel(d.mode) : "";
  if (entry.kind === "monitor_mode") mode = `${modeLabel(d.from)} → ${modeLabel(d.to)}`;
  const detail = [];
  if (d.intercept) detail.push("to intercept");
  if (d.why) detail.push(END_REASONS[d.why] || d.why);
  if (typeof d.seconds === "number" && entry.kind === "monitor_ended") detail.push(`${Math.round(d.seconds)} s`);
  if (d.error) detail.push(d.error);
  if (d.caller_with) detail.push(`the caller is with ${d.caller_with === "supervisor" || d.caller_with === "agent" ? `the ${d.caller_with}` : "nobody"}`);
  if (entry.kind === "intercept" && d.from) detail.push(`from ${nameOf(d.from)}`);
  return {
    at: entry.at, supervisor: d.supervisor ? nameOf(d.supervisor) : "", agent: d.agent ? nameOf(d.agent) : "",
    call: entry.ref || entry.linkedid || "", what: AUDIT_WHAT[entry.kind] || entry.kind, mode,
    detail: detail.join("; "),
  };
}

/**
 * One alert the server raised ({key, kind: wait|hold|busy|wrapup, level: warn|bad, since, limit,
 * linkedid?, agent?, reason?, caller_number?, caller_name?, queue?, action: {kind: force_ready, agent}
 * | {kind: monitor, linkedid} | null}, see ctiserver/supervision/alerts.py) as the list shows it:
 * {key, kind, level, text, seconds, limit, linkedid, agent, action: {kind: force_ready | listen |
 * listen_when_retrieved, agent?, label} | null}. ``call`` is the live call's view (a held call is
 * listened to once retrieved), ``now`` epoch seconds on the server's clock, ``me`` the supervisor.
 */
export function alertView(a, { now, call = null, me = null, nameOf = String }) {
  const caller = [a.caller_number, a.caller_name].filter(Boolean).join(" ") || a.linkedid || "";
  const who = a.agent ? nameOf(a.agent) : "";
  const text = {
    wait: `${caller} waiting${a.queue ? ` in ${a.queue}` : ""} · 客户等待`,
    hold: `${caller} on hold${who ? ` by ${who}` : ""} · 保持过长`,
    busy: `${who} busy${a.reason ? ` (${a.reason})` : ""} · 示忙过长`,
    wrapup: `${who} in wrap-up · 话后过长`,
  }[a.kind] || `${a.kind} ${caller || who}`;
  let action = null;
  const act = a.action;
  if (act && act.kind === "force_ready" && act.agent && String(act.agent) !== String(me)) {
    action = { kind: "force_ready", agent: String(act.agent),
      label: a.kind === "wait" ? `Force ${nameOf(act.agent)} ready · 强制示闲` : "Force ready · 强制示闲" };
  } else if (act && act.kind === "monitor" && !(a.agent && String(a.agent) === String(me))) {
    // a held call cannot be monitored (the server says 409): listen as soon as it is retrieved
    const held = !call || call.held || call.state === "held";
    action = held ? { kind: "listen_when_retrieved", label: "Listen when retrieved · 恢复后监听" }
      : { kind: "listen", label: "Listen · 监听" };
  }
  return { key: a.key, kind: a.kind, level: a.level === "bad" ? "bad" : "warn", text, seconds: Math.max(0, now - a.since),
    limit: a.limit, linkedid: a.linkedid || "", agent: a.agent ? String(a.agent) : "", action };
}

/** The alerts' views, worst (against its limit) first. */
export function alertViews(alerts, { now, calls = new Map(), me = null, nameOf = String }) {
  return [...alerts].map((a) => alertView(a, { now, call: a.linkedid ? calls.get(a.linkedid) || null : null, me, nameOf }))
    .sort((p, q) => q.seconds / q.limit - p.seconds / p.limit || p.key.localeCompare(q.key));
}
