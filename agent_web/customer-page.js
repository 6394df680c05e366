// The customer's record (customer.html?no=C0001): details, then every call and work order of the
// customer (theirs, and those from their phone numbers), newest first, a page at a time.

import { api } from "./net.js";
import { $, message, show } from "./dom.js";
import { fillTable } from "./reports-draw.js";

const SIZE = 20;
const CLASSES = { vip: "VIP", ordinary: "Ordinary · 普通" };
const params = new URLSearchParams(location.search);
const no = params.get("no") || "";
let kind = "all";
let page = 1;

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function talk(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Why the record cannot be shown, in the user's words. */
function refusal(err) {
  if (err.status === 401) return "Sign in on the panel first · 请先在面板登录";
  if (err.code === "not_your_customer") {
    return "This customer is not on a call of yours nor on a work order you handle · 该客户不在您的通话或工单中";
  }
  return err.describe ? err.describe() : String(err);
}

async function loadHistory() {
  let body;
  try {
    body = await api("GET", `/api/customers/${encodeURIComponent(no)}/history?kind=${kind}&page=${page}&size=${SIZE}`);
  } catch (err) {
    message($("page-error"), refusal(err)); // e.g. the agent's wrap-up ended: the record is no longer theirs
    return;
  }
  message($("page-error"), "");
  $("h-total").textContent = String(body.total);
  fillTable($("h-table"), [["created_at", "When · 时间", when], ["ref", "Work order · 工单"],
    ["channel", "Channel · 渠道"], ["disposition", "Call · 通话"], ["agent_id", "Agent · 坐席"],
    ["talk_seconds", "Talk · 时长", talk], ["category", "Category · 分类"], ["status", "Status · 状态"],
    ["summary", "Summary · 摘要"]], body.items);
  show($("h-empty"), body.items.length === 0);
  $("h-page").textContent = `${body.page} / ${body.pages}`;
  $("h-prev").disabled = body.page <= 1;
  $("h-next").disabled = body.page >= body.pages;
  for (const b of document.querySelectorAll("button[data-kind]")) b.setAttribute("aria-pressed", String(b.dataset.kind === kind));
  show($("history"), true);
  document.body.dataset.ready = "1";
}

async function start() {
  let c;
  try {
    c = await api("GET", `/api/customers/${encodeURIComponent(no)}`);
  } catch (err) {
    message($("page-error"), refusal(err));
    return;
  }
  document.title = `${c.name} · 客户档案`;
  $("c-name").textContent = c.name;
  $("c-no").textContent = c.customer_no;
  $("c-class").textContent = CLASSES[c.class] || c.class;
  $("c-phones").textContent = c.phones.join(", ") || "—";
  $("c-note").textContent = c.note || "—";
  $("c-since").textContent = when(c.created_at);
  show($("customer"), true);
  for (const b of document.querySelectorAll("button[data-kind]")) {
    b.addEventListener("click", () => {
      kind = b.dataset.kind;
      page = 1;
      loadHistory();
    });
  }
  $("h-prev").addEventListener("click", () => { page -= 1; loadHistory(); });
  $("h-next").addEventListener("click", () => { page += 1; loadHistory(); });
  await loadHistory();
}

start();
