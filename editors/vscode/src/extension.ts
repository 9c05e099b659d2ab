// LocalGPT for VS Code: starts `localgpt lsp` over stdio and adds the few commands an LSP
// client cannot express by itself (chat panel, memory search picker, remember, heartbeat, today's
// log, restart). Completion, hover, links, diagnostics and code actions come from the server
// through vscode-languageclient with no glue here. Business logic stays in the server: this file
// only translates between VS Code UI and the server's commands.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  InlineCompletionRequest,
  InlineCompletionTriggerKind as LspTriggerKind,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { ChatPanel, errorText } from "./chatPanel";
import {
  type ChatDeltaParams,
  Commands,
  type MemorySearchResult,
  Notifications,
  type RememberArgs,
  type SearchHit,
  type StatusParams,
} from "./protocol";
import { type FoundServer, findServer, onInterpreterChange, serverCwd } from "./server";
import { expandPath, initOptions, RESTART_SETTINGS } from "./settings";
import { StatusItem } from "./status";

const MARKERS = ["SOUL.md", "MEMORY.md", "HEARTBEAT.md", "AGENTS.md"];

let client: LanguageClient | undefined;
let status: StatusItem | undefined;
let output: vscode.OutputChannel | undefined;
let launched: FoundServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("LocalGPT");
  status = new StatusItem();
  context.subscriptions.push(output, status);

  const register = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register("localgpt.openChat", () => ChatPanel.show(runCommand));
  register("localgpt.searchMemory", searchMemory);
  register("localgpt.rememberSelection", rememberSelection);
  register("localgpt.runHeartbeat", runHeartbeat);
  register("localgpt.openTodaysLog", openTodaysLog);
  register("localgpt.openTodaysChat", openTodaysChat);
  register("localgpt.reindexMemory", reindexMemory);
  register("localgpt.restartServer", restartServer);
  register("localgpt.showLog", () => output?.show(true));

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(key))) {
        const choice = await vscode.window.showInformationMessage(
          "LocalGPT: the server settings changed. Restart the server to apply them?",
          "Restart",
        );
        if (choice === "Restart") {
          await restartServer();
        }
      }
    }),
  );

  // A new interpreter picked in the Python extension may be the one with localgpt-ls.
  const watch = await onInterpreterChange(() => {
    if (!launched || launched.origin === "python-extension") {
      void restartServer();
    }
  });
  if (watch) {
    context.subscriptions.push(watch);
  }

  await startClient();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

function createClient(launch: FoundServer): LanguageClient {
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    transport: TransportKind.stdio,
    // The folder the import check ran in (server.ts), so that check and start agree.
    options: { env: { ...process.env, ...launch.env }, cwd: serverCwd() ?? os.homedir() },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "markdown" },
      { scheme: "untitled", language: "markdown" },
    ],
    // The server pulls `localgpt.*` through workspace/configuration; changes are pushed with
    // workspace/didChangeConfiguration. initializationOptions carry what is needed at start.
    synchronize: { configurationSection: "localgpt" },
    initializationOptions: initOptions(),
    outputChannel: output,
    traceOutputChannel: output,
    middleware: {
      // vscode-languageclient 9 sends VS Code's inline-completion context as it is (trigger
      // kind from 0, the selected item's range as [start, end]); the server wants LSP's.
      provideInlineCompletionItems: async (document, position, context, token) => {
        const c2p = c.code2ProtocolConverter;
        const info = context.selectedCompletionInfo;
        const params = {
          textDocument: c2p.asTextDocumentIdentifier(document),
          position: c2p.asPosition(position),
          context: {
            triggerKind: context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke
              ? LspTriggerKind.Invoked
              : LspTriggerKind.Automatic,
            selectedCompletionInfo: info ? { range: c2p.asRange(info.range), text: info.text } : undefined,
          },
        };
        try {
          const result = await c.sendRequest(InlineCompletionRequest.type, params, token);
          return token.isCancellationRequested ? null : c.protocol2CodeConverter.asInlineCompletionResult(result, token);
        } catch (error) {
          return c.handleFailedRequest(InlineCompletionRequest.type, token, error, null);
        }
      },
    },
  };
  const c = new LanguageClient("localgpt", "LocalGPT", serverOptions, clientOptions);
  // The client's proposed features are LSP 3.18 inline completion: with them VS Code shows the
  // server's paragraph continuations as ghost text.
  c.registerProposedFeatures();
  c.onNotification(Notifications.status, (params: StatusParams) => status?.set(params));
  c.onNotification(Notifications.chatDelta, (params: ChatDeltaParams) => ChatPanel.onDelta(params));
  c.onDidChangeState((event) => {
    if (event.newState === State.Stopped) {
      status?.set({ state: "error", message: "the language server is not running (LocalGPT: Restart Server)" });
    } else if (event.newState === State.Running) {
      status?.set({ state: "ready", message: "the language server is running" });
    }
  });
  return c;
}

