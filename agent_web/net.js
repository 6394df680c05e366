// The panel's two links to the server: JSON API calls and the push websocket.

/** An API refusal: {error: {code, message, field}} from the server, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }

  /** One line for the user: the message, and the field it is about. */
  describe() {
    return this.field ? `${this.message} (${this.field})` : this.message;
  }
}

/** Call the JSON API; resolves to the parsed body, throws ApiError on any non-2xx answer. */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network", "The server cannot be reached. Check the network and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(response.status, e.code || `http_${response.status}`,
      e.message || `The server answered ${response.status}.`, e.field);
  }
  return data;
}

/** Close code the server uses when the session was ended (logout elsewhere). */
const CLOSE_SIGNED_OUT = 4001;
/** Close code when the same account signed in on another screen and took this panel over. */
const CLOSE_TAKEN_OVER = 4002;

/**
 * The push stream: a snapshot on every (re)connect, then numbered deltas; a frame holds one
 * message or an array of them. Reconnects with backoff; a gap in the sequence asks the server
 * for a new snapshot.
 */
export class PushSocket {
  constructor({ onMessage, onStatus, canReconnect, path = "/ws" }) {
    this.path = path; // the wall display has its own socket (/wallboard/ws)
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.canReconnect = canReconnect; // async () => bool: false once the session is gone
    this.ws = null;
    this.seq = 0;
    this.delay = 500;
    this.timer = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.delay = 500;
    this.open();
  }

  stop() {
    this.stopped = true;
    this.seq = 0;
    clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, "bye");
      this.ws = null;
    }
  }

  open() {
    if (this.stopped) return;
    this.onStatus(this.ws === null && this.seq === 0 ? "connecting" : "reconnecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${this.path}`);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.seq = -1; // whatever comes next must be a snapshot
      if (this.stopped) return;
      if (event.code === CLOSE_SIGNED_OUT || event.code === CLOSE_TAKEN_OVER) {
        this.stopped = true;
        this.onStatus(event.code === CLOSE_SIGNED_OUT ? "signed_out" : "taken_over");
        return;
      }
      this.retry();
    };
  }

  /** One frame: a message, or an array of messages (a burst the server sent at once), in order. */
  receive(text) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return;
    }
    let failure = null;
    for (const msg of Array.isArray(value) ? value : [value]) {
      if (!msg || typeof msg !== "object") continue;
      try {
        this.handle(msg);
      } catch (err) {
        failure = failure || err; // the rest of the frame is still handled, then it is raised
      }
    }
    if (failure) throw failure;
  }

  handle(msg) {
    if (msg.type === "snapshot") {
      this.seq = msg.seq;
      this.onStatus("open");
    } else if (this.seq < 0) {
      return; // deltas before the snapshot of a new connection cannot happen; ignore
    } else if (msg.seq !== this.seq + 1) {
      // A gap: state could be stale. Ask for a fresh snapshot and ignore deltas until it comes.
      this.seq = -1;
      this.send({ type: "resync" });
      return;
    } else {
      this.seq = msg.seq;
    }
    this.onMessage(msg.type, msg.data);
    // Modules that keep their own part of the page (complaints.js) listen without session.js knowing them.
    if (typeof window !== "undefined") window.dispatchEvent(new CustomEvent("cti:push", { detail: msg }));
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  retry() {
    this.onStatus("reconnecting");
    const wait = this.delay * (0.75 + Math.random() * 0.5);
    this.delay = Math.min(this.delay * 2, 10000);
    this.timer = setTimeout(async () => {
      if (this.stopped) return;
      let ok = true;
      try {
        ok = await this.canReconnect();
      } catch (err) {
        ok = true; // server unreachable: keep trying
      }
      if (!ok) {
        this.stopped = true;
        this.onStatus("signed_out");
        return;
      }
      this.open();
    }, wait);
  }
}
