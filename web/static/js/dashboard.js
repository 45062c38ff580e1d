// The dashboard's sections. Each one reads its own /api/metrics/{section} route with the
// page's filters and renders what comes back; no number is computed here.

import { getJSON } from "./api.js";
import {
  clear, fmtChange, fmtDay, fmtDuration, fmtNumber, fmtShare, fmtTime, h, label, sortHeader,
} from "./dom.js";
import { formatField, formatValue } from "./format.js";
import { withQuery } from "./state.js";
import { columnFormat, columnLabel, measureLabel } from "./vocabulary.js";

const KPIS = [
  "invites_sent", "logins", "sessions", "unique_users", "avg_session_seconds", "page_views",
  "actions", "tasks_completed",
].map((key) => [key, measureLabel(key)]);

const SERIES = [
  ["sessions", "#2456c7"],
  ["logins", "#16794a"],
  ["unique_users", "#8e44ad"],
  ["page_views", "#d35400"],
  ["actions", "#c0392b"],
  ["invites_sent", "#7f8c8d"],
  ["tasks_completed", "#b7950b"],
].map(([key, color]) => [key, measureLabel(key), color]);

const actionText = (v) => (v ? `${label(v.action)} · ${fmtTime(v.at)}` : "—");

/** A table column: its label from the registry; `fmt` from its declared format unless given. */
function column(key, options = {}) {
  const declared = columnFormat(key);
  const fmt = options.fmt || (declared === "text" ? null : (v) => formatValue(v, declared));
  return { key, label: columnLabel(key), ...options, fmt };
}

const PROJECT_COLUMNS = [
  { key: null, label: "Open" },
  column("project", { wrap: true }),
  column("account", { wrap: true }),
  column("owner"),
  column("status", { fmt: label }),
  column("playbook"),
  column("invited", { num: true }),
  column("logged_in", { num: true }),
  column("conversion", { num: true }),
  column("sessions", { num: true }),
  column("avg_session_seconds", { num: true }),
  column("last_visit"),
  column("last_action", { fmt: actionText }),
  column("tasks_completed", { num: true }),
  column("tasks_assigned", { num: true }),
  column("tasks_unassigned", { num: true }),
  column("tasks_overdue", { num: true, flag: (v) => v > 0 }),
];

const USER_COLUMNS = [
  column("user"),
  column("invited_at"),
  column("first_login"),
  column("last_visit"),
  column("logins", { num: true }),
  column("sessions", { num: true }),
  column("tasks_completed", { num: true }),
  column("open_assigned_tasks", { num: true }),
];

const LEADERBOARD_COLUMNS = [
  column("rank", { num: true }),
  column("partner", { wrap: true }),
  column("partner_type", { fmt: label }),
  column("owner"),
  column("users", { num: true }),
  column("sessions", { num: true }),
  column("page_views", { num: true }),
  column("avg_session_seconds", { num: true }),
  column("score", { num: true }),
];

const RISKS_SHOWN = 10;

function cell(column, row) {
  const value = row[column.key];
  const text = column.fmt ? column.fmt(value) : value == null ? "—" : column.num ? fmtNumber(value) : value;
  const cls = [column.num ? "num" : "", column.wrap ? "wrap" : "", column.flag && column.flag(value) ? "flag" : ""];
  return h("td", { class: cls.filter(Boolean).join(" ") || null, dataset: { col: column.key } }, text);
}

function emptyRow(columns, text) {
  return h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, text));
}

function plainHeader(columns) {
  return h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)));
}

export class Dashboard {
  constructor({ onError, onLoaded }) {
    this.onError = onError;
    this.onLoaded = onLoaded;
    this.view = {
      projectSort: "project", projectDesc: false,
      boardSort: "rank", boardDesc: false, boardPage: 1,
      bucket: "", risksAll: false,
    };
    this.generation = 0;
    this.chart = null;
    this.usersCache = new Map();
    document.getElementById("bucket").addEventListener("change", (e) => {
      this.view.bucket = e.target.value;
      this.guard(this.trends(this.generation));
    });
    document.getElementById("risks-more").addEventListener("click", () => {
      this.view.risksAll = !this.view.risksAll;
      this.renderRisks();
    });
    this.setupTabs();
  }

