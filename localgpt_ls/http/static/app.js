// LocalGPT web UI: plain DOM, no build step. Markdown (replies and notes) is rendered by marked
// and always passed through DOMPurify before it touches the page; every other piece of user,
// model or file text goes in through textContent. Views are addressed by the URL fragment
// (#/chat, #/search?q=, #/graph?center=, #/note?path=&lines=), so Back and reload work.
"use strict";

const UI_HEADERS = { "X-LocalGPT-UI": "1" };
const SESSION_KEY = "localgpt.session";
const $ = (id) => document.getElementById(id);
const state = {
  sessionId: localStorage.getItem(SESSION_KEY),
  running: null, // AbortController of the chat being streamed
  status: null,
  graph: null, // the ForceGraph instance
  graphCenter: null,
  note: null, // the note shown in the viewer
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
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

function postJson(path, body, method = "POST") {
  return apiJson(path, {
    method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
}

// --- words for numbers and times -----------------------------------------------------------

const NUM = new Intl.NumberFormat();
const plural = (n, one, many) => `${NUM.format(n)} ${n === 1 ? one : many || one + "s"}`;

function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 45) return "just now";
  if (s < 90) return "a minute ago";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return plural(Math.round(s / 3600), "hour") + " ago";
  return plural(Math.round(s / 86400), "day") + " ago";
}

function clock(date) {
  const d = typeof date === "string" ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) return "";
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

function whenShort(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return ago((Date.now() - d.getTime()) / 1000);
}

// --- markdown -------------------------------------------------------------------------------

const CITE = /(^|[\s(\[`"'])((?:[\w.-]+\/)*[\w.-]+\.md)(?::(\d+)(?:\s*[-–]\s*(\d+))?)?/g;

function sanitize(html) {
  return window.DOMPurify.sanitize(html, {
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe"],
    FORBID_ATTR: ["style"],
  });
}

function renderMarkdown(text) {
  // marked makes HTML of the markdown, raw HTML in it included; DOMPurify then removes
  // anything that could run (scripts, handlers, javascript: URLs).
  const html = window.marked.parse(text, { gfm: true, breaks: false, async: false });
  const frag = document.createElement("div");
  frag.innerHTML = sanitize(html);
  for (const a of frag.querySelectorAll("a[href]")) {
    const href = a.getAttribute("href");
    if (/^https?:/i.test(href)) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
  }
  return frag;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function noteHref(file, from, to, heading) {
  const q = new URLSearchParams({ path: file });
  if (from) q.set("lines", to && to !== from ? `${from}-${to}` : String(from));
  if (heading) q.set("heading", heading);
  return `#/note?${q}`;
}

// Paths like knowledge/x.md:12-20 in model text become links that open the note viewer.
function linkCitations(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement.closest("a, pre") ? NodeFilter.FILTER_REJECT
      : NodeFilter.FILTER_ACCEPT),
  });
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode);
  for (const node of texts) {
    const text = node.nodeValue;
    CITE.lastIndex = 0;
    if (!CITE.test(text)) continue;
    CITE.lastIndex = 0;
    const frag = document.createDocumentFragment();
    let last = 0;
    let m;
    while ((m = CITE.exec(text))) {
      const start = m.index + m[1].length;
      frag.append(text.slice(last, start));
      const label = m[0].slice(m[1].length);
      const a = el("a", "cite", label);
      a.href = noteHref(m[2], m[3] && Number(m[3]), m[4] && Number(m[4]));
      a.title = `Open ${m[2]}`;
      frag.append(a);
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    node.replaceWith(frag);
  }
}

// --- status in words ------------------------------------------------------------------------

function modelWords(s) {
  const m = s.model || {};
  if (m.error) return { text: `Model problem: ${m.error}`, warn: true };
  if (m.memory_only) {
    return {
      text: "Memory-only mode: no model is configured, so answers quote your notes. "
        + "Set ANTHROPIC_API_KEY or OPENAI_API_KEY, or run Ollama, to use a model.",
      warn: true,
    };
  }
  const how = m.configured === "auto" ? " (chosen automatically)" : "";
  return { text: `Model: ${m.name}${how}`, warn: false };
}

function indexWords(s, updatedAt) {
  const mem = s.memory;
  if (!mem) return (s.errors && s.errors.memory) || "The index is not available.";
  const notes = plural(mem.total_files, "note");
  let meaning;
  if (!mem.total_chunks) meaning = "nothing to search yet";
  else if (mem.embedding_model === "none" || !mem.embedding_model) {
    meaning = "searchable by keyword (meaning search is off)";
  } else if (mem.embedded_chunks >= mem.total_chunks) meaning = "all searchable by meaning";
  else {
    const pct = Math.floor((100 * mem.embedded_chunks) / mem.total_chunks);
    meaning = `searchable by keyword; ${pct}% searchable by meaning so far`;
  }
  const updated = updatedAt ? `; updated ${ago(Date.now() / 1000 - updatedAt)}` : "";
  return `${notes}, ${meaning}${updated}.`;
}

// The runner's outcome labels ("ok", "alert", "skipped:<reason>", "failed:<error>") in words.
const SKIPS = {
  "empty-file": "skipped, HEARTBEAT.md has no tasks",
  busy: "skipped, another check was running",
  "outside-active-hours": "skipped, outside active hours",
};

function outcomeWords(label, delivered, duplicate) {
  const [kind, ...rest] = String(label || "").split(":");
  const reason = rest.join(":");
  if (kind === "ok") return "nothing needed attention";
  if (kind === "alert") {
    if (duplicate) return "it found the same thing as earlier today (not repeated)";
    return delivered ? "it found something and told you" : "it found something";
  }
  if (kind === "skipped") return SKIPS[reason] || `skipped (${reason})`;
  if (kind === "failed") return `it failed: ${reason}`;
  return label || "";
}

function heartbeatWords(hb) {
  if (!hb) return "The heartbeat status is not available.";
  if (hb.config_error) return `The heartbeat is misconfigured: ${hb.config_error}`;
  if (!hb.enabled) return "The heartbeat is off ([heartbeat] interval or enabled in config.toml).";
  const parts = [];
  if (hb.last_run) {
    const what = outcomeWords(hb.outcome, hb.delivered, hb.duplicate);
    parts.push(`Last check ${clock(hb.last_run)}${what ? ", " + what : ""}`);
  } else parts.push(`Checks HEARTBEAT.md every ${hb.interval}; no check yet`);
  if (hb.next_run) parts.push(`next ${clock(hb.next_run)}`);
  else if (!hb.runner) parts.push("no process is running the schedule now");
  if (hb.active_now === false && hb.active_hours) {
    parts.push(`outside active hours (${hb.active_hours.start}–${hb.active_hours.end})`);
  }
  return parts.join("; ") + ".";
}

async function refreshStatus() {
  try {
    const s = await apiJson("/api/status");
    state.status = s;
    const model = modelWords(s);
    $("model-line").textContent = model.text;
    $("model-line").classList.toggle("warn", model.warn);
    const updated = s.watcher && s.watcher.last_sync;
    $("index-line").textContent = indexWords(s, updated);
    $("heartbeat-line").textContent = heartbeatWords(s.heartbeat);
    $("about-line").textContent = `LocalGPT ${s.version} · workspace ${s.workspace}`;
    const alerts = $("alerts");
    alerts.replaceChildren();
    for (const alert of s.alerts || []) {
      alerts.append(el("li", "", `${clock(new Date(alert.time * 1000))}: ${alert.text}`));
    }
  } catch (err) {
    if (!(err instanceof AuthError)) $("model-line").textContent = `Cannot reach the daemon: ${err.message}`;
  }
}

// --- reindex with progress ------------------------------------------------------------------

const PHASES = { scan: "Looking for notes", index: "Reading notes", embed: "Learning their meaning" };

function showProgress(p) {
  const box = $("reindex-progress");
  box.hidden = !p.running;
  if (!p.running) return;
  const bar = $("reindex-bar");
  if (p.total > 0) {
    bar.max = p.total;
    bar.value = p.done;
  } else bar.removeAttribute("value");
  const count = p.total > 0 ? ` ${NUM.format(p.done)} of ${NUM.format(p.total)}` : "";
  $("reindex-text").textContent = `${PHASES[p.phase] || "Working"}…${count}`;
}

async function reindex() {
  const button = $("reindex");
  button.disabled = true;
  try {
    let p = await postJson("/api/memory/reindex", { background: true });
    showProgress(p);
    while (p.running) {
      await new Promise((r) => setTimeout(r, 300));
      p = await apiJson("/api/memory/reindex/progress");
      showProgress(p);
    }
    if (p.error) $("index-line").textContent = `Reindex failed: ${p.error}`;
    else if (p.report) {
      const r = p.report;
      const changed = r.files_indexed + r.files_removed;
      $("reindex-text").textContent = "";
      await refreshStatus();
      $("index-line").textContent += changed
        ? ` Reindexed: ${plural(r.files_indexed, "note")} read again, ${plural(r.files_removed, "removed")}.`
        : " Reindexed: everything was up to date.";
    }
  } catch (err) {
    if (!(err instanceof AuthError)) $("index-line").textContent = `Reindex failed: ${err.message}`;
  } finally {
    $("reindex-progress").hidden = true;
    button.disabled = false;
  }
}

// --- sessions -------------------------------------------------------------------------------

function setSession(id, title) {
  state.sessionId = id;
  if (id) localStorage.setItem(SESSION_KEY, id);
  else localStorage.removeItem(SESSION_KEY);
  $("chat-title").textContent = title || (id ? "Conversation" : "New conversation");
  for (const li of $("sessions").children) li.classList.toggle("current", li.dataset.id === id);
}

async function refreshSessions() {
  let data;
  try {
    data = await apiJson("/api/sessions");
  } catch (err) {
    return;
  }
  const list = $("sessions");
  list.replaceChildren();
  $("sessions-empty").hidden = data.sessions.length > 0;
  for (const s of data.sessions) {
    const li = el("li", s.id === state.sessionId ? "current" : "");
    li.dataset.id = s.id;
    const open = el("button", "session-open");
    open.type = "button";
    open.append(el("span", "session-title", s.title || s.preview || "(empty)"),
      el("span", "session-when", `${whenShort(s.updated)} · ${plural(s.messages, "message")}`));
    open.addEventListener("click", () => { location.hash = "#/chat"; resumeSession(s.id); });
    const rename = el("button", "icon", "Rename");
    rename.type = "button";
    rename.setAttribute("aria-label", `Rename “${s.title || s.preview}”`);
    rename.addEventListener("click", () => renameSession(s));
    const del = el("button", "icon danger", "Delete");
    del.type = "button";
    del.setAttribute("aria-label", `Delete “${s.title || s.preview}”`);
    del.addEventListener("click", () => deleteSession(s));
    const actions = el("span", "session-actions");
    actions.append(rename, del);
    li.append(open, actions);
    list.append(li);
    if (s.id === state.sessionId) $("chat-title").textContent = s.title || s.preview || "Conversation";
  }
}

async function renameSession(s) {
  const title = prompt("Name this conversation:", s.title || s.preview || "");
  if (title === null) return;
  await postJson(`/api/sessions/${encodeURIComponent(s.id)}`, { title }, "PATCH");
  await refreshSessions();
}

async function deleteSession(s) {
  if (!confirm(`Delete the conversation “${s.title || s.preview}”? This cannot be undone.`)) return;
  await apiJson(`/api/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
  if (state.sessionId === s.id) newChat();
  await refreshSessions();
}

function newChat() {
  if (state.running) state.running.abort();
  setSession(null);
  $("chat-log").replaceChildren();
  $("chat-empty").hidden = false;
  $("chat-input").focus();
}

async function resumeSession(id) {
  let data;
  try {
    data = await apiJson(`/api/sessions/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!(err instanceof AuthError)) setSession(null);
    return;
  }
  setSession(id, data.title);
  const log = $("chat-log");
  log.replaceChildren();
  let answer = null;
  const pendingCards = new Map();
  // A failed turn is shown where it happened, as it was while the answer streamed.
  const failed = new Map();
  for (const e of data.errors || []) {
    if (!failed.has(e.after)) failed.set(e.after, []);
    failed.get(e.after).push(e.message);
  }
  const showErrors = (after) => {
    for (const message of failed.get(after) || []) {
      if (!answer) answer = newAnswer(data.header && data.header.model);
      answer.node.classList.add("error");
      answer.node.append(el("div", "error-text", message));
      answer.node.dataset.done = "1";
    }
  };
  showErrors(0);
  data.messages.forEach((m, i) => {
    if (m.role === "user") {
      addUserMessage(m.content);
      answer = null;
    } else if (m.role === "assistant") {
      if (!answer) {
        const model = data.header && data.header.model;
        answer = newAnswer(model);
        if (model === "memory-only") answer.who.textContent = "Memory (no model)";
      }
      if (m.content) appendText(answer, m.content);
      for (const call of m.tool_calls || []) {
        pendingCards.set(call.id, addToolCard(answer, call.name, call.arguments));
      }
      answer.node.dataset.done = "1";
      flush(answer);
    } else if (m.role === "tool") {
      const card = pendingCards.get(m.tool_call_id);
      if (card) finishToolCard(card, m.content, m.is_error);
    }
    showErrors(i + 1);
  });
  $("chat-empty").hidden = data.messages.length > 0;
  log.scrollTop = log.scrollHeight;
}

