"""Language-server latency: `localgpt lsp` against VS Code's own markdown language server.

Generates a vault of N linked notes (default 5,000: headings, standard and wiki links, tags),
then drives both servers over stdio with the same client code and the same requests:

- completion after `](` (paths) and after `#` in a link (headings of the target note)
- hover on a link, definition of a link to a heading, references of a heading
- textDocument/documentSymbol and workspace/symbol, and code actions on a selection
- time to the first answered request after `initialize` (documentSymbol on an open note), the
  first workspace/symbol (needs the whole vault), and the servers' resident memory (RSS).

The peer is the npm package `vscode-markdown-languageserver`; it is installed with npm into a
scratch folder outside the repository when missing. It asks its client for `markdown/parse`
(markdown-it tokens), `markdown/fs/readFile|stat|readDirectory` and
`markdown/findMarkdownFilesInWorkspace`; this client answers them the way VS Code's markdown
extension does (markdown-it-py gives markdown-it's tokens). Latency is what the client waits,
so the peer's round trips to its client count, as they do in VS Code.

    python benchmarks/lsp_latency.py [--notes 5000] [--repeat 60] [--peer-dir DIR]

Prints a table, writes JSON to benchmarks/results/ and the table to benchmarks/lsp.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
PEER_PACKAGE = "vscode-markdown-languageserver@0.5.0"
PEER_MAIN = "node_modules/vscode-markdown-languageserver/dist/node/workerMain.js"
WORDS = ["alpha", "beta", "gamma", "delta", "river", "mountain", "garden", "budget", "sprint",
         "launch", "design", "review", "memory", "vector", "search", "index", "editor", "server",
         "client", "latency", "research", "travel", "recipe", "health", "family", "project",
         "meeting", "notes", "ideas", "reading", "writing", "music"]
SECTIONS = ("Background", "Details", "Decisions", "Open questions", "Next steps", "References")

# -- the vault ----------------------------------------------------------------------------------


def note_rel(i: int, folders: int) -> str:
    return f"f{i % folders:02d}/note-{i:05d}.md"


def make_vault(root: Path, count: int, seed: int = 7) -> dict[str, Any]:
    """Write `count` notes; returns what the requests need (link and heading positions)."""
    rng = random.Random(seed)
    folders = max(1, count // 100)
    plan: dict[str, Any] = {"notes": [], "links": {}, "headings": {}}
    # Sections first, so every link's #fragment names a heading its target really has (both
    # servers then resolve every definition and there is a section to preview on hover).
    all_sections = [rng.sample(SECTIONS, k=rng.randint(2, 4)) for _ in range(count)]
    for i in range(count):
        rel = note_rel(i, folders)
        sections = all_sections[i]
        title = f"Note {i} {rng.choice(WORDS)} {rng.choice(WORDS)}"
        lines = [f"# {title}", ""]
        links: list[tuple[int, int, int]] = []  # (line, col inside the link, target index)
        tags = " ".join(f"#{rng.choice(WORDS)}-{rng.randint(1, 40)}" for _ in range(2))
        lines.append(f"Intro about {rng.choice(WORDS)} and {rng.choice(WORDS)}. {tags}")
        lines.append("")
        headings: list[tuple[int, str]] = []
        for section in sections:
            headings.append((len(lines), section))
            lines.append(f"## {section}")
            lines.append("")
            for _ in range(rng.randint(1, 3)):
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
                target = rng.randrange(count)
                target_rel = note_rel(target, folders)
                rel_path = os.path.relpath(target_rel, os.path.dirname(rel))
                anchor = rng.choice(all_sections[target]).lower().replace(" ", "-")
                prefix = f"{words.capitalize()} see "
                label = rng.choice(WORDS)
                link = f"[{label}]({rel_path}#{anchor})"
                # the cursor goes inside the link's destination, where editors resolve it
                links.append((len(lines), len(prefix) + len(label) + 4, target))
                wiki = f"[[note-{rng.randrange(count):05d}]]"
                lines.append(f"{prefix}{link} and {wiki}.")
            lines.append("")
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        plan["notes"].append(rel)
        plan["links"][rel] = links
        plan["headings"][rel] = headings
    plan["folders"] = folders
    return plan


# -- the client ---------------------------------------------------------------------------------


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


def path_of(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


class MarkdownTokens:
    """markdown-it tokens as VS Code's markdown extension sends them to the server."""

    def __init__(self) -> None:
        from markdown_it import MarkdownIt

        self.md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

    def tokens(self, text: str) -> list[dict[str, Any]]:
        return [self._token(t) for t in self.md.parse(text)]

    def _token(self, t: Any) -> dict[str, Any]:
        return {
            "type": t.type, "tag": t.tag,
            "attrs": [[k, v] for k, v in t.attrs.items()] if t.attrs else None,
            "map": list(t.map) if t.map else None, "nesting": t.nesting, "level": t.level,
            "children": [self._token(c) for c in t.children] if t.children else None,
            "content": t.content, "markup": t.markup, "info": t.info, "meta": t.meta or None,
            "block": t.block, "hidden": t.hidden,
        }


