"""What the assistant's reach costs, each against a peer measured in the same run:

- mcp: `localgpt mcp` over stdio with the MCP SDK's own client: start + initialize, then
  memory_search round trips, against the same search called in-process (MemoryIndex.search).
- shell: one sandboxed command (bwrap, every namespace, the workspace bound) against the same
  `sh -c` started directly, for `true` and for a small `ls`.
- web_fetch: a page from a loopback server through the guarded fetcher (resolve, check,
  connect to the checked address, read, HTML to text) against a bare httpx GET of it.

    python benchmarks/reach.py [--notes 300] [--runs 30]

Prints a table and writes benchmarks/results/reach.json. Shared 2-core machine: noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ["garden", "tomato", "boiler", "espresso", "grinder", "invoice", "meeting", "budget",
         "river", "walking", "harbour", "rye", "sourdough", "bicycle", "chain", "lantern"]


def write_notes(workspace: Path, n: int) -> None:
    (workspace / "knowledge").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        a, b, c = WORDS[i % len(WORDS)], WORDS[(i * 7) % len(WORDS)], WORDS[(i * 3) % len(WORDS)]
        (workspace / "knowledge" / f"note-{i:04d}.md").write_text(
            f"# Note {i}\n\n## {a.title()}\n\nAbout the {a} and the {b}; see also {c}.\n",
            encoding="utf-8")


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50": statistics.median(values) * 1000,
            "p95": values[int(0.95 * (len(values) - 1))] * 1000}


async def bench_mcp(home: Path, workspace: Path, runs: int) -> dict[str, Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    from localgpt_ls.config import load_config
    from localgpt_ls.engine import Engine

    env = {"LOCALGPT_HOME": str(home), "LOCALGPT_WORKSPACE": str(workspace),
           "PYTHONPATH": str(ROOT)}
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "localgpt_ls", "mcp", "--no-watch"], env=env)
    queries = [f"{WORDS[i % len(WORDS)]} {WORDS[(i * 5) % len(WORDS)]}" for i in range(runs)]
    t0 = time.perf_counter()
    async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
        await s.initialize()
        started = time.perf_counter() - t0
        await s.call_tool("memory_search", {"query": "warm up"})  # first use reindexes
        over_mcp = []
        for q in queries:
            t = time.perf_counter()
            await s.call_tool("memory_search", {"query": q})
            over_mcp.append(time.perf_counter() - t)
    os.environ["LOCALGPT_HOME"], os.environ["LOCALGPT_WORKSPACE"] = str(home), str(workspace)
    engine = Engine(load_config(), workspace)
    engine.memory.reindex()
    direct = []
    for q in queries:
        t = time.perf_counter()
        engine.memory.search(q, limit=6)
        direct.append(time.perf_counter() - t)
    engine.close()
    return {"start_and_initialize_ms": started * 1000, "memory_search_over_mcp": ms(over_mcp),
            "memory_search_in_process": ms(direct)}


async def bench_shell(workspace: Path, runs: int) -> dict[str, Any]:
    if shutil.which("bwrap") is None:
        return {"skipped": "bwrap not installed"}
    from localgpt_ls.agent.shell import run_sandboxed

    out: dict[str, Any] = {}
    for command in ("true", "ls -la"):
        boxed, bare = [], []
        for _ in range(runs):
            t = time.perf_counter()
            await run_sandboxed(workspace, command, 10, 65536)
            boxed.append(time.perf_counter() - t)
            t = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", command, cwd=workspace, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT)
            await proc.communicate()
            bare.append(time.perf_counter() - t)
        out[command] = {"sandboxed": ms(boxed), "plain_sh": ms(bare)}
    return out


class _Page(BaseHTTPRequestHandler):
    body = Path("/usr/share/doc/debian/FAQ/choosing.en.html").read_bytes() \
        if Path("/usr/share/doc/debian/FAQ/choosing.en.html").exists() \
        else b"<html><body>" + b"<p>words words words</p>" * 500 + b"</body></html>"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


async def bench_fetch(runs: int) -> dict[str, Any]:
    import httpx

    from localgpt_ls.agent.web_fetch import WebFetcher

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/page"
    fetcher = WebFetcher(test_allow=frozenset({ipaddress.ip_address("127.0.0.1")}))
    guarded, bare = [], []
    async with httpx.AsyncClient() as client:
        for _ in range(runs):
            t = time.perf_counter()
            await fetcher.fetch(url)
            guarded.append(time.perf_counter() - t)
            t = time.perf_counter()
            (await client.get(url)).text  # noqa: B018
            bare.append(time.perf_counter() - t)
    server.shutdown()
    return {"page_bytes": len(_Page.body), "web_fetch": ms(guarded), "bare_httpx_get": ms(bare)}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=300)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, workspace = Path(tmp) / "home", Path(tmp) / "home" / ".localgpt" / "workspace"
        workspace.mkdir(parents=True)
        (home / "config.toml").write_text('[memory]\nembedding_provider = "none"\n'
                                          '[providers.ollama]\nendpoint = "http://127.0.0.1:9"\n')
        write_notes(workspace, args.notes)
        (workspace / "MEMORY.md").write_text("# Memory\n")
        results = {"mcp": await bench_mcp(home, workspace, args.runs),
                   "shell": await bench_shell(workspace, args.runs),
                   "web_fetch": await bench_fetch(args.runs)}
    print(json.dumps(results, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "reach.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
