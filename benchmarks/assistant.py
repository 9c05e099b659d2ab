"""Assistant overheads: what our code adds on top of the model's own time.

- stream: a reply of N text deltas plus a tool call, streamed by a loopback server in each
  dialect's real wire format, parsed by the real provider code over httpx; reports the
  median time per event (the cost our parsing adds to every token) and the request overhead.
- prompt: building the system prompt (bootstrap files, caps, daily notes) on a fresh workspace.
- ask: wall time of a cold `localgpt ask --json` in memory-only mode (process start, config,
  index open, keyword search, answer), i.e. what a user waits for with no model configured.

    python benchmarks/assistant.py [--deltas 2000] [--runs 5]

Prints a table and writes benchmarks/results/assistant.json. The machine is shared while the
team works, so figures are noisy: compare orders of magnitude, rerun before quoting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from localgpt_ls.agent.context import build_system_prompt  # noqa: E402
from localgpt_ls.agent.tools import specs  # noqa: E402
from localgpt_ls.llm.types import Message, Request, Stop  # noqa: E402
from localgpt_ls.workspace import init_workspace  # noqa: E402
from tests.llm.conftest import make_provider  # noqa: E402
from tests.llm.fake_server import FakeServer, Reply  # noqa: E402
from tests.llm.wire import anthropic_body, ollama_body, openai_body  # noqa: E402


def many_deltas(dialect: str, n: int) -> bytes:
    """A body with n text deltas and one tool call, built from the single-reply builders."""
    call = [("call_1", "memory_search", {"query": "benchmark " * 10})]
    if dialect == "anthropic":
        head = anthropic_body("", calls=None).split(b"event: message_delta")[0]
        deltas = b"".join(
            b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
            b'"delta": {"type": "text_delta", "text": "tok "}}\n\n' for _ in range(n))
        start = (b'event: content_block_start\ndata: {"type": "content_block_start", "index": 0,'
                 b' "content_block": {"type": "text", "text": ""}}\n\n')
        stop = b'event: content_block_stop\ndata: {"type": "content_block_stop", "index": 0}\n\n'
        tail = anthropic_body("", call).split(b"event: ping\ndata: {\"type\": \"ping\"}\n\n")[1]
        tail = tail.replace(b'"index": 0', b'"index": 1')
        return head + start + deltas + stop + tail
    if dialect == "openai":
        one = (b'data: {"choices": [{"index": 0, "delta": {"content": "tok "}, '
               b'"finish_reason": null}]}\n\n')
        return one * n + openai_body("", call)
    line = (b'{"model": "m", "message": {"role": "assistant", "content": "tok "}, '
            b'"done": false}\n')
    return line * n + ollama_body("", call)


async def time_stream(dialect: str, server: FakeServer, body: bytes, runs: int) -> dict[str, Any]:
    provider = make_provider(dialect, server.url)
    request = Request("system", [Message("user", "go")])
    per_event: list[float] = []
    totals: list[float] = []
    events_count = 0
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(runs):
            # ~1 KB network chunks, like a real provider's TCP segments.
            server.queue(Reply(chunks=[body[i:i + 1024] for i in range(0, len(body), 1024)]))
            started = time.perf_counter()
            count = 0
            async for event in provider.stream(client, request):
                count += 1
                if isinstance(event, Stop):
                    break
            elapsed = time.perf_counter() - started
            totals.append(elapsed)
            per_event.append(elapsed / count)
            events_count = count
    return {"events": events_count, "median_total_ms": round(statistics.median(totals) * 1e3, 2),
            "median_us_per_event": round(statistics.median(per_event) * 1e6, 2)}


def time_prompt(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        init_workspace(ws)
        times = []
        for _ in range(runs * 20):
            started = time.perf_counter()
            prompt = build_system_prompt(ws, specs())
            times.append(time.perf_counter() - started)
    return {"chars": len(prompt), "median_ms": round(statistics.median(times) * 1e3, 3)}


def time_ask(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "config.toml").write_text(
            '[providers.ollama]\nendpoint = "http://127.0.0.1:9"\n'
            '[memory]\nembedding_provider = "none"\n')
        env = {k: v for k, v in os.environ.items()
               if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OLLAMA_HOST")}
        env.update(LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(Path(tmp) / "ws"))
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "localgpt_ls", "ask", "dentist",
                                     "--json"], env=env, capture_output=True, text=True,
                                    timeout=120)
            times.append(time.perf_counter() - started)
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["model"] == "memory-only"
    return {"median_s": round(statistics.median(times), 3), "runs": runs,
            "note": "embedding_provider = none (keyword search); first run also creates "
                    "the workspace and index"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deltas", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = FakeServer().start()
    try:
        stream = {d: asyncio.run(time_stream(d, server, many_deltas(d, args.deltas), args.runs))
                  for d in ("anthropic", "openai", "ollama")}
    finally:
        server.stop()
    results = {"stream": stream, "prompt": time_prompt(args.runs), "ask": time_ask(args.runs),
               "deltas": args.deltas, "runs": args.runs, "python": platform.python_version(),
               "machine": platform.machine(), "cpus": os.cpu_count(),
               "command": "python benchmarks/assistant.py " + " ".join(sys.argv[1:])}
    print(f"{'dialect':<10} {'events':>7} {'total ms':>9} {'us/event':>9}")
    for dialect, r in stream.items():
        print(f"{dialect:<10} {r['events']:>7} {r['median_total_ms']:>9} "
              f"{r['median_us_per_event']:>9}")
    print(f"system prompt: {results['prompt']['median_ms']} ms "
          f"({results['prompt']['chars']} chars)")
    print(f"cold `localgpt ask --json` (memory-only): {results['ask']['median_s']} s")
    out = ROOT / "benchmarks" / "results" / "assistant.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