  /** Reload every section for ``params`` (URLSearchParams of the filters); the first
   * section's error, if one failed, else null. */
  async load(params) {
    this.params = params;
    this.usersCache.clear();
    this.view.boardPage = 1;
    const gen = ++this.generation;
    const results = await Promise.allSettled([
      this.kpis(gen), this.trends(gen), this.projects(gen),
      this.leaderboard(gen), this.content(gen), this.risks(gen),
    ]);
    if (gen !== this.generation) return null;
    const failed = results.find((r) => r.status === "rejected");
    if (failed) this.onError(failed.reason);
    this.onLoaded(this.lastKpis || null, Boolean(failed));
    return failed ? failed.reason : null;
  }

  guard(promise) {
    promise.catch((error) => this.onError(error));
  }

  get(section, extra = {}) {
    return getJSON(withQuery(`/api/metrics/${section}`, this.params, extra));
  }

  // -- KPI cards ------------------------------------------------------------------
  async kpis(gen) {
    const box = document.getElementById("kpis");
    box.setAttribute("aria-busy", "true");
    const result = await this.get("kpis");
    if (gen !== this.generation) return;
    this.lastKpis = result;
    const prev = result.previous_window;
    const prevEnd = new Date(new Date(prev.to).getTime() - 1);
    document.getElementById("kpi-compare").textContent =
      `— change vs ${fmtDay(prev.from)} – ${fmtDay(prevEnd)}`;
    clear(
      box,
      KPIS.map(([key, name]) => {
        const value = result.kpis[key];
        const change = fmtChange(result.change_pct[key], result.previous[key], value);
        const shown = key === "avg_session_seconds" ? fmtDuration(value) : fmtNumber(value);
        const before = key === "avg_session_seconds" ? fmtDuration(result.previous[key]) : fmtNumber(result.previous[key]);
        return h(
          "div",
          { class: "kpi", dataset: { kpi: key } },
          h("div", { class: "label" }, name),
          h("div", { class: "value", dataset: { value: value == null ? "" : value } }, shown),
          h("div", { class: `change ${change.cls}`, title: `previous period: ${before}` }, change.text),
        );
      }),
    );
    box.setAttribute("aria-busy", "false");
  }

