// Reads the extension's settings and turns them into the server command line and the
// initializationOptions the server understands. Kept free of the language client so it stays
// trivially testable and the rules live in one place.
import * as vscode from "vscode";

export interface ServerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * initializationOptions as the server reads them (localgpt_ls/lsp/options.py, camelCase). The
 * server reports unknown keys to the user, so only these are ever sent.
 */
export interface InitOptions {
  workspace?: string;
  diagnosticsDebounceMs?: number;
  indexDebounceMs?: number;
  completionLimit?: number;
  memory?: {
    indexOnStartup?: boolean;
    suggestByMeaning?: boolean;
    hoverMinScore?: number;
    hoverTimeout?: number;
  };
  inlineCompletion?: {
    enabled?: boolean;
    debounceMs?: number;
    maxChars?: number;
  };
}

/**
 * The `localgpt.*` settings that are the server's own (everything but `workspace`, which is a
 * path and handled apart), dotted as in package.json; a dot nests the option one level down.
 * tests/editors/test_vscode_manifest.py checks this list against package.json and options.py.
 */
export const SERVER_SETTINGS = [
  "diagnosticsDebounceMs",
  "indexDebounceMs",
  "completionLimit",
  "memory.indexOnStartup",
  "memory.suggestByMeaning",
  "memory.hoverMinScore",
  "memory.hoverTimeout",
  "inlineCompletion.enabled",
  "inlineCompletion.debounceMs",
  "inlineCompletion.maxChars",
] as const;

/** `~` and `${workspaceFolder}` are the two substitutions people expect in a path setting. */
export function expandPath(value: string): string {
  let out = value.trim();
  const home = process.env.HOME ?? process.env.USERPROFILE ?? "";
  if (out === "~" || out.startsWith("~/")) {
    out = home + out.slice(1);
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder) {
    out = out.split("${workspaceFolder}").join(folder);
  }
  return out;
}

/** True when the user (or the workspace) set `key`, as opposed to it showing its default. */
export function isSet(cfg: vscode.WorkspaceConfiguration, key: string): boolean {
  const seen = cfg.inspect(key);
  return (
    seen !== undefined &&
    (seen.globalValue !== undefined ||
      seen.workspaceValue !== undefined ||
      seen.workspaceFolderValue !== undefined)
  );
}

/**
 * initializationOptions: only what the user set, so the server's own defaults (and config.toml
 * for the workspace) stay the fallback and a default changed in the server is not pinned here.
 */
export function initOptions(): InitOptions {
  const cfg = vscode.workspace.getConfiguration("localgpt");
  const options: Record<string, unknown> = {};
  const workspace = expandPath(cfg.get<string>("workspace") ?? "");
  if (workspace) {
    options.workspace = workspace;
  }
  for (const key of SERVER_SETTINGS) {
    if (!isSet(cfg, key)) {
      continue;
    }
    const parts = key.split(".");
    let target = options;
    for (const part of parts.slice(0, -1)) {
      target = (target[part] ??= {}) as Record<string, unknown>;
    }
    target[parts[parts.length - 1]] = cfg.get(key);
  }
  return options as InitOptions;
}

/** Settings whose change needs a server restart (the others travel by didChangeConfiguration). */
export const RESTART_SETTINGS = [
  "localgpt.server.command",
  "localgpt.server.pythonPath",
  "localgpt.server.env",
  "localgpt.workspace",
];
