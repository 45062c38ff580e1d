// The page's filters. The URL is the source of truth: "/" takes the same filter query
// parameters as the API (range, from, to, as_of, owner, account, playbook, partner_type),
// so a link from a digest email opens the dashboard on the same view.

export const FILTERS = ["range", "from", "to", "as_of", "owner", "account", "playbook", "partner_type"];

export function readState(search) {
  const params = new URLSearchParams(search);
  const one = (key) => (params.get(key) || "").trim();
  return {
    range: one("range"),
    from: one("from"),
    to: one("to"),
    as_of: one("as_of"),
    owner: one("owner"),
    account: params.getAll("account").map((a) => a.trim()).filter(Boolean),
    playbook: one("playbook"),
    partner_type: one("partner_type"),
  };
}

/** The query string the API (and the page URL) take for ``state``. */
export function toParams(state) {
  const params = new URLSearchParams();
  if (state.from || state.to) {
    if (state.from) params.set("from", state.from);
    if (state.to) params.set("to", state.to);
  } else if (state.range) {
    params.set("range", state.range);
  }
  for (const key of ["as_of", "owner", "playbook", "partner_type"]) {
    if (state[key]) params.set(key, state[key]);
  }
  for (const account of state.account) params.append("account", account);
  return params;
}

/** The fixed filters an assistant question is asked with (the window goes in its words). */
export function askFilters(state) {
  const filters = {};
  if (state.owner) filters.owner = state.owner;
  if (state.account.length) filters.accounts = [...state.account];
  if (state.playbook) filters.playbook = state.playbook;
  if (state.partner_type) filters.partner_type = state.partner_type;
  return filters;
}

export function hasFilters(state) {
  return Boolean(state.owner || state.account.length || state.playbook || state.partner_type);
}

export function withQuery(path, params, extra = {}) {
  const query = new URLSearchParams(params);
  for (const [key, value] of Object.entries(extra)) {
    if (value != null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

const REJECTABLE = ["owner", "account", "playbook"];

/** One filter value the API rejected, in words: what, which, and the names it offers. */
function rejectedNote(problem) {
  const names = (problem.candidates || []).map((c) => c.name).join(", ");
  const why = problem.kind === "ambiguous"
    ? `matches several${names ? `: ${names}` : ""}`
    : `is unknown${names ? ` (did you mean ${names}?)` : ""}`;
  return `${problem.parameter} '${problem.value}' ${why}`;
}

/**
 * ``state`` without every filter value a 422's ``problems`` reject (each unknown or
 * ambiguous owner, account or playbook, all at once), and a note for each; null when
 * none of them is in ``state`` (nothing to leave out, so nothing to reload).
 */
export function withoutRejected(state, problems) {
  const next = { ...state, account: [...state.account] };
  const notes = [];
  for (const problem of problems || []) {
    const { parameter: key, value } = problem;
    if (!REJECTABLE.includes(key)) continue;
    if (key === "account") {
      if (!next.account.includes(value)) continue;
      next.account = next.account.filter((a) => a !== value);
    } else {
      if (next[key] !== value) continue;
      next[key] = "";
    }
    notes.push(rejectedNote(problem));
  }
  return notes.length ? { state: next, notes } : null;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const realDay = (text) => DAY.test(text) && !Number.isNaN(new Date(`${text}T00:00:00Z`).getTime())
  && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);

/**
 * The link's filters with the ones the page can tell are wrong left out, and a note for
 * each of them: a link with several bad parameters names all of them, and the sections
 * still load with the rest. Names (owner, account, playbook) are checked by the API.
 */
export function checkState(state, { ranges, partnerTypes = ["referral", "reseller"] }) {
  const next = { ...state, account: [...state.account] };
  const problems = [];
  const drop = (key, why) => {
    problems.push(`${key} '${state[key]}' ${why}`);
    next[key] = "";
  };
  if (state.range && !ranges.includes(state.range)) drop("range", `is not one of ${ranges.join(", ")}`);
  for (const key of ["from", "to"]) {
    if (state[key] && !realDay(state[key])) drop(key, "is not a date (YYYY-MM-DD)");
  }
  if (next.from && next.to && next.from > next.to) {
    problems.push(`from '${state.from}' is after to '${state.to}'`);
    next.from = "";
    next.to = "";
  } else if (Boolean(next.from) !== Boolean(next.to)) {
    // one end of a custom window: name it, unless its other end was named above already
    const given = next.from ? "from" : "to";
    const other = given === "from" ? "to" : "from";
    if (!state[other]) drop(given, `needs ${other} as well`);
    next.from = "";
    next.to = "";
  }
  if (state.as_of && !(realDay(state.as_of) || (INSTANT.test(state.as_of) && !Number.isNaN(Date.parse(state.as_of))))) {
    drop("as_of", "is not a date or an ISO 8601 instant");
  }
  if (state.partner_type && !partnerTypes.includes(state.partner_type)) {
    drop("partner_type", `is not one of ${partnerTypes.join(", ")}`);
  }
  return { state: next, problems };
}