  // -- trends chart ---------------------------------------------------------------
  async trends(gen) {
    const result = await this.get("trends", { bucket: this.view.bucket });
    if (gen !== this.generation) return;
    const rows = result.series;
    const partial = partialBuckets(rows, result.bucket, result.scope);
    const labels = rows.map((r, i) => `${fmtDay(r.period)}${partial[i] ? " *" : ""}`);
    const empty = rows.every((r) => SERIES.every(([key]) => !r[key]));
    document.getElementById("trends-empty").hidden = !empty;
    const note = document.getElementById("trends-partial");
    note.textContent = partialNote(rows, partial, result.bucket, result.scope);
    note.hidden = !note.textContent;
    const canvas = document.getElementById("trends-chart");
    canvas.dataset.partial = partial.map((p, i) => (p ? i : null)).filter((i) => i != null).join(",");
    if (!window.Chart) throw new Error("the chart library (static/vendor/chart.umd.min.js) did not load");
    // a segment that ends or starts in an incomplete bucket is dashed, its point hollow
    const dashed = (ctx) => (partial[ctx.p0DataIndex] || partial[ctx.p1DataIndex] ? [6, 4] : undefined);
    const hollow = (ctx) => (partial[ctx.dataIndex] ? "#fff" : undefined);
    if (this.chart) {
      this.chart.data.labels = labels;
      this.chart.data.datasets.forEach((dataset, i) => {
        dataset.data = rows.map((r) => r[SERIES[i][0]]);
      });
      this.chart.update();
      return;
    }
    this.chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels,
        datasets: SERIES.map(([key, name, color]) => ({
          label: name, data: rows.map((r) => r[key]), borderColor: color,
          backgroundColor: color, tension: 0.25, pointRadius: 2, borderWidth: 2,
          segment: { borderDash: dashed },
          pointBackgroundColor: (ctx) => hollow(ctx) || color,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            enabled: true,
            callbacks: { footer: (items) => (items.length && partial[items[0].dataIndex] ? "Incomplete period: counted so far" : "") },
          },
        },
        scales: { y: { beginAtZero: true } },
      },
    });
  }

  // -- project table with summary footer -------------------------------------------
  async projects(gen) {
    const table = document.getElementById("projects");
    const [result, summary] = await Promise.all([
      this.get("projects", { sort: this.view.projectSort, descending: this.view.projectDesc }),
      this.get("summary"),
    ]);
    if (gen !== this.generation) return;
    clear(
      table.tHead,
      sortHeader(PROJECT_COLUMNS, result.sort, result.descending, (key, desc) => {
        this.view.projectSort = key;
        this.view.projectDesc = desc;
        this.guard(this.projects(this.generation).then(() => focusSort(table, key)));
      }),
    );
    const body = table.tBodies[0];
    clear(body);
    if (!result.projects.length) body.append(emptyRow(PROJECT_COLUMNS, "No projects in this view."));
    for (const row of result.projects) {
      const tr = h("tr", { dataset: { projectId: row.project_id } });
      const button = h(
        "button",
        {
          type: "button", class: "expand", "aria-expanded": "false",
          "aria-label": `Show the invited users of ${row.project}`,
        },
        "▸",
      );
      button.addEventListener("click", () => this.guard(this.toggleUsers(tr, row, button)));
      tr.append(h("td", {}, button), ...PROJECT_COLUMNS.slice(1).map((c) => cell(c, row)));
      body.append(tr);
    }
    const flagged = (on, title) => ({ class: on ? "flag" : null, title: on ? title : null });
    clear(
      table.tFoot,
      h(
        "tr",
        {},
        h(
          "td",
          { colspan: PROJECT_COLUMNS.length },
          h(
            "div",
            { class: "summary" },
            h("span", { dataset: { summary: "projects" } }, `${fmtNumber(summary.projects)} projects`),
            h("span", { dataset: { summary: "invites_sent" } }, `${fmtNumber(summary.invites_sent)} invites sent`),
            h("span", { dataset: { summary: "logins" } }, `${fmtNumber(summary.logins)} logins`),
            h(
              "span",
              {
                dataset: { summary: "tasks_unassigned" },
                ...flagged(summary.tasks_unassigned_flag, `above the threshold of ${summary.unassigned_threshold}`),
              },
              `${fmtNumber(summary.tasks_unassigned)} unassigned tasks`,
            ),
            h(
              "span",
              { dataset: { summary: "tasks_overdue" }, ...flagged(summary.tasks_overdue > 0, "overdue tasks need an owner's attention") },
              `${fmtNumber(summary.tasks_overdue)} overdue tasks`,
            ),
          ),
        ),
      ),
    );
  }

  async toggleUsers(tr, row, button) {
    const open = button.getAttribute("aria-expanded") === "true";
    const next = tr.nextElementSibling;
    if (open) {
      if (next && next.classList.contains("users-row")) next.remove();
      button.setAttribute("aria-expanded", "false");
      button.textContent = "▸";
      return;
    }
    button.setAttribute("aria-expanded", "true");
    button.textContent = "▾";
    const holder = h("td", { colspan: PROJECT_COLUMNS.length }, h("span", { class: "muted" }, "Loading users…"));
    const usersRow = h("tr", { class: "users-row", dataset: { usersOf: row.project_id } }, holder);
    tr.after(usersRow);
    let users = this.usersCache.get(row.project_id);
    if (!users) {
      users = (await this.get("users", { project: row.project_id })).users;
      this.usersCache.set(row.project_id, users);
    }
    const nested = h(
      "table",
      { class: "data nested", "aria-label": `Invited users of ${row.project}` },
      h("thead", {}, plainHeader(USER_COLUMNS)),
      h(
        "tbody",
        {},
        users.length
          ? users.map((u) => h("tr", { dataset: { userId: u.user_id } }, USER_COLUMNS.map((c) => cell(c, u))))
          : emptyRow(USER_COLUMNS, "Nobody was invited to this project before the end of the window."),
      ),
    );
    clear(holder, nested);
  }

  // -- partner leaderboard -----------------------------------------------------------
  async leaderboard(gen) {
    const table = document.getElementById("leaderboard");
    const result = await this.get("leaderboard", {
      sort: this.view.boardSort, descending: this.view.boardDesc, page: this.view.boardPage,
    });
    if (gen !== this.generation) return;
    clear(
      table.tHead,
      sortHeader(LEADERBOARD_COLUMNS, result.sort, result.descending, (key, desc) => {
        this.view.boardSort = key;
        this.view.boardDesc = desc;
        this.view.boardPage = 1;
        this.guard(this.leaderboard(this.generation).then(() => focusSort(table, key)));
      }),
    );
    clear(
      table.tBodies[0],
      result.rows.length
        ? result.rows.map((row) => h("tr", { dataset: { partnerId: row.partner_id } }, LEADERBOARD_COLUMNS.map((c) => cell(c, row))))
        : emptyRow(LEADERBOARD_COLUMNS, "No partner accounts in this view."),
    );
    const f = result.footer;
    clear(
      table.tFoot,
      result.total_rows
        ? h(
          "tr",
          {},
          h("td", { colspan: 4 }, `All ${fmtNumber(result.total_rows)} partners`),
          h("td", { class: "num", dataset: { col: "users" } }, fmtNumber(f.users)),
          h("td", { class: "num", dataset: { col: "sessions" } }, fmtNumber(f.sessions)),
          h("td", { class: "num", dataset: { col: "page_views" } }, fmtNumber(f.page_views)),
          h("td", { class: "num", dataset: { col: "avg_session_seconds" } }, fmtDuration(f.avg_session_seconds)),
          h("td", {}),
        )
        : null,
    );
    const pager = document.getElementById("leaderboard-pager");
    const go = (page) => {
      this.view.boardPage = page;
      this.guard(this.leaderboard(this.generation));
    };
    clear(
      pager,
      h("button", { type: "button", class: "secondary small", disabled: result.page <= 1, onclick: () => go(result.page - 1) }, "Previous"),
      h("span", { "aria-live": "polite" }, `Page ${result.page} of ${Math.max(result.pages, 1)}`),
      h("button", { type: "button", class: "secondary small", disabled: result.page >= result.pages, onclick: () => go(result.page + 1) }, "Next"),
    );
  }

  // -- top content tabs --------------------------------------------------------------
  async content(gen) {
    const result = await this.get("content");
    if (gen !== this.generation) return;
    const table = (columns, rows, total, noun) =>
      h(
        "table",
        { class: "data" },
        h("caption", { class: "muted small" }, `Top ${fmtNumber(rows.length)} of ${fmtNumber(total)} ${noun} by page views`),
        h("thead", {}, plainHeader(columns)),
        h("tbody", {}, rows.length ? rows.map((r) => h("tr", {}, columns.map((c) => cell(c, r)))) : emptyRow(columns, `No ${noun} were viewed in this window.`)),
      );
    clear(
      document.getElementById("panel-resources"),
      table(
        [{ key: "title", label: "Resource", wrap: true }, { key: "kind", label: "Kind" }, { key: "views", label: "Views", num: true }, { key: "unique_users", label: "Unique users", num: true }],
        result.resources, result.total_resources, "resources",
      ),
    );
    clear(
      document.getElementById("panel-rooms"),
      table(
        [{ key: "room", label: "Room", wrap: true }, { key: "views", label: "Views", num: true }, { key: "unique_users", label: "Unique users", num: true }],
        result.rooms, result.total_rooms, "rooms",
      ),
    );
  }

  setupTabs() {
    const tabs = [...document.querySelectorAll('.tabs [role="tab"]')];
    const select = (tab) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      }
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (e) => {
        if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
        const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        select(next);
        next.focus();
      });
    });
  }

  // -- risk list ---------------------------------------------------------------------
  async risks(gen) {
    const result = await this.get("risks");
    if (gen !== this.generation) return;
    this.lastRisks = result;
    this.renderRisks();
  }

  renderRisks() {
    const result = this.lastRisks;
    if (!result) return;
    const levels = new Map(result.projects.map((p) => [p.project_id, p.risk_level]));
    this.renderRiskProjects(result.projects);
    const counts = Object.entries(result.counts).filter(([, n]) => n > 0);
    clear(
      document.getElementById("risk-counts"),
      counts.map(([signal, n]) => h("span", { class: "chip", dataset: { signal } }, `${label(signal)}: ${fmtNumber(n)}`)),
    );
    const list = document.getElementById("risks");
    const shown = this.view.risksAll ? result.signals : result.signals.slice(0, RISKS_SHOWN);
    clear(
      list,
      result.signals.length
        ? shown.map((s) => {
          const level = s.entity_type === "project" ? levels.get(s.entity_id) : null;
          return h(
            "li",
            { dataset: { signal: s.signal, entityId: s.entity_id, severity: s.severity } },
            h("span", { class: `sev sev-${s.severity}`, title: "this signal's severity" }, s.severity),
            h("strong", {}, label(s.signal)),
            ` — ${s.entity_type} `,
            h("span", {}, s.entity),
            s.account && s.account !== s.entity ? ` (${s.account})` : "",
            level
              ? h("span", { class: "muted level", dataset: { level }, title: "the project's risk level, from all its signals" }, `project risk ${level}`)
              : null,
            h("div", { class: "why" }, numbersText(s.numbers)),
            h("div", { class: "why" }, `Next step: ${s.next_step}`),
          );
        })
        : h("li", { class: "muted" }, "No risk signals in this view."),
    );
    const more = document.getElementById("risks-more");
    more.hidden = result.signals.length <= RISKS_SHOWN;
    more.textContent = this.view.risksAll ? "Show fewer" : `Show all ${fmtNumber(result.signals.length)}`;
  }

  /** The projects at medium or high risk, in the API's order (the analysis reads the same list). */
  renderRiskProjects(projects) {
    const atRisk = projects.filter((p) => p.risk_level !== "low");
    const shown = this.view.risksAll ? atRisk : atRisk.slice(0, PROJECTS_AT_RISK_SHOWN);
    clear(
      document.getElementById("risk-projects"),
      atRisk.length
        ? [
          ...shown.map((p) =>
            h(
              "li",
              { dataset: { projectId: p.project_id, level: p.risk_level } },
              h("span", { class: `sev sev-${p.risk_level}`, title: "the project's risk level" }, p.risk_level),
              h("strong", {}, p.project),
              p.owner ? ` — owner ${p.owner}` : "",
              h("div", { class: "why" }, p.risk_reasons.map(reasonText).join(" · ")),
            )),
          atRisk.length > shown.length
            ? h("li", { class: "muted more" }, `…and ${fmtNumber(atRisk.length - shown.length)} more at risk (Show all, below, lists them)`)
            : null,
        ]
        : h("li", { class: "muted" }, "No project in this view is at medium or high risk."),
    );
  }
}