// --- chat (streamed over Server-Sent Events read from a fetch body) -------------------------

function addUserMessage(text) {
  const node = el("div", "msg user");
  node.append(el("div", "who", "You"), el("div", "body plain", text));
  $("chat-log").append(node);
  $("chat-empty").hidden = true;
  return node;
}

function newAnswer(model) {
  const node = el("div", "msg assistant");
  const who = el("div", "who", model || "Assistant");
  node.append(who);
  $("chat-log").append(node);
  // Memory-only replies are plain text laid out with spaces (snippets, config lines), not
  // markdown: they are shown as written, with their citations linked.
  const plain = model === "memory-only";
  return { node, who, segment: null, raw: "", pending: false, plain };
}

function appendText(answer, text) {
  if (!answer.segment) {
    answer.segment = el("div", "body md");
    answer.node.append(answer.segment);
    answer.raw = "";
  }
  answer.raw += text;
  if (!answer.pending) {
    answer.pending = true;
    requestAnimationFrame(() => flush(answer));
  }
}

function flush(answer) {
  answer.pending = false;
  if (!answer.segment) return;
  answer.segment.classList.toggle("plain", answer.plain);
  let rendered;
  if (answer.plain) {
    rendered = el("div", "", answer.raw);
  } else rendered = renderMarkdown(answer.raw);
  linkCitations(rendered);
  answer.segment.replaceChildren(...rendered.childNodes);
  const log = $("chat-log");
  log.scrollTop = log.scrollHeight;
}

