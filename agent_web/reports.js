// The reports page (supervisors and admins): work orders by category and status, the on-time
// rate, what is overdue now, satisfaction from callbacks and repeat complaints over a chosen
// period, each with a chart drawn here in plain SVG and a CSV link; then the complaint early
// warning: the warnings (acknowledged here too), the thresholds (admins add, switch off and on)
// and the complaint statistics by day, week or month. Every text goes in as text, never markup.

import { api } from "./net.js";
import { $, el, message, show } from "./dom.js";
import { barChart, columnChart, fillTable, percent } from "./reports-draw.js";

const STATUS_COLOURS = {
  draft: "#9ba7b6", submitted: "#0972d3", accepted: "#2ea597", assigned: "#7d2ea8", in_progress: "#d97706",
  completed: "#037f0c", callback: "#8d6605", closed: "#16191f", withdrawn: "#b8bec6",
};
const SATISFACTION = { satisfied: "Satisfied · 满意", basically_satisfied: "Basically · 基本满意",
  unsatisfied: "Unsatisfied · 不满意" };

let me = null;
let meta = { categories: {}, queues: [] };

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function hours(seconds) {
  return seconds === null || seconds === undefined ? "—" : `${Math.round(seconds / 360) / 10} h`;
}

// -- the report ---------------------------------------------------------------------------

async function loadReport() {
  const from = $("from").value;
  const to = $("to").value;
  message($("page-error"), "");
  message($("period-note"), "Loading… · 加载中");
  let r;
  try {
    // No dates yet (the page's first load): the server's default, the center's last 30 days in
    // its own time zone, which the browser's clock and zone need not share.
    const period = from && to ? `?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}` : "";
    r = await api("GET", `/api/reports${period}`);
  } catch (err) {
    message($("period-note"), "");
    message($("page-error"), err.describe ? err.describe() : String(err));
    return;
  }
  message($("period-note"), `${r.from} – ${r.to} (${r.timezone})`);
  $("from").value = r.from;
  $("to").value = r.to;
  for (const a of document.querySelectorAll("a.csv[data-table]")) {
    a.href = `/api/reports/${a.dataset.table}.csv?from=${encodeURIComponent(r.from)}&to=${encodeURIComponent(r.to)}`;
  }
  renderCounts(r);
  $("on-time-rate").textContent = percent(r.on_time_rate);
  barChart($("chart-on-time"), r.on_time.map((x) => ({ label: x.category || "—", total: null,
    parts: [{ key: "on time", value: x.on_time, colour: "#037f0c" },
      { key: "late", value: x.with_deadline - x.on_time, colour: "#d91515" }] })));
  fillTable($("table-on_time"), [["category", "Category · 分类"], ["closed", "Closed · 已关闭"],
    ["with_deadline", "With a deadline · 有时限"], ["on_time", "On time · 按时"],
    ["rate", "Rate · 比率", (_, x) => percent(x.with_deadline ? x.on_time / x.with_deadline : null)]], r.on_time);
  $("total-overdue").textContent = String(r.overdue.length);
  fillTable($("table-overdue"), [["ref", "Work order · 工单"], ["category", "Category · 分类"],
    ["status", "Status · 状态"], ["department", "Department · 部门"], ["assignee", "Assignee · 经办人"],
    ["due_at", "Due · 时限", when], ["late_seconds", "Late by · 超时", hours], ["summary", "Summary · 摘要"]],
  r.overdue);
  $("satisfaction-rate").textContent = percent(r.satisfaction_rate);
  const bySat = {};
  for (const s of r.satisfaction) bySat[s.satisfaction || "—"] = (bySat[s.satisfaction || "—"] || 0) + s.count;
  barChart($("chart-satisfaction"), Object.entries(bySat).map(([k, v]) => ({ label: SATISFACTION[k] || k,
    parts: [{ key: k, value: v, colour: k === "unsatisfied" ? "#d91515" : "#037f0c" }] })));
  fillTable($("table-satisfaction"), [["category", "Category · 分类"],
    ["satisfaction", "Satisfaction · 满意度", (v) => SATISFACTION[v] || v || "—"], ["count", "Callbacks · 回访"]],
  r.satisfaction);
  $("total-repeats").textContent = String(r.repeats.length);
  fillTable($("table-repeats"), [["at", "When · 时间", when], ["ref", "Work order · 工单"],
    ["category", "Category · 分类"], ["subcategory", "Sub-category · 子类"], ["department", "Department · 部门"],
    ["repeats", "Times · 次数"], ["customer_name", "Customer · 客户"], ["comment", "Opinion · 意见"]], r.repeats);
  show($("report"), true);
}

