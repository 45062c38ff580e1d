// The page's one formatter: the mirror of metrics/formatting.py. formatValue(value, fmt)
// takes one of the display formats the semantic layer's measures and columns carry;
// formatFor(key, value) names the format of a metrics result's field from its name.
// tests/test_formatting_js.py checks that both give the same text for the same values.

export const FORMATS = ["count", "number", "seconds", "percent", "date", "datetime", "currency", "score", "text"];
export const MISSING = "—";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const ENUM = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const grouped0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const grouped1 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const grouped2 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Python's round(x, digits): the exact binary value rounded, exact ties to even. */
function round(value, digits = 0) {
  const exact = Math.abs(value).toFixed(digits + 30); // the float's exact decimal expansion
  const cut = exact.indexOf(".") + (digits ? digits + 1 : 0);
  const rest = exact.slice(cut).replace(".", "");
  if (/^50*$/.test(rest)) { // an exact tie: to the even neighbour
    const down = Number(exact.slice(0, digits ? cut : exact.indexOf(".")));
    const last = Number(exact.replace(".", "").slice(0, exact.indexOf(".") + digits).slice(-1));
    const step = 10 ** -digits;
    const magnitude = last % 2 === 0 ? down : down + step;
    return Math.sign(value) * Number(magnitude.toFixed(digits));
  }
  return Number(value.toFixed(digits));
}

/** At most one decimal, no trailing ".0": 1,234 · 72.7 · 0.1. */
function oneDecimal(value) {
  const rounded = round(Number(value), 1);
  if (rounded === 0) return "0";
  return Number.isInteger(rounded) ? grouped0.format(rounded) : grouped1.format(rounded);
}

/** Seconds as "45s", "12m 22s" or "1h 05m". */
export function duration(seconds) {
  const s = round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** An enum value in words ("in_progress" → "In progress"); other text as it is. */
export function text(value) {
  const shown = String(value);
  if (!ENUM.test(shown)) return shown;
  const words = shown.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** {day: true} for a plain date, else an instant; null when it is no date. */
function moment(value) {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : { at: value, day: false };
  if (typeof value !== "string") return null;
  if (ISO_DAY.test(value)) return { at: new Date(`${value}T00:00:00Z`), day: true };
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return null;
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`;
  const at = new Date(withZone);
  return Number.isNaN(at.getTime()) ? null : { at, day: false };
}

/** "22 Nov 2026" (the UTC date of an instant). */
export function dayText(value) {
  const m = value instanceof Date ? { at: value } : moment(value);
  if (!m) return value == null ? MISSING : String(value);
  const d = m.at;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** "22 Nov 2026 12:50" in UTC; a plain date stays a date. */
export function datetimeText(value) {
  const m = value instanceof Date ? { at: value, day: false } : moment(value);
  if (!m) return value == null ? MISSING : String(value);
  if (m.day) return dayText(m.at);
  const hm = `${String(m.at.getUTCHours()).padStart(2, "0")}:${String(m.at.getUTCMinutes()).padStart(2, "0")}`;
  return `${dayText(m.at)} ${hm}`;
}

/** ``value`` as text in display format ``fmt`` (one of FORMATS). */
export function formatValue(value, fmt) {
  if (!FORMATS.includes(fmt)) throw new Error(`unknown display format '${fmt}'`);
  if (value == null || (typeof value === "number" && Number.isNaN(value))) return MISSING;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (fmt === "text") return text(value);
  if (fmt === "date" || fmt === "datetime") {
    const m = value instanceof Date ? value : moment(value);
    if (!m) return String(value);
    return fmt === "date" ? dayText(value) : datetimeText(value);
  }
  if (typeof value !== "number") return String(value);
  switch (fmt) {
    case "count": return grouped0.format(round(value));
    case "seconds": return duration(value);
    case "percent": return `${oneDecimal(value * 100)}%`;
    case "currency": return grouped2.format(value);
    case "score": return grouped1.format(round(value, 1));
    default: return oneDecimal(value);
  }
}

export const FIELD_FORMATS = {
  avg_session_seconds: "seconds",
  conversion: "percent",
  share: "percent",
  rate: "percent",
  stickiness: "percent",
  mobile_share: "percent",
  self_service_rate: "percent",
  benchmark: "percent",
  change: "percent",
  overdue_share: "percent",
  score: "score",
  weight: "number",
  savings: "currency",
  cost_per_ticket: "currency",
  gain: "currency",
  portal_cost: "currency",
  period: "date",
  active_date: "date",
  due_on: "date",
  from: "date",
  to: "date",
  last_day: "date",
  invited_at: "datetime",
  first_login: "datetime",
  last_visit: "datetime",
  last_login: "datetime",
  last_activity: "datetime",
  at: "datetime",
  as_of: "datetime",
  status: "text",
  kind: "text",
  partner_type: "text",
  signal: "text",
  severity: "text",
  risk_level: "text",
  engagement_level: "text",
  on_time_health: "text",
  action: "text",
  device: "text",
  type: "text",
  entity_type: "text",
  role: "text",
  resolution: "text",
};

/** The display format of a result field called ``key`` (holding ``value``); null for free text. */
export function formatFor(key, value) {
  if (Object.hasOwn(FIELD_FORMATS, key)) return FIELD_FORMATS[key];
  if (key.endsWith("_seconds")) return "seconds";
  if (/_(rate|share|ratio)$/.test(key)) return "percent";
  if (key.endsWith("_at")) return "datetime";
  if (key.endsWith("_on")) return "date";
  if (typeof value === "boolean") return "count";
  if (typeof value === "number") return Number.isInteger(value) ? "count" : "number";
  return null;
}

/** ``value`` of field ``key`` formatted as its name says (free text as it is). */
export function formatField(key, value) {
  const fmt = formatFor(key, value);
  if (fmt == null) return value == null ? MISSING : proseInstants(String(value));
  return formatValue(value, fmt);
}

const ISO_INSTANT = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;

/** Free text with every ISO 8601 instant in it written as a date in prose. */
export function proseInstants(text) {
  return text.replace(ISO_INSTANT, (iso) => formatValue(iso, "datetime"));
}