function summarizeArgs(args) {
  if (!args || typeof args !== "object") return "";
  const first = args.query || args.path || args.url || args.text || args.command;
  if (typeof first === "string") return first.length > 80 ? first.slice(0, 77) + "…" : first;
  return "";
}

const TOOL_WORDS = {
  memory_search: "Searched memory", memory_get: "Read a note", memory_append: "Wrote to memory",
  web_fetch: "Fetched a page", shell: "Ran a command",
};

function addToolCard(answer, name, args) {
  if (answer.segment) flush(answer);
  answer.segment = null; // text after the tool goes below its card
  const card = el("details", "tool-card running");
  const summary = el("summary");
  summary.append(el("span", "tool-name", TOOL_WORDS[name] || `Used ${name}`));
  const hint = summarizeArgs(args);
  if (hint) summary.append(el("span", "tool-arg", hint));
  const st = el("span", "tool-state", "running…");
  summary.append(st);
  card.append(summary);
  const detail = el("div", "tool-detail");
  detail.append(el("div", "tool-label", `${name} with`), el("pre", "", JSON.stringify(args, null, 2)));
  card.append(detail);
  card.dataset.tool = name;
  answer.node.append(card);
  return { card, st, detail };
}

function finishToolCard(entry, result, isError) {
  entry.card.classList.remove("running");
  entry.card.classList.toggle("failed", !!isError);
  entry.st.textContent = isError ? "failed" : "done";
  const out = el("div", "tool-result", result);
  entry.detail.append(el("div", "tool-label", "Result"), out);
  linkCitations(out);
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

function handleEvent(message, answer, cards) {
  const { event, data } = message;
  if (event === "session") {
    const fresh = state.sessionId !== data.session_id;
    setSession(data.session_id, fresh ? null : $("chat-title").textContent);
  } else if (event === "delta") {
    answer.node.classList.add("streaming");
    appendText(answer, data.text);
  } else if (event === "tool_start") {
    cards.push(addToolCard(answer, data.name, data.arguments));
  } else if (event === "tool_end") {
    const entry = cards.find((c) => c.card.dataset.tool === data.name
      && c.card.classList.contains("running"));
    if (entry) finishToolCard(entry, data.result, data.is_error);
  } else if (event === "error") {
    answer.node.classList.add("error");
    answer.node.append(el("div", "error-text", data.message));
  } else if (event === "done") {
    if (!answer.raw && data.response) appendText(answer, data.response);
    answer.plain = data.model === "memory-only";
    flush(answer);
    answer.who.textContent = data.model === "memory-only" ? "Memory (no model)" : data.model;
    answer.node.dataset.model = data.model;
    answer.node.dataset.done = "1";
  }
}

async function sendChat(text) {
  addUserMessage(text);
  const memoryOnly = !!(state.status && state.status.model && state.status.model.memory_only);
  const answer = newAnswer(memoryOnly ? "memory-only" : null);
  if (memoryOnly) answer.who.textContent = "Memory (no model)";
  const cards = [];
  const controller = new AbortController();
  state.running = controller;
  $("chat-send").disabled = true;
  $("chat-stop").hidden = false;
  try {
    const response = await api("/api/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ message: text, session_id: state.sessionId }),
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
        if (message) handleEvent(message, answer, cards);
      }
    }
  } catch (err) {
    if (err.name === "AbortError") answer.node.append(el("div", "muted", "Stopped."));
    else if (!(err instanceof AuthError)) {
      handleEvent({ event: "error", data: { message: err.message } }, answer, cards);
    }
  } finally {
    answer.node.classList.remove("streaming");
    state.running = null;
    $("chat-send").disabled = false;
    $("chat-stop").hidden = true;
    refreshSessions();
  }
}

