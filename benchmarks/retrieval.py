"""Retrieval evaluation: does memory search find the right note, and how fast?

The workspace is real documentation nobody here wrote (`retrieval_corpus.py`: 2,668 notes from
Debian's python3.11-doc); the queries (`retrieval/queries.json`) were written before any tuning,
in four kinds: keyword (an FAQ entry's own question), paraphrase (the same need in other words),
mixed, and unrelated (questions the notes cannot answer, and nonsense). Each answerable query
has one target note. `--split test` (the default) is the held-out half that nothing was ever
tuned on; `dev` is the half tuning may look at.

Methods, all over the same index, chunks and model, each ranking notes by their best chunk:
- search: `MemoryIndex.search` end to end, as every door calls it (floor included);
- fts: the FTS5 bm25 list alone;
- vector: cosine similarity to every chunk alone;
- rrf: reciprocal rank fusion (k=60) of those two lists, a reference.
Reported per kind: recall@1/3/10 and MRR@10; for search also how often it returned nothing for
an answerable query (false-empty) and something for an unrelated one (false-hit).

Latency uses the real queries with their embedding included (the query cache is cleared):
in process with the model warm, and `localgpt memory search` as a one-shot command.
`--scale N` repeats the corpus into an N-note workspace for the latency figures (repeated text
embeds once, through the embedding cache).

    apt-get install python3.11-doc
    python benchmarks/retrieval.py [--split test|dev|all] [--scale 10000] [--cli-runs 5]

Prints tables and writes benchmarks/results/retrieval.json. The workspace and index live in
~/.cache/localgpt-bench/retrieval (reused across runs; the index updates incrementally).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import retrieval_corpus  # noqa: E402

CACHE = Path.home() / ".cache" / "localgpt-bench" / "retrieval"
KINDS = ("keyword", "paraphrase", "mixed")
CUTOFFS = (1, 3, 10)
RRF_K = 60
DEPTH = 200  # chunks taken from each half for the reference methods


def prepare(workspace: Path, scale: int) -> int:
    """Write the corpus (repeated up to `scale` notes) unless it is already there."""
    marker = workspace / ".corpus"
    want = f"python3.11-doc sections x{scale}"
    if marker.exists() and marker.read_text() == want:
        return sum(1 for _ in workspace.rglob("*.md"))
    if workspace.exists():
        shutil.rmtree(workspace)
    sections = retrieval_corpus.corpus()
    n = retrieval_corpus.write(sections, workspace)
    copy = 1
    while n < scale:
        for sec in sections[: scale - n]:
            path = workspace / f"copy-{copy}" / sec.key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# {sec.title}\n\n{sec.body}\n", encoding="utf-8")
            n += 1
        copy += 1
    marker.write_text(want)
    return n


def open_index(home: Path, workspace: Path) -> Any:
    os.environ["LOCALGPT_HOME"] = str(home)
    os.environ["LOCALGPT_WORKSPACE"] = str(workspace)
    from localgpt_ls.config import Config
    from localgpt_ls.memory.index import MemoryIndex

    return MemoryIndex(workspace, Config())


def files_in_order(chunk_ids: list[int], path_of: dict[int, str]) -> list[str]:
    out: list[str] = []
    for cid in chunk_ids:
        p = path_of.get(cid)
        if p is not None and p not in out:
            out.append(p)
    return out


class Halves:
    """The two halves of hybrid search on their own, over the index's own tables."""

    def __init__(self, index: Any) -> None:
        self.index = index
        c = index.store.conn()
        self.path_of = dict(c.execute("SELECT id, path FROM chunks").fetchall())
        rows = c.execute("SELECT chunk_id, embedding FROM chunks_vec").fetchall()
        self.ids = np.array([r[0] for r in rows])
        self.matrix = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def fts(self, query: str) -> list[int]:
        from localgpt_ls.memory import search as scoring

        q = scoring.fts_query(query)
        if not q:
            return []
        c = self.index.store.conn()
        return [r[0] for r in c.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, "
            "2.0, 1.0) LIMIT ?", (q, DEPTH))]

    def vector(self, query: str) -> list[int]:
        qv = self.index.reader.embed_query(query)
        sims = self.matrix @ qv
        top = np.argsort(-sims)[:DEPTH]
        return [int(self.ids[i]) for i in top]

    @staticmethod
    def rrf(a: list[int], b: list[int]) -> list[int]:
        score: dict[int, float] = defaultdict(float)
        for lst in (a, b):
            for rank, cid in enumerate(lst):
                score[cid] += 1.0 / (RRF_K + rank + 1)
        return sorted(score, key=lambda cid: -score[cid])


