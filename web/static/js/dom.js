// DOM building and formatting. Everything from the data goes through text nodes or
// setAttribute, never innerHTML, so a name like "<script>" is shown, not run.

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

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

export function fmtNumber(value) {
  if (value == null) return "—";
  return Number.isInteger(value) ? integer.format(value) : decimal.format(value);
}

export function fmtDuration(seconds) {
  if (seconds == null) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export function fmtShare(ratio) {
  return ratio == null ? "—" : `${decimal.format(ratio * 100)}%`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An ISO instant as "22 Nov 2026 12:50" in UTC (all PortalPulse times are UTC). */
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  return `${fmtDay(d)} ${hm}`;
}

export function fmtDay(value) {
  if (!value) return "—";
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

export function fmtChange(pct) {
  if (pct == null) return { text: "no earlier data", cls: "flat" };
  if (pct === 0) return { text: "± 0% vs previous", cls: "flat" };
  const arrow = pct > 0 ? "▲" : "▼";
  return { text: `${arrow} ${decimal.format(Math.abs(pct))}% vs previous`, cls: pct > 0 ? "up" : "down" };
}

export function label(key) {
  const text = String(key).replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
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