PEER_SETTINGS = {"markdown": {
    "suggest": {"paths": {"enabled": True, "includeWorkspaceHeaderCompletions": "onDoubleHash"}},
    "occurrencesHighlight": {"enabled": False},
    "preferredMdPathExtensionStyle": "auto",
    "validate": {"enabled": False, "referenceLinks": {"enabled": "warning"},
                 "fragmentLinks": {"enabled": "warning"},
                 "fileLinks": {"enabled": "warning", "markdownFragmentLinks": "inherit"},
                 "ignoredLinks": [], "unusedLinkDefinitions": {"enabled": "hint"},
                 "duplicateLinkDefinitions": {"enabled": "warning"}},
    "server": {"log": "off"},
}}


class Client:
    """A small JSON-RPC client over stdio that answers the peer's requests like VS Code."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], vault: Path) -> None:
        self.name, self.cmd, self.env, self.vault = name, cmd, env, vault
        log = os.environ.get("LSP_BENCH_STDERR")  # debugging aid: keep the server's stderr
        self.stderr: Any = open(f"{log}.{name}", "wb") if log else asyncio.subprocess.DEVNULL  # noqa: SIM115
        self.proc: asyncio.subprocess.Process | None = None
        self.next_id = 0
        self.pending: dict[Any, asyncio.Future[Any]] = {}
        self.open_docs: dict[str, str] = {}
        self.notifications: list[tuple[float, str, Any]] = []
        self.tokens = MarkdownTokens()
        self.served: dict[str, int] = {}
        self._reader: asyncio.Task[None] | None = None
        self._answering: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.stderr, env=self.env, limit=2**26)
        self._reader = asyncio.create_task(self._read())

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any, timeout: float = 600) -> tuple[Any, float]:
        self.next_id += 1
        msg_id = self.next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[msg_id] = future
        start = time.perf_counter()
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        result = await asyncio.wait_for(future, timeout)
        return result, (time.perf_counter() - start) * 1000

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def did_open(self, path: Path, text: str | None = None) -> str:
        uri = uri_of(path)
        text = path.read_text(encoding="utf-8") if text is None else text
        self.open_docs[uri] = text
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "markdown", "version": 1, "text": text}})
        return uri

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            length = None
            while True:
                line = await stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length is None:
                continue
            message = json.loads(await stream.readexactly(length))
            if "method" in message and "id" in message:
                task = asyncio.create_task(self._answer(message))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
            elif "method" in message:
                self.notifications.append((time.perf_counter(), message["method"],
                                           message.get("params")))
            else:
                future = self.pending.pop(message.get("id"), None)
                if future is not None and not future.done():
                    if "error" in message:
                        future.set_exception(RuntimeError(str(message["error"])))
                    else:
                        future.set_result(message.get("result"))

    async def _answer(self, message: dict[str, Any]) -> None:
        method, params = message["method"], message.get("params") or {}
        self.served[method] = self.served.get(method, 0) + 1
        try:
            result = self._serve(method, params)
            self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        except Exception as exc:  # answer like VS Code: an error, not silence
            self._send({"jsonrpc": "2.0", "id": message["id"],
                        "error": {"code": -32603, "message": str(exc)}})

    def _serve(self, method: str, params: dict[str, Any]) -> Any:
        if method == "markdown/parse":
            text = params.get("text")
            if text is None:
                uri = params["uri"]
                text = self.open_docs.get(uri)
                if text is None:
                    text = path_of(uri).read_text(encoding="utf-8")
            return self.tokens.tokens(text)
        if method == "markdown/fs/readFile":
            return list(path_of(params["uri"]).read_bytes())
        if method == "markdown/fs/stat":
            path = path_of(params["uri"])
            if not path.exists():
                return None
            return {"isDirectory": path.is_dir()}
        if method == "markdown/fs/readDirectory":
            path = path_of(params["uri"])
            return [[p.name, {"isDirectory": p.is_dir()}] for p in sorted(path.iterdir())]
        if method == "markdown/findMarkdownFilesInWorkspace":
            return [uri_of(p) for p in sorted(self.vault.rglob("*.md"))
                    if not any(part.startswith(".") for part in p.relative_to(self.vault).parts)]
        if method == "workspace/configuration":
            # VS Code answers null for a section it has no settings for.
            return [PEER_SETTINGS if not item.get("section") else
                    PEER_SETTINGS.get(item["section"]) for item in params.get("items", [])]
        return None  # registerCapability, workDoneProgress/create, watchers: acknowledged

    def rss_kb(self) -> int:
        """Resident memory of the server and any children it has (kB)."""
        assert self.proc is not None
        return process_tree_rss(self.proc.pid)

    async def stop(self) -> None:
        if self.proc is None:
            return
        try:
            await self.request("shutdown", None, timeout=20)
            self.notify("exit", None)
            await asyncio.wait_for(self.proc.wait(), 10)
        except Exception:
            if self.proc.returncode is None:
                self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()


def process_tree_rss(pid: int) -> int:
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total


# -- the run ------------------------------------------------------------------------------------


def capabilities() -> dict[str, Any]:
    """VS Code's client capabilities (the preset pytest-lsp ships), for both servers."""
    import pytest_lsp

    preset = Path(pytest_lsp.__file__).parent / "clients" / "visual_studio_code_v1.65.2.json"
    return json.loads(preset.read_text())["capabilities"]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