def metrics(ranked: list[list[str]], targets: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    n = len(targets) or 1
    for k in CUTOFFS:
        out[f"r@{k}"] = sum(t in r[:k] for r, t in zip(ranked, targets, strict=True)) / n
    out["mrr@10"] = sum(1.0 / (r.index(t) + 1) if t in r[:10] else 0.0
                        for r, t in zip(ranked, targets, strict=True)) / n
    return {k: round(v, 3) for k, v in out.items()}


def evaluate(index: Any, queries: list[dict[str, Any]]) -> dict[str, Any]:
    halves = Halves(index)
    by_kind: dict[str, dict[str, list[list[str]]]] = defaultdict(lambda: defaultdict(list))
    targets: dict[str, list[str]] = defaultdict(list)
    empty: dict[str, int] = defaultdict(int)
    false_hits = unrelated = 0
    for q in queries:
        response = index.search(q["query"], limit=10)
        found = [h.file for h in response.results]
        found = list(dict.fromkeys(found))
        if q["kind"] == "unrelated":
            unrelated += 1
            false_hits += bool(found)
            continue
        kind = q["kind"]
        targets[kind].append(q["target"])
        empty[kind] += not found
        fts = halves.fts(q["query"])
        vec = halves.vector(q["query"])
        by_kind[kind]["search"].append(found)
        by_kind[kind]["fts"].append(files_in_order(fts, halves.path_of))
        by_kind[kind]["vector"].append(files_in_order(vec, halves.path_of))
        by_kind[kind]["rrf"].append(files_in_order(halves.rrf(fts, vec), halves.path_of))
    table: dict[str, Any] = {}
    for kind in KINDS:
        if kind not in targets:
            continue
        table[kind] = {m: metrics(r, targets[kind]) for m, r in by_kind[kind].items()}
        table[kind]["search"]["false_empty"] = round(empty[kind] / len(targets[kind]), 3)
        table[kind]["n"] = len(targets[kind])
    table["unrelated"] = {"n": unrelated,
                          "false_hit": round(false_hits / unrelated, 3) if unrelated else None}
    return table


def latency(index: Any, queries: list[str], repeat: int = 2) -> dict[str, float]:
    """search() per real query, its embedding included; beside it, in the same loop, the
    physical floor: the bare model embedding that query plus one numpy product over every
    vector (what any exact hybrid search must at least do)."""
    index.search("warm up the model and the vector copy", limit=6)
    rows = index.store.conn().execute("SELECT embedding FROM chunks_vec").fetchall()
    matrix = np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])
    times, floor = [], []
    for _ in range(repeat):
        for q in queries:
            index.reader.query_cache.clear()
            t0 = time.perf_counter()
            index.search(q, limit=6)
            t1 = time.perf_counter()
            qv = index.embedder.embed([q])[0]
            np.argpartition(-(matrix @ qv), 24)[:24]
            t2 = time.perf_counter()
            times.append((t1 - t0) * 1000)
            floor.append((t2 - t1) * 1000)

    def pct(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return round(xs[int(p * (len(xs) - 1))], 1)

    return {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95),
            "floor_p50_ms": pct(floor, 0.5), "floor_p95_ms": pct(floor, 0.95), "n": len(times)}


def cli_latency(home: Path, workspace: Path, queries: list[str], runs: int) -> dict[str, float]:
    exe = Path(sys.executable).with_name("localgpt")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "localgpt_ls"]
    env = dict(os.environ, LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace))
    times = []
    for q in queries[:runs]:
        t0 = time.perf_counter()
        subprocess.run([*cmd, "memory", "search", q, "--json"], env=env, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
            "n": len(times)}


def _send(proc: subprocess.Popen[bytes], msg: dict[str, Any]) -> None:
    body = json.dumps(msg).encode()
    assert proc.stdin is not None
    proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    proc.stdin.flush()


