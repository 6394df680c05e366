// The task bar and one work order opened from it (rules in workorders.js): what waits for this
// person (GET /api/workorders/tasks: assigned to them or their department, callbacks due), with
// counts in the header, refetched on each ``workorder_task`` push; a work order's fields, due
// time, status colour, append-only history and the lifecycle actions this person's roles allow.
// The API decides: a refusal (403 role, 409 state or stale version, 400 input) is shown with its
// reason. A work order without a call is created here too, and work orders are searched (text,
// caller, customer, category, status, overdue, dates; pages of 20, "More" for the next) with a
// CSV export link of the same search. Text is set as text, never markup.

import { api, ApiError } from "./net.js";
import * as w from "./workorders.js";
import { $, el, message, show } from "./dom.js";

const REFETCH_MS = 30000; // amber comes with time, not with a push: ask again this often while visible
const PUSH_FOLD_MS = 400; // pushes in a burst (a draft saved on each change) fold into one fetch

/**
 * The task bar's controller over the model ``S``; ``writeup`` is the write-up form (writeup.js),
 * which opens drafts. Returns {boot(), signedIn(), reset(), onTask(d), refresh(), showDetail(wo),
 * openRef(ref), tick()}.
 */
export function taskBar(S, { writeup }) {
  let tasks = []; // the last answer's work orders
  let overdue = []; // GET /api/workorders/overdue: open work past due (supervisors: everyone's)
  let counts = {};
  let departments = []; // the departments this person handles, as the task bar shows them
  let detail = null; // the work order open in the detail card (GET /api/workorders/{ref})
  let detailWhy = null; // why it is in the task bar, if it came from there
  let chosen = null; // the action whose inputs are open
  let busy = false; // an action is on its way
  let fetching = null;
  let again = false;
  let foldTimer = null;
  let refetchTimer = null;
  let found = []; // the search's results so far
  let nextPage = null; // the cursor of the search's next page
  let searching = false;

  // -- the list ---------------------------------------------------------------------------

  async function refresh() {
    if (!S.me) return;
    if (fetching) {
      again = true; // one more when this one is back: a push may have come after it was asked
      return fetching;
    }
    fetching = (async () => {
      try {
        const [answer, late] = await Promise.all([api("GET", "/api/workorders/tasks"),
          api("GET", "/api/workorders/overdue").catch(() => null)]);
        tasks = answer.workorders || [];
        counts = answer.counts || {};
        if (late) overdue = late.workorders || [];
        departments = w.departmentsFrom(tasks, departments);
        if (!departments.length) {
          const mine = await api("GET", "/api/workorders/my_departments").catch(() => null);
          if (mine) departments = w.departmentsFrom([], mine.my_departments || []);
        }
        message($("tasks-error"), "");
      } catch (err) {
        message($("tasks-error"), err instanceof ApiError && err.status === 503
          ? "The task bar needs the database, which cannot be reached now; it is fetched again when it is back."
          : `Tasks could not be fetched: ${err instanceof ApiError ? err.describe() : err}`);
      }
      render();
    })();
    await fetching;
    fetching = null;
    if (again) {
      again = false;
      await refresh();
    }
  }

  function render() {
    const total = tasks.length;
    show($("tasks"), Boolean(S.me));
    show($("tasks-button"), Boolean(S.me));
    $("tasks-count").textContent = String(total);
    $("tasks-count").dataset.count = String(total);
    $("tasks-total").textContent = total ? `(${total})` : "";
    $("task-counts").replaceChildren(...w.countParts(counts).map((p) =>
      el("span", { class: "task-count", dataset: { why: p.why } }, `${p.label} `, el("b", { textContent: String(p.count) }))));
    const now = S.serverNow();
    $("task-list").replaceChildren(...tasks.map((t) => taskItem(t, now)));
    show($("tasks-empty"), total === 0);
    $("overdue-list").replaceChildren(...overdue.map((t) => taskItem(t, now)));
    $("overdue-total").textContent = overdue.length ? `(${overdue.length})` : "";
    show($("overdue"), overdue.length > 0);
  }

  function taskItem(t, now) {
    const colour = w.colourOf(t, now);
    const button = el("button", { type: "button", class: "task", dataset: { ref: t.ref || "", colour } },
      el("span", { class: "task-top" },
        el("span", { class: "wo-chip", dataset: { colour }, textContent: w.COLOUR_LABELS[colour] || colour }),
        el("span", { class: "ref", textContent: t.ref || "" }),
        el("span", { class: "task-why", textContent: w.WHY_LABELS[t.why] || "" })),
      el("span", { class: "task-what", textContent: w.taskWhat(t) }),
      el("span", { class: "task-bottom" },
        el("span", { class: "task-status", textContent: w.statusLabel(t.status) }),
        el("span", { class: "task-due", textContent: w.dueText(t, now) })));
    button.addEventListener("click", () => openRef(t.ref, t.why));
    return el("li", { dataset: { ref: t.ref || "" } }, button);
  }

  // -- one work order ------------------------------------------------------------------------

  async function openRef(ref, why = null) {
    message($("wd-error"), "");
    try {
      const answer = await api("GET", `/api/workorders/${encodeURIComponent(ref)}`);
      const wo = answer.workorder;
      if ((wo.status || "draft") === "draft" && w.canWriteUp(wo, roles(wo))) {
        closeDetail();
        await writeup.open(ref);
        return;
      }
      detailWhy = why;
      showDetail(wo, { focus: true });
    } catch (err) {
      show($("wo-detail"), true);
      message($("wd-error"), `${ref}: ${err instanceof ApiError ? err.describe() : err}`);
    }
  }

  function roles(wo) {
    const known = detailWhy === "department" && wo.department ? [...departments, wo.department] : departments;
    return w.rolesOf(wo, S.me, known);
  }

  function showDetail(wo, { focus = false } = {}) {
    if (!detail || detail.ref !== wo.ref) chosen = null;
    detail = wo;
    renderDetail();
    if (focus) {
      $("wo-detail").focus({ preventScroll: true });
      $("wo-detail").scrollIntoView({ block: "nearest" });
    }
  }

  function closeDetail() {
    detail = null;
    chosen = null;
    show($("wo-detail"), false);
  }

  function renderDetail() {
    show($("wo-detail"), Boolean(detail));
    if (!detail) return;
    const wo = detail;
    const now = S.serverNow();
    $("wd-ref").textContent = wo.ref || "";
    const colour = w.colourOf(wo, now);
    $("wd-colour").dataset.colour = colour;
    $("wd-colour").textContent = w.COLOUR_LABELS[colour] || colour;
    $("wd-status").textContent = w.statusLabel(wo.status);
    $("wd-due").textContent = w.dueText(wo, now);
    $("wd-facts").replaceChildren(...w.factRows(wo).flatMap(([k, v]) =>
      [el("dt", { textContent: k }), el("dd", { textContent: v })]));
    renderActions();
    const names = namesKnown();
    const history = wo.history || [];
    $("wd-history").replaceChildren(...(history.length ? history.map((h) => historyItem(w.historyLine(h, names)))
      : [el("li", { class: "empty", textContent: wo.history === null
        ? "The history is in the database, which cannot be reached now." : "Nothing yet · 暂无" })]));
  }

  function historyItem(line) {
    return el("li", {},
      el("span", { class: "h-when", textContent: line.when }), " ",
      el("span", { class: "h-what", textContent: line.what }), " ",
      line.change ? el("span", { class: "h-change", textContent: line.change }) : null, " ",
      el("span", { class: "h-who", textContent: `— ${line.who}` }),
      line.details ? el("span", { class: "h-details", textContent: line.details }) : null,
      line.comment ? el("span", { class: "h-comment", textContent: line.comment }) : null);
  }

  function namesKnown() {
    const names = {};
    for (const [id, a] of S.agents) names[id] = a.name;
    if (S.me) names[String(S.me.id)] = S.me.name;
    return names;
  }

  function renderActions() {
    const wo = detail;
    const mine = roles(wo);
    const actions = w.actionsFor(wo, mine);
    const buttons = actions.map((a) => {
      const b = el("button", { type: "button", class: "small", dataset: { action: a.action }, textContent: a.label,
        disabled: busy, "aria-expanded": String(chosen === a.action) });
      b.addEventListener("click", () => choose(a.action));
      return b;
    });
    if (w.canWriteUp(wo, mine)) {
      const b = el("button", { type: "button", class: "small primary", textContent: "Write up · 填写" });
      b.addEventListener("click", () => writeup.open(wo.ref));
      buttons.unshift(b);
    }
    $("wd-actions").replaceChildren(...(buttons.length ? buttons
      : [el("span", { class: "muted", textContent: "No action is yours at this step · 当前无可执行操作" })]));
    renderActionForm();
  }

  async function renderActionForm() {
    show($("wd-form"), Boolean(chosen));
    if (!chosen) return;
    const spec = w.ACTIONS.find((a) => a.action === chosen);
    $("wd-form-title").textContent = `${spec.label} — ${detail.ref}`;
    show($("wd-department-row"), Boolean(spec.department));
    show($("wd-assignee-row"), Boolean(spec.assignee));
    show($("wd-satisfaction-row"), Boolean(spec.satisfaction));
    $("wd-comment-label").textContent = `${w.COMMENT_LABELS[chosen] || "Comment · 说明"}${spec.comment === "required" ? "" : " (optional · 可选)"}`;
    $("wd-confirm").textContent = spec.label;
    $("wd-confirm").disabled = busy;
    if (spec.department && $("wd-department").options.length === 0) {
      try {
        const form = await writeup.formChoices();
        $("wd-department").replaceChildren(el("option", { value: "", textContent: "— same · 不变 —" }),
          ...form.departments.map((d) => el("option", { value: d, textContent: w.nameLabel(d) })));
      } catch (err) {
        // the department list cannot be had now; a person can still be named
      }
    }
  }

  function choose(action) {
    chosen = chosen === action ? null : action;
    $("wd-comment").value = "";
    $("wd-assignee").value = "";
    $("wd-department").value = "";
    $("wd-satisfaction").value = "";
    message($("wd-error"), "");
    renderActions();
    if (chosen) ($("wd-satisfaction-row").hidden ? $("wd-comment") : $("wd-satisfaction")).focus();
  }

  async function act(event) {
    event.preventDefault();
    if (!detail || !chosen || busy) return;
    const action = chosen;
    const inputs = { comment: $("wd-comment").value, department: $("wd-department").value,
      assignee: $("wd-assignee").value, satisfaction: $("wd-satisfaction").value };
    const bad = w.checkAction(action, inputs);
    if (bad) {
      message($("wd-error"), `${bad.message} · 请填写 (${bad.field})`);
      return;
    }
    busy = true;
    message($("wd-error"), "");
    message($("wd-pending"), `${w.actionLabel(action)}…`);
    renderActions();
    const ref = detail.ref;
    try {
      const answer = await api("POST", `/api/workorders/${encodeURIComponent(ref)}/${action}`,
        w.actionBody(action, detail.version, inputs));
      chosen = null;
      const saved = answer.saved === "journal" ? " — kept in the server's journal, written to the database when it is back" : "";
      message($("wd-pending"), saved ? `${w.actionLabel(action)}: done${saved}` : "");
      await reloadDetail(ref, answer.workorder);
    } catch (err) {
      message($("wd-pending"), "");
      const why = err instanceof ApiError ? err.describe() : String(err);
      if (err instanceof ApiError && err.code === "stale_version") {
        await reloadDetail(ref);
        message($("wd-error"), `Someone changed it meanwhile; the newer copy is shown — check it and try again · 已被他人修改. (${why})`);
      } else {
        const who = err instanceof ApiError && err.status === 403 ? "Not allowed · 无权操作: "
          : err instanceof ApiError && err.status === 409 ? "Not now · 当前状态不允许: " : "Refused · 未执行: ";
        message($("wd-error"), who + why);
      }
    } finally {
      busy = false;
      if (detail && detail.ref === ref) renderActions();
    }
    refresh();
  }

  /** The work order again with its history (an action's answer has no history). */
  async function reloadDetail(ref, fallback = null) {
    try {
      const answer = await api("GET", `/api/workorders/${encodeURIComponent(ref)}`);
      if (detail && detail.ref === ref) showDetail(answer.workorder);
    } catch (err) {
      if (fallback && detail && detail.ref === ref) showDetail({ ...fallback, history: detail.history });
    }
  }

  // -- search ---------------------------------------------------------------------------------

  function searchInputs() {
    return { q: $("wo-search-q").value, caller: $("wo-search-caller").value, customer: $("wo-search-customer").value,
      category: $("wo-search-category").value, status: $("wo-search-status").value,
      overdue: $("wo-search-overdue").checked, from: $("wo-search-from").value, to: $("wo-search-to").value };
  }

  function exportLink() {
    const query = w.searchQuery(searchInputs());
    $("wo-search-export").href = `/api/workorders/export.csv${query ? `?${query}` : ""}`;
  }

  async function search(event, more = false) {
    if (event) event.preventDefault();
    if (searching) return;
    searching = true;
    message($("wo-search-error"), "");
    try {
      const answer = await api("GET", `/api/workorders/search?${w.searchQuery(searchInputs(), more ? nextPage : null)}&limit=20`);
      found = more ? [...found, ...(answer.workorders || [])] : answer.workorders || [];
      nextPage = answer.next || null;
      renderFound();
    } catch (err) {
      message($("wo-search-error"), `Search · 搜索: ${err instanceof ApiError ? err.describe() : err}`);
      const field = err instanceof ApiError && `wo-search-${err.field}`;
      if (field && document.getElementById(field)) $(field).focus();
    } finally {
      searching = false;
    }
  }

  function renderFound() {
    const now = S.serverNow();
    $("wo-search-results").replaceChildren(...found.map((t) => taskItem(t, now)));
    $("wo-search-total").textContent = found.length ? `${found.length}${nextPage ? "+" : ""} found · 条` : "Nothing found · 无结果";
    show($("wo-search-more"), Boolean(nextPage));
  }

  async function fillSearchChoices() {
    $("wo-search-status").replaceChildren(el("option", { value: "", textContent: "Any status · 全部状态" }),
      ...Object.keys(w.STATUS_LABELS).map((k) => el("option", { value: k, textContent: w.statusLabel(k) })));
    try {
      const form = await writeup.formChoices();
      $("wo-search-category").replaceChildren(el("option", { value: "", textContent: "Any category · 全部分类" }),
        ...form.categories.map((c) => el("option", { value: c.name, textContent: w.nameLabel(c.name) })));
    } catch (err) {
      // no category list now: the search works without it
    }
  }

  // -- a work order without a call -------------------------------------------------------------

  function toggleNew(open) {
    show($("wo-new-form"), open);
    $("wo-new").setAttribute("aria-expanded", String(open));
    message($("wo-new-error"), "");
    if (open) $("wo-new-channel").focus();
  }

  async function createNew(event) {
    event.preventDefault();
    const body = { channel: $("wo-new-channel").value };
    for (const [k, id] of [["customer_no", "wo-new-customer"], ["caller_number", "wo-new-number"],
      ["caller_name", "wo-new-name"]]) {
      const v = $(id).value.trim();
      if (v) body[k] = v;
    }
    $("wo-new-create").disabled = true;
    message($("wo-new-error"), "");
    try {
      await writeup.create(body);
      for (const id of ["wo-new-customer", "wo-new-number", "wo-new-name"]) $(id).value = "";
      toggleNew(false);
    } catch (err) {
      message($("wo-new-error"), err instanceof ApiError ? err.describe() : String(err));
      const field = err instanceof ApiError && { customer_no: "wo-new-customer", caller_number: "wo-new-number",
        caller_name: "wo-new-name", channel: "wo-new-channel" }[err.field];
      if (field) $(field).focus();
    } finally {
      $("wo-new-create").disabled = false;
    }
  }

  return {
    boot() {
      $("tasks-refresh").addEventListener("click", () => refresh());
      $("tasks-button").addEventListener("click", () => {
        $("tasks").scrollIntoView({ block: "start" });
        $("tasks").focus({ preventScroll: true });
      });
      $("wo-new").addEventListener("click", () => toggleNew($("wo-new-form").hidden));
      $("wo-new-cancel").addEventListener("click", () => toggleNew(false));
      $("wo-new-form").addEventListener("submit", createNew);
      $("wo-find").addEventListener("submit", (event) => {
        event.preventDefault();
        const ref = $("wo-find-ref").value.trim();
        if (ref) openRef(ref);
      });
      $("wo-search").addEventListener("submit", (event) => search(event));
      $("wo-search").addEventListener("input", exportLink);
      $("wo-search").addEventListener("change", exportLink);
      $("wo-search-more").addEventListener("click", () => search(null, true));
      $("wo-new-channel").replaceChildren(...w.CHANNELS.map((c) => el("option", { value: c.value, textContent: c.label })));
      $("wd-satisfaction").replaceChildren(el("option", { value: "", textContent: "— choose · 请选择 —" }),
        ...w.SATISFACTION.map((s) => el("option", { value: s.value, textContent: s.label })));
      $("wd-form").addEventListener("submit", act);
      $("wd-cancel").addEventListener("click", () => choose(null));
      $("wd-close").addEventListener("click", closeDetail);
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") refresh();
      });
    },
    signedIn() {
      render();
      fillSearchChoices();
      exportLink();
      clearInterval(refetchTimer);
      refetchTimer = setInterval(() => {
        if (document.visibilityState === "visible") refresh();
      }, REFETCH_MS);
    },
    reset() {
      clearInterval(refetchTimer);
      clearTimeout(foldTimer);
      tasks = [];
      overdue = [];
      counts = {};
      departments = [];
      found = [];
      nextPage = null;
      $("wo-search-results").replaceChildren();
      $("wo-search-total").textContent = "";
      closeDetail();
      toggleNew(false);
      show($("tasks"), false);
      show($("tasks-button"), false);
    },
    /** The links changed: the database back means the list can be had again. */
    onLink(link) {
      if (link && link.db) refresh();
    },
    /** A snapshot (sign-in, reconnect): what waits may have changed while the socket was down. */
    onSnapshot() {
      refresh();
      if (detail) reloadDetail(detail.ref);
    },
    /** A ``workorder_task`` push: the list again (folded; not for a draft saved), and the open work order if it is that one. */
    onTask(d) {
      if (w.changesTasks(d)) {
        clearTimeout(foldTimer);
        foldTimer = setTimeout(refresh, PUSH_FOLD_MS);
      }
      if (detail && d.ref === detail.ref && Number(d.version) !== Number(detail.version) && !busy) reloadDetail(d.ref);
      else if (detail && d.ref === detail.ref && d.why === "overdue") showDetail({ ...detail, colour: d.colour });
    },
    refresh,
    showDetail: (wo) => showDetail(wo, { focus: true }),
    openRef,
    /** Once a second: due times count down and turn red when they pass. */
    tick() {
      if (!S.me) return;
      const now = S.serverNow();
      for (const li of [...$("task-list").children, ...$("overdue-list").children, ...$("wo-search-results").children]) {
        const t = tasks.find((x) => x.ref === li.dataset.ref) || overdue.find((x) => x.ref === li.dataset.ref)
          || found.find((x) => x.ref === li.dataset.ref);
        if (!t) continue;
        const colour = w.colourOf(t, now);
        const button = li.firstElementChild;
        if (button.dataset.colour !== colour) {
          button.dataset.colour = colour;
          const chip = button.querySelector(".wo-chip");
          chip.dataset.colour = colour;
          chip.textContent = w.COLOUR_LABELS[colour] || colour;
        }
        button.querySelector(".task-due").textContent = w.dueText(t, now);
      }
      if (detail) {
        const colour = w.colourOf(detail, now);
        if ($("wd-colour").dataset.colour !== colour) {
          $("wd-colour").dataset.colour = colour;
          $("wd-colour").textContent = w.COLOUR_LABELS[colour] || colour;
        }
        $("wd-due").textContent = w.dueText(detail, now);
      }
    },
  };
}
