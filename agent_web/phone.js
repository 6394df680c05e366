// The panel's browser phone: for a person whose setting is phone = browser, the panel itself is
// their phone. After sign-in it asks the server for its SIP account (POST /api/me/phone: a fresh
// secret, for this panel only) and registers over Asterisk's websocket with JsSIP (vendored,
// agent_web/vendor/); a call from the queue rings here with the pop, Answer / Hang up / Mute drive
// the SIP session, media is WebRTC (ICE + DTLS-SRTP). The line state is shown: unavailable
// (websocket down or not registered: Asterisk then does not offer calls), registered, ringing,
// in call. JsSIP reconnects the websocket with a growing pause and registers again by itself.
// A desk-phone person sees nothing of this. It follows the push socket's "cti:push" events
// (net.js) and the page's view (#app data-view), so session.js need not know it.

import JsSIP from "./vendor/jssip-3.13.8.min.mjs";
import { api } from "./net.js";
import { el, show } from "./dom.js";

export const LINE = {
  off: "Browser phone off · 网页电话未启用",
  connecting: "Connecting the phone… · 正在连接话机",
  unavailable: "Phone unavailable: no calls are offered · 话机不可用",
  registered: "Phone ready · 话机就绪",
  ringing: "Ringing · 来电振铃",
  in_call: "In call · 通话中",
};

let me = null; // the signed-in person's id this phone is for
let ua = null;
let call = null; // the JsSIP RTCSession ringing or in progress
let line = "off";
let muted = false;
let media = ""; // the call's ICE connection state: "", checking, connected, …
let ice = [];
let generation = 0; // a sign-out or a new sign-in makes an older start's answer stale

function card() {
  let root = document.getElementById("phone");
  if (root) return root;
  root = el("section", { id: "phone", class: "card phone", "aria-labelledby": "phone-title", hidden: true },
    el("h2", { id: "phone-title", textContent: "Phone · 网页电话" }),
    el("p", { id: "phone-line", class: "phone-line", role: "status", "aria-live": "polite" }),
    el("p", { id: "phone-peer", class: "phone-peer", hidden: true }),
    el("div", { class: "buttons" },
      el("button", { type: "button", class: "primary", id: "phone-answer", textContent: "Answer · 接听", hidden: true }),
      el("button", { type: "button", class: "danger", id: "phone-hangup", textContent: "Hang up · 挂断", hidden: true }),
      el("button", { type: "button", id: "phone-mute", "aria-pressed": "false", textContent: "Mute · 静音", hidden: true })),
    el("audio", { id: "phone-audio", autoplay: true }));
  root.querySelector("#phone-answer").addEventListener("click", answer);
  root.querySelector("#phone-hangup").addEventListener("click", hangUp);
  root.querySelector("#phone-mute").addEventListener("click", toggleMute);
  const column = document.getElementById("agent-view");
  const controls = column && column.querySelector(".card.controls");
  if (controls) controls.after(root);
  else if (column) column.prepend(root);
  else document.body.append(root);
  return root;
}

function render() {
  const root = card();
  root.dataset.line = line;
  root.dataset.media = media;
  root.querySelector("#phone-line").textContent = LINE[line];
  const peer = call ? call.remote_identity : null;
  const who = peer ? (peer.display_name ? `${peer.display_name} <${peer.uri.user}>` : peer.uri.user) : "";
  root.querySelector("#phone-peer").textContent = who;
  show(root.querySelector("#phone-peer"), Boolean(who));
  show(root.querySelector("#phone-answer"), line === "ringing");
  show(root.querySelector("#phone-hangup"), line === "ringing" || line === "in_call");
  const mute = root.querySelector("#phone-mute");
  show(mute, line === "in_call");
  mute.setAttribute("aria-pressed", String(muted));
  mute.textContent = muted ? "Unmute · 取消静音" : "Mute · 静音";
  show(root, line !== "off");
}

function setLine(state) {
  line = state;
  render();
}

/** The line when no call is up: registered or not. */
function idleLine() {
  return ua && ua.isRegistered() ? "registered" : "unavailable";
}