METHODS = ("completion ](", "completion #", "hover", "definition", "references",
           "documentSymbol", "workspace/symbol", "codeAction (selection)")
QUERIES = ["note 12", "details", "next steps", "garden", "note 4", "open questions"]


class Run:
    """One server under test: its client, what was opened, and what was measured."""

    def __init__(self, name: str, client: Client, spawn: float) -> None:
        self.name, self.client, self.spawn = name, client, spawn
        self.info: dict[str, Any] = {"server": name, "command": " ".join(client.cmd)}
        self.timings: dict[str, list[float]] = {k: [] for k in METHODS}
        self.counts: dict[str, list[int]] = {k: [] for k in METHODS}
        self.uris: dict[str, str] = {}
        self.sample: list[str] = []
        self.lines: list[str] = []
        self.scratch_uri = ""


async def start_run(name: str, cmd: list[str], env: dict[str, str], vault: Path,
                    plan: dict[str, Any], repeat: int, wait_status: bool) -> Run:
    """Spawn, initialize, open notes; record startup figures; leave the server warm."""
    client = Client(name, cmd, env, vault)
    caps = capabilities()
    spawn = time.perf_counter()
    await client.start()
    run = Run(name, client, spawn)
    _, init_ms = await client.request("initialize", {
        "processId": os.getpid(), "rootUri": uri_of(vault),
        "workspaceFolders": [{"uri": uri_of(vault), "name": "vault"}],
        "capabilities": caps,
        "initializationOptions": {"markdownFileExtensions": ["md"]} if name == "peer" else {},
    })
    client.notify("initialized", {})
    client.notify("workspace/didChangeConfiguration", {"settings": PEER_SETTINGS})
    after_init = time.perf_counter()
    rng = random.Random(11)
    notes: list[str] = plan["notes"]
    run.sample = rng.sample(notes, k=min(len(notes), 40))
    run.uris = {rel: client.did_open(vault / rel) for rel in run.sample}
    await client.request("textDocument/documentSymbol",
                         {"textDocument": {"uri": run.uris[run.sample[0]]}})
    first_ms = (time.perf_counter() - after_init) * 1000
    _, ws_first_ms = await client.request("workspace/symbol", {"query": "details"})
    index_ready_s = None
    if wait_status:  # let our memory index finish its startup pass before measuring
        deadline = time.perf_counter() + 300
        while time.perf_counter() < deadline:
            if any(m == "localgpt/status" and isinstance(p, dict)
                   and (str(p.get("message", "")).startswith("memory index")
                        or p.get("state") == "error")
                   for _t, m, p in client.notifications):
                break
            await asyncio.sleep(0.2)
        index_ready_s = round(time.perf_counter() - spawn, 2)
    # A scratch document for completions, in a vault folder (never written to disk).
    for i in range(repeat):
        target = notes[rng.randrange(len(notes))]
        rel_path = os.path.relpath(target, "f00")
        run.lines.append(f"Line {i} about {rng.choice(WORDS)} see [ref](")
        run.lines.append(f"Line {i} heading [ref]({rel_path}#")
    run.scratch_uri = client.did_open(vault / "f00/bench-scratch.md", "\n".join(run.lines))
    run.info.update({
        "initialize_ms": round(init_ms, 1),
        "first_response_after_initialize_ms": round(first_ms, 1),
        "first_workspace_symbol_ms": round(ws_first_ms, 1),
        "memory_index_ready_s": index_ready_s,
    })
    return run