// --- memory search --------------------------------------------------------------------------

async function runSearch(q) {
  const info = $("search-info");
  const list = $("search-results");
  $("search-q").value = q;
  if (!q) {
    info.textContent = "";
    list.replaceChildren();
    return;
  }
  info.textContent = "Searching…";
  list.replaceChildren();
  try {
    const data = await apiJson(`/api/memory/search?q=${encodeURIComponent(q)}&limit=10`);
    info.textContent = data.results.length
      ? `${plural(data.results.length, "passage")} found. Open one to read the whole note.`
      : "Nothing in memory matches that. Try other words.";
    for (const hit of data.results) {
      const item = el("li", "result");
      const a = el("a", "result-link");
      a.href = noteHref(hit.file, hit.line_start, hit.line_end);
      a.append(el("span", "loc", hit.file),
        el("span", "lines", ` lines ${hit.line_start}–${hit.line_end}`));
      const snippet = el("p", "snippet", hit.content.length > 400
        ? hit.content.slice(0, 400) + "…" : hit.content);
      item.append(a, snippet);
      list.append(item);
    }
  } catch (err) {
    info.textContent = err instanceof AuthError ? "" : `Search failed: ${err.message}`;
  }
}

// --- note viewer ----------------------------------------------------------------------------

function splitLines(text) {
  return text.split(/\r\n|\r|\n/);
}