def _read(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert proc.stdout is not None
    length = 0
    while (line := proc.stdout.readline().strip()):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(proc.stdout.read(length))


def lsp_idle_rss(home: Path, workspace: Path, settle: float = 5.0) -> dict[str, Any]:
    """`localgpt lsp` on the indexed workspace, as an editor starts it: initialize, wait for
    "ready" (index synced, model warm), idle a few seconds, read the process's resident set."""
    env = dict(os.environ, LOCALGPT_HOME=str(home), LOCALGPT_WORKSPACE=str(workspace))
    proc = subprocess.Popen([sys.executable, "-m", "localgpt_ls", "lsp"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    try:
        _send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}})
        while _read(proc).get("id") != 1:
            pass
        _send(proc, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        while True:
            msg = _read(proc)
            if msg.get("method") == "localgpt/status" and msg["params"].get("state") == "ready":
                break
        ready = time.perf_counter() - t0
        time.sleep(settle)
        rss = next(int(line.split()[1]) for line in
                   Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))
        return {"ready_s": round(ready, 2), "idle_rss_mb": round(rss / 1024)}
    finally:
        proc.kill()
        proc.wait()


def print_table(table: dict[str, Any]) -> None:
    print(f"{'kind':<11} {'method':<7} {'R@1':>6} {'R@3':>6} {'R@10':>6} {'MRR@10':>7}")
    for kind in KINDS:
        if kind not in table:
            continue
        for method in ("search", "fts", "vector", "rrf"):
            m = table[kind][method]
            extra = f"  empty {m['false_empty']:.3f}" if "false_empty" in m else ""
            print(f"{kind:<11} {method:<7} {m['r@1']:>6.3f} {m['r@3']:>6.3f} "
                  f"{m['r@10']:>6.3f} {m['mrr@10']:>7.3f}{extra}")
    u = table["unrelated"]
    print(f"unrelated: {u['n']} queries, false-hit rate {u['false_hit']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("test", "dev", "all"), default="test")
    ap.add_argument("--scale", type=int, default=0,
                    help="also measure latency on a workspace of this many notes")
    ap.add_argument("--cli-runs", type=int, default=5)
    ap.add_argument("--no-latency", action="store_true")
    args = ap.parse_args()

    queries = json.loads((HERE / "retrieval" / "queries.json").read_text())["queries"]
    if args.split != "all":
        queries = [q for q in queries if q["split"] == args.split]
    result: dict[str, Any] = {"machine": {"platform": platform.platform(),
                                          "cpus": os.cpu_count(),
                                          "python": platform.python_version()},
                              "split": args.split}
    ws = CACHE / "ws"
    home = CACHE / "home"
    notes = prepare(ws, 0)
    index = open_index(home, ws)
    t0 = time.perf_counter()
    report = index.reindex()
    print(f"{notes} notes, {index.stats()['total_chunks']} chunks; reindex "
          f"{time.perf_counter() - t0:.1f} s ({report.chunks_embedded} embedded now)")
    result["notes"] = notes
    result["table"] = evaluate(index, queries)
    print_table(result["table"])
    sentences = [q["query"] for q in queries]
    if not args.no_latency:
        result["latency"] = {"notes": notes, "in_process": latency(index, sentences),
                             "cli": cli_latency(home, ws, sentences, args.cli_runs)}
        print(f"latency at {notes} notes: {result['latency']}")
    index.close()
    if not args.no_latency:
        result["lsp"] = lsp_idle_rss(home, ws)
        print(f"language server on {notes} notes: {result['lsp']}")
    if args.scale and not args.no_latency:
        big_ws, big_home = CACHE / f"ws-{args.scale}", CACHE / f"home-{args.scale}"
        n = prepare(big_ws, args.scale)
        code = (
            "import json, resource, sys, time; sys.path.insert(0, sys.argv[1]);"
            "import retrieval as r; from pathlib import Path;"
            "idx = r.open_index(Path(sys.argv[2]), Path(sys.argv[3]));"
            "t = time.perf_counter(); idx.reindex(); t = time.perf_counter() - t;"
            "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024;"
            "print(json.dumps({'reindex_s': round(t, 1), 'reindex_peak_rss_mb': round(rss)}))")
        # Indexing in its own process, so its peak memory is its own.
        out = subprocess.run([sys.executable, "-c", code, str(HERE), str(big_home), str(big_ws)],
                             check=True, capture_output=True, text=True).stdout
        scaled: dict[str, Any] = {"notes": n, **json.loads(out.strip().splitlines()[-1])}
        big = open_index(big_home, big_ws)
        scaled["chunks"] = big.stats()["total_chunks"]
        scaled["in_process"] = latency(big, sentences)
        big.close()
        scaled["cli"] = cli_latency(big_home, big_ws, sentences, args.cli_runs)
        scaled["lsp"] = lsp_idle_rss(big_home, big_ws)
        result["latency_scaled"] = scaled
        print(f"latency at {n} notes: {scaled}")
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "retrieval.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {out_dir / 'retrieval.json'}")


if __name__ == "__main__":
    main()