def _count(result: Any) -> int:
    if result is None:
        return 0
    if isinstance(result, dict):
        return len(result["items"]) if "items" in result else 1
    return len(result) if isinstance(result, list) else 1


async def measure_round(run: Run, plan: dict[str, Any], i: int) -> None:
    """Round `i`: one request per method, the same positions for every server."""
    rel = run.sample[i % len(run.sample)]
    uri = run.uris[rel]
    link_line, link_col, _target = plan["links"][rel][i % len(plan["links"][rel])]
    heading_line, _h = plan["headings"][rel][i % len(plan["headings"][rel])]
    path_line, head_line = run.lines[2 * i], run.lines[2 * i + 1]
    steps = [
        ("completion ](", "textDocument/completion", {
            "textDocument": {"uri": run.scratch_uri},
            "position": {"line": 2 * i, "character": len(path_line)},
            "context": {"triggerKind": 2, "triggerCharacter": "("}}),
        ("completion #", "textDocument/completion", {
            "textDocument": {"uri": run.scratch_uri},
            "position": {"line": 2 * i + 1, "character": len(head_line)},
            "context": {"triggerKind": 2, "triggerCharacter": "#"}}),
        ("hover", "textDocument/hover", {
            "textDocument": {"uri": uri},
            "position": {"line": link_line, "character": link_col}}),
        ("definition", "textDocument/definition", {
            "textDocument": {"uri": uri},
            "position": {"line": link_line, "character": link_col}}),
        ("references", "textDocument/references", {
            "textDocument": {"uri": uri},
            "position": {"line": heading_line, "character": 4},
            "context": {"includeDeclaration": False}}),
        ("documentSymbol", "textDocument/documentSymbol", {"textDocument": {"uri": uri}}),
        ("workspace/symbol", "workspace/symbol", {"query": QUERIES[i % len(QUERIES)]}),
        # Listing must cost nothing: ours offers the assistant's actions without calling a model.
        ("codeAction (selection)", "textDocument/codeAction", {
            "textDocument": {"uri": uri},
            "range": {"start": {"line": link_line, "character": 0},
                      "end": {"line": link_line, "character": link_col}},
            "context": {"diagnostics": []}}),
    ]
    for key, method, params in steps:
        result, ms = await run.client.request(method, params)
        run.timings[key].append(ms)
        run.counts[key].append(_count(result))


async def finish_run(run: Run) -> dict[str, Any]:
    client = run.client
    rss = client.rss_kb()
    statuses = [(round(t - run.spawn, 2), p) for t, m, p in client.notifications
                if m == "localgpt/status"]
    await client.stop()
    run.info.update({
        "rss_mb": round(rss / 1024, 1),
        "client_requests_served": client.served,
        "status_notifications": statuses,
        "methods": {k: {"p50_ms": round(pct(v, 0.5), 2), "p95_ms": round(pct(v, 0.95), 2),
                        "mean_ms": round(statistics.fmean(v), 2) if v else None,
                        "n": len(v), "mean_results": (round(statistics.fmean(run.counts[k]), 1)
                                                     if run.counts[k] else None)}
                    for k, v in run.timings.items()},
    })
    return run.info


def ensure_peer(peer_dir: Path) -> Path:
    main = peer_dir / PEER_MAIN
    if main.exists():
        return main
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to install the peer server (apt install nodejs npm)")
    peer_dir.mkdir(parents=True, exist_ok=True)
    print(f"installing {PEER_PACKAGE} into {peer_dir} ...", file=sys.stderr)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(peer_dir),
                    PEER_PACKAGE], check=True)
    return main


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, node {node}")


