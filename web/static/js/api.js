// Same-origin API calls. The page itself needs no key; when the API answers 401 the
// user is asked for the workspace's API key once, it is kept in sessionStorage (this tab
// only) and every call is retried with "Authorization: Bearer <key>".

const KEY = "portalpulse.apiKey";
let pendingKey = null;

export class ApiError extends Error {
  /** ``problems``: a 422's list of every rejected value (parameter, value, kind,
   * message, candidates), empty when the answer has none. */
  constructor(status, message, problems = []) {
    super(message);
    this.status = status;
    this.problems = problems;
  }
}

/** The ``problems`` list of an error body (every unknown or ambiguous name), or []. */
export function bodyProblems(body) {
  return body && Array.isArray(body.problems) ? body.problems : [];
}

/** FastAPI's error body as one readable line: a string, or each field's problem. */
export function detailMessage(body, fallback) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => `${(d.loc || []).filter((p) => p !== "query" && p !== "body").join(".")}: ${d.msg}`)
      .join("; ");
  }
  return fallback;
}

function askForKey(message) {
  if (pendingKey) return pendingKey;
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  document.getElementById("key-message").textContent = message;
  input.value = "";
  pendingKey = new Promise((resolve) => {
    const cancel = document.getElementById("key-cancel");
    const done = (value) => {
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      pendingKey = null;
      resolve(value);
    };
    const onCancel = () => done(null);
    const onClose = () => done(dialog.returnValue === "ok" ? input.value.trim() || null : null);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
  return pendingKey;
}

/** fetch() with the stored key; on 401 asks for a key (up to three tries). */
export async function apiFetch(path, init = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const used = sessionStorage.getItem(KEY);
    const headers = new Headers(init.headers || {});
    if (used) headers.set("Authorization", `Bearer ${used}`);
    const response = await fetch(path, { ...init, headers });
    if (response.status !== 401) return response;
    if (sessionStorage.getItem(KEY) !== used) continue; // another call already got a new key
    if (attempt >= 3) throw new ApiError(401, "The API key was not accepted.");
    const body = await response.json().catch(() => null);
    const why = detailMessage(body, "This workspace needs an API key.");
    const key = await askForKey(
      used ? `That key was not accepted (${why}). Enter another.` : `${why} It is kept in this browser tab only.`,
    );
    if (!key) throw new ApiError(401, "An API key is needed to read this workspace's data.");
    sessionStorage.setItem(KEY, key);
  }
}

export async function getJSON(path) {
  const response = await apiFetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(
      response.status,
      detailMessage(body, `${response.status} ${response.statusText}`),
      bodyProblems(body),
    );
  }
  return body;
}

export async function postJSON(path, payload) {
  const response = await apiFetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(
      response.status,
      detailMessage(body, `${response.status} ${response.statusText}`),
      bodyProblems(body),
    );
  }
  return body;
}

/** POST and read server-sent events from the response body as they arrive. */
export async function postStream(path, payload, onEvent) {
  const response = await apiFetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(payload),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(
      response.status,
      detailMessage(body, `${response.status} ${response.statusText}`),
      bodyProblems(body),
    );
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += value.replaceAll("\r\n", "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = parseEvent(block);
      if (event) onEvent(event);
    }
    if (done) break;
  }
}

function parseEvent(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  try {
    return { type, data: JSON.parse(data.join("\n")) };
  } catch {
    return { type, data: { text: data.join("\n") } };
  }
}
