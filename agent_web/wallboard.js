// The wall display: full screen, no controls. One socket (/wallboard/ws, with a supervisor's
// session or the display's read-only ?token=): a snapshot {wall}, then queue_stats and marquee.
import { el } from "./dom.js";
import { PushSocket } from "./net.js";

const STATE_LABELS = {
  ready: "Ready · 空闲", ringing: "Ringing · 振铃", on_call: "On call · 通话",
  on_hold: "On hold · 保持", wrap_up: "Wrap-up · 整理", not_ready: "Busy · 示忙",
};

/** Seconds as m:ss (a wait), or an em dash when unknown. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function figure(value, label, level) {
  return el("div", { class: `figure ${level || ""}` }, el("span", { class: "value" }, String(value)),
    el("span", { class: "label" }, label));
}

/** One queue's card: live waiting and longest wait (coloured), today's counts and service level. */
export function queueCard(q) {
  const sl = q.service_level_pct === null || q.service_level_pct === undefined ? "—" : `${q.service_level_pct}%`;
  return el("article", { class: "queue", "data-queue": q.queue },
    el("h2", {}, q.queue),
    el("div", { class: "figures" },
      figure(q.waiting, "Waiting · 排队", q.waiting ? q.wait_level : ""),
      figure(duration(q.longest_wait), "Longest wait · 最长等待", q.wait_level),
      figure(sl, "Service level · 服务水平", q.service_level),
      figure(duration(q.avg_wait_seconds), "Avg wait · 平均等待"),
      figure(q.offered ?? 0, "Offered · 呼入"),
      figure(q.answered ?? 0, "Answered · 接通"),
      figure(q.abandoned ?? 0, "Abandoned · 放弃", q.abandoned ? "amber" : ""),
      figure(duration(q.avg_handle_seconds), "Avg handle · 平均通话")));
}

function renderChart(svg, intervals) {
  svg.replaceChildren();
  if (!intervals || !intervals.length) return;
  const ns = "http://www.w3.org/2000/svg";
  const W = 960, H = 200, n = intervals.length, bw = W / n;
  const max = Math.max(1, ...intervals.map((i) => i.offered));
  const mk = (tag, attrs) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); return e; };
  const points = [];
  intervals.forEach((iv, k) => {
    const h = (iv.offered / max) * (H - 30);
    svg.append(mk("rect", { class: "bar", x: k * bw + 2, y: H - h, width: Math.max(1, bw - 4), height: h }));
    if (iv.service_level_pct !== null) points.push(`${k * bw + bw / 2},${H - (iv.service_level_pct / 100) * (H - 30)}`);
    if (k % 4 === 0) {
      const t = mk("text", { x: k * bw + 2, y: H + 16 });
      t.textContent = new Date(iv.start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      svg.append(t);
    }
  });
  if (points.length > 1) svg.append(mk("polyline", { class: "sl", points: points.join(" ") }));
}

function render(wall) {
  document.getElementById("queues").replaceChildren(...wall.queues.map(queueCard));
  document.getElementById("agents").replaceChildren(
    ...Object.entries(wall.agents).map(([state, n]) => figure(n, STATE_LABELS[state] || state)));
  renderChart(document.getElementById("chart"), wall.intervals);
  renderMarquee(wall.marquee);
}

function renderMarquee(items) {
  document.getElementById("marquee-text").textContent = (items || []).map((m) => m.text).join("   ·   ");
}

function start() {
  const status = document.getElementById("wall-status");
  const socket = new PushSocket({
    path: `/wallboard/ws${location.search}`,
    canReconnect: async () => true,
    onStatus(s) {
      status.textContent = s === "open" ? "Live · 实时" : "Reconnecting · 重新连接…";
      status.classList.toggle("down", s !== "open");
    },
    onMessage(type, data) {
      if (type === "snapshot") render(data.wall);
      else if (type === "queue_stats") render(data);
      else if (type === "marquee") renderMarquee(data.items);
    },
  });
  socket.start();
  const clock = document.getElementById("wall-clock");
  const tick = () => { clock.textContent = new Date().toLocaleTimeString(); };
  tick();
  setInterval(tick, 1000);
}

if (typeof document !== "undefined" && document.getElementById("queues")) start();
