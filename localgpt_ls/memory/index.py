"""MemoryIndex: the one object doors hold for a workspace's memory. It owns the shared parts
(the index file, the embedder, the in-memory vector copy, a small thread pool) and hands the
work to the modules named for it:

- `writer.py` (IndexWriter): reindex, index_file, remove_file: files, chunks and FTS rows;
- `backfill.py` (VectorBackfill): embed_pending, and keeping the embedding cache in bounds;
- `reader.py` (IndexReader): search, similar_files, stats, recent;
- `sql.py`: the statements those three run; `store.py`: the file, its schema and recovery.

Indexing is two-speed. `index_file`/`reindex` re-chunk changed files and update FTS at once, in
short transactions (one per saved file; 32 files each during a reindex), so a saved note is
searchable by keyword within milliseconds.
Vectors come from `embed_pending`, which embeds only chunk texts the cache has never seen (a
cache hit costs a lookup). `reindex` runs both, so after it every chunk is embedded.

A damaged index file is this object's to handle (one rule for every door): reindex and search
move it aside and carry on with a fresh one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from localgpt_ls import paths
from localgpt_ls.memory.backfill import VectorBackfill
from localgpt_ls.memory.chunking import CHUNKING_VERSION
from localgpt_ls.memory.embed import Embedder, EmbeddingError, make_embedder
from localgpt_ls.memory.reader import IndexReader
from localgpt_ls.memory.report import Progress, ReindexReport
from localgpt_ls.memory.search import SearchResponse
from localgpt_ls.memory.store import DatabaseErrors, Store, is_corruption
from localgpt_ls.memory.vectors import VectorCache
from localgpt_ls.memory.writer import Chunking, IndexWriter

__all__ = ["MemoryIndex", "Progress", "ReindexReport"]

log = logging.getLogger("localgpt.memory")


class MemoryIndex:
    """The memory index of one workspace. Safe to share between threads (one SQLite connection
    per thread) and between processes (see store.py).

    For doors: `search`, `reindex`, `index_file` / `remove_file` (editor saves, watchers),
    `embed_pending` (fill vectors in the background), `stats`, `recent`, `similar_files`
    (meaning-ranked notes for completion; never waits for the model), `warm` (load the model
    and vectors from a background thread), `pop_warnings`, `close`.
    """

    def __init__(self, workspace: Path, config: Any = None, *, embedder: Embedder | None = None,
                 index_file_path: Path | None = None) -> None:
        from localgpt_ls.config import Config

        self.workspace = workspace.resolve()
        self.config = config if config is not None else Config()
        mem = self.config.memory
        self.chunk_tokens = mem.chunk_size
        self.overlap_tokens = mem.chunk_overlap
        self.extra_paths = list(mem.paths)
        self.recency_half_life_days = mem.recency_half_life_days
        self.embedder = embedder if embedder is not None else make_embedder(self.config)
        self.path = index_file_path or paths.index_path(self.workspace)
        self.store = Store(self.path, {
            "model": self.embedder.model_id,
            "chunking": f"v{CHUNKING_VERSION}:{self.chunk_tokens}/{self.overlap_tokens}",
        })
        self._vectors = VectorCache()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="memory-search")
        self._stopping = threading.Event()
        self.backfill = VectorBackfill(self.store, self.embedder, self._stopping)
        self.writer = IndexWriter(self.store, self.embedder, self.workspace, self.extra_paths,
                                  Chunking(self.chunk_tokens, self.overlap_tokens),
                                  self.backfill, self._stopping)
        self.reader = IndexReader(self.store, self.embedder, self.workspace, self._vectors,
                                  self._pool)

    def stop(self) -> None:
        """Ask running work in other threads (reindex, embedding, the vector copy load) to
        finish early at its next file or batch, so a door can close the index soon after. What
        was written stays written; the next reindex picks up the rest."""
        self._stopping.set()
        self._vectors.abort.set()

    def close(self) -> None:
        self.stop()
        self.reader.join_loader(timeout=5)
        self._pool.shutdown(wait=True)
        self.store.close()

    @property
    def needs_reindex(self) -> bool:
        """True when the index holds nothing from the workspace yet: just created, rebuilt for
        new settings, or recovered from damage. Counts (`stats`) would say 0 files until the
        next reindex, so a door showing them reindexes first."""
        return self.store.unfilled

    def pop_warnings(self) -> list[str]:
        """Warnings of the index file (e.g. a corrupt index was moved aside) not yet handed
        out, each once. They were logged when they arose; this is for a door that also lists
        them somewhere (the next reindex report holds them too)."""
        out, self.store.warnings = self.store.warnings, []
        return out

    def load_model_behind(self) -> None:
        """Start loading the local model in a worker thread and return at once: a one-shot
        search (`localgpt memory search`) loads it while the workspace scan runs, instead of
        after it. Errors surface at the first embedding, as without this."""
        load = getattr(self.embedder, "load", None)
        if load is not None and not self.embedder.ready:
            def quietly() -> None:
                with contextlib.suppress(EmbeddingError):
                    load()
            self._pool.submit(quietly)

    def warm(self) -> None:
        """Load the local model and the in-memory vector copy now, e.g. from an editor's or the
        daemon's background thread at start, so searches and `similar_files` answer at full
        speed from the first keystroke. Errors are logged, not raised."""
        load = getattr(self.embedder, "load", None)
        if load is not None:
            try:
                load()
            except EmbeddingError as exc:
                log.warning("%s", exc)
        if self.embedder.enabled:
            self._vectors.refresh(self.store.conn(), self.embedder.model_id)

    def _recover(self, exc: BaseException) -> None:
        self.store.recover(exc)
        self._vectors.reset()

    # -- writing -----------------------------------------------------------------------------

    def reindex(self, force: bool = False, progress: Progress | None = None) -> ReindexReport:
        """Bring the whole index up to date with the workspace, embeddings included."""
        try:
            return self.writer.reindex(force, progress)
        except DatabaseErrors as exc:
            if not is_corruption(exc):
                raise
            # The file went bad under us (disk trouble, another tool): move aside, start over.
            self._recover(exc)
            return self.writer.reindex(True, progress)

    def index_file(self, path: Path | str, embed: bool = True) -> ReindexReport:
        """(Re)index one file, e.g. on editor save: FTS at once, then its new vectors.

        `path` is absolute or workspace-relative. A file that no longer exists is removed.
        Files that are not memory (not .md, in hidden folders, outside the workspace and the
        configured paths) are ignored. Pass `embed=False` to leave vectors to `embed_pending`.
        """
        return self.writer.index_file(path, embed)

    def remove_file(self, path: Path | str) -> bool:
        """Forget a file (deleted or renamed in the editor). True if it was indexed."""
        return self.writer.remove_file(path)

    def embed_pending(self, limit: int | None = None, progress: Progress | None = None,
                      report: ReindexReport | None = None) -> int:
        """Give vectors to chunks that have none; returns how many got one.

        Only texts missing from the embedding cache go through the model. Safe to run while
        other threads or processes index: a chunk replaced meanwhile is skipped.
        """
        return self.backfill.embed_pending(limit, progress, report)

    # -- reading -----------------------------------------------------------------------------

    def search(self, query: str, limit: int = 6, min_score: float | None = None,
               recency_half_life_days: float | None = None,
               exclude: Collection[str] = ()) -> SearchResponse:
        """Hybrid search (see memory/search.py for the scoring).

        `recency_half_life_days` None takes `[memory] recency_half_life_days` from the config,
        so every door's search follows the user's setting without passing it; 0 turns decay
        off for this call. `exclude` names files (workspace-relative keys) never to return,
        e.g. the chat document the question is typed in.
        A damaged index file is moved aside and answered with no results (plus a warning from
        `pop_warnings`); the next `reindex` fills the new one.
        """
        if recency_half_life_days is None:
            recency_half_life_days = self.recency_half_life_days
        try:
            return self.reader.search(query, limit, min_score, recency_half_life_days,
                                      set(exclude))
        except DatabaseErrors as exc:
            if not is_corruption(exc):
                raise
            self._recover(exc)
            return SearchResponse(query=query)

    def similar_files(self, text: str, limit: int = 10,
                      exclude: str | None = None) -> list[tuple[str, float]]:
        """Notes ranked by meaning of `text` (e.g. the paragraph at the editor's cursor).

        Never waits for a model: returns [] when the embedder is not loaded yet (call `warm()`
        from a background thread once) or nothing is embedded. Scores are the best chunk's
        cosine similarity per file; `exclude` drops one file key (the note being edited).
        """
        return self.reader.similar_files(text, limit, exclude)

    def stats(self) -> dict[str, Any]:
        return self.reader.stats()

    def recent(self, n: int = 10) -> list[dict[str, Any]]:
        """The most recently modified indexed files, newest first."""
        return self.reader.recent(n)