// Wiki links and note links become viewer links before rendering; offsets from the server are
// in code points, so the line is handled as an array of code points.
function rewriteLinks(lines, links) {
  const byLine = new Map();
  for (const link of links) {
    if (!byLine.has(link.line)) byLine.set(link.line, []);
    byLine.get(link.line).push(link);
  }
  const out = lines.slice();
  for (const [line, items] of byLine) {
    const chars = Array.from(out[line - 1] || "");
    items.sort((a, b) => b.start - a.start);
    for (const link of items) {
      if (chars.slice(link.start, link.end).join("") !== link.raw) continue;
      let label = link.alias;
      if (!label && link.kind === "md") label = link.raw.slice(1, link.raw.indexOf("]("));
      if (!label) label = link.target + (link.heading ? ` › ${link.heading}` : "");
      const href = link.resolved
        ? noteHref(link.resolved, link.heading_line, null, link.heading)
        : `#/missing?${new URLSearchParams({ name: link.target })}`;
      const safe = label.replace(/([\\[\]])/g, "\\$1");
      chars.splice(link.start, link.end - link.start, `[${safe}](<${href}>)`);
    }
    out[line - 1] = chars.join("");
  }
  return out;
}

function parseLines(spec) {
  if (!spec) return null;
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) return null;
  const from = Number(m[1]);
  return { from, to: m[2] ? Number(m[2]) : from };
}

