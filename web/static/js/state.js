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
