// Finding the language server the way the Python tools extension template does: a path the
// user configured wins (checked first: a pythonPath without localgpt-ls is said once, never
// started); else the interpreter selected in the Python extension (when it has localgpt-ls
// installed); else `localgpt` on the PATH the editor was started with; else the virtualenv the
// README creates. The extension host has the login shell's PATH, not the one of a terminal
// with a venv activated, so the PATH alone finds nothing for most people.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import { expandPath, isSet, type ServerLaunch } from "./settings";

const MODULE_ARGS = ["-m", "localgpt_ls", "lsp"];

/** Where a launch came from, for the log and for restarting when the interpreter changes. */
export type Origin = "pythonPath" | "command" | "python-extension" | "PATH" | "default-venv";

export interface FoundServer extends ServerLaunch {
  origin: Origin;
}

/** The slice of the Python extension's API (ms-python.python, `environments`) used here. */
interface PythonEnvironments {
  getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
  resolveEnvironment(env: { id: string; path: string } | string): Promise<
    { executable: { uri?: vscode.Uri } } | undefined
  >;
  onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
}

async function pythonEnvironments(): Promise<PythonEnvironments | undefined> {
  const ext = vscode.extensions.getExtension("ms-python.python");
  if (!ext) {
    return undefined;
  }
  try {
    const api = (ext.isActive ? ext.exports : await ext.activate()) as { environments?: PythonEnvironments };
    return api?.environments;
  } catch {
    return undefined; // a Python extension that fails to activate: look elsewhere
  }
}

/** The interpreter selected in the Python extension for `resource`, if any. */
async function selectedInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const envs = await pythonEnvironments();
  if (!envs) {
    return undefined;
  }
  try {
    const env = await envs.resolveEnvironment(envs.getActiveEnvironmentPath(resource));
    return env?.executable.uri?.fsPath;
  } catch {
    return undefined;
  }
}

/** Calls `listener` when the user picks another interpreter in the Python extension. */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable | undefined> {
  const envs = await pythonEnvironments();
  return envs?.onDidChangeActiveEnvironmentPath(() => listener());
}

/** The folder the server runs in: the first workspace folder, as vscode-languageclient picks
 * by default. Python imports from there first, so the import check must run there too. */
export function serverCwd(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file");
  return folder?.uri.fsPath;
}

/** Whether `python` can import the server: a Python without it would start, fail to import,
 * and be restarted by the client again and again, each time with a generic pop-up. */
function hasServer(python: string, env: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ["-c", "import localgpt_ls"],
      { timeout: 15000, env: { ...process.env, ...env }, cwd: serverCwd() ?? os.homedir() },
      (err) => resolve(!err));
  });
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `name` on the PATH (with Windows' extensions there), as a shell would find it. */
export function which(name: string, envPath = process.env.PATH ?? ""): string | undefined {
  const exts = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (executable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The program of a command line, when it names one that does not exist. */
export function missingProgram(command: string, env: Record<string, string>): boolean {
  if (path.isAbsolute(command) || command.includes("/") || command.includes("\\")) {
    return !executable(command);
  }
  return which(command, env.PATH ?? process.env.PATH) === undefined;
}

/** Why no server could be started: the one message the user sees, saying what to do. */
export interface NotFound {
  problem: string;
}

const INSTALL =
  "Install it from your LocalGPT-LS folder into a virtualenv (pip install ~/src/localgpt-ls; it is " +
  "not on PyPI)";
const OR_COMMAND = "or set localgpt.server.command to the command line that starts the server";

/** The server command, or what stands in the way: where it looked and what to set. */
export async function findServer(resource?: vscode.Uri): Promise<FoundServer | NotFound> {
  const cfg = vscode.workspace.getConfiguration("localgpt");
  const env = cfg.get<Record<string, string>>("server.env") ?? {};
  const python = expandPath(cfg.get<string>("server.pythonPath") ?? "");
  if (python) {
    if (missingProgram(python, env)) {
      return {
        problem: `LocalGPT: localgpt.server.pythonPath is "${python}", which does not exist. ` +
          `Set it to the Python of the virtualenv LocalGPT-LS is installed in, ${OR_COMMAND}.`,
      };
    }
    if (!(await hasServer(python, env))) {
      return {
        problem: `LocalGPT: ${python} (localgpt.server.pythonPath) does not have LocalGPT-LS ` +
          `installed. Install it into that Python (${python} -m pip install ~/src/localgpt-ls), ` +
          `set localgpt.server.pythonPath to a Python that has it, ${OR_COMMAND}.`,
      };
    }
    return { command: python, args: MODULE_ARGS, env, origin: "pythonPath" };
  }
  if (isSet(cfg, "server.command")) {
    const argv = (cfg.get<string[]>("server.command") ?? [])
      .filter((part) => typeof part === "string" && part.length > 0)
      .map(expandPath);
    if (argv.length > 0) {
      if (missingProgram(argv[0], env)) {
        return {
          problem: `LocalGPT: "${argv[0]}" (localgpt.server.command) does not exist. Give the ` +
            "full path of localgpt in the virtualenv LocalGPT-LS is installed in, or set " +
            "localgpt.server.pythonPath to that virtualenv's Python.",
        };
      }
      return { command: argv[0], args: argv.slice(1), env, origin: "command" };
    }
  }
  const looked: string[] = [];
  const selected = await selectedInterpreter(resource);
  if (selected && (await hasServer(selected, env))) {
    return { command: selected, args: MODULE_ARGS, env, origin: "python-extension" };
  }
  looked.push(selected
    ? `the Python selected in the Python extension (${selected}, which does not have it)`
    : "the Python extension's interpreter (none selected)");
  const onPath = which("localgpt", env.PATH ?? process.env.PATH);
  if (onPath) {
    return { command: onPath, args: ["lsp"], env, origin: "PATH" };
  }
  looked.push("localgpt on the PATH VS Code was started with");
  const bin = process.platform === "win32" ? path.join("Scripts", "localgpt.exe") : path.join("bin", "localgpt");
  const venv = path.join(os.homedir(), ".venvs", "localgpt", bin);
  if (executable(venv)) {
    return { command: venv, args: ["lsp"], env, origin: "default-venv" };
  }
  looked.push(venv);
  return {
    problem: `LocalGPT: no language server found. Looked for: ${looked.join("; ")}. ${INSTALL}, ` +
      "then set localgpt.server.pythonPath to that virtualenv's Python, select that Python in " +
      `the Python extension, ${OR_COMMAND}.`,
  };
}
