"""Memory search latency at scale: hybrid search vs an exact numpy top-k over the same vectors.

For each size (default 10k, 50k, 100k chunks) a fresh index is built directly in SQL with
generated text (Zipf-distributed words) and random unit vectors (384 dims), then:
- hybrid: `MemoryIndex.search()` end to end (FTS5 bm25 + exact vector top-k + fusion + rows),
  with the query vectors pre-filled so the model's own time is not counted (it is constant
  ~5-10 ms per query and measured by memory_index.py);
- reference: one numpy matrix-vector product + argpartition over the same float32 matrix;
- vec0: sqlite-vec's own brute-force KNN on the same table (what the first search of a fresh
  process uses while the in-memory copy loads behind it);
- fts alone: the keyword half of hybrid (the FTS5 bm25 query search() runs), to show what hybrid
  adds to the vector product; halves in sequence: that query, then the vector top-k, in one
  thread (search() runs them side by side).
Each size runs in its own process so peak RSS is per size.

    python benchmarks/memory_search.py [--sizes 10000,50000,100000] [--queries 60]

Prints a table and writes benchmarks/results/memory_search.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
K = 24  # the candidate count search() asks for at limit=6


def vocabulary(n: int, rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=rng.integers(3, 10))) for _ in range(n)]


def build(path: Path, n_chunks: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    from localgpt_ls.memory.index import MemoryIndex
    from localgpt_ls.memory.store import Store

    vocab = vocabulary(8000, rng)
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    matrix = rng.standard_normal((n_chunks, 384)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ws = path / "ws"
    ws.mkdir()
    idx = MemoryIndex(ws, index_file_path=path / "index.sqlite")  # creates schema + meta
    store: Store = idx.store
    words = rng.choice(len(vocab), size=(n_chunks, 60), p=weights)
    with store.write() as c:
        store.ensure_vec_table(c, 384)
        per_file = 10
        for f in range(0, n_chunks, per_file):
            c.execute("INSERT INTO files(path, hash, mtime, size, indexed_at) VALUES (?,?,?,?,?)",
                      (f"knowledge/note{f // per_file}.md", "x", 0.0, 0, 0.0))
        for i in range(n_chunks):
            text = " ".join(vocab[w] for w in words[i])
            cid = i + 1
            c.execute("INSERT INTO chunks(id, path, line_start, line_end, heading_path, text, "
                      "embed_hash, embedded) VALUES (?, ?, ?, ?, '[]', ?, ?, 1)",
                      (cid, f"knowledge/note{i // per_file}.md", 1 + (i % per_file) * 10,
                       10 + (i % per_file) * 10, text, str(cid)))
            c.execute("INSERT INTO chunks_fts(rowid, title, text) VALUES (?, ?, ?)",
                      (cid, f"note{i // per_file}", text))
            c.execute("INSERT INTO chunks_vec(chunk_id, embedding) VALUES (?, ?)",
                      (cid, matrix[i].tobytes()))
            c.execute("INSERT INTO embed_cache(model, hash, vector) VALUES (?, ?, ?)",
                      (idx.embedder.model_id, str(cid), matrix[i].tobytes()))
        store.bump_vec_gen(c)
    idx.close()
    return vocab, matrix


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2)


def run_size(n_chunks: int, n_queries: int) -> dict[str, Any]:
    from localgpt_ls.memory.index import MemoryIndex

    rng = np.random.default_rng(n_chunks)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        vocab, matrix = build(Path(tmp), n_chunks, rng)
        build_s = time.perf_counter() - t0
        idx = MemoryIndex(Path(tmp) / "ws", index_file_path=Path(tmp) / "index.sqlite")
        queries = [" ".join(rng.choice(vocab[50:2000], size=3)) for _ in range(n_queries)]
        qvecs = rng.standard_normal((n_queries, 384)).astype(np.float32)
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        for q, v in zip(queries, qvecs, strict=True):
            idx.reader.query_cache[q] = v  # measure search, not the model
        t0 = time.perf_counter()
        idx.search(queries[0])  # a fresh process (CLI): vec0 answers, the copy loads behind
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        idx.warm()  # what the language server and daemon do at start
        warm_s = time.perf_counter() - t0
        from localgpt_ls.memory.search import fts_query

        hybrid, ref, vec0, fts, halves = [], [], [], [], []
        conn = idx.store.conn()
        for q, v in zip(queries, qvecs, strict=True):
            t0 = time.perf_counter()
            # Random vectors and words sit below the calibrated floor (memory/search.py);
            # floor 0 keeps the whole path, result rows included, in the measurement.
            res = idx.search(q, min_score=0.0)
            hybrid.append(time.perf_counter() - t0)
            assert res.mode == "hybrid" and res.results
            # the keyword half alone, as search() runs it: what hybrid adds to the product
            t0 = time.perf_counter()
            conn.execute("SELECT rowid, bm25(chunks_fts, 2.0, 1.0) AS r FROM chunks_fts "
                         "WHERE chunks_fts MATCH ? ORDER BY r LIMIT ?", (fts_query(q), K)
                         ).fetchall()
            fts.append(time.perf_counter() - t0)
            # both halves one after the other in this thread (search() runs them side by side)
            t0 = time.perf_counter()
            conn.execute("SELECT rowid, bm25(chunks_fts, 2.0, 1.0) AS r FROM chunks_fts "
                         "WHERE chunks_fts MATCH ? ORDER BY r LIMIT ?", (fts_query(q), K)
                         ).fetchall()
            idx._vectors.top_k(v, K)
            halves.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sims = matrix @ v
            part = np.argpartition(-sims, K - 1)[:K]
            part[np.argsort(-sims[part])]
            ref.append(time.perf_counter() - t0)
        for v in qvecs[:10]:
            t0 = time.perf_counter()
            conn.execute("SELECT chunk_id, distance FROM chunks_vec WHERE embedding MATCH ? "
                         "AND k = ?", (v.tobytes(), K)).fetchall()
            vec0.append(time.perf_counter() - t0)
        # exactness: the vector candidates equal numpy's exact top-k
        idx._vectors.refresh(conn, idx.embedder.model_id)
        mine = [cid - 1 for cid, _ in idx._vectors.top_k(qvecs[0], K)]
        sims = matrix @ qvecs[0]
        exact = list(np.argsort(-sims)[:K])
        size_mb = idx.store.size_bytes() / 1e6
        idx.close()
    out = {
        "chunks": n_chunks, "queries": n_queries, "build_s": round(build_s, 1),
        "first_search_ms": round(first_s * 1000, 1), "load_copy_ms": round(warm_s * 1000, 1),
        "hybrid_p50_ms": pct(hybrid, 50), "hybrid_p95_ms": pct(hybrid, 95),
        "numpy_p50_ms": pct(ref, 50), "numpy_p95_ms": pct(ref, 95),
        "vec0_p50_ms": pct(vec0, 50), "vec0_p95_ms": pct(vec0, 95),
        "fts_p50_ms": pct(fts, 50), "fts_p95_ms": pct(fts, 95),
        "halves_in_sequence_p50_ms": pct(halves, 50),
        "halves_in_sequence_p95_ms": pct(halves, 95),
        "ratio_p95": round(pct(hybrid, 95) / max(pct(ref, 95), 1e-6), 2),
        "vector_topk_exact": mine == exact,
        "index_mb": round(size_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_size(args.one, args.queries)))
        return 0
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        proc = subprocess.run([sys.executable, __file__, "--one", str(size), "--queries",
                               str(args.queries)], capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['chunks']:>7} chunks  hybrid p50 {row['hybrid_p50_ms']:6.1f} ms "
              f"p95 {row['hybrid_p95_ms']:6.1f} ms | numpy p50 {row['numpy_p50_ms']:5.1f} "
              f"p95 {row['numpy_p95_ms']:5.1f} ms | ratio p95 {row['ratio_p95']:.2f} | "
              f"fts alone p50 {row['fts_p50_ms']:5.1f} ms | halves in sequence p50 "
              f"{row['halves_in_sequence_p50_ms']:5.1f} ms | "
              f"vec0 p50 {row['vec0_p50_ms']:6.1f} ms | first search "
              f"{row['first_search_ms']:.0f} ms, copy load {row['load_copy_ms']:.0f} ms | "
              f"exact {row['vector_topk_exact']} | "
              f"RSS {row['peak_rss_mb']:.0f} MB", flush=True)
    result = {"benchmark": "memory_search", "machine": platform.platform(),
              "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "command": "python benchmarks/memory_search.py --sizes " + args.sizes,
              "rows": rows}
    out = HERE / "results" / "memory_search.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
