// The administration page (admins only): people (search, add, edit, disable and re-enable, reset a
// password, whose one-time password is shown once), the queues the CTI owns and their settings,
// the busy reasons, a CSV import with its per-row report, and the audit of every change. An agent's
// or supervisor's SIP account (the phone that registers) is shown with its registration; its secret
// is shown once, when the account is made or its secret reset.

import { api, ApiError } from "./net.js";
import { $, el, message, show } from "./dom.js";

let editing = null; // the person being edited ({login, version}), or null for a new one

const describe = (err) => (err instanceof ApiError ? err.describe() : String(err));

function queuesText(queues) {
  return Object.entries(queues || {}).map(([q, p]) => `${q}:${p}`).join("; ");
}

/** "support:0; sales:5" -> {support: 0, sales: 5}; a bare name has penalty 0. */
function parseQueues(text) {
  const out = {};
  for (const part of text.split(";").map((s) => s.trim()).filter(Boolean)) {
    const [name, penalty] = part.split(":").map((s) => s.trim());
    out[name] = penalty === undefined || penalty === "" ? 0 : Number(penalty);
  }
  return out;
}

function cell(text) {
  return el("td", { textContent: text == null ? "" : String(text) });
}

function head(...names) {
  return el("tr", {}, ...names.map((n) => el("th", { textContent: n })));
}

async function loadPeople() {
  const q = $("search").value.trim();
  const [data, sip] = await Promise.all([api("GET", `/api/admin/people?q=${encodeURIComponent(q)}`),
    api("GET", "/api/admin/sip-accounts")]);
  const accounts = new Map(sip.accounts.map((a) => [a.login, a]));
  const rows = data.people.map((p) => {
    const edit = el("button", { type: "button", class: "small", textContent: "Edit · 编辑" });
    edit.addEventListener("click", () => openForm(p));
    const toggle = el("button", { type: "button", class: "small",
      textContent: p.disabled ? "Enable · 启用" : "Disable · 停用" });
    toggle.addEventListener("click", () => act(api("POST", `/api/admin/people/${encodeURIComponent(p.login)}/`
      + `${p.disabled ? "enable" : "disable"}`, { version: p.version }).then((r) => showSip(r.person.sip))));
    const reset = el("button", { type: "button", class: "small", textContent: "Reset password · 重置密码" });
    reset.addEventListener("click", () => act(api("POST", `/api/admin/people/${encodeURIComponent(p.login)}/password`,
      {}).then((r) => showOtp(p.login, r.one_time_password))));
    const account = accounts.get(p.login);
    const actions = el("td", {}, edit, toggle, reset);
    const phoneRole = (p.role === "agent" || p.role === "supervisor") && !p.disabled
      && (p.interface || "").startsWith("PJSIP/");
    if (account || phoneRole) {
      const secret = el("button", { type: "button", class: "small",
        textContent: account ? "Reset SIP secret · 重置分机密码" : "Make SIP account · 开通分机" });
      secret.addEventListener("click", () => act(api("POST",
        `/api/admin/people/${encodeURIComponent(p.login)}/sip-secret`, {}).then((r) => showSip(r.sip))));
      actions.append(secret);
    }
    const phone = account ? `${p.interface} · ${account.registered ? "registered · 已注册" : "not registered · 未注册"}`
      : p.interface;
    return el("tr", { class: p.disabled ? "disabled" : "", dataset: { login: p.login } },
      cell(p.login), cell(p.name), cell(p.role), cell(p.department), cell(phone), cell(queuesText(p.queues)),
      cell(p.disabled ? "disabled · 已停用" : "active · 在用"), actions);
  });
  $("people-table").replaceChildren(
    head("Login · 工号", "Name · 姓名", "Role · 角色", "Department · 部门", "Phone · 分机", "Queues · 队列",
      "Status · 状态", ""), ...rows);
}

async function act(promise) {
  message($("page-error"), "");
  try {
    await promise;
  } catch (err) {
    message($("page-error"), describe(err));
  }
  await refresh();
}

function showOtp(login, password) {
  if (!password) return;
  $("otp-login").textContent = login;
  $("otp-value").textContent = password;
  show($("otp"), true);
}

/** A SIP account's secret, shown once (a new account, or its secret reset). */
function showSip(sip) {
  if (!sip || !sip.secret) return;
  $("sip-username").textContent = sip.username;
  $("sip-realm").textContent = sip.realm;
  $("sip-value").textContent = sip.secret;
  show($("sip"), true);
}

function openForm(person) {
  editing = person ? { login: person.login, version: person.version } : null;
  $("person-title").textContent = person ? `Edit ${person.login} · 编辑` : "New person · 新增人员";
  $("p-login").value = person ? person.login : "";
  $("p-login").disabled = Boolean(person);
  $("p-name").value = person ? person.name : "";
  $("p-role").value = person ? person.role : "agent";
  $("p-department").value = person ? person.department : "";
  $("p-interface").value = person ? person.interface : "";
  $("p-phone").value = person && person.phone ? person.phone : "desk";
  $("p-queues").value = person ? queuesText(person.queues) : "";
  message($("person-error"), "");
  show($("person-form"), true);
  $(person ? "p-name" : "p-login").focus();
}

