// The write-up form on the page (its rules are in workorders.js): the agent classifies and
// writes up the call's work order during the call and in wrap-up, or one without a call (a
// letter, an e-mail, a walk-in). Every change is kept in localStorage at once and sent as a
// draft shortly after (POST /api/workorders/{ref}/draft), so a reload or a dropped network loses
// nothing; the status line says where the text is. Submit sends it to the department, or closes
// it when it was resolved on the call. In wrap-up, the fields the center requires before the
// agent may end it (form.wrapup_required) are named and marked until they are filled; when the
// wrap-up time ran out first the server flags the work order and the form says so. Everything
// shown is set as text, never as markup.

import { api, ApiError } from "./net.js";
import * as w from "./workorders.js";
import { $, el, message, show } from "./dom.js";

const GET_TRIES = 5; // a call's work order may not name its agent yet in the first instant after the answer
const GET_RETRY_MS = 600;

/**
 * The write-up's controller over the model ``S`` (session.js). ``showDetail(copy)`` opens a work
 * order that is no longer a draft in the detail card; ``onChange()`` runs after a submit (the task
 * bar refetches). Returns {boot(), signedIn(), reset(), onPop(), onSnapshot(), onTask(d), open(ref),
 * create(body), formChoices()}.
 */
export function writeUp(S, { showDetail, onChange }) {
  let form = null; // GET /api/workorders/form: {categories, urgencies, departments, required, text_max}
  let formAsked = null;
  let st = null; // workorders.formState of the work order in the form
  let copy = null; // its last server copy (who, colour)
  let drafts = null; // workorders.localDrafts for this user
  let saveTimer = null;
  let retryTimer = null;
  let opening = null; // the ref being fetched (the last asked wins)
  let loading = null; // {ref, promise} of the fetch under way
  let hiddenByAgent = false; // "Later": the form folded away until something opens it again
  const autoOpened = new Set(); // calls whose write-up opened by itself once (not again after submit)
  const flagged = new Map(); // ref -> the fields the wrap-up ended without (workorder_task wrapup_incomplete)

  const input = (k) => $(`wu-${k}`);
  const subsOf = (category) => w.subcategoriesOf(form, category);

  // -- the form's choices ---------------------------------------------------------------

  async function loadForm() {
    if (form) return form;
    if (!formAsked) {
      formAsked = api("GET", "/api/workorders/form").then((answer) => {
        form = answer;
        fillChoices();
        return form;
      }).catch((err) => {
        formAsked = null;
        throw err;
      });
    }
    return formAsked;
  }

  function options(select, names, blank) {
    const current = select.value;
    select.replaceChildren(el("option", { value: "", textContent: blank }),
      ...names.map((n) => el("option", { value: n, textContent: w.nameLabel(n) })));
    select.value = names.includes(current) ? current : "";
  }

  function fillChoices() {
    options(input("category"), form.categories.map((c) => c.name), "— choose · 请选择 —");
    options(input("urgency"), form.urgencies, "—");
    options(input("department"), form.departments, "— none yet · 暂不指定 —");
    for (const k of ["request", "answer", "notes"]) input(k).maxLength = Number(form.text_max) || 4000;
    fillSubcategories();
  }

  function fillSubcategories() {
    const category = st ? w.valueOf(st, "category") : input("category").value;
    const subs = subsOf(category);
    options(input("subcategory"), subs, subs.length ? "— choose · 请选择 —" : "—");
    input("subcategory").disabled = subs.length === 0;
  }

  // -- drawing ------------------------------------------------------------------------------

  function render() {
    show($("writeup"), Boolean(st) && !hiddenByAgent);
    show($("wu-folded"), Boolean(st) && hiddenByAgent);
    $("wu-folded-text").textContent = st && hiddenByAgent
      ? `${st.ref}: draft folded away${w.hasUnsent(st) ? ", edits not yet sent" : ""} · 草稿已收起 ` : "";
    renderDrafts();
    if (!st) return;
    $("wu-ref").textContent = st.ref || "";
    const chip = $("wu-colour");
    chip.dataset.colour = w.colourOf(copy, S.serverNow());
    chip.textContent = w.statusLabel(st.status);
    const who = copy ? [w.channelLabel(copy.channel), [copy.caller_number, copy.caller_name || copy.customer_name]
      .filter(Boolean).join(" "), copy.customer_no].filter(Boolean).join(" · ") : "";
    $("wu-who").textContent = who;
    const vals = w.values(st);
    if (form) {
      if (input("category").value !== vals.category) input("category").value = vals.category;
      fillSubcategories();
    }
    for (const k of w.FIELDS) {
      const node = input(k);
      if (document.activeElement !== node && node.value !== (vals[k] ?? "")) node.value = vals[k] ?? "";
    }
    const editable = st.status === "draft";
    for (const k of w.FIELDS) input(k).disabled = !editable || (k === "subcategory" && subsOf(vals.category).length === 0);
    renderSubmit();
    renderStatus();
    renderGate();
  }

  /** In wrap-up: what the call's work order still needs before the agent may end it (or what it ended without). */
  function renderGate() {
    const line = $("wu-gate");
    const inWrapup = Boolean(S.view && S.view.state === "wrap_up");
    const missing = st && st.status === "draft" && (!copy || (copy.channel || "call") === "call")
      ? w.wrapupMissing(w.values(st), form) : [];
    const gate = inWrapup ? missing : [];
    for (const k of w.FIELDS) input(k).toggleAttribute("data-gate", gate.includes(k));
    const late = st && flagged.get(st.ref);
    let text = "";
    if (gate.length) text = `To end wrap-up, fill in: ${w.fieldWords(gate)} · 结束话后前请填写`;
    else if (late && missing.length) text = `Wrap-up ended with ${w.fieldWords(late)} missing: please finish it · 话后已结束，请补填`;
    line.textContent = text;
    line.dataset.kind = gate.length ? "gate" : late && missing.length ? "late" : "";
    show(line, Boolean(text));
  }

  function renderSubmit() {
    const resolved = $("wu-resolved").checked;
    const dept = st ? w.valueOf(st, "department") : "";
    $("wu-submit").textContent = resolved ? "Close as resolved · 已解决并关闭"
      : dept ? `Submit to ${w.nameLabel(dept)} · 提交` : "Submit · 提交";
    $("wu-submit").disabled = !st || st.status !== "draft";
    $("wu-resolved").disabled = !st || st.status !== "draft";
  }

  function renderStatus() {
    if (!st) return;
    const s = w.formStatus(st);
    const line = $("wu-status");
    line.textContent = st.status !== "draft" && !s.text
      ? `This work order is ${w.statusLabel(st.status)} now: the form no longer changes it.` : s.text;
    line.dataset.kind = s.kind;
    for (const k of w.FIELDS) {
      input(k).setAttribute("aria-invalid", String(s.kind === "refused" && s.field === k));
      renderTheirs(k);
    }
    show($("wu-conflict"), Boolean(st.conflict));
  }

  /** Under a field the agent typed over: the newer copy's value and a button to take it. */
  function renderTheirs(k) {
    const field = input(k).closest(".wu-field");
    let note = field.querySelector(".wu-theirs");
    const theirs = st && st.conflict && k in st.conflict.theirs ? st.conflict.theirs[k] : undefined;
    if (theirs === undefined) {
      if (note) note.remove();
      return;
    }
    const text = w.CHOICES.includes(k) ? w.nameLabel(theirs) || "(none)" : String(theirs || "(empty)");
    if (!note) {
      note = el("p", { class: "wu-theirs", dataset: { field: k } },
        el("span", { class: "wu-theirs-label", textContent: "Newer copy · 新版本: " }), el("span", { class: "wu-theirs-text" }),
        " ", el("button", { type: "button", class: "small quiet", textContent: "Use this · 采用" }));
      note.querySelector("button").addEventListener("click", () => {
        w.takeTheirs(st, k);
        input(k).value = w.valueOf(st, k) ?? "";
        persist();
        render();
        schedule(0);
      });
      field.append(note);
    }
    note.querySelector(".wu-theirs-text").textContent = text;
  }

  function renderDrafts() {
    const others = drafts ? drafts.opened().drafts.filter((r) => !st || r !== st.ref) : [];
    const box = $("wu-drafts");
    box.replaceChildren(...(others.length ? [el("span", { class: "muted", textContent: "Other drafts · 其他草稿: " })] : []),
      ...others.map((ref) => {
        const b = el("button", { type: "button", class: "small quiet", textContent: ref });
        b.addEventListener("click", () => open(ref));
        return b;
      }));
    show(box, others.length > 0 && Boolean(st) && !hiddenByAgent);
  }

  // -- keeping and sending -----------------------------------------------------------------

  function persist(state = st) {
    if (!state || !drafts) return;
    drafts.keep(state.ref, w.record(state, S.me.id));
  }

  function schedule(ms = w.SAVE_DELAY_MS) {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, ms);
  }

  function onEdit(k) {
    if (!st) return;
    w.edit(st, k, input(k).value, subsOf);
    if (k === "category") {
      fillSubcategories();
      input("subcategory").value = w.valueOf(st, "subcategory") ?? "";
    }
    persist();
    message($("wu-error"), "");
    renderStatus();
    renderSubmit();
    renderGate();
    schedule();
  }

  /** Send the unsent edits of the form's work order (one request at a time). */
  async function save() {
    clearTimeout(saveTimer);
    const cur = st;
    if (!cur) return;
    const body = w.nextSave(cur);
    if (!body) return;
    renderStatus();
    let answer = null;
    try {
      answer = await api("POST", `/api/workorders/${encodeURIComponent(cur.ref)}/draft`, body);
    } catch (err) {
      const what = w.failed(cur, err instanceof ApiError ? err : new ApiError(0, "network", String(err)));
      persist(cur);
      if (what === "retry") {
        clearTimeout(retryTimer);
        retryTimer = setTimeout(save, w.RETRY_MS);
      } else if (what === "reload") {
        await reloadCopy(cur);
      }
      if (cur === st) render();
      return;
    }
    w.saved(cur, answer.workorder, answer.saved);
    if (cur === st) copy = answer.workorder;
    persist(cur);
    if (cur === st) render();
    if (w.hasUnsent(cur) && cur === st) schedule(0); // typed on while it was on its way
  }

  /** The newer copy after a 409 or a push: the agent's text stays, the newer values show beside it. */
  async function reloadCopy(cur) {
    try {
      const answer = await api("GET", `/api/workorders/${encodeURIComponent(cur.ref)}`);
      w.rebase(cur, answer.workorder);
      if (cur === st) copy = answer.workorder;
      persist(cur);
      if (!w.hasUnsent(cur) || cur.status !== "draft") return;
      if (!cur.conflict && cur === st) schedule(0); // nothing of theirs in the way: send on the newer version
    } catch (err) {
      w.failed(cur, err instanceof ApiError ? err : new ApiError(0, "network", String(err)));
      if (cur === st) {
        clearTimeout(retryTimer);
        retryTimer = setTimeout(() => reloadCopy(cur).then(render), w.RETRY_MS);
      }
    }
  }

  /** Keep sending until the server has every edit (or refuses); true when it has. */
  async function flush() {
    for (let i = 0; i < 5 && st && w.hasUnsent(st); i += 1) {
      if (st.conflict || st.held || st.sending) break;
      await save();
    }
    return Boolean(st) && !w.hasUnsent(st);
  }

  // -- opening, submitting, creating ---------------------------------------------------------

  /** Put a work order in the form (a draft) or, if it is past that, open it in the detail card. */
  function open(ref, { fromCall = false } = {}) {
    if (!ref || !S.me) return Promise.resolve();
    if (st && st.ref === ref) {
      hiddenByAgent = false;
      render();
      return Promise.resolve();
    }
    if (loading && loading.ref === ref) return loading.promise; // asked twice (the reload's form and the pop)
    const promise = load(ref, fromCall).finally(() => {
      if (loading && loading.promise === promise) loading = null;
    });
    loading = { ref, promise };
    return promise;
  }

  async function load(ref, fromCall) {
    opening = ref;
    if (st && w.hasUnsent(st)) await flush(); // what cannot be sent now stays in localStorage
    let answer = null;
    for (let i = 0; i < (fromCall ? GET_TRIES : 1); i += 1) {
      try {
        answer = await api("GET", `/api/workorders/${encodeURIComponent(ref)}`);
        break;
      } catch (err) {
        const later = err instanceof ApiError && [403, 404].includes(err.status) && fromCall && i < GET_TRIES - 1;
        if (!later) {
          if (opening === ref) {
            const saved = drafts && drafts.edits(ref);
            message($("wu-error"), `${ref}: ${err instanceof ApiError ? err.describe() : err}`
              + (saved ? " — your unsent text is kept in this browser and is sent once it can be." : ""));
            show($("writeup"), true);
          }
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, GET_RETRY_MS));
      }
    }
    if (opening !== ref || !answer) return; // something else was opened meanwhile
    opening = null;
    const wo = answer.workorder;
    if ((wo.status || "draft") !== "draft") {
      drafts.done(ref);
      if (st && st.ref === ref) close();
      renderDrafts();
      if (!fromCall) showDetail(wo);
      return;
    }
    await loadForm().catch(() => null);
    copy = wo;
    st = w.formState(wo, drafts.edits(ref));
    drafts.setCurrent(ref);
    hiddenByAgent = false;
    $("wu-resolved").checked = false;
    message($("wu-error"), "");
    message($("wu-done"), "");
    render();
    persist();
    if (w.hasUnsent(st)) schedule(0); // edits a reload or an outage left unsent
  }

  function close() {
    clearTimeout(saveTimer);
    clearTimeout(retryTimer);
    st = null;
    copy = null;
    if (drafts) drafts.setCurrent(null);
    render();
  }

  async function submit(event) {
    event.preventDefault();
    if (!st || st.status !== "draft") return;
    const resolved = $("wu-resolved").checked;
    message($("wu-error"), "");
    if (form) {
      const missing = w.checkSubmit(w.values(st), form, resolved);
      if (missing) {
        message($("wu-error"), `${missing.message} · 请先填写`);
        input(missing.field).focus();
        return;
      }
    }
    $("wu-submit").disabled = true;
    const cur = st;
    try {
      if (!(await flush()) || cur !== st) {
        message($("wu-error"), "Your last edits are not on the server yet, so it is not submitted: "
          + "it is sent once they are saved (see above) · 尚未保存，暂不提交");
        return;
      }
      const body = { version: cur.version, resolved };
      const answer = await api("POST", `/api/workorders/${encodeURIComponent(cur.ref)}/submit`, body);
      const wo = answer.workorder;
      drafts.done(cur.ref);
      close();
      const where = wo.status === "closed" ? "closed as resolved on the call · 已解决关闭"
        : `submitted${wo.department ? ` to ${w.nameLabel(wo.department)}` : ""} · 已提交`;
      message($("wu-done"), `${wo.ref}: ${where}${answer.saved === "journal" ? " (in the server's journal)" : ""}`);
      onChange(wo);
    } catch (err) {
      if (err instanceof ApiError && err.code === "stale_version") {
        await reloadCopy(cur);
        message($("wu-error"), "It changed elsewhere meanwhile: the newer copy is shown; submit again when it is right.");
      } else {
        message($("wu-error"), `Not submitted: ${err instanceof ApiError ? err.describe() : err}`);
        if (err instanceof ApiError && err.field && w.FIELDS.includes(err.field)) input(err.field).focus();
      }
    } finally {
      if (cur === st) render();
      renderSubmit();
    }
  }

  /** A work order without a call: created as this person's draft, then written up in the form. */
  async function create(body) {
    const answer = await api("POST", "/api/workorders", body);
    await open(answer.workorder.ref);
    return answer.workorder;
  }

  return {
    boot() {
      for (const k of w.FIELDS) {
        const node = input(k);
        node.addEventListener(node.tagName === "SELECT" ? "change" : "input", () => onEdit(k));
      }
      $("wu-form").addEventListener("submit", submit);
      $("wu-resolved").addEventListener("change", renderSubmit);
      $("wu-keep").addEventListener("click", () => {
        if (!st) return;
        w.keepMine(st);
        persist();
        render();
        schedule(0);
      });
      $("wu-hide").addEventListener("click", () => {
        hiddenByAgent = true;
        render();
      });
      $("wu-unfold").addEventListener("click", () => {
        hiddenByAgent = false;
        render();
        input("category").focus();
      });
      window.addEventListener("online", () => schedule(0));
    },
    /** After sign-in: the form's choices, and the work order the form had before a reload. */
    async signedIn() {
      drafts = w.localDrafts(window.localStorage, S.me.id);
      loadForm().catch(() => null);
      const { current } = drafts.opened();
      if (current && !st) await open(current);
    },
    reset() {
      close();
      drafts = null;
      autoOpened.clear();
      message($("wu-done"), "");
    },
    /** The pop changed: the call the agent answered gets its write-up (once). */
    onPop() {
      const pop = S.pop;
      if (!S.me || !pop || pop.state !== "answered" || !pop.workorder_ref) return;
      const ref = pop.workorder_ref;
      if (autoOpened.has(ref) || (st && st.ref === ref)) return;
      autoOpened.add(ref);
      open(ref, { fromCall: true });
    },
    /** A fresh snapshot (after a reconnect): whatever waited to be sent goes now. */
    onSnapshot() {
      if (st && w.hasUnsent(st)) schedule(0);
    },
    /** A work order changed (workorder_task push): the form's own one, changed by someone else, is reloaded. */
    onTask(d) {
      if (d.why === "wrapup_incomplete" && S.me && String(d.agent) === String(S.me.id)) {
        flagged.set(d.ref, d.missing || []);
        if (!st || st.ref !== d.ref) open(d.ref);
        else renderGate();
      }
      if (!st || d.ref !== st.ref || st.sending) return;
      if (Number(d.version) > st.version) reloadCopy(st).then(render);
    },
    open,
    create,
    formChoices: () => loadForm(),
    current: () => (st ? st.ref : null),
    tick() {
      if (st && copy) $("wu-colour").dataset.colour = w.colourOf(copy, S.serverNow());
      if (st) renderGate(); // wrap-up starts and ends with the agent's state
    },
  };
}
