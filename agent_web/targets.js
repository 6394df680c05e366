// "Who can I transfer to?": the agents ready now (GET /api/agents/available), offered as
// buttons and as suggestions of the target field, which still takes any id typed. The list
// is a hint only: the server checks again, so a colleague who went busy meanwhile is refused
// with its 409 ("agent 1002 is not ready") and the form shows that.

import { api, ApiError } from "./net.js";
import { el, message } from "./dom.js";

let serial = 0;

/** The other agents ready now: [{id, name, queues}], sorted by id. */
export async function availableAgents() {
  const answer = await api("GET", "/api/agents/available");
  return (answer && answer.agents) || [];
}

/** "陈静 Chen Jing (1002)" or the id. */
export function agentChoiceLabel(a) {
  return a.name ? `${a.name} (${a.id})` : String(a.id);
}

/**
 * A picker for ``input``: a row of buttons (one per ready agent; a click puts its id in the
 * field), a refresh button and a datalist for the field. ``exclude()`` returns ids not to offer
 * (the agent already on the call). Returns {node, list, load(), clear()}; put ``node`` in the page.
 */
export function readyAgentPicker(input, { exclude = () => [] } = {}) {
  const id = `ready-agents-${++serial}`;
  const list = el("datalist", { id });
  const choices = el("span", { class: "choices" });
  const note = el("span", { class: "muted picker-note", role: "status" });
  const refresh = el("button", { type: "button", class: "small quiet picker-refresh", textContent: "↻ Refresh · 刷新" });
  refresh.setAttribute("aria-label", "Refresh the ready agents");
  const node = el("div", { class: "picker", hidden: true },
    el("span", { class: "picker-label", textContent: "Ready now · 空闲座席:" }), choices, note, refresh, list);
  let asked = 0;

  function fill(agents) {
    const skip = new Set(exclude().map(String));
    const offered = agents.filter((a) => !skip.has(String(a.id)));
    list.replaceChildren(...offered.map((a) => el("option", { value: String(a.id), label: agentChoiceLabel(a) })));
    choices.replaceChildren(...offered.map((a) => {
      const b = el("button", { type: "button", class: "small choice", textContent: agentChoiceLabel(a) });
      b.dataset.agent = String(a.id);
      b.addEventListener("click", () => {
        input.value = String(a.id);
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.focus();
      });
      return b;
    }));
    message(note, offered.length ? "" : "No other agent is ready now.");
  }

  async function load() {
    const ask = ++asked;
    message(note, "Loading…");
    refresh.disabled = true;
    try {
      const agents = await availableAgents();
      if (ask === asked) fill(agents);
    } catch (err) {
      if (ask === asked) {
        choices.replaceChildren();
        message(note, `Ready agents not loaded: ${err instanceof ApiError ? err.describe() : err}`);
      }
    } finally {
      if (ask === asked) refresh.disabled = false;
    }
  }

  refresh.addEventListener("click", load);
  return {
    node,
    list,
    load,
    clear() {
      asked += 1;
      choices.replaceChildren();
      list.replaceChildren();
      message(note, "");
      refresh.disabled = false;
    },
  };
}
