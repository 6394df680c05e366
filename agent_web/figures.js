// Today's figures: the agent's own (GET /api/stats/agents?date=<today UTC>) and, for supervisors,
// every agent's and every queue's (/api/stats/queues). The server counts the state an agent is
// in up to the moment it answers (signed in, ready... keep growing), so the panel asks again on
// a steady timer while the page is visible, as well as soon after a push that changes them;
// "as of" is the server's generated_at to the second, and an answer older than the one shown
// never replaces it. A 404 or 403 hides a block until the next snapshot.

import { api, ApiError } from "./net.js";
import * as f from "./format.js";
import { $, el, message, show } from "./dom.js";
import { renderSurveyFigures } from "./surveys.js";

export const FIGURES_THROTTLE_MS = 2000; // refetched on calls and state changes, at most this often
export const FIGURES_PERIOD_MS = 10000; // and this often while the page is visible
export const FIGURES_DELAY_MS = 500; // after a push, so that the server has stored the change it tells of

/**
 * The figures' controller. ``me()`` is the signed-in account (or null), ``isSupervisor()``,
 * ``serverNow()`` epoch seconds on the server's clock, ``live()`` whether the push socket is open.
 * Returns {refresh() (throttled), reset() (on a snapshot: ask even if an endpoint was missing),
 * stop() (signed out), start() (the steady timer; once)}.
 */
export function todaysFigures({ me, isSupervisor, serverNow, live }) {
  const enabled = { agents: true, queues: true }; // false once the endpoint answered 404/403
  const shown = { agents: 0, queues: 0 }; // generated_at (ms) of what is on screen
  let lowRating = 0; // a survey rating at or under it is low (the snapshot's survey.low_rating)
  let timer = null;

  async function fetchFigures(path) {
    try {
      return await api("GET", `${path}?date=${f.utcDay(serverNow())}`);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) return null; // not there (yet)
      throw err;
    }
  }

  /** Whether an answer generated at ``at`` is newer than what is shown (answers may cross). */
  function newer(kind, at) {
    const ms = Date.parse(at) || 0;
    if (ms && ms < shown[kind]) return false;
    shown[kind] = ms;
    return true;
  }

  async function loadAgents() {
    const account = me();
    if (!enabled.agents || !account) return;
    try {
      const data = await fetchFigures("/api/stats/agents");
      if (me() !== account) return;
      if (data === null) {
        enabled.agents = false;
        show($("figures"), false);
        show($("agent-figures"), false);
        return;
      }
      if (!newer("agents", data.generated_at)) return;
      if (isSupervisor()) renderAgentTable(data.agents || []);
      const mine = (data.agents || []).find((a) => String(a.agent_id) === String(account.id));
      $("figures-list").replaceChildren(...f.agentFigureRows(mine).flatMap((r) => [
        el("dt", { class: r.sub ? "sub" : "", textContent: r.label }),
        el("dd", { class: r.sub ? "sub" : "", dataset: { figure: r.key }, textContent: r.value })]));
      $("figures-note").dataset.generatedAt = data.generated_at || "";
      message($("figures-note"), mine ? `as of ${f.clockSeconds(data.generated_at)}` : "No work recorded today yet.");
      show($("figures"), true);
    } catch (err) {
      message($("figures-note"), `Figures not updated: ${err instanceof ApiError ? err.describe() : err}`);
    }
  }

  /** A row of cells; the first is the row's header. */
  function figureRow(cells, dataset) {
    return el("tr", { dataset }, ...cells.map((text, i) => el(i ? "td" : "th",
      i ? { textContent: text } : { scope: "row", textContent: text })));
  }

  function renderAgentTable(items) {
    const rows = items.filter((a) => a.signed_in_seconds > 0 || a.answered > 0 || a.missed > 0)
      .sort((a, b) => String(a.agent_id).localeCompare(String(b.agent_id)));
    $("agent-figures-body").replaceChildren(...rows.map((a) =>
      figureRow(f.agentFigureCells(a, f.agentLabel({ id: a.agent_id, name: a.name })), { agent: a.agent_id })));
    show($("agent-figures"), rows.length > 0);
  }

  async function loadQueues() {
    const account = me();
    if (!enabled.queues || !account || !isSupervisor()) return;
    try {
      const data = await fetchFigures("/api/stats/queues");
      if (me() !== account) return;
      if (data === null) {
        enabled.queues = false;
        show($("queue-figures"), false);
        return;
      }
      if (!newer("queues", data.generated_at)) return;
      $("sl-head").textContent = `Within ${data.service_level_seconds ?? "?"} s`;
      const queues = data.queues || [];
      $("queue-body").replaceChildren(...queues.map((q) => figureRow(f.queueFigureCells(q), { queue: q.queue })));
      message($("queue-note"), queues.length ? `as of ${f.clockSeconds(data.generated_at)}` : "No calls today yet.");
      show($("queue-figures"), true);
      renderSurveyFigures(queues, lowRating, data.generated_at);
    } catch (err) {
      message($("queue-note"), `Figures not updated: ${err instanceof ApiError ? err.describe() : err}`);
    }
  }

  const refresh = f.throttle(() => {
    loadAgents();
    loadQueues();
  }, FIGURES_THROTTLE_MS, { delay: FIGURES_DELAY_MS });

  const visible = () => document.visibilityState === "visible";

  function start() {
    if (timer !== null) return;
    timer = setInterval(() => {
      if (me() && live() && visible()) refresh();
    }, FIGURES_PERIOD_MS);
    document.addEventListener("visibilitychange", () => {
      if (me() && live() && visible()) refresh(); // back on screen: no figures from before it was hidden
    });
  }

  return {
    refresh,
    start,
    reset(snapshot) {
      lowRating = Number(snapshot?.survey?.low_rating) || 0;
      enabled.agents = true; // the server may have been upgraded meanwhile
      enabled.queues = true;
      refresh();
    },
    stop() {
      refresh.cancel();
      shown.agents = 0;
      shown.queues = 0;
      show($("figures"), false);
      show($("queue-figures"), false);
      show($("agent-figures"), false);
      show($("survey-figures"), false);
    },
  };
}
