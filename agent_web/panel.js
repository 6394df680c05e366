// The agent panel and supervisor console: builds the parts around one model and starts them.
//   session.js   sign-in, the push socket and the model it fills, status bar, state buttons
//   toolbar.js   call control while on a call, the dial field while idle
//   pop.js       the screen-pop card and today's calls
//   supervise.js the supervisor's agent grid, marquee form and live calls (with monitor.js: the
//                monitoring strip and audit, alerts.js: the alerts)
//   figures.js   today's figures
//   writeup.js   the work order's write-up form (drafts kept in localStorage, submit)
//   tasks.js     the task bar, one work order's detail, history and lifecycle actions

import * as f from "./format.js";
import { todaysFigures } from "./figures.js";
import { popCard } from "./pop.js";
import { createModel, panelSession } from "./session.js";
import { supervisorConsole } from "./supervise.js";
import { callToolbar } from "./toolbar.js";
import { taskBar } from "./tasks.js";
import { writeUp } from "./writeup.js";

const S = createModel();
const figures = todaysFigures({ me: () => S.me, isSupervisor: S.isSupervisor, serverNow: S.serverNow,
  live: () => S.socket === "open" });
const toolbar = callToolbar(S);
let tasks = null;
const writeup = writeUp(S, { showDetail: (wo) => tasks.showDetail(wo), onChange: () => tasks.refresh() });
tasks = taskBar(S, { writeup });
const workorders = {
  signedIn() {
    tasks.signedIn();
    writeup.signedIn();
  },
  reset() {
    writeup.reset();
    tasks.reset();
  },
  onSnapshot() {
    writeup.onSnapshot();
    tasks.onSnapshot();
  },
  onTask(d) {
    writeup.onTask(d);
    tasks.onTask(d);
  },
  onLink(d) {
    tasks.onLink(d);
    writeup.onSnapshot(); // anything waiting to be sent goes now
  },
};
const pop = popCard(S, { onPop: () => {
  toolbar.render();
  writeup.onPop(); // an answered call's work order opens in the write-up
}, openWorkOrder: (ref) => tasks.openRef(ref) });
const supervisor = supervisorConsole(S, { tick });
const session = panelSession(S, { toolbar, pop, supervisor, figures, workorders, tick });

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
    tasks.tick();
    writeup.tick();
    supervisor.tick(); // alerts come and go with time too
  }
}

session.bind();
supervisor.boot();
toolbar.boot();
writeup.boot();
tasks.boot();
setInterval(tick, 1000);
figures.start();
session.start();
