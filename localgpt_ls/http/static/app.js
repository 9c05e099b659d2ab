// LocalGPT web UI: plain DOM, no build step. Every piece of user, model or file text goes in
// through textContent, never innerHTML, so nothing it contains can run as markup.
"use strict";

const UI_HEADERS = { "X-LocalGPT-UI": "1" };
const $ = (id) => document.getElementById(id);
let sessionId = null;
let workspace = "";
let running = null; // AbortController of the chat being streamed

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

class AuthError extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { ...UI_HEADERS, ...(options.headers || {}) },
  });
  if (response.status === 401) {
    $("auth-banner").hidden = false;
    throw new AuthError("not signed in");
  }
  return response;
}

async function apiJson(path, options) {
  const response = await api(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function fillList(dl, entries) {
  dl.replaceChildren();
  for (const [key, value] of entries) {
    dl.append(el("dt", "", key));
    const shown = value === null || value === undefined ? "—"
      : typeof value === "object" ? JSON.stringify(value) : String(value);
    dl.append(el("dd", "", shown));
  }
}

// --- status, stats, heartbeat ---------------------------------------------------------------

async function refreshStatus() {
  try {
    const s = await apiJson("/api/status");
    workspace = s.workspace || "";
    $("status-line").textContent = `v${s.version} · ${s.workspace} · model ${s.default_model}`;
    if (s.memory) fillList($("stats"), Object.entries(s.memory));
    else fillList($("stats"), [["index", (s.errors && s.errors.memory) || "unavailable"]]);
    if (s.heartbeat) fillList($("heartbeat-status"), Object.entries(s.heartbeat));
    else fillList($("heartbeat-status"),
                  [["heartbeat", (s.errors && s.errors.heartbeat) || "unavailable"]]);
    const alerts = $("alerts");
    alerts.replaceChildren();
    for (const alert of s.alerts || []) {
      alerts.append(el("li", "", `${new Date(alert.time * 1000).toLocaleString()}: ${alert.text}`));
    }
  } catch (err) {
    if (!(err instanceof AuthError)) $("status-line").textContent = `status: ${err.message}`;
  }
}

$("reindex").addEventListener("click", async () => {
  const button = $("reindex");
  button.disabled = true;
  try {
    await apiJson("/api/memory/reindex", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
    });
  } catch (err) {
    if (!(err instanceof AuthError)) alert(`Reindex failed: ${err.message}`);
  } finally {
    button.disabled = false;
    refreshStatus();
  }
});

// --- memory search ----------------------------------------------------------------------------

function editorLink(file, line) {
  // Opens the hit in VS Code when it is installed; the text itself is the file:line to read.
  if (!workspace) return null;
  return `vscode://file${encodeURI(workspace.replace(/\\/g, "/"))}/${encodeURI(file)}:${line}`;
}

$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = $("search-q").value.trim();
  if (!q) return;
  const info = $("search-info");
  const list = $("search-results");
  info.textContent = "searching…";
  list.replaceChildren();
  try {
    const data = await apiJson(`/api/memory/search?q=${encodeURIComponent(q)}&limit=8`);
    info.textContent = `${data.results.length} result(s)` + (data.mode ? ` · ${data.mode}` : "");
    for (const hit of data.results) {
      const item = el("li", "result");
      const loc = el("a", "loc", `${hit.file}:${hit.line_start}`);
      const href = editorLink(hit.file, hit.line_start);
      if (href) loc.href = href;
      item.append(loc, el("span", "muted", `  score ${Number(hit.score).toFixed(3)}`));
      item.append(el("pre", "snippet", hit.content));
      list.append(item);
    }
  } catch (err) {
    info.textContent = err instanceof AuthError ? "" : `search failed: ${err.message}`;
  }
});

// --- chat (streamed over Server-Sent Events read from a fetch body) -------------------------

function addMessage(role, text) {
  const node = el("div", `msg ${role}`);
  node.append(el("span", "meta", role === "user" ? "you" : role));
  const body = el("span", "body", text);
  node.append(body);
  $("chat-log").append(node);
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
  return { node, body };
}

function parseSse(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return null;
  try {
    return { event, data: JSON.parse(data.join("\n")) };
  } catch {
    return null;
  }
}

function handleEvent(message, answer) {
  const { event, data } = message;
  if (event === "session") {
    sessionId = data.session_id;
    $("session-label").textContent = `session ${sessionId}`;
  } else if (event === "delta") {
    answer.node.classList.add("streaming");
    answer.body.textContent += data.text;
  } else if (event === "tool_start") {
    answer.node.insertBefore(el("div", "tool", `→ ${data.name} ${JSON.stringify(data.arguments)}`),
                             answer.body);
  } else if (event === "tool_end") {
    answer.node.insertBefore(el("div", "tool", `${data.is_error ? "✗" : "✓"} ${data.name}`),
                             answer.body);
  } else if (event === "error") {
    answer.node.classList.add("error");
    answer.node.append(el("div", "tool", `error: ${data.message}`));
  } else if (event === "done") {
    if (!answer.body.textContent) answer.body.textContent = data.response;
    answer.node.querySelector(".meta").textContent = data.model;
    answer.node.dataset.done = "1";
  }
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
}

async function sendChat(text) {
  addMessage("user", text);
  const answer = addMessage("assistant", "");
  const controller = new AbortController();
  running = controller;
  $("chat-send").disabled = true;
  $("chat-stop").hidden = false;
  try {
    const response = await api("/api/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ message: text, session_id: sessionId }),
      signal: controller.signal,
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(data.error || `HTTP ${response.status}`);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const message = parseSse(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (message) handleEvent(message, answer);
      }
    }
  } catch (err) {
    if (err.name === "AbortError") {
      answer.node.append(el("div", "tool", "stopped"));
    } else if (!(err instanceof AuthError)) {
      handleEvent({ event: "error", data: { message: err.message } }, answer);
    }
  } finally {
    answer.node.classList.remove("streaming");
    running = null;
    $("chat-send").disabled = false;
    $("chat-stop").hidden = true;
  }
}

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text || running) return;
  input.value = "";
  sendChat(text);
});

$("chat-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("chat-form").requestSubmit();
  }
});

$("chat-stop").addEventListener("click", () => running && running.abort());

$("chat-new").addEventListener("click", () => {
  sessionId = null;
  $("session-label").textContent = "";
  $("chat-log").replaceChildren();
});

refreshStatus();
setInterval(refreshStatus, 30000);
