// LocalGPT: Chat as a webview panel. The panel is a thin view: the extension sends
// `localgpt.chat` to the server and forwards the `localgpt/chatDelta` notifications that arrive
// while the request runs. The final response replaces the streamed text, so a lost or
// reordered delta can never leave a wrong answer on screen. Stop cancels the request
// ($/cancelRequest), which stops the provider stream on the server.
import * as vscode from "vscode";
import type { ChatArgs, ChatDeltaParams, ChatResult } from "./protocol";
import { Commands } from "./protocol";

/** How the panel reaches the server; supplied by the extension so restarts are transparent. */
export type RunCommand = <T>(command: string, args: object, token?: vscode.CancellationToken) => Promise<T>;

type FromView = { type: "send"; text: string } | { type: "stop" } | { type: "new" };

export class ChatPanel implements vscode.Disposable {
  private static current: ChatPanel | undefined;

  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private sessionId: string | undefined;
  private inFlight: vscode.CancellationTokenSource | undefined;

  /** Opens (or reveals) the one chat panel. */
  static show(run: RunCommand): ChatPanel {
    if (ChatPanel.current) {
      ChatPanel.current.panel.reveal(vscode.ViewColumn.Beside);
      return ChatPanel.current;
    }
    ChatPanel.current = new ChatPanel(run);
    return ChatPanel.current;
  }

  /** Routes a streamed delta to the panel waiting for it (if any). */
  static onDelta(delta: ChatDeltaParams): void {
    ChatPanel.current?.delta(delta);
  }

  private constructor(private readonly run: RunCommand) {
    this.panel = vscode.window.createWebviewPanel("localgpt.chat", "LocalGPT Chat", vscode.ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: true,
    });
    this.panel.webview.html = chatHtml(nonce());
    this.panel.onDidDispose(() => this.dispose(), null, this.disposables);
    this.panel.webview.onDidReceiveMessage((msg: FromView) => this.onMessage(msg), null, this.disposables);
  }

  private onMessage(msg: FromView): void {
    if (msg.type === "send" && msg.text.trim()) {
      void this.send(msg.text);
    } else if (msg.type === "stop") {
      this.inFlight?.cancel();
    } else if (msg.type === "new") {
      this.inFlight?.cancel();
      this.sessionId = undefined;
      void this.panel.webview.postMessage({ type: "cleared" });
    }
  }

  private async send(text: string): Promise<void> {
    if (this.inFlight) {
      return; // the view disables input while a reply streams; this guards a double submit
    }
    const cts = new vscode.CancellationTokenSource();
    this.inFlight = cts;
    void this.panel.webview.postMessage({ type: "user", text });
    const args: ChatArgs = { message: text };
    if (this.sessionId) {
      args.session_id = this.sessionId;
    }
    try {
      const result = await this.run<ChatResult>(Commands.chat, args, cts.token);
      if (cts.token.isCancellationRequested) {
        void this.panel.webview.postMessage({ type: "stopped" });
        return;
      }
      this.sessionId = result?.session_id ?? this.sessionId;
      void this.panel.webview.postMessage({ type: "done", text: result?.response ?? "", model: result?.model ?? "" });
    } catch (err) {
      const stopped = cts.token.isCancellationRequested;
      void this.panel.webview.postMessage(
        stopped ? { type: "stopped" } : { type: "error", text: errorText(err) },
      );
    } finally {
      cts.dispose();
      this.inFlight = undefined;
    }
  }

  private delta(delta: ChatDeltaParams): void {
    if (!this.inFlight || typeof delta?.text !== "string") {
      return;
    }
    // A delta for another session (another client on the same server) is not ours.
    if (this.sessionId && delta.session_id && delta.session_id !== this.sessionId) {
      return;
    }
    void this.panel.webview.postMessage({ type: "delta", text: delta.text });
  }

  dispose(): void {
    this.inFlight?.cancel();
    ChatPanel.current = undefined;
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
    this.panel.dispose();
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  if (err && typeof err === "object" && "message" in err) {
    return String((err as { message: unknown }).message);
  }
  return String(err);
}

