// Call recordings: a play control in the today list, for calls that reached an agent.
// GET /api/workorders/{ref}/recording streams the audio (agents: their own calls; supervisors: all).

const PLAYABLE = new Set(["answered", "moved"]);

/** A "play" control for work order `w` (a today-list row), or an empty text node if nothing to play. */
export function playControl(w) {
  if (!w || !w.ref || !PLAYABLE.has(w.disposition)) return document.createTextNode("");
  const box = document.createElement("span");
  box.className = "recording";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "play-recording";
  button.textContent = "▶ 录音";
  button.title = "Play the call's recording";
  button.setAttribute("aria-label", `Play the recording of ${w.ref}`);
  button.addEventListener("click", () => play(box, button, w.ref));
  box.append(button);
  return box;
}

async function play(box, button, ref) {
  const url = `/api/workorders/${encodeURIComponent(ref)}/recording`;
  button.disabled = true;
  let response;
  try {
    response = await fetch(url, { method: "HEAD", credentials: "same-origin" });
  } catch (err) {
    return refuse(box, button, "The server cannot be reached.");
  }
  if (!response.ok) {
    const why = { 404: "No recording for this call.", 403: "Another agent's call." }[response.status];
    return refuse(box, button, why || `The server answered ${response.status}.`);
  }
  const audio = document.createElement("audio");
  audio.controls = true;
  audio.preload = "auto";
  audio.src = url;
  audio.className = "recording-audio";
  box.replaceChildren(audio);
  audio.play().catch(() => {}); // autoplay may be refused: the controls stay
}

function refuse(box, button, text) {
  const note = document.createElement("span");
  note.className = "recording-note";
  note.setAttribute("role", "status");
  note.textContent = text;
  box.replaceChildren(note);
}