function stop() {
  generation += 1;
  if (call) {
    try {
      call.terminate();
    } catch (err) {
      // already ended
    }
  }
  call = null;
  muted = false;
  media = "";
  if (ua) {
    ua.removeAllListeners();
    ua.stop(); // unregisters when the socket is up, then closes it
  }
  ua = null;
  setLine("off");
}

async function start(personId) {
  stop();
  me = personId;
  const mine = generation;
  let phone;
  try {
    phone = await api("POST", "/api/me/phone", {});
  } catch (err) {
    if (mine === generation) setLine("unavailable");
    return;
  }
  if (mine !== generation || phone.phone !== "browser") return;
  ice = (phone.ice_servers || []).map((url) => ({ urls: url }));
  setLine("connecting");
  const socket = new JsSIP.WebSocketInterface(phone.ws_url);
  ua = new JsSIP.UA({
    sockets: [socket],
    uri: `sip:${phone.username}@${phone.domain}`,
    authorization_user: phone.username,
    password: phone.secret,
    realm: phone.realm,
    register: true,
    register_expires: 120,
    session_timers: false,
    connection_recovery_min_interval: 2,
    connection_recovery_max_interval: 30,
    user_agent: "CTI panel phone (JsSIP)",
  });
  ua.on("connected", () => { if (!call) setLine("unavailable"); }); // until the REGISTER is answered
  ua.on("disconnected", () => { if (!call) setLine("unavailable"); });
  ua.on("registered", () => { if (!call) setLine("registered"); });
  ua.on("unregistered", () => { if (!call) setLine("unavailable"); });
  ua.on("registrationFailed", () => { if (!call) setLine("unavailable"); });
  ua.on("newRTCSession", ({ session, originator }) => {
    if (originator !== "remote") return;
    if (call) {
      session.terminate({ status_code: 486, reason_phrase: "Busy Here" }); // one call at a time
      return;
    }
    follow(session);
    setLine("ringing");
  });
  ua.start();
}

function follow(session) {
  call = session;
  muted = false;
  media = "";
  const ended = () => {
    if (call !== session) return;
    call = null;
    muted = false;
    setLine(idleLine());
  };
  session.on("peerconnection", ({ peerconnection }) => watchMedia(session, peerconnection));
  session.on("confirmed", () => { if (call === session) setLine("in_call"); });
  session.on("ended", ended);
  session.on("failed", ended);
  session.on("muted", () => { muted = true; render(); });
  session.on("unmuted", () => { muted = false; render(); });
}

function watchMedia(session, pc) {
  pc.addEventListener("track", (event) => {
    const audio = document.getElementById("phone-audio");
    if (audio && event.streams[0]) audio.srcObject = event.streams[0];
  });
  pc.addEventListener("iceconnectionstatechange", () => {
    if (call !== session) return;
    media = pc.iceConnectionState;
    render();
  });
}

function answer() {
  if (!call || line !== "ringing") return;
  call.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: ice } });
}

function hangUp() {
  if (call) call.terminate();
}

function toggleMute() {
  if (!call || line !== "in_call") return;
  if (muted) call.unmute({ audio: true });
  else call.mute({ audio: true });
}

function onPush(event) {
  const { type, data } = event.detail || {};
  if (type !== "snapshot") return;
  const id = data && data.me ? String(data.me.id) : null;
  if (id === null) stop();
  else if (id !== me) start(id); // a new sign-in; a reconnect of the push socket keeps the phone
}

/** Signing out (or being signed out) leaves the panel's view: the phone unregisters. */
function watchView() {
  const app = document.getElementById("app");
  if (!app) return;
  new MutationObserver(() => {
    if (app.dataset.view !== "panel" && me !== null) {
      me = null;
      stop();
    }
  }).observe(app, { attributes: true, attributeFilter: ["data-view"] });
}

if (typeof window !== "undefined") {
  window.addEventListener("cti:push", onPush);
  window.addEventListener("pagehide", stop);
  watchView();
}
