// Reads the extension's settings and turns them into the server command line and the
// initializationOptions the server understands. Kept free of the language client so it stays
// trivially testable and the rules live in one place.
import * as vscode from "vscode";

export interface ServerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** The server reports unknown initializationOptions keys to the user, so send only known ones. */
export interface InitOptions {
  workspace?: string;
}

const DEFAULT_COMMAND = ["localgpt", "lsp"];

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

/** The server command: pythonPath wins (the interpreter of a virtualenv), else server.command. */
export function serverLaunch(): ServerLaunch {
  const cfg = vscode.workspace.getConfiguration("localgpt");
  const env = cfg.get<Record<string, string>>("server.env") ?? {};
  const python = expandPath(cfg.get<string>("server.pythonPath") ?? "");
  if (python) {
    return { command: python, args: ["-m", "localgpt_ls", "lsp"], env };
  }
  let argv = cfg.get<string[]>("server.command") ?? DEFAULT_COMMAND;
  argv = argv.filter((part) => typeof part === "string" && part.length > 0).map(expandPath);
  if (argv.length === 0) {
    argv = DEFAULT_COMMAND;
  }
  return { command: argv[0], args: argv.slice(1), env };
}

/** initializationOptions: only what the user set, so config.toml stays the fallback. */
export function initOptions(): InitOptions {
  const cfg = vscode.workspace.getConfiguration("localgpt");
  const options: InitOptions = {};
  const workspace = expandPath(cfg.get<string>("workspace") ?? "");
  if (workspace) {
    options.workspace = workspace;
  }
  return options;
}

/** Settings whose change needs a server restart (the others travel by didChangeConfiguration). */
export const RESTART_SETTINGS = [
  "localgpt.server.command",
  "localgpt.server.pythonPath",
  "localgpt.server.env",
  "localgpt.workspace",
];