function editorHref(note, line) {
  const path = note.path.replace(/\\/g, "/");
  return `vscode://file${path.startsWith("/") ? "" : "/"}${encodeURI(path)}:${line || 1}`;
}

async function showNote(params) {
  const path = params.get("path");
  const hit = parseLines(params.get("lines"));
  const body = $("note-body");
  $("tab-note").hidden = false;
  if (!path) {
    body.replaceChildren(el("p", "empty", "Open a note from search, the graph or a citation."));
    return;
  }
  let note = null;
  {
    if (!state.note || state.note.file !== path) body.replaceChildren(el("p", "muted", "Loading…"));
    try {
      note = await apiJson(`/api/note?path=${encodeURIComponent(path)}`);
    } catch (err) {
      if (err instanceof AuthError) return;
      $("note-title").textContent = path;
      $("note-meta").textContent = "";
      body.replaceChildren(el("p", "error-text", err.message));
      $("note-backlinks").replaceChildren();
      $("note-links").replaceChildren();
      return;
    }
    state.note = note;
  }
  $("note-title").textContent = note.title;
  $("note-meta").textContent = `${note.file} · ${plural(note.line_count, "line")} · changed ${whenShort(note.modified)}`
    + (note.warning ? ` · ${note.warning}` : "");
  $("note-editor").href = editorHref(note, hit ? hit.from : 1);
  $("note-graph").href = `#/graph?${new URLSearchParams({ center: note.file })}`;
  const lines = rewriteLinks(splitLines(note.text), note.links);
  const frag = document.createDocumentFragment();
  let firstHit = null;
  let target = null;
  const heading = params.get("heading");
  const titleLine = note.headings.length && note.headings[0].level === 1 ? note.headings[0].line : 0;
  for (const block of note.blocks) {
    // The title is the view's heading already.
    if (block.type === "heading" && block.line_start === titleLine && !(hit && hit.from <= titleLine && hit.to >= titleLine)) continue;
    const div = renderMarkdown(lines.slice(block.line_start - 1, block.line_end).join("\n"));
    div.className = "block";
    div.dataset.lines = `${block.line_start}-${block.line_end}`;
    if (hit && block.line_start <= hit.to && block.line_end >= hit.from) {
      div.classList.add("hit");
      if (!firstHit) firstHit = div;
    }
    if (heading && !target && block.type === "heading" && note.headings.some(
      (h) => h.line === block.line_start && (h.slug === heading || h.text === heading))) {
      target = div;
    }
    frag.append(div);
  }
  for (const a of frag.querySelectorAll('a[href^="#/missing"]')) {
    a.classList.add("broken");
    a.title = "No such note yet";
  }
  body.replaceChildren(frag);
  const banner = $("note-hit");
  banner.hidden = !hit;
  if (hit) banner.textContent = hit.from === hit.to ? `Showing line ${hit.from}` : `Showing lines ${hit.from}–${hit.to}`;
  const backs = $("note-backlinks");
  backs.replaceChildren();
  for (const b of note.backlinks) {
    const li = el("li");
    const a = el("a", "", b.title);
    a.href = noteHref(b.file, b.line);
    li.append(a, el("span", "muted", ` ${b.file}:${b.line}`));
    backs.append(li);
  }
  if (!note.backlinks.length) backs.append(el("li", "muted", "No other note links here."));
  const outs = $("note-links");
  outs.replaceChildren();
  const seen = new Set();
  for (const l of note.links) {
    const key = l.resolved || `?${l.target}`;
    if (seen.has(key) || (l.resolved === note.file && !l.target)) continue;
    seen.add(key);
    const li = el("li");
    if (l.resolved) {
      const a = el("a", "", l.resolved);
      a.href = noteHref(l.resolved, l.heading_line, null, l.heading);
      li.append(a);
    } else {
      li.append(el("span", "broken", l.target), el("span", "muted", " (no such note yet)"));
    }
    outs.append(li);
  }
  if (!seen.size) outs.append(el("li", "muted", "This note links to no other note."));
  const focus = firstHit || target;
  if (focus) focus.scrollIntoView({ block: "center" });
  else window.scrollTo(0, 0);
}

