// Drawing for the reports and the customer record: plain SVG bar charts and tables, text only.

import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes (and children). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/**
 * Horizontal bars, one row per label, each row stacked from its parts: rows [{label, parts: [{key,
 * value, colour}]}]. Drawn into ``node`` (an <svg>), with the value written at each bar's end.
 */
export function barChart(node, rows, { width = 640, row = 26, labelWidth = 150, format = String } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.parts.reduce((s, p) => s + p.value, 0)));
  const height = Math.max(row, rows.length * row) + 4;
  node.setAttribute("viewBox", `0 0 ${width} ${height}`);
  node.replaceChildren();
  const span = width - labelWidth - 60;
  rows.forEach((r, i) => {
    const y = i * row + 4;
    const g = svg("g", { "data-label": r.label });
    g.append(svg("text", { x: labelWidth - 6, y: y + row / 2 + 4, "text-anchor": "end", class: "label" }, r.label));
    let x = labelWidth;
    let total = 0;
    for (const p of r.parts) {
      const w = (p.value / max) * span;
      if (w > 0) {
        g.append(svg("rect", { x, y, width: w, height: row - 8, fill: p.colour, "data-key": p.key },
          svg("title", {}, `${p.key}: ${format(p.value)}`)));
      }
      x += w;
      total += p.value;
    }
    g.append(svg("text", { x: x + 4, y: y + row / 2 + 4, class: "value" }, format(r.total ?? total)));
    node.append(g);
  });
}

/** Columns and rows to a <table> (header row, then body), each cell text. */
export function fillTable(table, columns, rows) {
  table.replaceChildren(
    el("thead", {}, el("tr", {}, ...columns.map(([, title]) => el("th", { scope: "col", textContent: title })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...columns.map(([key, , fmt]) => el("td", {
      textContent: fmt ? fmt(r[key], r) : r[key] ?? "—" }))))));
}

export function percent(x) {
  return x === null || x === undefined ? "—" : `${Math.round(x * 1000) / 10} %`;
}

/**
 * Columns over time, one per period: rows [{label, value}], with the rate (0..1, or null) of each
 * period as dots on a second scale when ``rates`` is given. Every few labels are written under the axis.
 */
export function columnChart(node, rows, { width = 720, height = 200, rates = null } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const top = 14;
  const bottom = 22;
  const plot = height - top - bottom;
  const step = (width - 40) / Math.max(1, rows.length);
  const every = Math.max(1, Math.ceil(rows.length / 10));
  node.setAttribute("viewBox", `0 0 ${width} ${height}`);
  node.replaceChildren(svg("text", { x: 2, y: top - 2, class: "value" }, String(max)),
    svg("line", { x1: 30, x2: width, y1: top + plot, y2: top + plot, stroke: "#d5dbdb" }));
  const maxRate = rates ? Math.max(0.0001, ...rates.filter((x) => x !== null)) : 1;
  rows.forEach((r, i) => {
    const x = 36 + i * step;
    const h = (r.value / max) * plot;
    const g = svg("g", { "data-label": r.label });
    if (h > 0) {
      g.append(svg("rect", { x, y: top + plot - h, width: Math.max(1, step * 0.7), height: h, fill: "#d91515" },
        svg("title", {}, `${r.label}: ${r.value}`)));
    }
    if (rates && rates[i] !== null && rates[i] !== undefined) {
      g.append(svg("circle", { cx: x + step * 0.35, cy: top + plot - (rates[i] / maxRate) * plot, r: 3,
        fill: "#0972d3" }, svg("title", {}, `${r.label}: ${Math.round(rates[i] * 1000) / 10} %`)));
    }
    if (i % every === 0) g.append(svg("text", { x, y: height - 6, class: "label" }, r.label.slice(5)));
    node.append(g);
  });
}
