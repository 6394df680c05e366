// Voicemail on the panel: the messages callers left in the IVR (from the snapshot at connect, then
// each ``voicemail`` push), each with the caller's number, when and how long; Play (the server's
// WAV), Claim (nobody else can then), Call back (the panel's dial command, once claimed), the
// outcome of the call back, Release. Supervisors also get ``voicemail_overdue`` when nobody claimed
// one in time: the message is marked overdue. It listens to the push socket through the "cti:push"
// events net.js fires, so session.js need not know it.

import { api } from "./net.js";
import { el, message, show } from "./dom.js";

export const OUTCOMES = [
  ["reached", "Reached · 已联系"], ["no_answer", "No answer · 无人接听"], ["busy", "Busy · 忙"],
  ["wrong_number", "Wrong number · 号码错误"],
];

const items = new Map(); // id -> message view
let me = null;

/** "2000@default · 0:07 · 08:31" parts of a message for people. */
export function describe(vm, now = Date.now()) {
  const when = new Date(vm.left_at * 1000);
  const sameDay = new Date(now).toDateString() === when.toDateString();
  const time = sameDay ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : when.toLocaleString();
  const length = vm.seconds == null ? "" : `${Math.floor(vm.seconds / 60)}:${String(vm.seconds % 60).padStart(2, "0")}`;
  return { who: vm.caller_number || "unknown number · 未知号码", time, length };
}

/** What a signed-in user may do with a message: {claim, release, callBack, outcome, play}. */
export function actions(vm, myId) {
  const mine = vm.claimed_by === myId;
  return { claim: vm.open && !vm.claimed_by, release: vm.open && mine, callBack: vm.open && mine && Boolean(vm.caller_number),
    outcome: vm.open && mine, play: !vm.claimed_by || mine };
}

function card() {
  let root = document.getElementById("voicemail");
  if (root) return root;
  root = el("section", { id: "voicemail", class: "card voicemail", "aria-labelledby": "voicemail-title", hidden: true },
    el("h2", { id: "voicemail-title", textContent: "Voicemail · 语音留言" }),
    el("ul", { id: "voicemail-list", class: "voicemail-list" }),
    el("p", { class: "empty", id: "voicemail-empty", textContent: "No messages waiting. · 暂无留言" }));
  const column = document.getElementById("agent-view");
  const today = column && column.querySelector(".card.today");
  if (today) today.before(root);
  else if (column) column.append(root);
  else document.body.append(root);
  return root;
}

function item(vm) {
  const d = describe(vm);
  const can = actions(vm, me);
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const act = (label, cls, handler) => {
    const b = el("button", { type: "button", class: `small ${cls}`, textContent: label });
    b.addEventListener("click", async () => {
      b.disabled = true;
      message(error, "");
      try {
        await handler();
      } catch (err) {
        message(error, err.describe ? err.describe() : String(err));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  const path = `/api/voicemails/${encodeURIComponent(vm.id)}`;
  const buttons = el("span", { class: "buttons" });
  if (can.play) {
    buttons.append(act("Play · 播放", "quiet", async () => {
      const audio = el("audio", { controls: true, src: `${path}/audio`, class: "voicemail-audio" });
      li.querySelector(".voicemail-audio")?.remove();
      buttons.after(audio);
      await audio.play().catch(() => {}); // headless or muted browsers: the controls stay
    }));
  }
  if (can.claim) buttons.append(act("Claim · 认领", "primary", async () => update(await api("POST", `${path}/claim`, {}))));
  if (can.callBack) {
    buttons.append(act("Call back · 回拨", "primary", async () => {
      await api("POST", "/api/calls/dial", { number: vm.caller_number });
    }));
  }
  if (can.outcome) {
    const select = el("select", { "aria-label": "Outcome · 结果", class: "voicemail-outcome" },
      ...OUTCOMES.map(([value, label]) => el("option", { value, textContent: label })));
    buttons.append(select, act("Record · 记录", "quiet", async () => {
      update(await api("POST", `${path}/outcome`, { outcome: select.value }));
    }));
  }
  if (can.release) buttons.append(act("Release · 释放", "quiet", async () => update(await api("POST", `${path}/release`, {}))));
  const status = vm.claimed_by ? (vm.claimed_by === me ? "yours · 已认领" : `claimed by ${vm.claimed_by} · 已被认领`)
    : "waiting · 待认领";
  const li = el("li", { dataset: { voicemail: vm.id }, class: vm.overdue ? "overdue" : "" },
    el("strong", { class: "voicemail-who", textContent: d.who }),
    el("span", { class: "voicemail-when muted", textContent: [d.time, d.length].filter(Boolean).join(" · ") }),
    el("span", { class: "voicemail-status", textContent: vm.overdue ? `${status} · overdue · 超时` : status }),
    buttons, error);
  return li;
}

function render() {
  const root = card();
  const open = [...items.values()].filter((v) => v.open).sort((a, b) => b.left_at - a.left_at);
  root.querySelector("#voicemail-list").replaceChildren(...open.map(item));
  show(root.querySelector("#voicemail-empty"), open.length === 0);
  show(root, me !== null);
}

function update(vm) {
  if (vm && vm.id) items.set(vm.id, vm);
  render();
}

function onPush(event) {
  const { type, data } = event.detail || {};
  if (type === "snapshot") {
    me = data && data.me ? String(data.me.id) : null;
    items.clear();
    for (const vm of (data && data.voicemails) || []) items.set(vm.id, vm);
    render();
  } else if (type === "voicemail" || type === "voicemail_overdue") {
    update(data);
  }
}

if (typeof window !== "undefined") window.addEventListener("cti:push", onPush);
