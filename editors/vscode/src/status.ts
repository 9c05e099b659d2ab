// The status bar item fed by `localgpt/status`: one glance tells whether LocalGPT is idle,
// indexing, thinking or broken; a click opens memory search (or the log after an error).
import * as vscode from "vscode";
import type { StatusParams } from "./protocol";

const ICONS: Record<StatusParams["state"], string> = {
  starting: "$(sync~spin)",
  ready: "$(book)",
  idle: "$(book)",
  indexing: "$(sync~spin)",
  thinking: "$(loading~spin)",
  error: "$(error)",
};

/** Each state as the tooltip says it: "LocalGPT is ready: …". */
const WORDS: Record<StatusParams["state"], string> = {
  starting: "is starting",
  ready: "is ready",
  idle: "is ready",
  indexing: "is indexing your notes",
  thinking: "is answering",
  error: "has a problem",
};

/** The tooltip: the state and the server's message in one sentence, then what a click does. */
export function tooltip(status: StatusParams): string {
  const words = WORDS[status.state] ?? `is ${status.state}`;
  const message = status.message?.trim();
  const click = status.state === "error" ? "Click to show the log." : "Click to search memory.";
  return `LocalGPT ${words}${message ? `: ${message}` : ""}. ${click}`;
}

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem("localgpt.status", vscode.StatusBarAlignment.Left, 10);
    this.item.name = "LocalGPT";
    this.set({ state: "starting", message: "starting the language server" });
    this.item.show();
  }

  /** Shows a `localgpt/status` payload; unknown states are shown as they come, not dropped. */
  set(status: StatusParams): void {
    const state = status.state;
    const icon = ICONS[state] ?? "$(info)";
    this.item.text = `${icon} LocalGPT`;
    this.item.tooltip = tooltip(status);
    if (state === "error") {
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
      this.item.command = "localgpt.showLog";
    } else {
      this.item.backgroundColor = undefined;
      this.item.command = "localgpt.searchMemory";
    }
  }

  dispose(): void {
    this.item.dispose();
  }
}