function nonce(): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (let i = 0; i < 32; i++) {
    out += chars.charAt(Math.floor(Math.random() * chars.length));
  }
  return out;
}

// The view renders every text with textContent (never innerHTML), so model output cannot inject
// markup; the CSP allows only this one inline script and the theme's styles.
function chatHtml(n: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${n}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>LocalGPT Chat</title>
<style>
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); margin: 0; display: flex; flex-direction: column; height: 100vh; }
  #log { flex: 1; overflow-y: auto; padding: 8px 12px; }
  .msg { margin: 8px 0; white-space: pre-wrap; word-wrap: break-word; }
  .who { font-weight: bold; opacity: 0.8; font-size: 0.9em; }
  .error { color: var(--vscode-errorForeground); }
  .meta { opacity: 0.6; font-size: 0.8em; }
  form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid var(--vscode-panel-border); }
  textarea { flex: 1; resize: vertical; min-height: 3em; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); font-family: inherit; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; cursor: pointer; }
  button:disabled { opacity: 0.5; cursor: default; }
</style>
</head>
<body>
<div id="log"></div>
<form id="form">
  <textarea id="input" placeholder="Ask LocalGPT (Enter sends, Shift+Enter for a new line)"></textarea>
  <div style="display:flex;flex-direction:column;gap:4px">
    <button id="send" type="submit">Send</button>
    <button id="stop" type="button" disabled>Stop</button>
    <button id="new" type="button" title="Start a new session">New</button>
  </div>
</form>
<script nonce="${n}">
  const vscode = acquireVsCodeApi();
  const log = document.getElementById('log');
  const input = document.getElementById('input');
  const send = document.getElementById('send');
  const stop = document.getElementById('stop');
  let reply = null;
  function add(who, text, cls) {
    const box = document.createElement('div');
    box.className = 'msg ' + (cls || '');
    const head = document.createElement('div');
    head.className = 'who';
    head.textContent = who;
    const body = document.createElement('div');
    body.textContent = text;
    box.append(head, body);
    log.append(box);
    log.scrollTop = log.scrollHeight;
    return body;
  }
  function busy(on) { send.disabled = on; input.disabled = on; stop.disabled = !on; if (!on) input.focus(); }
  document.getElementById('form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    vscode.postMessage({ type: 'send', text });
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); document.getElementById('form').requestSubmit(); }
  });
  stop.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
  document.getElementById('new').addEventListener('click', () => vscode.postMessage({ type: 'new' }));
  window.addEventListener('message', (event) => {
    const m = event.data;
    if (m.type === 'user') { add('You', m.text); reply = add('LocalGPT', '…'); reply.dataset.empty = '1'; busy(true); }
    else if (m.type === 'delta' && reply) {
      if (reply.dataset.empty) { reply.textContent = ''; delete reply.dataset.empty; }
      reply.textContent += m.text; log.scrollTop = log.scrollHeight;
    }
    else if (m.type === 'done') {
      if (reply) { reply.textContent = m.text; delete reply.dataset.empty; }
      if (m.model) { const meta = document.createElement('div'); meta.className = 'meta'; meta.textContent = m.model; reply.parentElement.append(meta); }
      reply = null; busy(false);
    }
    else if (m.type === 'stopped') { if (reply) { reply.parentElement.append(Object.assign(document.createElement('div'), { className: 'meta', textContent: '(stopped)' })); } reply = null; busy(false); }
    else if (m.type === 'error') { if (reply) { reply.textContent = m.text; reply.classList.add('error'); } reply = null; busy(false); }
    else if (m.type === 'cleared') { log.textContent = ''; reply = null; busy(false); }
  });
  input.focus();
</script>
</body>
</html>`;
}
