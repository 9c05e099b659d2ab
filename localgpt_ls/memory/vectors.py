"""An in-memory copy of the index's vectors for fast exact nearest-neighbour search.

Why: sqlite-vec's vec0 KNN is a brute-force scan that measured ~110 ms at 100k chunks on the
reference machine, where one BLAS matrix-vector product over the same float32 vectors takes
~20 ms (benchmarks/memory.md). vec0 stays the durable store of the vectors; this copy is loaded
from it on the first search and kept fresh cheaply:

- vectors are read from the embedding cache table (faster to scan than vec0), by chunk id;
- meta `epoch` changes on a rebuild -> reload everything;
- meta `vec_gen` changes whenever vectors are added or removed -> read the ids of embedded
  chunks (ids are never reused, so an id means one text for ever), fetch only the new vectors,
  and mask the vanished ones (compacted when a fifth of the rows are dead).

Results are exact (no approximation), the same as vec0 would return. Memory: 1.5 KB per chunk
(384 float32), e.g. 15 MB for 10k chunks.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

_FETCH_BATCH = 500


class _Aborted(Exception):
    """The index is closing: stop loading."""


class VectorCache:
    """Thread-safe; `refresh(conn)` before `top_k`. Holds ids, a matrix and an alive mask."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch: str | None = None
        self._gen: str | None = None
        self.ids = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self._row_of: dict[int, int] = {}
        self.abort = threading.Event()  # set by close(): a load in progress gives up

    @property
    def loaded(self) -> bool:
        return self._gen is not None

    def reset(self) -> None:
        with self._lock:
            self._epoch = self._gen = None

    def refresh(self, conn: Any, model: str) -> None:
        meta = dict(conn.execute(
            "SELECT key, value FROM meta WHERE key IN ('epoch', 'vec_gen', 'dims')").fetchall())
        epoch, gen = meta.get("epoch"), meta.get("vec_gen", "0")
        with self._lock:
            if epoch == self._epoch and gen == self._gen:
                return
            try:
                self._refresh_locked(conn, model, meta)
            except _Aborted:
                return
            self._epoch, self._gen = epoch, gen

    def _refresh_locked(self, conn: Any, model: str, meta: dict[str, str]) -> None:
        epoch = meta.get("epoch")
        if "dims" not in meta:
            self._load(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
        elif epoch != self._epoch or self._gen is None:
            self._full(conn, model, int(meta["dims"]))
        else:
            self._incremental(conn, model, int(meta["dims"]))

    def _load(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        self.ids, self.matrix = ids, matrix
        self.alive = np.ones(len(ids), dtype=bool)
        self._row_of = {int(i): r for r, i in enumerate(ids)}

    def _fetch(self, conn: Any, model: str, dims: int, ids: list[int] | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of embedded chunks (all, or `ids`), filled into one preallocated matrix.

        Read from the embedding cache (a plain table: ~4x faster to scan than vec0 at 50k rows);
        vec0 answers for any chunk whose cache row is missing (e.g. pruned by hand).
        """
        if ids is None:
            n = conn.execute("SELECT count(*) FROM chunks WHERE embedded = 1").fetchone()[0]
            batches: list[list[int] | None] = [None]
        else:
            n = len(ids)
            batches = [ids[b:b + _FETCH_BATCH] for b in range(0, len(ids), _FETCH_BATCH)]
        out_ids = np.zeros(n, dtype=np.int64)
        matrix = np.zeros((n, dims), dtype=np.float32)
        self_abort = self.abort
        r = 0
        for part in batches:
            where = "" if part is None else f" AND c.id IN ({','.join('?' * len(part))})"
            cur = conn.execute(
                "SELECT c.id, e.vector FROM chunks c LEFT JOIN embed_cache e ON e.model = ? "
                f"AND e.hash = c.embed_hash WHERE c.embedded = 1{where}",
                (model, *(part or [])))
            for cid, blob in cur:
                if r % 4096 == 0 and self_abort is not None and self_abort.is_set():
                    raise _Aborted
                if r >= n:
                    break  # written to meanwhile: the next refresh picks the rest up
                if blob is None:
                    row = conn.execute("SELECT embedding FROM chunks_vec WHERE chunk_id = ?",
                                       (cid,)).fetchone()
                    if row is None:
                        continue
                    blob = row[0]
                out_ids[r] = cid
                matrix[r] = np.frombuffer(blob, dtype=np.float32)
                r += 1
        return out_ids[:r], matrix[:r]

    def _full(self, conn: Any, model: str, dims: int) -> None:
        self._load(*self._fetch(conn, model, dims, None))

    def _incremental(self, conn: Any, model: str, dims: int) -> None:
        current = np.fromiter((r[0] for r in conn.execute(
            "SELECT id FROM chunks WHERE embedded = 1")), dtype=np.int64)
        alive = self.alive & np.isin(self.ids, current)  # new array: readers keep theirs
        new = current[~np.isin(current, self.ids)]
        if not len(new):
            self.alive = alive
            return
        add_ids, add = self._fetch(conn, model, dims, [int(x) for x in new])
        base = self.matrix if self.matrix.size else np.zeros((0, dims), dtype=np.float32)
        ids = self.ids
        if alive.sum() < 0.8 * len(alive):  # compact: drop dead rows while copying anyway
            base, ids, alive = base[alive], ids[alive], np.ones(int(alive.sum()), dtype=bool)
        self._load(np.concatenate([ids, add_ids]), np.vstack([base, add]))
        self.alive = np.concatenate([alive, np.ones(len(add_ids), dtype=bool)])

    def top_k(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the k most similar live vectors, best first."""
        with self._lock:
            ids, matrix, alive = self.ids, self.matrix, self.alive
        if not len(ids):
            return []
        sims = matrix @ query.astype(np.float32)
        if not alive.all():
            sims = np.where(alive, sims, -np.inf)
        k = min(k, len(sims))
        part = np.argpartition(-sims, k - 1)[:k]
        order = part[np.argsort(-sims[part])]
        return [(int(ids[r]), float(sims[r])) for r in order if np.isfinite(sims[r])]

    def similarity(self, query: np.ndarray, chunk_ids: list[int]) -> dict[int, float]:
        """Cosine similarity of the query to specific chunks (those this copy holds)."""
        with self._lock:
            rows = [(cid, self._row_of.get(cid)) for cid in chunk_ids]
            matrix, alive = self.matrix, self.alive
        out = {}
        for cid, r in rows:
            if r is not None and alive[r]:
                out[cid] = float(matrix[r] @ query)
        return out
