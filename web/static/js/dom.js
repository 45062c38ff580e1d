// DOM building and formatting. Everything from the data goes through text nodes or
// setAttribute, never innerHTML, so a name like "<script>" is shown, not run.

import { formatValue } from "./format.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Numbers, durations, shares and dates go through the one formatter (format.js, the
// mirror of metrics/formatting.py); these names are what the page's modules call.
export const fmtNumber = (value) => formatValue(value, "number");
export const fmtDuration = (seconds) => formatValue(seconds, "seconds");
export const fmtShare = (ratio) => formatValue(ratio, "percent");
/** An ISO instant as "22 Nov 2026 12:50" in UTC (all PortalPulse times are UTC). */
export const fmtTime = (iso) => formatValue(iso, "datetime");
export const fmtDay = (value) => formatValue(value, "date");

/**
 * A change against the previous period. No percentage exists when the previous value
 * was zero: then the change says so ("up from 0"), and only a missing previous value
 * (no visits to average, say) reads as no earlier data.
 */
export function fmtChange(pct, previous, current) {
  if (pct == null) {
    if (previous === 0) {
      return current ? { text: "▲ up from 0 before", cls: "up" } : { text: "± 0, as before", cls: "flat" };
    }
    return { text: "no earlier data", cls: "flat" };
  }
  if (pct === 0) return { text: "± 0% vs previous", cls: "flat" };
  const arrow = pct > 0 ? "▲" : "▼";
  return { text: `${arrow} ${formatValue(Math.abs(pct), "number")}% vs previous`, cls: pct > 0 ? "up" : "down" };
}

export function label(key) {
  const words = String(key).replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A sortable table header: buttons in <th>, aria-sort on the active column. */
export function sortHeader(columns, sort, descending, onSort) {
  return h(
    "tr",
    {},
    columns.map((c) => {
      if (!c.key) return h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, c.label));
      const active = c.key === sort;
      const state = active ? (descending ? "descending" : "ascending") : "none";
      return h(
        "th",
        { scope: "col", class: c.num ? "num" : null, "aria-sort": state },
        h(
          "button",
          {
            type: "button",
            class: "sort",
            dataset: { sort: c.key },
            "aria-label": `Sort by ${c.label}${active && !descending ? ", descending" : ""}`,
            onclick: () => onSort(c.key, active ? !descending : Boolean(c.num)),
          },
          c.label,
        ),
      );
    }),
  );
}