function renderCounts(r) {
  const byCategory = new Map();
  for (const x of r.by_category_status) {
    const key = x.category || "—";
    if (!byCategory.has(key)) byCategory.set(key, []);
    byCategory.get(key).push({ key: x.status, value: x.count, colour: STATUS_COLOURS[x.status] || "#5f6b7a" });
  }
  barChart($("chart-counts"), [...byCategory].map(([label, parts]) => ({ label, parts })));
  $("total-work").textContent = String(r.totals.work_orders);
  fillTable($("table-by_category_status"), [["category", "Category · 分类"], ["status", "Status · 状态"],
    ["count", "Count · 数量"]], r.by_category_status);
}

// -- complaint warnings, thresholds, statistics ----------------------------------------------

async function loadWarnings() {
  let body;
  try {
    body = await api("GET", "/api/complaints/warnings");
  } catch (err) {
    message($("warnings-error"), err.describe ? err.describe() : String(err));
    return;
  }
  const rows = body.warnings;
  show($("warnings-empty"), rows.length === 0);
  const table = $("table-warnings");
  table.replaceChildren(
    el("thead", {}, el("tr", {}, ...["Raised · 时间", "Threshold · 阈值", "Measured · 实际", "Period · 周期",
      "Acknowledged · 确认"].map((t) => el("th", { scope: "col", textContent: t })))),
    el("tbody", {}, ...rows.map((w) => el("tr", { dataset: { warning: String(w.id) } },
      el("td", { textContent: when(w.raised_at) }),
      el("td", { textContent: w.name }),
      el("td", { textContent: w.measure === "rate" ? `${percent(w.value)} (${w.complaints}/${w.answered})`
        : String(w.complaints) }),
      el("td", { textContent: `${w.period} ${new Date(w.period_start).toLocaleDateString()}${w.late
        ? " — raised late · 迟报" : ""}` }),
      el("td", {}, w.acknowledged_at ? `${w.acknowledged_by} ${when(w.acknowledged_at)}${w.ack_comment
        ? " — " + w.ack_comment : ""}` : ackButton(w))))));
  show($("warnings"), true);
}

function ackButton(w) {
  const b = el("button", { type: "button", class: "small primary", textContent: "Acknowledge · 确认" });
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api("POST", `/api/complaints/warnings/${w.id}/acknowledge`, {});
    } catch (err) {
      message($("warnings-error"), err.describe ? err.describe() : String(err));
    }
    loadWarnings();
  });
  return b;
}

async function loadThresholds() {
  const body = await api("GET", "/api/complaints/thresholds");
  meta = { categories: body.categories, queues: body.queues };
  const admin = me.role === "admin";
  const table = $("table-thresholds");
  const columns = ["Name · 名称", "Measure · 指标", "Period · 周期", "Scope · 范围", "Limit · 阈值", "On · 启用"];
  table.replaceChildren(
    el("thead", {}, el("tr", {}, ...columns.map((t) => el("th", { scope: "col", textContent: t })))),
    el("tbody", {}, ...body.thresholds.map((t) => el("tr", { dataset: { threshold: String(t.id) } },
      el("td", { textContent: t.name }), el("td", { textContent: t.measure }), el("td", { textContent: t.period }),
      el("td", { textContent: [t.category, t.subcategory, t.queue].filter(Boolean).join(" / ") }),
      el("td", { textContent: t.measure === "rate" ? percent(t.limit) : String(t.limit) }),
      el("td", {}, admin ? toggle(t) : t.enabled ? "yes" : "no")))));
  fillChoices($("t-category"), Object.keys(meta.categories), false);
  if (!$("t-category").dataset.chosen && meta.categories.complaint) $("t-category").value = "complaint";
  fillChoices($("t-queue"), meta.queues, true);
  fillChoices($("s-queue"), meta.queues, true);
  subcategories();
  show($("threshold-form"), admin);
  show($("thresholds"), true);
}

