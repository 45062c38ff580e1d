// The assistant panel: POST /api/ask/stream, read its server-sent events as they arrive
// (tool_call, tool_result, token, final), and show under each answer the data and the
// tool calls it came from, with right/wrong buttons that POST /api/feedback.

import { ApiError, getJSON, postJSON, postStream } from "./api.js";
import { clear, h, label } from "./dom.js";
import { MISSING, formatField, formatValue } from "./format.js";

const ROWS_SHOWN = 10;

/** Answer text as paragraphs and list items; **bold** becomes <strong>. Text nodes only. */
function richText(text) {
  const blocks = [];
  let list = null;
  for (const line of String(text).split("\n")) {
    const item = line.match(/^\s*(?:\d+\.|[-•*])\s+(.*)$/);
    if (item) {
      if (!list) {
        list = h(/^\s*\d/.test(line) ? "ol" : "ul", {});
        blocks.push(list);
      }
      list.append(h("li", {}, inline(item[1])));
      continue;
    }
    list = null;
    if (line.trim()) blocks.push(h("p", {}, inline(line)));
  }
  return blocks;
}

function inline(text) {
  return text.split(/\*\*(.+?)\*\*/g).map((part, i) => (i % 2 ? h("strong", {}, part) : part));
}

/** How the fields of a group (an object field named ``parent``) are shown, when not by name. */
const GROUP_FORMATS = { weights: "number", change_pct: "change", thresholds: null };

/** One value of a data table, formatted as the dashboard formats it (format.js). */
function show(key, value, parent = "") {
  if (value == null) return MISSING;
  const group = Object.hasOwn(GROUP_FORMATS, parent) ? GROUP_FORMATS[parent] : undefined;
  if (group === "change" && typeof value === "number") return `${value > 0 ? "+" : ""}${formatValue(value, "number")}%`;
  if (group && typeof value === "number") return formatValue(value, group);
  if (typeof value === "number" && key.endsWith("_pct")) return `${formatValue(value, "number")}%`;
  if (Array.isArray(value)) return value.map((v) => show(key, v)).join(", ");
  if (typeof value === "object") {
    if ("action" in value && "at" in value) return `${formatValue(value.action, "text")} · ${formatValue(value.at, "datetime")}`;
    return Object.entries(value)
      .filter(([k, v]) => v != null && !k.endsWith("_id"))
      .map(([k, v]) => `${label(k)} ${show(k, v, key)}`)
      .join(" · ");
  }
  return formatField(key, value);
}

/** A key/value row worth showing: no ids, no empty values (no "Project id —" filler). */
const worthShowing = ([key, value]) => value != null && value !== "" && !key.endsWith("_id")
  && !(Array.isArray(value) && !value.length);

/** The tables of one tool result: lists of records, and flat records as key/value pairs. */
function dataTables(envelope) {
  if (envelope.error) return [h("p", { class: "muted" }, `${envelope.tool}: ${envelope.message || envelope.error}`)];
  const data = envelope.data || {};
  const out = [];
  const flat = [];
  const scroll = (table) => h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": table.dataset.table ? label(table.dataset.table) : "Data" }, table);
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value) && value.length && typeof value[0] === "object" && value[0] !== null) {
      const rows = value.slice(0, ROWS_SHOWN);
      // columns that hold something in the rows shown (an all-empty column is filler)
      const columns = Object.keys(value[0]).filter(
        (c) => !c.endsWith("_id") && c !== "why" && rows.some((r) => r[c] != null && r[c] !== ""),
      );
      const numeric = (c) => rows.every((r) => r[c] == null || typeof r[c] === "number");
      out.push(
        scroll(h(
          "table",
          { class: "data", dataset: { table: key } },
          h("caption", { class: "muted" }, `${label(key)}${value.length > rows.length ? ` (first ${rows.length} of ${value.length})` : ""}`),
          h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: numeric(c) ? "num" : null }, label(c))))),
          h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: numeric(c) ? "num" : null, dataset: { col: c } }, show(c, r[c])))))),
        )),
      );
    } else if (value && typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value).filter(worthShowing);
      if (!entries.length) continue;
      out.push(
        scroll(h(
          "table",
          { class: "data", dataset: { table: key } },
          h("caption", { class: "muted" }, label(key)),
          h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, label(k)), h("td", { dataset: { key: k } }, show(k, v, key))))),
        )),
      );
    } else if (!Array.isArray(value) && worthShowing([key, value])) {
      flat.push([key, value]);
    }
  }
  if (flat.length) {
    out.unshift(scroll(h("table", { class: "data", dataset: { table: "" } }, h("tbody", {}, flat.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, label(k)), h("td", { dataset: { key: k } }, show(k, v))))))));
  }
  return out;
}

