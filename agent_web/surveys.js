// Caller ratings today, per queue, on the supervisor's figure cards: from the post-call survey
// figures the queue statistics carry (GET /api/stats/queues, each queue's ``survey``: asked,
// rated, average, count per rating), refreshed with them. A rating at or under the server's
// survey.low_rating (the snapshot's survey.low_rating; 0: none counts as low) is low; its share is
// of the ratings given.

import * as f from "./format.js";
import { $, el, message, show } from "./dom.js";

/** The cells of one queue's row: queue, asked, rated, average, low ratings (share and count). */
export function surveyFigureCells(q, lowRating) {
  const s = q.survey || {};
  const rated = Number(s.rated) || 0;
  const low = Object.entries(s.ratings || {})
    .filter(([value]) => lowRating > 0 && Number(value) <= lowRating)
    .reduce((n, [, count]) => n + (Number(count) || 0), 0);
  const avg = s.avg_rating === null || s.avg_rating === undefined ? "—" : Number(s.avg_rating).toFixed(2);
  const share = rated && lowRating > 0 ? `${Math.round((low / rated) * 1000) / 10}% (${low})` : "—";
  return [q.queue, String(s.surveys ?? 0), String(rated), avg, share];
}

/** Fill the card from the queues' figures (hidden while no queue had a survey today). */
export function renderSurveyFigures(queues, lowRating, generatedAt) {
  const asked = queues.filter((q) => (q.survey?.surveys || 0) > 0);
  $("survey-low-head").textContent = lowRating > 0 ? `Low (≤ ${lowRating})` : "Low";
  $("survey-body").replaceChildren(...asked.map((q) => el("tr", { dataset: { queue: q.queue } },
    ...surveyFigureCells(q, lowRating).map((text, i) => el(i ? "td" : "th",
      i ? { textContent: text } : { scope: "row", textContent: text })))));
  message($("survey-note"), `as of ${f.clockSeconds(generatedAt)}`);
  show($("survey-figures"), asked.length > 0);
}