def markdown_table(ours: dict[str, Any], peer: dict[str, Any] | None) -> str:
    rows = ["| measure | localgpt lsp | vscode-markdown-languageserver | ratio ours/peer | "
            "results per request (ours / peer) |", "|---|---|---|---|---|"]

    def ratio(a: float | None, b: float | None) -> str:
        if a is None or b is None or b == 0:
            return "n/a"
        return f"{a / b:.2f}"

    for key, ms in ours["methods"].items():
        pm = peer["methods"][key] if peer else None
        rows.append(
            f"| {key} p50 / p95 (ms) | {ms['p50_ms']:.1f} / {ms['p95_ms']:.1f} | "
            + (f"{pm['p50_ms']:.1f} / {pm['p95_ms']:.1f}" if pm else "-") + " | "
            + (f"{ratio(ms['p50_ms'], pm['p50_ms'])} / {ratio(ms['p95_ms'], pm['p95_ms'])}"
               if pm else "-") + " | "
            + f"{ms['mean_results']} / {pm['mean_results'] if pm else '-'} |")
    for key, label in (("first_response_after_initialize_ms",
                        "first response after initialize (ms)"),
                       ("first_workspace_symbol_ms", "first workspace/symbol, whole vault (ms)"),
                       ("initialize_ms", "initialize round trip (ms)"),
                       ("rss_mb", "RSS after the run (MB)")):
        a = ours[key]
        b = peer[key] if peer else None
        rows.append(f"| {label} | {a} | {b if b is not None else '-'} | {ratio(a, b)} | |")
    warm = ours.get("warm_start")
    if warm:
        rows.append(f"| first workspace/symbol, our second start (notes cache) (ms) | "
                    f"{warm['first_workspace_symbol_ms']} | - | - | |")
    return "\n".join(rows)


# Why a figure can miss its target, printed next to a miss (known, structural causes).
MISS_REASONS = {
    "initialize_ms": "the Python interpreter starts and imports pygls and lsprotocol before it "
                     "can answer (importing lsprotocol.types alone is ~40% of it: 0.15-0.3 s "
                     "on this machine, `python -X importtime`); node loads one bundled file",
    "first_response_after_initialize_ms": "the first requests also pay one-time cattrs "
                                          "(de)serializer generation for their LSP types",
    "first_workspace_symbol_ms": "the whole vault is parsed once (the second start reads the "
                                 "notes cache)",
}


def misses(results: dict[str, Any]) -> list[str]:
    ours, peer = results["ours"], results.get("peer")
    out = []
    if peer:
        for key, m in ours["methods"].items():
            pm = peer["methods"][key]
            for q in ("p50_ms", "p95_ms"):
                if pm[q] and m[q] > pm[q]:
                    why = ""
                    if not pm["mean_results"] and m["mean_results"]:
                        why = "; the peer returned no result for these requests, ours did"
                    elif m["mean_results"] > 2 * max(pm["mean_results"], 1):
                        why = (f"; ours answers {m['mean_results']:.0f} items to the peer's "
                               f"{pm['mean_results']:.0f}")
                    elif m[q] < 3:
                        why = "; at this size the difference is the per-request overhead of " \
                              "Python + pygls (JSON-RPC parsing and type conversion)"
                    out.append(f"- {key} {q[:3]}: ratio {m[q] / pm[q]:.2f} > 1.0 "
                               f"({m[q]:.2f} vs {pm[q]:.2f} ms{why})")
        for key in ("first_response_after_initialize_ms", "first_workspace_symbol_ms",
                    "initialize_ms", "rss_mb"):
            if peer[key] and ours[key] > peer[key]:
                reason = MISS_REASONS.get(key, "")
                out.append(f"- {key}: ratio {ours[key] / peer[key]:.2f} > 1.0"
                           + (f": {reason}" if reason else ""))
    for key in ("completion ](", "completion #"):
        if ours["methods"][key]["p95_ms"] >= 20:
            out.append(f"- {key}: p95 {ours['methods'][key]['p95_ms']:.1f} ms >= 20 ms")
    return out