async function startClient(): Promise<void> {
  const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
  const launch = await findServer(resource);
  if ("problem" in launch) {
    // Said once, by us: starting a program that cannot serve would add the client's own
    // toasts, and its restarts would add more.
    launched = undefined;
    output?.appendLine(launch.problem);
    status?.set({ state: "error", message: "no language server (LocalGPT: Show Server Log says why)" });
    void notFound(launch.problem);
    return;
  }
  launched = launch;
  output?.appendLine(`starting the language server (${launch.origin}): ${[launch.command, ...launch.args].join(" ")}`);
  client = createClient(launch);
  try {
    await client.start();
  } catch (err) {
    const cmdline = [launch.command, ...launch.args].join(" ");
    status?.set({ state: "error", message: `could not start \`${cmdline}\`` });
    output?.appendLine(`could not start \`${cmdline}\`: ${errorText(err)}`);
  }
}

async function notFound(problem: string): Promise<void> {
  const choice = await vscode.window.showErrorMessage(problem, "Open Settings", "Show Log");
  if (choice === "Open Settings") {
    void vscode.commands.executeCommand("workbench.action.openSettings", "localgpt.server");
  } else if (choice === "Show Log") {
    output?.show(true);
  }
}

async function stopClient(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    try {
      await c.stop(5000);
    } catch {
      // a server that already died cannot be stopped twice; nothing to clean up
    }
  }
}

async function restartServer(): Promise<void> {
  status?.set({ state: "starting", message: "restarting the language server" });
  await stopClient();
  await startClient();
}

/** Runs one server command with its single JSON-object argument (DESIGN.md contract). */
async function runCommand<T>(command: string, args: object, token?: vscode.CancellationToken): Promise<T> {
  if (!client || !client.isRunning()) {
    throw new Error("the LocalGPT language server is not running (run LocalGPT: Restart Server)");
  }
  return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] }, token)) as T;
}

/** Where workspace-relative paths from the server resolve: setting, marker folder, first folder. */
function workspaceRoot(): string | undefined {
  const configured = expandPath(vscode.workspace.getConfiguration("localgpt").get<string>("workspace") ?? "");
  if (configured) {
    return configured;
  }
  const folders = vscode.workspace.workspaceFolders ?? [];
  for (const folder of folders) {
    if (MARKERS.some((m) => fs.existsSync(path.join(folder.uri.fsPath, m)))) {
      return folder.uri.fsPath;
    }
  }
  return folders[0]?.uri.fsPath;
}

function resolveFile(file: string, root: string | undefined): vscode.Uri {
  if (path.isAbsolute(file) || !root) {
    return vscode.Uri.file(file);
  }
  return vscode.Uri.file(path.join(root, file));
}

async function openAt(uri: vscode.Uri, line: number): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const pos = new vscode.Position(Math.max(0, line - 1), 0);
  await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos), preview: false });
}

