"""The in-memory vector copy must return exactly what sqlite-vec's own KNN returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from localgpt_ls.memory.vectors import VectorCache


def _vec0_knn(idx, query: np.ndarray, k: int) -> list[int]:
    rows = idx.store.conn().execute(
        "SELECT chunk_id FROM chunks_vec WHERE embedding MATCH ? AND k = ? ORDER BY distance",
        (query.astype(np.float32).tobytes(), k)).fetchall()
    return [r[0] for r in rows]


def test_cache_matches_vec0_through_adds_edits_and_deletes(notes_ws: Path, make_index,
                                                           local_embedder) -> None:
    idx = make_index(notes_ws, chunk_size=30, chunk_overlap=5)  # many small chunks
    idx.reindex()
    cache = VectorCache()
    query = local_embedder.embed(["cat food and vet visits"])[0]
    k = 8

    def check() -> None:
        cache.refresh(idx.store.conn(), idx.embedder.model_id)
        mine = [cid for cid, _ in cache.top_k(query, k)]
        assert mine == _vec0_knn(idx, query, k)

    check()
    garden = notes_ws / "knowledge" / "garden.md"
    garden.write_text("# Cats\n\nThe cat's vet visit and wet food plan for the kitten.\n")
    (notes_ws / "knowledge" / "cat-care.md").unlink()
    (notes_ws / "knowledge" / "new.md").write_text("# Pet food\n\nKibble for the cat.\n")
    idx.reindex()
    check()
    before = len(cache.ids)
    for name in ("taxes", "sourdough", "kestrel", "running"):
        (notes_ws / "knowledge" / f"{name}.md").unlink()
    idx.reindex()
    check()
    (notes_ws / "knowledge" / "more.md").write_text("# More\n\nAnother cat note.\n")
    idx.reindex()
    check()
    assert len(cache.ids) < before  # dead rows were compacted away
    idx.reindex(force=True)
    check()
    # a pruned cache row is answered by vec0
    idx.store.conn().execute("DELETE FROM embed_cache")
    fresh = VectorCache()
    fresh.refresh(idx.store.conn(), idx.embedder.model_id)
    assert [cid for cid, _ in fresh.top_k(query, k)] == _vec0_knn(idx, query, k)


def test_search_is_the_same_before_and_after_the_copy_loads(notes_ws: Path, make_index) -> None:
    idx = make_index(notes_ws)
    idx.reindex()
    assert not idx._vectors.loaded
    cold = idx.search("pet food and vet visits", limit=5).results  # vec0 answers
    idx.warm()
    assert idx._vectors.loaded
    warm = idx.search("pet food and vet visits", limit=5).results
    assert [(h.file, h.line_start) for h in cold] == [(h.file, h.line_start) for h in warm]
    assert [h.score for h in cold] == pytest.approx([h.score for h in warm], abs=1e-3)
