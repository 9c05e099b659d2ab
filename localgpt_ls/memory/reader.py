"""Reading the index: hybrid search, notes similar in meaning, counts and recent files.

This module gathers the candidates (FTS5 bm25 and the nearest vectors, side by side) and the
rows a result needs; `search.py` holds how they are scored. Vectors come from the in-memory copy
(`vectors.py`) once it is loaded, and from vec0 until then while the copy loads behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from localgpt_ls.memory import sql
from localgpt_ls.memory.chunking import template_chunk_texts
from localgpt_ls.memory.embed import Embedder, EmbeddingError
from localgpt_ls.memory.search import (
    NAME_BONUS,
    TEMPLATE_FACTOR,
    SearchHit,
    SearchResponse,
    apply_factor,
    apply_recency,
    diversify,
    floor,
    fts_match,
    fts_words,
    fuse,
    idf,
    informative,
    keyword_coverage,
)
from localgpt_ls.memory.store import Store
from localgpt_ls.memory.vectors import VectorCache

log = logging.getLogger("localgpt.memory")

KEYWORD_CANDIDATES = 100  # bm25's best chunks fused with the nearest vectors
QUERY_CACHE_SIZE = 256  # query vectors kept (the same paragraph is asked for while typing)


class IndexReader:
    """Answers questions of one index. Searches run the query's embedding and vector top-k on
    `pool` beside the keyword query (both release the GIL)."""

    def __init__(self, store: Store, embedder: Embedder, workspace: Path,
                 vectors: VectorCache, pool: ThreadPoolExecutor) -> None:
        self.store = store
        self.embedder = embedder
        self.workspace = workspace
        self.vectors = vectors
        self._pool = pool
        self._loader: threading.Thread | None = None
        self._loader_lock = threading.Lock()
        self.query_cache: dict[str, np.ndarray] = {}
        self._query_lock = threading.Lock()
        self._templates: set[str] | None = None

    def join_loader(self, timeout: float) -> None:
        if self._loader is not None:
            self._loader.join(timeout=timeout)

    # -- vectors -----------------------------------------------------------------------------

    def embed_query(self, query: str) -> np.ndarray:
        with self._query_lock:
            hit = self.query_cache.get(query)
        if hit is not None:
            return hit
        embed_query = getattr(self.embedder, "embed_query", None)
        vec = embed_query(query) if embed_query else self.embedder.embed([query])[0]
        with self._query_lock:
            if len(self.query_cache) > QUERY_CACHE_SIZE:
                self.query_cache.clear()
            self.query_cache[query] = vec
        return vec

    def _vector_candidates(self, query: str, k: int) -> tuple[np.ndarray, dict[int, float]]:
        """Query vector and its k nearest chunks: from the in-memory copy once it is loaded,
        until then from vec0 (exact too, slower at scale) while the copy loads behind."""
        qv = self.embed_query(query)
        if self.vectors.loaded:
            return qv, dict(self.vectors.top_k(qv, k))
        self._start_vector_load()
        rows = self.store.conn().execute(
            sql.NEAREST_VECTORS, (qv.astype(np.float32).tobytes(), k)).fetchall()
        return qv, {cid: 1.0 - dist for cid, dist in rows}

    def _similarity(self, qv: np.ndarray, ids: list[int]) -> dict[int, float]:
        if not ids:
            return {}
        if self.vectors.loaded:
            return self.vectors.similarity(qv, ids)
        return {cid: float(np.frombuffer(blob, dtype=np.float32) @ qv)
                for cid, blob in self.store.conn().execute(sql.vectors_of(len(ids)), ids)}

    def _start_vector_load(self) -> None:
        """Load the in-memory vector copy in a daemon thread (once per index)."""
        with self._loader_lock:
            if self._loader is not None or self.vectors.abort.is_set():
                return
            self._loader = threading.Thread(target=self._load_vectors, daemon=True,
                                             name="memory-vectors")
            self._loader.start()

    def _load_vectors(self) -> None:
        try:
            self.vectors.refresh(self.store.conn(), self.embedder.model_id)
        except Exception as exc:  # a failed load only means searches keep using vec0
            log.debug("vector copy not loaded: %s", exc)

    # -- keywords ----------------------------------------------------------------------------

    def _keyword_query(self, c: Any, query: str
                       ) -> tuple[str | None, dict[str, float], int, list[list[str]]]:
        """The FTS5 MATCH for the query (its informative words), the IDF of each term they
        hold, and the number of chunks. A temporary FTS5 table on this connection tokenizes
        each word (stemmed, folded), so query and index never disagree about a term."""
        words = fts_words(query)
        total = c.execute(sql.COUNT_CHUNKS).fetchone()[0]
        if not words or not total:
            return None, {}, total, []
        c.execute(sql.QUERY_TERMS_TABLE)
        c.execute(sql.QUERY_VOCAB_TABLE)
        c.execute(sql.CLEAR_QUERY_TERMS)
        c.executemany(sql.INSERT_QUERY_WORD, list(enumerate(words)))
        word_terms: list[list[str]] = [[] for _ in words]
        for term, doc in c.execute(sql.QUERY_WORD_TERMS):
            word_terms[doc].append(term)
        all_terms = sorted({t for ts in word_terms for t in ts})
        if not all_terms:
            return None, {}, total, []
        df = dict(c.execute(sql.doc_freqs(len(all_terms)), all_terms).fetchall())
        kept = informative(words, word_terms, df, total)
        terms = {t for w, ts in zip(words, word_terms, strict=True) if w in kept for t in ts}
        kept_terms = [ts for w, ts in zip(words, word_terms, strict=True) if w in kept and ts]
        return fts_match(kept), {t: idf(total, df.get(t, 0)) for t in terms}, total, kept_terms

    def _bm25(self, c: Any, match: str, limit: int) -> dict[int, float]:
        return dict(c.execute(sql.bm25_ranks(), (match, limit)).fetchall())

    def _named(self, c: Any, word_terms: list[list[str]], ids: list[int]) -> set[int]:
        """The chunks among `ids` whose title (note name and headings) holds a term of every
        query word. Their titles go through the same temporary FTS5 table as the query's
        words, so stemming agrees; a MATCH on the index's title column instead cost 45 ms
        p50 at 29k chunks, since FTS5 reads each term's whole list whatever the column."""
        if not word_terms or not ids:
            return set()
        titles = c.execute(sql.titles_of(len(ids)), ids).fetchall()
        c.execute(sql.CLEAR_QUERY_TERMS)
        c.executemany(sql.INSERT_QUERY_WORD, titles)
        held: dict[int, set[str]] = {}
        for term, doc in c.execute(sql.QUERY_WORD_TERMS):
            held.setdefault(doc, set()).add(term)
        return {cid for cid, terms in held.items()
                if all(any(t in terms for t in ts) for ts in word_terms)}

    def _template_hashes(self) -> set[str]:
        """sha256 of each file as `init` writes it: such a file is untouched boilerplate."""
        if self._templates is None:
            from localgpt_ls.workspace import initial_texts

            self._templates = {hashlib.sha256(t.encode()).hexdigest() for t in initial_texts()}
        return self._templates

    # -- questions ---------------------------------------------------------------------------

    def search(self, query: str, limit: int, min_score: float | None,
               recency_half_life_days: float | None, exclude: set[str]) -> SearchResponse:
        response = SearchResponse(query=query)
        if not query.strip() or limit <= 0:
            return response
        c = self.store.conn()
        n_cand = max(limit * 4, 40)
        hybrid = self.embedder.enabled and self.store.has_vectors()
        pending: Future[tuple[np.ndarray, dict[int, float]]] | None = None
        if hybrid:
            if self.vectors.loaded:
                self.vectors.refresh(c, self.embedder.model_id)
            # The query's embedding and vector top-k run beside the FTS query (both release
            # the GIL), so hybrid costs about the slower of the two, not their sum.
            pending = self._pool.submit(self._vector_candidates, query, n_cand)
        match, idfs, total, kept = self._keyword_query(c, query)
        ranks = self._bm25(c, match, KEYWORD_CANDIDATES) if match and idfs else {}
        cosine: dict[int, float] = {}
        if pending is not None:
            try:
                qv, cosine = pending.result()
            except EmbeddingError as exc:
                log.warning("searching by keywords only: %s", exc)
                hybrid = False
            else:
                missing = [cid for cid in ranks if cid not in cosine]
                # keyword hits outside the nearest list still get their true similarity; a
                # nearest chunk outside the keyword list scores below its last entry, so it
                # counts as no keyword match (asking FTS5 for those few rows costs as much as
                # scoring every match: ~150 ms at 8k chunks)
                cosine.update(self._similarity(qv, missing))
        coverage = keyword_coverage(ranks, idfs.values(), total)
        candidates = set(coverage) | set(cosine)
        response.mode = "hybrid" if hybrid else "fts"
        if not candidates:
            return response
        ids = sorted(candidates)
        rows = {r[0]: r for r in c.execute(sql.chunk_rows(len(ids)), ids)}
        embedded = {cid for cid, r in rows.items() if r[5]}
        scores = fuse([cid for cid in ids if cid in rows and rows[cid][1] not in exclude],
                      coverage, cosine, embedded, hybrid)
        named = self._named(c, kept, [cid for cid in scores if cid in ranks])
        scores = {cid: s + NAME_BONUS if cid in named else s for cid, s in scores.items()}
        templates, boilerplate = self._template_hashes(), template_chunk_texts()
        scores = apply_factor(scores, {cid for cid in scores if rows[cid][6] in templates
                                       or rows[cid][4].strip() in boilerplate},
                              TEMPLATE_FACTOR)
        if recency_half_life_days:
            scores = apply_recency(scores, {cid: rows[cid][1] for cid in scores},
                                   recency_half_life_days)
        lowest = min_score if min_score is not None else floor(hybrid, bool(ranks))
        scores = {cid: sc for cid, sc in scores.items() if sc >= lowest and sc > 0}
        for cid, score in diversify(scores, {cid: rows[cid][1] for cid in scores}, limit,
                                    coverage):
            r = rows[cid]
            response.results.append(SearchHit(r[1], r[2], r[3], r[4], round(score, 4)))
        return response

    def similar_files(self, text: str, limit: int,
                      exclude: str | None) -> list[tuple[str, float]]:
        if not text.strip() or not self.embedder.enabled or not self.embedder.ready:
            return []
        if not self.store.has_vectors():
            return []
        c = self.store.conn()
        if self.vectors.loaded:
            self.vectors.refresh(c, self.embedder.model_id)
        try:
            _qv, nearest = self._vector_candidates(text, max(limit * 5, 20))
        except EmbeddingError:
            return []
        if not nearest:
            return []
        ids = list(nearest)
        best: dict[str, float] = {}
        for cid, path in c.execute(sql.chunk_paths(len(ids)), ids):
            if path != exclude:
                best[path] = max(best.get(path, -1.0), nearest[cid])
        return sorted(best.items(), key=lambda kv: -kv[1])[:limit]

    def stats(self) -> dict[str, Any]:
        c = self.store.conn()
        files = c.execute(sql.COUNT_FILES).fetchone()[0]
        total, embedded = c.execute(sql.COUNT_CHUNKS_EMBEDDED).fetchone()
        return {
            "workspace": str(self.workspace),
            "total_files": files,
            "total_chunks": total,
            "embedded_chunks": embedded,
            "index_size_kb": round(self.store.size_bytes() / 1024, 1),
            "embedding_model": self.embedder.model_id,
        }

    def recent(self, n: int) -> list[dict[str, Any]]:
        rows = self.store.conn().execute(sql.RECENT_FILES, (max(n, 0),)).fetchall()
        return [{"file": p, "modified": dt.datetime.fromtimestamp(m, dt.UTC).isoformat(
            timespec="seconds"), "size": s} for p, m, s in rows]