async def main_async(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="lsp-bench-"))
    vault = work / "vault"
    vault.mkdir()
    t = time.perf_counter()
    plan = make_vault(vault, args.notes)
    print(f"vault: {args.notes} notes in {time.perf_counter() - t:.1f}s at {vault}",
          file=sys.stderr)
    home = work / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[memory]\nembedding_provider = "{args.embedding}"\n', encoding="utf-8")
    env = dict(os.environ)
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OLLAMA_HOST"):
        env.pop(key, None)
    env.update(LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(vault))
    ours_cmd = [sys.executable, "-m", "localgpt_ls", "lsp"]
    results: dict[str, Any] = {"notes": args.notes, "repeat": args.repeat,
                               "embedding_provider": args.embedding, "machine": machine(),
                               "load_average_at_start": round(os.getloadavg()[0], 2),
                               "command": " ".join([Path(sys.executable).name, *sys.argv])}
    runs: list[Run] = []
    if not args.skip_ours:
        print("starting localgpt lsp ...", file=sys.stderr)
        runs.append(await start_run("ours", ours_cmd, env, vault, plan, args.repeat,
                                    wait_status=True))
    if not args.skip_peer:
        main = ensure_peer(Path(args.peer_dir).expanduser())
        print("starting vscode-markdown-languageserver ...", file=sys.stderr)
        runs.append(await start_run("peer", ["node", str(main), "--stdio"], env, vault, plan,
                                    args.repeat, wait_status=False))
    # Interleaved rounds (alternating who goes first), so both servers see the same machine
    # load: this machine is shared and its load drifts over minutes.
    print(f"measuring {args.repeat} rounds ...", file=sys.stderr)
    for i in range(args.repeat):
        for run in (runs if i % 2 == 0 else list(reversed(runs))):
            await measure_round(run, plan, i)
    for run in runs:
        results[run.name] = await finish_run(run)
    if not args.skip_ours:
        # Our second start on the same vault reads the notes cache and the index it left.
        print("restarting localgpt lsp (warm start) ...", file=sys.stderr)
        warm = await start_run("ours", ours_cmd, env, vault, plan, 1, wait_status=False)
        warm_info = await finish_run(warm)
        results["ours"]["warm_start"] = {k: warm_info[k] for k in (
            "initialize_ms", "first_response_after_initialize_ms",
            "first_workspace_symbol_ms")}
    peer = results.get("peer")
    table = markdown_table(results["ours"], peer) if "ours" in results else json.dumps(
        peer, indent=2)
    print(table)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"lsp_latency-{stamp}.json").write_text(json.dumps(results, indent=2))
    if args.write_md:
        write_md(results, table)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def write_md(results: dict[str, Any], table: str) -> None:
    ours = results["ours"]
    missed = misses(results)
    text = [
        "## Language server latency (`benchmarks/lsp_latency.py`)", "",
        f"Vault: {results['notes']:,} generated notes (headings, relative markdown links with "
        "fragments, wiki links, tags). Both servers run over stdio, driven by the same client "
        "with the same requests; the client answers the peer's `markdown/*` requests the way "
        "VS Code does (markdown-it tokens via markdown-it-py), so the peer's round trips count "
        f"as they do in VS Code. {results['repeat']} rounds of one request per method, "
        "interleaved between the two servers (alternating which goes first) so both see the "
        "same machine load. Our server: fresh LOCALGPT_HOME (no notes cache), "
        f"`[memory] embedding_provider = \"{results['embedding_provider']}\"`, measured after "
        f"its startup memory indexing finished ({ours['memory_index_ready_s']} s after spawn). "
        "\"first response after initialize\" is from the end of the initialize handshake to "
        "the answer to documentSymbol on a note opened with 39 others; \"first "
        "workspace/symbol\" needs the whole vault read (both servers read it lazily or in the "
        "background). workspace/symbol: we return the best 128 matches, the peer every match. "
        "\"results per request\" shows what each server answered: the peer's hover shows "
        "nothing for links to markdown files (it previews images), ours shows the target "
        "section; completion after `](` lists the folder (peer) or the 50 best notes (ours).",
        "",
        f"Command: `{results['command']}`  ", f"Machine: {results['machine']}, 1-minute load "
        f"average {results['load_average_at_start']} at the start (above ~1 the machine was "
        "busy with other work and absolute figures are noisy; the ratios were measured "
        "interleaved under the same load)", "",
        table, "",
        "The notes cache is keyed on the version of `localgpt_ls/markdown.py`: a second start "
        "re-parses everything when the parser changed in between.", "",
        "Targets: every ratio <= 1.0 and completion p95 < 20 ms at 5,000 notes.", "",
        ("Missed in this run:" if missed else "All targets met in this run."), *missed, "",
    ]
    (ROOT / "benchmarks" / "lsp.md").write_text("\n".join(text))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--embedding", default="none", choices=["none", "local"],
                        help="our server's [memory] embedding_provider")
    parser.add_argument("--peer-dir", default=os.environ.get(
        "LOCALGPT_BENCH_PEER", str(Path.home() / ".cache" / "localgpt-ls" / "bench-peer")))
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    parser.add_argument("--no-md", dest="write_md", action="store_false",
                        help="do not rewrite benchmarks/lsp.md")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
