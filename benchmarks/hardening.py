"""The full fuzz and fault run (issue 18): the CI tests in tests/fuzz run short versions.

- fuzz: seeded LSP messages into a real `localgpt lsp` (hostile params for every method and
  command, malformed JSON, device/FIFO/long/encoded URIs), a hover probe every 50: crashes,
  unanswered or >5 s answers, tracebacks, InternalErrors, worst latencies, peak RSS.
- framing: each framing fault (70 MB header line included), then a request: recovered?
- lifecycle: the answer to each out-of-order lifecycle message.
- files: the traversal corpus and the folder-swap race (reads/writes outside the workspace).
- markdown: parse time of the pathological corpus at 1 and 4 MB (plain-text fallbacks).
- deep_list_open: a 1,000-level list (1 MB) open in the editor, edited, while another note is
  hovered: the hover's latency (what the user feels while it is open).
- daemon: a declared 10^12-byte body with no body sent: time to the 413; GET /health on the
  same daemon as the reference.
- kills: kill -9 during `memory reindex --force` and during `memory_append`.

    python benchmarks/hardening.py [--messages 10000] [--kill-trials 50] [--append-trials 80]
                                   [--seed 1] [--only fuzz,framing,...]

Prints each section and writes benchmarks/results/hardening.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz import file_corpus, kill_corpus, lsp_fuzz  # noqa: E402
from tests.fuzz.lsp_client import LspProcess  # noqa: E402
from tests.fuzz.markdown_corpus import CORPUS, nested_list  # noqa: E402


def section_fuzz(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    started = time.monotonic()
    report = lsp_fuzz.run_fuzz(base, args.messages, args.seed)
    return {**report.as_dict(), "seconds": round(time.monotonic() - started, 1)}


def section_framing(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    results = lsp_fuzz.framing_faults(base, long_line=70_000_000)
    return {"cases": len(results), "recovered": sum(r.recovered for r in results),
            "detail": {r.name: {"recovered": r.recovered, "own_answered": r.own_answered}
                       for r in results}}


def section_lifecycle(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    return lsp_fuzz.lifecycle_cases(base)


def section_files(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    (base / "t").mkdir()
    (base / "r").mkdir()
    traversal = asyncio.run(file_corpus.traversal(base / "t"))
    race = asyncio.run(file_corpus.race(base / "r", args.race_ops))
    return {"traversal": traversal.as_dict(), "race": race.as_dict()}


def section_markdown(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    from localgpt_ls.markdown import parse

    out: dict[str, Any] = {}
    for size in (1_000_000, 4_000_000):
        rows = {}
        for name, make in CORPUS.items():
            text = make(size)
            t0 = time.perf_counter()
            doc = parse(text)
            rows[name] = {"seconds": round(time.perf_counter() - t0, 3),
                          "plain": doc.warning is not None}
        out[f"{size // 1_000_000}MB"] = {
            "worst": max(rows.items(), key=lambda kv: kv[1]["seconds"]),
            "plain_text": [k for k, v in rows.items() if v["plain"]], "each": rows}
    return out


def section_deep_list_open(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    home, ws = lsp_fuzz.make_vault(base)
    proc = LspProcess(home, ws)
    try:
        proc.initialize()
        hover = {"textDocument": {"uri": (ws / "MEMORY.md").as_uri()},
                 "position": {"line": 2, "character": 28}}
        idle = [_timed(proc, hover) for _ in range(20)]
        deep_uri = (ws / "knowledge" / "deep.md").as_uri()
        text = "# Deep\n\n" + nested_list(1_000_000)
        proc.notify("textDocument/didOpen", {"textDocument": {
            "uri": deep_uri, "languageId": "markdown", "version": 1, "text": text}})
        after_open = [_timed(proc, hover)]
        proc.call("textDocument/documentSymbol", {"textDocument": {"uri": deep_uri}}, 30)
        while_open = []
        for v in range(2, 22):
            proc.notify("textDocument/didChange", {
                "textDocument": {"uri": deep_uri, "version": v},
                "contentChanges": [{"range": {"start": {"line": 0, "character": 6},
                                              "end": {"line": 0, "character": 6}},
                                    "text": "x"}]})
            proc.request("textDocument/documentSymbol", {"textDocument": {"uri": deep_uri}})
            while_open.append(_timed(proc, hover))
        return {"idle_hover_ms": _ms(idle), "first_hover_after_open_ms": _ms(after_open),
                "hover_while_editing_it_ms": _ms(while_open)}
    finally:
        proc.close()


def _timed(proc: LspProcess, params: Any) -> float:
    t0 = time.monotonic()
    answer = proc.call("textDocument/hover", params, timeout=30)
    return (answer.at - t0) if answer else 30.0


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered) * 1000, 2),
            "max": round(ordered[-1] * 1000, 2), "n": len(ordered)}


def section_daemon(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    import httpx

    from tests.http.live_daemon import offline_daemon, stop_daemon

    daemon = offline_daemon(base)
    try:
        host, port = daemon.url[len("http://"):].split(":")
        huge, health = [], []
        for _ in range(20):
            with socket.create_connection((host, int(port)), timeout=30) as s:
                t0 = time.monotonic()
                s.sendall(f"POST /api/chat HTTP/1.1\r\nHost: {host}:{port}\r\n"
                          f"Authorization: Bearer {daemon.token}\r\n"
                          "Content-Length: 1000000000000\r\n\r\n".encode())
                first = s.recv(64)
                huge.append(time.monotonic() - t0)
                assert first.startswith(b"HTTP/1.1 413"), first
        with httpx.Client(base_url=daemon.url) as c:
            for _ in range(20):
                t0 = time.monotonic()
                c.get("/health")
                health.append(time.monotonic() - t0)
        return {"huge_declared_body_413_ms": _ms(huge), "reference_health_ms": _ms(health)}
    finally:
        stop_daemon(daemon)


def section_kills(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    (base / "r").mkdir()
    (base / "a").mkdir()
    t0 = time.monotonic()
    reindex = kill_corpus.reindex_kills(base / "r", args.kill_trials, args.seed)
    t1 = time.monotonic()
    append = kill_corpus.append_kills(base / "a", args.append_trials, args.seed)
    return {"reindex": {**reindex.as_dict(), "seconds": round(t1 - t0, 1)},
            "append": {**append.as_dict(), "seconds": round(time.monotonic() - t1, 1)}}


SECTIONS = {"fuzz": section_fuzz, "framing": section_framing, "lifecycle": section_lifecycle,
            "files": section_files, "markdown": section_markdown,
            "deep_list_open": section_deep_list_open, "daemon": section_daemon,
            "kills": section_kills}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kill-trials", type=int, default=50)
    parser.add_argument("--append-trials", type=int, default=80)
    parser.add_argument("--race-ops", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default=",".join(SECTIONS))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count()},
        "args": vars(args)}
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory(prefix=f"hardening-{name}-") as tmp:
            started = time.monotonic()
            results[name] = SECTIONS[name](args, Path(tmp))
            print(f"== {name} ({time.monotonic() - started:.0f} s)")
            print(json.dumps(results[name], indent=1, default=str)[:4000], flush=True)
    out = ROOT / "benchmarks" / "results" / "hardening.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
