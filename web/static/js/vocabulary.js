// Labels and display formats of measures and table columns, as the semantic registry
// declares them (served in the page by web/pages.py); the page restates none of them.

const element = typeof document === "undefined" ? null : document.getElementById("vocabulary");
const VOCABULARY = element ? JSON.parse(element.textContent) : { measures: {}, columns: {} };

const words = (name) => String(name).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

/** The registry's label of a measure (a KPI card, a trend series). */
export function measureLabel(name) {
  return VOCABULARY.measures[name]?.label || words(name);
}

/** The registry's label of a table column. */
export function columnLabel(name) {
  return VOCABULARY.columns[name]?.label || words(name);
}

/** The registry's display format of a table column ("text" if it declares none). */
export function columnFormat(name) {
  return VOCABULARY.columns[name]?.format || "text";
}