// --- link graph -----------------------------------------------------------------------------

const COLORS = { note: "#4f6bed", center: "#e8590c", missing: "#c92a2a", ring: "#8aa0f5" };

function graphColor(node) {
  if (node.missing) return COLORS.missing;
  if (node.id === state.graphCenter) return COLORS.center;
  return node.distance >= 2 ? COLORS.ring : COLORS.note;
}

async function showGraph(params) {
  const center = params.get("center") || (state.note && state.note.file) || null;
  const all = params.get("all") === "1";
  state.graphCenter = all ? null : center;
  const info = $("graph-info");
  info.textContent = "Drawing…";
  const q = new URLSearchParams();
  if (state.graphCenter) q.set("center", state.graphCenter);
  q.set("limit", all ? "10000" : "300");
  let data;
  const started = performance.now();
  try {
    data = await apiJson(`/api/graph?${q}`);
    // Where the time goes, for benchmarks/web_ui.py (fetch and JSON; then the first frame).
    $("graph").dataset.fetchMs = String(Math.round(performance.now() - started));
  } catch (err) {
    if (!(err instanceof AuthError)) info.textContent = `The graph is not available: ${err.message}`;
    return;
  }
  const notes = data.nodes.filter((n) => !n.missing).length;
  const missing = data.nodes.length - notes;
  const broken = data.links.filter((l) => l.broken).length;
  let words = state.graphCenter
    ? `${plural(notes, "note")} within two links of ${state.graphCenter}`
    : `${plural(notes, "note")} of ${NUM.format(data.total_notes)}`;
  if (missing) words += `, ${plural(missing, "missing note")} (${plural(broken, "broken link")})`;
  if (data.truncated) words += "; the best-linked are shown";
  info.textContent = words + ".";
  drawGraph(data);
  const list = $("graph-list");
  list.replaceChildren();
  for (const n of data.nodes.slice(0, 500)) {
    const li = el("li");
    if (n.missing) li.append(el("span", "broken", n.title), el("span", "muted", " (missing)"));
    else {
      const a = el("a", "", n.title);
      a.href = noteHref(n.id);
      li.append(a, el("span", "muted", ` ${n.id}`));
    }
    list.append(li);
  }
}