export class ChatPanel {
  constructor({ context }) {
    this.context = context; // () => {as_of, filters, view, params, windowText}
    this.conversationId = null;
    this.busy = false;
    this.messages = document.getElementById("messages");
    this.form = document.getElementById("ask");
    this.input = document.getElementById("question");
    this.sendButton = document.getElementById("send");
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.send(this.input.value);
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send(this.input.value);
      }
    });
    document.getElementById("chat-new").addEventListener("click", () => {
      this.conversationId = null;
      clear(this.messages);
      this.input.focus();
    });
  }

  /** Questions that follow the page's view and filters, from GET /api/suggestions. */
  async refreshSuggestions() {
    const ctx = this.context();
    const box = document.getElementById("suggestions");
    const query = new URLSearchParams();
    for (const key of ["range", "from", "to", "partner_type"]) {
      if (ctx.params.get(key)) query.set(key, ctx.params.get(key));
    }
    for (const account of ctx.params.getAll("account")) query.append("account", account);
    query.set("view", ctx.view);
    const result = await getJSON(`/api/suggestions?${query}`);
    this.analysis = result.analysis;
    document.getElementById("chat-context").textContent = `Questions are about this view: ${ctx.describe}`;
    clear(
      box,
      h("button", { type: "button", class: "analysis", onclick: () => this.send(this.analysis) }, "Analyse this view"),
      result.questions.map((q) => h("button", { type: "button", onclick: () => this.send(q) }, q)),
    );
  }

  /** The automatic analysis the panel opens with (once per page). */
  async openWithAnalysis() {
    if (this.opened) return;
    this.opened = true;
    if (!this.analysis) await this.refreshSuggestions();
    await this.send(this.analysis, { automatic: true });
  }

  async send(text, { automatic = false } = {}) {
    const question = String(text || "").trim();
    if (!question || this.busy) return;
    this.busy = true;
    this.sendButton.disabled = true;
    if (!automatic) this.input.value = "";
    const ctx = this.context();
    this.messages.append(
      h("div", { class: "msg user" }, automatic ? h("span", { class: "muted small" }, "Automatic analysis: ") : null, question),
    );
    const answer = h("div", { class: "msg assistant", "aria-busy": "true" });
    const status = h("div", { class: "status" }, "Thinking…");
    const body = h("div", { class: "answer" });
    answer.append(status, body);
    this.messages.append(answer);
    this.scroll();
    const calls = [];
    let streamed = "";
    const payload = { question, filters: ctx.filters };
    if (ctx.as_of) payload.as_of = ctx.as_of;
    // The page's period is the question's unless it names its own (the card and the
    // answer then count the same days).
    const window = pageWindow(ctx.params);
    if (window) payload.window = window;
    if (this.conversationId) payload.conversation_id = this.conversationId;
    let final = null;
    try {
      await postStream("/api/ask/stream", payload, (event) => {
        if (event.type === "tool_call") {
          calls.push(event.data);
          status.textContent = `Calling ${event.data.name || "a tool"}…`;
        } else if (event.type === "tool_result") {
          status.textContent = `Got ${event.data.name || "the"} results, writing the answer…`;
        } else if (event.type === "token") {
          streamed += event.data.text || "";
          clear(body, richText(streamed));
          this.scroll();
        } else if (event.type === "final") {
          final = event.data;
        } else if (event.type === "error") {
          throw new ApiError(500, event.data.message || "the assistant failed");
        }
      });
      if (!final) throw new ApiError(500, "the answer stream ended without a final answer");
      this.conversationId = final.conversation_id;
      status.remove();
      clear(body, richText(final.answer));
      answer.dataset.messageSeq = final.message_seq;
      this.renderDetails(answer, final, { openData: !automatic });
    } catch (error) {
      status.remove();
      answer.classList.add("error");
      clear(body, h("p", {}, `The assistant could not answer: ${error.message}`));
    } finally {
      answer.setAttribute("aria-busy", "false");
      this.busy = false;
      this.sendButton.disabled = false;
      this.scroll();
    }
  }

  renderDetails(answer, final, { openData = true } = {}) {
    const envelopes = final.data || [];
    const tables = envelopes.flatMap(dataTables);
    if (tables.length) {
      answer.append(h("details", { class: "data-details", open: openData }, h("summary", {}, "Data"), h("div", { class: "data-tables" }, tables)));
    }
    if ((final.tool_calls || []).length) {
      answer.append(
        h(
          "details",
          { class: "tool-details" },
          h("summary", {}, `Tool calls (${final.tool_calls.length})`),
          h(
            "ul",
            { class: "tools" },
            final.tool_calls.map((c) =>
              h("li", {}, `${c.name}(${JSON.stringify(c.args)})${c.ok ? "" : " — failed"}${c.ms != null ? ` · ${Math.round(c.ms)} ms` : ""}`)),
          ),
        ),
      );
    }
    const note = h("span", { class: "muted", "aria-live": "polite" });
    const vote = (verdict, other) => async (e) => {
      const button = e.currentTarget;
      try {
        await postJSON("/api/feedback", {
          conversation_id: final.conversation_id, message_seq: final.message_seq, verdict,
        });
        button.setAttribute("aria-pressed", "true");
        other().setAttribute("aria-pressed", "false");
        note.textContent = verdict === "right" ? "Thanks — marked right." : "Thanks — marked wrong.";
      } catch (error) {
        note.textContent = `Feedback not recorded: ${error.message}`;
      }
    };
    let right = null;
    let wrong = null;
    right = h("button", { type: "button", class: "secondary", "aria-pressed": "false", "aria-label": "This answer is right", onclick: vote("right", () => wrong) }, "Right");
    wrong = h("button", { type: "button", class: "secondary", "aria-pressed": "false", "aria-label": "This answer is wrong", onclick: vote("wrong", () => right) }, "Wrong");
    answer.append(
      h(
        "div",
        { class: "meta" },
        h("span", { class: `badge ${final.grounded ? "up" : "down"}`, title: "every number checked against the tool results" }, final.grounded ? "grounded" : "not grounded"),
        right,
        wrong,
        note,
      ),
    );
  }

  scroll() {
    this.messages.scrollTop = this.messages.scrollHeight;
  }
}

/** The dashboard's period as the ask API takes it: a named range, or from and to. */
export function pageWindow(params) {
  if (params.get("from") && params.get("to")) return { from: params.get("from"), to: params.get("to") };
  if (params.get("range")) return { range: params.get("range") };
  return null;
}
