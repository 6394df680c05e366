// The agent panel and supervisor console: builds the parts around one model and starts them.
//   session.js   sign-in, the push socket and the model it fills, status bar, state buttons
//   toolbar.js   call control while on a call, the dial field while idle
//   pop.js       the screen-pop card and today's calls
//   supervise.js the supervisor's agent grid, marquee form and live calls (with monitor.js: the
//                monitoring strip and audit, alerts.js: the alerts)
//   figures.js   today's figures

import * as f from "./format.js";
import { todaysFigures } from "./figures.js";
import { popCard } from "./pop.js";
import { createModel, panelSession } from "./session.js";
import { supervisorConsole } from "./supervise.js";
import { callToolbar } from "./toolbar.js";

const S = createModel();
const figures = todaysFigures({ me: () => S.me, isSupervisor: S.isSupervisor, serverNow: S.serverNow,
  live: () => S.socket === "open" });
const toolbar = callToolbar(S);
const pop = popCard(S, { onPop: toolbar.render });
const supervisor = supervisorConsole(S, { tick });
const session = panelSession(S, { toolbar, pop, supervisor, figures, tick });

/** Once a second: running durations and countdowns, on the server's clock (state, calls, wrap-up, the pop's wait). */
function tick() {
  const now = S.serverNow();
  for (const node of document.querySelectorAll("[data-since]")) {
    const since = Number(node.dataset.since);
    node.textContent = since ? f.duration(now - since) : "";
  }
  for (const node of document.querySelectorAll("[data-until]")) {
    const until = Number(node.dataset.until);
    node.textContent = until ? f.duration(until - now) : "";
  }
  pop.tick();
  if (S.me) {
    toolbar.tick();
    supervisor.tick(); // alerts come and go with time too
  }
}

session.bind();
supervisor.boot();
toolbar.boot();
setInterval(tick, 1000);
figures.start();
session.start();