function drawGraph(data) {
  const box = $("graph");
  const width = box.clientWidth || 600;
  const height = box.clientHeight || 400;
  const nodes = data.nodes.map((n) => ({ ...n }));
  const links = data.links.map((l) => ({ ...l }));
  if (!state.graph) {
    state.graph = window.ForceGraph()(box)
      .nodeId("id")
      // force-graph shows labels as HTML: note titles and paths go in escaped.
      .nodeLabel((n) => escapeHtml(n.missing ? `${n.title} (does not exist yet)` : `${n.title} · ${n.id}`))
      .nodeColor(graphColor)
      .nodeVal((n) => (n.id === state.graphCenter ? 4 : 1 + Math.min(3, n.degree / 8)))
      .nodeRelSize(4)
      .linkColor((l) => (l.broken ? COLORS.missing : "rgba(90,100,130,0.35)"))
      .linkLineDash((l) => (l.broken ? [2, 2] : null))
      .linkDirectionalArrowLength(3)
      .linkDirectionalArrowRelPos(1)
      .cooldownTime(4000)
      .maxZoom(3)
      .onEngineStop(() => {
        // Once per drawing: later stops (after a drag) leave the user's view alone.
        if (state.fitPending) state.graph.zoomToFit(400, 40);
        state.fitPending = false;
      })
      .onNodeClick((n) => {
        if (!n.missing) location.hash = noteHref(n.id);
      })
      .nodeCanvasObjectMode(() => "after")
      .nodeCanvasObject((n, ctx, scale) => {
        // Names where they can be read: the current note and its neighbours, hubs when the
        // view is wide, every note once zoomed in (5,000 labels per frame would be slow).
        const near = state.graphCenter && n.distance <= 1;
        if (n.id !== state.graphCenter && !near && scale < 2.5 && !(n.degree > 30 && scale >= 0.8)) {
          return;
        }
        ctx.font = `${11 / scale}px system-ui, sans-serif`;
        ctx.fillStyle = n.missing ? COLORS.missing : "#333";
        ctx.textAlign = "center";
        ctx.fillText(n.title.length > 28 ? n.title.slice(0, 27) + "…" : n.title, n.x, n.y + 9 / scale + 4);
      });
  }
  state.fitPending = true;
  // Arrowheads cost a path per link: on big graphs direction is left to the note viewer.
  state.graph.linkDirectionalArrowLength(links.length > 2000 ? 0 : 3);
  state.graph.width(width).height(height).graphData({ nodes, links });
  box.dataset.nodes = String(nodes.length);
  box.dataset.links = String(links.length);
  requestAnimationFrame(() => { box.dataset.drawn = String(nodes.length); });
  setTimeout(() => state.graph && state.graph.zoomToFit(400, 40), 600);
}

// --- views ----------------------------------------------------------------------------------

const VIEWS = ["chat", "search", "graph", "note"];

// After a navigation by link or key, focus goes to the new view's heading, so keyboard and
// screen-reader users continue from there instead of from a link that is now hidden.
function focusView(view) {
  const heading = $(`view-${view}`).querySelector("h1");
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: view === "note" });
}

function route(event) {
  const hash = location.hash || "#/chat";
  const [name, query] = hash.replace(/^#\/?/, "").split("?");
  const params = new URLSearchParams(query || "");
  let view = VIEWS.includes(name) ? name : "chat";
  if (name === "missing") view = "note";
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll(".tabs a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // A hidden graph still lays itself out and repaints each frame: pause it off screen.
  if (state.graph) {
    if (view === "graph") state.graph.resumeAnimation();
    else state.graph.pauseAnimation();
  }
  if (view === "search") runSearch(params.get("q") || "");
  else if (view === "graph") showGraph(params);
  else if (name === "missing") showMissing(params.get("name") || "");
  else if (view === "note") showNote(params);
  if (view === "chat") $("chat-log").scrollTop = $("chat-log").scrollHeight;
  if (event && event.type === "hashchange" && !$(`view-${view}`).contains(document.activeElement)) {
    focusView(view);
  }
}

function showMissing(name) {
  $("tab-note").hidden = false;
  $("note-title").textContent = name;
  $("note-meta").textContent = "";
  $("note-hit").hidden = true;
  $("note-body").replaceChildren(el("p", "empty",
    `No note called “${name}” exists yet. A link points to it; create the note in your editor to fill it in.`));
  $("note-backlinks").replaceChildren();
  $("note-links").replaceChildren();
}

function boot() {
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("chat-input");
    const text = input.value.trim();
    if (!text || state.running) return;
    input.value = "";
    sendChat(text);
  });
  $("chat-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });
  $("chat-stop").addEventListener("click", () => state.running && state.running.abort());
  $("chat-new").addEventListener("click", newChat);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = $("search-q").value.trim();
    const target = `#/search?${new URLSearchParams({ q })}`;
    if (location.hash === target) runSearch(q);
    else location.hash = target;
  });
  $("graph-all").addEventListener("click", () => { location.hash = "#/graph?all=1"; });
  $("reindex").addEventListener("click", reindex);
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => {
    if (state.graph && !$("view-graph").hidden) {
      state.graph.width($("graph").clientWidth).height($("graph").clientHeight);
    }
  });
  route();
  refreshStatus();
  refreshSessions().then(() => { if (state.sessionId) resumeSession(state.sessionId); });
  setInterval(refreshStatus, 30000);
}

boot();