function selectedText(): string {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    return "";
  }
  return editor.selections.map((s) => editor.document.getText(s)).join("\n").trim();
}

async function searchMemory(): Promise<void> {
  const query = await vscode.window.showInputBox({
    title: "LocalGPT: Search Memory",
    prompt: "What are you looking for? (keywords or a question)",
    value: selectedText().split("\n")[0].slice(0, 200),
  });
  if (!query?.trim()) {
    return;
  }
  let found: MemorySearchResult;
  try {
    found = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: "LocalGPT: searching memory" },
      () => runCommand<MemorySearchResult>(Commands.memorySearch, { query, limit: 20 }),
    );
  } catch (err) {
    void vscode.window.showErrorMessage(`LocalGPT: memory search failed: ${errorText(err)}`);
    return;
  }
  const hits = found?.results ?? [];
  if (hits.length === 0) {
    void vscode.window.showInformationMessage(`LocalGPT: nothing in memory matches “${query}”.`);
    return;
  }
  type Item = vscode.QuickPickItem & { hit: SearchHit };
  const items: Item[] = hits.map((hit) => ({
    label: `$(file) ${hit.file}:${hit.line_start}`,
    description: `score ${hit.score.toFixed(2)}`,
    detail: hit.content.replace(/\s+/g, " ").slice(0, 300),
    hit,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `LocalGPT memory: ${query}`,
    matchOnDetail: true,
    placeHolder: "Open a result at its line",
  });
  if (picked) {
    await openAt(resolveFile(picked.hit.file, found.workspace ?? workspaceRoot()), picked.hit.line_start);
  }
}

async function rememberSelection(): Promise<void> {
  const text = selectedText();
  if (!text) {
    void vscode.window.showWarningMessage("LocalGPT: select the text to remember first.");
    return;
  }
  const targets: (vscode.QuickPickItem & { target: RememberArgs["target"] })[] = [
    { label: "Today's log", description: "memory/YYYY-MM-DD.md", target: "daily" },
    { label: "Long-term memory", description: "MEMORY.md", target: "memory" },
  ];
  const picked = await vscode.window.showQuickPick(targets, { title: "LocalGPT: Remember where?" });
  if (!picked) {
    return;
  }
  // One selection in a document the server has: the code action's own command, so the entry
  // reads the same either way, with where it came from. Else the text alone.
  const editor = vscode.window.activeTextEditor;
  const c = client;
  let command: string = Commands.remember;
  let args: object = { text, target: picked.target };
  if (editor && c && editor.selections.length === 1 && editor.document.languageId === "markdown") {
    const c2p = c.code2ProtocolConverter;
    command = Commands.assist;
    args = {
      action: picked.target === "memory" ? "remember_long" : "remember",
      uri: c2p.asUri(editor.document.uri),
      range: c2p.asRange(editor.selection),
    };
  }
  try {
    const result = await runCommand<{ file?: string; path?: string } | null>(command, args);
    const where = result?.file ?? result?.path ?? picked.description;
    void vscode.window.showInformationMessage(`LocalGPT: remembered in ${where}.`);
  } catch (err) {
    void vscode.window.showErrorMessage(`LocalGPT: could not remember the selection: ${errorText(err)}`);
  }
}

const HEARTBEAT_REASONS: Record<string, string> = {
  "empty-file": "HEARTBEAT.md has no tasks",
  "no-model": "no model is configured",
  "outside-active-hours": "outside the active hours",
  busy: "another heartbeat is running",
};

/**
 * What a heartbeat result (the `heartbeat once --json` object) tells the user: the text that
 * reached the user if any (or where it went, when the server already showed it), else the
 * outcome in words. The raw model reply is never shown (it is
 * usually just HEARTBEAT_OK).
 */
