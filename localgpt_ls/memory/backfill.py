"""Vectors filled in behind the keyword index: chunks written without one get it here, and the
embedding cache is kept from outgrowing the index.

Only texts missing from the embedding cache go through the model (a cache hit costs a lookup).
A batch is written in one transaction that first checks each chunk is still the one it read, so
this runs safely beside other threads or processes indexing the same file.
"""

from __future__ import annotations

import json
import logging
import threading

import numpy as np

from localgpt_ls.memory import sql
from localgpt_ls.memory.chunking import embed_text
from localgpt_ls.memory.embed import Embedder, EmbeddingError
from localgpt_ls.memory.report import Progress, ReindexReport
from localgpt_ls.memory.store import Store

log = logging.getLogger("localgpt.memory")

CACHE_SLACK = 3  # cached vectors kept per live chunk before the cache is pruned
CACHE_FLOOR = 20_000  # ... and never pruned below this many (about 30 MB of vectors)
EMBED_BATCH = 256  # chunks per embed_pending round: wide enough for length sorting to pay


class VectorBackfill:
    """Embeds the chunks of one index that have no vector yet."""

    def __init__(self, store: Store, embedder: Embedder, stopping: threading.Event) -> None:
        self.store = store
        self.embedder = embedder
        self._stopping = stopping

    def embed_pending(self, limit: int | None = None, progress: Progress | None = None,
                      report: ReindexReport | None = None) -> int:
        """Give vectors to chunks that have none; returns how many got one."""
        if not self.embedder.enabled:
            return 0
        c = self.store.conn()
        total = c.execute(sql.COUNT_PENDING).fetchone()[0]
        if limit is not None:
            total = min(total, limit)
        done = 0
        model = self.embedder.model_id
        after = 0  # walk ids upwards so a chunk that keeps failing cannot loop forever
        while done < total and not self._stopping.is_set():
            batch = c.execute(sql.PENDING_AFTER,
                              (after, min(EMBED_BATCH, total - done))).fetchall()
            if not batch:
                break
            after = batch[-1][0]
            hashes = sorted({r[3] for r in batch})
            cached = dict(c.execute(sql.cached_vectors(len(hashes)), (model, *hashes)).fetchall())
            todo: dict[str, str] = {}
            for _cid, hp, text, ehash in batch:
                if ehash not in cached:
                    todo.setdefault(ehash, embed_text(tuple(json.loads(hp)), text))
            fresh: dict[str, bytes] = {}
            if todo:
                try:
                    vectors = self.embedder.embed(list(todo.values()))
                except EmbeddingError as exc:
                    log.warning("embeddings stopped: %s", exc)
                    if report is not None:
                        report.warnings.append(f"embeddings stopped: {exc}")
                    break
                fresh = {h: np.asarray(v, dtype=np.float32).tobytes()
                         for h, v in zip(todo, vectors, strict=True)}
            dims = len(next(iter(fresh.values() or cached.values()))) // 4
            hits = wrote = 0
            with self.store.write() as w:
                self.store.ensure_vec_table(w, dims)
                w.executemany(sql.CACHE_VECTOR, [(model, h, v) for h, v in fresh.items()])
                ids = [r[0] for r in batch]
                current = {r[0]: r[1] for r in w.execute(sql.pending_hashes(len(ids)), ids)}
                for cid, _hp, _text, ehash in batch:
                    if current.get(cid) != ehash:
                        continue  # replaced or embedded by someone else meanwhile
                    vec = fresh.get(ehash) or cached.get(ehash)
                    w.execute(sql.INSERT_VECTOR, (cid, vec))
                    w.execute(sql.MARK_EMBEDDED, (cid,))
                    hits += ehash in cached
                    wrote += 1
                if wrote:
                    self.store.bump_vec_gen(w)
            if report is not None:
                report.chunks_embedded += len(fresh)
                report.cache_hits += hits
            done += len(batch)
            if progress:
                progress("embed", done, total)
        return done

    def prune_cache(self) -> None:
        """Drop cached vectors of text the index no longer holds, once they outnumber the live
        chunks CACHE_SLACK times (and CACHE_FLOOR rows). Until then they make an undo, a
        re-added note or switching back to a model free; past it they only grow the file."""
        c = self.store.conn()
        total = c.execute(sql.COUNT_CACHE).fetchone()[0]
        live = c.execute(sql.COUNT_CHUNKS).fetchone()[0]
        if total <= max(CACHE_FLOOR, CACHE_SLACK * live):
            return
        with self.store.write() as w:
            removed = w.execute(sql.PRUNE_CACHE).rowcount
        log.info("embedding cache: dropped %d vectors of text no longer indexed", removed)