const PROJECTS_AT_RISK_SHOWN = 5;

function reasonText(reason) {
  const [name, health] = reason.split(":");
  return health ? `On-time health ${formatValue(health, "text").toLowerCase()}` : label(name);
}

const DAY_MS = 86_400_000;

/** [start, end) of the bucket labelled ``period`` (a day, an ISO week's Monday, a month's first day). */
function bucketSpan(period, bucket) {
  const start = new Date(`${period}T00:00:00Z`);
  if (bucket === "month") return [start, new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1))];
  return [start, new Date(start.getTime() + (bucket === "week" ? 7 : 1) * DAY_MS)];
}

/** For each trend bucket: true when the window covers only part of it (counts are partial). */
export function partialBuckets(rows, bucket, scope) {
  const from = new Date(scope.from).getTime();
  const until = new Date(scope.to).getTime();
  return rows.map((r) => {
    const [start, end] = bucketSpan(r.period, bucket);
    return start.getTime() < from || end.getTime() > until;
  });
}

/** The note under the chart that says which buckets are incomplete and by how much. */
function partialNote(rows, partial, bucket, scope) {
  const notes = [];
  const last = rows.length - 1;
  if (last >= 0 && partial[last]) {
    const [start, end] = bucketSpan(rows[last].period, bucket);
    const until = Math.min(new Date(scope.to).getTime(), end.getTime());
    const unit = bucket === "day" ? 3_600_000 : DAY_MS;
    const done = formatValue((until - start.getTime()) / unit, "number");
    const whole = Math.round((end - start) / unit);
    const span = bucket === "day" ? fmtDay(start) : `${fmtDay(start)} – ${fmtDay(new Date(end.getTime() - 1))}`;
    notes.push(
      `The last ${bucket} (${span}) is incomplete: ${done} of ${whole} ${bucket === "day" ? "hours" : "days"} counted so far, ` +
      `so it reads lower than a full ${bucket}. Its line is dashed.`,
    );
  }
  if (rows.length > 1 && partial[0]) {
    notes.push(`The first ${bucket} begins before the window and counts only its days inside it (dashed too).`);
  }
  return notes.join(" ");
}

const NUMBER_LABELS = { change: "Recent vs previous", overdue_share: "Share overdue", portals: "Portals" };

/** A signal's numbers in words, each value formatted as its field says (0.25 → 25%). */
function numbersText(numbers) {
  return Object.entries(numbers || {})
    .filter(([, v]) => v != null)
    .map(([k, v]) => `${NUMBER_LABELS[k] || label(k)} ${formatField(k, v)}`)
    .join(" · ");
}

function focusSort(table, key) {
  const button = table.querySelector(`button.sort[data-sort="${key}"]`);
  if (button) button.focus();
}