function toggle(t) {
  const box = el("input", { type: "checkbox", checked: t.enabled, "aria-label": `${t.name} on` });
  box.addEventListener("change", async () => {
    try {
      await api("POST", `/api/complaints/thresholds/${t.id}`, { version: t.version, enabled: box.checked });
    } catch (err) {
      message($("threshold-error"), err.describe ? err.describe() : String(err));
    }
    loadThresholds();
  });
  return box;
}

function fillChoices(select, values, any) {
  const current = select.value;
  select.replaceChildren(...(any ? [el("option", { value: "", textContent: "any · 全部" })] : []),
    ...values.map((v) => el("option", { value: v, textContent: v })));
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

function subcategories() {
  fillChoices($("t-subcategory"), meta.categories[$("t-category").value] || [], true);
}

async function addThreshold(event) {
  event.preventDefault();
  message($("threshold-error"), "");
  const raw = $("t-limit").value.trim();
  const body = { name: $("t-name").value, measure: $("t-measure").value, period: $("t-period").value,
    category: $("t-category").value, limit: raw === "" ? null : Number(raw) };
  if ($("t-subcategory").value) body.subcategory = $("t-subcategory").value;
  if ($("t-queue").value) body.queue = $("t-queue").value;
  if (raw !== "" && Number.isNaN(body.limit)) body.limit = raw; // the server names the field
  try {
    await api("POST", "/api/complaints/thresholds", body);
    $("threshold-form").reset();
    await loadThresholds();
  } catch (err) {
    message($("threshold-error"), err.describe ? err.describe() : String(err));
  }
}

async function loadStats(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams({ period: $("s-period").value, from: $("from").value, to: $("to").value });
  if ($("s-queue").value) params.set("queue", $("s-queue").value);
  $("stats-csv").href = `/api/complaints/stats.csv?${params}`;
  const body = await api("GET", `/api/complaints/stats?${params}`);
  columnChart($("chart-stats"), body.rows.map((r) => ({ label: r.period_start, value: r.complaints })),
    { rates: body.rows.map((r) => r.rate) });
  fillTable($("table-stats"), [["period_start", "From · 起"], ["complaints", "Complaints · 投诉"],
    ["repeats", "Repeats · 二次投诉"],
    ["answered", "Answered calls · 接通"], ["rate", "Rate · 投诉率", percent]], body.rows);
  show($("complaint-stats"), true);
}

// -- start ------------------------------------------------------------------------------------

async function start() {
  try {
    me = (await api("GET", "/api/me")).me;
  } catch (err) {
    message($("page-error"), err.status === 401 ? "Sign in on the panel first · 请先在面板登录" : err.describe());
    return;
  }
  $("who").textContent = `${me.name} (${me.login})`;
  if (me.role !== "supervisor" && me.role !== "admin") {
    message($("page-error"), "Reports are for supervisors · 仅限班长查看");
    return;
  }
  show($("period-form"), true);
  $("period-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadReport();
    loadStats();
  });
  $("t-category").addEventListener("change", () => {
    $("t-category").dataset.chosen = "1";
    subcategories();
  });
  $("threshold-form").addEventListener("submit", addThreshold);
  $("stats-form").addEventListener("submit", loadStats);
  await Promise.all([loadReport().then(() => loadThresholds()).then(() => loadStats()), loadWarnings()]);
  document.body.dataset.ready = "1";
}

start();