async function savePerson(event) {
  event.preventDefault();
  const body = { name: $("p-name").value, role: $("p-role").value, department: $("p-department").value,
    interface: $("p-interface").value.trim(), queues: parseQueues($("p-queues").value), phone: $("p-phone").value };
  try {
    if (editing) {
      const changed = await api("PATCH", `/api/admin/people/${encodeURIComponent(editing.login)}`,
        { ...body, version: editing.version });
      showSip(changed.person.sip);
    } else {
      const made = await api("POST", "/api/admin/people", { ...body, login: $("p-login").value.trim() });
      showOtp(made.person.login, made.one_time_password);
      showSip(made.person.sip);
    }
    show($("person-form"), false);
    await refresh();
  } catch (err) {
    message($("person-error"), describe(err));
  }
}

async function loadQueues() {
  const data = await api("GET", "/api/admin/queues");
  const byName = new Map(data.queues.map((q) => [q.name, q]));
  const rows = data.known.map((name) => {
    const q = byName.get(name);
    const row = el("tr", { dataset: { queue: name } }, cell(name), cell(q ? q.wrapup_seconds : "(configuration)"),
      cell(q ? q.service_level_seconds : "(configuration)"), cell(q ? (q.recording ? "on · 开" : "off · 关") : ""));
    row.addEventListener("click", () => {
      $("q-name").value = name;
      $("q-wrapup").value = q ? q.wrapup_seconds : "";
      $("q-sl").value = q ? q.service_level_seconds : "";
      $("q-recording").checked = Boolean(q && q.recording);
      $("queue-form").dataset.version = q ? q.version : "";
    });
    return row;
  });
  $("queues-table").replaceChildren(head("Queue · 队列", "Wrap-up (s)", "Service level (s)", "Recording · 录音"),
    ...rows);
  $("reasons").value = data.busy_reasons.join(", ");
}

async function saveQueue(event) {
  event.preventDefault();
  const version = $("queue-form").dataset.version;
  const body = { wrapup_seconds: Number($("q-wrapup").value), service_level_seconds: Number($("q-sl").value),
    recording: $("q-recording").checked };
  if (version) body.version = Number(version);
  try {
    await api("PUT", `/api/admin/queues/${encodeURIComponent($("q-name").value.trim())}`, body);
    message($("queue-error"), "");
    $("queue-form").dataset.version = "";
    await refresh();
  } catch (err) {
    message($("queue-error"), describe(err));
  }
}

async function saveReasons(event) {
  event.preventDefault();
  const reasons = $("reasons").value.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    await api("PUT", "/api/admin/busy-reasons", { reasons });
    message($("reasons-error"), "");
    await refresh();
  } catch (err) {
    message($("reasons-error"), describe(err));
  }
}

async function importCsv(event) {
  event.preventDefault();
  const file = $("import-file").files[0];
  if (!file) return;
  const response = await fetch("/api/admin/people/import", { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "text/csv", Accept: "application/json" }, body: await file.text() });
  const data = await response.json();
  if (data.error) {
    $("import-summary").textContent = `${data.error.message} (${data.error.field || "file"})`;
    $("import-report").replaceChildren();
    return;
  }
  if (data.errors.length) {
    $("import-summary").textContent = `Nothing imported: ${data.errors.length} row(s) to fix · 未导入`;
    $("import-report").replaceChildren(head("Line · 行", "Field · 字段", "Problem · 问题"),
      ...data.errors.map((e) => el("tr", {}, cell(e.line), cell(e.field), cell(e.message))));
  } else {
    $("import-summary").textContent = `${data.imported} imported · 已导入`;
    $("import-report").replaceChildren(head("Login · 工号", "One-time password · 一次性密码",
      "SIP account · 分机", "SIP secret · 分机密码"),
      ...data.people.map((p) => el("tr", {}, cell(p.login), cell(p.one_time_password || "(given)"),
        cell(p.sip ? p.sip.username : ""), cell(p.sip ? p.sip.secret : ""))));
  }
  await refresh();
}

async function loadAudit() {
  const data = await api("GET", "/api/admin/audit?limit=100");
  const brief = (v) => (v ? JSON.stringify(v) : "");
  $("audit-table").replaceChildren(head("When · 时间", "Who · 操作人", "What · 操作", "Target · 对象", "Before · 之前",
    "After · 之后"), ...data.entries.map((e) => el("tr", {}, cell(new Date(e.at).toLocaleString()), cell(e.actor),
    cell(e.action), cell(e.target), cell(brief(e.before)), cell(brief(e.after)))));
}

async function refresh() {
  await Promise.all([loadPeople(), loadQueues(), loadAudit()]);
}

async function start() {
  let me;
  try {
    me = (await api("GET", "/api/me")).me || null;
  } catch (err) {
    message($("page-error"), err.status === 401 ? "Sign in on the panel first · 请先登录" : describe(err));
    return;
  }
  $("who").textContent = me ? `${me.name} (${me.login})` : "";
  if (!me || me.role !== "admin") {
    message($("page-error"), "Only an admin may use this page · 仅管理员可用");
    return;
  }
  for (const id of ["people", "queues", "import", "audit"]) show($(id), true);
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); act(Promise.resolve()); });
  $("add-person").addEventListener("click", () => openForm(null));
  $("person-cancel").addEventListener("click", () => show($("person-form"), false));
  $("person-form").addEventListener("submit", savePerson);
  $("queue-form").addEventListener("submit", saveQueue);
  $("reasons-form").addEventListener("submit", saveReasons);
  $("import-form").addEventListener("submit", importCsv);
  await refresh();
}

start();