function heartbeatSummary(result: unknown): { text: string; failed: boolean } {
  const r = (result && typeof result === "object" ? result : {}) as Record<string, unknown>;
  if (typeof r.text === "string" && r.text.trim()) {
    // A delivered alert already reached the user as the server's own message: say where it
    // went instead of showing the same text twice.
    if (r.delivered === true) {
      const where = typeof r.daily_log === "string" ? ` (also in ${r.daily_log})` : "";
      return { text: `heartbeat alert delivered${where}`, failed: false };
    }
    if (r.duplicate === true) {
      return { text: "heartbeat: the same alert was already delivered in the last 24 h", failed: false };
    }
    return { text: `heartbeat: ${r.text}`, failed: false };
  }
  const outcome = typeof r.outcome === "string" ? r.outcome : "";
  const colon = outcome.indexOf(":");
  const kind = colon >= 0 ? outcome.slice(0, colon) : outcome;
  const reason = colon >= 0 ? outcome.slice(colon + 1) : "";
  if (kind === "ok") {
    return { text: "heartbeat OK: nothing needs attention", failed: false };
  }
  if (kind === "skipped") {
    return { text: `heartbeat skipped: ${HEARTBEAT_REASONS[reason] ?? reason}`, failed: false };
  }
  if (kind === "failed") {
    return { text: `heartbeat failed: ${reason}`, failed: true };
  }
  return { text: `heartbeat ${outcome || "done"}`, failed: false };
}

async function runHeartbeat(): Promise<void> {
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "LocalGPT: running the heartbeat…", cancellable: true },
      (_progress, token) => runCommand<unknown>(Commands.heartbeatRun, {}, token),
    );
    const summary = heartbeatSummary(result);
    if (summary.failed) {
      void vscode.window.showErrorMessage(`LocalGPT: ${summary.text}`);
    } else {
      void vscode.window.showInformationMessage(`LocalGPT: ${summary.text}`);
    }
  } catch (err) {
    void vscode.window.showErrorMessage(`LocalGPT: heartbeat failed: ${errorText(err)}`);
  }
}

async function reindexMemory(): Promise<void> {
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: "LocalGPT: reindexing memory" },
      () => runCommand<unknown>(Commands.reindex, {}),
    );
    void vscode.window.showInformationMessage("LocalGPT: memory index up to date.");
  } catch (err) {
    void vscode.window.showErrorMessage(`LocalGPT: reindex failed: ${errorText(err)}`);
  }
}

function today(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The server opens the log with window/showDocument (it knows the workspace and the date rule).
 * With an older server that lacks the command, open memory/<today>.md ourselves; a missing file
 * opens as an unsaved document at that path so nothing is written until the user saves.
 */
async function openTodaysLog(): Promise<void> {
  try {
    await runCommand<unknown>(Commands.openDailyLog, {});
    return;
  } catch (err) {
    output?.appendLine(`localgpt.openDailyLog failed (${errorText(err)}); opening the file directly`);
  }
  const root = workspaceRoot();
  if (!root) {
    void vscode.window.showErrorMessage("LocalGPT: open a LocalGPT workspace folder first.");
    return;
  }
  const file = path.join(root, "memory", `${today()}.md`);
  const uri = fs.existsSync(file) ? vscode.Uri.file(file) : vscode.Uri.file(file).with({ scheme: "untitled" });
  const doc = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(doc, { preview: false });
  if (uri.scheme === "untitled" && doc.getText() === "") {
    await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), `# ${today()}\n\n`));
  }
}

/** Today's chat document (chats/YYYY-MM-DD.md): the server creates it and shows it; its
 * "Send to LocalGPT" lens and code action stream replies into it. */
async function openTodaysChat(): Promise<void> {
  try {
    await runCommand<unknown>(Commands.openChatDocument, {});
  } catch (err) {
    void vscode.window.showErrorMessage(`LocalGPT: could not open today's chat: ${errorText(err)}`);
  }
}
