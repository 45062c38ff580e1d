// Start-up: filters ⇄ URL, the dashboard, the assistant panel, and the phone drawer.

import { getJSON } from "./api.js";
import { ChatPanel } from "./chat.js";
import { Dashboard } from "./dashboard.js";
import { fmtDay, fmtTime, h, label } from "./dom.js";
import { askFilters, checkState, hasFilters, readState, toParams, withoutRejected } from "./state.js";

const MULTI = "__several__";
const phone = window.matchMedia("(max-width: 900px)");
const form = document.getElementById("filters");
const fields = {
  range: document.getElementById("f-range"),
  from: document.getElementById("f-from"),
  to: document.getElementById("f-to"),
  as_of: document.getElementById("f-as-of"),
  owner: document.getElementById("f-owner"),
  account: document.getElementById("f-account"),
  playbook: document.getElementById("f-playbook"),
  partner_type: document.getElementById("f-partner-type"),
};

const RANGES = [...fields.range.options].map((o) => o.value).filter((v) => v !== "custom");

let linkProblems = [];

function showLinkProblems() {
  const note = document.getElementById("link-notice");
  note.textContent = linkProblems.length ? `Left out of this link's filters: ${linkProblems.join("; ")}.` : "";
  note.hidden = !linkProblems.length;
}

/** The URL's filters, less those that cannot be right; each one left out is named. */
function linkState(search) {
  const checked = checkState(readState(search), { ranges: RANGES });
  linkProblems = checked.problems;
  showLinkProblems();
  return checked.state;
}

/** ``state`` without every filter value the API rejected in ``error`` (its ``problems``:
 * each unknown or ambiguous name, all in one answer), or null. */
function withoutUnknown(current, error) {
  if (!error || error.status !== 422) return null;
  const fixed = withoutRejected(current, error.problems);
  if (!fixed) return null;
  linkProblems = [...linkProblems, ...fixed.notes];
  showLinkProblems();
  return fixed.state;
}

let state = linkState(window.location.search);
let view = "overview";
let names = { owners: new Map(), accounts: new Map() };

function showError(error) {
  const box = document.getElementById("page-error");
  box.textContent = error ? `Could not load this view: ${error.message || error}` : "";
  box.hidden = !error;
}

function fillSelect(select, options, chosen) {
  const first = select.options[0];
  select.replaceChildren(first, ...options.map(([value, text]) => h("option", { value }, text)));
  select.value = chosen;
  if (chosen && select.value !== chosen) {
    // a value from the URL that is not an id (e.g. a name from an email link): keep it
    select.append(h("option", { value: chosen }, chosen));
    select.value = chosen;
  }
}

async function loadChoices() {
  const choices = await getJSON("/api/filter-options");
  names = {
    owners: new Map(choices.owners.map((o) => [o.id, o.name])),
    accounts: new Map(choices.accounts.map((a) => [a.id, a.name])),
  };
  fillSelect(fields.owner, choices.owners.map((o) => [o.id, o.name]), state.owner);
  fillSelect(
    fields.account,
    choices.accounts.map((a) => [a.id, a.kind === "partner" ? `${a.name} (partner)` : a.name]),
    state.account.length === 1 ? state.account[0] : "",
  );
  fillSelect(fields.playbook, choices.playbooks.map((p) => [p, p]), state.playbook);
  fillSelect(fields.partner_type, choices.partner_types.map((t) => [t, label(t)]), state.partner_type);
  writeForm();
}

function writeForm() {
  const custom = Boolean(state.from || state.to);
  fields.range.value = custom ? "custom" : state.range || "last_30_days";
  form.classList.toggle("custom", custom);
  fields.from.value = state.from;
  fields.to.value = state.to;
  fields.as_of.value = /^\d{4}-\d{2}-\d{2}$/.test(state.as_of) ? state.as_of : "";
  fields.owner.value = state.owner;
  fields.playbook.value = state.playbook;
  fields.partner_type.value = state.partner_type;
  const accounts = fields.account;
  accounts.querySelector(`option[value="${MULTI}"]`)?.remove();
  if (state.account.length > 1) {
    accounts.append(h("option", { value: MULTI }, `${state.account.length} accounts (from the link)`));
    accounts.value = MULTI;
  } else {
    accounts.value = state.account[0] || "";
  }
}

function readForm(changed) {
  const next = { ...state };
  const custom = fields.range.value === "custom";
  form.classList.toggle("custom", custom);
  if (custom) {
    next.range = "";
    next.from = fields.from.value;
    next.to = fields.to.value;
  } else {
    next.range = fields.range.value === "last_30_days" && !state.range ? "" : fields.range.value;
    next.from = "";
    next.to = "";
  }
  if (changed === fields.as_of) {
    next.as_of = fields.as_of.value;
  }
  next.owner = fields.owner.value;
  if (fields.account.value !== MULTI) next.account = fields.account.value ? [fields.account.value] : [];
  next.playbook = fields.playbook.value;
  next.partner_type = fields.partner_type.value;
  return next;
}

