// Tiny DOM helpers the panel's modules share (no framework: the CSP allows only our own scripts).

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A new element: props are properties when the element has them (else attributes); children appended. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

/** Set a message line's text; it is hidden while empty. */
export function message(node, text) {
  node.textContent = text || "";
  show(node, Boolean(text));
}

/** Offer ``values`` in a select; the current choice stays chosen while it is still offered. */
export function fillChoices(select, values) {
  const current = select.value;
  select.replaceChildren(...values.map((v) => el("option", { value: v, textContent: v })));
  if (values.includes(current)) select.value = current;
}
