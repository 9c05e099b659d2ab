"""HTTP daemon overheads, measured against a real `localgpt daemon` on a loopback port.

- health: round trip of GET /health (token-free path through the Guard and Starlette).
- search: GET /api/memory/search over HTTP versus the same MemoryIndex.search in-process, so
  the difference is what the door adds (auth, JSON, thread hop, HTTP).
- stream: POST /api/chat/stream in memory-only mode: time to the `session` event, to the first
  `delta`, and to `done`.
- busy: GET /health while a forced reindex runs in the daemon (blocking work must stay off the
  event loop, so this should stay close to the idle figure).
- watch: from writing a new note to the note being found by /api/memory/search.

    python benchmarks/daemon.py [--notes 300] [--embeddings none|local] [--runs 200]

Prints a table and writes benchmarks/results/daemon.json. The machine is shared while the team
works, so figures are noisy: compare orders of magnitude, rerun before quoting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.http.live_daemon import offline_config, start_daemon, stop_daemon  # noqa: E402

TOPICS = ["espresso", "garden", "sailing", "taxes", "python", "rust", "climbing", "piano",
          "bread", "cycling", "astronomy", "chess"]


def make_workspace(workspace: Path, notes: int) -> None:
    for i in range(notes):
        topic = TOPICS[i % len(TOPICS)]
        folder = workspace / "knowledge" / topic
        folder.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(
            f"## Part {j}\n\nNote {i} about {topic}: detail {j} with words like {topic}-{j}, "
            f"{TOPICS[(i + j) % len(TOPICS)]} and the number {i * 31 + j}." for j in range(6))
        (folder / f"note-{i}.md").write_text(f"# {topic.title()} {i}\n\n{body}\n")


def stats_ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
            "n": len(ordered)}


def timed(call: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def wait_ready(c: httpx.Client, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watcher = c.get("/api/status").json().get("watcher") or {}
        if watcher.get("ready"):
            return
        time.sleep(0.2)
    raise SystemExit("the daemon's first index sync did not finish")


def stream_once(c: httpx.Client, message: str) -> dict[str, float]:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    with c.stream("POST", "/api/chat/stream", json={"message": message}) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
                marks.setdefault(name, time.perf_counter() - started)
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--embeddings", choices=["none", "local"], default="none")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="lg-daemon-bench-"))
    home, workspace = base / "home", base / "workspace"
    home.mkdir()
    workspace.mkdir()
    offline_config(home, args.embeddings)
    make_workspace(workspace, args.notes)
    os.environ.update(LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace))

    started = time.perf_counter()
    daemon = start_daemon(home, workspace)
    results: dict[str, Any] = {"notes": args.notes, "embeddings": args.embeddings,
                               "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        with httpx.Client(base_url=daemon.url, headers=daemon.auth, timeout=120) as c:
            results["start_to_listening_s"] = round(time.perf_counter() - started, 2)
            wait_ready(c)
            results["start_to_indexed_s"] = round(time.perf_counter() - started, 2)

            results["health"] = stats_ms(timed(lambda: c.get("/health"), args.runs))

            queries = [f"{t} detail {i}" for i, t in enumerate(TOPICS * 10)][:args.runs // 2]
            http = []
            for q in queries:
                t0 = time.perf_counter()
                assert c.get("/api/memory/search", params={"q": q}).status_code == 200
                http.append(time.perf_counter() - t0)
            from localgpt_ls.engine import Engine
            engine = Engine()
            direct = []
            for q in queries:
                t0 = time.perf_counter()
                engine.memory.search(q)
                direct.append(time.perf_counter() - t0)
            engine.close()
            results["search_http"] = stats_ms(http)
            results["search_in_process"] = stats_ms(direct)

            marks = [stream_once(c, f"{t} detail") for t in TOPICS]
            results["stream"] = {
                name: stats_ms([m[name] for m in marks if name in m])
                for name in ("session", "delta", "done")}

            busy: list[float] = []
            done = threading.Event()

            def reindex() -> None:
                with httpx.Client(base_url=daemon.url, headers=daemon.auth, timeout=300) as rc:
                    rc.post("/api/memory/reindex", json={"force": True})
                done.set()

            worker = threading.Thread(target=reindex)
            worker.start()
            time.sleep(0.05)
            while not done.is_set() and len(busy) < args.runs * 5:
                t0 = time.perf_counter()
                c.get("/health")
                busy.append(time.perf_counter() - t0)
                time.sleep(0.005)
            worker.join()
            results["health_during_forced_reindex"] = stats_ms(busy)

            lags = []
            for i in range(8):
                word = f"zebracorn{i}x"
                t0 = time.perf_counter()
                (workspace / "knowledge" / f"new-{i}.md").write_text(f"# New\n\n{word}\n")
                while True:
                    hits = c.get("/api/memory/search", params={"q": word}).json()["results"]
                    if hits:
                        break
                    time.sleep(0.02)
                lags.append(time.perf_counter() - t0)
            results["watch_new_note_searchable"] = stats_ms(lags)
    finally:
        stop_daemon(daemon)

    print(f"daemon, {args.notes} notes, embeddings={args.embeddings}")
    for key, value in results.items():
        print(f"  {key:32} {value}")
    out = ROOT / "benchmarks" / "results" / "daemon.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