function describe() {
  const bits = [];
  if (state.from || state.to) bits.push(`${fmtDay(state.from)} to ${fmtDay(state.to)}`);
  else bits.push(fields.range.selectedOptions[0]?.textContent || "Last 30 days");
  if (state.as_of) bits.push(`as of ${fmtTime(state.as_of)}`);
  if (state.owner) bits.push(`owner ${names.owners.get(state.owner) || state.owner}`);
  if (state.account.length) bits.push(`account ${state.account.map((a) => names.accounts.get(a) || a).join(", ")}`);
  if (state.playbook) bits.push(`playbook ${state.playbook}`);
  if (state.partner_type) bits.push(`${state.partner_type} partners`);
  return bits.join(" · ");
}

const dashboard = new Dashboard({
  onError: showError,
  onLoaded: (kpis, failed) => {
    if (!failed) showError(null);
    const empty = document.getElementById("empty");
    if (!kpis) {
      empty.hidden = true;
      return;
    }
    const s = kpis.scope;
    const endOfDay = /T00:00:00(\.0+)?Z$/.test(s.as_of);
    const asOf = endOfDay
      ? `end of ${fmtDay(new Date(new Date(s.as_of).getTime() - 1))}`
      : `${fmtTime(s.as_of)} UTC`;
    document.getElementById("scope-label").textContent =
      `${fmtDay(s.from)} – ${fmtDay(s.last_day)} · as of ${asOf}`;
    const total = ["invites_sent", "logins", "sessions", "tasks_completed", "page_views", "actions"]
      .reduce((sum, key) => sum + (kpis.kpis[key] || 0), 0);
    empty.hidden = total > 0;
    document.getElementById("empty-window").textContent = `from ${fmtDay(s.from)} to ${fmtDay(s.last_day)}`;
    document.getElementById("empty-filters").hidden = !hasFilters(state);
  },
});

const chat = new ChatPanel({
  context: () => ({
    as_of: state.as_of || null,
    filters: askFilters(state),
    params: toParams(state),
    view,
    describe: describe(),
  }),
});

let suggestTimer = null;
function refreshSuggestions() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(() => chat.refreshSuggestions().catch(showError), 150);
}

async function apply(next, { push = true } = {}) {
  state = next;
  const params = toParams(state);
  if (push) {
    const query = params.toString();
    const url = `${window.location.pathname}${query ? `?${query}` : ""}`;
    if (url !== `${window.location.pathname}${window.location.search}`) window.history.pushState(null, "", url);
  }
  writeForm();
  refreshSuggestions();
  const failure = await dashboard.load(params);
  // names the API does not know (owner, account, playbook): name them all, leave them
  // out, reload once
  const fixed = withoutUnknown(state, failure);
  if (fixed) await apply(fixed, { push });
}

form.addEventListener("change", (e) => {
  if (e.target === fields.range && fields.range.value === "custom") {
    form.classList.add("custom");
    fields.from.focus();
    return; // wait for both dates
  }
  if ((e.target === fields.from || e.target === fields.to) && !(fields.from.value && fields.to.value)) return;
  apply(readForm(e.target));
});
form.addEventListener("submit", (e) => e.preventDefault());
// Reset clears the range and the filters; "as of" is when the view is seen from, so it stays.
const reset = () => {
  document.getElementById("link-notice").hidden = true;
  return apply({ ...readState(""), as_of: state.as_of });
};
document.getElementById("reset").addEventListener("click", reset);
document.querySelectorAll('[data-action="reset"]').forEach((b) => b.addEventListener("click", reset));
window.addEventListener("popstate", () => apply(linkState(window.location.search), { push: false }));

// The section most in view decides which suggestions the panel offers.
const ratios = new Map();
const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) ratios.set(entry.target, entry.intersectionRatio);
    let best = null;
    for (const [el, ratio] of ratios) if (!best || ratio > best[1]) best = [el, ratio];
    const next = best && best[1] > 0 ? best[0].dataset.view : view;
    if (next !== view) {
      view = next;
      refreshSuggestions();
    }
  },
  { threshold: [0, 0.25, 0.5, 0.75, 1] },
);
document.querySelectorAll("section[data-view]").forEach((s) => observer.observe(s));
for (const section of document.querySelectorAll("section[data-view]")) {
  section.addEventListener("focusin", () => {
    if (section.dataset.view !== view) {
      view = section.dataset.view;
      refreshSuggestions();
    }
  });
}

// Phone width: the panel is a drawer, closed (and out of the tab order) until opened.
const panel = document.getElementById("chat");
const toggle = document.getElementById("chat-toggle");
function setDrawer(open) {
  document.body.classList.toggle("chat-open", open);
  toggle.setAttribute("aria-expanded", String(open));
  panel.inert = phone.matches && !open;
  if (open) {
    document.getElementById("question").focus();
    chat.openWithAnalysis().catch(showError);
  } else if (phone.matches) {
    toggle.focus();
  }
}
toggle.addEventListener("click", () => setDrawer(!document.body.classList.contains("chat-open")));
document.getElementById("chat-close").addEventListener("click", () => setDrawer(false));
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && phone.matches && document.body.classList.contains("chat-open")) setDrawer(false);
});
phone.addEventListener("change", () => {
  panel.inert = phone.matches && !document.body.classList.contains("chat-open");
});
panel.inert = phone.matches;

async function start() {
  try {
    await loadChoices();
  } catch (error) {
    showError(error);
  }
  await apply(state, { push: false });
  if (!phone.matches) chat.openWithAnalysis().catch(showError);
}

start();
