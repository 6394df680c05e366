// The pop's customer: a link to the customer's record (customer.html) when the caller is one, and
// for a caller who is not, a "Create customer" form (name, class, phone numbers, note) sent with
// the call's id, so the server looks the caller up again and the pop shows the new customer.

import { api } from "./net.js";
import { $, el, message, show } from "./dom.js";

/** The record page's address for a customer number. */
export function recordUrl(no) {
  return `/customer?no=${encodeURIComponent(no)}`;
}

/** The phone numbers typed in the form: one per line or separated by commas, blanks dropped. */
export function phonesOf(text) {
  return String(text || "").split(/[\n,;，；]+/).map((p) => p.trim()).filter(Boolean);
}

let formFor = null; // the linkedid the open form was filled for

function form() {
  let f = $("customer-new");
  if (f) return f;
  f = el("form", { id: "customer-new", class: "subform customer-new", novalidate: true, hidden: true,
    "aria-label": "New customer · 新建客户" },
  el("label", { htmlFor: "cn-name", textContent: "Name · 姓名" }),
  el("input", { id: "cn-name", name: "name", maxLength: 100, autocomplete: "off" }),
  el("label", { htmlFor: "cn-class", textContent: "Class · 客户等级" }),
  el("select", { id: "cn-class", name: "class" },
    el("option", { value: "ordinary", textContent: "Ordinary · 普通" }), el("option", { value: "vip", textContent: "VIP" })),
  el("label", { htmlFor: "cn-phones", textContent: "Phone numbers · 电话 (one per line)" }),
  el("textarea", { id: "cn-phones", name: "phones", rows: 2 }),
  el("label", { htmlFor: "cn-note", textContent: "Note · 备注" }),
  el("input", { id: "cn-note", name: "note", maxLength: 500, autocomplete: "off" }),
  el("div", { class: "buttons" },
    el("button", { type: "submit", class: "primary small", id: "cn-create", textContent: "Create · 创建" }),
    el("button", { type: "button", class: "quiet small", id: "cn-cancel", textContent: "Cancel · 取消" })),
  el("p", { class: "error", id: "cn-error", role: "alert", hidden: true }));
  $("pop").append(f);
  f.addEventListener("submit", (e) => {
    e.preventDefault();
    create();
  });
  $("cn-cancel").addEventListener("click", () => close());
  return f;
}

function close() {
  formFor = null;
  show(form(), false);
}

async function create() {
  const button = $("cn-create");
  button.disabled = true;
  message($("cn-error"), "");
  try {
    const made = await api("POST", "/api/customers", { name: $("cn-name").value, class: $("cn-class").value,
      phones: phonesOf($("cn-phones").value), note: $("cn-note").value || undefined, linkedid: formFor || undefined });
    close();
    const done = $("customer-made") || el("p", { id: "customer-made", class: "ok", role: "status" });
    done.textContent = `Customer ${made.customer_no} created · 客户已创建`;
    $("pop").append(done);
    show(done, true);
  } catch (err) {
    message($("cn-error"), err.describe ? err.describe() : String(err));
  } finally {
    button.disabled = false;
  }
}

/** The pop's "Record" row (after the customer number), made once: the link or the create button go there. */
function actionsCell() {
  let cell = $("pop-customer-actions");
  if (!cell) {
    cell = el("dd", { id: "pop-customer-actions" });
    $("pop-customer-no").after(el("dt", { textContent: "Record · 档案" }), cell);
  }
  return cell;
}

/** Called by the pop each time it is drawn: the record link, or the create button and its form. */
export function customerLinks(pop) {
  const f = form();
  if (!pop || formFor !== pop.linkedid) close();
  const made = $("customer-made");
  if (made) show(made, Boolean(pop && pop.customer));
  if (!pop) return;
  const cell = actionsCell();
  cell.replaceChildren();
  const c = pop.customer;
  const no = c ? c.customer_no || c.no : "";
  if (no) {
    cell.append(el("a", { href: recordUrl(no), target: "_blank", rel: "noopener", class: "customer-link",
      id: "pop-customer-link", textContent: "Record · 客户档案" }));
  } else if (pop.lookup === "done") {
    const b = el("button", { type: "button", class: "small", id: "pop-customer-create",
      textContent: "Create customer · 新建客户" });
    b.addEventListener("click", () => {
      formFor = pop.linkedid;
      $("cn-name").value = pop.caller_name || "";
      $("cn-phones").value = pop.caller_number || "";
      $("cn-note").value = "";
      message($("cn-error"), "");
      show(f, true);
      $("cn-name").focus();
    });
    cell.append(b);
  }
}
